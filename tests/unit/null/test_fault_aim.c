/* Faults you can aim (issue 25): read_error..zero_error fire only for
 * their operation while error fires for every one; the fifth field names
 * the error a fired fault ends with (EIO if none; other names refused
 * naming the key and the allowed ones); @START-END limits a fault to
 * requests touching those sectors; a fault_seed repeats the same fired
 * requests. */
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"
#include "null/fault.h"

static int submit(struct rnull_disk *d, enum rnull_op op, uint64_t off, uint32_t len) {
  static char buf[65536];
  struct rnull_io io = {.op = op, .offset = off, .len = len, .buf = buf, .cookie = (void *)1};
  unsigned before = atomic_load(&nr_ends);
  ck_assert_int_eq(rnull_submit(rnull_disk_hctx(d, 0), &io, RNULL_SUBMIT_LAST), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 1);
  return ends[before].status;
}

static const enum rnull_op ops[] = {RNULL_OP_READ, RNULL_OP_WRITE, RNULL_OP_FLUSH, RNULL_OP_DISCARD,
                                    RNULL_OP_WRITE_ZEROES};
static const char *const keys[] = {"read_error", "write_error", "flush_error", "trim_error",
                                   "zero_error"};
#define NOPS (sizeof ops / sizeof ops[0])

static uint32_t len_of(enum rnull_op op) { return op == RNULL_OP_FLUSH ? 0 : 4096; }

START_TEST(each_op_key_fires_only_for_its_operation) {
  for (unsigned k = 0; k < NOPS; k++) {
    char kv[64];
    snprintf(kv, sizeof kv, "%s=1,100,0,-1", keys[k]);
    const char *kvs[] = {"size=1M", kv, NULL};
    struct rnull_disk *d = make_disk(kvs, NULL, NULL);
    for (unsigned o = 0; o < NOPS; o++)
      ck_assert_msg(submit(d, ops[o], 0, len_of(ops[o])) == (o == k ? -EIO : 0), "%s: op %u",
                    keys[k], o);
    rnull_disk_destroy(d);
  }
  const char *kvs[] = {"size=1M", "error=1,100,0,-1", NULL};
  struct rnull_disk *d = make_disk(kvs, NULL, NULL);
  for (unsigned o = 0; o < NOPS; o++)
    ck_assert_int_eq(submit(d, ops[o], 0, len_of(ops[o])), -EIO);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(op_keys_are_live) {
  const char *kvs[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kvs, NULL, NULL);
  char err[RNULL_ERR_LEN];
  for (unsigned k = 0; k < NOPS; k++)
    ck_assert(rnull_null_key_is_live(keys[k]));
  ck_assert_int_eq(submit(d, RNULL_OP_WRITE, 0, 4096), 0);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "write_error", "1,100,0,2,ENOSPC", err, sizeof err),
                   0);
  ck_assert_int_eq(submit(d, RNULL_OP_READ, 0, 4096), 0);
  ck_assert_int_eq(submit(d, RNULL_OP_WRITE, 0, 4096), -ENOSPC);
  /* another key's change keeps write_error's count: one failure left */
  ck_assert_int_eq(rnull_null_disk_set_live(d, "read_error", "1,100,0,-1,EPERM", err, sizeof err),
                   0);
  ck_assert_int_eq(submit(d, RNULL_OP_READ, 0, 4096), -EPERM);
  ck_assert_int_eq(submit(d, RNULL_OP_WRITE, 0, 4096), -ENOSPC);
  ck_assert_int_eq(submit(d, RNULL_OP_WRITE, 0, 4096), 0);
  ck_assert_int_eq(rnull_null_disk_set_live(d, "read_error", "1,0,0,0", err, sizeof err), 0);
  ck_assert_int_eq(submit(d, RNULL_OP_READ, 0, 4096), 0);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(every_allowed_errno_is_returned) {
  static const struct {
    const char *name;
    int err;
  } names[] = {{"EPERM", EPERM},     {"EIO", EIO},
               {"ENOMEM", ENOMEM},   {"EINVAL", EINVAL},
               {"ENOSPC", ENOSPC},   {"EOVERFLOW", EOVERFLOW},
               {"ENOTSUP", ENOTSUP}, {"ESHUTDOWN", ESHUTDOWN}};
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
    char kv[64];
    snprintf(kv, sizeof kv, "error=1,100,0,-1,%s", names[i].name);
    const char *kvs[] = {"size=1M", kv, NULL};
    struct rnull_disk *d = make_disk(kvs, NULL, NULL);
    ck_assert_int_eq(submit(d, RNULL_OP_READ, 0, 4096), -names[i].err);
    ck_assert_str_eq(rnull_fault_errno_name(names[i].err), names[i].name);
    rnull_disk_destroy(d);
  }
}
END_TEST

