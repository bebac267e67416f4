/* Silent corruption and lost writes (memory_backed=1): read_corrupt returns
 * the data with one seeded bit flipped and leaves the store alone;
 * write_corrupt stores it with one bit flipped; lost_write acknowledges a
 * write and stores nothing; the same fault_seed flips the same bit; ranges
 * aim them; without memory_backed each is refused naming both keys. */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

static unsigned char wbuf[4096], rbuf[4096];

static int io(struct rnull_disk *d, enum rnull_op op, uint64_t off) {
  struct rnull_io x = {.op = op,
                       .offset = off,
                       .len = 4096,
                       .buf = op == RNULL_OP_WRITE ? wbuf : rbuf,
                       .cookie = (void *)1};
  unsigned before = atomic_load(&nr_ends);
  if (op == RNULL_OP_READ)
    memset(rbuf, 0x5a, sizeof rbuf);
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &x, RNULL_SUBMIT_LAST), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 1);
  if (op == RNULL_OP_READ && (ends[before].flags & RNULL_DONE_ZERO))
    memset(rbuf, 0, sizeof rbuf); /* what the front end sends */
  return ends[before].status;
}

/* Bits in which rbuf differs from want (4096 bytes); *where the last one. */
static unsigned diff_bits(const unsigned char *want, unsigned *where) {
  unsigned n = 0;
  for (unsigned i = 0; i < 4096; i++)
    for (unsigned b = 0; b < 8; b++)
      if ((rbuf[i] ^ want[i]) & (1u << b)) {
        n++;
        *where = i * 8 + b;
      }
  return n;
}

static struct rnull_disk *disk(const char *fault, const char *seed) {
  const char *kv[] = {"size=1M", "memory_backed=1", fault, seed, NULL};
  return make_disk(kv, NULL, NULL);
}

START_TEST(read_corrupt_flips_a_bit_and_leaves_the_store) {
  static unsigned char zeros[4096];
  struct rnull_disk *d = disk("read_corrupt=1,100,0,2", "fault_seed=7");
  unsigned where = 0, first;
  memset(wbuf, 0xc3, sizeof wbuf);
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, 0), 0);
  ck_assert_int_eq(io(d, RNULL_OP_READ, 0), 0);
  ck_assert_uint_eq(diff_bits(wbuf, &where), 1);
  first = where;
  ck_assert_int_eq(io(d, RNULL_OP_READ, 8192), 0); /* a hole: zeros, one bit set */
  ck_assert_uint_eq(diff_bits(zeros, &where), 1);
  ck_assert_int_eq(io(d, RNULL_OP_READ, 0), 0); /* times used up: the store was not changed */
  ck_assert_uint_eq(diff_bits(wbuf, &where), 0);
  rnull_disk_destroy(d);
  /* the same seed flips the same bit */
  d = disk("read_corrupt=1,100,0,2", "fault_seed=7");
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, 0), 0);
  ck_assert_int_eq(io(d, RNULL_OP_READ, 0), 0);
  ck_assert_uint_eq(diff_bits(wbuf, &where), 1);
  ck_assert_uint_eq(where, first);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(write_corrupt_stores_a_flipped_bit) {
  struct rnull_disk *d = disk("write_corrupt=1,100,0,1@8-15", "fault_seed=3");
  unsigned where = 0, first;
  memset(wbuf, 0x11, sizeof wbuf);
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, 0), 0); /* sectors 0..7: outside */
  ck_assert_int_eq(io(d, RNULL_OP_READ, 0), 0);
  ck_assert_uint_eq(diff_bits(wbuf, &where), 0);
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, 4096), 0);
  ck_assert_int_eq(io(d, RNULL_OP_READ, 4096), 0);
  ck_assert_uint_eq(diff_bits(wbuf, &where), 1);
  first = where;
  ck_assert_int_eq(io(d, RNULL_OP_READ, 4096), 0); /* stored so: the same every read */
  ck_assert_uint_eq(diff_bits(wbuf, &where), 1);
  ck_assert_uint_eq(where, first);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(lost_write_is_acknowledged_not_stored) {
  static unsigned char zeros[4096];
  struct rnull_disk *d = disk("lost_write=1,100,0,-1@0-7", "fault_seed=1");
  unsigned where;
  memset(wbuf, 0x77, sizeof wbuf);
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, 0), 0);
  ck_assert_int_eq(io(d, RNULL_OP_READ, 0), 0);
  ck_assert_uint_eq(diff_bits(zeros, &where), 0);
  ck_assert_int_eq(io(d, RNULL_OP_WRITE, 4096), 0);
  ck_assert_int_eq(io(d, RNULL_OP_READ, 4096), 0);
  ck_assert_uint_eq(diff_bits(wbuf, &where), 0);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(refused_without_memory_backed) {
  const char *keys[] = {"read_corrupt", "write_corrupt", "lost_write"};
  for (unsigned i = 0; i < 3; i++) {
    struct rnull_config cfg;
    char kv[64], err[RNULL_ERR_LEN], want[160];
    rnull_config_init(&cfg);
    snprintf(kv, sizeof kv, "%s=1,100,0,-1", keys[i]);
    ck_assert_int_eq(rnull_config_set_kv(&cfg, kv, err, sizeof err), 0);
    ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
    snprintf(want, sizeof want,
             "%s needs memory_backed=1: the null store keeps no data to corrupt or lose", keys[i]);
    ck_assert_str_eq(err, want);
  }
  /* and live on a null-store disk */
  const char *kv[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  char err[RNULL_ERR_LEN];
  ck_assert_int_eq(rnull_null_disk_set_live(d, "lost_write", "1,100,0,-1", err, sizeof err),
                   -EINVAL);
  ck_assert_msg(strstr(err, "lost_write needs memory_backed=1"), "%s", err);
  /* turning one off (rnull-ctl's off: 1,0,0,0) is no data fault */
  ck_assert_int_eq(rnull_null_disk_set_live(d, "lost_write", "1,0,0,0", err, sizeof err), 0);
  rnull_disk_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("data_faults");
  TCase *tc = new_tcase("data_faults");
  tcase_add_test(tc, read_corrupt_flips_a_bit_and_leaves_the_store);
  tcase_add_test(tc, write_corrupt_stores_a_flipped_bit);
  tcase_add_test(tc, lost_write_is_acknowledged_not_stored);
  tcase_add_test(tc, refused_without_memory_backed);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
