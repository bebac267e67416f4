/* Option haggling on raw sockets: every option the server knows, and the bad
 * inputs: wrong magic, unknown client flags, unknown options (ERR_UNSUP and
 * the session goes on), oversized options (ERR_TOO_BIG and hang-up), wrong
 * export names, malformed payloads, ABORT, a client vanishing mid-option.
 * After all of it the server still serves a libnbd client. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "srv.h"

static struct harness h;

static int fresh(uint32_t client_flags) {
  int fd = raw_connect(h.sock);
  if (fd < 0 || raw_greet(fd, client_flags) < 0) {
    EXPECT_MSG(false, "connect and greet");
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

#define CF (NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)

static void test_greeting(void) {
  int fd = raw_connect(h.sock);
  uint8_t g[18];
  if (!EXPECT(fd >= 0))
    return;
  long got = raw_recv(fd, g, 18);
  EXPECT_EQ_INT(got, 18);
  EXPECT_EQ_U64(nbd_get64(g), NBD_MAGIC);
  EXPECT_EQ_U64(nbd_get64(g + 8), NBD_IHAVEOPT);
  EXPECT_EQ_INT(nbd_get16(g + 16), NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
  close(fd);
}

static void test_unknown_client_flags(void) {
  int fd = fresh(CF | 0x100);
  if (fd < 0)
    return;
  EXPECT_MSG(raw_wait_eof(fd), "unknown client flag: server must hang up");
  close(fd);
}

static void test_bad_option_magic(void) {
  int fd = fresh(CF);
  if (fd < 0)
    return;
  uint8_t bad[16] = "NOTMAGIC";
  raw_send(fd, bad, 16);
  EXPECT_MSG(raw_wait_eof(fd), "bad option magic: server must hang up");
  close(fd);
}

static void test_unknown_option_then_list(void) {
  int fd = fresh(CF);
  uint32_t type, len;
  if (fd < 0)
    return;
  /* STARTTLS (no TLS here) and an invented option: unsupported. */
  EXPECT(raw_opt(fd, NBD_OPT_STARTTLS, NULL, 0) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_STARTTLS, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_UNSUP);
    raw_skip(fd, len);
  }
  EXPECT(raw_opt(fd, 0x1234, "abc", 3) == 0);
  if (EXPECT(raw_opt_reply(fd, 0x1234, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_UNSUP);
    raw_skip(fd, len);
  }
  /* The session goes on: LIST names the default export, "", once (the disk
   * behind it is not listed again under its name), with its description. */
  EXPECT(raw_opt(fd, NBD_OPT_LIST, NULL, 0) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_LIST, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_SERVER);
    uint8_t d[128] = {0};
    EXPECT(len > 4 && len < sizeof d);
    if (len < sizeof d && raw_recv(fd, d, len) == (ssize_t)len) {
      EXPECT_EQ_U64(nbd_get32(d), 0);
      EXPECT(strstr((char *)d + 4, "rnull disk rnullb0") != NULL);
    }
  }
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_LIST, &type, &len) == 0))
    EXPECT_EQ_U64(type, NBD_REP_ACK);
  /* LIST with data is invalid. */
  EXPECT(raw_opt(fd, NBD_OPT_LIST, "x", 1) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_LIST, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_INVALID);
    raw_skip(fd, len);
  }
  /* ABORT: acknowledged, then the server hangs up. */
  EXPECT(raw_opt(fd, NBD_OPT_ABORT, NULL, 0) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_ABORT, &type, &len) == 0))
    EXPECT_EQ_U64(type, NBD_REP_ACK);
  EXPECT(raw_wait_eof(fd));
  close(fd);
}

static void test_oversized_option(void) {
  int fd = fresh(CF);
  uint32_t type, len;
  if (fd < 0)
    return;
  uint8_t hdr[16];
  nbd_put64(hdr, NBD_IHAVEOPT);
  nbd_put32(hdr + 8, NBD_OPT_GO);
  nbd_put32(hdr + 12, 100u << 20); /* 100 MiB of "option data" */
  raw_send(fd, hdr, 16);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_GO, &type, &len) == 0))
    EXPECT_EQ_U64(type, NBD_REP_ERR_TOO_BIG);
  EXPECT(raw_wait_eof(fd));
  close(fd);
}

/* GO/INFO payload: u32 namelen, name, u16 n, n x u16. */
static size_t info_req(uint8_t *b, const char *name, const uint16_t *req, unsigned n) {
  size_t l = strlen(name);
  nbd_put32(b, (uint32_t)l);
  memcpy(b + 4, name, l);
  nbd_put16(b + 4 + l, (uint16_t)n);
  for (unsigned i = 0; i < n; i++)
    nbd_put16(b + 6 + l + 2 * i, req[i]);
  return 6 + l + 2 * n;
}

