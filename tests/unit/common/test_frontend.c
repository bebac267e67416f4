/* What both front ends share (common/): the one errno -> NBD error table
 * (rnull-server sends the NBD value, the plugin gives nbdkit its errno) and
 * the one extents walk behind NBD block status, on a driver whose extent op
 * answers in small pieces. */
#include <errno.h>

#include "extents.h"
#include "fixture.h"
#include "nbd_errno.h"
#include "nbd_proto.h"

START_TEST(errno_to_nbd_error) {
  static const struct {
    int err;
    uint32_t nbd;
    int carried;
  } cases[] = {
      {0, 0, 0},
      {EPERM, NBD_EPERM, EPERM},
      {EROFS, NBD_EPERM, EPERM},
      {EIO, NBD_EIO, EIO},
      {ETIMEDOUT, NBD_EIO, EIO},
      {EBUSY, NBD_EIO, EIO},
      {EINVAL, NBD_EINVAL, EINVAL},
      {ENOSPC, NBD_ENOSPC, ENOSPC},
      {ENOMEM, NBD_ENOMEM, ENOMEM},
      {EDQUOT, NBD_ENOSPC, ENOSPC},
      {EFBIG, NBD_ENOSPC, ENOSPC},
      {EOVERFLOW, NBD_EOVERFLOW, EOVERFLOW},
      {ENOTSUP, NBD_ENOTSUP, ENOTSUP},
      {EOPNOTSUPP, NBD_ENOTSUP, ENOTSUP},
      {ESHUTDOWN, NBD_ESHUTDOWN, ESHUTDOWN},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ck_assert_msg(rnull_nbd_error(cases[i].err) == cases[i].nbd, "errno %d -> NBD %u, want %u",
                  cases[i].err, rnull_nbd_error(cases[i].err), cases[i].nbd);
    if (cases[i].err)
      ck_assert_msg(rnull_nbd_error_errno(cases[i].err) == cases[i].carried,
                    "errno %d -> %d for nbdkit, want %d", cases[i].err,
                    rnull_nbd_error_errno(cases[i].err), cases[i].carried);
  }
}
END_TEST

/* A driver whose allocation map is fixed: 4 KiB pieces, data in [0, 16K)
 * and [32K, 36K), holes elsewhere; fail_at makes the extent op fail there. */
#define PIECE 4096u
static uint64_t fail_at = UINT64_MAX;

static int piece_extent(struct rnull_disk *disk, uint64_t off, uint64_t len, uint64_t *out,
                        bool *hole) {
  (void)disk;
  if (off == fail_at)
    return -EDQUOT;
  *hole = !(off < 16384 || (off >= 32768 && off < 36864));
  *out = len < PIECE - off % PIECE ? len : PIECE - off % PIECE;
  return 0;
}

static int piece_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  return rnull_rq_end(rq, 0);
}

static const struct rnull_ops piece_ops = {.queue_rq = piece_queue_rq, .extent = piece_extent};

struct runs {
  uint64_t off[16], len[16];
  bool hole[16];
  unsigned n, stop_after;
};

static int add_run(void *ctx, uint64_t off, uint64_t len, bool hole) {
  struct runs *r = ctx;
  r->off[r->n] = off;
  r->len[r->n] = len;
  r->hole[r->n] = hole;
  return ++r->n == r->stop_after ? -ENOBUFS : 0;
}

static struct rnull_disk *piece_disk(void) {
  struct rnull_disk *d = NULL;
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set(&cfg, "size", "64K", err, sizeof err), 0);
  ck_assert_int_eq(rnull_disk_create(&d, &cfg.core, err, sizeof err), 0);
  ck_assert_int_eq(rnull_disk_set_ops(d, &piece_ops, NULL), 0);
  ck_assert_int_eq(rnull_disk_add(d, record_end_io, err, sizeof err), 0);
  return d;
}

START_TEST(extents_walk_merges_limits_and_reports_errors) {
  struct rnull_disk *d = piece_disk();
  struct runs r = {.n = 0};
  /* whole disk: the pieces merged into runs of one state */
  ck_assert_int_eq(rnull_extents_walk(d, 0, 65536, 0, add_run, &r), 0);
  ck_assert_uint_eq(r.n, 4);
  ck_assert(r.off[0] == 0 && r.len[0] == 16384 && !r.hole[0]);
  ck_assert(r.off[1] == 16384 && r.len[1] == 16384 && r.hole[1]);
  ck_assert(r.off[2] == 32768 && r.len[2] == 4096 && !r.hole[2]);
  ck_assert(r.off[3] == 36864 && r.len[3] == 28672 && r.hole[3]);
  /* at most 2 runs */
  r = (struct runs){.n = 0};
  ck_assert_int_eq(rnull_extents_walk(d, 0, 65536, 2, add_run, &r), 0);
  ck_assert_uint_eq(r.n, 2);
  /* REQ_ONE: the driver's first answer only */
  r = (struct runs){.n = 0};
  ck_assert_int_eq(rnull_extents_walk(d, 4096, 65536 - 4096, 1, add_run, &r), 0);
  ck_assert(r.n == 1 && r.off[0] == 4096 && r.len[0] == PIECE && !r.hole[0]);
  /* the caller stops it: its error comes back */
  r = (struct runs){.n = 0, .stop_after = 1};
  ck_assert_int_eq(rnull_extents_walk(d, 0, 65536, 0, add_run, &r), -ENOBUFS);
  /* a driver error first: returned; later: the runs so far */
  fail_at = 0;
  r = (struct runs){.n = 0};
  ck_assert_int_eq(rnull_extents_walk(d, 0, 65536, 0, add_run, &r), -EDQUOT);
  ck_assert_uint_eq(r.n, 0);
  fail_at = 20480;
  ck_assert_int_eq(rnull_extents_walk(d, 0, 65536, 0, add_run, &r), 0);
  ck_assert(r.n == 2 && r.len[1] == 4096 && r.hole[1]);
  fail_at = UINT64_MAX;
  rnull_disk_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("frontend");
  TCase *tc = new_tcase("frontend");
  tcase_add_test(tc, errno_to_nbd_error);
  tcase_add_test(tc, extents_walk_merges_limits_and_reports_errors);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
