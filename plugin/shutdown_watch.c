/* SIGTERM/SIGINT watch: see shutdown_watch.h. */
#include "shutdown_watch.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static _Atomic uint64_t quit_ns; /* when the first quit signal came; 0: none */
static struct sigaction old_term, old_int;
static bool watching;

static uint64_t now_ns(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Async-signal-safe: note the time, then do what nbdkit would have done. */
static void on_quit(int sig, siginfo_t *si, void *uc) {
  const struct sigaction *old = sig == SIGTERM ? &old_term : &old_int;
  uint64_t none = 0;

  atomic_compare_exchange_strong(&quit_ns, &none, now_ns() | 1);
  if (old->sa_flags & SA_SIGINFO)
    old->sa_sigaction(sig, si, uc);
  else if (old->sa_handler == SIG_DFL) {
    sigaction(sig, old, NULL);
    raise(sig);
  } else if (old->sa_handler != SIG_IGN)
    old->sa_handler(sig);
}

void rnull_shutdown_watch_start(void) {
  struct sigaction sa;

  if (watching)
    return;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_quit;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  watching = true;
}

void rnull_shutdown_watch_stop(void) {
  if (!watching)
    return;
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGINT, &old_int, NULL);
  watching = false;
}

bool rnull_shutdown_overdue(void) {
  uint64_t q = atomic_load_explicit(&quit_ns, memory_order_relaxed);

  return q && now_ns() - q > (uint64_t)RNULL_PLUGIN_SHUTDOWN_TIMEOUT * 1000000000u;
}
