/* Process signals (see signals.h). */
#include "signals.h"

#include <pthread.h>
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

static void reload_cb(struct ev_loop *ev, ev_signal *w, int revents) {
  (void)ev;
  (void)revents;
  struct signals *sg = w->data;
  char err[512];
  if (sg->srv->tls.o.mode == RNULL_HS_TLS_OFF)
    return;
  if (rnull_tls_reload(&sg->srv->tls, err, sizeof(err)) < 0)
    fprintf(stderr, "%s: SIGHUP: %s (keeping the credentials in use)\n", sg->srv->progname, err);
  else
    fprintf(stderr, "%s: SIGHUP: TLS credentials reloaded\n", sg->srv->progname);
}

static void watched(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGUSR1);
  sigaddset(set, SIGHUP);
}

void rnull_signals_hold(void) {
  sigset_t set;
  watched(&set);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
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
  ev_signal_init(&sg->sighup, reload_cb, SIGHUP);
  sg->sigint.data = sg->sigterm.data = sg->sigusr1.data = sg->sighup.data = sg;
  ev_signal_start(ev, &sg->sigint);
  ev_signal_start(ev, &sg->sigterm);
  ev_signal_start(ev, &sg->sigusr1);
  ev_signal_start(ev, &sg->sighup);
  sigset_t set; /* held since set-up (rnull_signals_hold): pending ones arrive now */
  watched(&set);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void rnull_signals_stop(struct signals *sg, struct ev_loop *ev) {
  ev_signal_stop(ev, &sg->sigint);
  ev_signal_stop(ev, &sg->sigterm);
  ev_signal_stop(ev, &sg->sigusr1);
  ev_signal_stop(ev, &sg->sighup);
  signal(SIGUSR1, SIG_IGN); /* their defaults would kill us mid-drain */
  signal(SIGHUP, SIG_IGN);
}
