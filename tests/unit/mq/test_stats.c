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

/* io_ticks and time_in_queue as part_stat keeps them, in virtual time: a
 * read at 0 ms and a write at 2 ms, each 3 ms, are 5 ms busy, 6 ms in
 * queue; the busy period in progress counts in a snapshot. */
START_TEST(busy_time_and_the_kernel_stat_line) {
  static const char *const kv[] = {"irqmode=timer", "completion_nsec=3000000", "submit_queues=2",
                                   NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  char buf[8192], line[512];
  struct rnull_io r = rd(0, 4096, 1);
  struct rnull_io w = {.op = RNULL_OP_WRITE, .offset = 0, .len = 8192, .buf = buf};
  struct rnull_io z = {.op = RNULL_OP_WRITE_ZEROES, .offset = 8192, .len = 4096};
  ck_assert_int_eq(rnull_submit(h, &r, RNULL_SUBMIT_LAST), 0);
  vclock_ns += 2000000;
  ck_assert_int_eq(rnull_submit(h, &w, RNULL_SUBMIT_LAST), 0);
  vclock_ns += 1000000;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 1); /* the read, at 3 ms */
  vclock_ns += 1000000;
  struct rnull_stats st;
  rnull_disk_stats(d, &st);
  ck_assert_uint_eq(st.busy_ns, 4000000); /* the write still in flight */
  ck_assert_int_gt(rnull_stats_block_stat(d, line, sizeof line), 0);
  ck_assert_str_eq(line, "       1        0        8        3        0        0        0        0"
                         "        1        4        3        0        0        0        0        0"
                         "        0\n");
  vclock_ns += 1000000;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 1); /* the write, at 5 ms */
  vclock_ns += 10000000;                              /* idle: not busy */
  /* a write zeroes on the other queue, 3 ms: the disk's busy time is the
   * busiest queue's */
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 1), &z, RNULL_SUBMIT_LAST), 0);
  vclock_ns += 3000000;
  ck_assert_uint_eq(rnull_hctx_run(rnull_disk_hctx(d, 1), vclock_ns), 1);
  rnull_disk_stats(d, &st);
  ck_assert_uint_eq(st.busy_ns, 5000000);
  ck_assert_uint_eq(st.reads, 1);
  ck_assert_uint_eq(st.writes, 1);
  ck_assert_uint_eq(st.zeroes, 1);
  ck_assert_uint_eq(st.read_ns, 3000000);
  ck_assert_uint_eq(st.write_ns, 3000000);
  ck_assert_uint_eq(st.zero_ns, 3000000);
  ck_assert_uint_eq(st.bytes_zeroed, 4096);
  /* writes include write zeroes (24 sectors, 6 ms); in queue 9 ms */
  rnull_stats_block_stat(d, line, sizeof line);
  ck_assert_str_eq(line, "       1        0        8        3        2        0       24        6"
                         "        0        5        9        0        0        0        0        0"
                         "        0\n");
  rnull_stats_diskstats_line(d, 43, 16, line, sizeof line);
  ck_assert_str_eq(line, "  43      16 rnullb0 1 0 8 3 2 0 24 6 0 5 9 0 0 0 0 0 0\n");
  rnull_disk_destroy(d);
}
END_TEST

static int dir_errors;
static void count_dir_error(void *arg, const char *path, int err) {
  (void)arg, (void)path, (void)err;
  dir_errors++;
}

/* stats_dir: the writer makes DIR/block/<disk>/stat and DIR/diskstats,
 * removes the directory of a disk it no longer lists, and reports (and
 * survives) a DIR it cannot use. */
