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
  ck_assert_uint_eq(st.lat[11], 2); /* 3000 ns is in [2048, 4096) */
  ck_assert_uint_eq(rnull_stats_percentile(&st, 50), 4095);
  rnull_hctx_stats(rnull_disk_hctx(d, 0), &st);
  ck_assert_uint_eq(st.submitted, 0); /* the other queue saw nothing */
  struct rnull_stats total;
  rnull_disk_stats(d, &total);
  ck_assert_uint_eq(total.completed, 2);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(percentiles_of_a_histogram) {
  struct rnull_stats st = {0};
  ck_assert_uint_eq(rnull_stats_percentile(&st, 50), 0);
  st.lat[10] = 90; /* [1024, 2048) */
  st.lat[20] = 10; /* [1 Mi, 2 Mi) */
  ck_assert_uint_eq(rnull_stats_percentile(&st, 50), 2047);
  ck_assert_uint_eq(rnull_stats_percentile(&st, 90), 2047);
  ck_assert_uint_eq(rnull_stats_percentile(&st, 99), (2u << 20) - 1);
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
  tcase_add_test(tc, table_and_json);
  tcase_add_test(tc, stats_file_rewritten_and_never_over_a_non_regular_file);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
