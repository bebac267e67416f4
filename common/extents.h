/* The one extents walk of both front ends (NBD block status, base:allocation):
 * the disk's allocation from an offset, as runs of one state. rnull-server
 * puts the runs in its reply, the nbdkit plugin in nbdkit's extents list. */
#ifndef RNULL_COMMON_EXTENTS_H
#define RNULL_COMMON_EXTENTS_H

#include <stdbool.h>
#include <stdint.h>

struct rnull_disk;

/* One run: len bytes from offset; hole: unallocated, reads as zeros. 0 to
 * go on, or a negative value that stops the walk and is returned by it. */
typedef int (*rnull_extent_fn)(void *ctx, uint64_t offset, uint64_t len, bool hole);

/* Walk [offset, offset + len) (within the disk) through rnull_disk_extent,
 * merging neighbours of one state, and emit at most max runs (max 1, as
 * NBD_CMD_FLAG_REQ_ONE: the first answer of the driver only). A driver
 * error (or an answer of 0 bytes: -EIO) before the first run is returned;
 * after it the walk ends early with what it has (NBD allows fewer extents
 * than asked). 0 or -errno. */
int rnull_extents_walk(struct rnull_disk *d, uint64_t offset, uint64_t len, unsigned max,
                       rnull_extent_fn emit, void *ctx);

#endif
