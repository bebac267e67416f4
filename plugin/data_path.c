/* nbdkit's data callbacks: each describes one rnull_io, submits it on the
 * connection's hw queue and waits for the engine to end it. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <nbdkit-plugin.h>

#include "extents.h"
#include "nbd_errno.h"
#include "plugin.h"
#include "rnull/ctl.h"
#include "rnull/disk.h"
#include "rnull/io.h"
#include "submit_wait.h"

/* One request, start to end; on error nbdkit gets the errno to send. */
static int run_io(void *handle, enum rnull_op op, void *buf, uint32_t count, uint64_t offset,
                  uint32_t io_flags, uint32_t *done_flags) {
  struct rnull_plugin_conn *c = handle;
  struct rnull_io io = {.op = op, .flags = io_flags, .offset = offset, .len = count, .buf = buf};

  /* powering off: new requests get ESHUTDOWN until the client goes */
  if (c->cd && !rnull_ctl_disk_powered(c->cd)) {
    nbdkit_set_error(ESHUTDOWN);
    return -1;
  }
  int r = rnull_plugin_submit_wait(c->hctx, &io, done_flags);

  if (r < 0) {
    nbdkit_set_error(rnull_nbd_error_errno(-r));
    return -1;
  }
  return 0;
}

static uint32_t fua(uint32_t flags) { return (flags & NBDKIT_FLAG_FUA) ? RNULL_IO_FUA : 0; }

/* The null store skips the copy and says so: nbdkit still needs the bytes. */
int rnull_plugin_pread(void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags) {
  uint32_t done = 0;

  (void)flags;
  if (run_io(handle, RNULL_OP_READ, buf, count, offset, 0, &done) < 0)
    return -1;
  if (done & RNULL_DONE_ZERO)
    memset(buf, 0, count);
  return 0;
}

/* The engine only reads from a write's buffer. */
int rnull_plugin_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset,
                        uint32_t flags) {
  uint32_t done;

  return run_io(handle, RNULL_OP_WRITE, (void *)buf, count, offset, fua(flags), &done);
}

/* A flush is a request too: it takes a tag and obeys the completion mode. */
int rnull_plugin_flush(void *handle, uint32_t flags) {
  uint32_t done;

  (void)flags;
  return run_io(handle, RNULL_OP_FLUSH, NULL, 0, 0, 0, &done);
}

/* Trim is only advertised when the disk can discard (can_trim). */
int rnull_plugin_trim(void *handle, uint32_t count, uint64_t offset, uint32_t flags) {
  uint32_t done;

  return run_io(handle, RNULL_OP_DISCARD, NULL, count, offset, fua(flags), &done);
}

/* NBD's NO_HOLE is the absence of MAY_TRIM; FAST_ZERO fails fast if slow. */
int rnull_plugin_zero(void *handle, uint32_t count, uint64_t offset, uint32_t flags) {
  uint32_t io_flags = fua(flags);
  uint32_t done;

  if (!(flags & NBDKIT_FLAG_MAY_TRIM))
    io_flags |= RNULL_IO_NOUNMAP;
  if (flags & NBDKIT_FLAG_FAST_ZERO)
    io_flags |= RNULL_IO_FAST_ZERO;
  return run_io(handle, RNULL_OP_WRITE_ZEROES, NULL, count, offset, io_flags, &done);
}

/* Prefetch hint: the driver sees it like the kernel's REQ_OP_READ ahead. */
int rnull_plugin_cache(void *handle, uint32_t count, uint64_t offset, uint32_t flags) {
  uint32_t done;

  (void)flags;
  return run_io(handle, RNULL_OP_CACHE, NULL, count, offset, 0, &done);
}

static int add_extent(void *extents, uint64_t offset, uint64_t len, bool hole) {
  return nbdkit_add_extent(extents, offset, len,
                           hole ? NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO : 0) < 0
             ? -ENOBUFS
             : 0;
}

/* Allocation status straight from the store, no request needed. Extent
 * lengths must be whole blocks (proto.md) and nbdkit 1.32 passes an
 * unaligned request through: cover it up to its next block boundary (the
 * last extent may go past the request; the disk size is whole blocks). With
 * REQ_ONE nbdkit cuts the one extent at count, so stop at the boundary below
 * it; below one block there is none: EINVAL, as rnull-server answers. */
int rnull_plugin_extents(void *handle, uint32_t count, uint64_t offset, uint32_t flags,
                         struct nbdkit_extents *extents) {
  struct rnull_disk *d = ((struct rnull_plugin_conn *)handle)->disk;
  uint64_t bs = rnull_disk_logical_block_size(d);
  uint64_t size = rnull_disk_size(d);
  uint64_t end = offset + count;

  if (flags & NBDKIT_FLAG_REQ_ONE)
    end = offset + count / bs * bs;
  else
    end = (end + bs - 1) / bs * bs;
  if (end > size)
    end = size;
  if (offset % bs || end <= offset) {
    nbdkit_set_error(EINVAL);
    return -1;
  }
  unsigned max = (flags & NBDKIT_FLAG_REQ_ONE) ? 1 : 0;
  int r = rnull_extents_walk(d, offset, end - offset, max, add_extent, extents);

  if (r == -ENOBUFS) /* nbdkit_add_extent failed: it set the error */
    return -1;
  if (r < 0) {
    nbdkit_set_error(rnull_nbd_error_errno(-r));
    return -1;
  }
  return 0;
}
