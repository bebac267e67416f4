/* Fault injection: the text format and Linux should_fail() semantics
 * (lib/fault-inject.c): times, space, interval, probability, seeded PRNG.
 * Expectations are worked out by hand from those semantics, not from the
 * implementation. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "null/fault.h"

static struct rnull_fault_attr parse_ok(const char *s) {
  struct rnull_fault_attr a;
  char err[256] = "";
  memset(&a, 0, sizeof(a));
  ck_assert_msg(rnull_fault_parse(s, &a, err, sizeof(err)) == 0, "'%s' refused: %s", s, err);
  ck_assert(a.enabled);
  return a;
}

static void init_str(struct rnull_fault *f, const char *s, uint64_t seed) {
  struct rnull_fault_attr a = parse_ok(s);
  rnull_fault_init(f, &a, seed);
}

/* How many of n calls of size bytes fail; fails[] records which (1-based). */
static unsigned run(struct rnull_fault *f, unsigned n, uint64_t size, bool *fails) {
  unsigned c = 0;
  for (unsigned i = 0; i < n; i++) {
    bool r = rnull_fault_should_fail(f, size);
    if (fails)
      fails[i] = r;
    c += r;
  }
  return c;
}

START_TEST(parse_fields) {
  struct rnull_fault_attr a = parse_ok("3,40,4096,7");
  ck_assert_uint_eq(a.interval, 3);
  ck_assert_uint_eq(a.probability, 40);
  ck_assert_int_eq(a.space, 4096);
  ck_assert_int_eq(a.times, 7);
  a = parse_ok("1,100,0,-1");
  ck_assert_int_eq(a.times, -1);
  a = parse_ok("0,0,0,0");
  ck_assert_uint_eq(a.interval, 0);
  a = parse_ok("9223372036854775807,100,9223372036854775807,9223372036854775807");
  ck_assert_uint_eq(a.interval, INT64_MAX);
  ck_assert_int_eq(a.space, INT64_MAX);
  ck_assert_int_eq(a.times, INT64_MAX);
}
END_TEST

START_TEST(parse_errors_name_the_value) {
  const char *bad[] = {"",
                       "1,2,3",
                       "1,2,3,4,5",
                       "a,b,c,d",
                       "1,101,0,1",
                       "1,50,0,-2",
                       "-1,50,0,1",
                       "1,50,-1,1",
                       "1,2,3,4x",
                       "1,,3,4",
                       "1;2;3;4",
                       "1,-5,0,1",
                       "1,2,3,",
                       ",1,2,3",
                       "1, 2,3,4",
                       " 1,2,3,4",
                       "1,2,3,4 ",
                       "+1,2,3,4",
                       "1,2,3,--1",
                       "99999999999999999999,1,0,1",
                       "1,1,99999999999999999999,1",
                       "1,1,0,99999999999999999999",
                       "1,1000000000000000000000,0,1"};
  for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct rnull_fault_attr a;
    char err[256] = "";
    memset(&a, 0, sizeof(a));
    ck_assert_msg(rnull_fault_parse(bad[i], &a, err, sizeof(err)) == -EINVAL, "'%s' accepted",
                  bad[i]);
    ck_assert_msg(strstr(err, bad[i]) != NULL, "error for '%s' does not quote it: %s", bad[i], err);
    ck_assert_msg(strstr(err, "probability") != NULL, "error does not give the format: %s", err);
  }
}
END_TEST

START_TEST(disabled_never_fails) {
  struct rnull_fault f;
  struct rnull_fault_attr a;
  memset(&a, 0, sizeof(a));
  a.interval = 1;
  a.probability = 100;
  a.times = -1; /* everything says fail, but not enabled */
  rnull_fault_init(&f, &a, 1);
  ck_assert_uint_eq(run(&f, 100, 4096, NULL), 0);
}
END_TEST

