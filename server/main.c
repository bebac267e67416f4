/* rnull-server [OPTIONS] [key=value...]: serve one rnull disk over NBD.
 * Engine keys go through the engine's option table (rnull_config_set_kv);
 * the flags below are the server's own. */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acceptor.h"
#include "conn.h"
#include "daemon.h"
#include "listen.h"
#include "nbd_proto.h"
#include "server.h"
#include "signals.h"
#include "stats_file.h"

#define DEFAULT_PORT 10809
#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_POLL "adaptive"
#define DEFAULT_HANDSHAKE_TIMEOUT 10 /* seconds, as qemu-nbd's --handshake-limit */
#define DEFAULT_SHUTDOWN_TIMEOUT 10  /* seconds */
#define DEFAULT_BUFFER_MEMORY (256ull << 20)
#define MAX_SECONDS 86400

static void usage(FILE *out) {
  fprintf(out,
          "Usage: rnull-server [OPTIONS] [key=value...]\n"
          "Serve an rnull null block device over NBD (fixed newstyle).\n\n"
          "Server options:\n"
          "  --unix PATH            listen on a Unix socket instead of TCP\n"
          "  --port N               TCP port (default %d)\n"
          "  --bind ADDR            numeric IPv4 or IPv6 address (default 127.0.0.1)\n"
          "  -f, --foreground       do not daemonize\n"
          "  --pidfile PATH         write the server's pid to PATH\n"
          "  --max-connections N    serve at most N clients at once; more are refused\n"
          "                         during the handshake (default %d, 0 = no limit)\n"
          "  -r, --readonly         serve read-only; wins over any readonly= key or file\n"
          "  -e, --export-name NAME the export's name (default \"\")\n"
          "  --stats-file PATH      rewrite statistics as JSON every second (stats_file=)\n"
          "  --config FILE          read disk keys from FILE: key=value lines, # comments\n"
          "                         (applied where it appears: later keys win)\n"
          "  --poll MODE            after work, poll the sockets instead of sleeping, so\n"
          "                         the client never pays for waking the server:\n"
          "                         adaptive (window grows to %u us while requests come\n"
          "                         that fast, shrinks when they don't, pauses while more\n"
          "                         tasks are runnable than CPUs), off, or a fixed window\n"
          "                         in us (0..%u). Costs up to one core per busy hw\n"
          "                         queue; idle clients cost nothing (default %s)\n"
          "  --handshake-timeout S  seconds a client has to finish the handshake\n"
          "                         (default %d, 0 = no limit; refused clients: at most 5)\n"
          "  --idle-timeout S       close a connection with nothing in flight that sent\n"
          "                         nothing for S seconds (default 0 = never)\n"
          "  --tls=off|on|require   TLS (NBD_OPT_STARTTLS): on allows plaintext clients too,\n"
          "                         require refuses every option before TLS (default off)\n"
          "  --tls-certificates DIR X.509: DIR/ca-cert.pem, server-cert.pem, server-key.pem,\n"
          "                         optional ca-crl.pem (nbdkit's and qemu's layout)\n"
          "  --tls-psk FILE         pre-shared keys, psktool's identity:hexkey lines\n"
          "  --tls-verify-peer      require client certificates signed by ca-cert.pem\n"
          "  --tls-priority STRING  GnuTLS priority (default %s)\n"
          "  --shutdown-timeout S   on SIGTERM/SIGINT, wait at most S seconds for in-flight\n"
          "                         requests, then end them with ESHUTDOWN (default %d)\n"
          "  --buffer-memory SIZE   payload buffers of all connections together (memory-\n"
          "                         backed disks; K/M/G suffixes; default 256M); when spent,\n"
          "                         the server stops reading requests until some are free\n"
          "  --conn-buffer-memory SIZE  the same for one connection (default 2 x max_transfer)\n"
          "  -h, --help             this help\n"
          "  -V, --version          print the version\n\n"
          "Systemd socket activation (LISTEN_FDS/LISTEN_PID) replaces --unix/--port.\n"
          "SIGINT/SIGTERM: stop accepting, finish in-flight requests (at most\n"
          "--shutdown-timeout seconds), exit 0 (a second\n"
          "one exits at once).\n"
          "SIGUSR1: print per-queue statistics to stderr.\n"
          "SIGHUP: read the TLS certificates and keys again (for new connections).\n"
          "\nDisk keys (key=value):\n",
          DEFAULT_PORT, DEFAULT_MAX_CONNS, PW_ADAPTIVE_MAX_NS / 1000, PW_FIXED_MAX_US,
          DEFAULT_POLL, DEFAULT_HANDSHAKE_TIMEOUT, RNULL_TLS_DEFAULT_PRIORITY,
          DEFAULT_SHUTDOWN_TIMEOUT);
  rnull_config_help(out);
}

