/* mbps through nbdkit: throttled requests wait, they are not failed. The
 * only timing here is a generous hang guard; speed is not asserted (the
 * token bucket's timing is tested in virtual time in unit_throttle and
 * unit_features_driver). */
#include <stdlib.h>
#include <string.h>

#include "feature_server.h"

#define HANG_GUARD_MS 60000

/* mbps=1000: 4 MiB written and read back in 64 KiB requests, all succeed. */
static void check_sequential(void) {
  const char *args[] = {"mbps=1000", "memory_backed=1", "size=64M", NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);
  static unsigned char in[64 * KiB], out[64 * KiB];
  long long t0 = harness_now_ms();

  if (!nbd)
    return;
  for (unsigned i = 0; i < 64; i++) {
    feature_pattern(in, sizeof in, i);
    EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, i * 64 * KiB, 0));
  }
  for (unsigned i = 0; i < 64; i++) {
    feature_pattern(in, sizeof in, i);
    if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, i * 64 * KiB, 0)))
      EXPECT_MSG(memcmp(in, out, sizeof in) == 0, "block %u", i);
  }
  EXPECT_MSG(harness_now_ms() - t0 < HANG_GUARD_MS, "finished (hang guard)");
  feature_close(&h, nbd);
}

/* mbps=20 with 32 reads of 256 KiB in flight at once (8 MiB, several
 * times the bucket): every one completes without error. */
static void check_in_flight(void) {
  const char *args[] = {"mbps=20", "size=64M", "--threads=8", NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);
  static unsigned char buf[32][256 * KiB];
  int64_t cookies[32];
  long long deadline = harness_now_ms() + HANG_GUARD_MS;

  if (!nbd)
    return;
  for (int i = 0; i < 32; i++)
    cookies[i] =
        nbd_aio_pread(nbd, buf[i], sizeof buf[i], (uint64_t)i * 256 * KiB, NBD_NULL_COMPLETION, 0);
  for (int i = 0; i < 32; i++)
    EXPECT_MSG(cookies[i] > 0, "aio_pread %d: %s", i, nbd_get_error());
  while (nbd_aio_in_flight(nbd) > 0 && harness_now_ms() < deadline)
    if (nbd_poll(nbd, 1000) == -1)
      break;
  FEXPECT_EQ(nbd_aio_in_flight(nbd), 0);
  for (int i = 0; i < 32; i++)
    if (cookies[i] > 0) {
      FEXPECT_EQ(nbd_aio_command_completed(nbd, cookies[i]), 1);
    }
  feature_close(&h, nbd);
}

int main(void) {
  check_sequential();
  check_in_flight();
  fprintf(stderr, "(served by %s)\n", feature_frontend());
  return expect_result("feature mbps");
}
