/* Reply encoding: simple replies and structured or extended reply chunks
 * written into a request slot's header area, and the iovecs that send header
 * + data (data from the slot's buffer, or from one shared zero area, never
 * copied). */
#ifndef RNULL_SERVER_REPLY_H
#define RNULL_SERVER_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "nbd_proto.h"

/* Most descriptors one BLOCK_STATUS reply carries. */
#define RNULL_BS_MAX_EXTENTS 32
/* Largest header a slot holds inline: a simple reply, a structured or
 * extended chunk header with its fixed fields (hole, data offset, error
 * code and message length). Block status and error replies have a payload
 * of their own (context id and descriptors; message and offset), which the
 * caller gives room for, RNULL_REPLY_PAYLOAD_MAX bytes, sent as the reply's
 * data: the rare large reply does not make every slot large. */
#define RNULL_REPLY_HDR_MAX 48
#define RNULL_BS_PAYLOAD_MAX (NBD_BS_EXT_HDR_SIZE + NBD_BS_EXT_DESC_SIZE * RNULL_BS_MAX_EXTENTS)
#define RNULL_REPLY_PAYLOAD_MAX RNULL_BS_PAYLOAD_MAX
/* Longest error message an error chunk carries (a longer one is cut). */
#define RNULL_REPLY_MSG_MAX (RNULL_REPLY_PAYLOAD_MAX - NBD_ERROR_OFFSET_SIZE)

struct rnull_extent {
  uint64_t len; /* at most 32 bits unless extended headers are in use */
  uint32_t flags;
};

/* The request a reply answers and the header form negotiated. */
struct rnull_reply_to {
  uint64_t handle;
  uint64_t offset; /* the request's: extended chunk headers echo it */
  bool extended;   /* extended headers (else structured, or simple) */
};

/* Simple reply (never with extended headers). */
size_t rnull_reply_simple(uint8_t *hdr, uint64_t handle, uint32_t err);
/* Chunk header (20 bytes structured, 32 extended) with payload length len. */
size_t rnull_reply_chunk(uint8_t *hdr, const struct rnull_reply_to *to, uint16_t flags,
                         uint16_t type, uint32_t len);
/* Final NONE chunk: success without payload (extended headers' simple reply). */
size_t rnull_reply_none(uint8_t *hdr, const struct rnull_reply_to *to);
/* Final OFFSET_HOLE chunk: the whole read reads as zeros. */
size_t rnull_reply_hole(uint8_t *hdr, const struct rnull_reply_to *to, uint32_t len);
/* Final OFFSET_DATA chunk header; len bytes of data follow it. */
size_t rnull_reply_data_hdr(uint8_t *hdr, const struct rnull_reply_to *to, uint32_t len);
/* Final ERROR chunk (with_offset: ERROR_OFFSET at the request's offset)
 * with message msg: the chunk header, error and message length go to hdr
 * (its length is returned), the message and the offset to payload (room for
 * RNULL_REPLY_PAYLOAD_MAX bytes; its length in *payload_len). */
size_t rnull_reply_error(uint8_t *hdr, uint8_t *payload, uint32_t *payload_len,
                         const struct rnull_reply_to *to, uint32_t err, const char *msg,
                         bool with_offset);
/* Final BLOCK_STATUS (BLOCK_STATUS_EXT with extended headers) chunk for
 * context id with n (<= RNULL_BS_MAX_EXTENTS) extents: the chunk header goes
 * to hdr (its length is returned), the payload to payload (room for
 * RNULL_BS_PAYLOAD_MAX bytes; its length in *payload_len). */
size_t rnull_reply_block_status(uint8_t *hdr, uint8_t *payload, uint32_t *payload_len,
                                const struct rnull_reply_to *to, uint32_t id,
                                const struct rnull_extent *e, unsigned n);

/* The shared zero area, for zero reads on simple replies. */
#define RNULL_ZERO_AREA (1u << 20)
extern uint8_t rnull_zero_area[RNULL_ZERO_AREA]; /* never written */

/* Fill iov with hdr[0, hdrlen) followed by datalen bytes of data (NULL means
 * zeros), skipping the first skip bytes. Returns iovecs used (<= max); a
 * reply needing more is sent in parts. */
int rnull_reply_iov(const uint8_t *hdr, size_t hdrlen, const uint8_t *data, size_t datalen,
                    size_t skip, struct iovec *iov, int max);

#endif