static int parse_uint(const char *flag, const char *v, unsigned max, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (!*v || *end || errno || n > max || v[0] == '-') {
    fprintf(stderr, "rnull-server: %s %s: expected an integer in 0..%u\n", flag, v, max);
    return -1;
  }
  *out = (unsigned)n;
  return 0;
}

/* Daemon mode changes directory to /: make paths absolute first. */
static const char *absolute(const char *p) {
  if (!p || p[0] == '/')
    return p;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd)))
    return p;
  size_t n = strlen(cwd) + strlen(p) + 2;
  char *a = malloc(n);
  if (!a)
    return p;
  snprintf(a, n, "%s/%s", cwd, p);
  return a; /* lives as long as the process */
}

static int parse_bytes(const char *flag, const char *v, uint64_t *out) {
  if (rnull_parse_size(v, out) < 0 || *out == 0) {
    fprintf(stderr, "rnull-server: %s %s: expected a decimal size in bytes, K/M/G/T suffixes\n",
            flag, v);
    return -1;
  }
  return 0;
}

enum {
  OPT_UNIX = 256,
  OPT_PORT,
  OPT_BIND,
  OPT_PIDFILE,
  OPT_MAXCONN,
  OPT_STATS,
  OPT_CONFIG,
  OPT_POLL,
  OPT_HS_TIMEOUT,
  OPT_IDLE_TIMEOUT,
  OPT_TLS,
  OPT_TLS_CERTS,
  OPT_TLS_PSK,
  OPT_TLS_VERIFY,
  OPT_TLS_PRIORITY,
  OPT_SHUTDOWN_TIMEOUT,
  OPT_BUFMEM,
  OPT_CONN_BUFMEM,
};

static const struct option longopts[] = {
    {"unix", required_argument, NULL, OPT_UNIX},
    {"port", required_argument, NULL, OPT_PORT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"foreground", no_argument, NULL, 'f'},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"max-connections", required_argument, NULL, OPT_MAXCONN},
    {"readonly", no_argument, NULL, 'r'},
    {"export-name", required_argument, NULL, 'e'},
    {"stats-file", required_argument, NULL, OPT_STATS},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"poll", required_argument, NULL, OPT_POLL},
    {"handshake-timeout", required_argument, NULL, OPT_HS_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"tls", required_argument, NULL, OPT_TLS},
    {"tls-certificates", required_argument, NULL, OPT_TLS_CERTS},
    {"tls-psk", required_argument, NULL, OPT_TLS_PSK},
    {"tls-verify-peer", no_argument, NULL, OPT_TLS_VERIFY},
    {"tls-priority", required_argument, NULL, OPT_TLS_PRIORITY},
    {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT},
    {"buffer-memory", required_argument, NULL, OPT_BUFMEM},
    {"conn-buffer-memory", required_argument, NULL, OPT_CONN_BUFMEM},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int set_key(struct server *s, const char *kv) {
  char err[RNULL_ERR_LEN];
  if (rnull_config_set_kv(&s->cfg, kv, err, sizeof(err)) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err);
    return -1;
  }
  return 0;
}

/* A config file: the same key=value as the command line, one per line;
 * blank lines and lines starting with # are skipped. */
static int read_config(struct server *s, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "rnull-server: --config %s: %m\n", path);
    return -1;
  }
  char line[512];
  int lineno = 0, ret = 0;
  while (ret == 0 && fgets(line, sizeof(line), f)) {
    lineno++;
    size_t n = strlen(line);
    if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
      fprintf(stderr, "rnull-server: %s:%d: line too long\n", path, lineno);
      ret = -1;
      break;
    }
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                 line[n - 1] == '\t'))
      line[--n] = 0;
    char *p = line + strspn(line, " \t");
    if (!*p || *p == '#')
      continue;
    char err[RNULL_ERR_LEN];
    if (!strchr(p, '=') || rnull_config_set_kv(&s->cfg, p, err, sizeof(err)) < 0) {
      fprintf(stderr, "rnull-server: %s:%d: %s\n", path, lineno,
              strchr(p, '=') ? err : "expected key=value");
      ret = -1;
    }
  }
  fclose(f);
  return ret;
}

