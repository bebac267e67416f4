/* memory_backed=1 running out of memory: nbdkit runs under prlimit with a
 * 512 MiB address-space cap and a client writes up to 1 GiB. The write that
 * cannot get a page fails with ENOSPC (the store's -ENOMEM), the server stays
 * up, earlier data reads back, and trimming makes room again.
 * argv[1]: the prlimit binary. Not run in sanitizer builds (their shadow
 * memory does not fit under the cap). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "feature_server.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PRLIMIT\n", argv[0]);
    return 2;
  }
  const char *wrapper[] = {argv[1], "--as=536870912", NULL};
  const char *args[] = {"memory_backed=1", "size=1T", "--threads=2", NULL};
  static unsigned char in[1 << 20], out[1 << 20];
  struct harness h;
  struct nbd_handle *nbd;
  uint64_t off = 0;
  int err = 0;

  if (harness_init(&h) < 0)
    return 1;
  if (feature_serve(&h, args, wrapper) < 0 || (nbd = harness_connect(&h)) == NULL) {
    EXPECT_MSG(0, "%s starts under prlimit and accepts a connection", feature_frontend());
    harness_dump_log(&h);
    harness_cleanup(&h);
    return expect_result("feature memory ENOSPC");
  }
  feature_pattern(in, sizeof in, 5);
  while (off < GiB) {
    if (nbd_pwrite(nbd, in, sizeof in, off, 0) == -1) {
      err = nbd_get_errno();
      break;
    }
    off += sizeof in;
  }
  EXPECT_MSG(err == ENOSPC, "a write fails with ENOSPC before 1 GiB (at %" PRIu64 " MiB: %d)",
             off >> 20, err);
  EXPECT(off > 0);
  /* still serving, data intact */
  if (off && EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, off - sizeof out, 0)))
    EXPECT(memcmp(in, out, sizeof in) == 0);
  /* trim gives the pages back; the failed write then succeeds */
  EXPECT_NBD_OK(nbd_trim(nbd, off, 0, 0));
  EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, off, 0));
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, off, 0)))
    EXPECT(memcmp(in, out, sizeof in) == 0);
  feature_close(&h, nbd);
  fprintf(stderr, "(served by %s)\n", feature_frontend());
  return expect_result("feature memory ENOSPC");
}
