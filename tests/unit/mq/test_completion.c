/* Completion modes (direct, softirq, timer), deadlines, requeue, timeouts,
 * commit_rqs and is_last, all in virtual time. */
#include "fixture.h"

static struct rnull_disk *d;
static struct rnull_hctx *h;

static void submit_reads(unsigned n, unsigned flags_last) {
  for (unsigned i = 0; i < n; i++) {
    struct rnull_io io = rd((uint64_t)i * 4096, 4096, i + 1);
    ck_assert_int_eq(rnull_submit(h, &io, i + 1 == n ? flags_last : 0), 0);
  }
}

START_TEST(direct_ends_inside_submit) {
  static const char *const kv[] = {"irqmode=none", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  submit_reads(3, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(atomic_load(&nr_ends), 3);
  for (unsigned i = 0; i < 3; i++)
    ck_assert_uint_eq(ends[i].cookie, i + 1);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  ck_assert_uint_eq(rnull_hctx_inflight(h), 0);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(softirq_ends_at_commit_in_order) {
  static const char *const kv[] = {"irqmode=softirq", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  submit_reads(5, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0); /* deferred: nothing ended yet */
  ck_assert_uint_eq(rnull_hctx_inflight(h), 5);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), 0); /* due now */
  ck_assert_uint_eq(rnull_hctx_commit(h), 5);
  ck_assert_uint_eq(atomic_load(&nr_ends), 5);
  for (unsigned i = 0; i < 5; i++)
    ck_assert_uint_eq(ends[i].cookie, i + 1);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(softirq_also_ends_at_next_run) {
  static const char *const kv[] = {"irqmode=1", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  submit_reads(2, 0);
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 2);
  ck_assert_uint_eq(atomic_load(&nr_ends), 2);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(timer_ends_completion_nsec_after_submission) {
  static const char *const kv[] = {"irqmode=timer", "completion_nsec=5000", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  uint64_t t0 = vclock_ns;
  submit_reads(1, RNULL_SUBMIT_LAST); /* at t0 */
  vclock_ns = t0 + 1000;
  submit_reads(1, RNULL_SUBMIT_LAST); /* at t0 + 1000 */
  rnull_hctx_commit(h);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 5000);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 4999), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 5000), 1);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 6000);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 10000), 1);
  ck_assert_uint_eq(atomic_load(&nr_ends), 2);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  rnull_disk_destroy(d);
}
END_TEST

/* Timers set out of order end in deadline order (the heap). */
START_TEST(timers_end_in_deadline_order) {
  reset_hold();
  d = make_disk(NULL, &hold_ops, NULL); /* the hold driver: its own timers */
  h = rnull_disk_hctx(d, 0);
  submit_reads(8, RNULL_SUBMIT_LAST);
  static const unsigned delay[8] = {70, 10, 50, 30, 80, 20, 60, 40};
  for (unsigned i = 0; i < 8; i++)
    rnull_rq_complete_at(held[i], vclock_ns + delay[i]);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), vclock_ns + 10);
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns + 100), 8);
  static const unsigned order[8] = {2, 6, 4, 8, 3, 7, 1, 5}; /* cookies by delay */
  for (unsigned i = 0; i < 8; i++)
    ck_assert_uint_eq(ends[i].cookie, order[i]);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(commit_rqs_and_is_last_reach_the_driver) {
  reset_hold();
  d = make_disk(NULL, &hold_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  submit_reads(4, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(atomic_load(&nr_held), 4);
  ck_assert_uint_eq(atomic_load(&nr_last), 1);
  rnull_hctx_commit(h);
  ck_assert_uint_eq(atomic_load(&nr_commits), 1);
  for (unsigned i = 0; i < 4; i++)
    ck_assert_int_eq(rnull_rq_end(held[i], 0), 0);
  rnull_disk_destroy(d);
}
END_TEST

/* A driver that drops every request: blk-mq's timeout path must end it. */
static int drop_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  rnull_rq_put(rq); /* owned, no reference: state 1 */
  return 0;
}
static const struct rnull_ops drop_ops = {.queue_rq = drop_queue_rq};

START_TEST(timeout_ends_a_lost_request_after_timeout_ms) {
  static const char *const kv[] = {"timeout_ms=100", NULL};
  d = make_disk(kv, &drop_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  uint64_t t0 = vclock_ns;
  submit_reads(2, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 100000000ull);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 99999999ull), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 100000000ull), 2);
  ck_assert_uint_eq(atomic_load(&nr_ends), 2);
  ck_assert_int_eq(ends[0].status, -ETIMEDOUT);
  ck_assert_int_eq(ends[1].status, -ETIMEDOUT);
  struct rnull_stats st;
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.timeouts, 2);
  ck_assert_uint_eq(st.errors, 2);
  ck_assert_uint_eq(st.completed, 2);
  rnull_disk_destroy(d);
}
END_TEST