static int parse_tls_mode(const char *v, enum rnull_hs_tls *mode) {
  if (strcmp(v, "off") == 0)
    *mode = RNULL_HS_TLS_OFF;
  else if (strcmp(v, "on") == 0)
    *mode = RNULL_HS_TLS_ON;
  else if (strcmp(v, "require") == 0)
    *mode = RNULL_HS_TLS_REQUIRE;
  else {
    fprintf(stderr, "rnull-server: --tls=%s: expected off, on or require\n", v);
    return -1;
  }
  return 0;
}

/* Loopback (127.0.0.0/8, ::1, ::ffff:127.x): safe without TLS. */
static bool is_loopback(const char *addr) {
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, addr, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, addr, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) ||
           (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  return false;
}

static int parse_args(struct server *s, int argc, char **argv) {
  s->o.port = DEFAULT_PORT;
  s->o.bind_addr = "127.0.0.1";
  s->o.max_conns = DEFAULT_MAX_CONNS;
  s->o.export_name = "";
  s->o.handshake_timeout = DEFAULT_HANDSHAKE_TIMEOUT;
  s->o.shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT;
  s->o.buffer_memory = DEFAULT_BUFFER_MEMORY;
  bool port_set = false, bind_set = false;
  char perr[160];
  pw_parse(DEFAULT_POLL, &s->o.poll, perr, sizeof(perr));
  int c;
  while ((c = getopt_long(argc, argv, "fre:hV", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_UNIX:
      s->o.unix_path = optarg;
      break;
    case OPT_PORT:
      if (parse_uint("--port", optarg, 65535, &s->o.port) < 0)
        return -1;
      port_set = true;
      break;
    case OPT_BIND:
      s->o.bind_addr = optarg;
      bind_set = true;
      break;
    case 'f':
      s->o.foreground = true;
      break;
    case OPT_PIDFILE:
      s->o.pidfile = optarg;
      break;
    case OPT_MAXCONN:
      if (parse_uint("--max-connections", optarg, 1000000, &s->o.max_conns) < 0)
        return -1;
      break;
    case 'r':
      s->o.readonly = true; /* applied after every key and file */
      break;
    case OPT_HS_TIMEOUT:
      if (parse_uint("--handshake-timeout", optarg, MAX_SECONDS, &s->o.handshake_timeout) < 0)
        return -1;
      break;
    case OPT_IDLE_TIMEOUT:
      if (parse_uint("--idle-timeout", optarg, MAX_SECONDS, &s->o.idle_timeout) < 0)
        return -1;
      break;
    case OPT_SHUTDOWN_TIMEOUT:
      if (parse_uint("--shutdown-timeout", optarg, MAX_SECONDS, &s->o.shutdown_timeout) < 0)
        return -1;
      break;
    case OPT_BUFMEM:
      if (parse_bytes("--buffer-memory", optarg, &s->o.buffer_memory) < 0)
        return -1;
      break;
    case OPT_CONN_BUFMEM:
      if (parse_bytes("--conn-buffer-memory", optarg, &s->o.conn_buffer_memory) < 0)
        return -1;
      break;

    case 'e':
      if (strlen(optarg) > NBD_MAX_STRING) {
        fprintf(stderr, "rnull-server: --export-name: longer than %d bytes\n", NBD_MAX_STRING);
        return -1;
      }
      s->o.export_name = optarg;
      break;
    case OPT_STATS: {
      char *kv = malloc(strlen(optarg) + 12);
      if (!kv)
        return -1;
      sprintf(kv, "stats_file=%s", optarg);
      int r = set_key(s, kv);
      free(kv);
      if (r < 0)
        return -1;
      break;
    }
    case OPT_CONFIG:
      if (read_config(s, optarg) < 0)
        return -1;
      break;
    case OPT_POLL:
      if (pw_parse(optarg, &s->o.poll, perr, sizeof(perr)) < 0) {
        fprintf(stderr, "rnull-server: %s\n", perr);
        return -1;
      }
      break;
    case OPT_TLS:
      if (parse_tls_mode(optarg, &s->tls_opts.mode) < 0)
        return -1;
      break;
    case OPT_TLS_CERTS:
      s->tls_opts.certs_dir = optarg;
      break;
    case OPT_TLS_PSK:
      s->tls_opts.psk_file = optarg;
      break;
    case OPT_TLS_VERIFY:
      s->tls_opts.verify_peer = true;
      break;
    case OPT_TLS_PRIORITY:
      s->tls_opts.priority = optarg;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    case 'V':
      printf("rnull-server %s\n", RNULL_VERSION);
      exit(0);
    default:
      fprintf(stderr, "Try 'rnull-server --help'.\n");
      return -1;
    }
  }
  for (int i = optind; i < argc; i++) {
    if (!strchr(argv[i], '=')) {
      fprintf(stderr, "rnull-server: %s: expected key=value (see --help)\n", argv[i]);
      return -1;
    }
    if (set_key(s, argv[i]) < 0)
      return -1;
  }
  /* -r wins over readonly= anywhere (getopt moves keys after the flags), as
   * nbdkit -r and qemu-nbd -r do. */
  if (s->o.readonly && set_key(s, "readonly=1") < 0)
    return -1;
  if (s->o.unix_path && (port_set || bind_set)) {
    fprintf(stderr, "rnull-server: --unix cannot be combined with --port/--bind\n");
    return -1;
  }
  if (!s->o.unix_path && s->tls_opts.mode == RNULL_HS_TLS_OFF && !is_loopback(s->o.bind_addr))
    fprintf(stderr,
            "rnull-server: warning: --bind %s is not loopback and TLS is off: anyone who can "
            "reach it can read and write the disk (see --tls)\n",
            s->o.bind_addr);
  return 0;
}

static void export_info(struct server *s) {
  struct rnull_disk *d = s->disk;
  uint16_t f =
      NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_CAN_MULTI_CONN | NBD_FLAG_SEND_CACHE;
  if (rnull_disk_rotational(d))
    f |= NBD_FLAG_ROTATIONAL;
  if (rnull_disk_readonly(d)) {
    f |= NBD_FLAG_READ_ONLY;
  } else {
    f |= NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_WRITE_ZEROES;
    if (rnull_disk_can_discard(d))
      f |= NBD_FLAG_SEND_TRIM;
    if (rnull_disk_can_fast_zero(d))
      f |= NBD_FLAG_SEND_FAST_ZERO;
  }
  snprintf(s->description, sizeof(s->description), "rnull disk %s (%s store)", rnull_disk_name(d),
           rnull_disk_reads_zero(d) ? "null" : "memory");
  s->exp = (struct rnull_hs_export){
      .name = s->o.export_name,
      .description = s->description,
      .size = rnull_disk_size(d),
      .flags = f,
      .min_block = rnull_disk_logical_block_size(d),
      .pref_block = rnull_disk_physical_block_size(d),
      .max_block = rnull_disk_max_transfer(d),
  };
  s->reads_zero = rnull_disk_reads_zero(d);
}

/* Payload buffers: the budgets must hold at least one largest request. */
static int check_buffer_memory(struct server *s) {
  uint64_t mt = rnull_disk_max_transfer(s->disk);
  if (!s->o.conn_buffer_memory)
    s->o.conn_buffer_memory = 2 * mt;
  if (s->o.buffer_memory < mt || s->o.conn_buffer_memory < mt) {
    bool total = s->o.buffer_memory < mt;
    fprintf(stderr,
            "rnull-server: %s %llu: must be at least max_transfer (%llu), the largest request\n",
            total ? "--buffer-memory" : "--conn-buffer-memory",
            (unsigned long long)(total ? s->o.buffer_memory : s->o.conn_buffer_memory),
            (unsigned long long)mt);
    return -1;
  }
  /* mbps: a connection keeps at most one largest request's worth of bytes
   * in the engine, so the throttle's FIFO serves connections in turn. */
  if (rnull_disk_config(s->disk)->mbps)
    s->fair_bytes = mt;
  return 0;
}

struct main_ctx {
  struct server *srv;
  struct listeners *ls;
  struct acceptor *acc;
  struct signals *sig;
};

/* SIGINT/SIGTERM: stop accepting, let the loops drain, leave the main loop. */
static void on_stop(struct ev_loop *ev, void *arg) {
  struct main_ctx *m = arg;
  /* Stopping the watchers restores SIG_DFL: a second SIGINT/SIGTERM during
   * the drain ends the process at once. */
  rnull_signals_stop(m->sig, ev);
  rnull_acceptor_stop(m->acc, ev);
  rnull_listen_close(m->ls);
  rnull_loops_drain(m->srv);
  ev_break(ev, EVBREAK_ALL);
}

int main(int argc, char **argv) {
  static struct server srv;
  static struct listeners ls;
  static struct acceptor acc;
  static struct signals sig;
  static struct stats_file sf;
  char err[RNULL_ERR_LEN] = "";

  /* Every client is a file descriptor: allow as many as the hard limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  rnull_config_init(&srv.cfg);
  if (parse_args(&srv, argc, argv) < 0)
    return 1;
  if (!srv.o.foreground) {
    srv.o.unix_path = absolute(srv.o.unix_path);
    srv.o.pidfile = absolute(srv.o.pidfile);
    if (srv.cfg.stats_file[0]) {
      const char *a = absolute(srv.cfg.stats_file);
      if (strlen(a) >= sizeof(srv.cfg.stats_file)) {
        fprintf(stderr, "rnull-server: stats file path too long\n");
        return 1;
      }
      memmove(srv.cfg.stats_file, a, strlen(a) + 1);
    }
  }
  if (!srv.o.foreground) {
    srv.tls_opts.certs_dir = absolute(srv.tls_opts.certs_dir);
    srv.tls_opts.psk_file = absolute(srv.tls_opts.psk_file);
  }
  if (rnull_tls_init(&srv.tls, &srv.tls_opts, err, sizeof(err)) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err);
    return 1;
  }
  if (rnull_null_disk_create(&srv.disk, &srv.cfg, err, sizeof(err)) < 0 ||
      rnull_disk_add(srv.disk, conn_end_io, err, sizeof(err)) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err[0] ? err : "cannot create the disk");
    if (srv.disk)
      rnull_disk_destroy(srv.disk);
    return 1;
  }
  export_info(&srv);
  if (check_buffer_memory(&srv) < 0) {
    rnull_disk_destroy(srv.disk);
    return 1;
  }

  int r = rnull_listen_systemd(&ls, err, sizeof(err));
  bool activated = r > 0;
  if (r == 0) {
    if (srv.o.unix_path)
      r = rnull_listen_unix(&ls, srv.o.unix_path, err, sizeof(err));
    else
      r = rnull_listen_tcp(&ls, srv.o.bind_addr, srv.o.port, err, sizeof(err));
  }
  if (r < 0) {
    fprintf(stderr, "rnull-server: %s\n", err);
    rnull_disk_destroy(srv.disk);
    return 1;
  }
  if (!srv.o.foreground && (r = rnull_daemonize()) < 0) {
    fprintf(stderr, "rnull-server: cannot daemonize: %s\n", strerror(-r));
    return 1;
  }
  if (srv.o.pidfile && (r = rnull_pidfile_write(srv.o.pidfile)) < 0) {
    fprintf(stderr, "rnull-server: --pidfile %s: %s\n", srv.o.pidfile, strerror(-r));
    rnull_listen_close(&ls);
    return 1;
  }

  struct ev_loop *ev = ev_default_loop(EVFLAG_AUTO);
  if (!ev || rnull_loops_start(&srv, err, sizeof(err)) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err[0] ? err : "cannot create the event loop");
    rnull_listen_close(&ls);
    return 1;
  }
  struct main_ctx m = {.srv = &srv, .ls = &ls, .acc = &acc, .sig = &sig};
  rnull_signals_start(&sig, ev, &srv, on_stop, &m);
  if (srv.cfg.stats_file[0])
    rnull_stats_file_start(&sf, ev, srv.disk, srv.cfg.stats_file);
  rnull_acceptor_start(&acc, ev, &srv, &ls);
  if (srv.o.foreground) {
    char where[300];
    struct sockaddr_storage sa;
    socklen_t sl = sizeof(sa);
    char host[INET6_ADDRSTRLEN] = "?";
    if (activated)
      snprintf(where, sizeof(where), "%u inherited socket(s) from systemd", ls.n);
    else if (ls.unix_path)
      snprintf(where, sizeof(where), "unix:%s", ls.unix_path);
    else if (getsockname(ls.fd[0], (struct sockaddr *)&sa, &sl) == 0 &&
             getnameinfo((struct sockaddr *)&sa, sl, host, sizeof(host), NULL, 0, NI_NUMERICHOST) ==
                 0)
      snprintf(where, sizeof(where), "%s port %u", host,
               ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                              : ((struct sockaddr_in *)&sa)->sin_port));
    else
      snprintf(where, sizeof(where), "%s port %u", srv.o.bind_addr, srv.o.port);
    char poll[64];
    pw_describe(&srv.o.poll, poll, sizeof(poll));
    fprintf(stderr, "rnull-server: serving %s (%llu bytes, %u hw queue(s)) on %s, polling %s\n",
            rnull_disk_name(srv.disk), (unsigned long long)srv.exp.size, srv.nloops, where, poll);
  }
  rnull_daemon_ready();

  ev_run(ev, 0);

  rnull_loops_join(&srv);
  rnull_stats_file_stop(&sf, ev);
  rnull_disk_destroy(srv.disk);
  rnull_tls_fini(&srv.tls);
  if (srv.o.pidfile)
    unlink(srv.o.pidfile);
  return 0;
}
