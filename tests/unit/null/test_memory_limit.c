/* memory_limit: the memory store refuses pages beyond the limit with ENOSPC
 * (calloc never fails under overcommit, so without it the ENOSPC clients
 * were promised never came), trims and unmapping zeroes give budget back,
 * and the key defaults to half of the machine's RAM. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "null/store.h"
#include "rnull/null.h"

#define PG 4096u

static uint8_t buf[8 * PG];

START_TEST(writes_beyond_the_limit_fail_with_enospc) {
  struct rnull_store *s = rnull_store_memory_create(1 << 20, PG);
  ck_assert_ptr_nonnull(s);
  rnull_store_memory_set_limit(s, 4 * PG);
  memset(buf, 0x5a, sizeof buf);
  ck_assert_int_eq(s->ops->write(s, buf, 0, 4 * PG), 0);
  ck_assert_int_eq(s->ops->write(s, buf, 4 * PG, PG), -ENOSPC);
  ck_assert_uint_eq(s->ops->allocated(s), 4 * PG);
  /* Overwriting pages already held needs no budget. */
  ck_assert_int_eq(s->ops->write(s, buf, 100, 2 * PG), 0);
  /* Write zeroes that keeps pages (NOUNMAP) frees nothing, allocates nothing. */
  ck_assert_int_eq(s->ops->write_zeroes(s, 0, PG, false), 0);
  ck_assert_int_eq(s->ops->write(s, buf, 8 * PG, PG), -ENOSPC);
  /* Trim gives a page back; so does write zeroes with unmap. */
  ck_assert_int_eq(s->ops->discard(s, 0, PG), 0);
  ck_assert_int_eq(s->ops->write(s, buf, 8 * PG, PG), 0);
  ck_assert_int_eq(s->ops->write(s, buf, 9 * PG, PG), -ENOSPC);
  ck_assert_int_eq(s->ops->write_zeroes(s, PG, PG, true), 0);
  ck_assert_int_eq(s->ops->write(s, buf, 9 * PG, PG), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 4 * PG);
  /* A failed write held nothing back. */
  ck_assert_int_eq(s->ops->write(s, buf, 20 * PG, 3 * PG), -ENOSPC);
  ck_assert_uint_eq(s->ops->allocated(s), 4 * PG);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(zero_means_no_limit) {
  struct rnull_store *s = rnull_store_memory_create(1 << 20, PG);
  ck_assert_ptr_nonnull(s);
  rnull_store_memory_set_limit(s, 0);
  for (unsigned i = 0; i < 64; i++)
    ck_assert_int_eq(s->ops->write(s, buf, (uint64_t)i * PG, PG), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 64 * PG);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(key_defaults_to_half_of_ram) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
  rnull_config_init(&cfg);
  ck_assert_uint_eq(cfg.null.memory_limit, ram / 2);
  ck_assert_uint_eq(rnull_default_memory_limit(), ram / 2);
  ck_assert_int_eq(rnull_config_set(&cfg, "memory_limit", "64M", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.null.memory_limit, 64ull << 20);
  ck_assert_int_eq(rnull_config_set(&cfg, "memory_limit", "0", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.null.memory_limit, 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "memory_limit", "lots", err, sizeof err), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "memory_limit=lots"));
  ck_assert_int_eq(rnull_config_set(&cfg, "memory_limit", "-1", err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(help_and_dump_show_it) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  struct rnull_config cfg;
  rnull_config_init(&cfg);
  rnull_config_help(f);
  rnull_config_dump(&cfg, f);
  fclose(f);
  ck_assert_ptr_nonnull(strstr(text, "memory_limit=  "));
  ck_assert_ptr_nonnull(strstr(text, "default: half of RAM at start-up;"));
  char line[64];
  snprintf(line, sizeof line, "\nmemory_limit=%llu\n", (unsigned long long)cfg.null.memory_limit);
  ck_assert_ptr_nonnull(strstr(text, line));
  free(text);
}
END_TEST

int main(void) {
  Suite *s = suite_create("memory_limit");
  TCase *tc = tcase_create("memory_limit");
  tcase_add_test(tc, writes_beyond_the_limit_fail_with_enospc);
  tcase_add_test(tc, zero_means_no_limit);
  tcase_add_test(tc, key_defaults_to_half_of_ram);
  tcase_add_test(tc, help_and_dump_show_it);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
