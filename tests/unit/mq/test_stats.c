/* Statistics: counters per queue, percentiles, table and JSON output. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

START_TEST(counts_bytes_errors_and_latency) {
  static const char *const kv[] = {"irqmode=timer", "completion_nsec=3000", "submit_queues=2",
                                   NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 1);
  char buf[8192];
  struct rnull_io w = {.op = RNULL_OP_WRITE, .offset = 0, .len = 8192, .buf = buf};
  struct rnull_io r = rd(0, 4096, 1);
  ck_assert_int_eq(rnull_submit(h, &w, 0), 0);
  ck_assert_int_eq(rnull_submit(h, &r, RNULL_SUBMIT_LAST), 0);
  vclock_ns += 3000;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 2);
  struct rnull_stats st;
  rnull_hctx_stats(h, &st);
  ck_assert_uint_eq(st.submitted, 2);
  ck_assert_uint_eq(st.completed, 2);
  ck_assert_uint_eq(st.bytes_written, 8192);
  ck_assert_uint_eq(st.bytes_read, 4096);
  ck_assert_uint_eq(st.inflight, 0);
  ck_assert_uint_eq(st.inflight_hwm, 2);
  static struct rnull_hist lat; /* 35 KiB */
  rnull_hctx_latency(h, RNULL_OP_READ, &lat);
  ck_assert_uint_eq(lat.count, 1);
  ck_assert_uint_eq(lat.bucket[rnull_hist_index(3000)], 1);
  ck_assert_uint_eq(rnull_hist_percentile(&lat, 50), 3000); /* kept within [min, max] */
  rnull_hctx_latency(h, RNULL_OP_MAX, &lat);
  ck_assert_uint_eq(lat.count, 2);
  rnull_hctx_latency(h, RNULL_OP_FLUSH, &lat);
  ck_assert_uint_eq(lat.count, 0);
  rnull_hctx_stats(rnull_disk_hctx(d, 0), &st);
  ck_assert_uint_eq(st.submitted, 0); /* the other queue saw nothing */
  struct rnull_stats total;
  rnull_disk_stats(d, &total);
  ck_assert_uint_eq(total.completed, 2);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(percentiles_of_a_histogram) {
  static struct rnull_hist h;
  memset(&h, 0, sizeof h);
  ck_assert_uint_eq(rnull_hist_percentile(&h, 50), 0);
  h.bucket[rnull_hist_index(1500)] = 90;
  h.bucket[rnull_hist_index(1500000)] = 9;
  h.bucket[rnull_hist_index(90000000)] = 1;
  h.count = 100, h.min = 1500, h.max = 90000000;
  unsigned b = rnull_hist_index(1500), c = rnull_hist_index(1500000);
  ck_assert_uint_eq(rnull_hist_percentile(&h, 50), rnull_hist_high(b));
  ck_assert_uint_eq(rnull_hist_percentile(&h, 90), rnull_hist_high(b));
  ck_assert_uint_eq(rnull_hist_percentile(&h, 90.5), rnull_hist_high(c));
  ck_assert_uint_eq(rnull_hist_percentile(&h, 99), rnull_hist_high(c));
  ck_assert_uint_eq(rnull_hist_percentile(&h, 99.9), 90000000); /* max, not past it */
  ck_assert_uint_eq(rnull_hist_percentile(&h, 100), 90000000);
}
END_TEST

/* Every value lands in a bucket that holds it, buckets tile the range with
 * no gap, and a bucket is at most 1% of its values wide from 100 ns to
 * 100 s (0.78% by construction: 128 sub-buckets per power of two). */
START_TEST(log_linear_buckets_within_one_percent) {
  for (unsigned i = 0; i + 1 < RNULL_HIST_BUCKETS; i++) {
    ck_assert_uint_le(rnull_hist_low(i), rnull_hist_high(i));
    ck_assert_uint_eq(rnull_hist_high(i) + 1, rnull_hist_low(i + 1));
    ck_assert_uint_eq(rnull_hist_index(rnull_hist_low(i)), i);
    ck_assert_uint_eq(rnull_hist_index(rnull_hist_high(i)), i);
  }
  ck_assert_uint_eq(rnull_hist_index(0), 0);
  ck_assert_uint_eq(rnull_hist_index(UINT64_MAX), RNULL_HIST_BUCKETS - 1);
  for (uint64_t v = 100; v <= 100000000000ull; v = v * 1.01 + 1) {
    unsigned i = rnull_hist_index(v);
    ck_assert_uint_le(rnull_hist_low(i), v);
    ck_assert_uint_ge(rnull_hist_high(i), v);
    double width = (double)(rnull_hist_high(i) - rnull_hist_low(i));
    ck_assert_msg(width <= 0.01 * (double)v, "bucket of %llu is %.0f wide", (unsigned long long)v,
                  width);
  }
}
END_TEST

