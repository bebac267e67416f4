/* Realistic devices (lib/null/latency.c and the latency keys), in virtual
 * time with fixed seeds: each distribution's draws match its configured
 * quantiles, channels give hand-computed completion times, per-operation
 * keys reach their operations, the same seed gives the same completion
 * order, iops paces requests, and every bad value is refused by name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "null/latency.h"

#define DRAWS 100000

static uint64_t draws[DRAWS];

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Draw DRAWS values of spec (seeded), sorted. */
static void draw_sorted(const char *spec, uint64_t seed) {
  struct rnull_latency_attr a;
  struct null_dist d;
  struct null_rng r;
  char err[RNULL_ERR_LEN];
  ck_assert_msg(rnull_latency_parse(spec, &a, err, sizeof err) == 0, "%s: %s", spec, err);
  ck_assert_int_eq(null_dist_init(&d, &a, err, sizeof err), 0);
  null_rng_seed(&r, seed);
  for (unsigned i = 0; i < DRAWS; i++)
    draws[i] = null_dist_draw(&d, &r);
  null_dist_destroy(&d);
  qsort(draws, DRAWS, sizeof draws[0], cmp_u64);
}

static double quantile(double p) { return (double)draws[(size_t)(p * DRAWS)]; }

/* The tolerance: with 100k draws an empirical quantile's standard error is
 * well under 1% of the value for these shapes at p <= 0.9 and about 1-2% at
 * p = 0.99; we allow 3% and 6%, so a fixed seed passes with a wide margin
 * and a wrong formula (a factor, a swapped parameter) fails. */
static void expect_quantile(const char *spec, double p, double want) {
  double got = quantile(p), tol = p > 0.95 ? 0.06 : 0.03;
  ck_assert_msg(fabs(got - want) <= tol * want, "%s: p%g = %.0f ns, configured %.0f ns (+-%.0f%%)",
                spec, p * 100, got, want, tol * 100);
}

static const double P[] = {0.1, 0.5, 0.9, 0.99};
static const double Z[] = {-1.2815515655446004, 0, 1.2815515655446004, 2.3263478740408408};

START_TEST(fixed_is_exact) {
  draw_sorted("fixed:1.5ms", 1);
  ck_assert_uint_eq(draws[0], 1500000);
  ck_assert_uint_eq(draws[DRAWS - 1], 1500000);
}
END_TEST

START_TEST(uniform_quantiles) {
  draw_sorted("uniform:100us-300us", 2);
  ck_assert_uint_ge(draws[0], 100000);
  ck_assert_uint_le(draws[DRAWS - 1], 300000);
  for (unsigned i = 0; i < 4; i++)
    expect_quantile("uniform", P[i], 100000 + P[i] * 200000);
}
END_TEST

START_TEST(normal_quantiles) {
  draw_sorted("normal:1ms,100us", 3);
  for (unsigned i = 0; i < 4; i++)
    expect_quantile("normal", P[i], 1e6 + 1e5 * Z[i]);
}
END_TEST

/* Truncated at 0: never negative; half the mass of normal:0,S is redrawn,
 * leaving a half-normal whose median is S * 0.6745. */
START_TEST(normal_truncated_at_zero) {
  draw_sorted("normal:0,1ms", 4);
  expect_quantile("half-normal", 0.5, 1e6 * 0.6744897501960817);
  expect_quantile("half-normal", 0.99, 1e6 * 2.5758293035489004);
}
END_TEST

START_TEST(exp_quantiles) {
  draw_sorted("exp:200us", 5);
  for (unsigned i = 0; i < 4; i++)
    expect_quantile("exp", P[i], -200000 * log(1 - P[i]));
}
END_TEST

/* Fitted from its two quantiles: the configured P50 and P99 come back. */
START_TEST(lognormal_fitted_from_p50_p99) {
  draw_sorted("lognormal:200us,2ms", 6);
  expect_quantile("lognormal", 0.5, 200000);
  expect_quantile("lognormal", 0.99, 2000000);
  double sigma = log(10.0) / Z[3];
  expect_quantile("lognormal", 0.1, 200000 * exp(sigma * Z[0]));
  expect_quantile("lognormal", 0.9, 200000 * exp(sigma * Z[2]));
}
END_TEST

START_TEST(pareto_quantiles) {
  draw_sorted("pareto:50us,2.5", 7);
  ck_assert_uint_ge(draws[0], 50000);
  for (unsigned i = 0; i < 4; i++)
    expect_quantile("pareto", P[i], 50000 * pow(1 - P[i], -1 / 2.5));
}
END_TEST

