/* Issue 8's configuration rules: numbers are decimal only (no octal, hex,
 * sign or blanks; the error names the key), and the largest request may not
 * be below the physical block size (both keys named). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "fixture.h"
#include "rnull/null.h"

static struct rnull_config cfg;
static char err[RNULL_ERR_LEN];

static void setup(void) {
  rnull_config_init(&cfg);
  err[0] = '\0';
}

/* key=value must fail with a message naming the key and the value. */
static void refused(const char *key, const char *value) {
  ck_assert_msg(rnull_config_set(&cfg, key, value, err, sizeof err) == -EINVAL, "%s=%s accepted",
                key, value);
  ck_assert_msg(strstr(err, key) && strstr(err, value), "message '%s' names %s=%s", err, key,
                value);
}

START_TEST(numbers_are_decimal_only) {
  ck_assert_int_eq(rnull_config_set(&cfg, "hw_queue_depth", "010", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.core.hw_queue_depth, 10); /* not octal 8 */
  refused("hw_queue_depth", "0x10");
  refused("hw_queue_depth", "0X10");
  refused("hw_queue_depth", "+16");
  refused("hw_queue_depth", " 16");
  refused("hw_queue_depth", "16 ");
  refused("submit_queues", "-1");
  refused("completion_nsec", "1e3");
  refused("mbps", "0x1");
  refused("timeout_ms", "0b11");
  refused("fault_seed", "18446744073709551616"); /* 2^64 */
  ck_assert_int_eq(rnull_config_set(&cfg, "fault_seed", "18446744073709551615", err, sizeof err),
                   0);
  ck_assert_uint_eq(cfg.null.fault_seed, UINT64_MAX);
}
END_TEST

START_TEST(sizes_are_decimal_with_suffixes) {
  ck_assert_int_eq(rnull_config_set(&cfg, "size", "0010M", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.core.size, 10ull << 20);
  refused("size", "0x100000");
  refused("size", "-1G");
  refused("size", "+1G");
  refused("size", " 1G");
  refused("max_transfer", "0x1000");
  refused("size", "18446744073709551616");
}
END_TEST

START_TEST(badblock_ranges_are_decimal) {
  refused("badblocks", "1--5"); /* was 1 to 2^64-5 */
  refused("badblocks", "-1-5");
  refused("badblocks", "0x10-0x20");
  refused("badblocks", "1-+5");
  refused("badblocks", "1- 5");
  refused("badblocks", "1-18446744073709551616");
  ck_assert_int_eq(rnull_config_set(&cfg, "badblocks", "010-020,30-40", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.null.badblocks.n, 2);
  ck_assert_uint_eq(cfg.null.badblocks.r[0].start, 10);
  ck_assert_uint_eq(cfg.null.badblocks.r[0].end, 20);
}
END_TEST

START_TEST(fault_fields_are_decimal) {
  refused("error", "0x1,100,0,-1");
  refused("timeout", "1,+100,0,1");
}
END_TEST

START_TEST(max_transfer_at_least_physical_blocksize) {
  ck_assert_int_eq(rnull_config_set(&cfg, "physical_blocksize", "65536", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "max_transfer", "4096", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "max_transfer=4096") && strstr(err, "physical_blocksize=65536"),
                "message names both keys: %s", err);
  /* Equal is fine (maximum >= preferred). */
  ck_assert_int_eq(rnull_config_set(&cfg, "max_transfer", "64K", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), 0);
  /* physical_blocksize=0 follows blocksize: 4096 <= 4096. */
  ck_assert_int_eq(rnull_config_set(&cfg, "physical_blocksize", "0", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "max_transfer", "4096", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("config_strict");
  TCase *tc = new_tcase("config_strict");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, numbers_are_decimal_only);
  tcase_add_test(tc, sizes_are_decimal_with_suffixes);
  tcase_add_test(tc, badblock_ranges_are_decimal);
  tcase_add_test(tc, fault_fields_are_decimal);
  tcase_add_test(tc, max_transfer_at_least_physical_blocksize);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