/* A timer completion later than the timeout: the timeout wins, the timer
 * never fires on a reused tag. */
START_TEST(timeout_beats_a_late_timer) {
  static const char *const kv[] = {"irqmode=timer", "completion_nsec=500000000", "timeout_ms=100",
                                   "hw_queue_depth=1", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  uint64_t t0 = vclock_ns;
  submit_reads(1, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + 100000000ull);
  vclock_ns = t0 + 100000000ull;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 1);
  ck_assert_int_eq(ends[0].status, -ETIMEDOUT);
  vclock_ns = t0 + 450000000ull;
  submit_reads(1, RNULL_SUBMIT_LAST); /* reuses the only tag; times out at t0 + 550 ms */
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 500000000ull), 0); /* the old timer is gone */
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(rnull_hctx_run(h, t0 + 550000000ull), 1);
  ck_assert_int_eq(ends[1].status, -ETIMEDOUT);
  rnull_disk_destroy(d);
}
END_TEST

/* A driver that is busy once per request: requeued, then served. */
static int busy_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  if (!rnull_rq_requeued(rq))
    return RNULL_STS_RESOURCE;
  return rnull_rq_end(rq, 0);
}
static const struct rnull_ops busy_ops = {.queue_rq = busy_queue_rq};

START_TEST(requeue_dispatches_again_on_next_run) {
  d = make_disk(NULL, &busy_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  submit_reads(3, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_le(rnull_hctx_next_deadline(h), vclock_ns);
  rnull_hctx_run(h, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), 3);
  struct rnull_stats st;
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.requeues, 3);
  ck_assert_uint_eq(st.errors, 0);
  rnull_disk_destroy(d);
}
END_TEST

/* A pacing driver: the first dispatch gives the request back until 50 ms
 * later (rnull_rq_requeue_at), the second loses it (drops its reference). */
#define PACE_NS 50000000ull
static int pace_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  if (!rnull_rq_requeued(rq)) {
    rnull_rq_requeue_at(rq, rnull_rq_start_time(rq) + PACE_NS);
    return 0;
  }
  rnull_rq_put(rq);
  return 0;
}
static const struct rnull_ops pace_ops = {.queue_rq = pace_queue_rq};

START_TEST(requeue_at_waits_uncounted_and_restarts_the_timeout) {
  static const char *const kv[] = {"timeout_ms=30", NULL};
  d = make_disk(kv, &pace_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  uint64_t t0 = vclock_ns;
  submit_reads(1, RNULL_SUBMIT_LAST);
  /* waiting, not started: the 30 ms timeout does not run yet */
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + PACE_NS);
  vclock_ns = t0 + PACE_NS - 1;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 0);
  vclock_ns = t0 + PACE_NS; /* dispatched again, lost: times out 30 ms on */
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 0);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), t0 + PACE_NS + 30000000ull);
  vclock_ns = t0 + PACE_NS + 30000000ull;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 1);
  ck_assert_int_eq(ends[0].status, -ETIMEDOUT);
  struct rnull_stats st;
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.requeues, 0); /* pacing is not a requeue */
  ck_assert_uint_eq(st.timeouts, 1);
  rnull_disk_destroy(d);
}
END_TEST

/* A driver that defers every completion (rnull_rq_complete) with a result
 * in its PDU: ended at commit, with the flags it set. */
static int defer_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  *(int *)rnull_rq_pdu(rq) = rnull_rq_io(rq)->offset ? -EIO : 0;
  rnull_rq_set_done_flags(rq, RNULL_DONE_ZERO);
  rnull_rq_complete(rq);
  return 0;
}
static void defer_complete(struct rnull_rq *rq) {
  ck_assert_int_eq(rnull_rq_end(rq, *(int *)rnull_rq_pdu(rq)), 0);
}
static const struct rnull_ops defer_ops = {
    .queue_rq = defer_queue_rq, .complete = defer_complete, .cmd_size = sizeof(int)};

START_TEST(driver_deferred_completion_carries_status_and_flags) {
  d = make_disk(NULL, &defer_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  submit_reads(2, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_hctx_commit(h), 2);
  ck_assert_int_eq(ends[0].status, 0);
  ck_assert_uint_eq(ends[0].flags, RNULL_DONE_ZERO);
  ck_assert_int_eq(ends[1].status, -EIO);
  ck_assert_uint_eq(ends[1].flags, 0);     /* no done flags with an error */
  ck_assert_int_eq(rnull_hctx_poll(h), 0); /* no poll op */
  rnull_disk_destroy(d);
}
END_TEST

/* queue_rq's error ends the request with that error. */
static int fail_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)rq, (void)is_last;
  return -EIO;
}
static const struct rnull_ops fail_ops = {.queue_rq = fail_queue_rq};

