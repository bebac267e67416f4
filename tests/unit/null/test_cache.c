/* The volatile write cache (cache_size; lib/null/cache.c through its store,
 * cache_store.c): reads through it, FIFO write-back when full, flush, FUA
 * (durable at completion, also against an older write written back later),
 * trims and zeroes in the cache, bounded rings, the keys' errors. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "null/cache.h"
#include "null/store.h"
#include "rnull/null.h"

#define PG 4096u

static struct rnull_store *durable, *cs;
static struct null_cache *c;
static uint8_t buf[4 * PG];

static void setup_size(uint64_t cache_size) {
  durable = rnull_store_memory_create(1 << 20, PG);
  ck_assert_ptr_nonnull(durable);
  cs = rnull_store_cache_create(durable, cache_size);
  ck_assert_ptr_nonnull(cs);
  c = rnull_store_cache(cs);
  ck_assert_ptr_nonnull(c);
}
static void setup(void) { setup_size(4 * PG); }
static void teardown(void) {
  if (cs)
    rnull_store_destroy(cs);
  cs = NULL;
}

static void put(struct rnull_store *s, uint64_t off, uint32_t len, uint8_t v, bool fua) {
  memset(buf, v, len);
  ck_assert_int_eq(fua ? s->ops->write_fua(s, buf, off, len) : s->ops->write(s, buf, off, len), 0);
}

/* The byte at off as s reads it (holes are 0), checking the whole page. */
static int at(struct rnull_store *s, uint64_t off) {
  uint8_t b[PG];
  memset(b, 0xee, sizeof b);
  ck_assert_int_eq(s->ops->read(s, b, off, PG, NULL), 0);
  for (unsigned i = 1; i < PG; i++)
    ck_assert_uint_eq(b[i], b[0]);
  return b[0];
}

/* The first byte at off (a partial page). */
static int first(struct rnull_store *s, uint64_t off) {
  uint8_t b[512] = {0};
  ck_assert_int_eq(s->ops->read(s, b, off, sizeof b, NULL), 0);
  return b[0];
}

static struct null_cache_stats stats(void) {
  struct null_cache_stats st;
  null_cache_get_stats(c, &st);
  return st;
}