static void test_info(void) {
  int fd = fresh(CF);
  uint32_t type, len;
  uint8_t b[256];
  if (fd < 0)
    return;
  uint16_t req[] = {NBD_INFO_NAME, NBD_INFO_DESCRIPTION, NBD_INFO_BLOCK_SIZE, 999};
  size_t n = info_req(b, "", req, 4);
  EXPECT(raw_opt(fd, NBD_OPT_INFO, b, (uint32_t)n) == 0);
  bool got_export = false, got_bs = false, got_name = false, got_desc = false;
  for (int i = 0; i < 10; i++) {
    if (!EXPECT(raw_opt_reply(fd, NBD_OPT_INFO, &type, &len) == 0))
      break;
    if (type == NBD_REP_ACK)
      break;
    if (!EXPECT_EQ_U64(type, NBD_REP_INFO) || !EXPECT(len <= sizeof(b)))
      break;
    raw_recv(fd, b, len);
    switch (nbd_get16(b)) {
    case NBD_INFO_EXPORT:
      got_export = EXPECT_EQ_U64(len, 12);
      EXPECT_EQ_U64(nbd_get64(b + 2), 64ull << 20);
      EXPECT(nbd_get16(b + 10) & NBD_FLAG_HAS_FLAGS);
      break;
    case NBD_INFO_BLOCK_SIZE:
      got_bs = EXPECT_EQ_U64(len, 14);
      EXPECT_EQ_U64(nbd_get32(b + 2), 512);       /* blocksize=512 */
      EXPECT_EQ_U64(nbd_get32(b + 6), 4096);      /* physical_blocksize=4096 */
      EXPECT_EQ_U64(nbd_get32(b + 10), 1u << 20); /* max_transfer=1M */
      break;
    case NBD_INFO_NAME:
      got_name = EXPECT_EQ_U64(len, 2);
      break;
    case NBD_INFO_DESCRIPTION:
      got_desc = len > 2 && memmem(b + 2, len - 2, "rnull", 5) != NULL;
      break;
    }
  }
  EXPECT(got_export && got_bs && got_name && got_desc);
  /* Unknown export name: ERR_UNKNOWN, and the session goes on. */
  n = info_req(b, "nope", NULL, 0);
  EXPECT(raw_opt(fd, NBD_OPT_GO, b, (uint32_t)n) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_GO, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_UNKNOWN);
    raw_skip(fd, len);
  }
  /* Malformed: name length past the option's end. */
  nbd_put32(b, 1000);
  EXPECT(raw_opt(fd, NBD_OPT_INFO, b, 6) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_INFO, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_INVALID);
    raw_skip(fd, len);
  }
  /* Too short to hold the fields. */
  EXPECT(raw_opt(fd, NBD_OPT_GO, b, 3) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_GO, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_INVALID);
    raw_skip(fd, len);
  }
  close(fd);
}

