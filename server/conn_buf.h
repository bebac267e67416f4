/* A connection's memory: payload buffers against --buffer-memory and
 * --conn-buffer-memory, the transmission area, and giving both back once
 * the connection is idle (conn_buf.c). */
#ifndef RNULL_SERVER_CONN_BUF_H
#define RNULL_SERVER_CONN_BUF_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_state.h"

/* The trim timer (at conn_create). */
void conn_buf_init(struct conn *c);
/* Map the transmission area (input buffer, slots, reply payloads) for the
 * bound disk's queue depth; what the handshake left unread moves over.
 * false if the mapping failed. */
bool conn_area_map(struct conn *c);

/* Give the area back once the connection is idle (see CONN_IN_KEEP). */
static inline void conn_trim_arm(struct conn *c) {
  c->trimmed = false;
  if (!ev_is_active(&c->trim)) {
    ev_timer_set(&c->trim, CONN_TRIM_IDLE, 0.0);
    ev_timer_start(c->loop->ev, &c->trim);
  }
}

/* Free s's payload buffer, if any (the budget gets it back). */
void conn_buf_free(struct conn *c, struct slot *s);

/* Make s (the next free slot) hold len bytes. 1 ok; 0 wait for this
 * connection's own buffers to come back; 2 wait for the shared budget
 * (others hold it: retry now and then); -1 the allocation failed. */
int conn_slot_buf_alloc(struct conn *c, struct slot *s, uint32_t len);
static inline int conn_slot_buf(struct conn *c, struct slot *s, uint32_t len) {
  return s->buf_cap >= len ? 1 : conn_slot_buf_alloc(c, s, len);
}

#endif
