/* The registry and its line protocol (lib/ctl) without a front end: every
 * command's output and "ok", every refusal's message naming disk, key,
 * value and why; users hold a powered disk and power off waits for them. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl_fixture.h"
#include "fixture.h"

START_TEST(create_get_list_remove) {
  EXPECT_REPLY("create a size=16M blocksize=512", "ok\n");
  EXPECT_REPLY("create b size=1G power=0", "ok\n");
  EXPECT_REPLY("get a size", "size=16777216\nok\n");
  EXPECT_REPLY("get a power", "power=1\nok\n");
  EXPECT_REPLY("get b power", "power=0\nok\n");
  EXPECT_HAS("list", "a                               on         16M       512       0        0\n");
  EXPECT_HAS("list", "b                               off         1G      4096       0        0\n");
  EXPECT_HAS("features", "size,blocksize,");
  EXPECT_HAS("stats a --json", "\"total\"");
  EXPECT_REPLY("stats a --hist", "disk = a: no requests yet\nok\n");
  EXPECT_REPLY("badblocks a +8-15", "ok\n");
  EXPECT_REPLY("get a badblocks", "badblocks=8-15\nok\n");
  EXPECT_REPLY("set a error=1,100,0,-1 mbps=100", "ok\n");
  EXPECT_REPLY("get a mbps", "mbps=100\nok\n");
  EXPECT_REPLY("set b size=2G blocksize=4096", "ok\n");
  EXPECT_REPLY("set b power=1", "ok\n");
  EXPECT_REPLY("get b power", "power=1\nok\n");
  EXPECT_REPLY("power b off", "ok\n");
  EXPECT_REPLY("remove b", "ok\n");
  EXPECT_REPLY("remove a", "ok\n");
  EXPECT_REPLY("list",
               "NAME                            STATE     SIZE BLOCKSIZE CLIENTS INFLIGHT\nok\n");
}
END_TEST

START_TEST(errors_say_why) {
  EXPECT_REPLY("create a", "ok\n");
  EXPECT_REPLY("create a", "error: a: name taken: a disk of that name exists\n");
  EXPECT_HAS("create x blocksize=1000", "error: x: blocksize=1000: invalid value");
  EXPECT_HAS("create x blocksize=1000", "power of two from 512 to 4096");
  EXPECT_REPLY("set a size=1G", "error: a: size: can only change while the disk is powered off\n");
  EXPECT_REPLY("set zz mbps=1", "error: zz: unknown disk (see 'list')\n");
  EXPECT_REPLY("set a nokey=1", "error: a: nokey: unknown key (see 'features')\n");
  EXPECT_REPLY("set a mbps", "error: a: 'mbps': expected key=value\n");
  EXPECT_HAS("create .x", "error: disk name '.x'");
  EXPECT_HAS("create aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "must be 1 to 31 bytes");
  EXPECT_REPLY("power a sideways", "error: a: power 'sideways': expected on or off\n");
  EXPECT_HAS("badblocks a 1-2", "error: a: badblocks 1-2: invalid value");
  EXPECT_REPLY("frob", "error: frob: unknown command (try 'help')\n");
  EXPECT_REPLY("", "error: empty command (try 'help')\n");
  EXPECT_REPLY("get", "error: get: missing disk name\n");
  EXPECT_HAS("set a name=b", "error: a: name: cannot be set");
  EXPECT_REPLY("stats a --yaml", "error: a: stats: unexpected '--yaml' (only --json or --hist)\n");
}
END_TEST

/* A user holds the disk: power off waits until it lets go. */
static void *let_go_later(void *arg) {
  usleep(100000);
  rnull_ctl_put(arg);
  return NULL;
}

START_TEST(power_off_waits_for_users) {
  EXPECT_REPLY("create a", "ok\n");
  struct rnull_ctl_disk *cd = rnull_ctl_get(ctl, "a");
  ck_assert_ptr_nonnull(cd);
  ck_assert(rnull_ctl_disk_powered(cd));
  ck_assert_ptr_null(rnull_ctl_get(ctl, "nosuch"));
  pthread_t t;
  pthread_create(&t, NULL, let_go_later, cd);
  EXPECT_REPLY("power a off", "ok\n"); /* returns once the user let go */
  pthread_join(t, NULL);
  ck_assert_ptr_null(rnull_ctl_get(ctl, "a")); /* off: no new users */
  char desc[RNULL_CTL_DESC_LEN];
  ck_assert_int_eq(rnull_ctl_describe(ctl, "a", desc), -ENOENT);
  EXPECT_REPLY("power a on", "ok\n");
  ck_assert_int_eq(rnull_ctl_describe(ctl, "a", desc), 0);
  ck_assert_str_eq(desc, "rnull disk a: 4294967296 bytes, 4096-byte blocks, null store");
}
END_TEST

int main(void) {
  Suite *s = suite_create("ctl");
  TCase *tc = new_tcase("ctl");
  tcase_add_checked_fixture(tc, ctl_setup, ctl_teardown);
  tcase_add_test(tc, create_get_list_remove);
  tcase_add_test(tc, errors_say_why);
  tcase_add_test(tc, power_off_waits_for_users);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
