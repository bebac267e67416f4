/* Reply encoding (see reply.h). */
#include "reply.h"

#include <string.h>

#include "nbd_proto.h"

/* In .bss: costs no memory until read, and reading maps the zero page. */
uint8_t rnull_zero_area[RNULL_ZERO_AREA];

size_t rnull_reply_simple(uint8_t *hdr, uint64_t handle, uint32_t err) {
  nbd_put32(hdr + NBD_SREP_MAGIC, NBD_SIMPLE_REPLY_MAGIC);
  nbd_put32(hdr + NBD_SREP_ERROR, err);
  nbd_put64(hdr + NBD_SREP_COOKIE, handle);
  return NBD_SIMPLE_REPLY_SIZE;
}

size_t rnull_reply_chunk(uint8_t *hdr, const struct rnull_reply_to *to, uint16_t flags,
                         uint16_t type, uint32_t len) {
  nbd_put16(hdr + NBD_CHUNK_FLAGS, flags);
  nbd_put16(hdr + NBD_CHUNK_TYPE, type);
  nbd_put64(hdr + NBD_CHUNK_COOKIE, to->handle);
  if (to->extended) {
    nbd_put32(hdr + NBD_CHUNK_MAGIC, NBD_EXTENDED_REPLY_MAGIC);
    nbd_put64(hdr + NBD_XCHUNK_OFFSET, to->offset);
    nbd_put64(hdr + NBD_XCHUNK_LENGTH, len);
    return NBD_EXTENDED_CHUNK_HDR_SIZE;
  }
  nbd_put32(hdr + NBD_CHUNK_MAGIC, NBD_STRUCTURED_REPLY_MAGIC);
  nbd_put32(hdr + NBD_CHUNK_LENGTH, len);
  return NBD_CHUNK_HDR_SIZE;
}

size_t rnull_reply_none(uint8_t *hdr, const struct rnull_reply_to *to) {
  return rnull_reply_chunk(hdr, to, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, 0);
}

size_t rnull_reply_hole(uint8_t *hdr, const struct rnull_reply_to *to, uint32_t len) {
  size_t n =
      rnull_reply_chunk(hdr, to, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_HOLE, NBD_HOLE_SIZE);
  nbd_put64(hdr + n, to->offset);
  nbd_put32(hdr + n + 8, len);
  return n + NBD_HOLE_SIZE;
}

size_t rnull_reply_data_hdr(uint8_t *hdr, const struct rnull_reply_to *to, uint32_t len) {
  size_t n = rnull_reply_chunk(hdr, to, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA,
                               NBD_DATA_OFFSET_SIZE + len);
  nbd_put64(hdr + n, to->offset);
  return n + NBD_DATA_OFFSET_SIZE;
}

_Static_assert(RNULL_REPLY_HDR_MAX >= NBD_EXTENDED_CHUNK_HDR_SIZE + NBD_HOLE_SIZE &&
                   RNULL_REPLY_HDR_MAX >= NBD_EXTENDED_CHUNK_HDR_SIZE + NBD_ERROR_HDR_SIZE,
               "a slot's header holds every fixed reply header");

size_t rnull_reply_error(uint8_t *hdr, uint8_t *payload, uint32_t *payload_len,
                         const struct rnull_reply_to *to, uint32_t err, const char *msg,
                         bool with_offset) {
  size_t mlen = strnlen(msg, RNULL_REPLY_MSG_MAX);
  memcpy(payload, msg, mlen);
  size_t p = mlen;
  if (with_offset) {
    nbd_put64(payload + p, to->offset);
    p += NBD_ERROR_OFFSET_SIZE;
  }
  *payload_len = (uint32_t)p;
  size_t n = rnull_reply_chunk(hdr, to, NBD_REPLY_FLAG_DONE,
                               with_offset ? NBD_REPLY_TYPE_ERROR_OFFSET : NBD_REPLY_TYPE_ERROR,
                               (uint32_t)(NBD_ERROR_HDR_SIZE + p));
  nbd_put32(hdr + n, err);
  nbd_put16(hdr + n + 4, (uint16_t)mlen);
  return n + NBD_ERROR_HDR_SIZE;
}

size_t rnull_reply_block_status(uint8_t *hdr, uint8_t *payload, uint32_t *payload_len,
                                const struct rnull_reply_to *to, uint32_t id,
                                const struct rnull_extent *e, unsigned n) {
  size_t p;
  if (to->extended) {
    nbd_put32(payload, id);
    nbd_put32(payload + 4, n);
    p = NBD_BS_EXT_HDR_SIZE;
    for (unsigned i = 0; i < n; i++, p += NBD_BS_EXT_DESC_SIZE) {
      nbd_put64(payload + p, e[i].len);
      nbd_put64(payload + p + 8, e[i].flags);
    }
  } else {
    nbd_put32(payload, id);
    p = NBD_BS_HDR_SIZE;
    for (unsigned i = 0; i < n; i++, p += NBD_BS_DESC_SIZE) {
      nbd_put32(payload + p, (uint32_t)e[i].len);
      nbd_put32(payload + p + 4, e[i].flags);
    }
  }
  *payload_len = (uint32_t)p;
  return rnull_reply_chunk(
      hdr, to, NBD_REPLY_FLAG_DONE,
      to->extended ? NBD_REPLY_TYPE_BLOCK_STATUS_EXT : NBD_REPLY_TYPE_BLOCK_STATUS, (uint32_t)p);
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
