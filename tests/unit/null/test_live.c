/* Live changes of a serving null disk (null_blk's attributes writable while
 * powered): the error fault and bad blocks start and stop for the next
 * request; keys that need power off and bad values are refused with a
 * message; many threads submitting while another changes settings never
 * race (run under TSan in CI) and every I/O ends exactly once. */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

static int last_status(void) {
  unsigned n = atomic_load(&nr_ends);
  ck_assert_uint_gt(n, 0);
  return ends[n - 1].status;
}

static int read_at(struct rnull_disk *d, uint64_t off) {
  struct rnull_io io = rd(off, 4096, 1);
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &io, RNULL_SUBMIT_LAST), 0);
  return last_status();
}

START_TEST(error_fault_starts_and_stops) {
  const char *kv[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  char err[RNULL_ERR_LEN];
  ck_assert_int_eq(read_at(d, 0), 0);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "error", "1,100,0,-1", err, sizeof err), 0);
  ck_assert_int_eq(read_at(d, 0), -EIO);
  ck_assert_int_eq(read_at(d, 4096), -EIO);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "error", "1,0,0,0", err, sizeof err), 0);
  ck_assert_int_eq(read_at(d, 0), 0);
  /* times: a limited fault keeps its count across a change of another key */
  ck_assert_int_eq(rnull_null_disk_set_live(d, "error", "1,100,0,2", err, sizeof err), 0);
  ck_assert_int_eq(read_at(d, 0), -EIO);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "mbps", "0", err, sizeof err), 0);
  ck_assert_int_eq(read_at(d, 0), -EIO);
  ck_assert_int_eq(read_at(d, 0), 0); /* the 2 failures were used up */
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(refusals_say_why) {
  const char *kv[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  char err[RNULL_ERR_LEN];
  ck_assert_int_eq(rnull_null_disk_set_live(d, "size", "2M", err, sizeof err), -EBUSY);
  ck_assert_str_eq(err, "size: can only change while the disk is powered off");
  ck_assert_int_eq(rnull_null_disk_set_live(d, "mbps", "x", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "mbps=x") != NULL, "%s", err);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "timeout_ms", "0", err, sizeof err), -EINVAL);
  ck_assert(rnull_null_key_is_live("error") && rnull_null_key_is_live("badblocks") &&
            !rnull_null_key_is_live("blocksize"));
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(badblocks_edit_live_and_offline) {
  const char *kv[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  char err[RNULL_ERR_LEN];
  ck_assert_int_eq(rnull_null_badblocks_edit(d, NULL, "+8-15", err, sizeof err), 0);
  ck_assert_int_eq(read_at(d, 4096), -EIO);
  ck_assert_int_eq(read_at(d, 8192), 0);
  ck_assert_int_eq(rnull_null_badblocks_edit(d, NULL, "-8-15", err, sizeof err), 0);
  ck_assert_int_eq(read_at(d, 4096), 0);
  ck_assert_int_eq(rnull_null_badblocks_edit(d, NULL, "8-15", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "expected +START-END or -START-END") != NULL, "%s", err);
  /* a powered-off disk: only its configuration */
  struct rnull_config cfg;
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_null_badblocks_edit(NULL, &cfg.null, "+0-7", err, sizeof err), 0);
  ck_assert_int_eq(rnull_null_badblocks_edit(NULL, &cfg.null, "+8-9", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.null.badblocks.n, 1); /* merged: 0-9 */
  ck_assert_uint_eq(cfg.null.badblocks.r[0].end, 9);
  ck_assert_int_eq(rnull_null_badblocks_edit(NULL, &cfg.null, "-2-3", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.null.badblocks.n, 2);
  for (unsigned i = 0; i < RNULL_MAX_BADBLOCK_RANGES; i++) {
    char spec[64];
    snprintf(spec, sizeof spec, "+%u-%u", 100 + 3 * i, 100 + 3 * i);
    rnull_null_badblocks_edit(NULL, &cfg.null, spec, err, sizeof err);
  }
  ck_assert_int_eq(rnull_null_badblocks_edit(NULL, &cfg.null, "+9000-9000", err, sizeof err),
                   -ENOSPC);
  ck_assert_uint_eq(cfg.null.badblocks.n, RNULL_MAX_BADBLOCK_RANGES);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(latency_changes_live) {
  const char *kv[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  char err[RNULL_ERR_LEN];
  ck_assert_int_eq(read_at(d, 0), 0); /* direct: ended in submit */
  ck_assert_msg(rnull_null_disk_set_live(d, "read_latency", "fixed:1ms", err, sizeof err) == 0,
                "%s", err);
  struct rnull_io io = rd(0, 4096, 2);
  unsigned before = atomic_load(&nr_ends);
  ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_LAST), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), before); /* held for 1 ms */
  vclock_ns += 999000;
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), before);
  vclock_ns += 1000;
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 1);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "read_latency", "none", err, sizeof err), 0);
  ck_assert_int_eq(read_at(d, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 2); /* direct again */
  ck_assert_int_eq(rnull_null_disk_set_live(d, "read_latency", "fixed:-1", err, sizeof err),
                   -EINVAL);
  rnull_disk_destroy(d);
}
END_TEST

