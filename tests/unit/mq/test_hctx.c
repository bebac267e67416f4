/* The hardware queue (lib/mq/hctx.c, include/rnull/hctx.h) with drivers of
 * the test's own, on the virtual clock: next_deadline with nothing pending,
 * a request's timeout, timers and deferred completions; run ends what is
 * due at the time it is given and nothing else, and counts completions and
 * timeouts but not dispatches; commit calls commit_rqs and runs the
 * deferred completions; the kick is called when the next deadline may move
 * earlier (a first timer, a completion deferred onto an empty list) and not
 * otherwise; a non-blocking submit on a full queue is -EAGAIN, ends
 * nothing and counts a tag wait; poll and the accessors. */
#include "fixture.h"

static struct rnull_disk *d;
static struct rnull_hctx *h;

static void submit(uint64_t cookie, unsigned flags) {
  struct rnull_io io = rd(0, 4096, cookie);
  ck_assert_int_eq(rnull_submit(h, &io, flags), 0);
}

static struct rnull_hctx *hold_disk(const char *const *kv) {
  reset_hold();
  d = make_disk(kv, &hold_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  return h;
}

START_TEST(nothing_pending_no_deadline) {
  hold_disk(NULL);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 0);
  ck_assert_uint_eq(rnull_hctx_run(h, UINT64_MAX - 1), 0);
  ck_assert_uint_eq(rnull_hctx_commit(h), 0);
  ck_assert_uint_eq(atomic_load(&nr_commits), 1); /* commit_rqs, even with nothing to run */
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  ck_assert_uint_eq(rnull_hctx_inflight(h), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  /* the engine clock is the disk's (virtual) clock */
  ck_assert_uint_eq(rnull_hctx_now(h), vclock_ns);
  vclock_ns += 12345;
  ck_assert_uint_eq(rnull_hctx_now(h), vclock_ns);
  rnull_disk_destroy(d);
}
END_TEST

/* A request with the driver: the deadline is its timeout, due at dispatch
 * + timeout_ms, not a nanosecond before. Without a timeout op the core ends
 * it (-ETIMEDOUT) only once the driver let go of it; until then each
 * timeout is counted and the request looked at again one timeout later. */
START_TEST(deadline_of_a_request_with_the_driver_is_its_timeout) {
  static const char *const kv[] = {"timeout_ms=5", NULL};
  hold_disk(kv);
  const uint64_t t0 = vclock_ns, to = 5000000;
  submit(1, RNULL_SUBMIT_LAST);
  vclock_ns = t0 + 1000;
  submit(2, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(rnull_hctx_inflight(h), 2);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + to);
  struct rnull_stats st;
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + to - 1), 0);
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.timeouts, 0);
  /* the first times out, but the driver holds it */
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + to), 0);
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.timeouts, 1);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_rq_refcount(held[0]), 2);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 1000 + to); /* the second's */
  rnull_rq_put(held[0]); /* the driver drops the first (a lost request) */
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 1000 + to), 0); /* the second, still held */
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.timeouts, 2);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 2 * to); /* the first, again */
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 2 * to - 1), 0);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 2 * to), 1);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(ends[0].cookie, 1);
  ck_assert_int_eq(ends[0].status, -ETIMEDOUT);
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.timeouts, 3);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 1000 + 2 * to);
  ck_assert_int_eq(rnull_rq_end(held[1], 0), 0);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  ck_assert_uint_eq(rnull_hctx_inflight(h), 0);
  rnull_disk_destroy(d);
}
END_TEST

/* Timers: the deadline is the earliest timer (when before the timeout);
 * run(now) ends the timers due at or before now, earliest first, and
 * leaves the others; a timer later than the timeout leaves the timeout as
 * the deadline. */
