/* Held requests (rnull-ctl hold/release): held requests are not completed,
 * count as in flight and keep their tags; release serves them (a held write
 * is stored then) or fails them with the error given; only the operations
 * asked for are held; timeout_ms still ends a held request, and release
 * then finds nothing; refusals. */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

static char wbuf[4096], rbuf[4096];

static void submit(struct rnull_disk *d, enum rnull_op op, uint64_t off, uintptr_t cookie) {
  struct rnull_io io = {.op = op,
                        .offset = off,
                        .len = op == RNULL_OP_FLUSH ? 0 : 4096,
                        .buf = op == RNULL_OP_WRITE ? wbuf : rbuf,
                        .cookie = (void *)cookie};
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &io, RNULL_SUBMIT_LAST), 0);
}

static void run(struct rnull_disk *d) {
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  rnull_hctx_run(h, rnull_hctx_now(h));
}

START_TEST(held_until_released_then_served) {
  const char *kv[] = {"size=1M", "memory_backed=1", "hw_queue_depth=8", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  ck_assert_int_eq(rnull_null_disk_hold(d, ~0u), 0);
  memset(wbuf, 0xab, sizeof wbuf);
  submit(d, RNULL_OP_WRITE, 8192, 1);
  submit(d, RNULL_OP_READ, 0, 2);
  submit(d, RNULL_OP_FLUSH, 0, 3);
  run(d);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_uint_eq(rnull_null_disk_held(d), 3);
  ck_assert_uint_eq(rnull_hctx_inflight(h), 3);
  ck_assert_uint_eq(rnull_tags_free(h), 8 - 3);
  ck_assert_int_eq(rnull_null_disk_release(d, 0), 3);
  ck_assert_uint_eq(rnull_null_disk_held(d), 0);
  run(d);
  ck_assert_uint_eq(atomic_load(&nr_ends), 3);
  for (unsigned i = 0; i < 3; i++)
    ck_assert_int_eq(ends[i].status, 0);
  ck_assert_uint_eq(rnull_tags_free(h), 8);
  /* the held write was stored at release; holding stopped with it */
  submit(d, RNULL_OP_READ, 8192, 4);
  ck_assert_uint_eq(atomic_load(&nr_ends), 4);
  ck_assert_int_eq(ends[3].status, 0);
  ck_assert_int_eq(rbuf[0], (char)0xab);
  ck_assert_int_eq(rnull_null_disk_release(d, 0), 0);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(only_the_operations_asked_for) {
  const char *kv[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  ck_assert_int_eq(rnull_null_disk_hold(d, 1u << RNULL_OP_WRITE | 1u << RNULL_OP_FLUSH), 0);
  submit(d, RNULL_OP_READ, 0, 1);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  submit(d, RNULL_OP_WRITE, 0, 2);
  submit(d, RNULL_OP_FLUSH, 0, 3);
  submit(d, RNULL_OP_DISCARD, 0, 4);
  ck_assert_uint_eq(atomic_load(&nr_ends), 2); /* the trim */
  ck_assert_uint_eq(rnull_null_disk_held(d), 2);
  ck_assert_int_eq(rnull_null_disk_release(d, ENOSPC), 2);
  run(d);
  ck_assert_uint_eq(atomic_load(&nr_ends), 4);
  ck_assert_int_eq(ends[2].status, -ENOSPC);
  ck_assert_int_eq(ends[3].status, -ENOSPC);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(timeout_still_applies) {
  const char *kv[] = {"size=1M", "timeout_ms=100", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  ck_assert_int_eq(rnull_null_disk_hold(d, ~0u), 0);
  submit(d, RNULL_OP_READ, 0, 1);
  vclock_ns += 50 * 1000000ull;
  run(d);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  vclock_ns += 100 * 1000000ull;
  run(d);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_int_eq(ends[0].status, -ETIMEDOUT);
  ck_assert_uint_eq(rnull_null_disk_held(d), 0);
  ck_assert_int_eq(rnull_null_disk_release(d, 0), 0);
  run(d);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(refusals) {
  const char *kv[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  ck_assert_int_eq(rnull_null_disk_release(d, EAGAIN), -EINVAL);
  ck_assert_int_eq(rnull_null_disk_release(d, -5), -EINVAL);
  ck_assert_int_eq(rnull_fault_errno_parse("ESHUTDOWN"), ESHUTDOWN);
  ck_assert_int_eq(rnull_fault_errno_parse("EAGAIN"), 0);
  rnull_disk_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("hold");
  TCase *tc = new_tcase("hold");
  tcase_add_test(tc, held_until_released_then_served);
  tcase_add_test(tc, only_the_operations_asked_for);
  tcase_add_test(tc, timeout_still_applies);
  tcase_add_test(tc, refusals);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
