/* One completion mode through nbdkit (argv: irqmode=... [completion_nsec=...]):
 * sequential reads at many offsets return zeros, every request type ends
 * without error, and 64 requests in flight on two connections all complete.
 * Timer mode with a long completion_nsec must still give correct data, and
 * really delay: the engine's own latency histogram (stats_file, written at
 * unload) has no request that ended sooner than completion_nsec. */
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "plugin_server.h"
#include "stats_json.h"

#include "geometry.h"
#define MODES_DISK (256ull << 20) /* size=256M */
#define INFLIGHT 64
#define HANG_GUARD_MS 60000

static void sequential(struct nbd_handle *nbd) {
  static char buf[16 * BLOCK];
  static const char zero[16 * BLOCK];

  for (uint64_t off = 0; off < MODES_DISK; off += MODES_DISK / 16 - BLOCK) {
    uint32_t len = off + sizeof buf <= MODES_DISK ? sizeof buf : BLOCK;

    memset(buf, 0xcc, sizeof buf);
    if (EXPECT_NBD_OK(nbd_pread(nbd, buf, len, off, 0)))
      EXPECT_MSG(memcmp(buf, zero, len) == 0, "zeros at %" PRIu64, off);
  }
  memset(buf, 0xcc, BLOCK);
  if (EXPECT_NBD_OK(nbd_pread(nbd, buf, BLOCK, MODES_DISK - BLOCK, 0)))
    EXPECT(memcmp(buf, zero, BLOCK) == 0);
  EXPECT_NBD_OK(nbd_pwrite(nbd, buf, sizeof buf, BLOCK, LIBNBD_CMD_FLAG_FUA));
  EXPECT_NBD_OK(nbd_flush(nbd, 0));
  EXPECT_NBD_OK(nbd_trim(nbd, 1u << 20, 0, 0));
  EXPECT_NBD_OK(nbd_zero(nbd, 1u << 20, 0, LIBNBD_CMD_FLAG_NO_HOLE));
  EXPECT_NBD_OK(nbd_zero(nbd, BLOCK, 0, LIBNBD_CMD_FLAG_FAST_ZERO));
  EXPECT_NBD_OK(nbd_cache(nbd, BLOCK, 0, 0));
}

static void parallel(struct nbd_handle *a, struct nbd_handle *b) {
  static char bufs[2][INFLIGHT][BLOCK];
  static const char zero[BLOCK];
  struct nbd_handle *nbd[2] = {a, b};
  long long deadline = harness_now_ms() + HANG_GUARD_MS;

  for (int c = 0; c < 2; c++)
    for (int i = 0; i < INFLIGHT; i++) {
      memset(bufs[c][i], 0xdd, BLOCK);
      EXPECT(nbd_aio_pread(nbd[c], bufs[c][i], BLOCK, (uint64_t)(i * 2 + c) * BLOCK,
                           NBD_NULL_COMPLETION, 0) > 0);
    }
  while ((nbd_aio_in_flight(a) > 0 || nbd_aio_in_flight(b) > 0) && harness_now_ms() < deadline)
    for (int c = 0; c < 2; c++)
      if (nbd_aio_in_flight(nbd[c]) > 0 && nbd_poll(nbd[c], 10) == -1)
        return (void)EXPECT_MSG(false, "poll: %s", nbd_get_error());
  for (int c = 0; c < 2; c++) {
    int64_t cookie;

    EXPECT_EQ_INT(nbd_aio_in_flight(nbd[c]), 0);
    while ((cookie = nbd_aio_peek_command_completed(nbd[c])) > 0)
      EXPECT_MSG(nbd_aio_command_completed(nbd[c], cookie) == 1, "request ok: %s", nbd_get_error());
    for (int i = 0; i < INFLIGHT; i++)
      if (!EXPECT_MSG(memcmp(bufs[c][i], zero, BLOCK) == 0, "parallel read %d/%d zeros", c, i))
        break;
  }
}

/* Every request ended, none with an error; in timer mode none sooner than
 * completion_nsec (the histogram's exact minimum). */
static void check_stats(const char *path, bool timer, uint64_t completion_nsec) {
  char *text = harness_read_file(path);
  struct stats_counts total, q[1];

  if (!EXPECT_MSG(stats_json_parse(text, &total, q, 1) == 1, "stats file:\n%s", text)) {
    free(text);
    return;
  }
  free(text);
  EXPECT(total.submitted >= 2 * INFLIGHT);
  EXPECT_EQ_INT(total.completed, total.submitted);
  EXPECT_EQ_INT(total.errors, 0);
  if (!timer)
    return;
  EXPECT_MSG(total.lat[STATS_ALL].min >= (long long)completion_nsec,
             "a request ended within %lld ns < completion_nsec %" PRIu64, total.lat[STATS_ALL].min,
             completion_nsec);
  EXPECT_EQ_INT(total.lat[STATS_ALL].count, total.completed);
}

int main(int argc, char **argv) {
  const char *args[16] = {"--threads=16", "size=256M"};
  int n = 2;
  struct harness h;
  struct nbd_handle *a = NULL, *b = NULL;
  char stats_path[300], stats_arg[320];
  bool timer = false;
  uint64_t completion_nsec = 10000; /* the table's default */

  if (harness_init(&h) < 0)
    return 1;
  for (int i = 1; i < argc && n < 14; i++) {
    args[n++] = argv[i];
    if (strcmp(argv[i], "irqmode=timer") == 0 || strcmp(argv[i], "irqmode=2") == 0)
      timer = true;
    if (strncmp(argv[i], "completion_nsec=", 16) == 0)
      completion_nsec = strtoull(argv[i] + 16, NULL, 10);
  }
  snprintf(stats_path, sizeof stats_path, "%s/stats.json", h.dir);
  snprintf(stats_arg, sizeof stats_arg, "stats_file=%s", stats_path);
  args[n++] = stats_arg;
  args[n] = NULL;
  if (plugin_startv(&h, args) < 0)
    return 1;
  a = harness_connect(&h);
  b = harness_connect(&h);
  if (EXPECT(a != NULL && b != NULL)) {
    sequential(a);
    parallel(a, b);
  }
  if (a)
    nbd_shutdown(a, 0);
  if (b)
    nbd_shutdown(b, 0);
  nbd_close(a);
  nbd_close(b);
  plugin_stop_clean(&h, argc > 1 ? argv[1] : "default mode");
  check_stats(stats_path, timer, completion_nsec);
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
  return expect_result(argc > 1 ? argv[1] : "default mode");
}
