/* The disk: states, frozen configuration, the checks every I/O passes. */
#include "fixture.h"

START_TEST(initialized_then_added_then_frozen) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  struct rnull_disk *d;
  ck_assert_int_eq(rnull_null_disk_create(&d, &cfg, err, sizeof err), 0);
  ck_assert_int_eq(rnull_disk_state(d), RNULL_DISK_INITIALIZED);
  ck_assert_ptr_null(rnull_disk_hctx(d, 0)); /* no tag set yet */
  ck_assert_int_eq(rnull_disk_set(d, "blocksize", "512", err, sizeof err), 0);
  ck_assert_int_eq(rnull_disk_set(d, "blocksize", "1000", err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_disk_add(d, record_end_io, err, sizeof err), 0);
  ck_assert_int_eq(rnull_disk_state(d), RNULL_DISK_ADDED);
  ck_assert_int_eq(rnull_disk_set(d, "blocksize", "1024", err, sizeof err), -EBUSY);
  ck_assert_msg(strstr(err, "frozen"), "%s", err);
  ck_assert_int_eq(rnull_disk_set_ops(d, &hold_ops, NULL), -EBUSY);
  ck_assert_int_eq(rnull_disk_set_clock(d, vclock, NULL), -EBUSY);
  ck_assert_int_eq(rnull_disk_add(d, record_end_io, err, sizeof err), -EBUSY);
  ck_assert_uint_eq(rnull_disk_logical_block_size(d), 512);
  ck_assert_uint_eq(rnull_disk_physical_block_size(d), 512);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(create_refuses_inconsistent_config) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  cfg.core.physical_blocksize = 512; /* < blocksize 4096 */
  struct rnull_disk *d = NULL;
  ck_assert_int_eq(rnull_disk_create(&d, &cfg.core, err, sizeof err), -EINVAL);
  ck_assert_ptr_null(d);
}
END_TEST

START_TEST(geometry_of_the_default_disk) {
  struct rnull_disk *d = make_disk(NULL, NULL, NULL);
  ck_assert_uint_eq(rnull_disk_size(d), 4ull << 30);
  ck_assert_uint_eq(rnull_disk_capacity(d), (4ull << 30) / 512);
  ck_assert_uint_eq(rnull_disk_logical_block_size(d), 4096);
  ck_assert_uint_eq(rnull_disk_physical_block_size(d), 4096);
  ck_assert(!rnull_disk_rotational(d));
  ck_assert(!rnull_disk_readonly(d));
  ck_assert_uint_eq(rnull_disk_nr_hw_queues(d), 1);
  ck_assert_uint_eq(rnull_disk_queue_depth(d), 256);
  ck_assert(rnull_disk_can_discard(d));
  ck_assert(rnull_disk_reads_zero(d));
  ck_assert_str_eq(rnull_disk_name(d), "rnullb0");
  ck_assert_ptr_null(rnull_disk_hctx(d, 1));
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(io_checks) {
  static const char *const kv[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_io io = {.op = RNULL_OP_READ, .offset = 0, .len = 4096};
  ck_assert_int_eq(rnull_disk_check_io(d, &io), 0);
  io.offset = 512; /* unaligned offset */
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EINVAL);
  io.offset = 0, io.len = 1000; /* unaligned length */
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EINVAL);
  io.len = 0;
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EINVAL);
  io.offset = (1 << 20) - 4096, io.len = 4096; /* the last block */
  ck_assert_int_eq(rnull_disk_check_io(d, &io), 0);
  io.len = 8192; /* past the end: read EINVAL, write ENOSPC */
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EINVAL);
  io.op = RNULL_OP_WRITE;
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -ENOSPC);
  io.op = RNULL_OP_WRITE_ZEROES;
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -ENOSPC);
  io.op = RNULL_OP_DISCARD;
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EINVAL);
  io.op = RNULL_OP_READ, io.offset = UINT64_MAX - 4095, io.len = 4096; /* overflow */
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EINVAL);
  io.op = RNULL_OP_READ, io.offset = 0, io.len = (32u << 20) + 4096; /* over max_transfer */
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EINVAL);
  io.op = RNULL_OP_MAX;
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EINVAL);
  io = (struct rnull_io){.op = RNULL_OP_FLUSH};
  ck_assert_int_eq(rnull_disk_check_io(d, &io), 0);
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0),
                                &(struct rnull_io){.op = RNULL_OP_READ, .offset = 1, .len = 4096},
                                0),
                   -EINVAL);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0); /* refused I/O never reaches end_io */
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(readonly_and_no_discard) {
  static const char *const kv[] = {"readonly=1", "discard=0", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  struct rnull_io io = {.op = RNULL_OP_WRITE, .offset = 0, .len = 4096};
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EPERM);
  io.op = RNULL_OP_WRITE_ZEROES;
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -EPERM);
  io.op = RNULL_OP_READ;
  ck_assert_int_eq(rnull_disk_check_io(d, &io), 0);
  ck_assert(!rnull_disk_can_discard(d));
  rnull_disk_destroy(d);
  static const char *const kv2[] = {"discard=0", NULL};
  d = make_disk(kv2, NULL, NULL);
  io.op = RNULL_OP_DISCARD;
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -ENOTSUP);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(null_disk_reads_zero_and_is_one_hole) {
  struct rnull_disk *d = make_disk(NULL, NULL, NULL);
  struct rnull_io io = rd(4096, 8192, 42);
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &io, RNULL_SUBMIT_LAST), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1); /* direct: ended inside submit */
  ck_assert_uint_eq(ends[0].cookie, 42);
  ck_assert_int_eq(ends[0].status, 0);
  ck_assert_uint_eq(ends[0].flags, RNULL_DONE_ZERO);
  uint64_t len;
  bool hole;
  ck_assert_int_eq(rnull_disk_extent(d, 0, 1 << 20, &len, &hole), 0);
  ck_assert_uint_eq(len, 1 << 20);
  ck_assert(hole);
  ck_assert_int_eq(rnull_disk_extent(d, 4ull << 30, 4096, &len, &hole), -EINVAL);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(core_disk_has_no_driver_until_one_is_attached) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  struct rnull_disk *d;
  ck_assert_int_eq(rnull_disk_create(&d, &cfg.core, err, sizeof err), 0);
  ck_assert_ptr_null(rnull_disk_driver_data(d));
  ck_assert_int_eq(rnull_disk_add(d, record_end_io, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "driver"), "%s", err);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(features_are_the_drivers) {
  /* hold_ops declares nothing: no trim, reads are data, no extent op; the
   * null driver's discard key is not the core's to take */
  struct rnull_disk_params p;
  char err[RNULL_ERR_LEN];
  rnull_disk_params_init(&p);
  ck_assert_int_eq(rnull_disk_params_set(&p, "discard", "1", err, sizeof err), -ENOENT);
  ck_assert_msg(strstr(err, "discard=1") && strstr(err, "core"), "%s", err);
  struct rnull_disk *d = make_disk(NULL, &hold_ops, NULL);
  ck_assert(!rnull_disk_can_discard(d));
  ck_assert(!rnull_disk_can_fast_zero(d));
  ck_assert(!rnull_disk_reads_zero(d));
  struct rnull_io io = {.op = RNULL_OP_DISCARD, .offset = 0, .len = 4096};
  ck_assert_int_eq(rnull_disk_check_io(d, &io), -ENOTSUP);
  uint64_t len;
  bool hole = true;
  ck_assert_int_eq(rnull_disk_extent(d, 4096, 1ull << 40, &len, &hole), 0);
  ck_assert_uint_eq(len, (4ull << 30) - 4096); /* clamped to the disk, all data */
  ck_assert(!hole);
  rnull_disk_destroy(d);
}
END_TEST

