/* Many requests at once: 256 in flight on one connection, 4 connections at
 * once (on one hw queue and on submit_queues=4), and a tiny tag set
 * (hw_queue_depth=2) under 16 nbdkit threads, where submitters must wait for
 * tags (back-pressure) and still all complete. Every read returns zeros. */
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "plugin_server.h"

#include "geometry.h"
#define INFLIGHT 256
#define CONNS 4
#define BIG_DISK (1ull << 30) /* size=1G */
#define HANG_GUARD_MS 60000

static char bufs[CONNS][INFLIGHT][BLOCK];

/* Queue n reads (and n/4 writes) per handle, then poll until all are done. */
static void run_parallel(struct nbd_handle **nbd, int conns, int n) {
  static char wbuf[BLOCK];
  int64_t cookies[CONNS][INFLIGHT + INFLIGHT / 4];
  int queued[CONNS] = {0};
  long long deadline = harness_now_ms() + HANG_GUARD_MS;

  for (int c = 0; c < conns; c++)
    for (int i = 0; i < n; i++) {
      uint64_t off = ((uint64_t)(c * INFLIGHT + i) * 7919u * BLOCK) % BIG_DISK;

      memset(bufs[c][i], 0xee, BLOCK);
      cookies[c][queued[c]] = nbd_aio_pread(nbd[c], bufs[c][i], BLOCK, off, NBD_NULL_COMPLETION, 0);
      EXPECT_MSG(cookies[c][queued[c]] > 0, "aio_pread %d/%d: %s", c, i, nbd_get_error());
      queued[c]++;
      if (i % 4 == 0) {
        cookies[c][queued[c]] = nbd_aio_pwrite(nbd[c], wbuf, BLOCK, off, NBD_NULL_COMPLETION, 0);
        EXPECT_MSG(cookies[c][queued[c]] > 0, "aio_pwrite: %s", nbd_get_error());
        queued[c]++;
      }
    }
  for (int c = 0; c < conns; c++)
    EXPECT_MSG(nbd_aio_in_flight(nbd[c]) > n / 2, "requests really in flight on conn %d: %d", c,
               nbd_aio_in_flight(nbd[c]));

  for (;;) {
    int busy = 0;

    for (int c = 0; c < conns; c++)
      busy += nbd_aio_in_flight(nbd[c]) > 0;
    if (busy == 0 || harness_now_ms() > deadline)
      break;
    for (int c = 0; c < conns; c++)
      if (nbd_aio_in_flight(nbd[c]) > 0 && nbd_poll(nbd[c], 10) == -1) {
        EXPECT_MSG(false, "poll: %s", nbd_get_error());
        return;
      }
  }
  for (int c = 0; c < conns; c++) {
    EXPECT_EQ_INT(nbd_aio_in_flight(nbd[c]), 0);
    for (int i = 0; i < queued[c]; i++)
      if (!EXPECT_MSG(nbd_aio_command_completed(nbd[c], cookies[c][i]) == 1,
                      "conn %d request %d ended without error: %s", c, i, nbd_get_error()))
        break;
    for (int i = 0; i < n; i++) {
      static const char zero[BLOCK];

      if (!EXPECT_MSG(memcmp(bufs[c][i], zero, BLOCK) == 0, "conn %d read %d is zeros", c, i))
        break;
    }
  }
}

/* Start nbdkit with args, open conns connections, run n per connection. */
static void scenario(const char *what, const char *const *args, int conns, int n) {
  struct harness h;
  struct nbd_handle *nbd[CONNS] = {0};
  int ok = 1;

  printf("-- %s\n", what);
  if (harness_init(&h) < 0 || plugin_startv(&h, args) < 0) {
    EXPECT_MSG(false, "%s: start nbdkit", what);
    harness_cleanup(&h);
    return;
  }
  for (int c = 0; c < conns; c++) {
    nbd[c] = harness_connect(&h);
    ok &= EXPECT_MSG(nbd[c] != NULL, "%s: connection %d", what, c);
  }
  if (ok)
    run_parallel(nbd, conns, n);
  for (int c = 0; c < conns; c++)
    if (nbd[c]) {
      nbd_shutdown(nbd[c], 0);
      nbd_close(nbd[c]);
    }
  plugin_stop_clean(&h, what);
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
}

int main(void) {
  static const char *const one_conn[] = {"--threads=64", "size=1G", NULL};
  static const char *const depth2[] = {"--threads=16", "size=1G", "hw_queue_depth=2", NULL};
  static const char *const depth2_timer[] = {"--threads=16",           "size=1G",
                                             "hw_queue_depth=2",       "irqmode=timer",
                                             "completion_nsec=100000", NULL};
  static const char *const four_queues[] = {"--threads=32", "size=1G", "submit_queues=4",
                                            "irqmode=softirq", NULL};

  scenario("256 in flight on one connection", one_conn, 1, INFLIGHT);
  scenario("4 connections on one hw queue", one_conn, CONNS, 64);
  scenario("depth 2: back-pressure, direct", depth2, 1, INFLIGHT);
  scenario("depth 2: back-pressure, timer", depth2_timer, 2, 128);
  scenario("submit_queues=4 with 4 connections", four_queues, CONNS, 128);
  return expect_result("plugin concurrency");
}
