/* Power cuts (lib/null/power_cut.c over the cache's model, and the
 * registry's power-cut command): each mode, the same seed giving the same
 * state, torn writes at physical_blocksize, FUA writes surviving, the crash
 * report, every error. */
#include <stdlib.h>
#include <unistd.h>

#include "ctl_fixture.h"
#include "fixture.h"
#include "null/cache.h"
#include "null/power_cut.h"
#include "null/store.h"

#define PG 4096u

static struct rnull_store *durable, *cs;
static struct null_cache *c;

static void fresh(void) {
  if (cs)
    rnull_store_destroy(cs);
  durable = rnull_store_memory_create(1 << 20, PG);
  cs = rnull_store_cache_create(durable, 64 * PG);
  c = rnull_store_cache(cs);
  ck_assert_ptr_nonnull(c);
}
static void teardown(void) {
  if (cs)
    rnull_store_destroy(cs);
  cs = NULL;
}

static void put(uint64_t off, uint32_t len, uint8_t v, bool fua) {
  static uint8_t buf[16 * PG];
  memset(buf, v, len);
  ck_assert_int_eq(fua ? cs->ops->write_fua(cs, buf, off, len) : cs->ops->write(cs, buf, off, len),
                   0);
}

static int durable_at(uint64_t off) {
  uint8_t b[512] = {0};
  ck_assert_int_eq(durable->ops->read(durable, b, off, sizeof b, NULL), 0);
  return b[0];
}

/* Cut with these words; the report in *report (freed by the next call). */
static char *cut(const char *lose, unsigned keep, bool torn, uint64_t seed, bool json) {
  static char *buf;
  size_t len;
  free(buf);
  struct rnull_power_cut pc;
  rnull_power_cut_init(&pc);
  char kv[64], err[RNULL_ERR_LEN];
  snprintf(kv, sizeof kv, "lose=%s", lose);
  ck_assert_int_eq(rnull_power_cut_set(&pc, kv, err, sizeof err), 0);
  pc.keep = keep;
  pc.torn = torn;
  pc.seed = seed;
  FILE *m = open_memstream(&buf, &len);
  ck_assert_int_eq(null_power_cut(c, &pc, PG, "t", json, m), 0);
  fclose(m);
  return buf;
}

/* Eight writes, values 1..8, to blocks 0..7, none durable. */
static void eight(void) {
  fresh();
  for (unsigned i = 0; i < 8; i++)
    put((uint64_t)i * PG, PG, (uint8_t)(i + 1), false);
}

START_TEST(lose_all_keeps_only_what_was_flushed) {
  fresh();
  put(0, PG, 0x11, false);
  ck_assert_int_eq(cs->ops->flush(cs), 0);
  put(0, PG, 0x22, false);
  put(PG, PG, 0x33, false);
  const char *r = cut("all", 50, false, 7, false);
  ck_assert_int_eq(durable_at(0), 0x11);
  ck_assert_int_eq(durable_at(PG), 0);
  ck_assert_msg(strstr(r, "power cut t: lose=all keep=50 torn=0 seed=7\n"), "%s", r);
  ck_assert_msg(strstr(r, "seq 2 write offset 0 length 4096 epoch 1: lost\n"), "%s", r);
  ck_assert_msg(strstr(r, "seq 3 write offset 4096 length 4096 epoch 1: lost\n"), "%s", r);
  /* frozen: nothing lands any more */
  uint8_t b[PG] = {0};
  ck_assert_int_eq(cs->ops->write(cs, b, 0, PG), -EIO);
  ck_assert_int_eq(cs->ops->flush(cs), -EIO);
}
END_TEST

START_TEST(lose_prefix_keeps_a_prefix_in_completion_order) {
  bool partial = false;
  for (uint64_t seed = 1; seed <= 16; seed++) {
    eight();
    cut("prefix", 0, false, seed, false);
    unsigned k = 0;
    while (k < 8 && durable_at((uint64_t)k * PG) == (int)k + 1)
      k++;
    for (unsigned i = k; i < 8; i++)
      ck_assert_int_eq(durable_at((uint64_t)i * PG), 0); /* nothing after the prefix */
    partial |= k > 0 && k < 8;
  }
  ck_assert(partial);
}
END_TEST

START_TEST(lose_some_keeps_each_with_probability_keep) {
  eight();
  cut("some", 0, false, 3, false);
  for (unsigned i = 0; i < 8; i++)
    ck_assert_int_eq(durable_at((uint64_t)i * PG), 0);
  eight();
  cut("some", 100, false, 3, false);
  for (unsigned i = 0; i < 8; i++)
    ck_assert_int_eq(durable_at((uint64_t)i * PG), (int)i + 1);
  unsigned kept = 0;
  for (uint64_t seed = 1; seed <= 20; seed++) {
    eight();
    cut("some", 50, false, seed, false);
    for (unsigned i = 0; i < 8; i++)
      kept += durable_at((uint64_t)i * PG) != 0;
  }
  ck_assert_uint_gt(kept, 40); /* 80 expected of 160 */
  ck_assert_uint_lt(kept, 120);
}
END_TEST