static void test_meta_context(void) {
  int fd = fresh(CF);
  uint32_t type, len;
  uint8_t b[128];
  if (fd < 0)
    return;
  /* SET_META_CONTEXT before STRUCTURED_REPLY: invalid. */
  nbd_put32(b, 0);
  nbd_put32(b + 4, 1);
  nbd_put32(b + 8, 15);
  memcpy(b + 12, "base:allocation", 15);
  EXPECT(raw_opt(fd, NBD_OPT_SET_META_CONTEXT, b, 27) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_INVALID);
    raw_skip(fd, len);
  }
  /* STRUCTURED_REPLY with data: invalid; without: ACK. */
  EXPECT(raw_opt(fd, NBD_OPT_STRUCTURED_REPLY, "x", 1) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_STRUCTURED_REPLY, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_INVALID);
    raw_skip(fd, len);
  }
  EXPECT(raw_opt(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_STRUCTURED_REPLY, &type, &len) == 0))
    EXPECT_EQ_U64(type, NBD_REP_ACK);
  /* LIST_META_CONTEXT "base:" lists base:allocation. */
  uint8_t l[8];
  nbd_put32(l, 0);
  nbd_put32(l + 4, 0);
  EXPECT(raw_opt(fd, NBD_OPT_LIST_META_CONTEXT, l, 8) == 0); /* no query: all */
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_LIST_META_CONTEXT, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_META_CONTEXT);
    uint8_t d[64];
    if (EXPECT(len == 19) && raw_recv(fd, d, len) == 19)
      EXPECT(memcmp(d + 4, "base:allocation", 15) == 0);
  }
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_LIST_META_CONTEXT, &type, &len) == 0))
    EXPECT_EQ_U64(type, NBD_REP_ACK);
  uint8_t lq[17];
  nbd_put32(lq, 0);
  nbd_put32(lq + 4, 1);
  nbd_put32(lq + 8, 5);
  memcpy(lq + 12, "base:", 5);
  EXPECT(raw_opt(fd, NBD_OPT_LIST_META_CONTEXT, lq, 17) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_LIST_META_CONTEXT, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_META_CONTEXT);
    raw_skip(fd, len);
  }
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_LIST_META_CONTEXT, &type, &len) == 0))
    EXPECT_EQ_U64(type, NBD_REP_ACK);
  /* Unknown namespace: no context, just ACK. */
  memcpy(lq + 12, "qemu:", 5);
  EXPECT(raw_opt(fd, NBD_OPT_SET_META_CONTEXT, lq, 17) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, &type, &len) == 0))
    EXPECT_EQ_U64(type, NBD_REP_ACK);
  /* A query length running past the option: invalid. */
  nbd_put32(lq + 8, 500);
  EXPECT(raw_opt(fd, NBD_OPT_SET_META_CONTEXT, lq, 17) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_INVALID);
    raw_skip(fd, len);
  }
  /* SET base:allocation: one context with a non-zero id, then ACK. */
  EXPECT(raw_opt(fd, NBD_OPT_SET_META_CONTEXT, b, 27) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_META_CONTEXT);
    uint8_t d[64];
    if (EXPECT(len == 19) && raw_recv(fd, d, len) == 19)
      EXPECT(nbd_get32(d) != 0);
  }
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, &type, &len) == 0))
    EXPECT_EQ_U64(type, NBD_REP_ACK);
  /* Wrong export name: unknown. */
  uint8_t wn[8 + 3];
  nbd_put32(wn, 3);
  memcpy(wn + 4, "foo", 3);
  nbd_put32(wn + 7, 0);
  EXPECT(raw_opt(fd, NBD_OPT_SET_META_CONTEXT, wn, 11) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, &type, &len) == 0)) {
    EXPECT_EQ_U64(type, NBD_REP_ERR_UNKNOWN);
    raw_skip(fd, len);
  }
  close(fd);
}

static void test_export_name(void) {
  /* Wrong name: EXPORT_NAME cannot fail politely, so the server hangs up. */
  int fd = fresh(CF);
  if (fd >= 0) {
    EXPECT(raw_opt(fd, NBD_OPT_EXPORT_NAME, "nope", 4) == 0);
    EXPECT(raw_wait_eof(fd));
    close(fd);
  }
  /* Right name with NO_ZEROES: size + flags, 10 bytes, then transmission. */
  fd = fresh(CF);
  if (fd >= 0) {
    uint8_t b[134];
    EXPECT(raw_opt(fd, NBD_OPT_EXPORT_NAME, NULL, 0) == 0);
    long got = raw_recv(fd, b, 10);
    if (EXPECT_EQ_INT(got, 10)) {
      EXPECT_EQ_U64(nbd_get64(b), 64ull << 20);
      EXPECT(nbd_get16(b + 8) & NBD_FLAG_HAS_FLAGS);
      EXPECT(!(nbd_get16(b + 8) & NBD_FLAG_SEND_DF)); /* no structured replies */
    }
    uint32_t err;
    uint64_t handle;
    EXPECT(raw_request(fd, 0, NBD_CMD_FLUSH, 77, 0, 0) == 0);
    if (EXPECT(raw_simple_reply(fd, &err, &handle) == 0)) {
      EXPECT_EQ_U64(err, 0);
      EXPECT_EQ_U64(handle, 77);
    }
    close(fd);
  }
  /* Without NO_ZEROES: 124 zero bytes follow. */
  fd = fresh(NBD_FLAG_C_FIXED_NEWSTYLE);
  if (fd >= 0) {
    uint8_t b[134];
    EXPECT(raw_opt(fd, NBD_OPT_EXPORT_NAME, NULL, 0) == 0);
    long got = raw_recv(fd, b, 134);
    if (EXPECT_EQ_INT(got, 134)) {
      bool zero = true;
      for (int i = 10; i < 134; i++)
        zero &= b[i] == 0;
      EXPECT(zero);
    }
    close(fd);
  }
}

static void test_disconnect_mid_handshake(void) {
  /* Half a greeting read, half an option sent, then gone: ten times. */
  for (int i = 0; i < 10; i++) {
    int fd = raw_connect(h.sock);
    if (!EXPECT(fd >= 0))
      return;
    if (i % 2) {
      raw_greet(fd, CF);
      uint8_t part[20];
      nbd_put64(part, NBD_IHAVEOPT);
      nbd_put32(part + 8, NBD_OPT_GO);
      nbd_put32(part + 12, 100);
      raw_send(fd, part, 20);
    }
    close(fd);
  }
}

/* A client that sends option after option and never reads the replies: the
 * server stops reading it once its reply buffer is full (the client's sends
 * then block), holds no more than that, and serves others meanwhile. */