START_TEST(run_ends_due_timers_only) {
  static const char *const kv[] = {"timeout_ms=1", NULL};
  hold_disk(kv);
  uint64_t t0 = vclock_ns;
  for (unsigned i = 0; i < 5; i++)
    submit(i + 1, i == 4 ? RNULL_SUBMIT_LAST : 0);
  static const uint64_t delay[4] = {400, 100, 300, 200};
  for (unsigned i = 0; i < 4; i++)
    rnull_rq_complete_at(held[i], t0 + delay[i]);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 100);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 99), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 250), 2);
  ck_assert_uint_eq(atomic_load(&nr_ends), 2);
  ck_assert_uint_eq(ends[0].cookie, 2); /* due at +100 */
  ck_assert_uint_eq(ends[1].cookie, 4); /* due at +200 */
  ck_assert_int_eq(ends[0].status, 0);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 300);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 300), 1); /* due exactly now */
  ck_assert_uint_eq(ends[2].cookie, 3);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 400);
  ck_assert_uint_eq(rnull_hctx_inflight(h), 2);
  /* the fifth, with the driver, times out at +1 ms; a timer after that
   * leaves the timeout as the next deadline */
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 400), 1);
  ck_assert_uint_eq(ends[3].cookie, 1);
  rnull_rq_complete_at(held[4], t0 + 2000000);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 1000000);
  ck_assert_uint_eq(atomic_load(&nr_ends), 4);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 999999), 0);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 1000000), 1); /* the timeout comes first */
  ck_assert_uint_eq(ends[4].cookie, 5);
  ck_assert_int_eq(ends[4].status, -ETIMEDOUT);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  rnull_disk_destroy(d);
}
END_TEST

/* A deferred completion is due now (deadline 0), before any timer; run
 * ends it without touching a timer not yet due. */
START_TEST(deferred_completion_is_due_now) {
  hold_disk(NULL);
  uint64_t t0 = vclock_ns;
  submit(1, 0);
  submit(2, RNULL_SUBMIT_LAST);
  rnull_rq_complete_at(held[0], t0 + 100);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 100);
  rnull_rq_complete(held[1]);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0); /* deferred, not ended */
  ck_assert_uint_eq(rnull_hctx_run(h, t0), 1);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(ends[0].cookie, 2);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 100);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 100), 1);
  ck_assert_uint_eq(ends[1].cookie, 1);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  rnull_disk_destroy(d);
}
END_TEST

/* A driver that defers every request (rnull_rq_complete in queue_rq). */
static _Atomic unsigned defer_commits, ends_at_commit;
static int defer_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  rnull_rq_set_done_flags(rq, 0x4);
  rnull_rq_complete(rq);
  return 0;
}
static void defer_commit(struct rnull_hctx *hctx) {
  (void)hctx;
  /* the deferred completions run after commit_rqs */
  atomic_store(&ends_at_commit, atomic_load(&nr_ends));
  atomic_fetch_add(&defer_commits, 1);
}
static void defer_complete(struct rnull_rq *rq) { ck_assert_int_eq(rnull_rq_end(rq, 0), 0); }
static const struct rnull_ops defer_ops = {
    .queue_rq = defer_queue_rq, .commit_rqs = defer_commit, .complete = defer_complete};

START_TEST(commit_runs_deferred_completions) {
  atomic_store(&defer_commits, 0);
  d = make_disk(NULL, &defer_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  for (unsigned i = 0; i < 3; i++)
    submit(i + 1, i == 2 ? RNULL_SUBMIT_LAST : 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_hctx_inflight(h), 3);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), 0);
  ck_assert_uint_eq(rnull_hctx_commit(h), 3);
  ck_assert_uint_eq(atomic_load(&defer_commits), 1);
  ck_assert_uint_eq(atomic_load(&ends_at_commit), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 3);
  for (unsigned i = 0; i < 3; i++) {
    ck_assert_uint_eq(ends[i].cookie, i + 1); /* in the order deferred */
    ck_assert_int_eq(ends[i].status, 0);
    ck_assert_uint_eq(ends[i].flags, 0x4);
  }
  ck_assert_uint_eq(rnull_hctx_inflight(h), 0);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  ck_assert_uint_eq(rnull_hctx_commit(h), 0); /* nothing left */
  ck_assert_uint_eq(atomic_load(&defer_commits), 2);
  rnull_disk_destroy(d);
}
END_TEST

