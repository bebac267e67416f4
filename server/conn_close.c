/* The end of a connection: abort (the socket closed, queued work dropped,
 * what waits in the engine cancelled) and free once nothing is in flight.
 * Every other part of the connection may abort it; this calls none of them. */
#include "conn_close.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conn_slots.h"
#include "tls.h"

void conn_abort(struct conn *c) {
  struct loop *l = c->loop;
  if (c->closing)
    return;
  c->closing = true;
  ev_io_stop(l->ev, &c->rio);
  ev_io_stop(l->ev, &c->wio);
  ev_timer_stop(l->ev, &c->hs_timer);
  ev_timer_stop(l->ev, &c->idle_timer);
  if (c->tls && !c->tls_handshaking)
    rnull_tls_bye(c->tls);
  ev_timer_stop(l->ev, &c->buf_retry);
  ev_timer_stop(l->ev, &c->hup_check);
  ev_timer_stop(l->ev, &c->trim);
  close(c->fd);
  c->fd = -1;
  rnull_loop_tag_wait_cancel(l, c);
  while (c->out_head) {
    struct slot *s = c->out_head;
    c->out_head = s->next;
    slot_put(c, s);
  }
  c->out_tail = NULL;
  while (c->pend_head) {
    struct slot *s = c->pend_head;
    c->pend_head = s->next;
    slot_put(c, s);
  }
  c->pend_tail = NULL;
  if (c->payload_slot) {
    slot_put(c, c->payload_slot);
    c->payload_slot = NULL;
  }
  /* Nobody will read the replies: what still waits in the engine (throttled,
   * requeued, lost) is cancelled, not served (its end_io marks us dead). */
  if (c->inflight)
    rnull_hctx_abort(c->bound.hctx, slot_of_conn, c, -ECANCELED);
  if (c->inflight == 0)
    rnull_loop_conn_dead(l, c);
}

void conn_free(struct conn *c) {
  struct loop *l = c->loop;
  rnull_disks_unbind(&l->disks, &c->bound);
  rnull_loop_conn_remove(l, c);
  if (c->counted)
    atomic_fetch_sub(&l->srv->nconns, 1);
  else
    atomic_fetch_sub(&l->srv->nrefusing, 1);
  for (unsigned i = 0; i < c->next_unused; i++)
    conn_buf_free(c, &c->slots[i]);
  rnull_tls_session_free(c->tls);
  if (c->area)
    munmap(c->area, c->area_len);
  else
    free(c->in);
  free(c->hs_out);
  free(c);
}
