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
  uint64_t mask, used, budget;
  uint64_t nr_big, big_lo, big_hi; /* records not in the table, and their span */
};

/* For budget pages in the table at most. 0 or -ENOMEM. */
int null_cache_index_init(struct null_cache_index *x, uint64_t budget);
void null_cache_index_destroy(struct null_cache_index *x);
/* A record over [off, off + len) came, or went; add says whether it went
 * into the table (give the same to del). */
bool null_cache_index_add(struct null_cache_index *x, uint64_t off, uint64_t len);
void null_cache_index_del(struct null_cache_index *x, uint64_t off, uint64_t len, bool in_table);
/* May a record touch [off, off + len)? false: surely none does. */
bool null_cache_index_maybe(const struct null_cache_index *x, uint64_t off, uint64_t len);

#endif