/* n reads of a block each, one batch (the last one ends it). */
static void submit_reads(struct rnull_hctx *h, unsigned n, uintptr_t cookie) {
  for (unsigned i = 0; i < n; i++) {
    struct rnull_io io = rd((uint64_t)i * 4096, 4096, cookie + i);
    ck_assert_int_eq(rnull_submit(h, &io, i + 1 == n ? RNULL_SUBMIT_LAST : 0), 0);
  }
}

/* channels (the device's parallelism) changes live: a new latency model. */
START_TEST(channels_change_live) {
  const char *kv[] = {"size=1M", "latency=fixed:1ms", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  char err[RNULL_ERR_LEN];
  ck_assert_msg(rnull_null_disk_set_live(d, "channels", "1", err, sizeof err) == 0, "%s", err);
  unsigned before = atomic_load(&nr_ends);
  submit_reads(h, 2, 1);
  vclock_ns += 1000000;
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 1); /* one channel: one at a time */
  vclock_ns += 1000000;
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 2);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "channels", "0", err, sizeof err), 0);
  submit_reads(h, 2, 3);
  vclock_ns += 1000000;
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 4); /* unlimited: both at 1 ms */
  ck_assert_int_eq(rnull_null_disk_set_live(d, "channels", "x", err, sizeof err), -EINVAL);
  rnull_disk_destroy(d);
}
END_TEST

/* iops starts, paces and stops live (softirq: ends at commit or run). */
START_TEST(iops_changes_live) {
  const char *kv[] = {"size=1M", "irqmode=softirq", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  char err[RNULL_ERR_LEN];
  ck_assert_msg(rnull_null_disk_set_live(d, "iops", "10", err, sizeof err) == 0, "%s", err);
  unsigned before = atomic_load(&nr_ends);
  submit_reads(h, 3, 10);
  rnull_hctx_commit(h);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 1); /* a burst of one, then 10/s */
  vclock_ns += 100000000;
  rnull_hctx_run(h, vclock_ns);
  rnull_hctx_commit(h);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 2);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "iops", "0", err, sizeof err), 0);
  vclock_ns += 100000000;
  rnull_hctx_run(h, vclock_ns); /* the one already waiting is released */
  rnull_hctx_commit(h);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 3);
  submit_reads(h, 3, 20);
  rnull_hctx_commit(h);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 6); /* unpaced again */
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(timeout_ms_and_completion_nsec_change_live) {
  const char *kv[] = {"size=1M", "irqmode=timer", "completion_nsec=1000", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  char err[RNULL_ERR_LEN];
  /* completion_nsec: the next request ends 1 ms after submission, not 1 us */
  ck_assert_int_eq(rnull_null_disk_set_live(d, "completion_nsec", "1000000", err, sizeof err), 0);
  struct rnull_io io = rd(0, 4096, 3);
  unsigned before = atomic_load(&nr_ends);
  ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_LAST), 0);
  vclock_ns += 999000;
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), before);
  vclock_ns += 1000;
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 1);
  /* timeout_ms: a lost request (timeout fault) ends after the new 5 ms */
  ck_assert_int_eq(rnull_null_disk_set_live(d, "timeout", "1,100,0,1", err, sizeof err), 0);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "timeout_ms", "5", err, sizeof err), 0);
  io = rd(0, 4096, 4);
  ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_LAST), 0);
  vclock_ns += 4000000;
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 1);
  vclock_ns += 1000001;
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 2);
  ck_assert_int_lt(last_status(), 0);
  rnull_disk_destroy(d);
}
END_TEST

