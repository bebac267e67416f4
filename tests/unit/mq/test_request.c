/* The request lifecycle: each refcount state and transition. */
#include "fixture.h"

static struct rnull_disk *d;
static struct rnull_hctx *h;

static void setup(void) {
  static const char *const kv[] = {"hw_queue_depth=4", NULL};
  reset_hold();
  d = make_disk(kv, &hold_ops, NULL);
  h = rnull_disk_hctx(d, 0);
}
static void teardown(void) { rnull_disk_destroy(d); }

START_TEST(free_tags_are_state_0_and_tag_to_rq_fails) {
  for (uint32_t t = 0; t < 4; t++)
    ck_assert_ptr_null(rnull_tag_to_rq(h, t));
  ck_assert_ptr_null(rnull_tag_to_rq(h, 4)); /* out of range */
  ck_assert_uint_eq(rnull_tags_free(h), 4);
}
END_TEST

START_TEST(tag_get_gives_state_2) {
  struct rnull_rq *rq;
  ck_assert_int_eq(rnull_tag_get(h, true, &rq), 0);
  ck_assert_uint_eq(rnull_rq_refcount(rq), 2);
  ck_assert_uint_eq(rnull_tags_free(h), 3);
  ck_assert_int_eq(rnull_rq_end(rq, 0), 0);
  ck_assert_uint_eq(rnull_rq_refcount(rq), 0);
  ck_assert_uint_eq(rnull_tags_free(h), 4);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
}
END_TEST

START_TEST(end_refused_while_shared_caller_keeps_reference) {
  struct rnull_io io = rd(0, 4096, 7);
  ck_assert_int_eq(rnull_submit(h, &io, 0), 0);
  struct rnull_rq *rq = held[0];
  ck_assert_uint_eq(rnull_rq_refcount(rq), 2);
  struct rnull_rq *other = rnull_tag_to_rq(h, rnull_rq_tag(rq)); /* shared: 3 */
  ck_assert_ptr_eq(other, rq);
  ck_assert_uint_eq(rnull_rq_refcount(rq), 3);
  ck_assert_int_eq(rnull_rq_end(rq, 0), -EBUSY);
  ck_assert_uint_eq(rnull_rq_refcount(rq), 3); /* nothing changed */
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  rnull_rq_put(other); /* back to 2 */
  ck_assert_uint_eq(rnull_rq_refcount(rq), 2);
  ck_assert_int_eq(rnull_rq_end(rq, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(ends[0].cookie, 7);
  ck_assert_ptr_null(rnull_tag_to_rq(h, rnull_rq_tag(rq))); /* free again */
}
END_TEST

START_TEST(state_1_owned_without_reference) {
  struct rnull_io io = rd(0, 4096, 1);
  ck_assert_int_eq(rnull_submit(h, &io, 0), 0);
  struct rnull_rq *rq = held[0];
  rnull_rq_put(rq); /* driver keeps it, holds no reference */
  ck_assert_uint_eq(rnull_rq_refcount(rq), 1);
  ck_assert_int_eq(rnull_rq_end(rq, 0), -EBUSY);                 /* nobody holds the reference */
  struct rnull_rq *again = rnull_tag_to_rq(h, rnull_rq_tag(rq)); /* 1 -> 2 */
  ck_assert_ptr_eq(again, rq);
  ck_assert_uint_eq(rnull_rq_refcount(rq), 2);
  ck_assert_int_eq(rnull_rq_end(again, -EIO), 0);
  ck_assert_int_eq(ends[0].status, -EIO);
}
END_TEST

START_TEST(many_shared_references) {
  struct rnull_io io = rd(0, 4096, 1);
  ck_assert_int_eq(rnull_submit(h, &io, 0), 0);
  struct rnull_rq *rq = held[0];
  for (int i = 0; i < 10; i++)
    rnull_rq_get(rq);
  ck_assert_uint_eq(rnull_rq_refcount(rq), 12);
  for (int i = 0; i < 10; i++) {
    ck_assert_int_eq(rnull_rq_end(rq, 0), -EBUSY);
    rnull_rq_put(rq);
  }
  ck_assert_int_eq(rnull_rq_end(rq, 0), 0);
}
END_TEST

START_TEST(pdu_is_per_request_and_distinct) {
  struct rnull_rq *a, *b;
  ck_assert_int_eq(rnull_tag_get(h, true, &a), 0);
  ck_assert_int_eq(rnull_tag_get(h, true, &b), 0);
  ck_assert_ptr_nonnull(rnull_rq_pdu(a));
  ck_assert_ptr_ne(rnull_rq_pdu(a), rnull_rq_pdu(b));
  memset(rnull_rq_pdu(a), 0xaa, 64);
  memset(rnull_rq_pdu(b), 0xbb, 64);
  ck_assert_uint_eq(((unsigned char *)rnull_rq_pdu(a))[63], 0xaa);
  ck_assert_int_eq(rnull_rq_end(a, 0), 0);
  ck_assert_int_eq(rnull_rq_end(b, 0), 0);
}
END_TEST

/* tag_to_rq racing with end: never a reference on a free or reused request. */
static _Atomic bool stop_race;
static void *lookup_loop(void *arg) {
  struct rnull_hctx *hh = arg;
  unsigned long got = 0;
  while (!atomic_load(&stop_race)) {
    for (uint32_t t = 0; t < 4; t++) {
      struct rnull_rq *rq = rnull_tag_to_rq(hh, t);
      if (rq) {
        ck_assert_uint_ge(rnull_rq_refcount(rq), 2);
        rnull_rq_put(rq);
        got++;
      }
    }
  }
  return (void *)got;
}

START_TEST(tag_to_rq_races_safely_with_end) {
  pthread_t th;
  atomic_store(&stop_race, false);
  pthread_create(&th, NULL, lookup_loop, h);
  unsigned ended = 0;
  for (int i = 0; i < 5000; i++) {
    struct rnull_rq *rq;
    ck_assert_int_eq(rnull_tag_get(h, false, &rq), 0);
    /* end may be refused while the lookup thread holds a reference */
    while (rnull_rq_end(rq, 0) == -EBUSY)
      ;
    ended++;
  }
  atomic_store(&stop_race, true);
  pthread_join(th, NULL);
  ck_assert_uint_eq(ended, 5000);
  ck_assert_uint_eq(rnull_tags_free(h), 4);
}
END_TEST

int main(void) {
  Suite *s = suite_create("request");
  TCase *tc = new_tcase("lifecycle");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, free_tags_are_state_0_and_tag_to_rq_fails);
  tcase_add_test(tc, tag_get_gives_state_2);
  tcase_add_test(tc, end_refused_while_shared_caller_keeps_reference);
  tcase_add_test(tc, state_1_owned_without_reference);
  tcase_add_test(tc, many_shared_references);
  tcase_add_test(tc, pdu_is_per_request_and_distinct);
  tcase_add_test(tc, tag_to_rq_races_safely_with_end);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
