/* rnull-server test support (see srv.h). */
#include "srv.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nbd_proto.h"

static const char *const *wrapper;

void srv_set_wrapper(const char *const *w) { wrapper = w; }

int srv_startv(struct harness *h, const char *const *args) {
  const char *argv[SRV_MAX_ARGS + 16];
  /* RNULL_SERVER_WRAPPER="valgrind -q --error-exitcode=99" runs every
   * server of these tests under a tool (words split on spaces). */
  static char env_words[512];
  const char *env_wrapper[9];
  const char *env = getenv("RNULL_SERVER_WRAPPER");
  int n = 0;
  if (!wrapper && env && strlen(env) < sizeof(env_words)) {
    strcpy(env_words, env);
    for (char *save = NULL, *w = strtok_r(env_words, " ", &save); w && n < 8;
         w = strtok_r(NULL, " ", &save))
      env_wrapper[n++] = w;
  }
  env_wrapper[n] = NULL;
  if (frontend_argv(FRONTEND_SERVER, argv, SRV_MAX_ARGS + 16, h->sock, args,
                    wrapper ? wrapper : env_wrapper) < 0)
    return -1;
  return harness_start(h, (char *const *)argv);
}

int srv_start(struct harness *h, ...) {
  const char *args[SRV_MAX_ARGS + 1];
  int n = 0;
  va_list ap;
  va_start(ap, h);
  const char *a;
  while (n < SRV_MAX_ARGS && (a = va_arg(ap, const char *)))
    args[n++] = a;
  va_end(ap);
  args[n] = NULL;
  return srv_startv(h, args);
}

struct nbd_handle *srv_connect_loose(struct harness *h) {
  struct nbd_handle *nbd = nbd_create();
  if (!nbd || nbd_set_strict_mode(nbd, 0) == -1 || harness_connect_handle(h, nbd) < 0) {
    EXPECT_MSG(false, "connect: %s", nbd_get_error());
    nbd_close(nbd);
    return NULL;
  }
  return nbd;
}

