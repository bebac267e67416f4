/* Private to lib/null: the volatile write cache (cache_size, null_blk's) and
 * the one model of what is not yet durable.
 *
 * The model: every write, write zeroes and trim that completed into the
 * cache is a record, kept in completion order (seq) in a ring of records;
 * each carries its epoch (the flushes completed before it). A FLUSH writes
 * every record back to the durable store, in order, and closes the epoch. A
 * FUA write is applied to the store when it completes and is also kept as a
 * record marked durable, so that reads, write-back and a power cut order it
 * correctly against the non-durable records around it. A write's bytes sit
 * in one preallocated data ring of cache_size bytes: nothing is allocated
 * per request. When the data ring or the record ring is full, the oldest
 * records are written back first (completion order, FIFO): the durable
 * store always holds a prefix of the completed writes, in their order.
 *
 * Users: the request path (driver.c: write, zeroes, trim, flush, read,
 * extent), the power cut (power_cut.c walks the records through
 * null_cache_cut), later the write log and crash states. One mutex guards
 * it all (the cache path is serialized; a disk without cache_size never
 * gets here). */
#ifndef RNULL_NULL_CACHE_H
#define RNULL_NULL_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache_index.h"
#include "store.h"

enum null_rec_op {
  NULL_REC_WRITE, /* bytes at data in the data ring */
  NULL_REC_ZERO,  /* write zeroes keeping pages (NOUNMAP) */
  NULL_REC_TRIM,  /* trim, or write zeroes that may unmap */
};

struct null_rec {
  uint64_t off, len; /* bytes on the disk */
  uint64_t seq;      /* completion order, from 1 */
  uint64_t epoch;    /* flushes completed before it */
  uint64_t data;     /* NULL_REC_WRITE: position in the data ring (monotonic) */
  enum null_rec_op op;
  bool durable;  /* FUA: on the durable store since it completed */
  bool in_index; /* its pages are in the page index (else a "big" one) */
};

struct null_cache_stats {
  uint64_t dirty_bytes; /* non-durable bytes written, zeroed or trimmed in the cache */
  uint64_t records;     /* records held (durable FUA ones included) */
  uint64_t writebacks;  /* records written back (full cache or flush) */
  uint64_t flushes;     /* epochs closed */
};

struct null_cache {
  pthread_mutex_t lock;
  struct rnull_store *store;      /* durable: written back to */
  uint8_t *ring;                  /* cache_size bytes of write data */
  uint64_t ring_size, head, tail; /* monotonic positions; head - tail bytes in use */
  struct null_rec *recs;          /* record ring, nr_slots */
  uint32_t nr_slots, first, n;
  uint64_t seq, epoch;
  uint64_t lo, hi;               /* every record lies in [lo, hi) (reads outside skip the walk) */
  struct null_cache_index index; /* the pages records touch (reads elsewhere skip the walk) */
  struct null_cache_stats st;
  bool cut; /* a power cut froze it: nothing lands any more (-EIO) */
};

/* cache_size bytes of data ring and a record per 4 KiB of it (at least 64):
 * allocated here, once. 0 or -ENOMEM. */
int null_cache_init(struct null_cache *c, struct rnull_store *store, uint64_t cache_size);
/* Frees the rings; what was not written back is lost (power off). */
void null_cache_destroy(struct null_cache *c);

/* The request path. 0 or -errno (-ENOSPC when a write-back needs pages
 * beyond memory_limit; -EIO after a cut). fua: durable at completion. */
int null_cache_write(struct null_cache *c, const void *buf, uint64_t off, uint32_t len, bool fua);
int null_cache_zero(struct null_cache *c, uint64_t off, uint64_t len, bool unmap, bool fua);
int null_cache_flush(struct null_cache *c);
/* Reads see the cache first: the store's bytes with every record over them,
 * oldest first. *zero as the store's read (true only if all of it is zeros
 * and buf was left untouched). */
int null_cache_read(struct null_cache *c, void *buf, uint64_t off, uint32_t len, bool *zero);
/* As the store's extent, but a range under a record is data, never a hole. */
int null_cache_extent(struct null_cache *c, uint64_t off, uint64_t len, uint64_t *len_out,
                      bool *hole);
void null_cache_get_stats(struct null_cache *c, struct null_cache_stats *out);

/* For power_cut.c, with c->lock held: the i-th record held (0 = oldest),
 * its bytes, and applying (part of) a record to the store. */
const struct null_rec *null_cache_rec(const struct null_cache *c, uint32_t i);
const uint8_t *null_cache_rec_bytes(const struct null_cache *c, const struct null_rec *r);
int null_cache_apply(struct null_cache *c, const struct null_rec *r, uint64_t off, uint64_t len);
/* Drop every record (their fate decided) and freeze: later requests -EIO. */
void null_cache_freeze(struct null_cache *c);

#endif
