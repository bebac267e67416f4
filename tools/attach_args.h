/* rnull-attach command line: which server to ask, which nbd-client
 * arguments to pass through, and whether to ask at all. */
#ifndef RNULL_ATTACH_ARGS_H
#define RNULL_ATTACH_ARGS_H

#include <stdbool.h>
#include <stdio.h>

enum attach_mode {
  ATTACH_CONNECT,     /* connect a device: ask the server for -b, then run nbd-client */
  ATTACH_PASSTHROUGH, /* -d, -c, -l, -V, nbdtab form: run nbd-client unchanged */
  ATTACH_HELP,
  ATTACH_VERSION,
};

struct attach_args {
  enum attach_mode mode;
  bool dry_run;
  const char *nbd_client;  /* --nbd-client PATH, or NULL to search */
  bool unix_socket;        /* -unix/-u: host is a socket path */
  const char *host;        /* or socket path */
  const char *port;        /* NULL: the NBD port 10809 */
  const char *device;      /* /dev/nbdX */
  const char *export_name; /* -N/-name, "" by default */
  const char *block_size;  /* -b given by the user: no need to ask */
  bool tls;                /* any TLS option: the question is asked over TLS too */
  const char *tls_dir;     /* --tls-certificates DIR (libnbd's client layout) */
  const char *tls_ca;      /* nbd-client's -A/-cacertfile */
  const char *tls_cert;    /* -F/-certfile */
  const char *tls_key;     /* -K/-keyfile */
  const char *tls_host;    /* -H/-tlshostname */
  int nopts;               /* nbd-client options to pass through, in order (not -unix) */
  char **opts;
  int nargv; /* the whole nbd-client argument list (passthrough mode) */
  char **argv;
};

/* Parse argv[1..]. 0 on success; -1 with a message in err (usage error). */
int attach_parse_args(int argc, char **argv, struct attach_args *a, char *err, int errlen);

/* Free what attach_parse_args allocated (safe on a zeroed struct). */
void attach_args_free(struct attach_args *a);

void attach_usage(FILE *out);

#endif
