/* A refused request says why: rnull_req_check's reason in the structured
 * error chunk, the command, the rule and the numbers (as nbdkit's "offset
 * and count are out of range: offset=... count=..."), by raw sockets: a read
 * past the end, a misaligned request, too long a read, a flag the command
 * does not take, an unknown command, a write past the end (ENOSPC, its
 * payload read and dropped), a write and a trim on a read-only disk
 * (EPERM); with structured replies and with extended headers. Without
 * structured replies the simple reply carries the error code, as ever. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "geometry.h"
#include "nbd_proto.h"
#include "srv.h"

#define SIZE (1ull << 20) /* size=1M */

static uint8_t payload[BLOCK];

enum form { SIMPLE, STRUCTURED, EXTENDED };

static int connect_as(struct harness *h, enum form f) {
  int fd = raw_connect(h->sock);
  if (fd < 0)
    return -1;
  if ((f == EXTENDED ? raw_go_ext(fd, false) : raw_go(fd, f == STRUCTURED, false)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_req(int fd, enum form f, uint16_t flags, uint16_t type, uint64_t handle,
                    uint64_t off, uint32_t len) {
  return f == EXTENDED ? raw_request_ext(fd, flags, type, handle, off, len)
                       : raw_request(fd, flags, type, handle, off, len);
}

/* Send one request (with its payload if a write) and expect an error reply
 * with err whose message holds every one of the NULL-terminated words. */
static void expect_refusal(struct harness *h, enum form f, const char *what, uint16_t flags,
                           uint16_t type, uint64_t off, uint32_t len, uint32_t err, ...) {
  int fd = connect_as(h, f);
  if (!EXPECT_MSG(fd >= 0, "%s: connected", what))
    return;
  const uint64_t handle = 0x1234abcd;
  EXPECT(send_req(fd, f, flags, type, handle, off, len) == 0);
  if (type == NBD_CMD_WRITE)
    EXPECT(raw_send(fd, payload, len) == 0);
  if (f == SIMPLE) {
    uint32_t e = 0;
    uint64_t hd = 0;
    if (EXPECT_MSG(raw_simple_reply(fd, &e, &hd) == 0, "%s: simple reply", what)) {
      EXPECT_EQ_U64(hd, handle);
      EXPECT_EQ_INT(e, err);
    }
    close(fd);
    return;
  }
  struct raw_ext_chunk c;
  int r = f == EXTENDED ? raw_ext_reply(fd, &c) : raw_chunk_reply(fd, &c);
  if (EXPECT_MSG(r == 0 && c.payload_len >= NBD_ERROR_HDR_SIZE, "%s: error chunk", what)) {
    EXPECT_EQ_U64(c.handle, handle);
    EXPECT_EQ_INT(c.type, NBD_REPLY_TYPE_ERROR);
    EXPECT_EQ_INT(c.flags, NBD_REPLY_FLAG_DONE);
    EXPECT_EQ_INT(nbd_get32(c.payload), err);
    size_t mlen = nbd_get16(c.payload + 4);
    EXPECT_EQ_U64(mlen, c.payload_len - NBD_ERROR_HDR_SIZE);
    char msg[sizeof c.payload + 1];
    memcpy(msg, c.payload + NBD_ERROR_HDR_SIZE, mlen);
    msg[mlen] = 0;
    va_list ap;
    va_start(ap, err);
    for (const char *w; (w = va_arg(ap, const char *));)
      EXPECT_MSG(strstr(msg, w), "%s: \"%s\" in the message \"%s\"", what, w, msg);
    va_end(ap);
  }
  /* the connection goes on (a flush's success: a simple reply, or with
   * extended headers a NONE chunk) */
  EXPECT(send_req(fd, f, 0, NBD_CMD_FLUSH, handle + 1, 0, 0) == 0);
  uint32_t e = 1;
  uint64_t hd = 0;
  if (f == EXTENDED) {
    r = raw_ext_reply(fd, &c);
    e = r == 0 && c.type == NBD_REPLY_TYPE_NONE ? 0 : 1;
    hd = c.handle;
  } else {
    r = raw_simple_reply(fd, &e, &hd);
  }
  EXPECT_MSG(r == 0 && e == 0 && hd == handle + 1, "%s: the next request is answered", what);
  close(fd);
}

static void test_writable(struct harness *h) {
  for (enum form f = STRUCTURED; f <= EXTENDED; f++) {
    expect_refusal(h, f, "read past the end", 0, NBD_CMD_READ, SIZE, BLOCK, NBD_EINVAL,
                   "NBD_CMD_READ", "out of range", "offset=1048576", "count=4096",
                   (const char *)NULL);
    expect_refusal(h, f, "misaligned read", 0, NBD_CMD_READ, 512, BLOCK, NBD_EINVAL, "NBD_CMD_READ",
                   "block size", "offset=512", "count=4096", (const char *)NULL);
    expect_refusal(h, f, "read longer than the maximum block size", 0, NBD_CMD_READ, 0, 64u << 20,
                   NBD_EINVAL, "maximum block size", "count=67108864", (const char *)NULL);
    expect_refusal(h, f, "flag not allowed", NBD_CMD_FLAG_REQ_ONE, NBD_CMD_READ, 0, BLOCK,
                   NBD_EINVAL, "NBD_CMD_READ", "flags 0x8", (const char *)NULL);
    expect_refusal(h, f, "unknown command", 0, 42, 0, BLOCK, NBD_EINVAL, "type 42",
                   "not an NBD command", (const char *)NULL);
    expect_refusal(h, f, "write past the end", 0, NBD_CMD_WRITE, SIZE - BLOCK + BLOCK, BLOCK,
                   NBD_ENOSPC, "NBD_CMD_WRITE", "out of range", "offset=1048576", "count=4096",
                   (const char *)NULL);
    expect_refusal(h, f, "block status not negotiated", 0, NBD_CMD_BLOCK_STATUS, 0, BLOCK,
                   NBD_EINVAL, "NBD_CMD_BLOCK_STATUS", "base:allocation", (const char *)NULL);
  }
  expect_refusal(h, SIMPLE, "read past the end, simple reply", 0, NBD_CMD_READ, SIZE, BLOCK,
                 NBD_EINVAL, (const char *)NULL);
  expect_refusal(h, SIMPLE, "write past the end, simple reply", 0, NBD_CMD_WRITE, SIZE, BLOCK,
                 NBD_ENOSPC, (const char *)NULL);
}

static void test_readonly(struct harness *h) {
  for (enum form f = STRUCTURED; f <= EXTENDED; f++) {
    expect_refusal(h, f, "write to a read-only disk", 0, NBD_CMD_WRITE, 0, BLOCK, NBD_EPERM,
                   "NBD_CMD_WRITE", "read-only", (const char *)NULL);
    expect_refusal(h, f, "trim on a read-only disk", 0, NBD_CMD_TRIM, 0, BLOCK, NBD_EPERM,
                   "NBD_CMD_TRIM", "read-only", (const char *)NULL);
  }
  expect_refusal(h, SIMPLE, "write to a read-only disk, simple reply", 0, NBD_CMD_WRITE, 0, BLOCK,
                 NBD_EPERM, (const char *)NULL);
}

static void with_server(const char *ro, void (*test)(struct harness *)) {
  struct harness h;
  if (!EXPECT(harness_init(&h) == 0))
    return;
  if (EXPECT(srv_start(&h, "size=1M", ro, (const char *)NULL) == 0)) {
    test(&h);
    EXPECT(!harness_exited(&h));
    EXPECT_EQ_INT(harness_stop(&h), 0);
  }
  harness_cleanup(&h);
}

int main(void) {
  with_server("readonly=0", test_writable);
  with_server("readonly=1", test_readonly);
  return expect_result("server_refusals");
}
