/* Bad sector ranges (null_blk's badblocks): an I/O touching one fails with
 * EIO. With once set (null_blk's badblocks_once) a range is cleared after the
 * first I/O that hits it. Thread-safe. */
#ifndef RNULL_BADBLOCKS_H
#define RNULL_BADBLOCKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rnull/config.h"

struct rnull_badblocks {
  pthread_mutex_t lock;
  bool once;
  unsigned n;
  struct rnull_range r[RNULL_MAX_BADBLOCK_RANGES]; /* sorted, disjoint */
};

void rnull_badblocks_init(struct rnull_badblocks *bb, const struct rnull_range *r, unsigned n,
                          bool once);
void rnull_badblocks_destroy(struct rnull_badblocks *bb);

/* Does [sector, sector + nr) touch a bad range? If so, *first_bad is its
 * first bad sector, and with once the range(s) hit are cleared. */
bool rnull_badblocks_check(struct rnull_badblocks *bb, uint64_t sector, uint64_t nr,
                           uint64_t *first_bad);

/* Is every bad range that [sector, sector + nr) touches wholly inside it
 * (and is there at least one)? A write like that remaps the bad sectors. */
bool rnull_badblocks_covers(struct rnull_badblocks *bb, uint64_t sector, uint64_t nr);

/* Remove [sector, sector + nr) from the bad ranges (splitting as needed). */
void rnull_badblocks_clear(struct rnull_badblocks *bb, uint64_t sector, uint64_t nr);

/* Add [start, end] (inclusive, merged with neighbours). 0, or -ENOSPC when
 * the table would need more than RNULL_MAX_BADBLOCK_RANGES ranges. */
int rnull_badblocks_add(struct rnull_badblocks *bb, uint64_t start, uint64_t end);

/* Copy the ranges out (at most RNULL_MAX_BADBLOCK_RANGES); returns how many. */
unsigned rnull_badblocks_get(struct rnull_badblocks *bb, struct rnull_range *out);

#endif
