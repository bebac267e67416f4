/* The volatile write cache as a store (cache_size): the request path calls
 * the store's vtable as ever, so a disk without a cache pays nothing for
 * it; each member hands over to the cache's model (cache.c). */
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "cache.h"
#include "fault.h"
#include "power_cut.h"
#include "rnull/disk.h"
#include "store.h"

struct cache_store {
  struct rnull_store base; /* first */
  struct null_cache cache;
  struct rnull_store *durable;
  /* scheduled power cuts (power_cut) */
  struct rnull_fault sched;
  struct rnull_power_cut pc;
  uint32_t pbs;
  struct rnull_disk *disk;
  void (*on_cut)(void *arg, struct rnull_disk *d);
  void *on_cut_arg;
};

/* A scheduled power cut: does this request fire it (or come after one)?
 * Then it fails; the one that fired makes the crash state and tells. */
static bool cut_fires(struct cache_store *cs) {
  struct null_cache *c = &cs->cache;
  pthread_mutex_lock(&c->lock);
  bool after = c->cut, fire = !after && rnull_fault_should_fail(&cs->sched, 1);
  if (fire) {
    struct rnull_power_cut pc = cs->pc; /* the same seed each power cycle */
    null_power_cut_locked(c, &pc, cs->pbs, rnull_disk_name(cs->disk), false, stderr);
    fprintf(stderr, "rnull: scheduled power cut of %s (power_cut=): seed=%" PRIu64 "\n",
            rnull_disk_name(cs->disk), pc.seed);
  }
  pthread_mutex_unlock(&c->lock);
  if (fire && cs->on_cut)
    cs->on_cut(cs->on_cut_arg, cs->disk);
  return after || fire;
}

/* The common case (no power_cut key) decided inline: one test. */
static inline bool cut_now(struct rnull_store *s) {
  struct cache_store *cs = (struct cache_store *)s;
  return cs->sched.attr.enabled && cut_fires(cs);
}

static struct null_cache *cache_of(struct rnull_store *s) {
  return &((struct cache_store *)s)->cache;
}

static int cs_read(struct rnull_store *s, void *buf, uint64_t off, uint32_t len, bool *zero) {
  bool z;
  if (cut_now(s))
    return -EIO;
  int r = null_cache_read(cache_of(s), buf, off, len, &z);
  if (zero)
    *zero = z;
  else if (z && buf && r == 0)
    memset(buf, 0, len);
  return r;
}

static int cs_write(struct rnull_store *s, const void *buf, uint64_t off, uint32_t len) {
  return cut_now(s) ? -EIO : null_cache_write(cache_of(s), buf, off, len, false);
}

static int cs_write_fua(struct rnull_store *s, const void *buf, uint64_t off, uint32_t len) {
  return cut_now(s) ? -EIO : null_cache_write(cache_of(s), buf, off, len, true);
}

static int cs_discard(struct rnull_store *s, uint64_t off, uint64_t len) {
  return cut_now(s) ? -EIO : null_cache_zero(cache_of(s), off, len, true, false);
}

static int cs_write_zeroes(struct rnull_store *s, uint64_t off, uint64_t len, bool may_unmap) {
  return cut_now(s) ? -EIO : null_cache_zero(cache_of(s), off, len, may_unmap, false);
}

static int cs_extent(struct rnull_store *s, uint64_t off, uint64_t len, uint64_t *len_out,
                     bool *hole) {
  return null_cache_extent(cache_of(s), off, len, len_out, hole);
}

static int cs_flush(struct rnull_store *s) {
  return cut_now(s) ? -EIO : null_cache_flush(cache_of(s));
}

static uint64_t cs_allocated(struct rnull_store *s) {
  struct rnull_store *d = ((struct cache_store *)s)->durable;
  return d->ops->allocated(d);
}

static void cs_destroy(struct rnull_store *s) { rnull_store_destroy(rnull_store_cache_detach(s)); }

static const struct rnull_store_ops cache_store_ops = {
    .name = "cache",
    .read = cs_read,
    .write = cs_write,
    .discard = cs_discard,
    .write_zeroes = cs_write_zeroes,
    .extent = cs_extent,
    .flush = cs_flush,
    .write_fua = cs_write_fua,
    .allocated = cs_allocated,
    .destroy = cs_destroy,
};

struct rnull_store *rnull_store_cache_create(struct rnull_store *durable, uint64_t cache_size) {
  struct cache_store *cs = calloc(1, sizeof *cs);
  if (!cs || null_cache_init(&cs->cache, durable, cache_size) < 0) {
    free(cs);
    return NULL;
  }
  cs->base = (struct rnull_store){
      .ops = &cache_store_ops, .size = durable->size, .page_size = durable->page_size};
  cs->durable = durable;
  return &cs->base;
}

struct null_cache *rnull_store_cache(struct rnull_store *s) {
  return s && s->ops == &cache_store_ops ? cache_of(s) : NULL;
}

struct rnull_store *rnull_store_cache_detach(struct rnull_store *s) {
  struct cache_store *cs = (struct cache_store *)s;
  struct rnull_store *d = cs->durable;
  struct rnull_power_cut pc;
  rnull_power_cut_init(&pc); /* lose=all: FUA writes stay, the rest goes */
  pc.seed = 1;
  null_power_cut(&cs->cache, &pc, s->page_size, NULL, false, NULL);
  null_cache_destroy(&cs->cache);
  free(cs);
  return d;
}

void rnull_store_cache_schedule(struct rnull_store *s, const struct rnull_fault_attr *fault,
                                uint64_t fault_seed, const struct rnull_power_cut *pc, uint32_t pbs,
                                struct rnull_disk *disk,
                                void (*fn)(void *arg, struct rnull_disk *d), void *arg) {
  struct cache_store *cs = (struct cache_store *)s;
  rnull_fault_init(&cs->sched, fault, fault_seed);
  cs->pc = *pc;
  cs->pbs = pbs;
  cs->disk = disk;
  cs->on_cut = fn;
  cs->on_cut_arg = arg;
}
