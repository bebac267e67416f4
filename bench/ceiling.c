/* rnull-bench-ceiling: the least an NBD server can do, as the yardstick of
 * bench/run (issue 14). Fixed newstyle handshake (GO/INFO/EXPORT_NAME,
 * structured replies, nothing else), then per request: a read is answered
 * with one hole chunk (or zeros without structured replies), a write's
 * payload is read and dropped, everything else succeeds. One thread per
 * connection, a non-blocking socket, many requests per recv and all their
 * replies in one send; after work it polls recv for a window (default 50 µs,
 * as rnull-server's adaptive maximum) before sleeping in poll(2). No engine,
 * no tags, no statistics: what this client gets from it is the ceiling.
 *
 * usage: rnull-bench-ceiling --unix PATH [--size BYTES] [--poll US] */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <endian.h>

#define OPT_MAGIC 0x49484156454F5054ull /* IHAVEOPT */
#define REP_MAGIC 0x0003e889045565a9ull
#define REQ_MAGIC 0x25609513u
#define SIMPLE_MAGIC 0x67446698u
#define STRUCT_MAGIC 0x668e33efu
#define REQ_SIZE 28
#define IN_CAP (256u * 1024)
#define OUT_CAP (64u * 1024)
#define ZERO_CAP (1u << 20)

enum { O_EXPORT_NAME = 1, O_ABORT = 2, O_INFO = 6, O_GO = 7, O_STRUCTURED = 8 };
enum { R_ACK = 1, R_INFO = 3, R_ERR_UNSUP = (1u << 31) + 1 };
enum { C_READ = 0, C_WRITE = 1, C_DISC = 2 };
#define TX_FLAGS                                                                                   \
  (1 | 4 | 32 | 64 | 256) /* HAS_FLAGS SEND_FLUSH SEND_TRIM WRITE_ZEROES MULTI_CONN */

static uint64_t size = 4ull << 30;
static uint64_t poll_ns = 50000;
static const uint8_t zeros[ZERO_CAP];

struct conn {
  int fd;
  bool structured;
  uint8_t in[IN_CAP];
  size_t in_len;
  uint8_t out[OUT_CAP];
  size_t out_len;
  uint64_t drop;      /* write payload bytes still to discard */
  uint64_t wr_handle; /* that write's handle: answered once dropped */
};

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void put16(uint8_t *p, uint16_t v) { v = htobe16(v), memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htobe32(v), memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htobe64(v), memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return be16toh(v);
}
static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return be32toh(v);
}
static uint64_t get64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return be64toh(v);
}

/* Blocking helpers for the handshake and large simple replies. */
static bool send_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      struct pollfd pf = {fd, POLLOUT, 0};
      poll(&pf, 1, -1);
      continue;
    }
    if (n <= 0 && errno != EINTR)
      return false;
    if (n > 0)
      p += n, len -= (size_t)n;
  }
  return true;
}

static bool recv_all(int fd, void *buf, size_t len) {
  uint8_t *p = buf;
  while (len) {
    ssize_t n = recv(fd, p, len, 0);
    if (n < 0 && errno == EAGAIN) {
      struct pollfd pf = {fd, POLLIN, 0};
      poll(&pf, 1, -1);
      continue;
    }
    if (n <= 0 && !(n < 0 && errno == EINTR))
      return false;
    if (n > 0)
      p += n, len -= (size_t)n;
  }
  return true;
}

static bool opt_reply(int fd, uint32_t opt, uint32_t type, const void *data, uint32_t len) {
  uint8_t h[20];
  put64(h, REP_MAGIC), put32(h + 8, opt), put32(h + 12, type), put32(h + 16, len);
  return send_all(fd, h, sizeof(h)) && (!len || send_all(fd, data, len));
}

/* true: transmission starts */
static bool handshake(struct conn *c) {
  uint8_t g[18] = "NBDMAGIC", b[16];
  put64(g + 8, OPT_MAGIC), put16(g + 16, 1 | 2); /* FIXED_NEWSTYLE, NO_ZEROES */
  if (!send_all(c->fd, g, sizeof(g)) || !recv_all(c->fd, b, 4))
    return false;
  bool no_zeroes = get32(b) & 2;
  for (;;) {
    if (!recv_all(c->fd, b, 16) || get64(b) != OPT_MAGIC)
      return false;
    uint32_t opt = get32(b + 8), len = get32(b + 12);
    if (len > 65536 || !recv_all(c->fd, c->in, len))
      return false;
    uint8_t info[12];
    put16(info, 0), put64(info + 2, size), put16(info + 10, TX_FLAGS);
    switch (opt) {
    case O_EXPORT_NAME: {
      uint8_t r[10 + 124] = {0};
      put64(r, size), put16(r + 8, TX_FLAGS);
      return send_all(c->fd, r, no_zeroes ? 10 : sizeof(r));
    }
    case O_ABORT:
      opt_reply(c->fd, opt, R_ACK, NULL, 0);
      return false;
    case O_STRUCTURED:
      c->structured = true;
      if (!opt_reply(c->fd, opt, R_ACK, NULL, 0))
        return false;
      break;
    case O_INFO:
    case O_GO:
      if (!opt_reply(c->fd, opt, R_INFO, info, sizeof(info)) ||
          !opt_reply(c->fd, opt, R_ACK, NULL, 0))
        return false;
      if (opt == O_GO)
        return true;
      break;
    default: /* LIST, meta contexts, extended headers, TLS...: not here */
      if (!opt_reply(c->fd, opt, R_ERR_UNSUP, NULL, 0))
        return false;
    }
  }
}

