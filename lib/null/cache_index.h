/* Private to lib/null: which 4 KiB pages of the disk the cache's records
 * touch (cache.c), so a read or block status of pages no record touches
 * skips the walk over the records. An open-addressing table of page ->
 * records touching it, sized once; a record too large for it (or past its
 * budget) is counted as "big" with the span of all of them, and reads over
 * that span walk the records as before. Under the cache's lock. */
#ifndef RNULL_NULL_CACHE_INDEX_H
#define RNULL_NULL_CACHE_INDEX_H

#include <stdbool.h>
#include <stdint.h>

struct null_cache_index {
  uint64_t *key;   /* page + 1; 0 = empty */
  uint32_t *count; /* records touching that page */
  uint64_t *last;  /* seq of the newest record touching it, << 1 | it covers the whole page */
  uint64_t mask, used, budget;
  uint64_t nr_big, big_lo, big_hi; /* records not in the table, and their span */
};

/* For budget pages in the table at most. 0 or -ENOMEM. */
int null_cache_index_init(struct null_cache_index *x, uint64_t budget);
void null_cache_index_destroy(struct null_cache_index *x);
/* A record over [off, off + len) came, or went; add says whether it went
 * into the table (give the same to del). */
bool null_cache_index_add(struct null_cache_index *x, uint64_t off, uint64_t len, uint64_t seq);
void null_cache_index_del(struct null_cache_index *x, uint64_t off, uint64_t len, bool in_table);
/* The newest record touching page (4 KiB) if it covers all of it: its seq
 * in *seq and 1; 0 when no record in the table touches the page; -1 when
 * the newest touches only part (the caller walks the records). Valid
 * only when no big record overlaps (null_cache_index_big). */
int null_cache_index_newest(const struct null_cache_index *x, uint64_t page, uint64_t *seq);
bool null_cache_index_big(const struct null_cache_index *x, uint64_t off, uint64_t len);
/* May a record touch [off, off + len)? false: surely none does. */
bool null_cache_index_maybe(const struct null_cache_index *x, uint64_t off, uint64_t len);

#endif
