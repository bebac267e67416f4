/* NBD_OPT_EXTENDED_HEADERS (proto.md's extension-ext-header) by raw sockets:
 * Debian 12's libnbd cannot ask for it (trixie's is driven in tests/newest).
 * Negotiation and its order rules, 32-byte requests and replies, the
 * payload-length rules, 64-bit effect lengths (one trim, one write zeroes,
 * one cache and one block status over a whole 1 PiB disk), and the hostile
 * forms: lengths past 2^63, payload mismatches, a header of the form not
 * negotiated. */
#include <string.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "srv.h"

#define PIB (1ull << 50)
#include "geometry.h"

static uint8_t buf[BLOCK];

/* An option with data, and the type of its one reply (data skipped). */
static uint32_t opt_reply_type(int fd, uint32_t opt, const void *data, uint32_t len) {
  uint32_t type = 0, rlen = 0;
  if (raw_opt(fd, opt, data, len) < 0 || raw_opt_reply(fd, opt, &type, &rlen) < 0 ||
      raw_skip(fd, rlen) < 0)
    return 0;
  return type;
}

/* NBD_OPT_GO on the default export: the transmission flags, or -1. */
static int go_flags(int fd) {
  uint8_t go[6] = {0, 0, 0, 0, 0, 0}; /* name "", no info requests */
  uint32_t type, len;
  int flags = -1;
  if (raw_opt(fd, NBD_OPT_GO, go, sizeof go) < 0)
    return -1;
  for (;;) {
    uint8_t info[64];
    if (raw_opt_reply(fd, NBD_OPT_GO, &type, &len) < 0)
      return -1;
    if (type == NBD_REP_ACK)
      return flags;
    if (type != NBD_REP_INFO || len > sizeof info || raw_recv(fd, info, len) != (long)len)
      return -1;
    if (len == 12 && nbd_get16(info) == NBD_INFO_EXPORT)
      flags = nbd_get16(info + 10);
  }
}

/* A final chunk for handle answering a request at offset, of the given type. */
static bool expect_chunk(int fd, struct raw_ext_chunk *c, uint64_t handle, uint64_t offset,
                         uint16_t type) {
  if (!EXPECT_MSG(raw_ext_reply(fd, c) == 0, "extended reply for handle %llu",
                  (unsigned long long)handle))
    return false;
  EXPECT_EQ_U64(c->handle, handle);
  EXPECT_EQ_U64(c->offset, offset); /* extended headers echo the request's offset */
  EXPECT_EQ_INT(c->flags, NBD_REPLY_FLAG_DONE);
  return EXPECT_EQ_INT(c->type, type);
}

static void expect_none(int fd, uint64_t handle, uint64_t offset) {
  struct raw_ext_chunk c;
  if (expect_chunk(fd, &c, handle, offset, NBD_REPLY_TYPE_NONE))
    EXPECT_EQ_U64(c.len, 0);
}

static void expect_error(int fd, uint64_t handle, uint64_t offset, uint32_t err) {
  struct raw_ext_chunk c;
  if (expect_chunk(fd, &c, handle, offset, NBD_REPLY_TYPE_ERROR) &&
      EXPECT(c.payload_len >= NBD_ERROR_HDR_SIZE)) {
    EXPECT_EQ_U64(nbd_get32(c.payload), err);
    EXPECT_EQ_U64(NBD_ERROR_HDR_SIZE + nbd_get16(c.payload + 4), c.len);
  }
}

/* One BLOCK_STATUS_EXT descriptor i of chunk c. */
static uint64_t desc_len(const struct raw_ext_chunk *c, unsigned i) {
  return nbd_get64(c->payload + NBD_BS_EXT_HDR_SIZE + NBD_BS_EXT_DESC_SIZE * i);
}
static uint64_t desc_flags(const struct raw_ext_chunk *c, unsigned i) {
  return nbd_get64(c->payload + NBD_BS_EXT_HDR_SIZE + NBD_BS_EXT_DESC_SIZE * i + 8);
}

