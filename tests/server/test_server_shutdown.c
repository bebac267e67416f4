/* Nothing hangs (issue 8, item 5): with mbps, one client's backlog does not
 * stall another's small read beyond about one largest request; requests of
 * a connection that closed are cancelled, not served; SIGTERM waits at most
 * --shutdown-timeout for in-flight requests (throttled ones, or ones the
 * timeout fault holds for an hour), answers them ESHUTDOWN and exits 0
 * saying how many it abandoned. Time bounds are generous sanity bounds. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "srv.h"

#define BIG (32u << 20)

/* n reads of len at offset 0, handles 1..n, replies not read. */
static bool flood(int fd, int n, uint32_t len) {
  for (int i = 1; i <= n; i++)
    if (raw_request(fd, 0, NBD_CMD_READ, (uint64_t)i, 0, len) < 0)
      return false;
  return true;
}

/* A 4 KiB read on a fresh connection: its reply's error, -1 if none came. */
static long small_read(struct harness *h) {
  int fd = raw_connect(h->sock);
  uint32_t err;
  uint64_t handle;
  static uint8_t data[4096];
  long r = -1;
  if (fd >= 0 && raw_go(fd, false, false) >= 0 &&
      raw_request(fd, 0, NBD_CMD_READ, 99, 0, 4096) == 0 &&
      raw_simple_reply(fd, &err, &handle) == 0 && handle == 99)
    r = err == 0 && raw_recv(fd, data, sizeof data) != (long)sizeof data ? -1 : (long)err;
  if (fd >= 0)
    close(fd);
  return r;
}

/* SIGTERM, then wait (bounded) for the exit; its wait status or -1. */
static int term_and_wait(struct harness *h, long long *took_ms) {
  long long t0 = harness_now_ms();
  harness_signal(h, SIGTERM);
  while (!harness_exited(h) && harness_now_ms() - t0 < 30000)
    harness_sleep_ms(20);
  *took_ms = harness_now_ms() - t0;
  if (!harness_exited(h))
    return -1;
  return h->status;
}

static void test_fair_share(void) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  /* 10 MiB/s: client A's 64 x 32 MiB is 200 s of backlog */
  if (EXPECT(srv_start(&h, "mbps=10", "size=1G", "--shutdown-timeout", "1", (const char *)NULL) ==
             0)) {
    int a = raw_connect(h.sock);
    EXPECT(a >= 0 && raw_go(a, false, false) >= 0 && flood(a, 64, BIG));
    harness_sleep_ms(300);
    long long t0 = harness_now_ms();
    EXPECT_EQ_INT(small_read(&h), 0);
    long long took = harness_now_ms() - t0;
    /* about one 32 MiB request of A's (3.2 s) at most; FIFO was 200 s */
    EXPECT_MSG(took < 9000,
               "a small read waits about one max_transfer of another's backlog (%lld ms)", took);
    long long ms;
    int st = term_and_wait(&h, &ms);
    EXPECT_MSG(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit 0 (status %#x)", st);
    if (a >= 0)
      close(a);
  }
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
}

static void test_closed_connection_cancelled(void) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  /* A's four reads are lost (the timeout fault, for an hour) and hold all
   * four tags; once A hangs up they must be cancelled, not kept. */
  if (EXPECT(srv_start(&h, "hw_queue_depth=4", "timeout=1,100,0,4", "timeout_ms=3600000",
                       "--shutdown-timeout", "1", (const char *)NULL) == 0)) {
    int a = raw_connect(h.sock);
    EXPECT(a >= 0 && raw_go(a, false, false) >= 0 && flood(a, 4, 4096));
    harness_sleep_ms(300);
    close(a);
    harness_sleep_ms(300);
    EXPECT_MSG(small_read(&h) == 0, "another client gets a tag: the closed one's were cancelled");
    long long ms;
    int st = term_and_wait(&h, &ms);
    EXPECT_MSG(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit 0 (status %#x)", st);
  }
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
}

/* One client with work that would take hours; SIGTERM must not. */
static void shutdown_bounded(const char *what, const char *const *args, int nreq, uint32_t len) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  if (EXPECT_MSG(srv_startv(&h, args) == 0, "%s: starts", what)) {
    int a = raw_connect(h.sock);
    EXPECT(a >= 0 && raw_go(a, false, false) >= 0 && flood(a, nreq, len));
    harness_sleep_ms(300);
    long long ms;
    int st = term_and_wait(&h, &ms);
    EXPECT_MSG(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: exit 0 (status %#x)", what,
               st);
    EXPECT_MSG(ms < 10000, "%s: exits within --shutdown-timeout 1 (took %lld ms)", what, ms);
    EXPECT_MSG(harness_log_has(&h, "abandoned"), "%s: the log says what was abandoned", what);
    uint32_t err = 0;
    uint64_t handle = 0;
    EXPECT_MSG(a >= 0 && raw_simple_reply(a, &err, &handle) == 0 && err == NBD_ESHUTDOWN,
               "%s: the client is told ESHUTDOWN (got %u)", what, err);
    if (a >= 0)
      close(a);
  }
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const char *throttled[] = {"mbps=1", "size=1G", "--shutdown-timeout", "1", NULL};
  const char *lost[] = {"timeout=1,100,0,-1", "timeout_ms=3600000", "--shutdown-timeout", "1",
                        NULL};
  shutdown_bounded("mbps=1, 64 x 32 MiB queued", throttled, 64, BIG);
  shutdown_bounded("timeout fault, timeout_ms=3600000", lost, 8, 4096);
  test_fair_share();
  test_closed_connection_cancelled();
  return expect_result("server_shutdown");
}
