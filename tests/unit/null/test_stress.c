/* Many threads get tags, submit and end on shared queues in every completion
 * mode (and with the latency model: per-queue draws and channels shared by
 * the threads) while a prober looks tags up and reads the latency
 * histograms: every I/O ends exactly once and the counters add up. Run
 * under TSan in CI (RNULL_TSAN). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "rnull/disk.h"
#include "rnull/hctx.h"
#include "rnull/request.h"
#include "rnull/stats.h"
#include "rnull/tagset.h"
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>

#define THREADS 4
#define PER_THREAD 3000

static _Atomic unsigned char seen[THREADS * PER_THREAD];
static _Atomic unsigned long total_ended;

static void stress_end_io(void *cookie, int status, uint32_t flags) {
  (void)flags;
  ck_assert_int_eq(status, 0);
  unsigned prev = atomic_fetch_add(&seen[(uintptr_t)cookie], 1);
  ck_assert_uint_eq(prev, 0); /* never twice */
  atomic_fetch_add(&total_ended, 1);
}

struct worker {
  struct rnull_disk *d;
  unsigned id;
};

static void *worker(void *arg) {
  struct worker *w = arg;
  unsigned nq = rnull_disk_nr_hw_queues(w->d);
  for (unsigned i = 0; i < PER_THREAD; i++) {
    struct rnull_hctx *h = rnull_disk_hctx(w->d, (w->id + i) % nq);
    struct rnull_io io = {.op = i % 3 ? RNULL_OP_READ : RNULL_OP_WRITE,
                          .offset = (uint64_t)(i % 1024) * 4096,
                          .len = 4096,
                          .cookie = (void *)(uintptr_t)(w->id * PER_THREAD + i)};
    /* a full queue: drive completions (as the front ends' loops do), retry */
    int r;
    while ((r = rnull_submit(h, &io, RNULL_SUBMIT_LAST | RNULL_SUBMIT_NOWAIT)) == -EAGAIN)
      rnull_hctx_run(h, rnull_hctx_now(h));
    ck_assert_int_eq(r, 0);
    rnull_hctx_commit(h);
    if (i % 8 == 0)
      rnull_hctx_run(h, rnull_hctx_now(h));
  }
  return NULL;
}

static _Atomic bool stop;
static struct rnull_hist probed; /* only the prober writes it */
static void *prober(void *arg) {
  struct rnull_disk *d = arg;
  while (!atomic_load(&stop)) {
    rnull_disk_latency(d, RNULL_OP_MAX, &probed); /* read while being written */
    ck_assert_uint_le(probed.min, probed.max);
    for (unsigned q = 0; q < rnull_disk_nr_hw_queues(d); q++)
      for (uint32_t t = 0; t < rnull_disk_queue_depth(d); t++) {
        struct rnull_rq *rq = rnull_tag_to_rq(rnull_disk_hctx(d, q), t);
        if (rq)
          rnull_rq_put(rq);
      }
  }
  return NULL;
}

static void run_mode(const char *irqmode, const char *const *extra) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set(&cfg, "irqmode", irqmode, err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "submit_queues", "2", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "hw_queue_depth", "8", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "completion_nsec", "1000", err, sizeof err), 0);
  for (; extra && *extra; extra++)
    ck_assert_msg(rnull_config_set_kv(&cfg, *extra, err, sizeof err) == 0, "%s", err);
  struct rnull_disk *d;
  ck_assert_int_eq(rnull_null_disk_create(&d, &cfg, err, sizeof err), 0);
  ck_assert_int_eq(rnull_disk_add(d, stress_end_io, err, sizeof err), 0);
  memset(seen, 0, sizeof seen);
  atomic_store(&total_ended, 0);
  atomic_store(&stop, false);
  pthread_t th[THREADS], pr;
  struct worker w[THREADS];
  pthread_create(&pr, NULL, prober, d);
  for (unsigned i = 0; i < THREADS; i++) {
    w[i] = (struct worker){d, i};
    pthread_create(&th[i], NULL, worker, &w[i]);
  }
  for (unsigned i = 0; i < THREADS; i++)
    pthread_join(th[i], NULL);
  /* drain what timers still hold */
  for (int spin = 0; atomic_load(&total_ended) < THREADS * PER_THREAD && spin < 1000000; spin++)
    for (unsigned q = 0; q < 2; q++)
      rnull_hctx_run(rnull_disk_hctx(d, q), rnull_disk_now(d));
  atomic_store(&stop, true);
  pthread_join(pr, NULL);
  ck_assert_uint_eq(atomic_load(&total_ended), THREADS * PER_THREAD);
  struct rnull_stats st;
  rnull_disk_stats(d, &st);
  ck_assert_uint_eq(st.submitted, THREADS * PER_THREAD);
  ck_assert_uint_eq(st.completed, THREADS * PER_THREAD);
  ck_assert_uint_eq(st.errors, 0);
  ck_assert_uint_eq(st.inflight, 0);
  ck_assert_uint_le(st.inflight_hwm, 16);
  for (unsigned q = 0; q < 2; q++)
    ck_assert_uint_eq(rnull_tags_free(rnull_disk_hctx(d, q)), 8);
  rnull_disk_destroy(d);
}

START_TEST(stress_direct) { run_mode("none", NULL); }
END_TEST
START_TEST(stress_softirq) { run_mode("softirq", NULL); }
END_TEST
START_TEST(stress_timer) { run_mode("timer", NULL); }
END_TEST
START_TEST(stress_latency_channels) {
  static const char *const kv[] = {"read_latency=exp:2us",
                                   "write_latency=uniform:1us-3us",
                                   "latency_per_kib=10ns",
                                   "channels=3",
                                   "seed=5",
                                   NULL};
  run_mode("none", kv);
}
END_TEST

int main(void) {
  Suite *s = suite_create("stress");
  TCase *tc = new_tcase("stress");
  tcase_add_test(tc, stress_direct);
  tcase_add_test(tc, stress_softirq);
  tcase_add_test(tc, stress_timer);
  tcase_add_test(tc, stress_latency_channels);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
