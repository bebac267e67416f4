/* One client connection (see conn.h): reads many requests per recv, submits
 * them to the loop's hw queue, queues replies in completion order and sends
 * many per sendmsg. Back-pressure: no free slot, no tag, too large a reply
 * backlog or too many buffers -> stop reading this connection. */
#include "conn.h"

#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "extents.h"
#include "loop_lists.h"
#include "nbd_errno.h"
#include "nbd_proto.h"
#include "tls.h"

#define IOV_BATCH 512
#define DIRECT_RECV_MIN (64u * 1024)
/* recv calls per read event, so one busy client cannot hold the loop; a TLS
 * recv returns one record (16 KiB at most), so more of them. */
#define READ_ROUNDS 4
#define READ_ROUNDS_TLS 64
/* Room kept at the end of the input buffer beyond the largest option. */
#define IN_SLACK 16

static void conn_read_cb(struct ev_loop *ev, ev_io *w, int revents);
static void conn_write_cb(struct ev_loop *ev, ev_io *w, int revents);
static void hs_timeout_cb(struct ev_loop *ev, ev_timer *w, int revents);
static void idle_cb(struct ev_loop *ev, ev_timer *w, int revents);
static bool tls_begin(struct conn *c);
static void buf_retry_cb(struct ev_loop *ev, ev_timer *w, int revents);
static void hup_check_cb(struct ev_loop *ev, ev_timer *w, int revents);
static void trim_cb(struct ev_loop *ev, ev_timer *w, int revents);

/* rnull_hctx_abort's match: is this request (its slot) the connection's? */
static bool slot_of_conn(void *cookie, void *conn) { return ((struct slot *)cookie)->c == conn; }

static void mark_dirty(struct conn *c) {
  if (!c->closing)
    rnull_loop_mark_dirty(c->loop, c);
}

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
  c->hs.more = &l->srv->exports;
  rnull_hs_greeting(c->hs_out);
  c->hs_out_len = RNULL_HS_GREETING_LEN;
  ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
  ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
  double hs = l->srv->o.handshake_timeout;
  if (refuse && (hs == 0 || hs > CONN_REFUSED_TIMEOUT))
    hs = CONN_REFUSED_TIMEOUT;
  ev_timer_init(&c->hs_timer, hs_timeout_cb, hs, 0.0);
  ev_timer_init(&c->idle_timer, idle_cb, l->srv->o.idle_timeout, 0.0);
  ev_timer_init(&c->buf_retry, buf_retry_cb, CONN_BUF_RETRY, 0.0);
  ev_timer_init(&c->hup_check, hup_check_cb, 0.0, CONN_HUP_CHECK);
  ev_timer_init(&c->trim, trim_cb, CONN_TRIM_IDLE, 0.0);
  c->hup_check.data = c->trim.data = c;
  c->rio.data = c->wio.data = c->hs_timer.data = c->idle_timer.data = c->buf_retry.data = c;
  c->last_rx = ev_now(l->ev);
  if (hs > 0)
    ev_timer_start(l->ev, &c->hs_timer);
  rnull_loop_conn_add(l, c);
  mark_dirty(c); /* send the greeting */
  return c;
}

/* --- payload buffers (see CONN_BUF_SMALL) -------------------------------- */

/* Give the area back once the connection is idle (see CONN_IN_KEEP). */
static void trim_arm(struct conn *c) {
  c->trimmed = false;
  if (!ev_is_active(&c->trim)) {
    ev_timer_set(&c->trim, CONN_TRIM_IDLE, 0.0);
    ev_timer_start(c->loop->ev, &c->trim);
  }
}

static void buf_free(struct conn *c, struct slot *s) {
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
      buf_free(c, f);
    }
  }
}

static bool budget_take(struct server *srv, size_t n) {
  if (atomic_fetch_add(&srv->buf_used, n) + n <= srv->o.buffer_memory)
    return true;
  atomic_fetch_sub(&srv->buf_used, n);
  return false;
}

