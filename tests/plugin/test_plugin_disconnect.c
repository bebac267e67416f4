/* A client that hangs up with requests in flight (here: slow timer-mode
 * completions) must not hurt the server: the plugin's waiting threads still
 * see their requests end, the next client is served, every tag comes back,
 * and nbdkit exits cleanly. (--threads=1: Debian's nbdkit 1.32.5 aborts when
 * a client hangs up while several replies are queued; not ours to chase.)
 * In sanitizer builds nbdkit itself (even with its null plugin) can hang in
 * exit() after such a hang-up (libp11-kit's destructor waits for glibc's
 * setlocale lock), so there the clean exit is not checked and the SIGTERM
 * grace is short. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expect.h"
#include "plugin_server.h"
#include "stats_json.h"

#include "geometry.h"
#define ABANDONED 8
#define WAIT_MS 15000

/* Queue requests, let them reach the server, then close without a word. */
static void abandon(struct harness *h) {
  static char bufs[ABANDONED][BLOCK];
  struct nbd_handle *nbd = harness_connect(h);

  if (!EXPECT(nbd != NULL))
    return;
  for (int i = 0; i < ABANDONED; i++)
    EXPECT(nbd_aio_pread(nbd, bufs[i], BLOCK, (uint64_t)i * BLOCK, NBD_NULL_COMPLETION, 0) > 0);
  for (int i = 0; i < 5; i++)
    nbd_poll(nbd, 1); /* push the requests out */
  nbd_close(nbd);
}

int main(void) {
  struct harness h;
  char stats[300], stats_arg[320];
  const char *args[] = {
      "--threads=1", "size=64M", "irqmode=timer", "completion_nsec=20000000", "hw_queue_depth=4",
      stats_arg,     NULL};
  struct nbd_handle *nbd;

  if (harness_init(&h) < 0)
    return 1;
  snprintf(stats, sizeof stats, "%s/stats.json", h.dir);
  snprintf(stats_arg, sizeof stats_arg, "stats_file=%s", stats);
  if (plugin_startv(&h, args) < 0)
    return 1;
  abandon(&h);
  abandon(&h);

  nbd = harness_connect(&h);
  if (EXPECT(nbd != NULL)) {
    static char buf[BLOCK];

    memset(buf, 1, sizeof buf);
    if (EXPECT_NBD_OK(nbd_pread(nbd, buf, BLOCK, 0, 0)))
      EXPECT(buf[0] == 0 && buf[BLOCK - 1] == 0);
    EXPECT_NBD_OK(nbd_pwrite(nbd, buf, BLOCK, 0, 0));
    nbd_shutdown(nbd, 0);
    nbd_close(nbd);
  }
  /* Whatever reached the engine has ended: nothing left in flight. */
  {
    long long deadline = harness_now_ms() + WAIT_MS;
    struct stats_counts total = {0}, q[1];

    for (;;) {
      char *text = harness_read_file(stats);
      int nq = stats_json_parse(text, &total, q, 1);

      free(text);
      if ((nq == 1 && total.submitted >= 2 && total.completed == total.submitted) ||
          harness_now_ms() > deadline)
        break;
      harness_sleep_ms(100);
    }
    EXPECT(total.submitted >= 2);
    EXPECT_EQ_INT(total.completed, total.submitted);
    EXPECT_EQ_INT(total.errors, 0);
  }
  EXPECT_MSG(!harness_exited(&h), "nbdkit still running after the hang-ups");
#ifdef RNULL_SANITIZED
  h.stop_timeout_ms = 2000;
  harness_stop(&h);
#else
  {
    int st = harness_stop(&h);

    EXPECT_MSG(st == 0, "clean exit (status 0x%x)", st);
  }
#endif
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
  return expect_result("plugin with clients hanging up mid-flight");
}
