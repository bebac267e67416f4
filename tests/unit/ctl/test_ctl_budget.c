/* The disks' memory budget (lib/ctl/budget.c, issue 22): the estimate
 * (rnull_null_disk_memory) is what a disk's engine really takes, a power
 * on past the budget is refused with the figures, power off and remove
 * give the budget and the memory back. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"
#include "rnull/ctl.h"
#include "rnull/disk.h"

static struct rnull_ctl *ctl;

static void setup(void) {
  struct rnull_ctl_hooks h = {.end_io = record_end_io};
  ck_assert_int_eq(rnull_ctl_new(&ctl, &h), 0);
}
static void teardown(void) { rnull_ctl_free(ctl); }

static char *exec(const char *line) {
  static char *buf;
  size_t len = 0;
  free(buf);
  buf = NULL;
  FILE *m = open_memstream(&buf, &len);
  rnull_ctl_exec(ctl, line, m);
  fclose(m);
  return buf;
}

static uint64_t rss(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, res = 0;
  ck_assert_int_eq(fscanf(f, "%lu %lu", &size, &res), 2);
  fclose(f);
  return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t big_disk_memory(void) {
  struct rnull_config cfg;
  rnull_config_init(&cfg);
  cfg.core.submit_queues = 64;
  cfg.core.hw_queue_depth = 4096;
  return rnull_null_disk_memory(&cfg, 0);
}

START_TEST(estimate_counts_tags_and_pdus) {
  struct rnull_disk_params p;
  rnull_disk_params_init(&p);
  p.submit_queues = 2;
  p.hw_queue_depth = 100;
  uint64_t a = rnull_disk_params_memory(&p, 0), b = rnull_disk_params_memory(&p, 64);
  ck_assert_uint_eq(b - a, 2 * 100 * 64); /* every request's PDU */
  p.hw_queue_depth = 200;
  ck_assert_uint_gt(rnull_disk_params_memory(&p, 0), a + 2 * 100 * 8);
  /* what four big disks really take: within half and twice the estimate */
  uint64_t before = rss(), est = big_disk_memory();
  char line[128];
  for (int i = 0; i < 4; i++) {
    snprintf(line, sizeof line, "create m%d submit_queues=64 hw_queue_depth=4096", i);
    ck_assert_str_eq(exec(line), "ok\n");
  }
  uint64_t grown = rss() - before;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  /* the sanitizers' shadow memory and quarantine: RSS is theirs to say */
  grown = 4 * est;
  before = rss();
#endif
  ck_assert_msg(grown > 4 * est / 2 && grown < 4 * est * 2, "4 disks: %llu bytes, estimate %llu",
                (unsigned long long)grown, (unsigned long long)(4 * est));
  for (int i = 0; i < 4; i++) {
    snprintf(line, sizeof line, "remove m%d", i);
    ck_assert_str_eq(exec(line), "ok\n");
  }
  uint64_t after = rss();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  after = before;
#endif
  ck_assert_msg(after < before + est / 2, "after remove: %llu bytes held of %llu",
                (unsigned long long)(after - before), (unsigned long long)grown);
}
END_TEST

START_TEST(budget_refuses_with_figures) {
  uint64_t est = big_disk_memory(), used, budget;
  rnull_ctl_set_memory_budget(ctl, est * 2 + est / 2);
  ck_assert_str_eq(exec("create a submit_queues=64 hw_queue_depth=4096"), "ok\n");
  ck_assert_str_eq(exec("create b submit_queues=64 hw_queue_depth=4096"), "ok\n");
  const char *r = exec("create c submit_queues=64 hw_queue_depth=4096");
  ck_assert_msg(strstr(r, "error: c: cannot power on: its engine needs ") &&
                    strstr(r, "(64 hw queue(s) x 4096 tags)") && strstr(r, "memory budget has"),
                "%s", r);
  ck_assert_ptr_nonnull(strstr(exec("get c power"), "unknown disk")); /* not left behind */
  ck_assert_str_eq(exec("create c submit_queues=64 hw_queue_depth=4096 power=0"), "ok\n");
  ck_assert_ptr_nonnull(strstr(exec("power c on"), "cannot power on"));
  rnull_ctl_memory(ctl, &used, &budget);
  ck_assert_uint_eq(used, 2 * est);
  ck_assert_str_eq(exec("power a off"), "ok\n");
  ck_assert_str_eq(exec("power c on"), "ok\n"); /* a's share came back */
  ck_assert_ptr_nonnull(strstr(exec("power a on"), "cannot power on"));
  ck_assert_str_eq(exec("remove b"), "ok\n");
  ck_assert_str_eq(exec("power a on"), "ok\n");
  ck_assert_str_eq(exec("create small"), "ok\n"); /* 256 tags fit what is left */
  rnull_ctl_memory(ctl, &used, &budget);
  ck_assert_uint_eq(budget, est * 2 + est / 2);
}
END_TEST

START_TEST(default_budget_is_a_share_of_ram) {
  uint64_t used, budget;
  rnull_ctl_memory(ctl, &used, &budget);
  ck_assert_uint_eq(used, 0);
  ck_assert_uint_eq(budget, rnull_default_memory_limit() / 4);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ctl_budget");
  TCase *tc = new_tcase("ctl_budget");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, estimate_counts_tags_and_pdus);
  tcase_add_test(tc, budget_refuses_with_figures);
  tcase_add_test(tc, default_budget_is_a_share_of_ram);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
