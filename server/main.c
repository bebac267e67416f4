/* rnull-server [OPTIONS] [key=value...]: serve one rnull disk over NBD.
 * Engine keys go through the engine's option table (rnull_config_set_kv);
 * the flags below are the server's own. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "configfs.h"
#include "daemon.h"
#include "nbd_proto.h"
#include "poll_window.h"
#include "rnull/nbd_server.h"
#include "rnull/rnull.h"
#include "tls.h"

#define DEFAULT_PORT RNULL_NBD_DEFAULT_PORT
#define DEFAULT_MAX_CONNS RNULL_NBD_DEFAULT_MAX_CONNECTIONS
#define DEFAULT_POLL "adaptive"
#define DEFAULT_HANDSHAKE_TIMEOUT RNULL_NBD_DEFAULT_HANDSHAKE_TIMEOUT
#define DEFAULT_SHUTDOWN_TIMEOUT RNULL_NBD_DEFAULT_SHUTDOWN_TIMEOUT
#define MAX_SECONDS 86400

/* The command line: the server library's options, the disk's keys, and
 * what only a program does (daemon, pidfile). */
struct args {
  struct rnull_nbd_server_opts o;
  struct rnull_config cfg;
  bool foreground;
  const char *pidfile;
  bool readonly;            /* -r: wins over every readonly= key */
  const char *control_path; /* --control */
  const char *configfs_dir; /* --configfs */
  unsigned nr_devices;      /* nr_devices=N */
};

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
          "                         adaptive (a %u us window, kept while most requests\n"
          "                         come within it, retried now and then when not, paused\n"
          "                         while other tasks wait for a CPU), off, or a fixed window\n"
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
          "  --control PATH         a control socket (Unix, mode 0600, root or our uid\n"
          "                         only) to create, change, power and remove disks at\n"
          "                         run time: see rnull-ctl(1). Each disk is an export\n"
          "                         of its name\n"
          "  --configfs DIR         mount the disks as a FUSE tree laid out like null_blk's\n"
          "                         /sys/kernel/config/nullb (mkdir, echo, power, rmdir)\n"
          "  -h, --help             this help\n"
          "  -V, --version          print the version\n\n"
          "Systemd socket activation (LISTEN_FDS/LISTEN_PID) replaces --unix/--port.\n"
          "SIGINT/SIGTERM: stop accepting, finish in-flight requests (at most\n"
          "--shutdown-timeout seconds), exit 0 (a second\n"
          "one exits at once).\n"
          "SIGUSR1: print per-queue statistics to stderr.\n"
          "SIGHUP: read the TLS certificates and keys again (for new connections).\n"
          "\nServer keys (key=value):\n"
          "nr_devices=N  disks like the command line's, as null_blk's module parameter: the\n"
          "    first is the command line's (name=, the default export), the others\n"
          "    rnullb1..rnullb<N-1>. default: 1; allowed: 1 to %d\n"
          "\nDisk keys (key=value):\n",
          DEFAULT_PORT, DEFAULT_MAX_CONNS, PW_ADAPTIVE_MAX_NS / 1000, PW_FIXED_MAX_US, DEFAULT_POLL,
          DEFAULT_HANDSHAKE_TIMEOUT, RNULL_TLS_DEFAULT_PRIORITY, DEFAULT_SHUTDOWN_TIMEOUT,
          RNULL_CTL_MAX_DISKS);
  rnull_config_help(out);
}

static int parse_uint(const char *flag, const char *v, unsigned max, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  /* decimal digits only, as the engine's keys (strtoul skips blanks, a sign) */
  if (!isdigit((unsigned char)v[0]) || *end || errno || n > max) {
    fprintf(stderr, "rnull-server: %s %s: expected a decimal integer in 0..%u\n", flag, v, max);
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
  OPT_CONTROL,
  OPT_CONFIGFS,
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
    {"control", required_argument, NULL, OPT_CONTROL},
    {"configfs", required_argument, NULL, OPT_CONFIGFS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* The server's own keys (not a disk's): 1 if kv was one, -1 if bad. */
static int server_key(struct args *s, const char *kv) {
  if (strncmp(kv, "nr_devices=", 11) != 0)
    return 0;
  char flag[] = "nr_devices";
  if (parse_uint(flag, kv + 11, RNULL_CTL_MAX_DISKS, &s->nr_devices) < 0)
    return -1;
  if (s->nr_devices == 0) {
    fprintf(stderr, "rnull-server: nr_devices=0: expected an integer in 1..%d\n",
            RNULL_CTL_MAX_DISKS);
    return -1;
  }
  return 1;
}

static int set_key(struct args *s, const char *kv) {
  char err[RNULL_ERR_LEN];
  int sk = server_key(s, kv);
  if (sk)
    return sk < 0 ? -1 : 0;
  if (rnull_config_set_kv(&s->cfg, kv, err, sizeof(err)) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err);
    return -1;
  }
  return 0;
}

/* A config file: the same key=value as the command line, one per line;
 * blank lines and lines starting with # are skipped. */
static int read_config(struct args *s, const char *path) {
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
    int sk = strchr(p, '=') ? server_key(s, p) : 0;
    if (sk < 0) {
      ret = -1;
      break;
    }
    if (sk == 0 && (!strchr(p, '=') || rnull_config_set_kv(&s->cfg, p, err, sizeof(err)) < 0)) {
      fprintf(stderr, "rnull-server: %s:%d: %s\n", path, lineno,
              strchr(p, '=') ? err : "expected key=value");
      ret = -1;
    }
  }
  fclose(f);
  return ret;
}

