/* memory_limit through the front end: with memory_backed=1 and a 64 KiB
 * limit, 16 pages fit; the write needing a 17th fails with ENOSPC and the
 * server keeps serving (the data read back); a trim or an unmapping write
 * zeroes gives pages back and the write then succeeds. Without the limit the
 * write succeeded (and, at scale, the process grew until OOM-killed). */
#include <errno.h>
#include <string.h>

#include "feature_server.h"

int main(void) {
  const char *args[] = {"memory_backed=1", "size=1M", "memory_limit=64K", NULL};
  static unsigned char in[4096], out[4096];
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);

  if (!nbd)
    return expect_result("feature memory_limit");
  feature_pattern(in, sizeof in, 3);
  for (unsigned i = 0; i < 16; i++)
    EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, (uint64_t)i * 8192, 0));
  EXPECT_NBD_ERRNO(nbd_pwrite(nbd, in, sizeof in, 4096, 0), ENOSPC);
  /* Overwriting a page already held is fine; the data is all there. */
  EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, 0, 0));
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, 15 * 8192, 0)))
    EXPECT(memcmp(in, out, sizeof in) == 0);
  /* Zeroes that keep pages allocated give nothing back. */
  EXPECT_NBD_OK(nbd_zero(nbd, 4096, 0, LIBNBD_CMD_FLAG_NO_HOLE));
  EXPECT_NBD_ERRNO(nbd_pwrite(nbd, in, sizeof in, 4096, 0), ENOSPC);
  /* A trim does. */
  EXPECT_NBD_OK(nbd_trim(nbd, 4096, 0, 0));
  EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, 4096, 0));
  EXPECT_NBD_ERRNO(nbd_pwrite(nbd, in, sizeof in, 3 * 4096, 0), ENOSPC);
  /* So do unmapping zeroes. */
  EXPECT_NBD_OK(nbd_zero(nbd, 4096, 8192, 0));
  EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, 3 * 4096, 0));
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, 3 * 4096, 0)))
    EXPECT(memcmp(in, out, sizeof in) == 0);
  feature_close(&h, nbd);
  fprintf(stderr, "(served by %s)\n", feature_frontend());
  return expect_result("feature memory_limit");
}
