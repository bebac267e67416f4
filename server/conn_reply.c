/* A connection's replies: what each request is answered with (data, hole,
 * error chunk with its reason, block status), queued in completion order;
 * and the engine's end_io, which is where most replies start. The queue is
 * sent by conn_io.c. */
#include "conn_reply.h"

#include "conn_slots.h"
#include "extents.h"
#include "nbd_errno.h"

void conn_reply_queue(struct conn *c, struct slot *s) {
  s->state = SLOT_REPLY;
  s->next = NULL;
  if (c->out_tail)
    c->out_tail->next = s;
  else
    c->out_head = s;
  c->out_tail = s;
  c->out_bytes += (size_t)s->hdr_len + s->data_len;
  conn_mark_dirty(c);
}

/* An error in words where nothing better is known: the engine's errors
 * and failed submissions (a refusal at parse time carries
 * rnull_req_check's reason instead). */
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
void conn_reply_error_build(struct conn *c, struct slot *s, uint32_t err, const char *msg,
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

void conn_reply_error(struct conn *c, struct slot *s, uint32_t err, bool at_offset) {
  conn_reply_error_build(c, s, err, nbd_err_msg(err), at_offset);
  conn_reply_queue(c, s);
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
  conn_reply_queue(c, s);
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

void conn_block_status(struct conn *c, struct slot *s) {
  struct bs_extents x = {.n = 0};
  unsigned max = (s->req.flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : RNULL_BS_MAX_EXTENTS;
  int ret = rnull_extents_walk(c->bound.disk, s->req.offset, s->req.len, max, bs_add, &x);
  if (ret < 0) {
    conn_reply_error(c, s, rnull_nbd_error(-ret), true);
    return;
  }
  struct rnull_extent *e = x.e;
  unsigned n = x.n;
  struct rnull_reply_to to = reply_to(c, s);
  uint8_t *payload = slot_payload(c, s);
  s->hdr_len = (uint16_t)rnull_reply_block_status(s->hdr, payload, &s->data_len, &to,
                                                  RNULL_META_BASE_ALLOCATION, e, n);
  s->data = payload;
  conn_reply_queue(c, s);
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
    conn_reply_error(c, s, rnull_nbd_error(-status), true);
  else
    reply_done(c, s, done_flags);
}