/* A driver's disk-level hooks: init_disk at add with the configuration
 * frozen, free_disk at destroy whatever the state. */
static unsigned nr_init_disk, nr_free_disk;
static int hooks_init_disk(struct rnull_disk *d, void *data, char *err, size_t errlen) {
  nr_init_disk++;
  ck_assert_ptr_eq(data, &nr_init_disk);
  ck_assert_ptr_eq(rnull_disk_driver_data(d), data);
  ck_assert_uint_eq(rnull_disk_params(d)->blocksize, 512);
  if (rnull_disk_params(d)->readonly) {
    snprintf(err, errlen, "hooks: refusing a read-only disk");
    return -EROFS;
  }
  return rnull_disk_set_features(d, RNULL_FEAT_DISCARD);
}
static void hooks_free_disk(struct rnull_disk *d, void *data) {
  (void)d;
  ck_assert_ptr_eq(data, &nr_init_disk);
  nr_free_disk++;
}
static int hooks_init_hctx(struct rnull_hctx *h, void *data, unsigned idx) {
  ck_assert_ptr_eq(rnull_hctx_driver_data(h), data); /* the disk's by default */
  rnull_hctx_set_driver_data(h, (void *)(uintptr_t)(idx + 1));
  return 0;
}
static const struct rnull_ops hooks_ops = {.queue_rq = hold_queue_rq,
                                           .init_disk = hooks_init_disk,
                                           .free_disk = hooks_free_disk,
                                           .init_hctx = hooks_init_hctx};

START_TEST(driver_disk_hooks) {
  static const char *const kv[] = {"blocksize=512", "submit_queues=2", NULL};
  nr_init_disk = nr_free_disk = 0;
  struct rnull_disk *d = make_disk(kv, &hooks_ops, &nr_init_disk);
  ck_assert_uint_eq(nr_init_disk, 1);
  ck_assert(rnull_disk_can_discard(d));
  ck_assert_int_eq(rnull_disk_set_features(d, 0), -EBUSY);
  ck_assert_ptr_eq(rnull_hctx_driver_data(rnull_disk_hctx(d, 1)), (void *)2);
  rnull_disk_destroy(d);
  ck_assert_uint_eq(nr_free_disk, 1);
  /* never added: free_disk still runs; a failing init_disk fails add */
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  rnull_config_set(&cfg, "blocksize", "512", err, sizeof err);
  rnull_config_set(&cfg, "readonly", "1", err, sizeof err);
  ck_assert_int_eq(rnull_disk_create(&d, &cfg.core, err, sizeof err), 0);
  ck_assert_int_eq(rnull_disk_set_ops(d, &hooks_ops, &nr_init_disk), 0);
  ck_assert_int_eq(rnull_disk_add(d, record_end_io, err, sizeof err), -EROFS);
  ck_assert_msg(strstr(err, "read-only"), "%s", err);
  rnull_disk_destroy(d);
  ck_assert_uint_eq(nr_free_disk, 2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("disk");
  TCase *tc = new_tcase("disk");
  tcase_add_test(tc, initialized_then_added_then_frozen);
  tcase_add_test(tc, create_refuses_inconsistent_config);
  tcase_add_test(tc, geometry_of_the_default_disk);
  tcase_add_test(tc, io_checks);
  tcase_add_test(tc, readonly_and_no_discard);
  tcase_add_test(tc, null_disk_reads_zero_and_is_one_hole);
  tcase_add_test(tc, core_disk_has_no_driver_until_one_is_attached);
  tcase_add_test(tc, features_are_the_drivers);
  tcase_add_test(tc, driver_disk_hooks);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