START_TEST(times_limits_failures_exactly) {
  /* interval=1, probability=100, times=5: the first 5 calls fail, then none. */
  struct rnull_fault f;
  bool fails[100];
  init_str(&f, "1,100,0,5", 42);
  ck_assert_uint_eq(run(&f, 100, 4096, fails), 5);
  for (unsigned i = 0; i < 100; i++)
    ck_assert_msg(fails[i] == (i < 5), "call %u", i + 1);
}
END_TEST

START_TEST(times_zero_never_fails) {
  struct rnull_fault f;
  init_str(&f, "1,100,0,0", 42);
  ck_assert_uint_eq(run(&f, 100, 4096, NULL), 0);
}
END_TEST

START_TEST(unlimited_times_always_fails) {
  struct rnull_fault f;
  init_str(&f, "1,100,0,-1", 42);
  ck_assert_uint_eq(run(&f, 1000, 4096, NULL), 1000);
}
END_TEST

START_TEST(interval_zero_acts_as_one) {
  /* should_fail only counts when interval > 1. */
  struct rnull_fault f;
  init_str(&f, "0,100,0,-1", 42);
  ck_assert_uint_eq(run(&f, 10, 512, NULL), 10);
}
END_TEST

START_TEST(interval_fails_every_nth_call) {
  /* interval=3: the count is bumped on each eligible call and only calls
   * 3, 6, 9, ... may fail. */
  struct rnull_fault f;
  bool fails[30];
  init_str(&f, "3,100,0,-1", 42);
  ck_assert_uint_eq(run(&f, 30, 4096, fails), 10);
  for (unsigned i = 0; i < 30; i++)
    ck_assert_msg(fails[i] == ((i + 1) % 3 == 0), "call %u", i + 1);
}
END_TEST

START_TEST(interval_with_times) {
  /* interval=2, times=3: calls 2, 4, 6 fail, then times is spent. */
  struct rnull_fault f;
  bool fails[20];
  init_str(&f, "2,100,0,3", 42);
  ck_assert_uint_eq(run(&f, 20, 4096, fails), 3);
  for (unsigned i = 0; i < 20; i++)
    ck_assert_msg(fails[i] == (i == 1 || i == 3 || i == 5), "call %u", i + 1);
}
END_TEST

START_TEST(space_lets_bytes_pass_first) {
  /* space=4096, calls of 1024 bytes: space > size holds for 4096, 3072 and
   * 2048 (each call subtracts), so calls 1-3 pass; at 1024 the 4th fails. */
  struct rnull_fault f;
  bool fails[10];
  init_str(&f, "1,100,4096,-1", 42);
  ck_assert_uint_eq(run(&f, 10, 1024, fails), 7);
  for (unsigned i = 0; i < 10; i++)
    ck_assert_msg(fails[i] == (i >= 3), "call %u", i + 1);
}
END_TEST

START_TEST(space_then_interval) {
  /* space is consumed before the interval count starts: 2 calls of 4096
   * pass on space=8192+1, then interval=2 fails every 2nd eligible call. */
  struct rnull_fault f;
  bool fails[8];
  init_str(&f, "2,100,8193,-1", 42);
  ck_assert_uint_eq(run(&f, 8, 4096, fails), 3);
  /* calls 1,2 on space (8193 > 4096, 4097 > 4096); call 3 has 1 <= 4096:
   * eligible #1 (pass), 4: #2 fail, 5: #3, 6: #4 fail, 7: #5, 8: #6 fail */
  for (unsigned i = 0; i < 8; i++)
    ck_assert_msg(fails[i] == (i == 3 || i == 5 || i == 7), "call %u", i + 1);
}
END_TEST

START_TEST(probability_zero_never_fails) {
  struct rnull_fault f;
  init_str(&f, "1,0,0,-1", 42);
  ck_assert_uint_eq(run(&f, 1000, 4096, NULL), 0);
}
END_TEST

START_TEST(probability_is_reproducible_with_a_seed) {
  struct rnull_fault f1, f2;
  bool a[2000], b[2000];
  init_str(&f1, "1,30,0,-1", 1234);
  init_str(&f2, "1,30,0,-1", 1234);
  unsigned n1 = run(&f1, 2000, 4096, a);
  unsigned n2 = run(&f2, 2000, 4096, b);
  ck_assert_uint_eq(n1, n2);
  ck_assert_mem_eq(a, b, sizeof(a));
  /* 30% of 2000 = 600, standard deviation ~20: a generous band. */
  ck_assert_uint_ge(n1, 450);
  ck_assert_uint_le(n1, 750);
}
END_TEST

