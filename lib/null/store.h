/* Backing stores: where data lives (or doesn't). A vtable, each member with
 * its contract. All members are thread-safe: several hw queues (threads) call
 * them at once; the store does its own locking. None allocates on the read
 * path; the memory store allocates a page on first write to it. */
#ifndef RNULL_STORE_H
#define RNULL_STORE_H

#include <stdbool.h>
#include <stdint.h>

struct rnull_store;
struct null_cache;

struct rnull_store_ops {
  const char *name;
  /* Read len bytes at off into buf. If the whole range reads as zeros, may
   * leave buf untouched and set *zero (buf may then be NULL). 0 or -errno. */
  int (*read)(struct rnull_store *s, void *buf, uint64_t off, uint32_t len, bool *zero);
  /* Write len bytes at off from buf (buf may be NULL on the null store).
   * 0, -ENOSPC beyond memory_limit, or -ENOMEM when a page cannot be
   * allocated (-> ENOSPC to clients). */
  int (*write)(struct rnull_store *s, const void *buf, uint64_t off, uint32_t len);
  /* Trim: free whole pages in range, zero partial ones. 0 or -errno. */
  int (*discard)(struct rnull_store *s, uint64_t off, uint64_t len);
  /* Write zeroes: like discard, but with may_unmap false whole pages are
   * kept allocated (zero-filled). 0 or -errno. */
  int (*write_zeroes)(struct rnull_store *s, uint64_t off, uint64_t len, bool may_unmap);
  /* First extent at off: *len_out (<= len, > 0) bytes that are all holes
   * (*hole = true, read as zeros) or all allocated. 0 or -errno. */
  int (*extent)(struct rnull_store *s, uint64_t off, uint64_t len, uint64_t *len_out, bool *hole);
  /* Optional (NULL: every completed write is durable already, as on the
   * null and memory stores): make every completed write durable (FLUSH),
   * and a write durable when it completes (FUA). 0 or -errno. */
  int (*flush)(struct rnull_store *s);
  int (*write_fua)(struct rnull_store *s, const void *buf, uint64_t off, uint32_t len);
  /* Bytes of data pages held (for stats and tests). */
  uint64_t (*allocated)(struct rnull_store *s);
  void (*destroy)(struct rnull_store *s);
};

struct rnull_store {
  const struct rnull_store_ops *ops;
  uint64_t size;      /* bytes */
  uint32_t page_size; /* allocation unit: max(4096, block size) */
};

/* Reads are zeros from a shared zero page, writes dropped, never fails. */
struct rnull_store *rnull_store_null_create(uint64_t size);
/* Sparse pages allocated on first write. NULL on -ENOMEM. */
struct rnull_store *rnull_store_memory_create(uint64_t size, uint32_t page_size);
/* memory_limit: writes that would hold more than bytes of pages fail with
 * -ENOSPC (0 = no limit, the default); freeing pages gives budget back. */
void rnull_store_memory_set_limit(struct rnull_store *s, uint64_t bytes);

/* The volatile write cache (cache.h) in front of durable, a store of its
 * own: requests go through the cache; durable is owned and destroyed with
 * it. NULL on -ENOMEM. */
struct rnull_store *rnull_store_cache_create(struct rnull_store *durable, uint64_t cache_size);
/* A cache store's cache, or NULL for another store. */
struct null_cache *rnull_store_cache(struct rnull_store *s);
/* Power off (lose=all: what the cache holds is lost): the durable store,
 * the cache store freed. */
struct rnull_store *rnull_store_cache_detach(struct rnull_store *s);

/* Scheduled power cuts on a cache store (the power_cut key): every request
 * but extents weighs 1 against fault; when it fires, the crash state pc
 * says is made (the report, of disk, on stderr), every request from then
 * on fails with -EIO, and fn(arg, disk) is called without the cache's
 * lock. */
struct rnull_fault_attr;
struct rnull_power_cut;
struct rnull_disk;
void rnull_store_cache_schedule(struct rnull_store *s, const struct rnull_fault_attr *fault,
                                uint64_t fault_seed, const struct rnull_power_cut *pc, uint32_t pbs,
                                struct rnull_disk *disk,
                                void (*fn)(void *arg, struct rnull_disk *d), void *arg);

static inline void rnull_store_destroy(struct rnull_store *s) { s->ops->destroy(s); }

#endif
