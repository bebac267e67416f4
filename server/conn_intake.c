/* A connection's input: the handshake's options, then requests: each
 * decoded into its slot, checked (the refusal's reason goes into its error
 * reply), given a buffer, its payload read, and submitted to the hw queue
 * in batches. Replies are conn_reply.c's; the bytes come from conn_io.c. */
#include "conn_intake.h"

#include <errno.h>
#include <string.h>

#include "conn_close.h"
#include "conn_reply.h"
#include "conn_slots.h"
#include "nbd_errno.h"

static bool start_transmission(struct conn *c) {
  struct server *srv = c->loop->srv;
  c->transmission = true;
  ev_timer_stop(c->loop->ev, &c->hs_timer);
  const struct rnull_hs_export *want = c->hs.cur;
  const char *name = want == c->hs.exp ? srv->reg.main_name : want->name;
  if (!rnull_disks_bind(srv->reg.ctl, &c->loop->disks, c->loop->idx, name, want, &c->bound))
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
  return conn_area_map(c);
}

/* A parsed request (payload in, if any) goes to its reply or the engine. */
static void dispatch(struct conn *c, struct slot *s) {
  if (s->err) {
    conn_reply_queue(c, s); /* its reply was written at parse time */
    return;
  }
  if (s->req.type == NBD_CMD_BLOCK_STATUS) {
    conn_block_status(c, s); /* synchronous: needs no tag */
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
    conn_reply_error(c, s, rnull_nbd_error(-ret), false);
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
      int b = conn_slot_buf(c, s, (uint32_t)r->len); /* <= max_block: checked */
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
      conn_reply_error_build(c, s, err, msg, false);
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

void conn_process(struct conn *c) {
  if (!c->transmission)
    process_handshake(c);
  if (c->transmission && !c->close_after_flush) {
    process_requests(c);
    if (!c->in_tag_wait)
      conn_submit_pending(c);
  }
}
