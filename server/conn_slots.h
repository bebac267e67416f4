/* A connection's request slots: the free list, the pending FIFO, and the
 * small helpers every part of the connection uses on the request path.
 * static inline: these run once or twice per request, and a split of
 * conn.c must not turn them into calls through another object. */
#ifndef RNULL_SERVER_CONN_SLOTS_H
#define RNULL_SERVER_CONN_SLOTS_H

#include "conn_buf.h"
#include "conn_state.h"
#include "loop_lists.h"
#include "nbd_proto.h"

/* rnull_hctx_abort's match: is this request (its slot) the connection's? */
static inline bool slot_of_conn(void *cookie, void *conn) {
  return ((struct slot *)cookie)->c == conn;
}

static inline void conn_mark_dirty(struct conn *c) {
  if (!c->closing)
    rnull_loop_mark_dirty(c->loop, c);
}

/* The slot slot_get hands out next (nfree > 0): the free list's first (the
 * most recently used), else a never-used one, put on the free list now. */
static inline struct slot *slot_next(struct conn *c) {
  if (!c->free) {
    struct slot *s = &c->slots[c->next_unused++];
    s->c = c; /* the rest is zero (a fresh page, or one given back), or as
                 conn_buf.c's trim_cb left it: no buffer */
    s->next = NULL;
    c->free = s;
    if (c->next_unused > CONN_SLOTS_KEEP)
      conn_trim_arm(c);
  }
  return c->free;
}

static inline struct slot *slot_get(struct conn *c) {
  struct slot *s = slot_next(c);
  c->free = s->next;
  c->nfree--;
  c->buf_kept -= s->buf_cap;
  s->next = NULL;
  return s;
}

static inline void slot_put(struct conn *c, struct slot *s) {
  s->state = SLOT_FREE;
  /* kept for the next request: small ones up to CONN_BUF_KEEP, large
   * (mapped) ones up to what the connection may hold anyway; more goes back
   * to the system now, the rest when the connection idles (conn_buf.c) */
  uint64_t keep = s->buf_mapped ? c->loop->srv->o.conn_buffer_memory : CONN_BUF_KEEP;
  if (s->buf && c->buf_kept + s->buf_cap > keep)
    conn_buf_free(c, s);
  c->buf_kept += s->buf_cap;
  s->next = c->free;
  c->free = s;
  c->nfree++;
  c->buf_wait = false;
  conn_mark_dirty(c); /* may unblock reading */
}

static inline void pend_push(struct conn *c, struct slot *s) {
  s->next = NULL;
  if (c->pend_tail)
    c->pend_tail->next = s;
  else
    c->pend_head = s;
  c->pend_tail = s;
}

/* What mbps throttles (reads and writes move data): counted for fairness. */
static inline uint64_t throttled_len(const struct slot *s) {
  return s->req.type == NBD_CMD_READ || s->req.type == NBD_CMD_WRITE ? s->io.len : 0;
}

#endif