static _Atomic unsigned nr_kicks;
static struct rnull_hctx *kicked_hctx;
static void *kicked_ctx;
static void count_kick(struct rnull_hctx *hctx, void *ctx) {
  atomic_fetch_add(&nr_kicks, 1);
  kicked_hctx = hctx;
  kicked_ctx = ctx;
}

/* The kick: when a timer becomes the first (earlier than all others) or a
 * completion is deferred onto an empty list; not for a later or an equal
 * timer, nor for a second deferred completion; never once unset. */
START_TEST(kick_when_the_deadline_moves_earlier_only) {
  hold_disk(NULL);
  static int ctx;
  atomic_store(&nr_kicks, 0);
  rnull_hctx_set_kick(h, count_kick, &ctx);
  uint64_t t0 = vclock_ns;
  for (unsigned i = 0; i < 10; i++)
    submit(i + 1, i == 9 ? RNULL_SUBMIT_LAST : 0);
  ck_assert_uint_eq(atomic_load(&nr_kicks), 0); /* submissions held by the driver: nothing due */
  rnull_rq_complete_at(held[0], t0 + 50);       /* the first timer */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 1);
  ck_assert_ptr_eq(kicked_hctx, h);
  ck_assert_ptr_eq(kicked_ctx, &ctx);
  rnull_rq_complete_at(held[1], t0 + 80); /* later */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 1);
  rnull_rq_complete_at(held[2], t0 + 50); /* the same time: not earlier */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 1);
  rnull_rq_complete_at(held[3], t0 + 20); /* earlier */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 2);
  rnull_rq_requeue_at(held[4], t0 + 10); /* a delayed dispatch, earlier still */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 3);
  rnull_rq_requeue_at(held[5], t0 + 90); /* later */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 3);
  rnull_rq_complete(held[6]); /* onto the empty deferred list */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 4);
  rnull_rq_complete(held[7]); /* behind another */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 4);
  ck_assert_uint_eq(rnull_hctx_run(h, t0), 2); /* the two deferred; no timer is due */
  ck_assert_uint_eq(ends[0].cookie, 7);
  ck_assert_uint_eq(ends[1].cookie, 8);
  ck_assert_uint_eq(atomic_load(&nr_kicks), 4); /* running kicks no one */
  rnull_rq_complete(held[8]);                   /* the list is empty again */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 5);
  rnull_hctx_set_kick(h, NULL, NULL);
  rnull_rq_complete_at(held[9], t0 + 1); /* would be first */
  ck_assert_uint_eq(atomic_load(&nr_kicks), 5);
  /* the rest is due by +100: 6 end (the deferred one, 5 timers); the two
   * requeued are dispatched again, and held */
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 100), 6);
  ck_assert_uint_eq(atomic_load(&nr_held), 12);
  ck_assert_ptr_eq(held[10], held[4]);
  ck_assert_ptr_eq(held[11], held[5]);
  ck_assert_int_eq(rnull_rq_end(held[10], 0), 0);
  ck_assert_int_eq(rnull_rq_end(held[11], 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 10);
  ck_assert_uint_eq(atomic_load(&nr_kicks), 5);
  rnull_disk_destroy(d);
}
END_TEST

/* A full queue: a non-blocking submit is -EAGAIN, is not the engine's (no
 * end_io) and counts one tag wait each time; once a tag is back it goes
 * in, counting no wait. */
START_TEST(nowait_on_a_full_queue_is_eagain_and_counts_a_wait) {
  static const char *const kv[] = {"hw_queue_depth=2", NULL};
  hold_disk(kv);
  submit(1, RNULL_SUBMIT_NOWAIT);
  submit(2, RNULL_SUBMIT_NOWAIT | RNULL_SUBMIT_LAST);
  struct rnull_io io = rd(0, 4096, 3);
  ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_NOWAIT), -EAGAIN);
  struct rnull_stats st;
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.tag_waits, 1);
  ck_assert_uint_eq(st.submitted, 2);
  ck_assert_uint_eq(st.inflight, 2);
  ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_NOWAIT | RNULL_SUBMIT_LAST), -EAGAIN);
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.tag_waits, 2);
  ck_assert_uint_eq(atomic_load(&nr_held), 2); /* the driver never saw it */
  ck_assert_uint_eq(atomic_load(&nr_ends), 0); /* nor did end_io */
  ck_assert_int_eq(rnull_rq_end(held[1], 0), 0);
  ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_NOWAIT), 0);
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.tag_waits, 2);
  ck_assert_uint_eq(st.submitted, 3);
  ck_assert_uint_eq(atomic_load(&nr_held), 3);
  ck_assert_ptr_eq(rnull_rq_io(held[2])->cookie, (void *)3);
  ck_assert_int_eq(rnull_rq_end(held[0], 0), 0);
  ck_assert_int_eq(rnull_rq_end(held[2], 0), 0);
  rnull_disk_destroy(d);
}
END_TEST