/* BLOCK_STATUS_EXT for base:allocation with n descriptors. */
static bool expect_status(int fd, struct raw_ext_chunk *c, uint64_t handle, uint64_t offset,
                          unsigned n) {
  if (!expect_chunk(fd, c, handle, offset, NBD_REPLY_TYPE_BLOCK_STATUS_EXT) ||
      !EXPECT_EQ_U64(c->len, NBD_BS_EXT_HDR_SIZE + NBD_BS_EXT_DESC_SIZE * n))
    return false;
  EXPECT_EQ_U64(nbd_get32(c->payload), 1); /* the id SET_META_CONTEXT gave */
  return EXPECT_EQ_U64(nbd_get32(c->payload + 4), n);
}

static void test_negotiation(struct harness *h) {
  int fd = raw_connect(h->sock);
  if (!EXPECT(fd >= 0 && raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES) == 0))
    goto out;
  EXPECT_EQ_U64(opt_reply_type(fd, NBD_OPT_EXTENDED_HEADERS, "x", 1), NBD_REP_ERR_INVALID);
  EXPECT_EQ_U64(opt_reply_type(fd, NBD_OPT_EXTENDED_HEADERS, NULL, 0), NBD_REP_ACK);
  EXPECT_EQ_U64(opt_reply_type(fd, NBD_OPT_EXTENDED_HEADERS, NULL, 0), NBD_REP_ACK);
  /* Extended headers take precedence over structured replies. */
  EXPECT_EQ_U64(opt_reply_type(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0), NBD_REP_ERR_EXT_HEADER_REQD);
  /* ... and imply them: meta contexts may be set. */
  uint8_t q[4 + 4 + 4 + 15];
  nbd_put32(q, 0);
  nbd_put32(q + 4, 1);
  nbd_put32(q + 8, 15);
  memcpy(q + 12, "base:allocation", 15);
  EXPECT_EQ_U64(opt_reply_type(fd, NBD_OPT_SET_META_CONTEXT, q, sizeof q), NBD_REP_META_CONTEXT);
  uint32_t type, len;
  EXPECT(raw_opt_reply(fd, NBD_OPT_SET_META_CONTEXT, &type, &len) == 0 && type == NBD_REP_ACK);
  /* A client that negotiated them MUST NOT use EXPORT_NAME: hang up. */
  raw_opt(fd, NBD_OPT_EXPORT_NAME, NULL, 0);
  EXPECT_MSG(raw_wait_eof(fd), "EXPORT_NAME after extended headers: hang up");
  close(fd);

  /* Structured replies first, then extended headers: both acknowledged,
   * extended headers in transmission, DF offered. */
  fd = raw_connect(h->sock);
  if (!EXPECT(fd >= 0 && raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES) == 0))
    goto out;
  EXPECT_EQ_U64(opt_reply_type(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0), NBD_REP_ACK);
  EXPECT_EQ_U64(opt_reply_type(fd, NBD_OPT_EXTENDED_HEADERS, NULL, 0), NBD_REP_ACK);
  int flags = go_flags(fd);
  if (EXPECT(flags >= 0)) {
    EXPECT(flags & NBD_FLAG_SEND_DF);
    raw_request_ext(fd, 0, NBD_CMD_FLUSH, 7, 0, 0);
    expect_none(fd, 7, 0);
  }
out:
  if (fd >= 0)
    close(fd);
}