START_TEST(reads_see_the_cache_first) {
  put(durable, 0, PG, 0x11, false);
  put(cs, 0, PG, 0x22, false);
  ck_assert_int_eq(at(cs, 0), 0x22);      /* the cache's */
  ck_assert_int_eq(at(durable, 0), 0x11); /* not yet durable */
  /* a read straddling cached and uncached bytes */
  memset(buf, 0x33, 512);
  ck_assert_int_eq(cs->ops->write(cs, buf, PG + 512, 512), 0);
  uint8_t b[2 * PG];
  bool zero = true;
  ck_assert_int_eq(cs->ops->read(cs, b, PG, 2 * PG, &zero), 0);
  ck_assert(!zero);
  ck_assert_uint_eq(b[0], 0);
  ck_assert_uint_eq(b[512], 0x33);
  ck_assert_uint_eq(b[1023], 0x33);
  ck_assert_uint_eq(b[1024], 0);
  /* a hole the cache does not cover still reads as a hole */
  ck_assert_int_eq(cs->ops->read(cs, b, 8 * PG, PG, &zero), 0);
  ck_assert(zero);
  uint64_t len;
  bool hole;
  ck_assert_int_eq(cs->ops->extent(cs, PG, PG, &len, &hole), 0);
  ck_assert(!hole); /* cached data is data */
  ck_assert_int_eq(cs->ops->extent(cs, 8 * PG, PG, &len, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(stats().dirty_bytes, PG + 512);
}
END_TEST

START_TEST(flush_makes_it_durable) {
  put(cs, 0, PG, 0x22, false);
  put(cs, PG, PG, 0x23, false);
  ck_assert_int_eq(at(durable, 0), 0);
  ck_assert_int_eq(cs->ops->flush(cs), 0);
  ck_assert_int_eq(at(durable, 0), 0x22);
  ck_assert_int_eq(at(durable, PG), 0x23);
  struct null_cache_stats st = stats();
  ck_assert_uint_eq(st.dirty_bytes, 0);
  ck_assert_uint_eq(st.records, 0);
  ck_assert_uint_eq(st.flushes, 1);
  ck_assert_uint_eq(st.writebacks, 2);
  put(cs, 0, PG, 0x24, false);
  ck_assert_uint_eq(null_cache_rec(c, 0)->epoch, 1); /* after one flush */
}
END_TEST

/* A full cache writes back its oldest record first (completion order): the
 * durable store holds a prefix of the writes, overlapping ones in order. */
START_TEST(full_cache_writes_back_oldest_first) {
  put(cs, 0, PG, 0x01, false);
  put(cs, 0, PG, 0x02, false); /* overwrites the first, both kept in order */
  put(cs, PG, PG, 0x03, false);
  put(cs, 2 * PG, PG, 0x04, false);
  ck_assert_uint_eq(stats().writebacks, 0);
  put(cs, 3 * PG, PG, 0x05, false); /* ring full: the oldest (0x01) goes back */
  ck_assert_uint_eq(stats().writebacks, 1);
  ck_assert_int_eq(at(durable, 0), 0x01);
  ck_assert_int_eq(at(cs, 0), 0x02);
  put(cs, 4 * PG, PG, 0x06, false); /* then 0x02 */
  ck_assert_int_eq(at(durable, 0), 0x02);
  ck_assert_int_eq(at(durable, PG), 0);
  ck_assert_uint_eq(stats().dirty_bytes, 4 * PG);
  /* a write bigger than the cache: everything older, then it, straight to
   * the store */
  uint8_t big[5 * PG];
  memset(big, 0x07, sizeof big);
  ck_assert_int_eq(cs->ops->write(cs, big, 8 * PG, sizeof big), 0);
  ck_assert_uint_eq(stats().records, 0);
  ck_assert_int_eq(at(durable, PG), 0x03);
  ck_assert_int_eq(at(durable, 8 * PG), 0x07);
}
END_TEST

/* A ring position wraps: a write that does not fit at the end skips it. */
START_TEST(data_ring_wraps) {
  for (unsigned i = 0; i < 40; i++) {
    uint32_t len = (i % 3 + 1) * 1536;
    memset(buf, (int)i + 1, len);
    ck_assert_int_eq(cs->ops->write(cs, buf, (uint64_t)(i % 8) * 3 * PG, len), 0);
    ck_assert_int_eq(first(cs, (uint64_t)(i % 8) * 3 * PG), (int)i + 1);
  }
  ck_assert_int_eq(cs->ops->flush(cs), 0);
  for (unsigned i = 32; i < 40; i++)
    ck_assert_int_eq(first(durable, (uint64_t)(i % 8) * 3 * PG), (int)i + 1);
}
END_TEST

/* FUA: durable at completion, even when an older cached write to the same
 * block is written back after it, and across power off (which loses the
 * rest of the cache). */
START_TEST(fua_write_is_durable_at_completion) {
  put(cs, 0, PG, 0x0a, false);
  put(cs, 0, PG, 0x0b, true);
  ck_assert_int_eq(at(durable, 0), 0x0b);
  ck_assert_int_eq(at(cs, 0), 0x0b);
  put(cs, PG, PG, 0x0c, false);
  put(cs, 2 * PG, PG, 0x0d, false);
  put(cs, 3 * PG, PG, 0x0e, false); /* full: 0x0a written back over 0x0b */
  ck_assert_int_eq(at(cs, 0), 0x0b);
  ck_assert_uint_eq(stats().dirty_bytes, 3 * PG); /* the FUA write is not dirty */
  struct rnull_store *d = rnull_store_cache_detach(cs);
  cs = NULL;
  ck_assert_int_eq(at(d, 0), 0x0b); /* FUA survived power off */
  ck_assert_int_eq(at(d, PG), 0);   /* the rest was lost */
  rnull_store_destroy(d);
}
END_TEST

START_TEST(trims_and_zeroes_in_the_cache) {
  put(durable, 0, 2 * PG, 0x5a, false);
  ck_assert_int_eq(cs->ops->discard(cs, 0, PG), 0);
  ck_assert_int_eq(cs->ops->write_zeroes(cs, PG + 512, 512, false), 0);
  ck_assert_int_eq(at(cs, 0), 0);
  uint8_t b[PG];
  ck_assert_int_eq(cs->ops->read(cs, b, PG, PG, NULL), 0);
  ck_assert_uint_eq(b[0], 0x5a);
  ck_assert_uint_eq(b[512], 0);
  ck_assert_uint_eq(b[1024], 0x5a);
  ck_assert_int_eq(at(durable, 0), 0x5a); /* not durable yet */
  ck_assert_uint_eq(stats().dirty_bytes, PG + 512);
  ck_assert_uint_eq(durable->ops->allocated(durable), 2 * PG);
  ck_assert_int_eq(cs->ops->flush(cs), 0);
  ck_assert_int_eq(at(durable, 0), 0);
  ck_assert_uint_eq(durable->ops->allocated(durable), PG); /* the trim freed its page */
  /* records without data take a slot each, not ring space: many fit */
  for (unsigned i = 0; i < 200; i++)
    ck_assert_int_eq(cs->ops->discard(cs, (uint64_t)i * 512, 512), 0);
  ck_assert_uint_le(stats().records, c->nr_slots);
}
END_TEST

/* Write-back needs pages beyond memory_limit: the write that needed room
 * fails with ENOSPC and nothing is lost from the cache. */
START_TEST(write_back_beyond_memory_limit_fails_with_enospc) {
  rnull_store_memory_set_limit(durable, PG);
  put(cs, 0, PG, 1, false);
  put(cs, PG, PG, 2, false);
  put(cs, 2 * PG, PG, 3, false);
  put(cs, 3 * PG, PG, 4, false);
  put(cs, 4 * PG, PG, 5, false); /* writes back 1: fits */
  memset(buf, 6, PG);
  ck_assert_int_eq(cs->ops->write(cs, buf, 5 * PG, PG), -ENOSPC);
  ck_assert_int_eq(at(cs, PG), 2);
  ck_assert_int_eq(cs->ops->flush(cs), -ENOSPC);
}
END_TEST

START_TEST(the_keys_and_their_errors) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set(&cfg, "cache_size", "64M", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.null.cache_size, 64u << 20);
  ck_assert(cfg.null.fua);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
  ck_assert_str_eq(err, "cache_size=67108864 needs memory_backed=1 (a cache in front of the null "
                        "store would hold data nobody keeps)");
  ck_assert_int_eq(rnull_config_set(&cfg, "memory_backed", "1", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "cache_size", "64", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
  ck_assert_str_eq(err, "cache_size=64: below 1 MiB: sizes are bytes with K/M/G suffixes "
                        "(null_blk's cache_size=64 MiB is cache_size=64M)");
  ck_assert_int_eq(rnull_config_set(&cfg, "cache_size", "0", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "fua", "0", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
  ck_assert_str_eq(err, "fua=0 needs cache_size (and memory_backed=1): without a volatile cache "
                        "every write is durable when it completes");
  ck_assert_int_eq(rnull_config_set(&cfg, "cache_size", "1x", err, sizeof err), -EINVAL);
}
END_TEST

/* Through a disk: FUA offered unless fua=0, dirty bytes in the cache's
 * statistics, flush advertised as mattering. */
START_TEST(disk_features_and_stats) {
  const char *keys[][4] = {{"memory_backed=1", "cache_size=1M", NULL},
                           {"memory_backed=1", "cache_size=1M", "fua=0", NULL}};
  for (int k = 0; k < 2; k++) {
    struct rnull_config cfg;
    char err[RNULL_ERR_LEN];
    rnull_config_init(&cfg);
    for (const char *const *kv = keys[k]; *kv; kv++)
      ck_assert_int_eq(rnull_config_set_kv(&cfg, *kv, err, sizeof err), 0);
    struct rnull_disk *d;
    ck_assert_int_eq(rnull_null_disk_create(&d, &cfg, err, sizeof err), 0);
    ck_assert_msg(rnull_disk_add(d, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert(rnull_disk_can_fua(d) == (k == 0));
    struct rnull_null_cache_stats st;
    ck_assert_int_eq(rnull_null_disk_cache_stats(d, &st), 0);
    ck_assert_uint_eq(st.dirty_bytes, 0);
    rnull_disk_destroy(d);
  }
}
END_TEST

/* Several threads at once (hw queues): each writes, reads back, trims and
 * flushes its own blocks; every read sees that thread's last write, and
 * after a final flush so does the durable store (run under TSan too). */
#define NTHREADS 4
#define NBLOCKS 16
static void *hammer(void *arg) {
  unsigned t = (unsigned)(uintptr_t)arg, seed = t * 2654435761u + 1;
  uint8_t last[NBLOCKS] = {0}, b[PG];
  for (unsigned i = 0; i < 3000; i++) {
    seed = seed * 1103515245u + 12345u;
    unsigned blk = (seed >> 8) % NBLOCKS, what = (seed >> 20) % 10;
    uint64_t off = ((uint64_t)t * NBLOCKS + blk) * PG;
    if (what < 5) {
      uint8_t v = (uint8_t)(i % 255 + 1);
      memset(b, v, PG);
      ck_assert_int_eq(
          what == 0 ? cs->ops->write_fua(cs, b, off, PG) : cs->ops->write(cs, b, off, PG), 0);
      last[blk] = v;
    } else if (what < 8) {
      ck_assert_int_eq(cs->ops->read(cs, b, off, PG, NULL), 0);
      ck_assert_uint_eq(b[0], last[blk]);
      ck_assert_uint_eq(b[PG - 1], last[blk]);
    } else if (what == 8) {
      ck_assert_int_eq(cs->ops->discard(cs, off, PG), 0);
      last[blk] = 0;
    } else {
      ck_assert_int_eq(cs->ops->flush(cs), 0);
    }
  }
  ck_assert_int_eq(cs->ops->flush(cs), 0);
  for (unsigned blk = 0; blk < NBLOCKS; blk++)
    ck_assert_int_eq(at(durable, ((uint64_t)t * NBLOCKS + blk) * PG), last[blk]);
  return NULL;
}

START_TEST(concurrent_threads_see_their_own_writes) {
  pthread_t th[NTHREADS];
  for (uintptr_t t = 0; t < NTHREADS; t++)
    pthread_create(&th[t], NULL, hammer, (void *)t);
  for (unsigned t = 0; t < NTHREADS; t++)
    pthread_join(th[t], NULL);
}
END_TEST

/* The page index against brute force: records come and go oldest first,
 * as in the cache (a small table, so runs collide and deletions shift
 * them); maybe() never misses, newest() names the newest record over a
 * page and whether it covers it whole. */
START_TEST(page_index_matches_brute_force) {
  struct null_cache_index x;
  ck_assert_int_eq(null_cache_index_init(&x, 1000), 0);
  struct {
    uint64_t off, len, seq;
    bool in;
  } live[100];
  unsigned n = 0, seed = 7, checked_newest = 0;
  for (uint64_t step = 1; step <= 20000; step++) {
    seed = seed * 1103515245u + 12345u;
    if (n < 100 && (n == 0 || (seed >> 16) % 3)) {
      uint64_t off = (seed >> 4) % (512 * PG), len = 1 + (seed >> 9) % (6 * PG);
      if ((seed >> 24) == 0 && step % 4 == 0)
        len = 100 * PG; /* a big one, now and then */
      if ((seed >> 27) & 1)
        off &= ~(uint64_t)(PG - 1), len = (len + PG - 1) & ~(uint64_t)(PG - 1);
      live[n].off = off;
      live[n].len = len;
      live[n].seq = step;
      live[n].in = null_cache_index_add(&x, off, len, step);
      n++;
    } else { /* the oldest goes */
      null_cache_index_del(&x, live[0].off, live[0].len, live[0].in);
      memmove(&live[0], &live[1], --n * sizeof live[0]);
    }
    uint64_t probe = (seed >> 3) % 520 * PG, page = probe >> 12; /* a whole page */
    bool want = false;
    unsigned newest = 0;
    for (unsigned i = 0; i < n; i++)
      if ((live[i].off >> 12) <= page && page <= ((live[i].off + live[i].len - 1) >> 12)) {
        want = true;
        newest = i;
      }
    if (want)
      ck_assert(null_cache_index_maybe(&x, probe, PG));
    if (null_cache_index_big(&x, probe, PG))
      continue;
    ck_assert(null_cache_index_maybe(&x, probe, PG) == want);
    uint64_t seq;
    int k = null_cache_index_newest(&x, page, &seq);
    ck_assert_int_eq(k != 0, want);
    if (want) {
      bool whole = live[newest].off <= probe && probe + PG <= live[newest].off + live[newest].len;
      ck_assert_uint_eq(seq, live[newest].seq);
      ck_assert_int_eq(k, whole ? 1 : -1);
      checked_newest++;
    }
  }
  ck_assert_uint_gt(checked_newest, 500);
  while (n) {
    null_cache_index_del(&x, live[0].off, live[0].len, live[0].in);
    memmove(&live[0], &live[1], --n * sizeof live[0]);
  }
  ck_assert_uint_eq(x.used, 0);
  ck_assert_uint_eq(x.nr_big, 0);
  null_cache_index_destroy(&x);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cache");
  TCase *tc = tcase_create("cache");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, reads_see_the_cache_first);
  tcase_add_test(tc, flush_makes_it_durable);
  tcase_add_test(tc, full_cache_writes_back_oldest_first);
  tcase_add_test(tc, data_ring_wraps);
  tcase_add_test(tc, fua_write_is_durable_at_completion);
  tcase_add_test(tc, trims_and_zeroes_in_the_cache);
  tcase_add_test(tc, write_back_beyond_memory_limit_fails_with_enospc);
  tcase_add_test(tc, the_keys_and_their_errors);
  tcase_add_test(tc, disk_features_and_stats);
  tcase_add_test(tc, concurrent_threads_see_their_own_writes);
  tcase_add_test(tc, page_index_matches_brute_force);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