/* An empirical distribution: each latency comes back with its weight's
 * share (within 1 percentage point of 100k draws). */
START_TEST(hist_file_weights) {
  char path[] = "/tmp/rnull-hist-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs("# latency_ns weight, as from a fio log\n100000 1\n\n200000 2\n  900000 7\n5 0\n", f);
  fclose(f);
  char spec[64];
  snprintf(spec, sizeof spec, "hist:%s", path);
  draw_sorted(spec, 8);
  unsigned n[3] = {0};
  for (unsigned i = 0; i < DRAWS; i++)
    n[draws[i] == 100000 ? 0 : draws[i] == 200000 ? 1 : 2]++;
  ck_assert_uint_eq(n[0] + n[1] + n[2], DRAWS);
  ck_assert_uint_eq(draws[DRAWS - 1], 900000); /* only the file's values */
  ck_assert_msg(abs((int)n[0] - DRAWS / 10) < DRAWS / 100, "100us drawn %u times", n[0]);
  ck_assert_msg(abs((int)n[1] - DRAWS / 5) < DRAWS / 100, "200us drawn %u times", n[1]);
  unlink(path);
}
END_TEST

/* ---- through the null driver, in virtual time ---- */

static struct rnull_disk *d;
static struct rnull_hctx *h;

static void submit_op(enum rnull_op op, uint32_t len, uintptr_t cookie) {
  struct rnull_io io = {.op = op, .offset = 0, .len = len, .cookie = (void *)cookie};
  ck_assert_int_eq(rnull_submit(h, &io, RNULL_SUBMIT_LAST), 0);
}

/* Advance the virtual clock to the next deadline and run it; its time. */
static uint64_t run_next(void) {
  uint64_t dl = rnull_hctx_next_deadline(h);
  ck_assert_uint_ne(dl, RNULL_NO_DEADLINE);
  if (dl > vclock_ns)
    vclock_ns = dl;
  rnull_hctx_run(h, vclock_ns);
  return dl;
}

/* Each operation gets its own key, the rest `latency`; reads and writes
 * add latency_per_kib for the KiB they move. */
START_TEST(per_operation_keys_reach_their_operations) {
  static const char *const kv[] = {"latency=fixed:1ms",       "read_latency=fixed:10us",
                                   "flush_latency=fixed:2ms", "trim_latency=fixed:3us",
                                   "zero_latency=fixed:4us",  "latency_per_kib=1us",
                                   "irqmode=softirq",         NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  static const struct {
    enum rnull_op op;
    uint32_t len;
    uint64_t ns;
  } want[] = {
      {RNULL_OP_READ, 4096, 10000 + 4000},    {RNULL_OP_READ, 8192, 10000 + 8000},
      {RNULL_OP_WRITE, 4096, 1000000 + 4000}, {RNULL_OP_FLUSH, 0, 2000000},
      {RNULL_OP_DISCARD, 1 << 20, 3000},      {RNULL_OP_WRITE_ZEROES, 1 << 20, 4000},
      {RNULL_OP_CACHE, 4096, 1000000},
  };
  for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
    uint64_t t0 = vclock_ns;
    submit_op(want[i].op, want[i].len, i + 1);
    ck_assert_uint_eq(atomic_load(&nr_ends), i); /* not ended before its time */
    ck_assert_msg(rnull_hctx_next_deadline(h) == t0 + want[i].ns,
                  "op %d: deadline +%llu, want +%llu", want[i].op,
                  (unsigned long long)(rnull_hctx_next_deadline(h) - t0),
                  (unsigned long long)want[i].ns);
    run_next();
    ck_assert_uint_eq(atomic_load(&nr_ends), i + 1);
    ck_assert_uint_eq(ends[i].cookie, i + 1);
  }
  rnull_disk_destroy(d);
}
END_TEST

/* channels=2, reads 100us, writes 30us; arrivals and the hand-computed
 * schedule (A and B the channels):
 *   t=0   R1 -> A  0..100        t=0  W2 -> B  0..30
 *   t=10  R3 waits; B frees at 30: 30..130
 *   t=50  W4 waits; A frees at 100: 100..130
 *   t=200 R5: both free (130): 200..300
 * so ends: W2@30, R1@100, R3@130, W4@130, R5@300 (out of submission order). */