START_TEST(refusals_name_the_key_and_the_allowed) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "write_error=1,100,0,-1,EAGAIN", err, sizeof err),
                   -EINVAL);
  ck_assert_str_eq(err, "write_error=1,100,0,-1,EAGAIN: invalid value: '1,100,0,-1,EAGAIN': "
                        "unknown error 'EAGAIN' in "
                        "<interval>,<probability>,<space>,<times>,<errno>: "
                        "expected one of EPERM, EIO, ENOMEM, EINVAL, ENOSPC, EOVERFLOW, ENOTSUP, "
                        "ESHUTDOWN");
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "read_error=1,100,0,-1,", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "read_error=") && strstr(err, "unknown error ''"), "%s", err);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "error=1,100,0,-1,eio", err, sizeof err), -EINVAL);
  ck_assert_msg(
      strstr(err, "error=1,100,0,-1,eio: invalid value: '1,100,0,-1,eio': unknown error 'eio'"),
      "%s", err);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "read_error=1,100,0,-1@9-8", err, sizeof err),
                   -EINVAL);
  ck_assert_str_eq(err, "read_error=1,100,0,-1@9-8: invalid value: '1,100,0,-1@9-8': expected "
                        "@<start>-<end> after the fault, in 512-byte sectors, start <= end");
  const char *bad_ranges[] = {"1,100,0,-1@",     "1,100,0,-1@5",
                              "1,100,0,-1@a-b",  "1,100,0,-1@1-2x",
                              "1,100,0,-1@-1-2", "1,100,0,-1@1-99999999999999999999999"};
  for (unsigned i = 0; i < sizeof bad_ranges / sizeof bad_ranges[0]; i++) {
    char kv[96];
    snprintf(kv, sizeof kv, "trim_error=%s", bad_ranges[i]);
    ck_assert_msg(rnull_config_set_kv(&cfg, kv, err, sizeof err) == -EINVAL, "%s accepted", kv);
    ck_assert_msg(strstr(err, "trim_error=") && strstr(err, "@<start>-<end>"), "%s", err);
  }
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "zero_error=1,100,x,-1", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "zero_error=1,100,x,-1: invalid value: '1,100,x,-1': expected "
                            "<interval>,<probability>,<space>,<times>[,<errno>][@<start>-<end>]"),
                "%s", err);
}
END_TEST

START_TEST(parse_orders_errno_then_range) {
  struct rnull_fault_attr a;
  char err[256];
  ck_assert_int_eq(rnull_fault_parse("1,100,0,-1", &a, err, sizeof err), 0);
  ck_assert_int_eq(a.error, EIO);
  ck_assert(!a.ranged);
  ck_assert_int_eq(rnull_fault_parse("2,50,3,4,ENOSPC@2048-4095", &a, err, sizeof err), 0);
  ck_assert_int_eq(a.error, ENOSPC);
  ck_assert(a.ranged);
  ck_assert_uint_eq(a.start, 2048);
  ck_assert_uint_eq(a.end, 4095);
  ck_assert_uint_eq(a.interval, 2);
  ck_assert_int_eq(a.times, 4);
  ck_assert_int_eq(rnull_fault_parse("1,100,0,-1@7-7", &a, err, sizeof err), 0);
  ck_assert(a.ranged && a.start == 7 && a.end == 7 && a.error == EIO);
  /* the range comes last: an errno after it is refused */
  ck_assert_int_eq(rnull_fault_parse("1,100,0,-1@7-7,EIO", &a, err, sizeof err), -EINVAL);
  /* the configuration dump writes it back as it was given */
  struct rnull_config cfg;
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "write_error=1,100,0,-1,ENOSPC@8-15", err, sizeof err),
                   0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  rnull_config_dump(&cfg, f);
  fclose(f);
  ck_assert_msg(strstr(text, "write_error=1,100,0,-1,ENOSPC@8-15\n") != NULL, "%s", text);
  free(text);
}
END_TEST

