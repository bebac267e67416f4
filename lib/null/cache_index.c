/* The cache's page index (see cache_index.h): linear probing with
 * backward-shift deletion, so no tombstones pile up. */
#include "cache_index.h"

#include <errno.h>
#include <stdlib.h>

#define PAGE_SHIFT 12
#define MAX_PAGES 512 /* a record over more pages (2 MiB) is a "big" one */

static uint64_t slot_of(const struct null_cache_index *x, uint64_t page) {
  uint64_t h = page * 0x9e3779b97f4a7c15ull;
  return (h ^ (h >> 29)) & x->mask;
}

int null_cache_index_init(struct null_cache_index *x, uint64_t budget) {
  uint64_t size = 64;
  while (size < 2 * budget)
    size <<= 1;
  *x = (struct null_cache_index){.mask = size - 1, .budget = budget, .big_lo = UINT64_MAX};
  x->key = calloc(size, sizeof *x->key);
  x->count = calloc(size, sizeof *x->count);
  x->last = calloc(size, sizeof *x->last);
  if (!x->key || !x->count || !x->last) {
    null_cache_index_destroy(x);
    return -ENOMEM;
  }
  return 0;
}

void null_cache_index_destroy(struct null_cache_index *x) {
  free(x->key);
  free(x->count);
  free(x->last);
  x->key = NULL;
  x->count = NULL;
  x->last = NULL;
}

static uint64_t find(const struct null_cache_index *x, uint64_t page) {
  uint64_t i = slot_of(x, page);
  while (x->key[i] && x->key[i] != page + 1)
    i = (i + 1) & x->mask;
  return i;
}

static void inc(struct null_cache_index *x, uint64_t page, uint64_t last) {
  uint64_t i = find(x, page);
  if (!x->key[i]) {
    x->key[i] = page + 1;
    x->used++;
  }
  x->count[i]++;
  x->last[i] = last;
}

/* Empty slot i, moving later entries of its run back into place. */
static void remove_at(struct null_cache_index *x, uint64_t i) {
  for (uint64_t j = i;;) {
    x->key[i] = 0;
    x->count[i] = 0;
    x->last[i] = 0;
    for (;;) {
      j = (j + 1) & x->mask;
      if (!x->key[j])
        return;
      uint64_t k = slot_of(x, x->key[j] - 1);
      /* j's entry may move to i unless its home k lies cyclically in (i, j] */
      bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!stays)
        break;
    }
    x->key[i] = x->key[j];
    x->count[i] = x->count[j];
    x->last[i] = x->last[j];
    i = j;
  }
}

static void dec(struct null_cache_index *x, uint64_t page) {
  uint64_t i = find(x, page);
  if (!x->key[i] || --x->count[i])
    return;
  remove_at(x, i);
  x->used--;
}

static uint64_t first_page(uint64_t off) { return off >> PAGE_SHIFT; }
static uint64_t last_page(uint64_t off, uint64_t len) { return (off + len - 1) >> PAGE_SHIFT; }

bool null_cache_index_add(struct null_cache_index *x, uint64_t off, uint64_t len, uint64_t seq) {
  uint64_t a = first_page(off), b = last_page(off, len), n = b - a + 1;
  if (len == 0)
    return true;
  if (n > MAX_PAGES || x->used + n > x->budget) {
    x->nr_big++;
    x->big_lo = off < x->big_lo ? off : x->big_lo;
    x->big_hi = off + len > x->big_hi ? off + len : x->big_hi;
    return false;
  }
  for (uint64_t p = a; p <= b; p++) {
    bool whole = off <= p << PAGE_SHIFT && ((p + 1) << PAGE_SHIFT) <= off + len;
    inc(x, p, seq << 1 | whole);
  }
  return true;
}

void null_cache_index_del(struct null_cache_index *x, uint64_t off, uint64_t len, bool in_table) {
  if (len == 0)
    return;
  if (!in_table) {
    if (--x->nr_big == 0) {
      x->big_lo = UINT64_MAX;
      x->big_hi = 0;
    }
    return;
  }
  for (uint64_t p = first_page(off), b = last_page(off, len); p <= b; p++)
    dec(x, p);
}

bool null_cache_index_big(const struct null_cache_index *x, uint64_t off, uint64_t len) {
  return x->nr_big && off < x->big_hi && off + len > x->big_lo;
}

int null_cache_index_newest(const struct null_cache_index *x, uint64_t page, uint64_t *seq) {
  uint64_t i = find(x, page);
  if (!x->key[i])
    return 0;
  *seq = x->last[i] >> 1;
  return x->last[i] & 1 ? 1 : -1;
}

bool null_cache_index_maybe(const struct null_cache_index *x, uint64_t off, uint64_t len) {
  if (len == 0)
    return false;
  if (null_cache_index_big(x, off, len))
    return true;
  for (uint64_t p = first_page(off), b = last_page(off, len); p <= b; p++)
    if (x->key[find(x, p)])
      return true;
  return false;
}
