/* Faults you can aim, seen by libnbd through the front end under test:
 *  - error=1,100,0,-1,<errno> for every allowed name: the client gets that
 *    errno (the kernel's nbd driver would turn each into EIO);
 *  - read_error/write_error/trim_error/zero_error/flush_error, each with
 *    its own errno, fire only for their operation;
 *  - a range (@START-END, 512-byte sectors) fails only requests touching it;
 *  - memory_backed=1: read_corrupt returns one bit flipped, once, the store
 *    unchanged; lost_write acknowledges a write that is not stored. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "feature_server.h"

static char buf[8192];

static int st(int r) { return r == 0 ? 0 : nbd_get_errno(); }

/* The errno the client gets for err: rnull-server sends every allowed one
 * as it is; nbdkit (protocol.c's nbd_errno) sends EOVERFLOW only for a read
 * with DF and ENOTSUP only for a fast zero, as the NBD protocol says, and
 * EINVAL otherwise. */
static int want(int err) {
  if (strcmp(feature_frontend(), "nbdkit") == 0 && (err == EOVERFLOW || err == ENOTSUP))
    return EINVAL;
  return err;
}

static void check_every_errno(void) {
  static const struct {
    const char *name;
    int err;
  } names[] = {{"EPERM", EPERM},     {"EIO", EIO},
               {"ENOMEM", ENOMEM},   {"EINVAL", EINVAL},
               {"ENOSPC", ENOSPC},   {"EOVERFLOW", EOVERFLOW},
               {"ENOTSUP", ENOTSUP}, {"ESHUTDOWN", ESHUTDOWN}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char kv[64];
    snprintf(kv, sizeof kv, "error=1,100,0,-1,%s", names[i].name);
    const char *args[] = {kv, "size=16M", NULL};
    struct harness h;
    struct nbd_handle *nbd = feature_open(&h, args);
    if (!nbd)
      return;
    int e = st(nbd_pread(nbd, buf, 4096, 0, 0));
    EXPECT_MSG(e == want(names[i].err), "%s: %s: read got errno %d, want %d", feature_frontend(),
               names[i].name, e, want(names[i].err));
    e = st(nbd_pwrite(nbd, buf, 4096, 0, 0));
    EXPECT_MSG(e == want(names[i].err), "%s: %s: write got errno %d", feature_frontend(),
               names[i].name, e);
    feature_close(&h, nbd);
  }
}

static void check_per_op_and_range(void) {
  const char *args[] = {"read_error=1,100,0,-1,EPERM@16-23",
                        "write_error=1,100,0,-1,ENOSPC",
                        "trim_error=1,100,0,-1,ENOTSUP",
                        "zero_error=1,100,0,-1,EOVERFLOW",
                        "flush_error=1,100,0,-1,ESHUTDOWN",
                        "size=16M",
                        "blocksize=512",
                        NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);
  if (!nbd)
    return;
  FEXPECT_EQ(st(nbd_pread(nbd, buf, 4096, 0, 0)), 0);        /* sectors 0..7 */
  FEXPECT_EQ(st(nbd_pread(nbd, buf, 4096, 4096, 0)), 0);     /* 8..15 */
  FEXPECT_EQ(st(nbd_pread(nbd, buf, 512, 8192, 0)), EPERM);  /* 16 */
  FEXPECT_EQ(st(nbd_pread(nbd, buf, 8192, 4608, 0)), EPERM); /* 9..24 */
  FEXPECT_EQ(st(nbd_pread(nbd, buf, 4096, 12288, 0)), 0);    /* 24..31 */
  FEXPECT_EQ(st(nbd_pwrite(nbd, buf, 4096, 1 << 20, 0)), ENOSPC);
  FEXPECT_EQ(st(nbd_trim(nbd, 4096, 1 << 20, 0)), want(ENOTSUP));
  FEXPECT_EQ(st(nbd_zero(nbd, 4096, 1 << 20, 0)), want(EOVERFLOW));
  FEXPECT_EQ(st(nbd_flush(nbd, 0)), ESHUTDOWN);
  FEXPECT_EQ(st(nbd_pread(nbd, buf, 4096, 1 << 20, 0)), 0);
  feature_close(&h, nbd);
}

static unsigned bits_differ(const unsigned char *a, const unsigned char *b, size_t n) {
  unsigned c = 0;
  for (size_t i = 0; i < n; i++)
    c += (unsigned)__builtin_popcount(a[i] ^ b[i]);
  return c;
}

static void check_corruption(void) {
  const char *args[] = {"memory_backed=1",
                        "read_corrupt=1,100,0,1",
                        "lost_write=1,100,0,-1@64-71",
                        "fault_seed=11",
                        "size=16M",
                        NULL};
  static unsigned char w[4096], r[4096];
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);
  if (!nbd)
    return;
  memset(w, 0x3c, sizeof w);
  FEXPECT_EQ(st(nbd_pwrite(nbd, w, sizeof w, 0, 0)), 0);
  FEXPECT_EQ(st(nbd_pread(nbd, r, sizeof r, 0, 0)), 0);
  FEXPECT_EQ(bits_differ(w, r, sizeof r), 1);
  FEXPECT_EQ(st(nbd_pread(nbd, r, sizeof r, 0, 0)), 0);
  FEXPECT_EQ(bits_differ(w, r, sizeof r), 0);
  FEXPECT_EQ(st(nbd_pwrite(nbd, w, sizeof w, 32768, 0)), 0); /* sectors 64..71: lost */
  memset(r, 0xff, sizeof r);
  FEXPECT_EQ(st(nbd_pread(nbd, r, sizeof r, 32768, 0)), 0);
  FEXPECT_EQ(r[0] == 0 && r[4095] == 0, 1);
  feature_close(&h, nbd);
}

int main(void) {
  check_every_errno();
  check_per_op_and_range();
  check_corruption();
  return expect_result("feature fault aim");
}
