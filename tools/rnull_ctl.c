/* rnull-ctl [--control PATH] COMMAND [ARGS...]: one command of the line
 * protocol (rnull-ctl(1)) to a running rnull-server or nbdkit rnull plugin.
 * Output lines go to stdout; the final "error: ..." to stderr, exit 1. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_CONTROL "/run/rnull/control"
#define REPLY_TIMEOUT_MS 120000 /* power off waits for clients: up to timeout_ms + 10 s */

static void usage(FILE *out) {
  fprintf(out,
          "Usage: rnull-ctl [--control PATH] COMMAND [ARGS...]\n"
          "Create, change, power and remove rnull disks at run time.\n\n"
          "  create NAME [key=value...] [power=0]   a new disk (powered on unless power=0)\n"
          "  set NAME key=value...                  change keys (live ones while powered)\n"
          "  get NAME [key]                         print the keys (key=value lines)\n"
          "  power NAME on|off                      serve it, or stop serving it\n"
          "  remove NAME                            power off and forget it\n"
          "  list                                   every disk: state, size, clients\n"
          "  stats NAME [--json|--hist]             per hw queue statistics; --hist: latency\n"
          "                                         histogram per operation (biolatency's)\n"
          "  badblocks NAME +START-END|-START-END   mark or clear bad sectors (512-byte)\n"
          "  power-cut NAME [lose=all|some|prefix] [keep=PERCENT] [torn=0|1] [seed=N] [--json]\n"
          "                                         cut the power: clients dropped without\n"
          "                                         replies, what was not durable lost; prints\n"
          "                                         the seed and the crash report\n"
          "  cache NAME [--json]                    the volatile cache: dirty bytes, records\n"
          "  hold NAME [ops=read,write,flush,trim,zero,cache]\n"
          "                                         keep arriving requests (in flight, tags\n"
          "                                         taken, timeout_ms applies) until release\n"
          "  release NAME [errno=E]                 stop holding: serve the held requests, or\n"
          "                                         fail them with E; prints released=N\n"
          "  features                               every key a disk has\n\n"
          "--control PATH: the server's control socket (default $RNULL_CONTROL, else %s).\n",
          DEFAULT_CONTROL);
}

static int connect_to(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    fprintf(stderr, "rnull-ctl: %s: path too long\n", path);
    return -1;
  }
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    fprintf(stderr, "rnull-ctl: cannot connect to %s: %s\n", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

/* Print the reply up to its final line; 0 for "ok", 1 for an error. */
static int read_reply(int fd) {
  char buf[65536];
  size_t have = 0;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, REPLY_TIMEOUT_MS);
    if (pr == 0) {
      fprintf(stderr, "rnull-ctl: no reply within %d s\n", REPLY_TIMEOUT_MS / 1000);
      return 1;
    }
    ssize_t n = pr < 0 ? -1 : recv(fd, buf + have, sizeof buf - 1 - have, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      fprintf(stderr, "rnull-ctl: the server closed the connection without a reply\n");
      return 1;
    }
    have += (size_t)n;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
      *nl = 0;
      if (!strcmp(start, "ok"))
        return 0;
      if (!strncmp(start, "error: ", 7)) {
        fprintf(stderr, "rnull-ctl: %s\n", start + 7);
        return 1;
      }
      printf("%s\n", start);
      start = nl + 1;
    }
    have -= (size_t)(start - buf);
    memmove(buf, start, have);
    if (have == sizeof buf - 1) {
      fprintf(stderr, "rnull-ctl: reply line too long\n");
      return 1;
    }
  }
}

int main(int argc, char **argv) {
  const char *path = getenv("RNULL_CONTROL");
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--control") && i + 1 < argc) {
      path = argv[++i];
    } else if (!strncmp(argv[i], "--control=", 10)) {
      path = argv[i] + 10;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
      printf("rnull-ctl %s\n", RNULL_VERSION);
      return 0;
    } else {
      fprintf(stderr, "rnull-ctl: %s: unknown option (try --help)\n", argv[i]);
      return 2;
    }
  }
  if (i == argc) {
    usage(stderr);
    return 2;
  }
  if (!path || !*path)
    path = DEFAULT_CONTROL;
  char line[4096];
  size_t len = 0;
  for (int j = i; j < argc; j++) {
    if (strpbrk(argv[j], " \t\r\n") || !*argv[j]) {
      fprintf(stderr, "rnull-ctl: '%s': arguments cannot be empty or contain blanks\n", argv[j]);
      return 2;
    }
    int n = snprintf(line + len, sizeof line - len, "%s%s", j > i ? " " : "", argv[j]);
    if (n < 0 || (size_t)n >= sizeof line - len - 1) {
      fprintf(stderr, "rnull-ctl: command longer than %zu bytes\n", sizeof line - 2);
      return 2;
    }
    len += (size_t)n;
  }
  line[len++] = '\n';
  int fd = connect_to(path);
  if (fd < 0)
    return 1;
  for (size_t off = 0; off < len;) {
    ssize_t w = send(fd, line + off, len - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      break; /* refused (EPIPE): the server's reply says why */
    off += (size_t)w;
  }
  shutdown(fd, SHUT_WR);
  int r = read_reply(fd);
  close(fd);
  return r;
}