/* Overlapping survivors land in a seeded order: either may win. */
START_TEST(lose_some_reorders_overlapping_writes) {
  bool older = false, newer = false;
  for (uint64_t seed = 1; seed <= 32; seed++) {
    fresh();
    put(0, PG, 1, false);
    put(0, PG, 2, false);
    const char *r = cut("some", 100, false, seed, false);
    int v = durable_at(0);
    ck_assert(v == 1 || v == 2);
    older |= v == 1;
    newer |= v == 2;
    ck_assert_msg(strstr(r, "kept (landed #"), "%s", r);
  }
  ck_assert(older && newer);
}
END_TEST

static void same_state(const char *lose, bool torn) {
  uint8_t a[8 * PG], b[8 * PG];
  for (int run = 0; run < 2; run++) {
    fresh();
    for (unsigned i = 0; i < 12; i++)
      put((uint64_t)(i % 5) * PG, (i % 3 + 1) * PG, (uint8_t)(i + 1), false);
    cut(lose, 50, torn, 1234567, false);
    ck_assert_int_eq(durable->ops->read(durable, run ? b : a, 0, sizeof a, NULL), 0);
  }
  ck_assert_msg(memcmp(a, b, sizeof a) == 0, "lose=%s torn=%d: two states from one seed", lose,
                torn);
}

START_TEST(the_same_seed_gives_the_same_state) {
  same_state("some", false);
  same_state("some", true);
  same_state("prefix", false);
  same_state("prefix", true);
}
END_TEST

/* torn=1: a surviving write longer than a physical block keeps a proper
 * subset of its physical blocks; the report lists the kept ranges. */
START_TEST(torn_writes_keep_a_subset_of_physical_blocks) {
  for (uint64_t seed = 1; seed <= 16; seed++) {
    fresh();
    put(0, 8 * PG, 0x77, false);
    put(16 * PG, PG, 0x66, false); /* one block: never torn */
    const char *r = cut("some", 100, true, seed, false);
    unsigned kept = 0;
    for (unsigned b = 0; b < 8; b++)
      kept += durable_at((uint64_t)b * PG) == 0x77;
    ck_assert_uint_gt(kept, 0);
    ck_assert_uint_lt(kept, 8);
    ck_assert_int_eq(durable_at(16 * PG), 0x66);
    ck_assert_msg(strstr(r, "seq 1 write offset 0 length 32768 epoch 0: torn (landed #"), "%s", r);
    ck_assert_msg(strstr(r, "seq 2 write offset 65536 length 4096 epoch 0: kept"), "%s", r);
    const char *j = cut("some", 100, true, seed, true); /* a frozen cache: no writes left */
    ck_assert_msg(strstr(j, "\"writes\":[]"), "%s", j);
  }
  /* a torn write's kept ranges are whole physical blocks */
  fresh();
  put(0, 4 * PG, 0x55, false);
  const char *j = cut("some", 100, true, 5, true);
  ck_assert_msg(strstr(j, "\"fate\":\"torn\"") && strstr(j, "\"kept_ranges\":[["), "%s", j);
  ck_assert_msg(strstr(j, "\"seed\":5,"), "%s", j);
}
END_TEST

/* A FUA write survives every mode; an older write never lands over it. */
START_TEST(fua_writes_survive_every_mode) {
  const char *modes[] = {"all", "some", "prefix"};
  for (int m = 0; m < 3; m++)
    for (uint64_t seed = 1; seed <= 8; seed++) {
      fresh();
      put(0, PG, 1, false);
      put(0, PG, 2, true);
      put(PG, PG, 3, false);
      cut(modes[m], 100, false, seed, false);
      ck_assert_int_eq(durable_at(0), 2);
    }
}
END_TEST

/* ---- through the registry ---- */

static int io(struct rnull_disk *d, enum rnull_op op, uint64_t off, uint32_t len, void *buf,
              uint32_t flags) {
  unsigned before = atomic_load(&nr_ends);
  struct rnull_io r = {
      .op = op, .offset = off, .len = len, .buf = buf, .flags = flags, .cookie = (void *)1};
  int s = rnull_submit(rnull_disk_hctx(d, 0), &r, 0);
  return s < 0 ? s : ends[before].status;
}

static struct rnull_disk *own; /* a front end's own disk (adopted) */
static void cut_teardown(void) {
  ctl_teardown();
  if (own)
    rnull_disk_destroy(own);
  own = NULL;
}

