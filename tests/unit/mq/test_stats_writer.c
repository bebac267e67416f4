/* The statistics writer both front ends use (rnull_stats_writer_*): the
 * file is written at start, rewritten every period and once more at stop;
 * a FIFO at PATH.tmp or at PATH is reported, never blocks and is left
 * alone; a print request (async-signal-safe) prints the table on the
 * writer's thread, with or without a file. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

static char dir[64], path[96], tmp[112];

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/rnull-writer-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/stats.json", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
}

static void remove_dir(void) {
  unlink(path);
  unlink(tmp);
  rmdir(dir);
}

static bool file_has(const char *p, const char *what) {
  FILE *f = fopen(p, "r");
  if (!f)
    return false;
  char buf[16384] = {0};
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  return n > 0 && strstr(buf, what) != NULL;
}

/* Wait up to ms for p to have what. */
static bool wait_has(const char *p, const char *what, int ms) {
  for (int i = 0; i < ms / 10; i++) {
    if (file_has(p, what))
      return true;
    usleep(10000);
  }
  return file_has(p, what);
}

static _Atomic int errors, last_error;
static void count_error(void *arg, const char *p, int err) {
  ck_assert_ptr_eq(arg, &errors);
  ck_assert_str_eq(p, path);
  last_error = err;
  errors++;
}

START_TEST(written_at_start_every_period_and_at_stop) {
  make_dir();
  struct rnull_disk *d = make_disk(NULL, NULL, NULL);
  struct rnull_stats_writer *w;
  struct rnull_stats_writer_opts o = {.path = path, .period_ms = 50};
  ck_assert_int_eq(rnull_stats_writer_start(&w, d, &o), 0);
  ck_assert_msg(wait_has(path, "\"total\":{\"submitted\":0,", 2000), "written at once");
  struct rnull_io r = rd(0, 4096, 1);
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &r, RNULL_SUBMIT_LAST), 0);
  ck_assert_msg(wait_has(path, "\"total\":{\"submitted\":1,", 2000), "rewritten each period");
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &r, RNULL_SUBMIT_LAST), 0);
  /* stop at once: the final figures are written by stop itself */
  rnull_stats_writer_stop(w);
  ck_assert_msg(file_has(path, "\"total\":{\"submitted\":2,"), "the final figures");
  struct stat st;
  ck_assert_int_eq(stat(tmp, &st), -1); /* no temp file left */
  rnull_disk_destroy(d);
  remove_dir();
}
END_TEST

START_TEST(the_default_period_is_one_second) {
  make_dir();
  struct rnull_disk *d = make_disk(NULL, NULL, NULL);
  struct rnull_stats_writer *w;
  struct rnull_stats_writer_opts o = {.path = path};
  ck_assert_int_eq(rnull_stats_writer_start(&w, d, &o), 0);
  ck_assert(wait_has(path, "\"disk\"", 2000));
  ck_assert_int_eq(unlink(path), 0);
  usleep(500 * 1000);
  ck_assert_msg(!file_has(path, "\"disk\""), "not rewritten within half a second");
  ck_assert_msg(wait_has(path, "\"disk\"", 1500), "rewritten after a second");
  rnull_stats_writer_stop(w);
  rnull_disk_destroy(d);
  remove_dir();
}
END_TEST

START_TEST(a_fifo_is_reported_never_blocks_and_is_left_alone) {
  make_dir();
  struct rnull_disk *d = make_disk(NULL, NULL, NULL);
  for (int where = 0; where < 2; where++) { /* at PATH.tmp, then at PATH */
    const char *fifo = where == 0 ? tmp : path;
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    errors = 0;
    struct rnull_stats_writer *w;
    struct rnull_stats_writer_opts o = {
        .path = path, .period_ms = 20, .on_error = count_error, .arg = &errors};
    ck_assert_int_eq(rnull_stats_writer_start(&w, d, &o), 0);
    for (int i = 0; i < 200 && errors < 2; i++)
      usleep(10000);
    ck_assert_int_ge(errors, 2); /* reported, and tried again */
    ck_assert_int_lt(last_error, 0);
    if (where == 1)
      ck_assert_int_eq(last_error, -EEXIST);
    time_t t0 = time(NULL);
    rnull_stats_writer_stop(w); /* not held up by the FIFO */
    ck_assert_int_le(time(NULL) - t0, 2);
    struct stat st;
    ck_assert_int_eq(lstat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    unlink(fifo);
  }
  rnull_disk_destroy(d);
  remove_dir();
}
END_TEST

START_TEST(print_requests_print_the_table_on_the_writers_thread) {
  make_dir();
  char table[128];
  snprintf(table, sizeof table, "%s/table.txt", dir);
  struct rnull_disk *d = make_disk(NULL, NULL, NULL);
  for (int with_file = 0; with_file < 2; with_file++) {
    FILE *out = fopen(table, "w+");
    ck_assert_ptr_nonnull(out);
    struct rnull_stats_writer *w;
    struct rnull_stats_writer_opts o = {.path = with_file ? path : NULL, .print_to = out};
    ck_assert_int_eq(rnull_stats_writer_start(&w, d, &o), 0);
    usleep(100 * 1000);
    ck_assert_msg(!file_has(table, "submitted"), "nothing printed unasked");
    rnull_stats_writer_print(w);
    ck_assert_msg(wait_has(table, "submitted", 2000), "printed and flushed when asked");
    rnull_stats_writer_stop(w);
    fclose(out);
    ck_assert(with_file == file_has(path, "\"disk\"")); /* a file only if asked */
    unlink(table);
  }
  rnull_stats_writer_print(NULL); /* no writer: nothing */
  rnull_stats_writer_stop(NULL);
  rnull_disk_destroy(d);
  remove_dir();
}
END_TEST

int main(void) {
  Suite *s = suite_create("stats_writer");
  TCase *tc = new_tcase("stats_writer");
  tcase_add_test(tc, written_at_start_every_period_and_at_stop);
  tcase_add_test(tc, the_default_period_is_one_second);
  tcase_add_test(tc, a_fifo_is_reported_never_blocks_and_is_left_alone);
  tcase_add_test(tc, print_requests_print_the_table_on_the_writers_thread);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
