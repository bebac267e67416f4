/* Bad requests get the errno the NBD protocol prescribes, and the server
 * keeps serving: past the end (reads, trims, cache: EINVAL; writes and
 * write-zeroes: ENOSPC, as nbdkit checks ranges before the plugin),
 * unaligned to the logical block (EINVAL, from the engine), longer than the
 * maximum block size (EINVAL), and writes to a readonly=1 disk (EPERM). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "plugin_server.h"

#define DISK (64ull << 20)
#define BLOCK 4096u

static char buf[64u << 20];

static struct nbd_handle *connect_loose(struct harness *h) {
  struct nbd_handle *nbd = nbd_create();

  /* Send bad requests on purpose: libnbd would refuse them client-side. */
  if (nbd == NULL || nbd_set_strict_mode(nbd, 0) == -1 || harness_connect_handle(h, nbd) < 0) {
    EXPECT_MSG(false, "connect: %s", nbd_get_error());
    nbd_close(nbd);
    return NULL;
  }
  return nbd;
}

static void check_out_of_range(struct nbd_handle *nbd) {
  EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, BLOCK, DISK, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, 2 * BLOCK, DISK - BLOCK, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_pwrite(nbd, buf, BLOCK, DISK, 0), ENOSPC);
  EXPECT_NBD_ERRNO(nbd_pwrite(nbd, buf, 2 * BLOCK, DISK - BLOCK, 0), ENOSPC);
  EXPECT_NBD_ERRNO(nbd_zero(nbd, BLOCK, DISK, 0), ENOSPC);
  EXPECT_NBD_ERRNO(nbd_trim(nbd, BLOCK, DISK, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, BLOCK, UINT64_MAX - BLOCK + 1, 0), EINVAL);
}

static void check_unaligned(struct nbd_handle *nbd) {
  EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, 512, 0, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, BLOCK, 512, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_pwrite(nbd, buf, BLOCK + 1, 0, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_pwrite(nbd, buf, BLOCK, 1, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_trim(nbd, BLOCK, 100, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_zero(nbd, 100, BLOCK, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_cache(nbd, 10, 3, 0), EINVAL);
}

/* Longer than max_transfer (32 MiB) but within nbdkit's own 64 MiB cap. */
static void check_too_long(struct nbd_handle *nbd) {
  EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, 32u << 20 | BLOCK, 0, 0), EINVAL);
  EXPECT_NBD_ERRNO(nbd_pwrite(nbd, buf, 32u << 20 | BLOCK, 0, 0), EINVAL);
}

/* After all that, the connection and the server still work. */
static void check_still_serving(struct nbd_handle *nbd) {
  memset(buf, 1, BLOCK);
  if (EXPECT_NBD_OK(nbd_pread(nbd, buf, BLOCK, DISK - BLOCK, 0)))
    EXPECT(buf[0] == 0 && buf[BLOCK - 1] == 0);
  EXPECT_NBD_OK(nbd_pwrite(nbd, buf, BLOCK, 0, 0));
}

static void test_bad_requests(void) {
  struct harness h;
  struct nbd_handle *nbd;

  if (harness_init(&h) < 0 || plugin_start(&h, "size=64M", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start nbdkit");
    return;
  }
  nbd = connect_loose(&h);
  if (nbd) {
    check_out_of_range(nbd);
    check_unaligned(nbd);
    check_too_long(nbd);
    check_still_serving(nbd);
    nbd_shutdown(nbd, 0);
    nbd_close(nbd);
  }
  plugin_stop_clean(&h, "bad requests");
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
}

/* readonly=1: the flag is advertised, reads work, every write-like is EPERM. */
static void test_readonly(void) {
  struct harness h;
  struct nbd_handle *nbd;

  if (harness_init(&h) < 0 || plugin_start(&h, "size=64M", "readonly=1", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start nbdkit readonly=1");
    return;
  }
  nbd = connect_loose(&h);
  if (nbd) {
    EXPECT_EQ_INT(nbd_is_read_only(nbd), 1);
    EXPECT_NBD_OK(nbd_pread(nbd, buf, BLOCK, 0, 0));
    EXPECT_NBD_ERRNO(nbd_pwrite(nbd, buf, BLOCK, 0, 0), EPERM);
    EXPECT_NBD_ERRNO(nbd_trim(nbd, BLOCK, 0, 0), EPERM);
    EXPECT_NBD_ERRNO(nbd_zero(nbd, BLOCK, 0, 0), EPERM);
    EXPECT_NBD_OK(nbd_flush(nbd, 0));
    nbd_shutdown(nbd, 0);
    nbd_close(nbd);
  }
  plugin_stop_clean(&h, "readonly");
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
}

int main(void) {
  test_bad_requests();
  test_readonly();
  return expect_result("plugin request errors");
}
