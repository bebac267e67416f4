/* The volatile write cache as a store (cache_size): the request path calls
 * the store's vtable as ever, so a disk without a cache pays nothing for
 * it; each member hands over to the cache's model (cache.c). */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "power_cut.h"
#include "store.h"

struct cache_store {
  struct rnull_store base; /* first */
  struct null_cache cache;
  struct rnull_store *durable;
};

static struct null_cache *cache_of(struct rnull_store *s) {
  return &((struct cache_store *)s)->cache;
}

static int cs_read(struct rnull_store *s, void *buf, uint64_t off, uint32_t len, bool *zero) {
  bool z;
  int r = null_cache_read(cache_of(s), buf, off, len, &z);
  if (zero)
    *zero = z;
  else if (z && buf && r == 0)
    memset(buf, 0, len);
  return r;
}

static int cs_write(struct rnull_store *s, const void *buf, uint64_t off, uint32_t len) {
  return null_cache_write(cache_of(s), buf, off, len, false);
}

static int cs_write_fua(struct rnull_store *s, const void *buf, uint64_t off, uint32_t len) {
  return null_cache_write(cache_of(s), buf, off, len, true);
}

static int cs_discard(struct rnull_store *s, uint64_t off, uint64_t len) {
  return null_cache_zero(cache_of(s), off, len, true, false);
}

static int cs_write_zeroes(struct rnull_store *s, uint64_t off, uint64_t len, bool may_unmap) {
  return null_cache_zero(cache_of(s), off, len, may_unmap, false);
}

static int cs_extent(struct rnull_store *s, uint64_t off, uint64_t len, uint64_t *len_out,
                     bool *hole) {
  return null_cache_extent(cache_of(s), off, len, len_out, hole);
}

static int cs_flush(struct rnull_store *s) { return null_cache_flush(cache_of(s)); }

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