START_TEST(channels_give_the_hand_computed_times) {
  static const char *const kv[] = {"channels=2", "read_latency=fixed:100us",
                                   "write_latency=fixed:30us", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  uint64_t t0 = vclock_ns, us = 1000;
  submit_op(RNULL_OP_READ, 4096, 1);
  submit_op(RNULL_OP_WRITE, 4096, 2);
  vclock_ns = t0 + 10 * us;
  submit_op(RNULL_OP_READ, 4096, 3);
  vclock_ns = t0 + 50 * us;
  submit_op(RNULL_OP_WRITE, 4096, 4);
  ck_assert_uint_eq(run_next(), t0 + 30 * us);
  ck_assert_uint_eq(run_next(), t0 + 100 * us);
  ck_assert_uint_eq(run_next(), t0 + 130 * us); /* R3 and W4 together */
  ck_assert_uint_eq(atomic_load(&nr_ends), 4);
  ck_assert_uint_eq(rnull_hctx_next_deadline(h), RNULL_NO_DEADLINE);
  vclock_ns = t0 + 200 * us;
  submit_op(RNULL_OP_READ, 4096, 5);
  ck_assert_uint_eq(run_next(), t0 + 300 * us);
  static const uintptr_t order[] = {2, 1, 3, 4, 5};
  for (unsigned i = 0; i < 5; i++)
    ck_assert_uint_eq(ends[i].cookie, order[i]);
  rnull_disk_destroy(d);
}
END_TEST

/* channels=4, fixed 1ms, 16 at once: four waves, 4 per ms (4000 IOPS). */
START_TEST(channels_bound_the_throughput) {
  static const char *const kv[] = {"channels=4", "latency=fixed:1ms", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  uint64_t t0 = vclock_ns;
  for (unsigned i = 0; i < 16; i++)
    submit_op(RNULL_OP_READ, 4096, i + 1);
  for (unsigned wave = 1; wave <= 4; wave++) {
    ck_assert_uint_eq(run_next(), t0 + wave * 1000000ull);
    ck_assert_uint_eq(atomic_load(&nr_ends), 4 * wave);
  }
  rnull_disk_destroy(d);
}
END_TEST

/* Run 300 reads drawn from exp:100us with a seed; the completion order. */
static void completion_order(const char *seed, uintptr_t *order) {
  const char *kv[] = {"latency=exp:100us", seed, "hw_queue_depth=512", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  for (unsigned i = 0; i < 300; i++)
    submit_op(RNULL_OP_READ, 4096, i + 1);
  while (atomic_load(&nr_ends) < 300)
    run_next();
  for (unsigned i = 0; i < 300; i++)
    order[i] = ends[i].cookie;
  rnull_disk_destroy(d);
}

START_TEST(same_seed_same_completion_order) {
  static uintptr_t a[300], b[300], c[300];
  completion_order("seed=42", a);
  completion_order("seed=42", b);
  completion_order("seed=43", c);
  ck_assert_mem_eq(a, b, sizeof a);
  ck_assert_msg(memcmp(a, c, sizeof a) != 0, "another seed, another order");
  unsigned out_of_order = 0;
  for (unsigned i = 0; i < 300; i++)
    out_of_order += a[i] != i + 1;
  ck_assert_uint_gt(out_of_order, 100); /* completions follow the draws */
}
END_TEST

/* irqmode=timer keeps its meaning (fixed completion_nsec), and channels
 * apply to it too. */
START_TEST(timer_mode_with_channels) {
  static const char *const kv[] = {"irqmode=timer", "completion_nsec=5000", "channels=1", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  uint64_t t0 = vclock_ns;
  for (unsigned i = 0; i < 3; i++)
    submit_op(RNULL_OP_READ, 4096, i + 1);
  for (unsigned i = 1; i <= 3; i++)
    ck_assert_uint_eq(run_next(), t0 + i * 5000);
  rnull_disk_destroy(d);
}
END_TEST

/* iops=10: a burst of 1 (a tenth of a second), then one each 100 ms. */
START_TEST(iops_paces_requests) {
  static const char *const kv[] = {"iops=10", "irqmode=softirq", NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  uint64_t t0 = vclock_ns;
  for (unsigned i = 0; i < 3; i++)
    submit_op(RNULL_OP_FLUSH, 0, i + 1);
  rnull_hctx_commit(h);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(run_next(), t0 + 100000000ull);
  rnull_hctx_commit(h);
  ck_assert_uint_eq(atomic_load(&nr_ends), 2);
  ck_assert_uint_eq(run_next(), t0 + 200000000ull);
  rnull_hctx_commit(h);
  ck_assert_uint_eq(atomic_load(&nr_ends), 3);
  rnull_disk_destroy(d);
}
END_TEST

/* ---- the keys ---- */

static void expect_refused(const char *key, const char *value, const char *want) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set(&cfg, key, value, err, sizeof err), -EINVAL);
  char kv[300];
  snprintf(kv, sizeof kv, "%s=%s: invalid value", key, value);
  ck_assert_msg(strstr(err, kv) && strstr(err, want), "%s=%s: %s", key, value, err);
}

START_TEST(bad_values_name_key_value_and_form) {
  static const char *const bad[] = {
      "fixed",
      "fixed:",
      "fixed:-1ms",
      "fixed:1m",
      "fixed:1.ms",
      "fixed:3601s",
      "uniform:2ms-1ms",
      "uniform:1ms",
      "normal:1ms",
      "exp:1ms,2ms",
      "lognormal:2ms,1ms",
      "lognormal:0,1ms",
      "pareto:1ms",
      "pareto:1ms,0",
      "pareto:0,2",
      "gamma:1ms",
      "hist:/nonexistent/file",
      "FIXED:1ms",
      " fixed:1ms",
      "fixed:1ms ",
  };
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_refused(i % 2 ? "latency" : "read_latency", bad[i], "lognormal:P50,P99");
  expect_refused("latency_per_kib", "1 us", "ns/us/ms/s");
  expect_refused("latency_per_kib", "1h", "ns/us/ms/s");
  expect_refused("channels", "65537", "from 0 to 65536");
  expect_refused("iops", "-1", "a decimal integer");
  expect_refused("seed", "x", "a decimal integer");
}
END_TEST

START_TEST(hist_file_errors_name_the_line) {
  char path[] = "/tmp/rnull-hist-XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  fputs("100 1\n200 x\n", f);
  fclose(f);
  char spec[64];
  snprintf(spec, sizeof spec, "hist:%s", path);
  expect_refused("write_latency", spec, "line 2: expected 'latency_ns weight'");
  f = fopen(path, "w");
  fputs("# only zero weights\n100 0\n", f);
  fclose(f);
  expect_refused("write_latency", spec, "no line with a positive weight");
  unlink(path);
}
END_TEST

START_TEST(timer_and_latency_refused_together) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set(&cfg, "irqmode", "timer", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "write_latency", "fixed:1ms", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "write_latency=fixed:1ms and irqmode=timer") &&
                    strstr(err, "completion_nsec"),
                "%s", err);
}
END_TEST

/* Durations and distributions read back as written (config dump). */
START_TEST(parse_and_dump_round_trip) {
  uint64_t ns;
  ck_assert_int_eq(rnull_duration_parse("250", &ns), 0);
  ck_assert_uint_eq(ns, 250);
  ck_assert_int_eq(rnull_duration_parse("1.5us", &ns), 0);
  ck_assert_uint_eq(ns, 1500);
  ck_assert_int_eq(rnull_duration_parse("2ms", &ns), 0);
  ck_assert_uint_eq(ns, 2000000);
  ck_assert_int_eq(rnull_duration_parse("0.25s", &ns), 0);
  ck_assert_uint_eq(ns, 250000000);
  static const char *const specs[] = {"fixed:1500ns", "uniform:1us-2ms",    "normal:1ms,100us",
                                      "exp:200us",    "lognormal:80us,1ms", "pareto:50us,2.5",
                                      "none"};
  for (unsigned i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    struct rnull_latency_attr a;
    char err[RNULL_ERR_LEN], back[300];
    ck_assert_int_eq(rnull_latency_parse(specs[i], &a, err, sizeof err), 0);
    rnull_latency_format(&a, back, sizeof back);
    ck_assert_str_eq(back, i == 6 ? "unset" : specs[i]);
  }
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN], *buf = NULL;
  size_t len = 0;
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set(&cfg, "read_latency", "lognormal:200us,2ms", err, sizeof err),
                   0);
  FILE *out = open_memstream(&buf, &len);
  rnull_config_dump(&cfg, out);
  fclose(out);
  ck_assert_msg(strstr(buf, "\nread_latency=lognormal:200us,2ms\n") && !strstr(buf, "\nlatency="),
                "%s", buf);
  free(buf);
}
END_TEST

