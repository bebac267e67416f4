/* rnull-attach: nbd-client with the server's block size.
 * Parses nbd-client's command line, asks the server for its minimum block
 * size, and execs nbd-client with that -b (or prints the command with
 * --dry-run). Non-connect forms (-d, -c, -l, ...) are passed through. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach_args.h"
#include "attach_query.h"

/* A server that never answers must not hang us: give up after this many
 * seconds ($RNULL_ATTACH_TIMEOUT overrides). */
#define QUERY_TIMEOUT_S 30

static unsigned query_timeout(void) {
  const char *env = getenv("RNULL_ATTACH_TIMEOUT");
  char *end;
  unsigned long t = env ? strtoul(env, &end, 10) : 0;
  return env && *env && *end == '\0' && t > 0 && t < 86400 ? (unsigned)t : QUERY_TIMEOUT_S;
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] =
      "rnull-attach: no answer from the server in time (RNULL_ATTACH_TIMEOUT)\n";
  ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
  (void)r;
  _exit(1);
}

/* Print one argument so that a shell would read it back unchanged. */
static void print_quoted(const char *s) {
  if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                      "-_./=:,+@%") == strlen(s)) {
    fputs(s, stdout);
    return;
  }
  putchar('\'');
  for (; *s; s++) {
    if (*s == '\'')
      fputs("'\\''", stdout);
    else
      putchar(*s);
  }
  putchar('\'');
}

/* Search PATH for name; NULL when no executable of that name is on it. */
static const char *search_path(const char *name) {
  static char buf[4096];
  const char *path = getenv("PATH");
  while (path && *path) {
    size_t len = strcspn(path, ":");
    if (len > 0 &&
        (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, name) < sizeof(buf) &&
        access(buf, X_OK) == 0)
      return buf;
    path += len + (path[len] == ':');
  }
  return NULL;
}

static const char *find_nbd_client(const char *given) {
  static const char *const fallback[] = {"/usr/sbin/nbd-client", "/sbin/nbd-client"};
  if (given)
    return given;
  const char *env = getenv("RNULL_NBD_CLIENT");
  if (env && *env)
    return env;
  const char *found = search_path("nbd-client");
  if (found)
    return found;
  /* Non-root PATHs often lack /usr/sbin: look there too. */
  for (size_t i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++)
    if (access(fallback[i], X_OK) == 0)
      return fallback[i];
  return "nbd-client";
}

/* Print argv (dry run) or exec it; frees argv and a when it returns. */
static int run(char **argv, bool dry_run, struct attach_args *a) {
  int rc;
  if (dry_run) {
    for (int i = 0; argv[i]; i++) {
      if (i)
        putchar(' ');
      print_quoted(argv[i]);
    }
    putchar('\n');
    rc = fflush(stdout) == 0 ? 0 : 1;
    goto out;
  }
  execvp(argv[0], argv);
  fprintf(stderr, "rnull-attach: cannot run %s: %s\n", argv[0], strerror(errno));
  rc = errno == ENOENT ? 127 : 126;
out:
  free(argv);
  attach_args_free(a);
  return rc;
}

/* --tls-certificates DIR as nbd-client's options: the CA always, the
 * client certificate and key when DIR has them. */
static int add_tls_files(char **out, int n, const char *dir, char files[3][4096]) {
  static const char *const opt[] = {"-cacertfile", "-certfile", "-keyfile"};
  static const char *const name[] = {"ca-cert.pem", "client-cert.pem", "client-key.pem"};
  for (int i = 0; i < 3; i++) {
    snprintf(files[i], 4096, "%s/%s", dir, name[i]);
    if (i > 0 && access(files[i], F_OK) != 0)
      continue;
    out[n++] = (char *)opt[i];
    out[n++] = files[i];
  }
  return n;
}

int main(int argc, char **argv) {
  struct attach_args a;
  char err[512];
  if (attach_parse_args(argc, argv, &a, err, sizeof(err)) == -1) {
    fprintf(stderr, "rnull-attach: %s\n", err);
    attach_args_free(&a);
    return 2;
  }
  switch (a.mode) {
  case ATTACH_HELP:
    attach_usage(stdout);
    attach_args_free(&a);
    return 0;
  case ATTACH_VERSION:
    puts("rnull-attach " RNULL_VERSION);
    attach_args_free(&a);
    return 0;
  case ATTACH_PASSTHROUGH:
  case ATTACH_CONNECT:
    break;
  }

  /* nbd-client, [-unix] host [port] device, [-b N], the user's options. */
  char **out = calloc((size_t)argc + 16, sizeof(char *));
  char tlsfiles[3][4096];
  char bsbuf[16];
  if (!out) {
    fputs("rnull-attach: out of memory\n", stderr);
    attach_args_free(&a);
    return 1;
  }
  int n = 0;
  out[n++] = (char *)find_nbd_client(a.nbd_client);
  if (a.mode == ATTACH_PASSTHROUGH) {
    for (int i = 0; i < a.nargv; i++)
      out[n++] = a.argv[i];
    return run(out, a.dry_run, &a);
  }

  if (!a.block_size) {
    uint32_t bs;
    uint64_t size;
    signal(SIGALRM, on_alarm);
    alarm(query_timeout());
    if (attach_query_block_size(&a, &bs, &size, err, sizeof(err)) == -1) {
      fprintf(stderr, "rnull-attach: %s\n", err);
      free(out);
      attach_args_free(&a);
      return 1;
    }
    alarm(0);
    snprintf(bsbuf, sizeof(bsbuf), "%" PRIu32, bs);
  }

  if (a.unix_socket)
    out[n++] = "-unix";
  out[n++] = (char *)a.host;
  if (!a.unix_socket)
    out[n++] = (char *)(a.port ? a.port : "10809");
  out[n++] = (char *)a.device;
  if (!a.block_size) {
    out[n++] = "-b";
    out[n++] = bsbuf;
  }
  if (a.tls_dir)
    n = add_tls_files(out, n, a.tls_dir, tlsfiles);
  for (int i = 0; i < a.nopts; i++)
    out[n++] = a.opts[i];
  return run(out, a.dry_run, &a);
}
