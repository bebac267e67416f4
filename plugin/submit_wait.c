/* Submit-and-wait for nbdkit worker threads: see submit_wait.h. */
#include "submit_wait.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <time.h>

#include "rnull/clock.h"
#include "rnull/hctx.h"
#include "shutdown_watch.h"

/* Longest single sleep: bounds how late we notice a deadline moving earlier. */
#define MAX_SLEEP_NS 1000000ull
/* Nothing pending but not done yet: another thread is ending our request. */
#define HANDOFF_SLEEP_NS 20000ull

/* Lives on the submitter's stack until done is seen. */
struct waiter {
  atomic_bool done;
  int status;
  uint32_t done_flags;
};

void rnull_plugin_end_io(void *cookie, int status, uint32_t done_flags) {
  struct waiter *w = cookie;

  w->status = status;
  w->done_flags = done_flags;
  /* Last touch: once done is visible the waiter's stack frame may vanish. */
  atomic_store_explicit(&w->done, true, memory_order_release);
}

static bool is_waiter(void *cookie, void *w) { return cookie == w; }

static void sleep_ns(uint64_t ns) {
  struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
                        .tv_nsec = (long)(ns % 1000000000ull)};
  static _Thread_local bool slack_set;

  /* A completion due in 50 us must not wake 50 us late: the kernel's default
   * timer slack for this (nbdkit worker) thread would add that to every
   * modelled latency. Once per thread. */
  if (!slack_set) {
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    slack_set = true;
  }
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

int rnull_plugin_submit_wait(struct rnull_hctx *hctx, struct rnull_io *io, uint32_t *done_flags) {
  struct waiter w = {.status = 0, .done_flags = 0};
  int r;

  atomic_init(&w.done, false);
  io->cookie = &w;
  /* Blocking tag get: a full queue makes this thread wait (back-pressure). */
  r = rnull_submit(hctx, io, RNULL_SUBMIT_LAST);
  if (r < 0)
    return r;
  rnull_hctx_commit(hctx);

  /* Direct mode is done already; softirq/timer completions are driven here. */
  while (!atomic_load_explicit(&w.done, memory_order_acquire)) {
    uint64_t deadline = rnull_hctx_next_deadline(hctx);
    uint64_t now = rnull_hctx_now(hctx);

    /* nbdkit is quitting and this one would hold it (throttled, lost) */
    if (rnull_shutdown_overdue() && rnull_hctx_abort(hctx, is_waiter, &w, -ESHUTDOWN))
      break;

    if (deadline <= now)
      rnull_hctx_run(hctx, now);
    else if (deadline == RNULL_NO_DEADLINE)
      sleep_ns(HANDOFF_SLEEP_NS);
    else
      sleep_ns(deadline - now < MAX_SLEEP_NS ? deadline - now : MAX_SLEEP_NS);
  }
  *done_flags = w.done_flags;
  return w.status;
}