START_TEST(stats_dir_written_and_pruned) {
  char dir[] = "/tmp/rnull-statsdir-XXXXXX", p[128], want[512], got[512] = {0};
  ck_assert_ptr_nonnull(mkdtemp(dir));
  struct rnull_disk *d = make_disk(NULL, NULL, NULL);
  struct rnull_io r = rd(0, 4096, 1);
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &r, RNULL_SUBMIT_LAST), 0);
  snprintf(p, sizeof p, "%s/block", dir);
  ck_assert_int_eq(mkdir(p, 0755), 0);
  snprintf(p, sizeof p, "%s/block/gone", dir); /* a disk of an earlier round */
  ck_assert_int_eq(mkdir(p, 0755), 0);
  struct rnull_stats_writer *w;
  struct rnull_stats_writer_opts o = {.dir = dir, .on_error = count_dir_error};
  ck_assert_int_eq(rnull_stats_writer_start(&w, d, &o), 0);
  rnull_stats_writer_stop(w); /* written at start and at stop */
  ck_assert_int_eq(dir_errors, 0);
  snprintf(p, sizeof p, "%s/block/rnullb0/stat", dir);
  FILE *f = fopen(p, "r");
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_nonnull(fgets(got, sizeof got, f));
  fclose(f);
  rnull_stats_block_stat(d, want, sizeof want);
  ck_assert_str_eq(got, want);
  ck_assert_str_eq(got, "       1        0        8        0        0        0        0        0"
                        "        0        0        0        0        0        0        0        0"
                        "        0\n");
  snprintf(p, sizeof p, "%s/diskstats", dir);
  f = fopen(p, "r");
  ck_assert_ptr_nonnull(f);
  ck_assert_ptr_nonnull(fgets(got, sizeof got, f));
  ck_assert_ptr_null(fgets(want, sizeof want, f)); /* one disk, one line */
  fclose(f);
  ck_assert_str_eq(got, "  43       0 rnullb0 1 0 8 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
  snprintf(p, sizeof p, "%s/block/gone", dir);
  ck_assert_int_eq(access(p, F_OK), -1); /* pruned */
  /* a DIR that is a file: refused up front, reported by the writer */
  snprintf(p, sizeof p, "%s/diskstats", dir);
  ck_assert_int_eq(rnull_stats_dir_usable(p), -ENOTDIR);
  ck_assert_int_eq(rnull_stats_dir_usable(dir), 0);
  o.dir = p;
  ck_assert_int_eq(rnull_stats_writer_start(&w, d, &o), 0);
  rnull_stats_writer_stop(w);
  ck_assert_int_ge(dir_errors, 1);
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set(&cfg, "stats_dir", p, err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "stats_dir=") && strstr(err, "not a directory"), "%s", err);
  rnull_disk_destroy(d);
  unlink(p);
  snprintf(p, sizeof p, "%s/block/rnullb0/stat", dir);
  unlink(p);
  snprintf(p, sizeof p, "%s/block/rnullb0", dir);
  rmdir(p);
  snprintf(p, sizeof p, "%s/block", dir);
  rmdir(p);
  rmdir(dir);
}
END_TEST

/* rnull-ctl stats --hist: biolatency's power-of-two us slots, from the
 * log-linear histograms; operations without requests left out. */
START_TEST(biolatency_histogram) {
  static const char *const kv[] = {"irqmode=timer", "completion_nsec=3000", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  char buf[4096];
  struct rnull_io r1 = rd(0, 4096, 1), r2 = rd(4096, 4096, 2);
  struct rnull_io w = {.op = RNULL_OP_WRITE, .offset = 0, .len = 4096, .buf = buf};
  ck_assert_int_eq(rnull_submit(h, &r1, 0), 0);
  ck_assert_int_eq(rnull_submit(h, &r2, 0), 0);
  ck_assert_int_eq(rnull_submit(h, &w, RNULL_SUBMIT_LAST), 0);
  vclock_ns += 3000;
  ck_assert_uint_eq(rnull_hctx_run(h, vclock_ns), 3);
  char *out = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&out, &len);
  rnull_stats_hist_print(d, m);
  fclose(m);
  ck_assert_str_eq(
      out, "disk = rnullb0, operation = read (2 requests)\n"
           "     usecs              : count    distribution\n"
           "         0 -> 1         : 0        |                                        |\n"
           "         2 -> 3         : 2        |****************************************|\n"
           "\n"
           "disk = rnullb0, operation = write (1 requests)\n"
           "     usecs              : count    distribution\n"
           "         0 -> 1         : 0        |                                        |\n"
           "         2 -> 3         : 1        |****************************************|\n");
  free(out);
  rnull_disk_destroy(d);
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
  tcase_add_test(tc, busy_time_and_the_kernel_stat_line);
  tcase_add_test(tc, stats_dir_written_and_pruned);
  tcase_add_test(tc, biolatency_histogram);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
