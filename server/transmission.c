/* Transmission-phase request parsing and validation (see transmission.h). */
#include "transmission.h"

#include <errno.h>

#include "nbd_proto.h"

size_t rnull_req_hdr_size(bool extended) {
  return extended ? NBD_EXTENDED_REQUEST_SIZE : NBD_REQUEST_SIZE;
}

int rnull_req_decode(const uint8_t *buf, size_t len, bool extended, struct rnull_nbd_req *r) {
  size_t size = rnull_req_hdr_size(extended);
  /* The magic first: a compact header on an extended connection (28 bytes,
   * never 32) must not leave the server waiting for more. */
  if (len >= 4 &&
      nbd_get32(buf + NBD_REQ_MAGIC) != (extended ? NBD_EXTENDED_REQUEST_MAGIC : NBD_REQUEST_MAGIC))
    return -1;
  if (len < size)
    return 0;
  r->flags = nbd_get16(buf + NBD_REQ_FLAGS);
  r->type = nbd_get16(buf + NBD_REQ_TYPE);
  r->handle = nbd_get64(buf + NBD_REQ_COOKIE);
  r->offset = nbd_get64(buf + NBD_REQ_OFFSET);
  r->len = extended ? nbd_get64(buf + NBD_REQ_LENGTH) : nbd_get32(buf + NBD_REQ_LENGTH);
  return (int)size;
}

uint64_t rnull_req_payload(const struct rnull_nbd_req *r, bool extended) {
  if (r->type == NBD_CMD_WRITE)
    return r->len; /* with or without PAYLOAD_LEN, see rnull_req_check */
  return extended && (r->flags & NBD_CMD_FLAG_PAYLOAD_LEN) ? r->len : 0;
}

/* Command flags each command may carry, given what was advertised. */
static uint16_t allowed_flags(uint16_t type, const struct rnull_tx_limits *lim) {
  uint16_t fua = (lim->tx_flags & NBD_FLAG_SEND_FUA) ? NBD_CMD_FLAG_FUA : 0;
  switch (type) {
  case NBD_CMD_READ:
    /* FUA is tolerated on any command (clients are known to set it). */
    return fua | ((lim->tx_flags & NBD_FLAG_SEND_DF) ? NBD_CMD_FLAG_DF : 0);
  case NBD_CMD_WRITE:
    return fua | (lim->extended ? NBD_CMD_FLAG_PAYLOAD_LEN : 0);
  case NBD_CMD_TRIM:
  case NBD_CMD_FLUSH:
  case NBD_CMD_CACHE:
  case NBD_CMD_DISC:
    return fua;
  case NBD_CMD_WRITE_ZEROES:
    return fua | NBD_CMD_FLAG_NO_HOLE |
           ((lim->tx_flags & NBD_FLAG_SEND_FAST_ZERO) ? NBD_CMD_FLAG_FAST_ZERO : 0);
  case NBD_CMD_BLOCK_STATUS:
    return fua | NBD_CMD_FLAG_REQ_ONE;
  default:
    return 0;
  }
}

uint32_t rnull_req_check(const struct rnull_nbd_req *r, const struct rnull_tx_limits *lim) {
  bool ro = lim->tx_flags & NBD_FLAG_READ_ONLY;
  bool ranged = true, capped = true, writes = false;
  switch (r->type) {
  case NBD_CMD_DISC:
    return 0;
  case NBD_CMD_READ:
    break;
  case NBD_CMD_CACHE:
    capped = false; /* no payload: any effect length, as for trim */
    break;
  case NBD_CMD_WRITE:
    /* proto.md: an extended WRITE MUST set PAYLOAD_LEN, but qemu 10's client
     * does not (qemu-nbd lets it pass): the length is the payload either way. */
    writes = true;
    break;
  case NBD_CMD_FLUSH:
    if (!(lim->tx_flags & NBD_FLAG_SEND_FLUSH))
      return NBD_EINVAL;
    ranged = false;
    break;
  case NBD_CMD_TRIM:
    if (ro)
      return NBD_EPERM; /* proto.md: EPERM for writes and trims on read-only */
    if (!(lim->tx_flags & NBD_FLAG_SEND_TRIM))
      return NBD_EINVAL;
    writes = true;
    capped = false;
    break;
  case NBD_CMD_WRITE_ZEROES:
    if (ro)
      return NBD_EPERM;
    if (!(lim->tx_flags & NBD_FLAG_SEND_WRITE_ZEROES))
      return NBD_EINVAL;
    writes = true;
    /* proto.md caps it at the maximum block size (unless FAST_ZERO), but
     * clients (nbdcopy) send larger zeroes and nothing is transferred: the
     * engine takes any length, so be liberal. */
    capped = false;
    break;
  case NBD_CMD_BLOCK_STATUS:
    if (!lim->structured || !lim->meta)
      return NBD_EINVAL;
    capped = false;
    break;
  default:
    return NBD_EINVAL;
  }
  if (r->flags & ~allowed_flags(r->type, lim))
    return NBD_EINVAL;
  if (writes && ro)
    return NBD_EPERM;
  if (!ranged)
    return (r->offset || r->len) ? NBD_EINVAL : 0;
  if (r->len == 0)
    return NBD_EINVAL;
  if (capped && r->len > lim->max_block)
    return NBD_EINVAL;
  if (r->offset % lim->min_block || r->len % lim->min_block)
    return NBD_EINVAL;
  if (r->offset > lim->size || r->len > lim->size - r->offset)
    return (r->type == NBD_CMD_WRITE || r->type == NBD_CMD_WRITE_ZEROES) ? NBD_ENOSPC : NBD_EINVAL;
  return 0;
}

bool rnull_req_payload_fatal(const struct rnull_nbd_req *r, const struct rnull_tx_limits *lim) {
  uint32_t cap = lim->max_block > RNULL_TX_SKIP_MAX ? lim->max_block : RNULL_TX_SKIP_MAX;
  return rnull_req_payload(r, lim->extended) > cap;
}

void rnull_req_to_io(const struct rnull_nbd_req *r, struct rnull_io *io) {
  io->flags = 0;
  io->offset = r->offset;
  io->len = r->len;
  io->buf = NULL;
  if (r->flags & NBD_CMD_FLAG_FUA)
    io->flags |= RNULL_IO_FUA;
  switch (r->type) {
  case NBD_CMD_READ:
    io->op = RNULL_OP_READ;
    break;
  case NBD_CMD_WRITE:
    io->op = RNULL_OP_WRITE;
    break;
  case NBD_CMD_FLUSH:
    io->op = RNULL_OP_FLUSH;
    break;
  case NBD_CMD_TRIM:
    io->op = RNULL_OP_DISCARD;
    break;
  case NBD_CMD_CACHE:
    io->op = RNULL_OP_CACHE;
    break;
  case NBD_CMD_WRITE_ZEROES:
  default:
    io->op = RNULL_OP_WRITE_ZEROES;
    if (r->flags & NBD_CMD_FLAG_NO_HOLE)
      io->flags |= RNULL_IO_NOUNMAP;
    if (r->flags & NBD_CMD_FLAG_FAST_ZERO)
      io->flags |= RNULL_IO_FAST_ZERO;
    break;
  }
}