START_TEST(queue_rq_error_ends_the_request) {
  d = make_disk(NULL, &fail_ops, NULL);
  h = rnull_disk_hctx(d, 0);
  submit_reads(1, RNULL_SUBMIT_LAST);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_int_eq(ends[0].status, -EIO);
  ck_assert_uint_eq(rnull_tags_free(h), 256);
  rnull_disk_destroy(d);
}
END_TEST

/* init/exit callbacks run once per hctx and per request. */
static _Atomic int inits_hctx, inits_rq, exits_hctx, exits_rq;
static int cnt_init_hctx(struct rnull_hctx *hh, void *dd, unsigned i) {
  (void)hh, (void)dd, (void)i;
  atomic_fetch_add(&inits_hctx, 1);
  return 0;
}
static void cnt_exit_hctx(struct rnull_hctx *hh, unsigned i) {
  (void)hh, (void)i;
  atomic_fetch_add(&exits_hctx, 1);
}
static int cnt_init_rq(struct rnull_rq *rq, void *dd, unsigned i) {
  (void)dd, (void)i;
  ck_assert_ptr_nonnull(rnull_rq_pdu(rq));
  atomic_fetch_add(&inits_rq, 1);
  return 0;
}
static void cnt_exit_rq(struct rnull_rq *rq, unsigned i) {
  (void)rq, (void)i;
  atomic_fetch_add(&exits_rq, 1);
}
static const struct rnull_ops cnt_ops = {.queue_rq = busy_queue_rq,
                                         .init_hctx = cnt_init_hctx,
                                         .exit_hctx = cnt_exit_hctx,
                                         .init_request = cnt_init_rq,
                                         .exit_request = cnt_exit_rq,
                                         .cmd_size = 16};

START_TEST(init_and_exit_callbacks) {
  static const char *const kv[] = {"submit_queues=3", "hw_queue_depth=5", NULL};
  d = make_disk(kv, &cnt_ops, NULL);
  ck_assert_int_eq(atomic_load(&inits_hctx), 3);
  ck_assert_int_eq(atomic_load(&inits_rq), 15);
  rnull_disk_destroy(d);
  ck_assert_int_eq(atomic_load(&exits_hctx), 3);
  ck_assert_int_eq(atomic_load(&exits_rq), 15);
}
END_TEST

/* A fault's space is a budget of requests (each weighs 1, as in null_blk),
 * whatever their size: space=3 lets two requests through (should_fail
 * passes while space > size). */
START_TEST(fault_space_counts_requests_not_bytes) {
  static const char *const kv[] = {"error=1,100,3,-1", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  for (unsigned i = 0; i < 4; i++) {
    struct rnull_io io = rd(0, 1u << 20, i); /* 1 MiB each */
    ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_LAST), 0);
  }
  ck_assert_uint_eq(atomic_load(&nr_ends), 4);
  ck_assert_int_eq(ends[0].status, 0);
  ck_assert_int_eq(ends[1].status, 0);
  ck_assert_int_eq(ends[2].status, -EIO);
  ck_assert_int_eq(ends[3].status, -EIO);
  rnull_disk_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("completion");
  TCase *tc = new_tcase("completion");
  tcase_add_test(tc, direct_ends_inside_submit);
  tcase_add_test(tc, softirq_ends_at_commit_in_order);
  tcase_add_test(tc, softirq_also_ends_at_next_run);
  tcase_add_test(tc, timer_ends_completion_nsec_after_submission);
  tcase_add_test(tc, timers_end_in_deadline_order);
  tcase_add_test(tc, commit_rqs_and_is_last_reach_the_driver);
  tcase_add_test(tc, timeout_ends_a_lost_request_after_timeout_ms);
  tcase_add_test(tc, timeout_beats_a_late_timer);
  tcase_add_test(tc, requeue_dispatches_again_on_next_run);
  tcase_add_test(tc, queue_rq_error_ends_the_request);
  tcase_add_test(tc, requeue_at_waits_uncounted_and_restarts_the_timeout);
  tcase_add_test(tc, driver_deferred_completion_carries_status_and_flags);
  tcase_add_test(tc, init_and_exit_callbacks);
  tcase_add_test(tc, fault_space_counts_requests_not_bytes);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
