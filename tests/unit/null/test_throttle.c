/* The mbps token bucket, in virtual time: now_ns values are passed in, no
 * test sleeps. Expectations follow from rate = mbps MiB/s and the bucket's
 * burst (read from the struct, whatever size the engine picks). */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "null/throttle.h"

#define MiB (1024ull * 1024)
#define SEC 1000000000ull

/* ns to pay off bytes at rate bytes/s */
static uint64_t ns_for(uint64_t bytes, uint64_t rate) { return bytes * SEC / rate; }

/* |a - b| <= 1 ns: the bucket keeps fractional tokens as a double */
#define ck_assert_ns(a, b)                                                                         \
  do {                                                                                             \
    uint64_t a_ = (a), b_ = (b);                                                                   \
    ck_assert_msg((a_ > b_ ? a_ - b_ : b_ - a_) <= 1, "%s = %llu, expected %llu", #a,              \
                  (unsigned long long)a_, (unsigned long long)b_);                                 \
  } while (0)

START_TEST(unlimited_never_waits) {
  struct rnull_throttle t;
  rnull_throttle_init(&t, 0, 1000);
  for (uint64_t i = 0; i < 1000; i++)
    ck_assert_uint_eq(rnull_throttle_reserve(&t, 32 * MiB, 1000 + i), 1000 + i);
  rnull_throttle_destroy(&t);
}
END_TEST

START_TEST(rate_is_mbps_in_mib) {
  struct rnull_throttle t;
  rnull_throttle_init(&t, 100, 0);
  ck_assert_uint_eq(t.rate, 100 * MiB);
  ck_assert_uint_gt(t.burst, 0);
  rnull_throttle_destroy(&t);
}
END_TEST

START_TEST(burst_goes_at_once_then_waits) {
  struct rnull_throttle t;
  uint64_t t0 = 5 * SEC; /* any start time */
  rnull_throttle_init(&t, 100, t0);
  uint64_t rate = t.rate, burst = t.burst;
  /* A full bucket: the burst passes without waiting. */
  ck_assert_uint_eq(rnull_throttle_reserve(&t, burst, t0), t0);
  /* Empty now: each further MiB waits its own 1 MiB / rate more. */
  for (uint64_t i = 1; i <= 10; i++)
    ck_assert_ns(rnull_throttle_reserve(&t, MiB, t0), t0 + i * ns_for(MiB, rate));
  rnull_throttle_destroy(&t);
}
END_TEST

START_TEST(small_requests_within_burst_do_not_wait) {
  struct rnull_throttle t;
  rnull_throttle_init(&t, 10, 0);
  uint64_t n = t.burst / 4096;
  for (uint64_t i = 0; i < n; i++)
    ck_assert_uint_eq(rnull_throttle_reserve(&t, 4096, 0), 0);
  /* the next one is the first to wait, for what the bucket lacks of it */
  uint64_t left = t.burst - n * 4096;
  ck_assert_ns(rnull_throttle_reserve(&t, 4096, 0), ns_for(4096 - left, t.rate));
  rnull_throttle_destroy(&t);
}
END_TEST

START_TEST(refill_over_time) {
  struct rnull_throttle t;
  rnull_throttle_init(&t, 1, 0); /* 1 MiB/s */
  uint64_t rate = t.rate, burst = t.burst;
  ck_assert_uint_eq(rnull_throttle_reserve(&t, burst, 0), 0);
  /* Half a second later half a MiB has come back: 512 KiB go now. */
  ck_assert_uint_eq(rnull_throttle_reserve(&t, MiB / 2, SEC / 2), SEC / 2);
  /* and the next 512 KiB wait another half second. */
  ck_assert_ns(rnull_throttle_reserve(&t, MiB / 2, SEC / 2), SEC / 2 + ns_for(MiB / 2, rate));
  rnull_throttle_destroy(&t);
}
END_TEST

START_TEST(idle_time_is_capped_at_the_burst) {
  struct rnull_throttle t;
  rnull_throttle_init(&t, 10, 0);
  uint64_t rate = t.rate, burst = t.burst;
  /* 100 s idle would be 1000 MiB of budget, but the bucket holds burst. */
  uint64_t now = 100 * SEC;
  ck_assert_uint_eq(rnull_throttle_reserve(&t, burst, now), now);
  ck_assert_ns(rnull_throttle_reserve(&t, MiB, now), now + ns_for(MiB, rate));
  rnull_throttle_destroy(&t);
}
END_TEST

