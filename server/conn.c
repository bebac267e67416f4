/* One client connection (see conn.h): its life around a small core. The
 * core creates it and, each time the loop services it, runs one round:
 * process the input (conn_intake.c), send (conn_io.c), then decide which
 * watchers wait for what, and whether it is done. The parts, each one job,
 * call down only:
 *   conn.c -> conn_io.c -> conn_intake.c -> conn_reply.c -> conn_buf.c
 *   conn_timers.c and every part above -> conn_close.c -> conn_buf.c
 * with conn_slots.h (slots, inline) and loop_lists.h under all of them.
 * Back-pressure: no free slot, no tag, too large a reply backlog or too
 * many buffers -> stop reading this connection. */
#include "conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "conn_close.h"
#include "conn_intake.h"
#include "conn_io.h"
#include "conn_slots.h"
#include "conn_timers.h"
#include "tls.h"

static void conn_read_cb(struct ev_loop *ev, ev_io *w, int revents);
static void conn_write_cb(struct ev_loop *ev, ev_io *w, int revents);

struct conn *conn_create(struct loop *l, int fd, bool refuse, bool tcp) {
  struct conn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->in = malloc(CONN_IN_CAP);
  c->hs_out = malloc(CONN_HS_OUT_CAP);
  if (!c->in || !c->hs_out) {
    free(c->in);
    free(c->hs_out);
    free(c);
    return NULL;
  }
  if (tcp) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  c->loop = l;
  c->fd = fd;
  c->counted = !refuse;
  c->tcp = tcp;
  rnull_hs_init(&c->hs, &l->srv->exp, refuse);
  c->hs.tls = l->srv->tls.o.mode;
  c->hs.more = &l->srv->reg.exports;
  rnull_hs_greeting(c->hs_out);
  c->hs_out_len = RNULL_HS_GREETING_LEN;
  ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
  ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
  double hs = l->srv->o.handshake_timeout;
  if (refuse && (hs == 0 || hs > CONN_REFUSED_TIMEOUT))
    hs = CONN_REFUSED_TIMEOUT;
  c->rio.data = c->wio.data = c;
  c->last_rx = ev_now(l->ev);
  conn_timers_init(c, hs);
  conn_buf_init(c);
  rnull_loop_conn_add(l, c);
  conn_mark_dirty(c); /* send the greeting */
  return c;
}

/* The TLS handshake waits for one direction only. */
static void tls_update(struct conn *c) {
  struct ev_loop *ev = c->loop->ev;
  bool w = rnull_tls_want_write(c->tls);
  if (w) {
    ev_io_stop(ev, &c->rio);
    ev_io_start(ev, &c->wio);
  } else {
    ev_io_stop(ev, &c->wio);
    ev_io_start(ev, &c->rio);
  }
}

static void conn_update(struct conn *c) {
  struct ev_loop *ev = c->loop->ev;
  if (c->closing)
    return;
  if (c->tls_handshaking) {
    tls_update(c);
    return;
  }
  if (c->draining && !c->rx_quiet && conn_wants_read(c))
    conn_read(c); /* drain: is the client still sending? */
  if (c->closing)
    return;
  bool pending = conn_out_pending(c);
  bool idle = !pending && c->inflight == 0 && !c->pend_head;
  /* (after EOF a half-received payload can never complete: drop it) */
  bool quiet = c->draining && c->rx_quiet && c->in_pos == c->in_end && !c->payload_slot;
  if (!pending && (c->close_after_flush || (idle && (c->rx_done || quiet || c->power_off)))) {
    conn_abort(c); /* everything answered: close */
    return;
  }
  bool rd = conn_wants_read(c);
  if (c->tls) {
    /* Bytes already read wait in the TLS layer, and the socket may never
     * turn readable again: read them now (this marks c dirty again). */
    if (rd && rnull_tls_pending(c->tls)) {
      conn_read(c);
      return;
    }
    pending |= rnull_tls_want_write(c->tls);
  }
  if (rd && c->loop->polled != c)
    ev_io_start(ev, &c->rio);
  else
    ev_io_stop(ev, &c->rio);
  if (pending)
    ev_io_start(ev, &c->wio);
  else
    ev_io_stop(ev, &c->wio);
  /* Not reading (back-pressure) with requests in the engine: EOF would go
   * unseen, so look for a hang-up now and then. */
  bool watch = !rd && c->transmission && c->inflight && !c->rx_done;
  if (watch && !ev_is_active(&c->hup_check))
    ev_timer_again(ev, &c->hup_check);
  else if (!watch && ev_is_active(&c->hup_check))
    ev_timer_stop(ev, &c->hup_check);
}

void conn_service(struct conn *c) {
  if (c->closing)
    return;
  if (c->tls_handshaking && !conn_tls_step(c))
    return;
  conn_process(c);
  if (c->closing || !conn_flush_out(c))
    return;
  conn_update(c);
}

static void conn_read_cb(struct ev_loop *ev, ev_io *w, int revents) {
  (void)ev;
  (void)revents;
  conn_read(w->data);
}

static void conn_write_cb(struct ev_loop *ev, ev_io *w, int revents) {
  (void)ev;
  (void)revents;
  conn_mark_dirty(w->data);
}