static void test_options_never_read(void) {
  int fd = fresh(CF);
  if (fd < 0)
    return;
  static uint8_t opts[4096 * 16];
  for (int i = 0; i < 4096; i++) {
    nbd_put64(opts + 16 * i, NBD_IHAVEOPT);
    nbd_put32(opts + 16 * i + 8, NBD_OPT_LIST);
    nbd_put32(opts + 16 * i + 12, 0);
  }
  long sent = 0;
  for (int round = 0; round < 200; round++) { /* up to 13 MB of options */
    ssize_t n = send(fd, opts, sizeof(opts), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0)
      break;
    sent += n;
  }
  EXPECT_MSG(sent < 200L * (long)sizeof(opts), "the server stopped reading (%ld bytes sent)", sent);
  struct nbd_handle *nbd = harness_connect(&h);
  char buf[4096];
  if (EXPECT(nbd != NULL))
    EXPECT_NBD_OK(nbd_pread(nbd, buf, sizeof(buf), 0, 0));
  nbd_close(nbd);
  close(fd);
}

/* Everything in 1-byte pieces: client flags, options, requests and a write
 * payload arrive split anywhere; the server must reassemble them. */
static int send_slowly(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  for (size_t i = 0; i < len; i++) {
    if (raw_send(fd, p + i, 1) < 0)
      return -1;
    usleep(50);
  }
  return 0;
}

static void test_byte_by_byte(void) {
  int fd = raw_connect(h.sock);
  uint8_t g[18];
  if (!EXPECT(fd >= 0) || !EXPECT(raw_recv(fd, g, 18) == 18)) {
    if (fd >= 0)
      close(fd);
    return;
  }
  uint8_t msg[64 + 4096];
  nbd_put32(msg, CF);
  nbd_put64(msg + 4, NBD_IHAVEOPT);
  nbd_put32(msg + 12, NBD_OPT_STRUCTURED_REPLY);
  nbd_put32(msg + 16, 0);
  EXPECT(send_slowly(fd, msg, 20) == 0);
  uint32_t type, len;
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_STRUCTURED_REPLY, &type, &len) == 0))
    EXPECT_EQ_U64(type, NBD_REP_ACK);
  nbd_put64(msg, NBD_IHAVEOPT);
  nbd_put32(msg + 8, NBD_OPT_GO);
  nbd_put32(msg + 12, 6);
  memset(msg + 16, 0, 6);
  EXPECT(send_slowly(fd, msg, 22) == 0);
  for (int i = 0; i < 8; i++) {
    if (!EXPECT(raw_opt_reply(fd, NBD_OPT_GO, &type, &len) == 0))
      break;
    raw_skip(fd, len);
    if (type == NBD_REP_ACK)
      break;
  }
  /* A 512-byte write (the disk's logical block) then a read, split. */
  uint8_t *r = msg;
  raw_put_request(r, 0, NBD_CMD_WRITE, 5, 0, 512);
  memset(r + 28, 0x11, 512);
  EXPECT(send_slowly(fd, r, 28 + 512) == 0);
  uint32_t err;
  uint64_t handle;
  if (EXPECT(raw_simple_reply(fd, &err, &handle) == 0)) {
    EXPECT_EQ_U64(handle, 5);
    EXPECT_EQ_U64(err, 0);
  }
  nbd_put16(r + 6, NBD_CMD_FLUSH);
  nbd_put64(r + 8, 6);
  nbd_put32(r + 24, 0);
  EXPECT(send_slowly(fd, r, 28) == 0);
  if (EXPECT(raw_simple_reply(fd, &err, &handle) == 0)) {
    EXPECT_EQ_U64(handle, 6);
    EXPECT_EQ_U64(err, 0);
  }
  close(fd);
}

static void test_still_serving(void) {
  struct nbd_handle *nbd = harness_connect(&h);
  char buf[4096];
  if (!EXPECT(nbd != NULL))
    return;
  EXPECT_NBD_OK(nbd_pread(nbd, buf, sizeof(buf), 0, 0));
  nbd_close(nbd);
}

int main(void) {
  if (harness_init(&h) < 0 || srv_start(&h, "size=64M", "blocksize=512", "physical_blocksize=4096",
                                        "max_transfer=1M", (const char *)NULL) < 0)
    return 1;
  test_greeting();
  test_unknown_client_flags();
  test_bad_option_magic();
  test_unknown_option_then_list();
  test_oversized_option();
  test_info();
  test_meta_context();
  test_export_name();
  test_disconnect_mid_handshake();
  test_options_never_read();
  test_byte_by_byte();
  test_still_serving();
  EXPECT(!harness_exited(&h));
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
  return expect_result("server_handshake");
}
