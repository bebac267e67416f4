/* Parses rnull-attach's command line: nbd-client's own syntax
 * (host [port] device, or -unix socket device, options anywhere) plus
 * --dry-run and --nbd-client. nbd-client accepts -opt and --opt spellings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach_args.h"

/* nbd-client options (3.24, and 3.26's -y/--priority, a GnuTLS priority
 * string): short and long name, whether they take a value. 3.26 dropped
 * -sdp; it stays here so a 3.24 command line still parses. */
struct client_opt {
  const char *shrt, *lng;
  bool has_value;
};

static const struct client_opt client_opts[] = {
    {"b", "block-size", true}, {"t", "timeout", true},       {"N", "name", true},
    {"B", "size", true},       {"C", "connections", true},   {"F", "certfile", true},
    {"K", "keyfile", true},    {"A", "cacertfile", true},    {"H", "tlshostname", true},
    {"s", "swap", false},      {"S", "sdp", false},          {"p", "persist", false},
    {"n", "nofork", false},    {"m", "systemd-mark", false}, {"L", "nonetlink", false},
    {"R", "readonly", false},  {"P", "preinit", false},      {"x", "enable-tls", false},
    {"u", "unix", false},      {"y", "priority", true},
};

/* Options that make nbd-client do something other than connect a device. */
static const struct client_opt passthrough_opts[] = {
    {"d", "disconnect", true}, {"c", "check", true}, {"l", "list", true},
    {"V", "version", false},   {"h", "help", false},
};

/* Match "-x", "-long", "--long" or "--long=value"; *inline_value gets the
 * text after '=' when present. */
static bool opt_matches(const char *arg, const struct client_opt *o, const char **inline_value) {
  const char *name = arg + 1;
  *inline_value = NULL;
  if (strcmp(name, o->shrt) == 0)
    return true;
  if (*name == '-')
    name++;
  size_t n = strlen(o->lng);
  if (strncmp(name, o->lng, n) != 0)
    return false;
  if (name[n] == '\0')
    return true;
  if (name[n] == '=' && o->has_value) {
    *inline_value = name + n + 1;
    return true;
  }
  return false;
}

static const struct client_opt *find_exact(const struct client_opt *table, size_t n,
                                           const char *arg, const char **inline_value) {
  for (size_t i = 0; i < n; i++)
    if (opt_matches(arg, &table[i], inline_value))
      return &table[i];
  return NULL;
}

/* "-b4096": a short option with its value attached. Tried only after every
 * exact and long name failed, so "-timeout" is never "-t imeout" and
 * "-connections" never "-c onnections". */
static const struct client_opt *find_attached(const struct client_opt *table, size_t n,
                                              const char *arg, const char **inline_value) {
  for (size_t i = 0; i < n; i++)
    if (table[i].has_value && arg[1] == table[i].shrt[0] && arg[2] != '\0') {
      *inline_value = arg + 2;
      return &table[i];
    }
  return NULL;
}

#define COUNT(t) (sizeof(t) / sizeof((t)[0]))

static bool is_ours(const char *arg) {
  return strcmp(arg, "--dry-run") == 0 || strcmp(arg, "--nbd-client") == 0 ||
         strncmp(arg, "--nbd-client=", 13) == 0 || strcmp(arg, "--help") == 0 ||
         strcmp(arg, "--version") == 0 || strcmp(arg, "--tls-certificates") == 0 ||
         strncmp(arg, "--tls-certificates=", 19) == 0;
}

/* --name VALUE or --name=VALUE (one of ours). NULL with err set if missing. */
static const char *our_value(int argc, char **argv, int *i, size_t namelen, const char *what,
                             char *err, int errlen) {
  const char *arg = argv[*i];
  if (arg[namelen] == '=')
    return arg + namelen + 1;
  if (*i + 1 < argc)
    return argv[++*i];
  snprintf(err, (size_t)errlen, "%s needs %s", arg, what);
  return NULL;
}

void attach_args_free(struct attach_args *a) {
  free(a->opts);
  free(a->argv);
  a->opts = a->argv = NULL;
  a->nopts = a->nargv = 0;
}