/* ---- changes racing with I/O ---- */

#define THREADS 3
#define PER_THREAD 4000
static _Atomic unsigned char seen[THREADS * PER_THREAD];
static _Atomic bool stop;
static bool race_timer; /* irqmode=timer: no latency model (they exclude each other) */

static void race_end_io(void *cookie, int status, uint32_t flags) {
  (void)flags;
  ck_assert(status == 0 || status == -EIO || status == -ETIMEDOUT);
  ck_assert_uint_eq(atomic_fetch_add(&seen[(uintptr_t)cookie], 1), 0);
}

struct worker {
  struct rnull_disk *d;
  unsigned id;
};

static void *submitter(void *arg) {
  struct worker *w = arg;
  struct rnull_hctx *h = rnull_disk_hctx(w->d, w->id % rnull_disk_nr_hw_queues(w->d));
  for (unsigned i = 0; i < PER_THREAD; i++) {
    struct rnull_io io = rd((uint64_t)(i % 64) * 4096, 4096, w->id * PER_THREAD + i);
    int r;
    while ((r = rnull_submit(h, &io, RNULL_SUBMIT_LAST | RNULL_SUBMIT_NOWAIT)) == -EAGAIN)
      rnull_hctx_run(h, rnull_hctx_now(h));
    ck_assert_int_eq(r, 0);
    rnull_hctx_commit(h);
    rnull_hctx_run(h, rnull_hctx_now(h));
  }
  return NULL;
}

static void *changer(void *arg) {
  struct rnull_disk *d = arg;
  char err[RNULL_ERR_LEN];
  static const char *const sets[][2] = {
      {"error", "1,50,0,-1"},     {"completion_nsec", "2000"},
      {"mbps", "4000"},           {"error", "1,0,0,0"},
      {"completion_nsec", "100"}, {"mbps", "0"},
      {"fault_seed", "7"},        {"timeout_ms", "1000"},
      {"requeue", "3,100,0,-1"},  {"requeue", "1,0,0,0"},
      {"badblocks", "0-7"},       {"timeout_ms", "30000"},
      {"latency", "fixed:2us"},   {"read_latency", "uniform:1us-5us"},
      {"latency", "none"},        {"read_latency", "none"}};
  for (unsigned i = 0; !atomic_load(&stop); i++) {
    const char *const *s = sets[i % (sizeof sets / sizeof *sets)];
    if (race_timer && strstr(s[0], "latency"))
      continue;
    ck_assert_msg(rnull_null_disk_set_live(d, s[0], s[1], err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(
        rnull_null_badblocks_edit(d, NULL, i % 2 ? "+16-23" : "-0-31", err, sizeof err), 0);
  }
  return NULL;
}

/* What rnull_null_disk_config reports follows live changes: the core's
 * timeout_ms (applied by the core's line) and the driver's keys. */
START_TEST(config_follows_live_changes) {
  const char *kv[] = {"size=1M", "mbps=0", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  char err[RNULL_ERR_LEN];
  struct rnull_config c;
  ck_assert_int_eq(rnull_null_disk_set_live(d, "timeout_ms", "77", err, sizeof err), 0);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "error", "3,100,0,-1", err, sizeof err), 0);
  ck_assert_int_eq(rnull_null_disk_config(d, &c), 0);
  ck_assert_uint_eq(c.core.timeout_ms, 77);
  ck_assert_uint_eq(c.core.size, 1 << 20);
  ck_assert_uint_eq(c.null.error_inject.interval, 3);
  /* a refused change leaves both as they were */
  ck_assert_int_eq(rnull_null_disk_set_live(d, "timeout_ms", "0", err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "blocksize", "512", err, sizeof err), -EBUSY);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "nope", "1", err, sizeof err), -ENOENT);
  ck_assert_int_eq(rnull_null_disk_config(d, &c), 0);
  ck_assert_uint_eq(c.core.timeout_ms, 77);
  rnull_disk_destroy(d);
  /* another driver's disk is not a null disk */
  d = make_disk(NULL, &hold_ops, NULL);
  ck_assert_int_eq(rnull_null_disk_config(d, &c), -EINVAL);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "mbps", "1", err, sizeof err), -EINVAL);
  rnull_disk_destroy(d);
}
END_TEST

