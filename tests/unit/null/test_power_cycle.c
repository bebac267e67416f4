/* Data survives power off (null_blk): a memory-backed disk's data outlives
 * its engine disk while the registry holds its name; remove frees it; a
 * geometry change of a disk holding data refuses the power on. Through the
 * registry's line protocol and the unit API (take/give media). */
#include <stdlib.h>

#include "ctl_fixture.h"
#include "fixture.h"

/* One request on hw queue 0 of a direct-completion disk: its status. */
static int io(struct rnull_disk *d, enum rnull_op op, uint64_t off, uint32_t len, void *buf) {
  unsigned before = atomic_load(&nr_ends);
  struct rnull_io r = {.op = op, .offset = off, .len = len, .buf = buf, .cookie = (void *)1};
  int s = rnull_submit(rnull_disk_hctx(d, 0), &r, 0);
  if (s < 0)
    return s;
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 1);
  return ends[before].status;
}

/* Through the registry: write, flush, power off, power on, read. */
static void write_through(const char *name, uint64_t off, uint8_t pattern) {
  struct rnull_ctl_disk *cd = rnull_ctl_get(ctl, name);
  ck_assert_ptr_nonnull(cd);
  uint8_t buf[4096];
  memset(buf, pattern, sizeof buf);
  ck_assert_int_eq(io(rnull_ctl_disk_engine(cd), RNULL_OP_WRITE, off, sizeof buf, buf), 0);
  ck_assert_int_eq(io(rnull_ctl_disk_engine(cd), RNULL_OP_FLUSH, 0, 0, NULL), 0);
  rnull_ctl_put(cd);
}

static int read_byte(const char *name, uint64_t off) {
  struct rnull_ctl_disk *cd = rnull_ctl_get(ctl, name);
  ck_assert_ptr_nonnull(cd);
  uint8_t buf[4096];
  memset(buf, 0xee, sizeof buf);
  unsigned e = atomic_load(&nr_ends);
  ck_assert_int_eq(io(rnull_ctl_disk_engine(cd), RNULL_OP_READ, off, sizeof buf, buf), 0);
  rnull_ctl_put(cd);
  if (ends[e].flags & RNULL_DONE_ZERO)
    return 0; /* a hole: buf left as it was */
  for (size_t i = 1; i < sizeof buf; i++)
    ck_assert_uint_eq(buf[i], buf[0]);
  return buf[0];
}

START_TEST(data_survives_power_off_and_on) {
  EXPECT_REPLY("create d1 size=16M memory_backed=1", "ok\n");
  write_through("d1", 8192, 0xa5);
  EXPECT_REPLY("power d1 off", "ok\n");
  EXPECT_REPLY("power d1 on", "ok\n");
  ck_assert_int_eq(read_byte("d1", 8192), 0xa5);
  ck_assert_int_eq(read_byte("d1", 0), 0);
  /* a live-key change and a memory_limit change while off keep it too */
  EXPECT_REPLY("power d1 off", "ok\n");
  EXPECT_REPLY("set d1 memory_limit=8M irqmode=softirq", "ok\n");
  EXPECT_REPLY("set d1 irqmode=none power=1", "ok\n");
  ck_assert_int_eq(read_byte("d1", 8192), 0xa5);
}
END_TEST

START_TEST(remove_frees_the_data) {
  EXPECT_REPLY("create d1 size=16M memory_backed=1", "ok\n");
  write_through("d1", 0, 0x11);
  EXPECT_REPLY("remove d1", "ok\n");
  EXPECT_REPLY("create d1 size=16M memory_backed=1", "ok\n");
  ck_assert_int_eq(read_byte("d1", 0), 0);
}
END_TEST

START_TEST(geometry_change_with_data_refuses_power_on) {
  EXPECT_REPLY("create d1 size=16M memory_backed=1", "ok\n");
  write_through("d1", 4096, 0x42);
  EXPECT_REPLY("power d1 off", "ok\n");
  EXPECT_REPLY("set d1 size=32M", "ok\n");
  EXPECT_REPLY("power d1 on",
               "error: d1: cannot power on: size=33554432: the disk holds 4096 bytes of data "
               "written with size=16777216; a memory-backed disk keeps its size while it holds "
               "data: set it back, or remove the disk and create it anew\n");
  EXPECT_REPLY("set d1 size=16M memory_backed=0", "ok\n");
  EXPECT_HAS("power d1 on", "error: d1: cannot power on: memory_backed=0: the disk holds 4096 "
                            "bytes of data from before its power off");
  /* the block size may change (the pages stay max(4 KiB, blocksize)) */
  EXPECT_REPLY("set d1 blocksize=512", "ok\n");
  /* set back: the data is there still */
  EXPECT_REPLY("set d1 memory_backed=1 power=1", "ok\n");
  ck_assert_int_eq(read_byte("d1", 4096), 0x42);
}
END_TEST

START_TEST(geometry_change_without_data_starts_empty) {
  EXPECT_REPLY("create d1 size=16M memory_backed=1", "ok\n");
  EXPECT_REPLY("power d1 off", "ok\n");
  EXPECT_REPLY("set d1 size=32M blocksize=512", "ok\n");
  EXPECT_REPLY("power d1 on", "ok\n");
  ck_assert_int_eq(read_byte("d1", 30 << 20), 0);
}
END_TEST

/* The unit API: the data of one engine disk handed to the next. */
START_TEST(media_moves_between_disks) {
  const char *kv[] = {"size=1M", "memory_backed=1", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  uint8_t buf[4096];
  memset(buf, 0x77, sizeof buf);
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, 0, sizeof buf, buf), 0);
  struct rnull_null_media *m = rnull_null_disk_take_media(d);
  ck_assert_ptr_nonnull(m);
  ck_assert_uint_eq(rnull_null_media_bytes(m), 4096);
  rnull_disk_destroy(d);

  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set(&cfg, "size", "1M", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "memory_backed", "1", err, sizeof err), 0);
  ck_assert_int_eq(rnull_null_disk_create(&d, &cfg, err, sizeof err), 0);
  rnull_null_disk_give_media(d, m);
  ck_assert_msg(rnull_disk_add(d, record_end_io, err, sizeof err) == 0, "%s", err);
  memset(buf, 0, sizeof buf);
  atomic_store(&nr_ends, 0);
  ck_assert_int_eq(io(d, RNULL_OP_READ, 0, sizeof buf, buf), 0);
  ck_assert_uint_eq(buf[0], 0x77);
  ck_assert_uint_eq(buf[4095], 0x77);
  rnull_disk_destroy(d); /* frees the data with the disk */
}
END_TEST

START_TEST(null_store_has_no_media) {
  struct rnull_disk *d = make_disk(NULL, NULL, NULL);
  ck_assert_ptr_null(rnull_null_disk_take_media(d));
  rnull_disk_destroy(d);
  ck_assert_uint_eq(rnull_null_media_bytes(NULL), 0);
  rnull_null_media_free(NULL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("power_cycle");
  TCase *tc = new_tcase("power_cycle");
  tcase_add_checked_fixture(tc, ctl_setup, ctl_teardown);
  tcase_add_test(tc, data_survives_power_off_and_on);
  tcase_add_test(tc, remove_frees_the_data);
  tcase_add_test(tc, geometry_change_with_data_refuses_power_on);
  tcase_add_test(tc, geometry_change_without_data_starts_empty);
  tcase_add_test(tc, media_moves_between_disks);
  tcase_add_test(tc, null_store_has_no_media);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