int attach_parse_args(int argc, char **argv, struct attach_args *a, char *err, int errlen) {
  memset(a, 0, sizeof(*a));
  a->export_name = "";
  a->mode = ATTACH_CONNECT;
  /* argv-sized arrays: no argument list can outgrow them. */
  a->opts = calloc((size_t)argc + 1, sizeof(char *));
  a->argv = calloc((size_t)argc + 1, sizeof(char *));
  if (!a->opts || !a->argv) {
    snprintf(err, (size_t)errlen, "out of memory");
    return -1;
  }
  const char *pos[3];
  int npos = 0;

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *val;
    if (is_ours(arg)) {
      if (strcmp(arg, "--dry-run") == 0)
        a->dry_run = true;
      else if (strcmp(arg, "--help") == 0)
        a->mode = ATTACH_HELP;
      else if (strcmp(arg, "--version") == 0)
        a->mode = ATTACH_VERSION;
      else if (strncmp(arg, "--tls-certificates", 18) == 0) {
        if (!(a->tls_dir = our_value(argc, argv, &i, 18, "a directory", err, errlen)))
          return -1;
        a->tls = true;
      } else if (!(a->nbd_client = our_value(argc, argv, &i, 12, "a path", err, errlen)))
        return -1;
      continue;
    }
    a->argv[a->nargv++] = argv[i];
    if (arg[0] == '-' && arg[1] != '\0') {
      const struct client_opt *o;
      bool passthrough = false;
      if (find_exact(passthrough_opts, COUNT(passthrough_opts), arg, &val))
        passthrough = true;
      else if (!(o = find_exact(client_opts, COUNT(client_opts), arg, &val)) &&
               find_attached(passthrough_opts, COUNT(passthrough_opts), arg, &val))
        passthrough = true;
      else if (!o)
        o = find_attached(client_opts, COUNT(client_opts), arg, &val);
      if (passthrough) {
        a->mode = ATTACH_PASSTHROUGH;
        continue; /* its operand, if any, is copied as a positional */
      }
      if (!o) {
        snprintf(err, (size_t)errlen, "unknown option '%s' (see --help)", arg);
        return -1;
      }
      if (strcmp(o->shrt, "u") == 0) {
        a->unix_socket = true; /* re-emitted as -unix before the socket */
        continue;
      }
      a->opts[a->nopts++] = argv[i];
      if (o->has_value && !val) {
        if (i + 1 >= argc) {
          snprintf(err, (size_t)errlen, "option '%s' needs a value", arg);
          return -1;
        }
        val = argv[++i];
        a->argv[a->nargv++] = argv[i];
        a->opts[a->nopts++] = argv[i];
      }
      if (strcmp(o->shrt, "b") == 0)
        a->block_size = val;
      else if (strcmp(o->shrt, "N") == 0)
        a->export_name = val;
      else if (strchr("FKAHx", o->shrt[0])) {
        a->tls = true;
        const char **slot = o->shrt[0] == 'A'   ? &a->tls_ca
                            : o->shrt[0] == 'F' ? &a->tls_cert
                            : o->shrt[0] == 'K' ? &a->tls_key
                            : o->shrt[0] == 'H' ? &a->tls_host
                                                : NULL;
        if (slot)
          *slot = val;
      }
      continue;
    }
    if (npos == 3) {
      snprintf(err, (size_t)errlen, "too many arguments at '%s'", arg);
      return -1;
    }
    pos[npos++] = arg;
  }

  if (a->mode != ATTACH_CONNECT)
    return 0;
  /* host [port] device; with -unix: socket device. */
  if (npos == 1 && !a->unix_socket) {
    a->mode = ATTACH_PASSTHROUGH; /* "nbd-client nbdX": nbdtab decides */
    return 0;
  }
  if (npos < 2) {
    snprintf(err, (size_t)errlen, "missing %s (see --help)",
             npos == 0 ? (a->unix_socket ? "socket and device" : "host and device") : "device");
    return -1;
  }
  a->host = pos[0];
  if (npos == 3) {
    if (a->unix_socket) {
      snprintf(err, (size_t)errlen, "-unix takes a socket and a device, not a port ('%s')", pos[1]);
      return -1;
    }
    a->port = pos[1];
    char *end;
    unsigned long p = strtoul(a->port, &end, 10);
    if (*a->port == '\0' || *end != '\0' || p == 0 || p > 65535) {
      snprintf(err, (size_t)errlen, "bad port '%s' (1..65535)", a->port);
      return -1;
    }
  }
  a->device = pos[npos - 1];
  if (a->device[0] != '/') {
    snprintf(err, (size_t)errlen, "device '%s' is not a path such as /dev/nbd0", a->device);
    return -1;
  }
  return 0;
}

void attach_usage(FILE *out) {
  fputs(
      "usage: rnull-attach [--dry-run] [--nbd-client PATH] HOST [PORT] DEVICE [nbd-client "
      "options]\n"
      "       rnull-attach [--dry-run] [--nbd-client PATH] -unix SOCKET DEVICE [nbd-client "
      "options]\n"
      "       rnull-attach -d DEVICE   (and nbd-client's other non-connect forms: passed through)\n"
      "\n"
      "Asks the NBD server for its minimum block size (NBD_OPT_GO with\n"
      "NBD_INFO_BLOCK_SIZE) and runs nbd-client with the matching -b, so the\n"
      "kernel's device has the server's logical sector size. A -b given here wins.\n"
      "\n"
      "  --dry-run          print the nbd-client command instead of running it\n"
      "  --nbd-client PATH  nbd-client to run (default: $RNULL_NBD_CLIENT, PATH, /usr/sbin)\n"
      "  --tls-certificates DIR\n"
      "                     TLS with DIR/ca-cert.pem and, if there, DIR/client-cert.pem and\n"
      "                     DIR/client-key.pem (libnbd's and qemu's client layout): passed\n"
      "                     to nbd-client as -cacertfile/-certfile/-keyfile\n"
      "  --help, --version\n"
      "\n"
      "With TLS (--tls-certificates, or nbd-client's -cacertfile, -certfile, -keyfile,\n"
      "-tlshostname) the block size is asked over TLS with the same files and host name.\n",
      out);
}
