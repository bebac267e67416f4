/* A loop's lists of its connections (struct loop's conns, dirty, tag_wait,
 * dead; struct conn's links). Their own file so that the connection and the
 * loop both use them without calling each other: the connection files put a
 * connection on a list, the loop takes it off and acts. Loop thread only;
 * static inline since marking a connection dirty is on every reply's path. */
#ifndef RNULL_SERVER_LOOP_LISTS_H
#define RNULL_SERVER_LOOP_LISTS_H

#include "conn_state.h"
#include "server.h"

/* Service c in the next settle pass. */
static inline void rnull_loop_mark_dirty(struct loop *l, struct conn *c) {
  if (c->dirty)
    return;
  c->dirty = true;
  c->dirty_next = l->dirty;
  l->dirty = c;
}

/* The next connection to service, off the dirty list; NULL if none. */
static inline struct conn *rnull_loop_take_dirty(struct loop *l) {
  struct conn *c = l->dirty;
  if (c) {
    l->dirty = c->dirty_next;
    c->dirty = false;
  }
  return c;
}

static inline void rnull_loop_conn_add(struct loop *l, struct conn *c) {
  c->prev = NULL;
  c->next = l->conns;
  if (l->conns)
    l->conns->prev = c;
  l->conns = c;
  l->nconns++;
}

/* c is being freed. */
static inline void rnull_loop_conn_remove(struct loop *l, struct conn *c) {
  if (l->polled == c)
    l->polled = NULL;
  if (c->prev)
    c->prev->next = c->next;
  else
    l->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  l->nconns--;
}

/* Retry c's submissions when a tag frees. */
static inline void rnull_loop_tag_wait(struct loop *l, struct conn *c) {
  if (c->in_tag_wait)
    return;
  c->in_tag_wait = true;
  c->wait_next = l->tag_wait;
  l->tag_wait = c;
}

static inline void rnull_loop_tag_wait_cancel(struct loop *l, struct conn *c) {
  if (!c->in_tag_wait)
    return;
  for (struct conn **p = &l->tag_wait; *p; p = &(*p)->wait_next) {
    if (*p == c) {
      *p = c->wait_next;
      break;
    }
  }
  c->in_tag_wait = false;
}

/* A request ended: its tag is free. */
static inline void rnull_loop_tag_freed(struct loop *l) { l->tag_freed = true; }

/* The tag waiters, if a tag freed since the last look (the list is emptied:
 * each waiter's in_tag_wait is cleared as it is taken); NULL otherwise. */
static inline struct conn *rnull_loop_take_tag_waiters(struct loop *l) {
  struct conn *w = l->tag_freed ? l->tag_wait : NULL;
  if (w)
    l->tag_wait = NULL;
  l->tag_freed = false;
  return w;
}

/* Closed with nothing in flight: free it in settle. */
static inline void rnull_loop_conn_dead(struct loop *l, struct conn *c) {
  if (c->dead)
    return;
  c->dead = true;
  c->wait_next = l->dead;
  l->dead = c;
}

#endif