static bool flush_out(struct conn *c) {
  bool ok = send_all(c->fd, c->out, c->out_len);
  c->out_len = 0;
  return ok;
}

/* Answer one request (payload, if any, already dropped). */
static bool reply(struct conn *c, uint16_t type, uint64_t handle, uint64_t off, uint32_t len) {
  if (c->out_len + 32 > OUT_CAP && !flush_out(c))
    return false;
  uint8_t *p = c->out + c->out_len;
  if (type == C_READ && c->structured) {
    put32(p, STRUCT_MAGIC), put16(p + 4, 1 /* DONE */), put16(p + 6, 2 /* OFFSET_HOLE */);
    put64(p + 8, handle), put32(p + 16, 12), put64(p + 20, off), put32(p + 28, len);
    c->out_len += 32;
    return true;
  }
  put32(p, SIMPLE_MAGIC), put32(p + 4, 0), put64(p + 8, handle);
  c->out_len += 16;
  if (type != C_READ)
    return true;
  if (!flush_out(c)) /* simple read: header, then len zero bytes */
    return false;
  for (uint32_t left = len; left;) {
    uint32_t n = left < ZERO_CAP ? left : ZERO_CAP;
    if (!send_all(c->fd, zeros, n))
      return false;
    left -= n;
  }
  return true;
}

/* Parse what is buffered; false ends the connection. */
static bool process(struct conn *c) {
  size_t pos = 0;
  while (c->in_len - pos >= REQ_SIZE) {
    const uint8_t *r = c->in + pos;
    if (get32(r) != REQ_MAGIC)
      return false;
    uint16_t type = get16(r + 6);
    uint64_t handle = get64(r + 8), off = get64(r + 16);
    uint32_t len = get32(r + 24);
    if (type == C_DISC)
      return false;
    pos += REQ_SIZE;
    if (type == C_WRITE) {
      size_t have = c->in_len - pos < len ? c->in_len - pos : len;
      pos += have;
      if ((c->drop = len - have)) {
        c->wr_handle = handle;
        break;
      }
    }
    if (!reply(c, type, handle, off, len))
      return false;
  }
  memmove(c->in, c->in + pos, c->in_len - pos);
  c->in_len -= pos;
  return true;
}

static void *serve(void *arg) {
  struct conn *c = arg;
  uint64_t idle_since = now_ns();
  if (!handshake(c))
    goto out;
  for (;;) {
    ssize_t n;
    if (c->drop) { /* discard a write payload, then answer the write */
      static __thread uint8_t sink[IN_CAP];
      n = recv(c->fd, sink, c->drop < IN_CAP ? c->drop : IN_CAP, MSG_DONTWAIT);
      if (n > 0 && !(c->drop -= (uint64_t)n) && !reply(c, C_WRITE, c->wr_handle, 0, 0))
        break;
    } else {
      n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, MSG_DONTWAIT);
      if (n > 0) {
        c->in_len += (size_t)n;
        if (!process(c))
          break;
      }
    }
    if (n > 0) {
      if (!c->drop && c->out_len && !flush_out(c))
        break;
      idle_since = now_ns();
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
      break;
    if (c->out_len && !flush_out(c))
      break;
    if (now_ns() - idle_since < poll_ns)
      continue; /* poll: the next request is probably on its way */
    struct pollfd pf = {c->fd, POLLIN, 0};
    poll(&pf, 1, -1);
    idle_since = now_ns();
  }
out:
  close(c->fd);
  free(c);
  return NULL;
}

int main(int argc, char **argv) {
  const char *path = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--unix"))
      path = argv[i + 1];
    else if (!strcmp(argv[i], "--size"))
      size = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--poll"))
      poll_ns = strtoull(argv[i + 1], NULL, 10) * 1000;
  }
  if (!path || argc % 2 == 0) {
    fprintf(stderr, "usage: rnull-bench-ceiling --unix PATH [--size BYTES] [--poll US]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unlink(path);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0) {
    perror("rnull-bench-ceiling: listen");
    return 1;
  }
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
      continue;
    struct conn *c = calloc(1, sizeof(*c));
    pthread_t t;
    if (!c) {
      close(fd);
      continue;
    }
    c->fd = fd;
    if (pthread_create(&t, NULL, serve, c) == 0)
      pthread_detach(t);
    else
      close(fd), free(c);
  }
}