static int parse_tls_mode(const char *v, enum rnull_nbd_tls *mode) {
  if (strcmp(v, "off") == 0)
    *mode = RNULL_NBD_TLS_OFF;
  else if (strcmp(v, "on") == 0)
    *mode = RNULL_NBD_TLS_ON;
  else if (strcmp(v, "require") == 0)
    *mode = RNULL_NBD_TLS_REQUIRE;
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
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  return false;
}

static int parse_args(struct args *s, int argc, char **argv) {
  rnull_nbd_server_opts_init(&s->o);
  s->o.progname = "rnull-server";
  bool port_set = false, bind_set = false;
  char perr[160];
  struct pw_opts poll;
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
      s->foreground = true;
      break;
    case OPT_PIDFILE:
      s->pidfile = optarg;
      break;
    case OPT_MAXCONN:
      if (parse_uint("--max-connections", optarg, 1000000, &s->o.max_connections) < 0)
        return -1;
      break;
    case 'r':
      s->readonly = true; /* applied after every key and file */
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
    case OPT_CONTROL:
      s->control_path = optarg;
      break;
    case OPT_CONFIGFS:
      s->configfs_dir = optarg;
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
      if (pw_parse(optarg, &poll, perr, sizeof(perr)) < 0) { /* (the library parses it again) */
        fprintf(stderr, "rnull-server: %s\n", perr);
        return -1;
      }
      s->o.poll = optarg;
      break;
    case OPT_TLS:
      if (parse_tls_mode(optarg, &s->o.tls) < 0)
        return -1;
      break;
    case OPT_TLS_CERTS:
      s->o.tls_certificates = optarg;
      break;
    case OPT_TLS_PSK:
      s->o.tls_psk = optarg;
      break;
    case OPT_TLS_VERIFY:
      s->o.tls_verify_peer = true;
      break;
    case OPT_TLS_PRIORITY:
      s->o.tls_priority = optarg;
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
  if (s->readonly && set_key(s, "readonly=1") < 0)
    return -1;
  if (s->o.unix_path && (port_set || bind_set)) {
    fprintf(stderr, "rnull-server: --unix cannot be combined with --port/--bind\n");
    return -1;
  }
  if (!s->o.unix_path && s->o.tls == RNULL_NBD_TLS_OFF && !is_loopback(s->o.bind_addr))
    fprintf(stderr,
            "rnull-server: warning: --bind %s is not loopback and TLS is off: anyone who can "
            "reach it can read and write the disk (see --tls)\n",
            s->o.bind_addr);
  return 0;
}

static void daemon_ready(void *arg) {
  (void)arg;
  rnull_daemon_ready();
}

#ifdef RNULL_HAVE_FUSE
static int start_configfs(struct rnull_configfs **fs, struct rnull_ctl *ctl, const char *dir,
                          char *err, size_t errlen) {
  return rnull_configfs_start(fs, ctl, dir, err, errlen);
}
static void stop_configfs(struct rnull_configfs *fs) { rnull_configfs_stop(fs); }
#else
static int start_configfs(struct rnull_configfs **fs, struct rnull_ctl *ctl, const char *dir,
                          char *err, size_t errlen) {
  (void)ctl;
  *fs = NULL;
  snprintf(err, errlen, "--configfs %s: this rnull-server was built without FUSE (libfuse3-dev)",
           dir);
  return -ENOTSUP;
}
static void stop_configfs(struct rnull_configfs *fs) { (void)fs; }
#endif