/* Busy once, then held: the requeue is due at once, and the run that
 * dispatches it again counts nothing (a dispatch is not a completion) and
 * commits the batch it dispatched. */
static _Atomic unsigned busy_calls;
static int busy_once_queue_rq(struct rnull_rq *rq, bool is_last) {
  if (atomic_fetch_add(&busy_calls, 1) == 0)
    return RNULL_STS_RESOURCE;
  return hold_queue_rq(rq, is_last);
}
static const struct rnull_ops busy_once_ops = {
    .queue_rq = busy_once_queue_rq, .commit_rqs = hold_commit, .complete = hold_complete};

START_TEST(run_counts_completions_not_dispatches) {
  reset_hold();
  atomic_store(&busy_calls, 0);
  d = make_disk(NULL, &busy_once_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  uint64_t t0 = vclock_ns;
  submit(1, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(atomic_load(&busy_calls), 1);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0); /* the requeue: due now */
  ck_assert_uint_eq(atomic_load(&nr_commits), 0);
  ck_assert_uint_eq(rnull_hctx_run(h, t0), 0);
  ck_assert_uint_eq(atomic_load(&busy_calls), 2);
  ck_assert_uint_eq(atomic_load(&nr_held), 1);
  ck_assert_uint_eq(atomic_load(&nr_commits), 1);
  ck_assert(rnull_rq_requeued(held[0]));
  struct rnull_stats st;
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.requeues, 1);
  /* a delayed dispatch: not before its time */
  rnull_rq_requeue_at(held[0], t0 + 500);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 500);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 499), 0);
  ck_assert_uint_eq(atomic_load(&busy_calls), 2);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 500), 0);
  ck_assert_uint_eq(atomic_load(&busy_calls), 3);
  ck_assert_uint_eq(atomic_load(&nr_held), 2);
  ck_assert_uint_eq(atomic_load(&nr_commits), 2);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  rnull_rq_complete(held[1]);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 500), 1);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  rnull_disk_destroy(d);
}
END_TEST

/* Busy once, then ended inside queue_rq: the run that dispatches it again
 * counts 0 even though end_io was called (after queue_rq the engine may no
 * longer look at the request). */
static int busy_then_end_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  if (atomic_fetch_add(&busy_calls, 1) == 0)
    return RNULL_STS_RESOURCE;
  ck_assert_int_eq(rnull_rq_end(rq, 0), 0);
  return 0;
}
static const struct rnull_ops busy_then_end_ops = {.queue_rq = busy_then_end_queue_rq};

