/* The tag set: exhaustion, non-blocking refusal, blocking wait, counting. */
#include <unistd.h>

#include "fixture.h"

static struct rnull_disk *d;
static struct rnull_hctx *h;

static void setup(void) {
  static const char *const kv[] = {"hw_queue_depth=4", "submit_queues=2", NULL};
  reset_hold();
  d = make_disk(kv, &hold_ops, NULL);
  h = rnull_disk_hctx(d, 0);
}
static void teardown(void) { rnull_disk_destroy(d); }

START_TEST(full_queue_refuses_with_eagain_and_counts) {
  for (unsigned i = 0; i < 4; i++) {
    struct rnull_io io = rd(0, 4096, i);
    ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_NOWAIT), 0);
  }
  ck_assert_uint_eq(rnull_tags_free(h), 0);
  struct rnull_io io = rd(0, 4096, 99);
  ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_NOWAIT), -EAGAIN);
  struct rnull_stats st;
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.tag_waits, 1);
  ck_assert_uint_eq(st.submitted, 4);
  ck_assert_uint_eq(st.inflight, 4);
  ck_assert_uint_eq(st.inflight_hwm, 4);
  /* the other queue has its own tags */
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 1), &io, RNULL_SUBMIT_NOWAIT), 0);
  ck_assert_int_eq(rnull_rq_end(held[4], 0), 0);
  ck_assert_int_eq(rnull_rq_end(held[0], 0), 0);
  ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_NOWAIT), 0); /* a tag came back */
  for (unsigned i = 1; i < 4; i++)
    ck_assert_int_eq(rnull_rq_end(held[i], 0), 0);
  ck_assert_int_eq(rnull_rq_end(held[5], 0), 0);
}
END_TEST

static void *blocking_submit(void *arg) {
  (void)arg;
  struct rnull_io io = rd(0, 4096, 1234);
  return (void *)(intptr_t)rnull_submit(h, &io, 0); /* waits for a tag */
}

START_TEST(full_queue_waits_until_a_tag_frees) {
  for (unsigned i = 0; i < 4; i++) {
    struct rnull_io io = rd(0, 4096, i);
    ck_assert_int_eq(rnull_submit(h, &io, 0), 0);
  }
  pthread_t th;
  pthread_create(&th, NULL, blocking_submit, NULL);
  /* it cannot get in while the queue is full; wait until it is counted */
  struct rnull_stats st;
  for (int i = 0; i < 5000; i++) {
    rnull_hctx_stats(h, &st);
    if (st.tag_waits)
      break;
    usleep(1000);
  }
  ck_assert_uint_eq(st.tag_waits, 1);
  ck_assert_uint_eq(atomic_load(&nr_held), 4); /* still blocked */
  ck_assert_int_eq(rnull_rq_end(held[2], 0), 0);
  void *ret;
  pthread_join(th, &ret);
  ck_assert_int_eq((int)(intptr_t)ret, 0);
  ck_assert_uint_eq(atomic_load(&nr_held), 5);
  ck_assert_uint_eq(rnull_rq_io(held[4])->cookie == (void *)1234, 1);
  for (unsigned i = 0; i < 5; i++)
    if (i != 2)
      ck_assert_int_eq(rnull_rq_end(held[i], 0), 0);
}
END_TEST

START_TEST(destroy_wakes_no_one_but_shutdown_refuses) {
  /* a disk that was never added has no queues to submit to */
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  struct rnull_disk *d2;
  ck_assert_int_eq(rnull_disk_create(&d2, &cfg.core, err, sizeof err), 0);
  ck_assert_ptr_null(rnull_disk_hctx(d2, 0));
  struct rnull_io io = rd(0, 4096, 1);
  ck_assert_int_eq(rnull_disk_check_io(d2, &io), -ESHUTDOWN);
  rnull_disk_destroy(d2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tagset");
  TCase *tc = new_tcase("tagset");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, full_queue_refuses_with_eagain_and_counts);
  tcase_add_test(tc, full_queue_waits_until_a_tag_frees);
  tcase_add_test(tc, destroy_wakes_no_one_but_shutdown_refuses);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