START_TEST(power_cut_command) {
  EXPECT_REPLY("create d size=16M memory_backed=1 cache_size=1M", "ok\n");
  struct rnull_ctl_disk *cd = rnull_ctl_get(ctl, "d");
  struct rnull_disk *d = rnull_ctl_disk_engine(cd);
  uint8_t b[PG];
  memset(b, 0xa1, PG);
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, 0, PG, b, 0), 0);
  ck_assert_int_eq(io(d, RNULL_OP_FLUSH, 0, 0, NULL, 0), 0);
  memset(b, 0xb2, PG);
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, PG, PG, b, 0), 0);
  memset(b, 0xc3, PG);
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, 2 * PG, PG, b, RNULL_IO_FUA), 0);
  EXPECT_HAS("cache d", "dirty_bytes=4096\nrecords=2\n");
  EXPECT_HAS("cache d --json", "{\"dirty_bytes\":4096,");
  rnull_ctl_put(cd);
  const char *r = exec("power-cut d lose=all seed=42");
  ck_assert_msg(strstr(r, "power cut d: lose=all keep=50 torn=0 seed=42\n"), "%s", r);
  ck_assert_msg(strstr(r, "seq 2 write offset 4096 length 4096 epoch 1: lost\n"), "%s", r);
  ck_assert_msg(strstr(r, "durable (FUA) writes in cache: 1\n"), "%s", r);
  ck_assert_msg(strstr(r, "\nok\n"), "%s", r);
  EXPECT_REPLY("get d power", "power=0\nok\n");
  EXPECT_REPLY("power d on", "ok\n");
  cd = rnull_ctl_get(ctl, "d");
  d = rnull_ctl_disk_engine(cd);
  uint8_t got[3 * PG];
  memset(got, 0xee, sizeof got);
  ck_assert_int_eq(io(d, RNULL_OP_READ, 0, sizeof got, got, 0), 0);
  ck_assert_uint_eq(got[0], 0xa1);      /* flushed */
  ck_assert_uint_eq(got[PG], 0);        /* lost */
  ck_assert_uint_eq(got[2 * PG], 0xc3); /* FUA */
  rnull_ctl_put(cd);
  /* JSON, and a disk without a cache: nothing to lose */
  EXPECT_REPLY("create n size=16M memory_backed=1", "ok\n");
  EXPECT_HAS("power-cut n --json seed=9",
             "{\"disk\":\"n\",\"lose\":\"all\",\"keep\":50,\"torn\":false,\"seed\":9,");
}
END_TEST

START_TEST(power_cut_errors) {
  EXPECT_REPLY("create d size=16M memory_backed=1 cache_size=1M", "ok\n");
  EXPECT_REPLY("power-cut d lose=most",
               "error: d: power-cut: lose=most: invalid value: expected all, some or prefix\n");
  EXPECT_REPLY(
      "power-cut d keep=101",
      "error: d: power-cut: keep=101: invalid value: expected a percentage from 0 to 100\n");
  EXPECT_REPLY(
      "power-cut d keep=-1",
      "error: d: power-cut: keep=-1: invalid value: expected a percentage from 0 to 100\n");
  EXPECT_REPLY("power-cut d torn=2",
               "error: d: power-cut: torn=2: invalid value: expected 0 or 1\n");
  EXPECT_HAS("power-cut d seed=x", "error: d: power-cut: seed=x: invalid value: expected a number");
  EXPECT_REPLY("power-cut d bogus=1", "error: d: power-cut: 'bogus=1': unknown power-cut option "
                                      "(lose=, keep=, torn=, seed=)\n");
  EXPECT_REPLY("power-cut zz", "error: zz: unknown disk (see 'list')\n");
  EXPECT_REPLY("power-cut", "error: power-cut: missing disk name\n");
  EXPECT_REPLY("power d off", "ok\n");
  EXPECT_REPLY("power-cut d", "error: d: powered off: nothing to cut (power it on first)\n");
  EXPECT_REPLY("cache d", "error: d: powered off: no cache\n");
  EXPECT_REPLY("create bad size=16M cache_size=1M",
               "error: bad: cache_size=1048576 needs memory_backed=1 (a cache in front of the "
               "null store would hold data nobody keeps)\n");
  /* the front end's own disk */
  own = make_disk(NULL, NULL, NULL);
  char err[RNULL_ERR_LEN];
  ck_assert_int_eq(rnull_ctl_adopt(ctl, own, err, sizeof err), 0);
  EXPECT_REPLY("power-cut rnullb0", "error: rnullb0: the front end's own disk (its command line) "
                                    "cannot be power-cut\n");
}
END_TEST

/* power_cut=1,100,4,1: after 3 requests the 4th fires (the kernel's space) (it fails, as every
 * later one), the disk powers off by itself; the same keys (fault_seed) make the same crash state
 * on every run. */
