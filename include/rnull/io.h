/* Front-end and driver API: the I/O. What a front end submits and gets back
 * (a driver reads it with rnull_rq_io). No tags, no requests: a front end
 * describes an I/O, gives a cookie, and its end_io is called with the cookie
 * once the engine ends the request. */
#ifndef RNULL_IO_H
#define RNULL_IO_H

#include <stdint.h>

enum rnull_op {
  RNULL_OP_READ,
  RNULL_OP_WRITE,
  RNULL_OP_FLUSH,
  RNULL_OP_DISCARD,      /* trim */
  RNULL_OP_WRITE_ZEROES, /* may unmap unless RNULL_IO_NOUNMAP */
  RNULL_OP_CACHE,        /* prefetch hint */
  RNULL_OP_MAX
};

/* io flags */
#define RNULL_IO_FUA 0x1u
#define RNULL_IO_NOUNMAP 0x2u   /* write zeroes: keep the range allocated */
#define RNULL_IO_FAST_ZERO 0x4u /* write zeroes: fail with -ENOTSUP if slow */

/* done flags */
#define RNULL_DONE_ZERO 0x1u /* read: range is all zeros, buf was NOT written */

struct rnull_io {
  enum rnull_op op;
  uint32_t flags;
  uint64_t offset; /* bytes */
  uint64_t len;    /* bytes (READ and WRITE: at most max_transfer; trim, write
                      zeroes and cache: up to the disk size, 64-bit as NBD's
                      extended headers allow) */
  void *buf;       /* read: destination (may be NULL on a null store),
                      write: source (may be NULL on a null store) */
  void *cookie;    /* the front end's, handed back to end_io */
};
/* A struct rnull_io is the submitter's and is copied at submission; buf
 * (and whatever cookie points to) stays the submitter's and must stay valid
 * until end_io, during which the driver may read or write buf from any thread. */

/* Called once per submitted I/O when it ends, from the thread that ended it
 * (the submitter in direct mode; whoever calls rnull_hctx_run/commit else,
 * or a driver's thread that ends requests itself), with no core lock held.
 * status is 0 or a negative errno; done_flags are RNULL_DONE_*. After it
 * returns, the engine no longer touches buf: the I/O is the front end's. */
typedef void (*rnull_end_io_fn)(void *cookie, int status, uint32_t done_flags);

#endif