/* nr_devices=N: rnullb1..rnullb<N-1>, each like the command line's disk. */
static int create_devices(struct args *a, struct rnull_ctl *ctl, char *err, size_t errlen) {
  for (unsigned i = 1; i < a->nr_devices; i++) {
    struct rnull_config c = a->cfg;
    snprintf(c.core.name, sizeof c.core.name, "rnullb%u", i);
    c.fe.stats_file[0] = 0;
    if (rnull_ctl_create(ctl, &c, true, err, errlen) < 0)
      return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  static struct args a;
  struct rnull_disk *disk = NULL;
  struct rnull_nbd_server *srv = NULL;
  char err[RNULL_ERR_LEN] = "";

  /* Every client is a file descriptor: allow as many as the hard limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  rnull_config_init(&a.cfg);
  if (parse_args(&a, argc, argv) < 0)
    return 1;
  if (!a.foreground) {
    a.o.unix_path = absolute(a.o.unix_path);
    a.pidfile = absolute(a.pidfile);
    a.o.tls_certificates = absolute(a.o.tls_certificates);
    a.o.tls_psk = absolute(a.o.tls_psk);
    if (a.cfg.fe.stats_file[0]) {
      const char *p = absolute(a.cfg.fe.stats_file);
      if (strlen(p) >= sizeof(a.cfg.fe.stats_file)) {
        fprintf(stderr, "rnull-server: stats file path too long\n");
        return 1;
      }
      memmove(a.cfg.fe.stats_file, p, strlen(p) + 1);
    }
  }
  if (!a.foreground) {
    a.control_path = absolute(a.control_path);
    a.configfs_dir = absolute(a.configfs_dir);
  }
  /* every disk by name: the command line's (added by the server), then
   * nr_devices' others, then those --control creates */
  struct rnull_ctl *ctl = NULL;
  if (rnull_ctl_new(&ctl, &(struct rnull_ctl_hooks){0}) < 0) {
    fprintf(stderr, "rnull-server: out of memory\n");
    return 1;
  }
  a.o.ctl = ctl;
  char description[160];
  a.o.announce = a.foreground;
  a.o.on_ready = daemon_ready;
  a.o.stats_file = a.cfg.fe.stats_file; /* the front end's key, not the disk's */
  if (rnull_null_disk_create(&disk, &a.cfg, err, sizeof(err)) == 0) {
    snprintf(description, sizeof(description), "rnull disk %s (%s store)", rnull_disk_name(disk),
             a.cfg.null.memory_backed ? "memory" : "null");
    a.o.description = description;
  }
  if (!disk || rnull_nbd_server_create(&srv, disk, &a.o, err, sizeof(err)) < 0 ||
      create_devices(&a, ctl, err, sizeof(err)) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err[0] ? err : "cannot create the disk");
    rnull_nbd_server_destroy(srv);
    rnull_ctl_free(ctl);
    if (disk)
      rnull_disk_destroy(disk);
    return 1;
  }
  int r;
  if (!a.foreground && (r = rnull_daemonize()) < 0) {
    fprintf(stderr, "rnull-server: cannot daemonize: %s\n", strerror(-r));
    return 1;
  }
  if (a.pidfile && (r = rnull_pidfile_write(a.pidfile)) < 0) {
    fprintf(stderr, "rnull-server: --pidfile %s: %s\n", a.pidfile, strerror(-r));
    rnull_nbd_server_destroy(srv);
    return 1;
  }
  /* after the fork: the control socket's threads live in the daemon */
  if (a.control_path && (r = rnull_ctl_listen(ctl, a.control_path, err, sizeof(err))) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err);
    rnull_nbd_server_destroy(srv);
    rnull_ctl_free(ctl);
    rnull_disk_destroy(disk);
    return 1;
  }
  struct rnull_configfs *cfs = NULL;
  if (a.configfs_dir && start_configfs(&cfs, ctl, a.configfs_dir, err, sizeof(err)) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err);
    rnull_ctl_free(ctl);
    rnull_nbd_server_destroy(srv);
    rnull_disk_destroy(disk);
    return 1;
  }
  r = rnull_nbd_server_run(srv, err, sizeof(err));
  if (r < 0)
    fprintf(stderr, "rnull-server: %s\n", err);
  stop_configfs(cfs);
  rnull_ctl_free(ctl); /* the control socket, then the disks it made */
  rnull_nbd_server_destroy(srv);
  rnull_disk_destroy(disk);
  if (a.pidfile)
    unlink(a.pidfile);
  return r < 0 ? 1 : 0;
}
