/* Reply encoding (see reply.h). */
#include "reply.h"

#include <string.h>

#include "nbd_proto.h"

/* In .bss: costs no memory until read, and reading maps the zero page. */
uint8_t rnull_zero_area[RNULL_ZERO_AREA];

size_t rnull_reply_simple(uint8_t *hdr, uint64_t handle, uint32_t err) {
  nbd_put32(hdr, NBD_SIMPLE_REPLY_MAGIC);
  nbd_put32(hdr + 4, err);
  nbd_put64(hdr + 8, handle);
  return NBD_SIMPLE_REPLY_SIZE;
}

size_t rnull_reply_chunk(uint8_t *hdr, uint16_t flags, uint16_t type, uint64_t handle,
                         uint32_t len) {
  nbd_put32(hdr, NBD_STRUCTURED_REPLY_MAGIC);
  nbd_put16(hdr + 4, flags);
  nbd_put16(hdr + 6, type);
  nbd_put64(hdr + 8, handle);
  nbd_put32(hdr + 16, len);
  return NBD_CHUNK_HDR_SIZE;
}

size_t rnull_reply_hole(uint8_t *hdr, uint64_t handle, uint64_t offset, uint32_t len) {
  size_t n = rnull_reply_chunk(hdr, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_HOLE, handle, 12);
  nbd_put64(hdr + n, offset);
  nbd_put32(hdr + n + 8, len);
  return n + 12;
}

size_t rnull_reply_data_hdr(uint8_t *hdr, uint64_t handle, uint64_t offset, uint32_t len) {
  size_t n =
      rnull_reply_chunk(hdr, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, handle, 8 + len);
  nbd_put64(hdr + n, offset);
  return n + 8;
}

size_t rnull_reply_error(uint8_t *hdr, uint64_t handle, uint32_t err, const char *msg,
                         bool with_offset, uint64_t offset) {
  size_t mlen = strlen(msg);
  size_t room = RNULL_REPLY_HDR_MAX - NBD_CHUNK_HDR_SIZE - 6 - 8;
  if (mlen > room)
    mlen = room;
  uint32_t plen = (uint32_t)(6 + mlen + (with_offset ? 8 : 0));
  size_t n = rnull_reply_chunk(hdr, NBD_REPLY_FLAG_DONE,
                               with_offset ? NBD_REPLY_TYPE_ERROR_OFFSET : NBD_REPLY_TYPE_ERROR,
                               handle, plen);
  nbd_put32(hdr + n, err);
  nbd_put16(hdr + n + 4, (uint16_t)mlen);
  memcpy(hdr + n + 6, msg, mlen);
  n += 6 + mlen;
  if (with_offset) {
    nbd_put64(hdr + n, offset);
    n += 8;
  }
  return n;
}

size_t rnull_reply_block_status(uint8_t *hdr, uint64_t handle, uint32_t id,
                                const struct rnull_extent *e, unsigned n) {
  size_t h =
      rnull_reply_chunk(hdr, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, handle, 4 + 8 * n);
  nbd_put32(hdr + h, id);
  h += 4;
  for (unsigned i = 0; i < n; i++, h += 8) {
    nbd_put32(hdr + h, e[i].len);
    nbd_put32(hdr + h + 4, e[i].flags);
  }
  return h;
}

int rnull_reply_iov(const uint8_t *hdr, size_t hdrlen, const uint8_t *data, size_t datalen,
                    size_t skip, struct iovec *iov, int max) {
  int n = 0;
  if (max <= 0)
    return 0;
  if (skip < hdrlen) {
    iov[n].iov_base = (void *)(hdr + skip);
    iov[n].iov_len = hdrlen - skip;
    n++;
    skip = 0;
  } else {
    skip -= hdrlen;
  }
  if (skip >= datalen)
    return n;
  if (data) {
    if (n < max) {
      iov[n].iov_base = (void *)(data + skip);
      iov[n].iov_len = datalen - skip;
      n++;
    }
    return n;
  }
  /* Zeros: the same area again and again. */
  size_t left = datalen - skip;
  while (left && n < max) {
    size_t take = left < RNULL_ZERO_AREA ? left : RNULL_ZERO_AREA;
    iov[n].iov_base = (void *)rnull_zero_area;
    iov[n].iov_len = take;
    n++;
    left -= take;
  }
  return n;
}