/* Make s (the next free slot) hold len bytes. 1 ok; 0 wait for this
 * connection's own buffers to come back; 2 wait for the shared budget (others
 * hold it: retry now and then); -1 the allocation failed. */
static int slot_buf(struct conn *c, struct slot *s, uint32_t len) {
  struct server *srv = c->loop->srv;
  if (s->buf_cap >= len)
    return 1;
  bool small = len <= CONN_BUF_SMALL;
  size_t page = 4096, need = small ? len : (len + page - 1) / page * page;
  if (s->buf) {
    c->buf_kept -= s->buf_cap;
    buf_free(c, s);
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
  trim_arm(c);         /* kept buffers go back once idle (a malloc already) */
  return 1;
}

/* --- slots --------------------------------------------------------------- */

/* The slot slot_get hands out next (nfree > 0): the free list's first (the
 * most recently used), else a never-used one, put on the free list now. */
static struct slot *slot_next(struct conn *c) {
  if (!c->free) {
    struct slot *s = &c->slots[c->next_unused++];
    s->c = c; /* the rest is zero (a fresh page, or one given back), or as
                 trim_cb left it: no buffer */
    s->next = NULL;
    c->free = s;
    if (c->next_unused > CONN_SLOTS_KEEP)
      trim_arm(c);
  }
  return c->free;
}

static struct slot *slot_get(struct conn *c) {
  struct slot *s = slot_next(c);
  c->free = s->next;
  c->nfree--;
  c->buf_kept -= s->buf_cap;
  s->next = NULL;
  return s;
}

static void slot_put(struct conn *c, struct slot *s) {
  s->state = SLOT_FREE;
  if (s->buf && (s->buf_mapped || c->buf_kept + s->buf_cap > CONN_BUF_KEEP))
    buf_free(c, s); /* large, or enough kept: back to the system */
  c->buf_kept += s->buf_cap;
  s->next = c->free;
  c->free = s;
  c->nfree++;
  c->buf_wait = false;
  mark_dirty(c); /* may unblock reading */
}

static bool start_transmission(struct conn *c) {
  struct server *srv = c->loop->srv;
  c->transmission = true;
  ev_timer_stop(c->loop->ev, &c->hs_timer);
  const struct rnull_hs_export *want = c->hs.cur;
  const char *name = want == c->hs.exp ? srv->main_name : want->name;
  if (!rnull_disks_bind(srv->ctl, &c->loop->disks, c->loop->idx, name, want, &c->bound))
    return false; /* the disk chosen went away: close (nothing was bound) */
  if (srv->o.idle_timeout)
    ev_timer_start(c->loop->ev, &c->idle_timer);
  c->lim.size = c->hs.cur->size;
  c->lim.min_block = c->hs.cur->min_block;
  c->lim.max_block = c->hs.cur->max_block;
  c->lim.tx_flags = c->hs.flags;
  c->lim.structured = c->hs.structured;
  c->lim.meta = c->hs.meta;
  c->lim.extended = c->hs.extended;
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
    trim_arm(c);
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
      buf_free(c, &c->slots[i]);
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

/* --- replies ------------------------------------------------------------- */

static void out_push(struct conn *c, struct slot *s) {
  s->state = SLOT_REPLY;
  s->next = NULL;
  if (c->out_tail)
    c->out_tail->next = s;
  else
    c->out_head = s;
  c->out_tail = s;
  c->out_bytes += (size_t)s->hdr_len + s->data_len;
  mark_dirty(c);
}

static const char *nbd_err_msg(uint32_t err) {
  switch (err) {
  case NBD_EPERM:
    return "read-only export";
  case NBD_ENOSPC:
    return "beyond the end of the disk or no space";
  case NBD_EINVAL:
    return "invalid request (command, flags, length, alignment or range)";
  case NBD_ENOTSUP:
    return "operation not supported";
  case NBD_ESHUTDOWN:
    return "server shutting down";
  case NBD_ENOMEM:
    return "out of memory for this request's buffer";
  case NBD_EOVERFLOW:
    return "request too large";
  default:
    return "input/output error";
  }
}

/* ERROR_OFFSET is only valid for these commands. */
static bool has_offset(uint16_t type) {
  return type == NBD_CMD_READ || type == NBD_CMD_WRITE || type == NBD_CMD_TRIM ||
         type == NBD_CMD_CACHE || type == NBD_CMD_WRITE_ZEROES || type == NBD_CMD_BLOCK_STATUS;
}

static struct rnull_reply_to reply_to(const struct conn *c, const struct slot *s) {
  return (struct rnull_reply_to){
      .handle = s->req.handle, .offset = s->req.offset, .extended = c->lim.extended};
}

/* The slot's room for a reply payload (RNULL_REPLY_PAYLOAD_MAX bytes). */
static uint8_t *slot_payload(struct conn *c, struct slot *s) {
  return c->payloads + (size_t)(s - c->slots) * RNULL_REPLY_PAYLOAD_MAX;
}

/* Write s's error reply: with structured replies an error chunk carrying
 * msg, else a simple reply (the error code only). */
static void reply_error_build(struct conn *c, struct slot *s, uint32_t err, const char *msg,
                              bool at_offset) {
  struct rnull_reply_to to = reply_to(c, s);
  s->data = NULL;
  s->data_len = 0;
  if (c->lim.structured) {
    s->data = slot_payload(c, s);
    s->hdr_len = (uint16_t)rnull_reply_error(s->hdr, slot_payload(c, s), &s->data_len, &to, err,
                                             msg, at_offset && has_offset(s->req.type));
  } else {
    s->hdr_len = (uint16_t)rnull_reply_simple(s->hdr, s->req.handle, err);
  }
}

static void reply_error(struct conn *c, struct slot *s, uint32_t err, bool at_offset) {
  reply_error_build(c, s, err, nbd_err_msg(err), at_offset);
  out_push(c, s);
}

static void reply_done(struct conn *c, struct slot *s, uint32_t done_flags) {
  struct rnull_reply_to to = reply_to(c, s);
  s->data = NULL;
  s->data_len = 0;
  if (s->req.type != NBD_CMD_READ) {
    /* Extended headers allow no simple reply: a NONE chunk says done. */
    s->hdr_len = (uint16_t)(c->lim.extended ? rnull_reply_none(s->hdr, &to)
                                            : rnull_reply_simple(s->hdr, s->req.handle, 0));
  } else {
    /* A read is at most max_block (checked), so its length fits 32 bits. */
    uint32_t len = (uint32_t)s->req.len;
    bool zero = !s->io.buf || (done_flags & RNULL_DONE_ZERO);
    if (c->lim.structured && zero) {
      /* One hole chunk covers the whole read: allowed even with DF. */
      s->hdr_len = (uint16_t)rnull_reply_hole(s->hdr, &to, len);
    } else {
      if (c->lim.structured)
        s->hdr_len = (uint16_t)rnull_reply_data_hdr(s->hdr, &to, len);
      else
        s->hdr_len = (uint16_t)rnull_reply_simple(s->hdr, s->req.handle, 0);
      s->data = zero ? NULL : s->buf;
      s->data_len = len;
    }
  }
  out_push(c, s);
}

/* The extents of one block status reply, filled by the one walk. */
struct bs_extents {
  struct rnull_extent e[RNULL_BS_MAX_EXTENTS];
  unsigned n;
};

static int bs_add(void *ctx, uint64_t offset, uint64_t len, bool hole) {
  (void)offset;
  struct bs_extents *x = ctx;
  /* (lengths sum to at most the request's: 32 bits unless extended) */
  x->e[x->n].len = len;
  x->e[x->n].flags = hole ? (NBD_STATE_HOLE | NBD_STATE_ZERO) : 0;
  x->n++;
  return 0;
}

static void block_status(struct conn *c, struct slot *s) {
  struct bs_extents x = {.n = 0};
  unsigned max = (s->req.flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : RNULL_BS_MAX_EXTENTS;
  int ret = rnull_extents_walk(c->bound.disk, s->req.offset, s->req.len, max, bs_add, &x);
  if (ret < 0) {
    reply_error(c, s, rnull_nbd_error(-ret), true);
    return;
  }
  struct rnull_extent *e = x.e;
  unsigned n = x.n;
  struct rnull_reply_to to = reply_to(c, s);
  uint8_t *payload = slot_payload(c, s);
  s->hdr_len = (uint16_t)rnull_reply_block_status(s->hdr, payload, &s->data_len, &to,
                                                  RNULL_META_BASE_ALLOCATION, e, n);
  s->data = payload;
  out_push(c, s);
}

/* What mbps throttles (reads and writes move data): counted for fairness. */
static uint64_t throttled_len(const struct slot *s) {
  return s->req.type == NBD_CMD_READ || s->req.type == NBD_CMD_WRITE ? s->io.len : 0;
}

void conn_end_io(void *cookie, int status, uint32_t done_flags) {
  struct slot *s = cookie;
  struct conn *c = s->c;
  c->inflight--;
  c->eng_bytes -= throttled_len(s);
  rnull_loop_tag_freed(c->loop);
  if (c->closing) {
    slot_put(c, s);
    if (c->inflight == 0)
      rnull_loop_conn_dead(c->loop, c);
    return;
  }
  if (status)
    reply_error(c, s, rnull_nbd_error(-status), true);
  else
    reply_done(c, s, done_flags);
}

/* --- requests ------------------------------------------------------------ */

static void pend_push(struct conn *c, struct slot *s) {
  s->next = NULL;
  if (c->pend_tail)
    c->pend_tail->next = s;
  else
    c->pend_head = s;
  c->pend_tail = s;
}

/* A parsed request (payload in, if any) goes to its reply or the engine. */
static void dispatch(struct conn *c, struct slot *s) {
  if (s->err) {
    out_push(c, s); /* its reply was written at parse time */
    return;
  }
  if (s->req.type == NBD_CMD_BLOCK_STATUS) {
    block_status(c, s); /* synchronous: needs no tag */
    return;
  }
  pend_push(c, s);
}

void conn_submit_pending(struct conn *c) {
  struct rnull_hctx *h = c->bound.hctx;
  bool any = false;
  /* the driver's fair share (a throttle's, e.g. the null driver's mbps) */
  uint64_t fair = rnull_disk_fair_share(c->bound.disk);
  while (c->pend_head && !c->closing) {
    struct slot *s = c->pend_head;
    /* at most the fair share in the engine per connection, so a throttle
     * (first come, first served) takes the connections in turn; the rest
     * waits here for this one's completions. */
    if (fair && c->inflight && c->eng_bytes + throttled_len(s) > fair)
      break;
    c->pend_head = s->next;
    if (!c->pend_head)
      c->pend_tail = NULL;
    unsigned flags = RNULL_SUBMIT_NOWAIT | (c->pend_head ? 0 : RNULL_SUBMIT_LAST);
    s->state = SLOT_INFLIGHT;
    c->inflight++; /* before: direct mode ends it inside rnull_submit */
    c->eng_bytes += throttled_len(s);
    int ret = rnull_submit(h, &s->io, flags);
    if (ret == 0) {
      any = true;
      continue;
    }
    c->inflight--;
    c->eng_bytes -= throttled_len(s);
    if (ret == -EAGAIN) {
      /* No tag: keep it first in line, stop reading until one frees. */
      s->state = SLOT_PARSED;
      s->next = c->pend_head;
      c->pend_head = s;
      if (!c->pend_tail)
        c->pend_tail = s;
      rnull_loop_tag_wait(c->loop, c);
      break;
    }
    reply_error(c, s, rnull_nbd_error(-ret), false);
  }
  if (any)
    rnull_hctx_commit(h);
}

static void process_requests(struct conn *c) {
  while (!c->closing) {
    size_t avail = c->in_end - c->in_pos;
    if (c->payload_slot) {
      uint32_t take = avail < c->payload_left ? (uint32_t)avail : c->payload_left;
      if (take && c->payload_keep)
        memcpy(c->payload_slot->buf + c->payload_done, c->in + c->in_pos, take);
      c->in_pos += take;
      c->payload_done += take;
      c->payload_left -= take;
      if (c->payload_left)
        return;
      struct slot *s = c->payload_slot;
      c->payload_slot = NULL;
      dispatch(c, s);
      continue;
    }
    if (c->nfree == 0 || c->out_bytes >= CONN_BACKLOG_CAP || c->buf_wait)
      return;
    /* decoded straight into the slot it will take (slot_next: nfree > 0) */
    struct slot *s = slot_next(c);
    struct rnull_nbd_req *r = &s->req;
    int hdr_size = rnull_req_decode(c->in + c->in_pos, avail, c->lim.extended, r);
    if (hdr_size < 0) {
      conn_abort(c); /* bad magic: the stream is lost */
      return;
    }
    if (hdr_size == 0)
      return; /* a partial header */
    if (r->type == NBD_CMD_DISC) {
      c->in_pos = c->in_end; /* nothing may follow a disconnect */
      c->rx_done = true;
      return;
    }
    if (rnull_req_payload_fatal(r, &c->lim)) {
      conn_abort(c);
      return;
    }
    char why[RNULL_REQ_WHY_MAX];
    const char *msg = why;
    uint32_t err = rnull_req_check(r, &c->lim, why);
    if (!err && c->draining && rnull_hctx_now(c->bound.hctx) > c->loop->eshutdown_ns) {
      err = NBD_ESHUTDOWN;
      msg = "the server is shutting down";
    }
    if (!err && c->power_off) {
      err = NBD_ESHUTDOWN;
      msg = "the disk is being powered off";
    }
    bool needbuf =
        !err && !c->bound.reads_zero && (r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE);
    if (needbuf) {
      int b = slot_buf(c, s, (uint32_t)r->len); /* <= max_block: checked */
      if (b < 0) {
        /* no memory for this one: it fails, the connection goes on (its
         * payload, if any, is read and dropped) */
        err = NBD_ENOMEM;
        msg = "out of memory for this request's buffer";
        needbuf = false;
      } else if (b != 1) {
        c->buf_wait = true;
        if (b == 2 && !ev_is_active(&c->buf_retry))
          ev_timer_start(c->loop->ev, &c->buf_retry);
        return;
      }
    }
    c->in_pos += (size_t)hdr_size;
    slot_get(c); /* s */
    s->state = SLOT_PARSED;
    s->err = err;
    if (err) {
      reply_error_build(c, s, err, msg, false);
    } else if (r->type != NBD_CMD_BLOCK_STATUS) {
      rnull_req_to_io(r, &s->io);
      s->io.buf = needbuf ? s->buf : NULL;
      s->io.cookie = s;
    }
    uint64_t pl = rnull_req_payload(r, c->lim.extended);
    if (pl) {
      c->payload_slot = s;
      c->payload_left = (uint32_t)pl; /* not fatal: at most RNULL_TX_SKIP_MAX or max_block */
      c->payload_done = 0;
      c->payload_keep = needbuf;
      continue;
    }
    dispatch(c, s);
  }
}

static void process_handshake(struct conn *c) {
  while (!c->transmission && !c->close_after_flush && !c->closing && !c->tls_start &&
         !c->tls_handshaking) {
    if (c->hs_out_sent == c->hs_out_len) {
      c->hs_out_sent = c->hs_out_len = 0;
    } else if (c->hs_out_len + RNULL_HS_REPLY_MAX > CONN_HS_OUT_CAP && c->hs_out_sent) {
      memmove(c->hs_out, c->hs_out + c->hs_out_sent, c->hs_out_len - c->hs_out_sent);
      c->hs_out_len -= c->hs_out_sent;
      c->hs_out_sent = 0;
    }
    if (c->hs_out_len + RNULL_HS_REPLY_MAX > CONN_HS_OUT_CAP)
      return; /* the client is not reading its replies */
    size_t used = 0;
    enum rnull_hs_result r = rnull_hs_step(&c->hs, c->in + c->in_pos, c->in_end - c->in_pos, &used,
                                           c->hs_out, &c->hs_out_len);
    c->in_pos += used;
    switch (r) {
    case RNULL_HS_MORE:
      return;
    case RNULL_HS_OK:
      break;
    case RNULL_HS_GO:
      if (!start_transmission(c)) {
        c->close_after_flush = true;
        c->rx_done = true;
      }
      return;
    case RNULL_HS_CLOSE:
      c->close_after_flush = true;
      c->rx_done = true;
      return;
    case RNULL_HS_STARTTLS:
      c->tls_start = true; /* nothing more is read in plaintext */
      return;
    }
  }
}

static void conn_process(struct conn *c) {
  if (!c->transmission)
    process_handshake(c);
  if (c->transmission && !c->close_after_flush) {
    process_requests(c);
    if (!c->in_tag_wait)
      conn_submit_pending(c);
  }
}

/* --- I/O ----------------------------------------------------------------- */

static void out_advance(struct conn *c, size_t w) {
  while (w > 0) {
    struct slot *s = c->out_head;
    size_t total = (size_t)s->hdr_len + s->data_len;
    size_t rem = total - c->out_skip;
    if (w < rem) {
      c->out_skip += w;
      return;
    }
    w -= rem;
    c->out_head = s->next;
    if (!c->out_head)
      c->out_tail = NULL;
    c->out_skip = 0;
    c->out_bytes -= total;
    slot_put(c, s);
  }
}

enum send_result { SENT, SOCKET_FULL, ABORTED };

/* One non-blocking sendmsg, the one place that decides what a send error
 * means: EINTR retries, a full socket waits for POLLOUT, anything else
 * aborts the connection. */
static enum send_result send_iov(struct conn *c, struct iovec *iov, int n, size_t *sent) {
  if (c->tls) {
    ssize_t w = rnull_tls_send(c->tls, iov, n);
    if (w >= 0) {
      *sent = (size_t)w;
      return SENT;
    }
    if (w == -EAGAIN)
      return SOCKET_FULL;
    conn_abort(c);
    return ABORTED;
  }
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
  for (;;) {
    ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w >= 0) {
      *sent = (size_t)w;
      return SENT;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return SOCKET_FULL;
    conn_abort(c);
    return ABORTED;
  }
}

/* Send what is queued. false if the connection was aborted. */
static bool flush_out(struct conn *c) {
  size_t w;
  enum send_result r;
  if (c->tls && rnull_tls_unsent(c->tls)) {
    int f = rnull_tls_flush(c->tls); /* ciphertext an earlier batch left */
    if (f == -EIO) {
      conn_abort(c);
      return false;
    }
    if (f < 0)
      return true;
  }
  while (c->hs_out_sent < c->hs_out_len) {
    struct iovec v = {c->hs_out + c->hs_out_sent, c->hs_out_len - c->hs_out_sent};
    if ((r = send_iov(c, &v, 1, &w)) != SENT)
      return r == SOCKET_FULL;
    c->hs_out_sent += w;
  }
  if (c->tls_start)
    return tls_begin(c);
  if (c->transmission && c->hs_out) {
    free(c->hs_out); /* the handshake is over and sent */
    c->hs_out = NULL;
    c->hs_out_len = c->hs_out_sent = 0;
  }
  while (c->out_head) {
    struct iovec iov[IOV_BATCH];
    int n = 0;
    size_t skip = c->out_skip;
    for (struct slot *s = c->out_head; s && n < IOV_BATCH; s = s->next) {
      n += rnull_reply_iov(s->hdr, s->hdr_len, s->data, s->data_len, skip, iov + n, IOV_BATCH - n);
      skip = 0;
    }
    if ((r = send_iov(c, iov, n, &w)) != SENT)
      return r == SOCKET_FULL;
    out_advance(c, w);
  }
  return true;
}

/* --- TLS (after NBD_OPT_STARTTLS) ---------------------------------------- */

/* Advance the TLS handshake; once it is done the option haggling goes on
 * over TLS. false if the connection was aborted. */
static bool tls_step(struct conn *c) {
  switch (rnull_tls_handshake(c->tls)) {
  case RNULL_TLS_DONE:
    c->tls_handshaking = false;
    rnull_hs_tls_up(&c->hs);
    mark_dirty(c); /* options may already wait, decrypted */
    return true;
  case RNULL_TLS_WANT_READ:
  case RNULL_TLS_WANT_WRITE:
    return true;
  case RNULL_TLS_FAILED:
  default:
    conn_abort(c);
    return false;
  }
}

/* The STARTTLS ACK is sent: start TLS. Bytes the client sent after
 * STARTTLS, before it could have seen the ACK, break the protocol. */
static bool tls_begin(struct conn *c) {
  c->tls_start = false;
  if (c->in_pos != c->in_end || !(c->tls = rnull_tls_session_new(&c->loop->srv->tls, c->fd))) {
    conn_abort(c);
    return false;
  }
  c->tcp = false; /* the kernel sees ciphertext: no MSG_TRUNC discards */
  c->tls_handshaking = true;
  return tls_step(c);
}

/* recv, through TLS once it is up. */
static ssize_t conn_recv(struct conn *c, void *buf, size_t len) {
  if (!c->tls)
    return recv(c->fd, buf, len, 0);
  ssize_t n = rnull_tls_recv(c->tls, buf, len);
  if (n < 0) {
    errno = (int)-n;
    return -1;
  }
  return n;
}

static bool out_pending(const struct conn *c) {
  return c->hs_out_sent < c->hs_out_len || c->out_head || (c->tls && rnull_tls_unsent(c->tls));
}

static bool wants_read(const struct conn *c) {
  if (c->closing || c->rx_done || c->close_after_flush)
    return false;
  if (!c->transmission)
    return c->hs_out_len - c->hs_out_sent + RNULL_HS_REPLY_MAX <= CONN_HS_OUT_CAP;
  return !c->in_tag_wait && c->nfree > 0 && !c->buf_wait && c->out_bytes < CONN_BACKLOG_CAP;
}

/* recv as much as there is (bounded), processing as we go. Returns false
 * if the first recv found nothing (EAGAIN) and nothing changed. */
static bool read_rounds(struct conn *c) {
  int rounds = c->tls ? READ_ROUNDS_TLS : READ_ROUNDS;
  for (int round = 0; round < rounds && wants_read(c); round++) {
    if (c->in_pos == c->in_end) {
      c->in_pos = c->in_end = 0;
    } else if (c->in_pos && CONN_IN_CAP - c->in_end < RNULL_HS_OPT_MAX + IN_SLACK) {
      memmove(c->in, c->in + c->in_pos, c->in_end - c->in_pos);
      c->in_end -= c->in_pos;
      c->in_pos = 0;
    }
    if (c->in_end == CONN_IN_CAP)
      break;
    ssize_t n;
    bool direct = c->payload_slot && c->in_pos == c->in_end && c->payload_left >= DIRECT_RECV_MIN &&
                  (c->payload_keep || c->tcp);
    if (direct && c->payload_keep) /* a large write: straight into its buffer */
      n = conn_recv(c, c->payload_slot->buf + c->payload_done, c->payload_left);
    else if (direct) /* a dropped payload on TCP: discarded in the kernel, no copy */
      n = recv(c->fd, NULL, c->payload_left, MSG_TRUNC);
    else
      n = conn_recv(c, c->in + c->in_end, CONN_IN_CAP - c->in_end);
    if (n > 0) {
      c->last_rx = ev_now(c->loop->ev);
      size_t asked = direct ? c->payload_left : CONN_IN_CAP - c->in_end;
      if (direct) {
        c->payload_done += (uint32_t)n;
        c->payload_left -= (uint32_t)n;
      } else {
        c->in_end += (size_t)n;
        if (c->in_end > CONN_IN_KEEP && c->area)
          trim_arm(c);
      }
      conn_process(c);
      /* A short read drained the socket: no second recv just to see
       * EAGAIN (a syscall per wake-up), except when draining (with TLS:
       * unless bytes read ahead still wait in the TLS layer). */
      c->rx_quiet = false;
      if ((size_t)n < asked && !c->draining && (!c->tls || !rnull_tls_pending(c->tls)))
        break;
      continue;
    }
    if (n == 0) {
      /* EOF without NBD_CMD_DISC: the client is gone. What is done is still
       * answered (then we close); what waits in the engine (throttled,
       * requeued, lost) is cancelled, not served. */
      c->rx_done = true;
      if (c->inflight)
        rnull_hctx_abort(c->bound.hctx, slot_of_conn, c, -ECANCELED);
      break;
    }
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->rx_quiet = true;
      if (round == 0)
        return false;
      break;
    }
    conn_abort(c);
    return true;
  }
  return true;
}

static void conn_read(struct conn *c) {
  if (c->tls_handshaking) {
    if (tls_step(c))
      mark_dirty(c);
    return;
  }
  read_rounds(c);
  mark_dirty(c);
}

bool conn_pollable(const struct conn *c) {
  return !c->tls && !c->tls_handshaking && c->transmission && wants_read(c);
}

void conn_set_polled(struct conn *c, bool on) {
  /* libev drops the fd from its epoll set on the first readiness it sees
   * while the watcher is stopped, and adds it back on the restart */
  if (on)
    ev_io_stop(c->loop->ev, &c->rio);
  else if (!c->closing && wants_read(c))
    ev_io_start(c->loop->ev, &c->rio);
}

bool conn_poll_read(struct conn *c) {
  if (!conn_pollable(c) || !read_rounds(c))
    return false;
  mark_dirty(c);
  return true;
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
  if (c->draining && !c->rx_quiet && wants_read(c))
    conn_read(c); /* drain: is the client still sending? */
  if (c->closing)
    return;
  bool pending = out_pending(c);
  bool idle = !pending && c->inflight == 0 && !c->pend_head;
  /* (after EOF a half-received payload can never complete: drop it) */
  bool quiet = c->draining && c->rx_quiet && c->in_pos == c->in_end && !c->payload_slot;
  if (!pending && (c->close_after_flush || (idle && (c->rx_done || quiet || c->power_off)))) {
    conn_abort(c); /* everything answered: close */
    return;
  }
  bool rd = wants_read(c);
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
    mark_dirty(c);
  }
}

void conn_service(struct conn *c) {
  if (c->closing)
    return;
  if (c->tls_handshaking && !tls_step(c))
    return;
  conn_process(c);
  if (c->closing || !flush_out(c))
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
  mark_dirty(w->data);
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
  mark_dirty(c);
}

/* --idle-timeout: nothing in flight, nothing queued, nothing received for
 * that long. Otherwise check again when it could first be true. */
static void idle_cb(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)revents;
  struct conn *c = w->data;
  double limit = c->loop->srv->o.idle_timeout, left = c->last_rx + limit - ev_now(ev);
  bool busy = c->inflight || c->pend_head || out_pending(c) || c->payload_slot;
  if (!busy && left <= 0) {
    fprintf(stderr, "%s: closing a connection idle for %.0f s (--idle-timeout)\n",
            c->loop->srv->progname, limit);
    conn_abort(c);
    return;
  }
  ev_timer_set(w, busy || left <= 0 ? limit : left, 0.0);
  ev_timer_start(ev, w);
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
    mark_dirty(c);
    return;
  }
  c->draining = true;
  mark_dirty(c);
}

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

void conn_power_off(struct conn *c) {
  if (c->closing || c->power_off)
    return;
  c->power_off = true;
  mark_dirty(c);
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
    buf_free(c, &c->slots[i]);
  rnull_tls_session_free(c->tls);
  if (c->area)
    munmap(c->area, c->area_len);
  else
    free(c->in);
  free(c->hs_out);
  free(c);
}