START_TEST(different_seeds_give_different_sequences) {
  struct rnull_fault f1, f2;
  bool a[2000], b[2000];
  init_str(&f1, "1,50,0,-1", 1);
  init_str(&f2, "1,50,0,-1", 2);
  run(&f1, 2000, 4096, a);
  run(&f2, 2000, 4096, b);
  ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

START_TEST(probability_respects_times) {
  struct rnull_fault f;
  init_str(&f, "1,50,0,10", 77);
  ck_assert_uint_eq(run(&f, 5000, 4096, NULL), 10);
}
END_TEST

START_TEST(probability_band_over_seeds) {
  /* probability=10: for each of 20 seeds, 1000 calls fail 10% +- a lot. */
  for (uint64_t seed = 1; seed <= 20; seed++) {
    struct rnull_fault f;
    init_str(&f, "1,10,0,-1", seed);
    unsigned n = run(&f, 1000, 512, NULL);
    ck_assert_msg(n >= 40 && n <= 170, "seed %lu: %u", (unsigned long)seed, n);
  }
}
END_TEST

/* times is exact under concurrency: 4 threads x 2000 calls, times=100. */
struct th_arg {
  struct rnull_fault *f;
  unsigned fails;
};

static void *hammer(void *p) {
  struct th_arg *a = p;
  a->fails = run(a->f, 2000, 4096, NULL);
  return NULL;
}

START_TEST(times_exact_under_concurrency) {
  struct rnull_fault f;
  pthread_t th[4];
  struct th_arg args[4];
  init_str(&f, "1,100,0,100", 9);
  for (int i = 0; i < 4; i++) {
    args[i] = (struct th_arg){&f, 0};
    ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
  }
  unsigned total = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    total += args[i].fails;
  }
  ck_assert_uint_eq(total, 100);
}
END_TEST

START_TEST(interval_exact_under_concurrency) {
  /* 4 x 2000 calls with interval=4: exactly 8000/4 fail. */
  struct rnull_fault f;
  pthread_t th[4];
  struct th_arg args[4];
  init_str(&f, "4,100,0,-1", 9);
  for (int i = 0; i < 4; i++) {
    args[i] = (struct th_arg){&f, 0};
    ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
  }
  unsigned total = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    total += args[i].fails;
  }
  ck_assert_uint_eq(total, 8000 / 4);
}
END_TEST

Suite *fault_suite(void) {
  Suite *s = suite_create("fault");
  TCase *p = tcase_create("parse");
  tcase_add_test(p, parse_fields);
  tcase_add_test(p, parse_errors_name_the_value);
  suite_add_tcase(s, p);
  TCase *t = tcase_create("should_fail");
  tcase_add_test(t, disabled_never_fails);
  tcase_add_test(t, times_limits_failures_exactly);
  tcase_add_test(t, times_zero_never_fails);
  tcase_add_test(t, unlimited_times_always_fails);
  tcase_add_test(t, interval_zero_acts_as_one);
  tcase_add_test(t, interval_fails_every_nth_call);
  tcase_add_test(t, interval_with_times);
  tcase_add_test(t, space_lets_bytes_pass_first);
  tcase_add_test(t, space_then_interval);
  tcase_add_test(t, probability_zero_never_fails);
  tcase_add_test(t, probability_is_reproducible_with_a_seed);
  tcase_add_test(t, different_seeds_give_different_sequences);
  tcase_add_test(t, probability_respects_times);
  tcase_add_test(t, probability_band_over_seeds);
  suite_add_tcase(s, t);
  TCase *c = tcase_create("concurrency");
  tcase_add_test(c, times_exact_under_concurrency);
  tcase_add_test(c, interval_exact_under_concurrency);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(fault_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
