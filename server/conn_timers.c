/* A connection's clocks and endings: the handshake and idle timeouts, the
 * retry for buffer budget, the hang-up watch while not reading, and the
 * two ways a connection is asked to finish (server drain, disk power off).
 * Each only marks the connection or aborts it. */
#include "conn_timers.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "conn_close.h"
#include "conn_slots.h"

/* The client hung up (or shut down its sending side): as at EOF, cancel
 * what waits in the engine. */
static void hup_check_cb(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)revents;
  struct conn *c = w->data;
  struct pollfd p = {.fd = c->fd, .events = POLLRDHUP};
  if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
    ev_timer_stop(ev, w);
    c->rx_done = true;
    if (c->inflight)
      rnull_hctx_abort(c->bound.hctx, slot_of_conn, c, -ECANCELED);
    conn_mark_dirty(c);
  }
}

static void hs_timeout_cb(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)ev;
  (void)revents;
  conn_abort(w->data);
}

/* Another connection may have given budget back: try again. */
static void buf_retry_cb(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)ev;
  (void)revents;
  struct conn *c = w->data;
  c->buf_wait = false;
  conn_mark_dirty(c);
}

/* --idle-timeout: nothing in flight, nothing queued, nothing received for
 * that long. Otherwise check again when it could first be true. */
static void idle_cb(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)revents;
  struct conn *c = w->data;
  double limit = c->loop->srv->o.idle_timeout, left = c->last_rx + limit - ev_now(ev);
  bool busy = c->inflight || c->pend_head || conn_out_pending(c) || c->payload_slot;
  if (!busy && left <= 0) {
    fprintf(stderr, "%s: closing a connection idle for %.0f s (--idle-timeout)\n",
            c->loop->srv->progname, limit);
    conn_abort(c);
    return;
  }
  ev_timer_set(w, busy || left <= 0 ? limit : left, 0.0);
  ev_timer_start(ev, w);
}

void conn_timers_init(struct conn *c, double hs_timeout) {
  struct ev_loop *ev = c->loop->ev;
  ev_timer_init(&c->hs_timer, hs_timeout_cb, hs_timeout, 0.0);
  ev_timer_init(&c->idle_timer, idle_cb, c->loop->srv->o.idle_timeout, 0.0);
  ev_timer_init(&c->buf_retry, buf_retry_cb, CONN_BUF_RETRY, 0.0);
  ev_timer_init(&c->hup_check, hup_check_cb, 0.0, CONN_HUP_CHECK);
  c->hs_timer.data = c->idle_timer.data = c->buf_retry.data = c->hup_check.data = c;
  if (hs_timeout > 0)
    ev_timer_start(ev, &c->hs_timer);
}

void conn_begin_drain(struct conn *c) {
  if (c->closing)
    return;
  if (!c->transmission) {
    /* No export in use yet: error the client's next options, then close. */
    c->hs.shutdown = true;
    ev_timer_stop(c->loop->ev, &c->hs_timer);
    ev_timer_set(&c->hs_timer, CONN_HS_SHUTDOWN_GRACE, 0.0);
    ev_timer_start(c->loop->ev, &c->hs_timer);
    conn_mark_dirty(c);
    return;
  }
  c->draining = true;
  conn_mark_dirty(c);
}

void conn_power_off(struct conn *c) {
  if (c->closing || c->power_off)
    return;
  c->power_off = true;
  conn_mark_dirty(c);
}
