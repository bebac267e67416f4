/* Process signals on the main loop: SIGINT/SIGTERM start a graceful drain,
 * SIGUSR1 prints per-queue statistics to stderr, SIGHUP reloads the TLS
 * credentials. SIGPIPE is ignored. */
#ifndef RNULL_SERVER_SIGNALS_H
#define RNULL_SERVER_SIGNALS_H

#include <ev.h>

#include "server.h"

struct signals {
  ev_signal sigint, sigterm, sigusr1, sighup;
  struct server *srv;
  void (*stop)(struct ev_loop *ev, void *arg);
  void *arg;
};

/* Hold (block) the watched signals in the calling thread from set-up on, so
 * one that comes before the watchers exist (after the pidfile is written,
 * say) is not fatal: rnull_signals_start lets it through to its watcher.
 * Threads created meanwhile inherit the mask and never take them. */
void rnull_signals_hold(void);
void rnull_signals_start(struct signals *sg, struct ev_loop *ev, struct server *srv,
                         void (*stop)(struct ev_loop *ev, void *arg), void *arg);
/* Stop watching (libev restores the default dispositions). Idempotent. */
void rnull_signals_stop(struct signals *sg, struct ev_loop *ev);

#endif
