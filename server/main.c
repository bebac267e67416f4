/* rnull-server [OPTIONS] [key=value...]: serve one rnull disk over NBD.
 * Engine keys go through the engine's option table (rnull_config_set_kv);
 * the server's flags are flags.c's table. */
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
#include "flags.h"
#include "rnull/nbd_server.h"
#include "rnull/rnull.h"

/* The command line: the flags (flags.h's table), the disk's keys, and the
 * server's own keys. */
struct args {
  struct server_cli cli;
  struct rnull_config cfg;
  unsigned nr_devices; /* nr_devices=N */
};

static void usage(FILE *out) {
  fprintf(out, "Usage: rnull-server [OPTIONS] [key=value...]\n"
               "Serve an rnull null block device over NBD (fixed newstyle).\n\n"
               "Server options:\n");
  server_flags_help(out);
  fprintf(out,
          "\nSystemd socket activation (LISTEN_FDS/LISTEN_PID) replaces --unix/--port.\n"
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

/* Every path flag of the table (and the stats file, whatever set it). */
static void make_paths_absolute(struct server_cli *c) {
  size_t n;
  const struct server_flag *f = server_flags(&n);
  for (size_t i = 0; i < n; i++)
    if (f[i].kind == FLAG_PATH || f[i].kind == FLAG_STATS) {
      const char **p = (const char **)((char *)c + f[i].offset);
      *p = absolute(*p);
    }
}

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

/* One flag from getopt: the table's setter, or main's own actions. */
static int take_flag(struct args *s, const struct server_flag *f, const char *arg) {
  char err[RNULL_ERR_LEN];
  if (f->kind != FLAG_ACTION) {
    if (server_flag_set(&s->cli, f, arg, err, sizeof err) < 0) {
      fprintf(stderr, "rnull-server: %s\n", err);
      return -1;
    }
    return 0;
  }
  switch (f->letter) {
  case 'h':
    usage(stdout);
    exit(0);
  case 'V':
    printf("rnull-server %s\n", RNULL_VERSION);
    exit(0);
  default: /* --config */
    return read_config(s, arg);
  }
}

static int parse_args(struct args *s, int argc, char **argv) {
  server_cli_init(&s->cli);
  const char *shortopts;
  const struct option *longopts = server_flags_getopt(&shortopts);
  bool port_set = false, bind_set = false;
  int c;
  while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
    const struct server_flag *f = server_flag_of_getopt(c);
    if (!f) {
      fprintf(stderr, "Try 'rnull-server --help'.\n");
      return -1;
    }
    if (take_flag(s, f, optarg) < 0)
      return -1;
    port_set |= strcmp(f->name, "port") == 0;
    bind_set |= strcmp(f->name, "bind") == 0;
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
  if (s->cli.readonly && set_key(s, "readonly=1") < 0)
    return -1;
  struct rnull_nbd_server_opts *o = &s->cli.o;
  if (o->unix_path && (port_set || bind_set)) {
    fprintf(stderr, "rnull-server: --unix cannot be combined with --port/--bind\n");
    return -1;
  }
  if (!o->unix_path && o->tls == RNULL_NBD_TLS_OFF && !is_loopback(o->bind_addr))
    fprintf(stderr,
            "rnull-server: warning: --bind %s is not loopback and TLS is off: anyone who can "
            "reach it can read and write the disk (see --tls)\n",
            o->bind_addr);
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
    c.fe.stats_dir[0] = 0;
    if (rnull_ctl_create(ctl, &c, true, err, errlen) < 0)
      return -1;
  }
  return 0;
}

/* The command line's disk, from its keys (the null driver's). */
static int create_disk(struct args *a, struct rnull_disk **disk, char *err, size_t errlen) {
  return rnull_null_disk_create(disk, &a->cfg, err, errlen);
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
  struct rnull_nbd_server_opts *o = &a.cli.o;
  /* The front ends' key stats_file= names the same file as --stats-file. */
  if (a.cfg.fe.stats_file[0])
    o->stats_file = a.cfg.fe.stats_file;
  if (a.cfg.fe.stats_dir[0])
    o->stats_dir = a.cfg.fe.stats_dir;
  if (!a.cli.foreground)
    make_paths_absolute(&a.cli);
  /* every disk by name: the command line's (added by the server), then
   * nr_devices' others, then those --control creates */
  struct rnull_ctl *ctl = NULL;
  if (rnull_ctl_new(&ctl, &(struct rnull_ctl_hooks){0}) < 0) {
    fprintf(stderr, "rnull-server: out of memory\n");
    return 1;
  }
  o->ctl = ctl;
  if (a.cli.disk_memory != UINT64_MAX) /* --disk-memory */
    rnull_ctl_set_memory_budget(ctl, a.cli.disk_memory);
  char description[160];
  o->announce = a.cli.foreground;
  o->on_ready = daemon_ready;
  if (create_disk(&a, &disk, err, sizeof(err)) == 0) {
    snprintf(description, sizeof(description), "rnull disk %s (%s store)", rnull_disk_name(disk),
             a.cfg.null.memory_backed ? "memory" : "null");
    o->description = description;
  }
  if (!disk || rnull_nbd_server_create(&srv, disk, o, err, sizeof(err)) < 0 ||
      create_devices(&a, ctl, err, sizeof(err)) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err[0] ? err : "cannot create the disk");
    rnull_nbd_server_destroy(srv);
    rnull_ctl_free(ctl);
    if (disk)
      rnull_disk_destroy(disk);
    return 1;
  }
  int r;
  if (!a.cli.foreground && (r = rnull_daemonize()) < 0) {
    fprintf(stderr, "rnull-server: cannot daemonize: %s\n", strerror(-r));
    return 1;
  }
  if (a.cli.pidfile && (r = rnull_pidfile_write(a.cli.pidfile)) < 0) {
    fprintf(stderr, "rnull-server: --pidfile %s: %s\n", a.cli.pidfile, strerror(-r));
    rnull_nbd_server_destroy(srv);
    return 1;
  }
  /* after the fork: the control socket's threads live in the daemon */
  struct rnull_ctl_limits lim = {.max_clients = a.cli.control_clients,
                                 .idle_timeout_ms = a.cli.control_idle_timeout * 1000u};
  if (a.cli.control_path &&
      (r = rnull_ctl_listen_limits(ctl, a.cli.control_path, &lim, err, sizeof(err))) < 0) {
    fprintf(stderr, "rnull-server: %s\n", err);
    rnull_nbd_server_destroy(srv);
    rnull_ctl_free(ctl);
    rnull_disk_destroy(disk);
    return 1;
  }
  struct rnull_configfs *cfs = NULL;
  if (a.cli.configfs_dir && start_configfs(&cfs, ctl, a.cli.configfs_dir, err, sizeof(err)) < 0) {
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
  if (a.cli.pidfile)
    unlink(a.cli.pidfile);
  return r < 0 ? 1 : 0;
}