/* Per operation: each op's histogram counts only its requests, in ns. */
START_TEST(latency_kept_per_operation) {
  static const char *const kv[] = {"read_latency=fixed:10us", "write_latency=fixed:20us",
                                   "flush_latency=fixed:2ms", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  struct rnull_io r = rd(0, 4096, 1), w = {.op = RNULL_OP_WRITE, .len = 4096},
                  f = {.op = RNULL_OP_FLUSH};
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(rnull_submit(h, &r, 0), 0);
  ck_assert_int_eq(rnull_submit(h, &w, 0), 0);
  ck_assert_int_eq(rnull_submit(h, &f, RNULL_SUBMIT_LAST), 0);
  uint64_t t0 = vclock_ns; /* each completes at its time: the clock steps there */
  vclock_ns = t0 + 10000;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 3);
  vclock_ns = t0 + 20000;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 1);
  vclock_ns = t0 + 2000000;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 1);
  static struct rnull_hist lat;
  rnull_disk_latency(d, RNULL_OP_READ, &lat);
  ck_assert_uint_eq(lat.count, 3);
  ck_assert_uint_eq(lat.min, 10000);
  ck_assert_uint_eq(rnull_hist_percentile(&lat, 99.9), 10000);
  rnull_disk_latency(d, RNULL_OP_WRITE, &lat);
  ck_assert_uint_eq(lat.count, 1);
  ck_assert_uint_eq(lat.max, 20000);
  rnull_disk_latency(d, RNULL_OP_FLUSH, &lat);
  ck_assert_uint_eq(lat.max, 2000000);
  rnull_disk_latency(d, RNULL_OP_MAX, &lat);
  ck_assert_uint_eq(lat.count, 5);
  ck_assert_uint_eq(rnull_hist_percentile(&lat, 50), rnull_hist_high(rnull_hist_index(10000)));
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  rnull_stats_print(d, out);
  fclose(out);
  ck_assert_msg(strstr(buf, "p99.9_ns") && strstr(buf, "flush "), "%s", buf);
  free(buf);
  out = open_memstream(&buf, &len);
  rnull_stats_json(d, out);
  fclose(out);
  ck_assert_msg(strstr(buf,
                       "\"read\":{\"count\":3,\"min\":10000,\"p50\":10000,\"p90\":10000,"
                       "\"p99\":10000,\"p99_9\":10000,\"max\":10000,\"buckets\":[[9984,10047,3]]"),
                "%s", buf);
  ck_assert_msg(strstr(buf, "\"flush\":{\"count\":1,"), "%s", buf);
  free(buf);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(table_and_json) {
  static const char *const kv[] = {"name=my\"disk", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_io r = rd(0, 4096, 1);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &r, RNULL_SUBMIT_LAST), 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  rnull_stats_print(d, f);
  fclose(f);
  ck_assert_msg(strstr(buf, "submitted") && strstr(buf, "total"), "%s", buf);
  free(buf);
  f = open_memstream(&buf, &len);
  rnull_stats_json(d, f);
  fclose(f);
  ck_assert_msg(strstr(buf, "\"disk\":\"my\\\"disk\""), "%s", buf);
  ck_assert_msg(strstr(buf, "\"total\":{\"submitted\":3,\"completed\":3"), "%s", buf);
  ck_assert_msg(strstr(buf, "\"bytes_read\":12288"), "%s", buf);
  free(buf);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(stats_file_rewritten_and_never_over_a_non_regular_file) {
  char dir[] = "/tmp/rnull-stats-XXXXXX", path[64], fifo[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/stats.json", dir);
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  struct rnull_disk *d = make_disk(NULL, NULL, NULL);
  struct rnull_io r = rd(0, 4096, 1);
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &r, RNULL_SUBMIT_LAST), 0);
  ck_assert_int_eq(rnull_stats_file_write(d, path), 0);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  char buf[4096] = {0};
  ck_assert_uint_gt(fread(buf, 1, sizeof buf - 1, f), 0);
  fclose(f);
  ck_assert_msg(strstr(buf, "\"total\":{\"submitted\":1,"), "%s", buf);
  ck_assert_int_eq(rnull_stats_file_write(d, path), 0); /* over its own file: fine */
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  ck_assert_int_eq(rnull_stats_file_usable(fifo), -EEXIST);
  ck_assert_int_eq(rnull_stats_file_write(d, fifo), -EEXIST);
  struct stat st;
  ck_assert_int_eq(lstat(fifo, &st), 0);
  ck_assert(S_ISFIFO(st.st_mode)); /* still the FIFO */
  ck_assert_int_eq(rnull_stats_file_usable(dir), -EEXIST);
  /* the key itself is refused up front */
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set(&cfg, "stats_file", dir, err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "stats_file=") && strstr(err, "not a regular file"), "%s", err);
  rnull_disk_destroy(d);
  unlink(path);
  unlink(fifo);
  rmdir(dir);
}
END_TEST

int main(void) {
  Suite *s = suite_create("stats");
  TCase *tc = new_tcase("stats");
  tcase_add_test(tc, counts_bytes_errors_and_latency);
  tcase_add_test(tc, percentiles_of_a_histogram);
  tcase_add_test(tc, log_linear_buckets_within_one_percent);
  tcase_add_test(tc, latency_kept_per_operation);
  tcase_add_test(tc, table_and_json);
  tcase_add_test(tc, stats_file_rewritten_and_never_over_a_non_regular_file);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