static unsigned scheduled_run(const char *keys, uint8_t state[8]) {
  char line[256];
  snprintf(line, sizeof line, "create s size=16M memory_backed=1 cache_size=1M %s", keys);
  EXPECT_REPLY(line, "ok\n");
  struct rnull_ctl_disk *cd = rnull_ctl_get(ctl, "s");
  struct rnull_disk *d = rnull_ctl_disk_engine(cd);
  uint8_t b[PG];
  unsigned failed = 0;
  for (unsigned i = 0; i < 6; i++) {
    memset(b, (int)i + 1, PG);
    int st = io(d, RNULL_OP_WRITE, (uint64_t)i * PG, PG, b, 0);
    ck_assert(st == 0 || st == -EIO);
    failed += st == -EIO;
    ck_assert_int_eq(st == -EIO, i >= 3);
  }
  rnull_ctl_put(cd);
  for (int i = 0; i < 500 && strcmp(exec("get s power"), "power=0\nok\n"); i++)
    usleep(10000);
  EXPECT_REPLY("get s power", "power=0\nok\n");
  /* each power cycle schedules its cuts afresh: none while looking */
  EXPECT_REPLY("set s power_cut=1,0,0,0 power=1", "ok\n");
  cd = rnull_ctl_get(ctl, "s");
  d = rnull_ctl_disk_engine(cd);
  for (unsigned i = 0; i < 8; i++) {
    memset(b, 0, PG);
    unsigned e = atomic_load(&nr_ends);
    ck_assert_int_eq(io(d, RNULL_OP_READ, (uint64_t)i * PG, PG, b, 0), 0);
    state[i] = ends[e].flags & RNULL_DONE_ZERO ? 0 : b[0];
  }
  rnull_ctl_put(cd);
  EXPECT_REPLY("remove s", "ok\n");
  return failed;
}

START_TEST(scheduled_power_cuts) {
  uint8_t a[8], b[8];
  ck_assert_uint_eq(scheduled_run("power_cut=1,100,4,1", a), 3);
  for (unsigned i = 0; i < 8; i++)
    ck_assert_uint_eq(a[i], 0); /* lose=all: nothing was flushed */
  bool some = false;
  for (unsigned seed = 1; seed <= 6; seed++) {
    char keys[128];
    snprintf(keys, sizeof keys, "power_cut=1,100,4,1 power_cut_keep=50 fault_seed=%u", seed);
    scheduled_run(keys, a);
    scheduled_run(keys, b);
    ck_assert_mem_eq(a, b, sizeof a); /* reproducible */
    for (unsigned i = 0; i < 3; i++)
      ck_assert(a[i] == 0 || a[i] == i + 1);
    for (unsigned i = 3; i < 8; i++)
      ck_assert_uint_eq(a[i], 0); /* failed requests never land */
    some |= (a[0] | a[1] | a[2]) != 0;
  }
  ck_assert(some);
  scheduled_run("power_cut=1,100,4,1 power_cut_prefix=1 fault_seed=9", a);
  ck_assert(!(a[1] && !a[0]) && !(a[2] && !a[1])); /* a prefix */
  EXPECT_REPLY("create x size=16M memory_backed=1 power_cut=1,100,4,1",
               "error: x: power_cut needs cache_size (and memory_backed=1): without a volatile "
               "cache every completed write is durable and a power cut loses nothing\n");
  EXPECT_HAS("create x size=16M memory_backed=1 cache_size=1M power_cut=1,100,4,1 "
             "power_cut_prefix=1 power_cut_keep=5",
             "error: x: power_cut_prefix=1 and power_cut_keep=5: a cut keeps a prefix or each");
  EXPECT_HAS("create x size=16M memory_backed=1 cache_size=1M power_cut_keep=101",
             "error: x: power_cut_keep=101: invalid value");
}
END_TEST

int main(void) {
  Suite *s = suite_create("power_cut");
  TCase *tc = new_tcase("model");
  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_add_test(tc, lose_all_keeps_only_what_was_flushed);
  tcase_add_test(tc, lose_prefix_keeps_a_prefix_in_completion_order);
  tcase_add_test(tc, lose_some_keeps_each_with_probability_keep);
  tcase_add_test(tc, lose_some_reorders_overlapping_writes);
  tcase_add_test(tc, the_same_seed_gives_the_same_state);
  tcase_add_test(tc, torn_writes_keep_a_subset_of_physical_blocks);
  tcase_add_test(tc, fua_writes_survive_every_mode);
  suite_add_tcase(s, tc);
  TCase *tr = new_tcase("registry");
  tcase_add_checked_fixture(tr, ctl_setup, cut_teardown);
  tcase_add_test(tr, power_cut_command);
  tcase_add_test(tr, power_cut_errors);
  tcase_add_test(tr, scheduled_power_cuts);
  suite_add_tcase(s, tr);
  return run_suite(s);
}
