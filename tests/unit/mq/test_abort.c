/* rnull_hctx_abort: requests waiting in the core (throttled, requeued, timer
 * completions) or dropped by the driver (timeout fault) are ended at once
 * with the given status, selectively by cookie; those with the driver are
 * not touched. What a front end uses for a closed connection's requests and
 * for a shutdown that may wait no longer. */
#include "fixture.h"

static bool cookie_is(void *cookie, void *arg) { return cookie == arg; }

static int status_of(uintptr_t cookie) {
  for (unsigned i = 0; i < atomic_load(&nr_ends); i++)
    if (ends[i].cookie == cookie)
      return ends[i].status;
  return 1; /* not ended */
}

START_TEST(throttled_requests_are_cancelled_by_cookie) {
  const char *kv[] = {"mbps=1", "size=64M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  /* 1 MiB of burst: the first goes, the next three wait seconds each */
  for (uintptr_t c = 1; c <= 4; c++) {
    struct rnull_io io = rd(0, 1 << 20, c);
    ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_LAST), 0);
  }
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(rnull_hctx_abort(h, cookie_is, (void *)3, -ECANCELED), 1);
  ck_assert_int_eq(status_of(3), -ECANCELED);
  ck_assert_int_eq(status_of(2), 1);
  ck_assert_uint_eq(rnull_hctx_abort(h, NULL, NULL, -ESHUTDOWN), 2);
  ck_assert_int_eq(status_of(2), -ESHUTDOWN);
  ck_assert_int_eq(status_of(4), -ESHUTDOWN);
  ck_assert_uint_eq(rnull_hctx_inflight(h), 0);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  ck_assert_uint_eq(rnull_hctx_abort(h, NULL, NULL, -ESHUTDOWN), 0);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(lost_and_timer_requests_are_cancelled) {
  const char *kv[] = {"timeout=1,100,0,1",  "irqmode=timer", "completion_nsec=10000000000",
                      "timeout_ms=3600000", "size=64M",      NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  struct rnull_io a = rd(0, 4096, 1), b = rd(4096, 4096, 2);
  ck_assert_int_eq(rnull_submit(h, &a, RNULL_SUBMIT_LAST), 0); /* lost (timeout fault) */
  ck_assert_int_eq(rnull_submit(h, &b, RNULL_SUBMIT_LAST), 0); /* completes in 10 s */
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_hctx_abort(h, cookie_is, (void *)1, -ESHUTDOWN), 1);
  ck_assert_int_eq(status_of(1), -ESHUTDOWN);
  ck_assert_uint_eq(rnull_hctx_abort(h, NULL, NULL, -ESHUTDOWN), 1);
  ck_assert_int_eq(status_of(2), -ESHUTDOWN);
  ck_assert_uint_eq(rnull_hctx_inflight(h), 0);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(requests_with_the_driver_are_left_alone) {
  reset_hold();
  struct rnull_disk *d = make_disk(NULL, &hold_ops, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  struct rnull_io a = rd(0, 4096, 1);
  ck_assert_int_eq(rnull_submit(h, &a, RNULL_SUBMIT_LAST), 0);
  ck_assert_uint_eq(rnull_hctx_abort(h, NULL, NULL, -ESHUTDOWN), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_int_eq(rnull_rq_end(held[0], 0), 0);
  ck_assert_int_eq(status_of(1), 0);
  rnull_disk_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("abort");
  TCase *tc = new_tcase("abort");
  tcase_add_test(tc, throttled_requests_are_cancelled_by_cookie);
  tcase_add_test(tc, lost_and_timer_requests_are_cancelled);
  tcase_add_test(tc, requests_with_the_driver_are_left_alone);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