/* mbps asks front ends to share the throttle between connections (one
 * largest request each in the engine), live changes included. */
START_TEST(mbps_declares_the_fair_share) {
  const char *kv[] = {"size=1M", "max_transfer=64K", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  char err[RNULL_ERR_LEN];
  ck_assert_uint_eq(rnull_disk_fair_share(d), 0);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "mbps", "10", err, sizeof err), 0);
  ck_assert_uint_eq(rnull_disk_fair_share(d), 64 << 10);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "mbps", "0", err, sizeof err), 0);
  ck_assert_uint_eq(rnull_disk_fair_share(d), 0);
  rnull_disk_destroy(d);
  const char *kv2[] = {"size=1M", "mbps=5", NULL};
  d = make_disk(kv2, NULL, NULL);
  ck_assert_uint_eq(rnull_disk_fair_share(d), 32 << 20);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(changes_racing_with_io) {
  const char *modes[] = {"none", "softirq", "timer"};
  for (unsigned m = 0; m < 3; m++) {
    struct rnull_config cfg;
    char err[RNULL_ERR_LEN];
    rnull_config_init(&cfg);
    rnull_config_set(&cfg, "irqmode", modes[m], err, sizeof err);
    race_timer = m == 2;
    rnull_config_set(&cfg, "submit_queues", "2", err, sizeof err);
    rnull_config_set(&cfg, "hw_queue_depth", "16", err, sizeof err);
    rnull_config_set(&cfg, "size", "1M", err, sizeof err);
    struct rnull_disk *d;
    ck_assert_int_eq(rnull_null_disk_create(&d, &cfg, err, sizeof err), 0);
    ck_assert_msg(rnull_disk_add(d, race_end_io, err, sizeof err) == 0, "%s", err);
    memset(seen, 0, sizeof seen);
    atomic_store(&stop, false);
    pthread_t t[THREADS], c;
    struct worker w[THREADS];
    pthread_create(&c, NULL, changer, d);
    for (unsigned i = 0; i < THREADS; i++) {
      w[i] = (struct worker){d, i};
      pthread_create(&t[i], NULL, submitter, &w[i]);
    }
    for (unsigned i = 0; i < THREADS; i++)
      pthread_join(t[i], NULL);
    atomic_store(&stop, true);
    pthread_join(c, NULL);
    /* drain: timer completions and throttled dispatches still pending */
    for (int spin = 0; spin < 200000; spin++) {
      unsigned left = 0;
      for (unsigned q = 0; q < 2; q++) {
        struct rnull_hctx *h = rnull_disk_hctx(d, q);
        rnull_hctx_run(h, rnull_hctx_now(h));
        left += rnull_hctx_inflight(h);
      }
      if (!left)
        break;
    }
    for (unsigned i = 0; i < THREADS * PER_THREAD; i++)
      ck_assert_msg(atomic_load(&seen[i]) == 1, "mode %s: I/O %u ended %u times", modes[m], i,
                    atomic_load(&seen[i]));
    rnull_disk_destroy(d);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("live");
  TCase *tc = new_tcase("live");
  tcase_add_test(tc, error_fault_starts_and_stops);
  tcase_add_test(tc, refusals_say_why);
  tcase_add_test(tc, badblocks_edit_live_and_offline);
  tcase_add_test(tc, latency_changes_live);
  tcase_add_test(tc, channels_change_live);
  tcase_add_test(tc, iops_changes_live);
  tcase_add_test(tc, timeout_ms_and_completion_nsec_change_live);
  tcase_add_test(tc, config_follows_live_changes);
  tcase_add_test(tc, mbps_declares_the_fair_share);
  tcase_add_test(tc, changes_racing_with_io);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
