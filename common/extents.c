/* The extents walk (see extents.h). */
#include "extents.h"

#include <errno.h>

#include "rnull/disk.h"

int rnull_extents_walk(struct rnull_disk *d, uint64_t offset, uint64_t len, unsigned max,
                       rnull_extent_fn emit, void *ctx) {
  uint64_t run_off = offset, run_len = 0;
  bool run_hole = false;
  unsigned n = 0;
  while (len) {
    uint64_t got = 0;
    bool hole = false;
    int r = rnull_disk_extent(d, offset, len, &got, &hole);
    if (r == 0 && got == 0)
      r = -EIO; /* would never advance */
    if (r < 0) {
      if (run_len == 0)
        return r;
      break;
    }
    if (got > len)
      got = len;
    if (run_len && hole != run_hole) {
      if ((r = emit(ctx, run_off, run_len, run_hole)) < 0)
        return r;
      if (++n == max)
        return 0;
      run_len = 0;
    }
    if (run_len == 0) {
      run_off = offset;
      run_hole = hole;
    }
    run_len += got;
    offset += got;
    len -= got;
    if (max == 1)
      break;
  }
  return run_len ? emit(ctx, run_off, run_len, run_hole) : 0;
}