int raw_connect(const char *sock_path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static bool wait_fd(int fd, short ev) {
  struct pollfd p = {.fd = fd, .events = ev};
  int r;
  do
    r = poll(&p, 1, RAW_TIMEOUT_MS);
  while (r < 0 && errno == EINTR);
  return r > 0;
}

int raw_send_with(long (*step)(void *ctx, const void *p, size_t n), void *ctx, const void *buf,
                  size_t len) {
  const uint8_t *p = buf;
  while (len) {
    long n = step(ctx, p, len);
    if (n == RAW_AGAIN)
      continue;
    if (n < 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

long raw_recv_with(long (*step)(void *ctx, void *p, size_t n), void *ctx, void *buf, size_t len) {
  uint8_t *p = buf;
  size_t got = 0;
  while (got < len) {
    long n = step(ctx, p + got, len - got);
    if (n == RAW_AGAIN)
      continue;
    if (n == RAW_TIMEOUT)
      return -1;
    if (n < 0)
      return got ? (long)got : -1;
    if (n == 0)
      break;
    got += (size_t)n;
  }
  return (long)got;
}

static long fd_send_step(void *ctx, const void *p, size_t n) {
  int fd = *(int *)ctx;
  if (!wait_fd(fd, POLLOUT))
    return RAW_TIMEOUT;
  ssize_t r = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (r < 0)
    return errno == EINTR || errno == EAGAIN ? RAW_AGAIN : RAW_ERROR;
  return (long)r;
}

static long fd_recv_step(void *ctx, void *p, size_t n) {
  int fd = *(int *)ctx;
  if (!wait_fd(fd, POLLIN))
    return RAW_TIMEOUT;
  ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
  if (r < 0)
    return errno == EINTR || errno == EAGAIN ? RAW_AGAIN : RAW_ERROR;
  return (long)r;
}

int raw_send(int fd, const void *buf, size_t len) {
  return raw_send_with(fd_send_step, &fd, buf, len);
}

long raw_recv(int fd, void *buf, size_t len) { return raw_recv_with(fd_recv_step, &fd, buf, len); }

bool raw_wait_eof(int fd) {
  char b[4096];
  long long end = harness_now_ms() + RAW_TIMEOUT_MS;
  while (harness_now_ms() < end) {
    if (!wait_fd(fd, POLLIN))
      return false;
    ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
    if (n == 0)
      return true;
    if (n < 0 && errno != EINTR && errno != EAGAIN)
      return true; /* reset: hung up too */
  }
  return false;
}

int raw_greet(int fd, uint32_t client_flags) {
  uint8_t g[18];
  if (raw_recv(fd, g, 18) != 18 || nbd_get64(g) != NBD_MAGIC || nbd_get64(g + 8) != NBD_IHAVEOPT)
    return -1;
  uint8_t cf[4];
  nbd_put32(cf, client_flags);
  return raw_send(fd, cf, 4);
}

void raw_put_opt(uint8_t *h, uint32_t opt, uint32_t len) {
  nbd_put64(h, NBD_IHAVEOPT);
  nbd_put32(h + 8, opt);
  nbd_put32(h + 12, len);
}

int raw_get_opt_reply(const uint8_t *h, uint32_t expect_opt, uint32_t *type, uint32_t *len) {
  if (nbd_get64(h) != NBD_REP_MAGIC || nbd_get32(h + 8) != expect_opt)
    return -1;
  *type = nbd_get32(h + 12);
  *len = nbd_get32(h + 16);
  return 0;
}

int raw_opt(int fd, uint32_t opt, const void *data, uint32_t len) {
  uint8_t h[16];
  raw_put_opt(h, opt, len);
  if (raw_send(fd, h, 16) < 0)
    return -1;
  return len ? raw_send(fd, data, len) : 0;
}

int raw_opt_reply(int fd, uint32_t expect_opt, uint32_t *type, uint32_t *len) {
  uint8_t h[20];
  if (raw_recv(fd, h, 20) != 20)
    return -1;
  return raw_get_opt_reply(h, expect_opt, type, len);
}

int raw_skip(int fd, size_t len) {
  uint8_t b[4096];
  while (len) {
    size_t n = len < sizeof(b) ? len : sizeof(b);
    if (raw_recv(fd, b, n) != (long)n)
      return -1;
    len -= n;
  }
  return 0;
}

/* Greet, then ask for reply_opt (0: none) and want it acknowledged. */
static int go_with(int fd, uint32_t reply_opt, bool meta) {
  uint32_t type, len;
  if (raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES) < 0)
    return -1;
  if (reply_opt) {
    if (raw_opt(fd, reply_opt, NULL, 0) < 0 || raw_opt_reply(fd, reply_opt, &type, &len) < 0 ||
        type != NBD_REP_ACK)
      return -1;
  }
  if (meta) {
    uint8_t q[4 + 4 + 4 + 15];
    nbd_put32(q, 0);
    nbd_put32(q + 4, 1);
    nbd_put32(q + 8, 15);
    memcpy(q + 12, "base:allocation", 15);
    if (raw_opt(fd, NBD_OPT_SET_META_CONTEXT, q, sizeof(q)) < 0)
      return -1;
    do {
      if (raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, &type, &len) < 0 || raw_skip(fd, len) < 0)
        return -1;
    } while (type == NBD_REP_META_CONTEXT);
    if (type != NBD_REP_ACK)
      return -1;
  }
  uint8_t go[6] = {0, 0, 0, 0, 0, 0}; /* name "", no info requests */
  if (raw_opt(fd, NBD_OPT_GO, go, sizeof(go)) < 0)
    return -1;
  int flags = -1;
  for (;;) {
    if (raw_opt_reply(fd, NBD_OPT_GO, &type, &len) < 0)
      return -1;
    if (type == NBD_REP_ACK)
      return flags;
    if (type != NBD_REP_INFO || len > 4096)
      return -1;
    uint8_t info[4096];
    if (raw_recv(fd, info, len) != (long)len)
      return -1;
    if (len == 12 && nbd_get16(info) == NBD_INFO_EXPORT)
      flags = nbd_get16(info + 10);
  }
}

int raw_go(int fd, bool structured, bool meta) {
  return go_with(fd, structured ? NBD_OPT_STRUCTURED_REPLY : 0, meta);
}

int raw_go_ext(int fd, bool meta) { return go_with(fd, NBD_OPT_EXTENDED_HEADERS, meta); }

void raw_put_request(uint8_t *r, uint16_t flags, uint16_t type, uint64_t handle, uint64_t offset,
                     uint32_t len) {
  nbd_put32(r + NBD_REQ_MAGIC, NBD_REQUEST_MAGIC);
  nbd_put16(r + NBD_REQ_FLAGS, flags);
  nbd_put16(r + NBD_REQ_TYPE, type);
  nbd_put64(r + NBD_REQ_COOKIE, handle);
  nbd_put64(r + NBD_REQ_OFFSET, offset);
  nbd_put32(r + NBD_REQ_LENGTH, len);
}

void raw_put_request_ext(uint8_t *r, uint16_t flags, uint16_t type, uint64_t handle,
                         uint64_t offset, uint64_t len) {
  nbd_put32(r + NBD_REQ_MAGIC, NBD_EXTENDED_REQUEST_MAGIC);
  nbd_put16(r + NBD_REQ_FLAGS, flags);
  nbd_put16(r + NBD_REQ_TYPE, type);
  nbd_put64(r + NBD_REQ_COOKIE, handle);
  nbd_put64(r + NBD_REQ_OFFSET, offset);
  nbd_put64(r + NBD_REQ_LENGTH, len);
}

int raw_request_ext(int fd, uint16_t flags, uint16_t type, uint64_t handle, uint64_t offset,
                    uint64_t len) {
  uint8_t r[NBD_EXTENDED_REQUEST_SIZE];
  raw_put_request_ext(r, flags, type, handle, offset, len);
  return raw_send(fd, r, sizeof r);
}

int raw_ext_reply(int fd, struct raw_ext_chunk *c) {
  uint8_t r[NBD_EXTENDED_CHUNK_HDR_SIZE];
  if (raw_recv(fd, r, sizeof r) != (long)sizeof r ||
      nbd_get32(r + NBD_CHUNK_MAGIC) != NBD_EXTENDED_REPLY_MAGIC)
    return -1;
  c->flags = nbd_get16(r + NBD_CHUNK_FLAGS);
  c->type = nbd_get16(r + NBD_CHUNK_TYPE);
  c->handle = nbd_get64(r + NBD_CHUNK_COOKIE);
  c->offset = nbd_get64(r + NBD_XCHUNK_OFFSET);
  c->len = nbd_get64(r + NBD_XCHUNK_LENGTH);
  c->payload_len = 0;
  if (c->len > sizeof c->payload)
    return 0; /* the caller reads (or skips) the payload itself */
  if (raw_recv(fd, c->payload, (size_t)c->len) != (long)c->len)
    return -1;
  c->payload_len = (size_t)c->len;
  return 0;
}

int raw_chunk_reply(int fd, struct raw_ext_chunk *c) {
  uint8_t r[NBD_CHUNK_HDR_SIZE];
  if (raw_recv(fd, r, sizeof r) != (long)sizeof r ||
      nbd_get32(r + NBD_CHUNK_MAGIC) != NBD_STRUCTURED_REPLY_MAGIC)
    return -1;
  c->flags = nbd_get16(r + NBD_CHUNK_FLAGS);
  c->type = nbd_get16(r + NBD_CHUNK_TYPE);
  c->handle = nbd_get64(r + NBD_CHUNK_COOKIE);
  c->offset = 0;
  c->len = nbd_get32(r + NBD_CHUNK_LENGTH);
  c->payload_len = 0;
  if (c->len > sizeof c->payload)
    return 0; /* the caller reads (or skips) the payload itself */
  if (raw_recv(fd, c->payload, (size_t)c->len) != (long)c->len)
    return -1;
  c->payload_len = (size_t)c->len;
  return 0;
}

int raw_request(int fd, uint16_t flags, uint16_t type, uint64_t handle, uint64_t offset,
                uint32_t len) {
  uint8_t r[NBD_REQUEST_SIZE];
  raw_put_request(r, flags, type, handle, offset, len);
  return raw_send(fd, r, sizeof r);
}

int raw_simple_reply(int fd, uint32_t *err, uint64_t *handle) {
  uint8_t r[16];
  if (raw_recv(fd, r, 16) != 16 || nbd_get32(r) != NBD_SIMPLE_REPLY_MAGIC)
    return -1;
  *err = nbd_get32(r + 4);
  *handle = nbd_get64(r + 8);
  return 0;
}
