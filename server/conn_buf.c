/* A connection's memory: the payload buffers and their budget (see
 * CONN_BUF_SMALL), the transmission area and giving it back once idle (see
 * CONN_IN_KEEP). Apart from the request path so that the budget's rules
 * sit in one place; it calls no other part of the connection. */
#include "conn_buf.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "server.h"

void conn_buf_free(struct conn *c, struct slot *s) {
  if (!s->buf)
    return;
  if (s->buf_mapped)
    munmap(s->buf, s->buf_cap);
  else
    free(s->buf);
  c->buf_alloc -= s->buf_cap;
  atomic_fetch_sub(&c->loop->srv->buf_used, s->buf_cap);
  s->buf = NULL;
  s->buf_cap = 0;
  s->buf_mapped = false;
}

/* Give back the buffers kept on free slots (but skip's). */
static void buf_drop_kept(struct conn *c, struct slot *skip) {
  for (struct slot *f = c->free; f && c->buf_kept; f = f->next) {
    if (f != skip && f->buf) {
      c->buf_kept -= f->buf_cap;
      conn_buf_free(c, f);
    }
  }
}

static bool budget_take(struct server *srv, size_t n) {
  if (atomic_fetch_add(&srv->buf_used, n) + n <= srv->o.buffer_memory)
    return true;
  atomic_fetch_sub(&srv->buf_used, n);
  return false;
}

/* (conn_buf.h; the caller checked that the buffer is too small) */
int conn_slot_buf_alloc(struct conn *c, struct slot *s, uint32_t len) {
  struct server *srv = c->loop->srv;
  bool small = len <= CONN_BUF_SMALL;
  size_t page = 4096, need = small ? len : (len + page - 1) / page * page;
  if (s->buf) {
    c->buf_kept -= s->buf_cap;
    conn_buf_free(c, s);
  }
  if (c->buf_alloc + need > srv->o.conn_buffer_memory)
    buf_drop_kept(c, s);
  if (c->buf_alloc + need > srv->o.conn_buffer_memory)
    return 0; /* this connection's own requests hold it: they come back */
  if (!budget_take(srv, need)) {
    buf_drop_kept(c, s);
    /* a connection holding nothing may always take a small buffer: it is
     * served while others pin the budget */
    if (!budget_take(srv, need)) {
      if (!small || c->buf_alloc)
        return 2;
      atomic_fetch_add(&srv->buf_used, need); /* over by one small buffer at most */
    }
  }
  void *p = small ? malloc(need)
                  : mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!p || p == MAP_FAILED) {
    atomic_fetch_sub(&srv->buf_used, need);
    return -1;
  }
  s->buf = p;
  s->buf_cap = (uint32_t)need;
  s->buf_mapped = !small;
  c->buf_alloc += need;
  c->buf_kept += need; /* s is still on the free list */
  conn_trim_arm(c);    /* kept buffers go back once idle (a malloc already) */
  return 1;
}

bool conn_area_map(struct conn *c) {
  /* One mapping: the input buffer, then the slots, then the reply payloads;
   * what the handshake left unread moves over. */
  c->nslots = rnull_disk_queue_depth(c->bound.disk);
  size_t slots_len = ((size_t)c->nslots * sizeof(struct slot) + 63) & ~(size_t)63;
  size_t len = CONN_IN_CAP + slots_len + (size_t)c->nslots * RNULL_REPLY_PAYLOAD_MAX;
  uint8_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED)
    return false;
  size_t left = c->in_end - c->in_pos;
  memcpy(a, c->in + c->in_pos, left);
  free(c->in);
  c->in = a;
  c->in_pos = 0;
  c->in_end = left;
  c->area = a;
  c->area_len = len;
  c->slots = (struct slot *)(a + CONN_IN_CAP);
  c->payloads = a + CONN_IN_CAP + slots_len;
  c->nfree = c->nslots;
  if (left > CONN_IN_KEEP)
    conn_trim_arm(c);
  return true;
}

/* This thread's last malloc_trim (see trim_cb). */
static __thread ev_tstamp heap_trimmed = -1e9;

/* Idle (nothing received for CONN_TRIM_IDLE s, nothing in flight or queued,
 * every slot free): drop the payload buffers kept on slots and give the whole
 * area back; the next request starts on fresh zero pages. Else look again
 * when it could first be true.
 * The buffers freed go back to malloc, which returns to the system only the
 * top of a heap: what sits between live allocations stays resident. So once
 * buffers were freed, malloc_trim gives back the free pages of every arena,
 * at most once per CONN_HEAP_TRIM_GAP on this loop's thread; a connection
 * that comes too soon waits for the next one (or one done since covers it). */
static void trim_cb(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)revents;
  struct conn *c = w->data;
  ev_tstamp now = ev_now(ev);
  double left = c->last_rx + CONN_TRIM_IDLE - now;
  bool busy = c->inflight || c->pend_head || c->out_head || c->payload_slot ||
              c->in_pos != c->in_end || c->nfree != c->nslots;
  if (c->closing)
    return;
  if (busy || left > 0) {
    ev_timer_set(w, busy || left <= 0 ? CONN_TRIM_IDLE : left, 0.0);
    ev_timer_start(ev, w);
    return;
  }
  if (!c->trimmed) {
    if (c->buf_alloc)
      c->heap_owed = now;
    for (unsigned i = 0; i < c->next_unused; i++)
      conn_buf_free(c, &c->slots[i]);
    c->buf_kept = 0;
    c->free = NULL;
    c->next_unused = 0;
    c->in_pos = c->in_end = 0;
    madvise(c->area, c->area_len, MADV_DONTNEED);
    c->trimmed = true;
  }
  if (c->heap_owed == 0 || heap_trimmed > c->heap_owed) {
    c->heap_owed = 0; /* nothing freed, or a later malloc_trim saw it */
    return;
  }
  if (now < heap_trimmed + CONN_HEAP_TRIM_GAP) {
    ev_timer_set(w, heap_trimmed + CONN_HEAP_TRIM_GAP - now, 0.0);
    ev_timer_start(ev, w);
    return;
  }
  malloc_trim(0);
  heap_trimmed = now;
  c->heap_owed = 0;
}

void conn_buf_init(struct conn *c) {
  ev_timer_init(&c->trim, trim_cb, CONN_TRIM_IDLE, 0.0);
  c->trim.data = c;
}
