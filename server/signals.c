/* Process signals (see signals.h). */
#include "signals.h"

#include <signal.h>
#include <stdio.h>

static void stop_cb(struct ev_loop *ev, ev_signal *w, int revents) {
  (void)revents;
  struct signals *sg = w->data;
  sg->stop(ev, sg->arg);
}

static void stats_cb(struct ev_loop *ev, ev_signal *w, int revents) {
  (void)ev;
  (void)revents;
  struct signals *sg = w->data;
  rnull_stats_print(sg->srv->disk, stderr);
  fflush(stderr);
}

void rnull_signals_start(struct signals *sg, struct ev_loop *ev, struct server *srv,
                         void (*stop)(struct ev_loop *ev, void *arg), void *arg) {
  signal(SIGPIPE, SIG_IGN); /* replies use MSG_NOSIGNAL too */
  sg->srv = srv;
  sg->stop = stop;
  sg->arg = arg;
  ev_signal_init(&sg->sigint, stop_cb, SIGINT);
  ev_signal_init(&sg->sigterm, stop_cb, SIGTERM);
  ev_signal_init(&sg->sigusr1, stats_cb, SIGUSR1);
  sg->sigint.data = sg->sigterm.data = sg->sigusr1.data = sg;
  ev_signal_start(ev, &sg->sigint);
  ev_signal_start(ev, &sg->sigterm);
  ev_signal_start(ev, &sg->sigusr1);
}

void rnull_signals_stop(struct signals *sg, struct ev_loop *ev) {
  ev_signal_stop(ev, &sg->sigint);
  ev_signal_stop(ev, &sg->sigterm);
  ev_signal_stop(ev, &sg->sigusr1);
  signal(SIGUSR1, SIG_IGN); /* its default would kill us mid-drain */
}