START_TEST(range_fires_only_for_requests_touching_it) {
  /* sectors 16..23 are bytes 8192..12287 */
  const char *kvs[] = {"size=1M", "blocksize=512", "read_error=1,100,0,-1,EPERM@16-23", NULL};
  struct rnull_disk *d = make_disk(kvs, NULL, NULL);
  ck_assert_int_eq(submit(d, RNULL_OP_READ, 0, 4096), 0);         /* sectors 0..7 */
  ck_assert_int_eq(submit(d, RNULL_OP_READ, 4096, 4096), 0);      /* 8..15: just before */
  ck_assert_int_eq(submit(d, RNULL_OP_READ, 4096, 4608), -EPERM); /* 8..16: last touches */
  ck_assert_int_eq(submit(d, RNULL_OP_READ, 11776, 512), -EPERM); /* sector 23 */
  ck_assert_int_eq(submit(d, RNULL_OP_READ, 12288, 4096), 0);     /* 24..: just after */
  ck_assert_int_eq(submit(d, RNULL_OP_READ, 0, 65536), -EPERM);   /* covering it */
  ck_assert_int_eq(submit(d, RNULL_OP_WRITE, 8192, 512), 0);      /* another operation */
  rnull_disk_destroy(d);
  /* a range on error: a flush touches no sector, so it is never failed */
  const char *kv2[] = {"size=1M", "error=1,100,0,-1@0-7", NULL};
  d = make_disk(kv2, NULL, NULL);
  ck_assert_int_eq(submit(d, RNULL_OP_FLUSH, 0, 0), 0);
  ck_assert_int_eq(submit(d, RNULL_OP_DISCARD, 0, 4096), -EIO);
  ck_assert_int_eq(submit(d, RNULL_OP_WRITE, 4096, 4096), 0);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(requests_outside_the_range_do_not_count) {
  /* times=2, interval 2: only in-range requests count, outside ones never */
  const char *kvs[] = {"size=1M", "write_error=2,100,0,2@0-7", NULL};
  struct rnull_disk *d = make_disk(kvs, NULL, NULL);
  int got[6];
  for (unsigned i = 0; i < 6; i++) {
    ck_assert_int_eq(submit(d, RNULL_OP_WRITE, 4096, 4096), 0); /* outside */
    got[i] = submit(d, RNULL_OP_WRITE, 0, 4096);
  }
  ck_assert_int_eq(got[0], 0);
  ck_assert_int_eq(got[1], -EIO);
  ck_assert_int_eq(got[2], 0);
  ck_assert_int_eq(got[3], -EIO);
  ck_assert_int_eq(got[4], 0);
  ck_assert_int_eq(got[5], 0); /* times used up */
  rnull_disk_destroy(d);
}
END_TEST

/* Which of n writes fail with write_error at 30 % and this fault_seed. */
static void fired(uint64_t seed, bool *out, unsigned n) {
  char s[64];
  snprintf(s, sizeof s, "fault_seed=%llu", (unsigned long long)seed);
  const char *kvs[] = {"size=1M", "write_error=1,30,0,-1,ENOSPC", s, NULL};
  struct rnull_disk *d = make_disk(kvs, NULL, NULL);
  for (unsigned i = 0; i < n; i++) {
    int st = submit(d, RNULL_OP_WRITE, (i % 16) * 4096, 4096);
    ck_assert(st == 0 || st == -ENOSPC);
    out[i] = st != 0;
    ck_assert_int_eq(submit(d, RNULL_OP_READ, 0, 4096), 0);
  }
  rnull_disk_destroy(d);
}

START_TEST(same_fault_seed_same_fired_requests) {
  enum { N = 400 };
  bool a[N], b[N], c[N];
  fired(42, a, N);
  fired(42, b, N);
  fired(43, c, N);
  unsigned n = 0;
  for (unsigned i = 0; i < N; i++)
    n += a[i];
  ck_assert_msg(n > N / 5 && n < N * 2 / 5, "%u of %u fired at 30%%", n, N);
  ck_assert(memcmp(a, b, sizeof a) == 0);
  ck_assert(memcmp(a, c, sizeof a) != 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fault_aim");
  TCase *tc = new_tcase("fault_aim");
  tcase_add_test(tc, each_op_key_fires_only_for_its_operation);
  tcase_add_test(tc, op_keys_are_live);
  tcase_add_test(tc, every_allowed_errno_is_returned);
  tcase_add_test(tc, refusals_name_the_key_and_the_allowed);
  tcase_add_test(tc, parse_orders_errno_then_range);
  tcase_add_test(tc, range_fires_only_for_requests_touching_it);
  tcase_add_test(tc, requests_outside_the_range_do_not_count);
  tcase_add_test(tc, same_fault_seed_same_fired_requests);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
