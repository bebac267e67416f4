/* Bad sector ranges: a small sorted array under a mutex. The lock is only
 * taken when bad blocks are configured (the driver checks n first). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "badblocks.h"

static int cmp_range(const void *a, const void *b) {
  const struct rnull_range *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

void rnull_badblocks_init(struct rnull_badblocks *bb, const struct rnull_range *r, unsigned n,
                          bool once) {
  pthread_mutex_init(&bb->lock, NULL);
  bb->once = once;
  bb->n = 0;
  if (n > RNULL_MAX_BADBLOCK_RANGES)
    n = RNULL_MAX_BADBLOCK_RANGES;
  struct rnull_range tmp[RNULL_MAX_BADBLOCK_RANGES];
  if (n == 0)
    return;
  memcpy(tmp, r, n * sizeof *r);
  qsort(tmp, n, sizeof *tmp, cmp_range);
  /* merge overlapping or adjacent ranges so the array stays disjoint */
  for (unsigned i = 0; i < n; i++) {
    struct rnull_range *prev = bb->n ? &bb->r[bb->n - 1] : NULL;
    if (prev && (prev->end == UINT64_MAX || tmp[i].start <= prev->end + 1)) {
      if (tmp[i].end > prev->end)
        prev->end = tmp[i].end;
    } else {
      bb->r[bb->n++] = tmp[i];
    }
  }
}

void rnull_badblocks_destroy(struct rnull_badblocks *bb) { pthread_mutex_destroy(&bb->lock); }

/* Remove [s, e] (inclusive) with the lock held; a range may split in two.
 * A split that would overflow the table keeps that range whole: its sectors
 * stay bad rather than some other range being dropped. */
static void clear_locked(struct rnull_badblocks *bb, uint64_t s, uint64_t e) {
  struct rnull_range out[RNULL_MAX_BADBLOCK_RANGES];
  unsigned m = 0;
  for (unsigned i = 0; i < bb->n; i++) {
    struct rnull_range r = bb->r[i];
    unsigned left = bb->n - i - 1; /* ranges still to copy after this one */
    if (r.end < s || r.start > e) {
      out[m++] = r;
      continue;
    }
    unsigned pieces = (r.start < s) + (r.end > e);
    if (m + pieces + left > RNULL_MAX_BADBLOCK_RANGES) {
      out[m++] = r;
      continue;
    }
    if (r.start < s)
      out[m++] = (struct rnull_range){r.start, s - 1};
    if (r.end > e)
      out[m++] = (struct rnull_range){e + 1, r.end};
  }
  memcpy(bb->r, out, m * sizeof *out);
  bb->n = m;
}

/* Remove whole ranges touching [s, e] (badblocks_once), lock held. */
static void drop_touched_locked(struct rnull_badblocks *bb, uint64_t s, uint64_t e) {
  unsigned m = 0;
  for (unsigned i = 0; i < bb->n; i++)
    if (bb->r[i].end < s || bb->r[i].start > e)
      bb->r[m++] = bb->r[i];
  bb->n = m;
}

bool rnull_badblocks_check(struct rnull_badblocks *bb, uint64_t sector, uint64_t nr,
                           uint64_t *first_bad) {
  if (nr == 0)
    return false;
  uint64_t last = sector + nr - 1;
  bool hit = false;
  pthread_mutex_lock(&bb->lock);
  for (unsigned i = 0; i < bb->n; i++) {
    if (bb->r[i].end < sector || bb->r[i].start > last)
      continue;
    hit = true;
    if (first_bad)
      *first_bad = bb->r[i].start > sector ? bb->r[i].start : sector;
    break;
  }
  /* null_blk's badblocks_once clears the bad range found, not just the
   * sectors of this I/O: every range the I/O touches is gone after it. */
  if (hit && bb->once)
    drop_touched_locked(bb, sector, last);
  pthread_mutex_unlock(&bb->lock);
  return hit;
}

bool rnull_badblocks_covers(struct rnull_badblocks *bb, uint64_t sector, uint64_t nr) {
  if (nr == 0)
    return false;
  uint64_t last = sector + nr - 1;
  bool covers = true, any = false;
  pthread_mutex_lock(&bb->lock);
  for (unsigned i = 0; i < bb->n; i++) {
    if (bb->r[i].end < sector || bb->r[i].start > last)
      continue;
    any = true;
    if (bb->r[i].start < sector || bb->r[i].end > last)
      covers = false;
  }
  pthread_mutex_unlock(&bb->lock);
  return any && covers;
}

void rnull_badblocks_clear(struct rnull_badblocks *bb, uint64_t sector, uint64_t nr) {
  if (nr == 0)
    return;
  pthread_mutex_lock(&bb->lock);
  clear_locked(bb, sector, sector + nr - 1);
  pthread_mutex_unlock(&bb->lock);
}

int rnull_badblocks_add(struct rnull_badblocks *bb, uint64_t start, uint64_t end) {
  pthread_mutex_lock(&bb->lock);
  struct rnull_range tmp[RNULL_MAX_BADBLOCK_RANGES + 1];
  unsigned n = bb->n;
  memcpy(tmp, bb->r, n * sizeof *tmp);
  tmp[n++] = (struct rnull_range){start, end};
  /* merge as init does; refuse when the result would not fit */
  qsort(tmp, n, sizeof *tmp, cmp_range);
  struct rnull_range out[RNULL_MAX_BADBLOCK_RANGES + 1];
  unsigned m = 0;
  for (unsigned i = 0; i < n; i++) {
    struct rnull_range *prev = m ? &out[m - 1] : NULL;
    if (prev && (prev->end == UINT64_MAX || tmp[i].start <= prev->end + 1)) {
      if (tmp[i].end > prev->end)
        prev->end = tmp[i].end;
    } else {
      out[m++] = tmp[i];
    }
  }
  int r = 0;
  if (m > RNULL_MAX_BADBLOCK_RANGES) {
    r = -ENOSPC;
  } else {
    memcpy(bb->r, out, m * sizeof *out);
    bb->n = m;
  }
  pthread_mutex_unlock(&bb->lock);
  return r;
}

unsigned rnull_badblocks_get(struct rnull_badblocks *bb, struct rnull_range *out) {
  pthread_mutex_lock(&bb->lock);
  unsigned n = bb->n;
  memcpy(out, bb->r, n * sizeof *out);
  pthread_mutex_unlock(&bb->lock);
  return n;
}