START_TEST(a_request_bigger_than_the_burst_waits_for_the_excess) {
  struct rnull_throttle t;
  rnull_throttle_init(&t, 10, 0);
  uint64_t big = t.burst + 3 * MiB;
  ck_assert_ns(rnull_throttle_reserve(&t, big, 0), ns_for(3 * MiB, t.rate));
  rnull_throttle_destroy(&t);
}
END_TEST

START_TEST(steady_stream_runs_at_the_rate) {
  /* The engine dispatches each request when told; a stream of 64 KiB
   * requests submitted back to back then takes (total - burst) / rate. */
  struct rnull_throttle t;
  rnull_throttle_init(&t, 50, 0);
  uint64_t rate = t.rate, burst = t.burst, total = 0, last = 0;
  for (unsigned i = 0; i < 4000; i++) {
    last = rnull_throttle_reserve(&t, 65536, 0);
    total += 65536;
  }
  ck_assert_uint_gt(total, burst);
  uint64_t expect = ns_for(total - burst, rate);
  ck_assert_msg(last + 1000 >= expect && last <= expect + 1000, "last %llu expected %llu",
                (unsigned long long)last, (unsigned long long)expect);
  rnull_throttle_destroy(&t);
}
END_TEST

START_TEST(now_going_backwards_does_not_add_budget) {
  /* Threads read the clock at different moments: an older now must not
   * refill (or un-refill) the bucket. */
  struct rnull_throttle t;
  rnull_throttle_init(&t, 1, 10 * SEC);
  uint64_t rate = t.rate, burst = t.burst;
  ck_assert_uint_eq(rnull_throttle_reserve(&t, burst, 10 * SEC), 10 * SEC);
  uint64_t w = rnull_throttle_reserve(&t, MiB, 9 * SEC);
  ck_assert_ns(w, 10 * SEC + ns_for(MiB, rate));
  rnull_throttle_destroy(&t);
}
END_TEST

/* Concurrent reservations account every byte: 4 threads x 1000 x 64 KiB at
 * one instant end exactly (total - burst) / rate later. */
struct th_arg {
  struct rnull_throttle *t;
  uint64_t latest;
};

static void *reserver(void *p) {
  struct th_arg *a = p;
  for (unsigned i = 0; i < 1000; i++) {
    uint64_t w = rnull_throttle_reserve(a->t, 65536, SEC);
    if (w > a->latest)
      a->latest = w;
  }
  return NULL;
}

START_TEST(concurrent_reservations_account_every_byte) {
  struct rnull_throttle t;
  rnull_throttle_init(&t, 100, SEC);
  pthread_t th[4];
  struct th_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (struct th_arg){&t, 0};
    ck_assert_int_eq(pthread_create(&th[i], NULL, reserver, &args[i]), 0);
  }
  uint64_t latest = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    if (args[i].latest > latest)
      latest = args[i].latest;
  }
  uint64_t expect = SEC + ns_for(4000ull * 65536 - t.burst, t.rate);
  ck_assert_msg(latest + 1000 >= expect && latest <= expect + 1000, "latest %llu expected %llu",
                (unsigned long long)latest, (unsigned long long)expect);
  rnull_throttle_destroy(&t);
}
END_TEST

Suite *throttle_suite(void) {
  Suite *s = suite_create("throttle");
  TCase *t = tcase_create("bucket");
  tcase_add_test(t, unlimited_never_waits);
  tcase_add_test(t, rate_is_mbps_in_mib);
  tcase_add_test(t, burst_goes_at_once_then_waits);
  tcase_add_test(t, small_requests_within_burst_do_not_wait);
  tcase_add_test(t, refill_over_time);
  tcase_add_test(t, idle_time_is_capped_at_the_burst);
  tcase_add_test(t, a_request_bigger_than_the_burst_waits_for_the_excess);
  tcase_add_test(t, steady_stream_runs_at_the_rate);
  tcase_add_test(t, now_going_backwards_does_not_add_budget);
  tcase_add_test(t, concurrent_reservations_account_every_byte);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(throttle_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