/* At the connection limit every option is refused, this one too. */
static void test_refused_at_limit(void) {
  struct harness h;
  if (harness_init(&h) < 0 ||
      srv_start(&h, "--max-connections", "1", "size=1P", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start --max-connections 1");
    harness_cleanup(&h);
    return;
  }
  int held = raw_connect(h.sock);
  int fd = -1;
  if (EXPECT(held >= 0 && raw_go_ext(held, false) >= 0)) {
    fd = raw_connect(h.sock);
    if (EXPECT(fd >= 0 && raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES) == 0))
      EXPECT_EQ_U64(opt_reply_type(fd, NBD_OPT_EXTENDED_HEADERS, NULL, 0), NBD_REP_ERR_POLICY);
  }
  if (fd >= 0)
    close(fd);
  if (held >= 0)
    close(held);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

/* 64-bit effect lengths on a 1 PiB null disk. */
static void test_whole_disk(struct harness *h) {
  int fd = raw_connect(h->sock);
  if (!EXPECT(fd >= 0 && raw_go_ext(fd, true) >= 0))
    goto out;
  struct raw_ext_chunk c;
  raw_request_ext(fd, 0, NBD_CMD_READ, 1, 2 * BLOCK, BLOCK);
  if (expect_chunk(fd, &c, 1, 2 * BLOCK, NBD_REPLY_TYPE_OFFSET_HOLE) &&
      EXPECT_EQ_U64(c.len, NBD_HOLE_SIZE)) {
    EXPECT_EQ_U64(nbd_get64(c.payload), 2 * BLOCK);
    EXPECT_EQ_U64(nbd_get32(c.payload + 8), BLOCK);
  }
  raw_request_ext(fd, NBD_CMD_FLAG_PAYLOAD_LEN, NBD_CMD_WRITE, 2, PIB - BLOCK, BLOCK);
  raw_send(fd, buf, BLOCK);
  expect_none(fd, 2, PIB - BLOCK);
  raw_request_ext(fd, 0, NBD_CMD_TRIM, 3, 0, PIB);
  expect_none(fd, 3, 0);
  raw_request_ext(fd, 0, NBD_CMD_WRITE_ZEROES, 4, 0, PIB);
  expect_none(fd, 4, 0);
  raw_request_ext(fd, NBD_CMD_FLAG_NO_HOLE, NBD_CMD_WRITE_ZEROES, 5, BLOCK, PIB - BLOCK);
  expect_none(fd, 5, BLOCK);
  raw_request_ext(fd, 0, NBD_CMD_CACHE, 6, 0, PIB);
  expect_none(fd, 6, 0);
  /* One block status: one descriptor of 2^50 bytes, a hole reading as zeros. */
  raw_request_ext(fd, 0, NBD_CMD_BLOCK_STATUS, 7, 0, PIB);
  if (expect_status(fd, &c, 7, 0, 1)) {
    EXPECT_EQ_U64(desc_len(&c, 0), PIB);
    EXPECT_EQ_U64(desc_flags(&c, 0), NBD_STATE_HOLE | NBD_STATE_ZERO);
  }
  raw_request_ext(fd, NBD_CMD_FLAG_REQ_ONE, NBD_CMD_BLOCK_STATUS, 8, BLOCK, PIB - BLOCK);
  if (expect_status(fd, &c, 8, BLOCK, 1))
    EXPECT_EQ_U64(desc_len(&c, 0), PIB - BLOCK);
  /* Lengths and offsets past the disk, past 2^63, wrapping: EINVAL (ENOSPC
   * for write zeroes), and the connection goes on. */
  raw_request_ext(fd, 0, NBD_CMD_TRIM, 10, 0, (1ull << 63) + BLOCK);
  expect_error(fd, 10, 0, NBD_EINVAL);
  raw_request_ext(fd, 0, NBD_CMD_TRIM, 11, 1ull << 63, BLOCK);
  expect_error(fd, 11, 1ull << 63, NBD_EINVAL);
  raw_request_ext(fd, 0, NBD_CMD_BLOCK_STATUS, 12, UINT64_MAX - BLOCK + 1, 2 * BLOCK);
  expect_error(fd, 12, UINT64_MAX - BLOCK + 1, NBD_EINVAL);
  raw_request_ext(fd, 0, NBD_CMD_WRITE_ZEROES, 13, BLOCK, PIB);
  expect_error(fd, 13, BLOCK, NBD_ENOSPC);
  raw_request_ext(fd, 0, NBD_CMD_CACHE, 14, 0, UINT64_MAX - BLOCK + 1);
  expect_error(fd, 14, 0, NBD_EINVAL);
  /* Reads stay bounded by the maximum block size (32 MiB), even in 64 bits. */
  raw_request_ext(fd, 0, NBD_CMD_READ, 15, 0, 1ull << 32);
  expect_error(fd, 15, 0, NBD_EINVAL);
  raw_request_ext(fd, 0, NBD_CMD_READ, 16, 0, 1ull << 63);
  expect_error(fd, 16, 0, NBD_EINVAL);
  raw_request_ext(fd, 0, NBD_CMD_FLUSH, 17, 0, 0);
  expect_none(fd, 17, 0);
out:
  if (fd >= 0)
    close(fd);
}

/* NBD_CMD_FLAG_PAYLOAD_LEN: a payload on a command that takes none is read
 * and refused with EINVAL, never taken for a header. A WRITE always has its
 * payload: proto.md wants the flag on it, qemu 10 leaves it out (qemu-nbd
 * accepts that, and so do we). */
static void test_payload_rules(struct harness *h) {
  int fd = raw_connect(h->sock);
  if (!EXPECT(fd >= 0 && raw_go_ext(fd, true) >= 0))
    goto out;
  raw_request_ext(fd, 0, NBD_CMD_WRITE, 1, 0, BLOCK);
  raw_send(fd, buf, BLOCK);
  expect_none(fd, 1, 0);
  raw_request_ext(fd, NBD_CMD_FLAG_PAYLOAD_LEN, NBD_CMD_READ, 2, 0, BLOCK);
  raw_send(fd, buf, BLOCK);
  expect_error(fd, 2, 0, NBD_EINVAL);
  /* Block status payloads are not offered (no NBD_FLAG_BLOCK_STATUS_PAYLOAD). */
  raw_request_ext(fd, NBD_CMD_FLAG_PAYLOAD_LEN, NBD_CMD_BLOCK_STATUS, 3, 0, 12);
  raw_send(fd, buf, 12);
  expect_error(fd, 3, 0, NBD_EINVAL);
  raw_request_ext(fd, NBD_CMD_FLAG_PAYLOAD_LEN, NBD_CMD_TRIM, 4, 0, 100);
  raw_send(fd, buf, 100);
  expect_error(fd, 4, 0, NBD_EINVAL);
  /* A refused write (unaligned) has its payload skipped too. */
  raw_request_ext(fd, NBD_CMD_FLAG_PAYLOAD_LEN, NBD_CMD_WRITE, 5, 100, BLOCK);
  raw_send(fd, buf, BLOCK);
  expect_error(fd, 5, 100, NBD_EINVAL);
  raw_request_ext(fd, NBD_CMD_FLAG_PAYLOAD_LEN | NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 6, 0, BLOCK);
  raw_send(fd, buf, BLOCK);
  expect_none(fd, 6, 0);
out:
  if (fd >= 0)
    close(fd);
}

/* What loses the stream costs the connection, not the server. */
static void test_lost_streams(struct harness *h) {
  /* A compact header after extended headers were negotiated. */
  int fd = raw_connect(h->sock);
  if (EXPECT(fd >= 0 && raw_go_ext(fd, false) >= 0)) {
    raw_request(fd, 0, NBD_CMD_FLUSH, 1, 0, 0);
    EXPECT_MSG(raw_wait_eof(fd), "compact header on an extended connection: hang up");
  }
  if (fd >= 0)
    close(fd);
  /* An extended header without negotiation (structured replies only). */
  fd = raw_connect(h->sock);
  if (EXPECT(fd >= 0 && raw_go(fd, true, false) >= 0)) {
    raw_request_ext(fd, 0, NBD_CMD_FLUSH, 1, 0, 0);
    EXPECT_MSG(raw_wait_eof(fd), "extended header not negotiated: hang up");
  }
  if (fd >= 0)
    close(fd);
  /* Payload lengths no server reads: 2^63 on a flush, 1 GiB on a write. */
  fd = raw_connect(h->sock);
  if (EXPECT(fd >= 0 && raw_go_ext(fd, false) >= 0)) {
    raw_request_ext(fd, NBD_CMD_FLAG_PAYLOAD_LEN, NBD_CMD_FLUSH, 1, 0, 1ull << 63);
    EXPECT_MSG(raw_wait_eof(fd), "2^63-byte payload: hang up");
  }
  if (fd >= 0)
    close(fd);
  fd = raw_connect(h->sock);
  if (EXPECT(fd >= 0 && raw_go_ext(fd, false) >= 0)) {
    raw_request_ext(fd, NBD_CMD_FLAG_PAYLOAD_LEN, NBD_CMD_WRITE, 1, 0, 1ull << 30);
    EXPECT_MSG(raw_wait_eof(fd), "1 GiB write payload: hang up");
  }
  if (fd >= 0)
    close(fd);
  fd = raw_connect(h->sock);
  if (EXPECT(fd >= 0 && raw_go_ext(fd, false) >= 0)) {
    raw_request_ext(fd, 0, NBD_CMD_FLUSH, 2, 0, 0);
    expect_none(fd, 2, 0);
  }
  if (fd >= 0)
    close(fd);
}

/* Data through extended replies: OFFSET_DATA, and block status that sees it. */
static void test_memory(void) {
  struct harness h;
  if (harness_init(&h) < 0 ||
      srv_start(&h, "size=64M", "memory_backed=1", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start memory_backed server");
    harness_cleanup(&h);
    return;
  }
  int fd = raw_connect(h.sock);
  struct raw_ext_chunk c;
  if (!EXPECT(fd >= 0 && raw_go_ext(fd, true) >= 0))
    goto out;
  for (unsigned i = 0; i < BLOCK; i++)
    buf[i] = (uint8_t)(i * 7 + 1);
  raw_request_ext(fd, NBD_CMD_FLAG_PAYLOAD_LEN, NBD_CMD_WRITE, 1, BLOCK, BLOCK);
  raw_send(fd, buf, BLOCK);
  expect_none(fd, 1, BLOCK);
  raw_request_ext(fd, 0, NBD_CMD_READ, 2, BLOCK, BLOCK);
  if (expect_chunk(fd, &c, 2, BLOCK, NBD_REPLY_TYPE_OFFSET_DATA) &&
      EXPECT_EQ_U64(c.len, NBD_DATA_OFFSET_SIZE + BLOCK)) {
    static uint8_t got[NBD_DATA_OFFSET_SIZE + BLOCK];
    if (EXPECT(raw_recv(fd, got, sizeof got) == (long)sizeof got)) {
      EXPECT_EQ_U64(nbd_get64(got), BLOCK);
      EXPECT(memcmp(got + NBD_DATA_OFFSET_SIZE, buf, BLOCK) == 0);
    }
  }
  raw_request_ext(fd, 0, NBD_CMD_BLOCK_STATUS, 3, 0, 64ull << 20);
  if (expect_status(fd, &c, 3, 0, 3)) {
    EXPECT_EQ_U64(desc_len(&c, 0), BLOCK);
    EXPECT_EQ_U64(desc_flags(&c, 0), NBD_STATE_HOLE | NBD_STATE_ZERO);
    EXPECT_EQ_U64(desc_len(&c, 1), BLOCK);
    EXPECT_EQ_U64(desc_flags(&c, 1), 0);
    EXPECT_EQ_U64(desc_len(&c, 2), (64ull << 20) - 2 * BLOCK);
  }
  raw_request_ext(fd, 0, NBD_CMD_TRIM, 4, 0, 64ull << 20);
  expect_none(fd, 4, 0);
  raw_request_ext(fd, 0, NBD_CMD_BLOCK_STATUS, 5, 0, 64ull << 20);
  if (expect_status(fd, &c, 5, 0, 1))
    EXPECT_EQ_U64(desc_len(&c, 0), 64ull << 20);
out:
  if (fd >= 0)
    close(fd);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

int main(void) {
  struct harness h;
  if (harness_init(&h) < 0 || srv_start(&h, "size=1P", (const char *)NULL) < 0)
    return 1;
  test_negotiation(&h);
  test_whole_disk(&h);
  test_payload_rules(&h);
  test_lost_streams(&h);
  EXPECT(!harness_exited(&h));
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
  test_refused_at_limit();
  test_memory();
  return expect_result("server_extended");
}
