/* libFuzzer target: transmission request decoding and validation. The
 * first bytes pick the negotiated limits, the rest is a stream of request
 * headers, compact or extended (64-bit lengths) as the first bytes say.
 * Invariants: a request that passes the check is in range and aligned (so
 * the engine may use it), lengths never exceed the maximum block size where
 * proto.md caps them (READ, WRITE), the payload rule holds for both header
 * forms, a payload the check accepts is never fatal, and a refusal comes
 * with its reason (a terminated text naming the command; none is written
 * for a request that passes). */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "nbd_proto.h"
#include "transmission.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8)
    return 0;
  struct rnull_tx_limits lim = {
      .size = (nbd_get32(data) & 0xfffffu) * 512ull,
      .min_block = 512u << (data[4] % 4),
      .max_block = (1u + data[5]) * 4096u,
      .tx_flags = nbd_get16(data + 6),
      .structured = data[5] & 1,
      .meta = data[5] & 2,
      .extended = data[4] & 4,
  };
  if (lim.extended) { /* 64-bit sizes: up to 2^60 bytes */
    lim.size = (nbd_get32(data) * 512ull) << (data[4] >> 4);
    lim.structured = true;
  }
  data += 8;
  size -= 8;
  while (size) {
    struct rnull_nbd_req r;
    int n = rnull_req_decode(data, size, lim.extended, &r);
    assert(n == 0 || n == -1 || (size_t)n == rnull_req_hdr_size(lim.extended));
    assert(n != 0 || size < rnull_req_hdr_size(lim.extended));
    if (n <= 0)
      return 0;
    char why[RNULL_REQ_WHY_MAX];
    memset(why, 0x7f, sizeof(why));
    uint32_t err = rnull_req_check(&r, &lim, why);
    assert(err == 0 || err == NBD_EINVAL || err == NBD_EPERM || err == NBD_ENOSPC);
    if (err) { /* a reason, terminated, that names the command */
      size_t wl = strnlen(why, sizeof(why));
      assert(wl > 0 && wl < sizeof(why));
      assert(strncmp(why, "NBD_CMD_", 8) == 0 || strncmp(why, "unknown command: ", 17) == 0);
    } else { /* untouched when the request passes */
      assert((unsigned char)why[0] == 0x7f && (unsigned char)why[sizeof(why) - 1] == 0x7f);
    }
    if (!err && r.type != NBD_CMD_DISC && r.type != NBD_CMD_FLUSH) {
      assert(r.len > 0);
      assert(r.offset <= lim.size && r.len <= lim.size - r.offset);
      assert(r.offset % lim.min_block == 0 && r.len % lim.min_block == 0);
      if (r.type == NBD_CMD_READ || r.type == NBD_CMD_WRITE)
        assert(r.len <= lim.max_block);
      if (lim.extended && r.type != NBD_CMD_WRITE) /* a payload only where one is taken */
        assert(!(r.flags & NBD_CMD_FLAG_PAYLOAD_LEN));
      else if (!lim.extended)
        assert(!(r.flags & NBD_CMD_FLAG_PAYLOAD_LEN));
      if (r.type != NBD_CMD_READ && r.type != NBD_CMD_CACHE && r.type != NBD_CMD_BLOCK_STATUS)
        assert(!(lim.tx_flags & NBD_FLAG_READ_ONLY));
      struct rnull_io io;
      rnull_req_to_io(&r, &io);
      assert(io.op < RNULL_OP_MAX && io.offset == r.offset && io.len == r.len);
    }
    if (r.type == NBD_CMD_FLUSH && !err)
      assert(r.offset == 0 && r.len == 0);
    uint64_t pl = rnull_req_payload(&r, lim.extended);
    if (lim.extended)
      assert(pl == ((r.flags & NBD_CMD_FLAG_PAYLOAD_LEN) || r.type == NBD_CMD_WRITE ? r.len : 0));
    else
      assert(pl == (r.type == NBD_CMD_WRITE ? r.len : 0));
    if (!err && r.type == NBD_CMD_WRITE)
      assert(!rnull_req_payload_fatal(&r, &lim) && pl == r.len);
    data += n;
    size -= (size_t)n;
  }
  return 0;
}
