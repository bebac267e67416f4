/* Transmission-phase request parsing and validation (see transmission.h). */
#include "transmission.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

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

static const char *cmd_name(uint16_t type) {
  switch (type) {
  case NBD_CMD_READ:
    return "NBD_CMD_READ";
  case NBD_CMD_WRITE:
    return "NBD_CMD_WRITE";
  case NBD_CMD_DISC:
    return "NBD_CMD_DISC";
  case NBD_CMD_FLUSH:
    return "NBD_CMD_FLUSH";
  case NBD_CMD_TRIM:
    return "NBD_CMD_TRIM";
  case NBD_CMD_CACHE:
    return "NBD_CMD_CACHE";
  case NBD_CMD_WRITE_ZEROES:
    return "NBD_CMD_WRITE_ZEROES";
  case NBD_CMD_BLOCK_STATUS:
    return "NBD_CMD_BLOCK_STATUS";
  default:
    return "unknown command";
  }
}

/* Refuse r with err: why says "<command>: <reason>". */
__attribute__((format(printf, 4, 5))) static uint32_t
refuse(char *why, uint32_t err, const struct rnull_nbd_req *r, const char *fmt, ...) {
  int n = snprintf(why, RNULL_REQ_WHY_MAX, "%s: ", cmd_name(r->type));
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why + n, RNULL_REQ_WHY_MAX - (size_t)n, fmt, ap);
  va_end(ap);
  return err;
}

/* What the command is and needs: 0 and its shape, or a refusal. */
struct cmd_rules {
  bool ranged; /* offset and count name a range of the disk */
  bool capped; /* count is at most the maximum block size */
  bool writes; /* refused on a read-only export */
};

static uint32_t cmd_allowed(const struct rnull_nbd_req *r, const struct rnull_tx_limits *lim,
                            struct cmd_rules *k, char *why) {
  bool ro = lim->tx_flags & NBD_FLAG_READ_ONLY;
  *k = (struct cmd_rules){.ranged = true, .capped = true, .writes = false};
  switch (r->type) {
  case NBD_CMD_READ:
    return 0;
  case NBD_CMD_CACHE:
    k->capped = false; /* no payload: any effect length, as for trim */
    return 0;
  case NBD_CMD_WRITE:
    /* proto.md: an extended WRITE MUST set PAYLOAD_LEN, but qemu 10's client
     * does not (qemu-nbd lets it pass): the length is the payload either way. */
    k->writes = true;
    return 0;
  case NBD_CMD_FLUSH:
    if (!(lim->tx_flags & NBD_FLAG_SEND_FLUSH))
      return refuse(why, NBD_EINVAL, r, "not advertised for this export");
    k->ranged = false;
    return 0;
  case NBD_CMD_TRIM:
  case NBD_CMD_WRITE_ZEROES: {
    uint16_t adv = r->type == NBD_CMD_TRIM ? NBD_FLAG_SEND_TRIM : NBD_FLAG_SEND_WRITE_ZEROES;
    if (ro) /* proto.md: EPERM for writes and trims on read-only */
      return refuse(why, NBD_EPERM, r, "the export is read-only");
    if (!(lim->tx_flags & adv))
      return refuse(why, NBD_EINVAL, r, "not advertised for this export");
    k->writes = true;
    /* Write zeroes: proto.md caps it at the maximum block size (unless
     * FAST_ZERO), but clients (nbdcopy) send larger zeroes and nothing is
     * transferred: the engine takes any length, so be liberal. */
    k->capped = false;
    return 0;
  }
  case NBD_CMD_BLOCK_STATUS:
    if (!lim->structured || !lim->meta)
      return refuse(why, NBD_EINVAL, r,
                    "needs structured replies and the base:allocation context negotiated");
    k->capped = false;
    return 0;
  default:
    return refuse(why, NBD_EINVAL, r, "type %u is not an NBD command", (unsigned)r->type);
  }
}

uint32_t rnull_req_check(const struct rnull_nbd_req *r, const struct rnull_tx_limits *lim,
                         char why[RNULL_REQ_WHY_MAX]) {
  if (r->type == NBD_CMD_DISC)
    return 0;
  struct cmd_rules k;
  uint32_t err = cmd_allowed(r, lim, &k, why);
  if (err)
    return err;
  uint16_t allowed = allowed_flags(r->type, lim);
  if (r->flags & ~allowed)
    return refuse(why, NBD_EINVAL, r, "flags 0x%x not allowed (allowed here: 0x%x)",
                  (unsigned)r->flags, (unsigned)allowed);
  if (k.writes && (lim->tx_flags & NBD_FLAG_READ_ONLY))
    return refuse(why, NBD_EPERM, r, "the export is read-only");
  unsigned long long off = r->offset, count = r->len;
  if (!k.ranged)
    return (off || count) ? refuse(why, NBD_EINVAL, r,
                                   "offset and count must be 0: offset=%llu count=%llu", off, count)
                          : 0;
  if (count == 0)
    return refuse(why, NBD_EINVAL, r, "count is 0: offset=%llu count=0", off);
  if (k.capped && count > lim->max_block)
    return refuse(why, NBD_EINVAL, r,
                  "count is larger than the maximum block size: count=%llu maximum=%u", count,
                  (unsigned)lim->max_block);
  if (off % lim->min_block || count % lim->min_block)
    return refuse(why, NBD_EINVAL, r,
                  "offset and count must be multiples of the block size: offset=%llu count=%llu "
                  "block size=%u",
                  off, count, (unsigned)lim->min_block);
  if (off > lim->size || count > lim->size - off)
    return refuse(
        why, r->type == NBD_CMD_WRITE || r->type == NBD_CMD_WRITE_ZEROES ? NBD_ENOSPC : NBD_EINVAL,
        r, "offset and count are out of range: offset=%llu count=%llu size=%llu", off, count,
        (unsigned long long)lim->size);
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