/* The shipped device profiles (examples/profiles) are valid key files, and
 * their 4 KiB read medians are what their README says. */
START_TEST(shipped_profiles_parse) {
  static const struct {
    const char *file;
    uint64_t read_p50_4k;
  } profiles[] = {{"nvme-ssd.conf", 49584}, {"sata-ssd.conf", 87320}, {"hdd-7200.conf", 12727200}};
  for (unsigned i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
    char path[512], line[512], err[RNULL_ERR_LEN];
    snprintf(path, sizeof path, "%s/examples/profiles/%s", RNULL_SOURCE_DIR, profiles[i].file);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    struct rnull_config cfg;
    rnull_config_init(&cfg);
    while (fgets(line, sizeof line, f)) {
      line[strcspn(line, "\n")] = '\0';
      if (line[0] && line[0] != '#')
        ck_assert_msg(rnull_config_set_kv(&cfg, line, err, sizeof err) == 0, "%s: %s", path, err);
    }
    fclose(f);
    ck_assert_msg(rnull_config_check(&cfg, err, sizeof err) == 0, "%s: %s", path, err);
    ck_assert_uint_ne(cfg.null.channels, 0);
    /* the median of the read distribution (lognormal: P50, normal: MEAN) + 4 KiB of transfer */
    ck_assert_uint_eq(cfg.null.read_latency.a + 4 * cfg.null.latency_per_kib,
                      profiles[i].read_p50_4k);
  }
}
END_TEST