START_TEST(a_dispatch_that_ends_at_once_is_not_counted) {
  atomic_store(&busy_calls, 0);
  d = make_disk(NULL, &busy_then_end_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  submit(1, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 0);
  ck_assert_uint_eq(atomic_load(&busy_calls), 2);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_int_eq(ends[0].status, 0);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  rnull_disk_destroy(d);
}
END_TEST

/* run from several threads at once: every due timer completes exactly once
 * (hold_complete fails on a second end) and the runs' counts add up. */
enum { RUNNERS = 4, ROUNDS = 50, DEPTH = 256 };
static uint64_t run_at;
static void *runner(void *arg) {
  (void)arg;
  unsigned n = 0;
  for (unsigned i = 0; i < 64; i++)
    n += rnull_hctx_run(h, run_at);
  return (void *)(uintptr_t)n;
}

START_TEST(runs_from_several_threads_end_each_once) {
  static const char *const kv[] = {"hw_queue_depth=256", NULL};
  hold_disk(kv);
  for (unsigned round = 0; round < ROUNDS; round++) {
    reset_hold();
    atomic_store(&nr_ends, 0);
    uint64_t t0 = vclock_ns;
    for (unsigned i = 0; i < DEPTH; i++)
      submit(i + 1, 0);
    for (unsigned i = 0; i < DEPTH; i++)
      rnull_rq_complete_at(held[i], t0 + (i * 37u) % 101); /* all due by +100 */
    run_at = t0 + 100;
    pthread_t th[RUNNERS];
    for (unsigned i = 0; i < RUNNERS; i++)
      pthread_create(&th[i], NULL, runner, NULL);
    unsigned total = 0;
    for (unsigned i = 0; i < RUNNERS; i++) {
      void *ret;
      pthread_join(th[i], &ret);
      total += (unsigned)(uintptr_t)ret;
    }
    ck_assert_uint_eq(total, DEPTH);
    ck_assert_uint_eq(atomic_load(&nr_ends), DEPTH);
    static bool seen[DEPTH + 1];
    memset(seen, 0, sizeof seen);
    for (unsigned i = 0; i < DEPTH; i++) {
      uintptr_t c = ends[i].cookie;
      if (c < 1 || c > DEPTH || seen[c])
        ck_abort_msg("round %u: cookie %lu ended twice or unknown", round, (unsigned long)c);
      seen[c] = true;
    }
    ck_assert_uint_eq(rnull_hctx_inflight(h), 0);
    ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
    vclock_ns += 1000;
  }
  rnull_disk_destroy(d);
}
END_TEST

static int poll_result = 17;
static int answer_poll(struct rnull_hctx *hctx) {
  ck_assert_ptr_eq(hctx, h);
  return poll_result;
}
static const struct rnull_ops poll_ops = {
    .queue_rq = hold_queue_rq, .complete = hold_complete, .poll = answer_poll};

START_TEST(poll_and_accessors) {
  static const char *const kv[] = {"submit_queues=3", NULL};
  hold_disk(kv);
  ck_assert_int_eq(rnull_hctx_poll(h), 0); /* no poll op */
  rnull_disk_destroy(d);
  static int data;
  d = make_disk(kv, &poll_ops, &data);
  h = rnull_disk_hctx(d, 0);
  ck_assert_int_eq(rnull_hctx_poll(h), 17);
  poll_result = -5;
  ck_assert_int_eq(rnull_hctx_poll(h), -5);
  for (unsigned i = 0; i < 3; i++) {
    struct rnull_hctx *q = rnull_disk_hctx(d, i);
    ck_assert_uint_eq(rnull_hctx_index(q), i);
    ck_assert_ptr_eq(rnull_hctx_disk(q), d);
    ck_assert_ptr_eq(rnull_hctx_driver_data(q), &data); /* the disk's by default */
  }
  static int mine;
  rnull_hctx_set_driver_data(rnull_disk_hctx(d, 2), &mine);
  ck_assert_ptr_eq(rnull_hctx_driver_data(rnull_disk_hctx(d, 2)), &mine);
  ck_assert_ptr_eq(rnull_hctx_driver_data(rnull_disk_hctx(d, 1)), &data);
  rnull_disk_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("hctx");
  TCase *tc = new_tcase("hctx");
  tcase_add_test(tc, nothing_pending_no_deadline);
  tcase_add_test(tc, deadline_of_a_request_with_the_driver_is_its_timeout);
  tcase_add_test(tc, run_ends_due_timers_only);
  tcase_add_test(tc, deferred_completion_is_due_now);
  tcase_add_test(tc, commit_runs_deferred_completions);
  tcase_add_test(tc, kick_when_the_deadline_moves_earlier_only);
  tcase_add_test(tc, nowait_on_a_full_queue_is_eagain_and_counts_a_wait);
  tcase_add_test(tc, run_counts_completions_not_dispatches);
  tcase_add_test(tc, a_dispatch_that_ends_at_once_is_not_counted);
  tcase_add_test(tc, runs_from_several_threads_end_each_once);
  tcase_add_test(tc, poll_and_accessors);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
