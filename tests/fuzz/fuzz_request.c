/* libFuzzer target: transmission request decoding and validation. The
 * first bytes pick the negotiated limits, the rest is a stream of request
 * headers. Invariants: a request that passes the check is in range and
 * aligned (so the engine may use it), lengths never exceed the maximum
 * block size where proto.md caps them, and the payload rule holds. */
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
  };
  data += 8;
  size -= 8;
  while (size) {
    struct rnull_nbd_req r;
    int n = rnull_req_decode(data, size, &r);
    assert(n == 0 || n == -1 || n == NBD_REQUEST_SIZE);
    if (n <= 0)
      return 0;
    uint32_t err = rnull_req_check(&r, &lim);
    assert(err == 0 || err == NBD_EINVAL || err == NBD_EPERM || err == NBD_ENOSPC);
    if (!err && r.type != NBD_CMD_DISC && r.type != NBD_CMD_FLUSH) {
      assert(r.len > 0);
      assert(r.offset <= lim.size && r.len <= lim.size - r.offset);
      assert(r.offset % lim.min_block == 0 && r.len % lim.min_block == 0);
      if (r.type == NBD_CMD_READ || r.type == NBD_CMD_WRITE || r.type == NBD_CMD_CACHE)
        assert(r.len <= lim.max_block);
      if (r.type != NBD_CMD_READ && r.type != NBD_CMD_CACHE && r.type != NBD_CMD_BLOCK_STATUS)
        assert(!(lim.tx_flags & NBD_FLAG_READ_ONLY));
      struct rnull_io io;
      rnull_req_to_io(&r, &io);
      assert(io.op < RNULL_OP_MAX && io.offset == r.offset && io.len == r.len);
    }
    if (r.type == NBD_CMD_FLUSH && !err)
      assert(r.offset == 0 && r.len == 0);
    assert(rnull_req_payload(&r) == (r.type == NBD_CMD_WRITE ? r.len : 0));
    (void)rnull_req_payload_fatal(&r, &lim);
    data += n;
    size -= (size_t)n;
  }
  return 0;
}