/* seed covers the faults too (fault_seed unset): the same error pattern
 * twice, another with another seed. */
static void error_pattern(const char *seed, int *status) {
  const char *kv[] = {"error=1,30,0,-1", seed, NULL};
  d = make_disk(kv, NULL, NULL);
  h = rnull_disk_hctx(d, 0);
  for (unsigned i = 0; i < 200; i++)
    submit_op(RNULL_OP_READ, 4096, i + 1);
  for (unsigned i = 0; i < 200; i++)
    status[i] = ends[i].status;
  rnull_disk_destroy(d);
}

START_TEST(seed_covers_faults) {
  static int a[200], b[200], c[200];
  error_pattern("seed=77", a);
  error_pattern("seed=77", b);
  error_pattern("seed=78", c);
  ck_assert_mem_eq(a, b, sizeof a);
  ck_assert_msg(memcmp(a, c, sizeof a) != 0, "another seed, other faults");
}
END_TEST

/* A relative hist:FILE is kept absolute (the driver reads it again later,
 * perhaps after a daemon's chdir). */
START_TEST(hist_path_kept_absolute) {
  char dir[] = "/tmp/rnull-histdir-XXXXXX", cwd[512];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
  ck_assert_int_eq(chdir(dir), 0);
  FILE *f = fopen("h.txt", "w");
  fputs("1000 1\n", f);
  fclose(f);
  struct rnull_latency_attr a;
  char err[RNULL_ERR_LEN], want[600];
  ck_assert_msg(rnull_latency_parse("hist:h.txt", &a, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq(chdir(cwd), 0);
  ck_assert_ptr_nonnull(realpath(dir, want));
  strcat(want, "/h.txt");
  ck_assert_str_eq(a.file, want);
  unlink(want);
  rmdir(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("latency");
  TCase *tc = new_tcase("distributions");
  tcase_add_test(tc, fixed_is_exact);
  tcase_add_test(tc, uniform_quantiles);
  tcase_add_test(tc, normal_quantiles);
  tcase_add_test(tc, normal_truncated_at_zero);
  tcase_add_test(tc, exp_quantiles);
  tcase_add_test(tc, lognormal_fitted_from_p50_p99);
  tcase_add_test(tc, pareto_quantiles);
  tcase_add_test(tc, hist_file_weights);
  suite_add_tcase(s, tc);
  tc = new_tcase("device");
  tcase_add_test(tc, per_operation_keys_reach_their_operations);
  tcase_add_test(tc, channels_give_the_hand_computed_times);
  tcase_add_test(tc, channels_bound_the_throughput);
  tcase_add_test(tc, same_seed_same_completion_order);
  tcase_add_test(tc, timer_mode_with_channels);
  tcase_add_test(tc, iops_paces_requests);
  suite_add_tcase(s, tc);
  tc = new_tcase("keys");
  tcase_add_test(tc, bad_values_name_key_value_and_form);
  tcase_add_test(tc, hist_file_errors_name_the_line);
  tcase_add_test(tc, timer_and_latency_refused_together);
  tcase_add_test(tc, parse_and_dump_round_trip);
  tcase_add_test(tc, shipped_profiles_parse);
  tcase_add_test(tc, seed_covers_faults);
  tcase_add_test(tc, hist_path_kept_absolute);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
