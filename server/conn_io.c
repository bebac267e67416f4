/* A connection's socket, plain or TLS: many requests per recv (a large
 * write's payload straight into its buffer, a dropped one discarded in the
 * kernel), many replies per sendmsg, the TLS handshake after STARTTLS, and
 * the polled recv of a loop with one connection. What is read goes to
 * conn_intake.c as it comes. */
#include "conn_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn_close.h"
#include "conn_intake.h"
#include "conn_slots.h"
#include "tls.h"

#define IOV_BATCH 512
#define DIRECT_RECV_MIN (64u * 1024)
/* recv calls per read event, so one busy client cannot hold the loop; a TLS
 * recv returns one record (16 KiB at most), so more of them. */
#define READ_ROUNDS 4
#define READ_ROUNDS_TLS 64
/* Room kept at the end of the input buffer beyond the largest option. */
#define IN_SLACK 16

static bool tls_begin(struct conn *c);

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
bool conn_flush_out(struct conn *c) {
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

/* Advance the TLS handshake; once it is done the option haggling goes on
 * over TLS. false if the connection was aborted. */
bool conn_tls_step(struct conn *c) {
  switch (rnull_tls_handshake(c->tls)) {
  case RNULL_TLS_DONE:
    c->tls_handshaking = false;
    rnull_hs_tls_up(&c->hs);
    conn_mark_dirty(c); /* options may already wait, decrypted */
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
  return conn_tls_step(c);
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

/* recv as much as there is (bounded), processing as we go. Returns false
 * if the first recv found nothing (EAGAIN) and nothing changed. */
static bool read_rounds(struct conn *c) {
  int rounds = c->tls ? READ_ROUNDS_TLS : READ_ROUNDS;
  for (int round = 0; round < rounds && conn_wants_read(c); round++) {
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
          conn_trim_arm(c);
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

void conn_read(struct conn *c) {
  if (c->tls_handshaking) {
    if (conn_tls_step(c))
      conn_mark_dirty(c);
    return;
  }
  read_rounds(c);
  conn_mark_dirty(c);
}

bool conn_pollable(const struct conn *c) {
  return !c->tls && !c->tls_handshaking && c->transmission && conn_wants_read(c);
}

void conn_set_polled(struct conn *c, bool on) {
  /* libev drops the fd from its epoll set on the first readiness it sees
   * while the watcher is stopped, and adds it back on the restart */
  if (on)
    ev_io_stop(c->loop->ev, &c->rio);
  else if (!c->closing && conn_wants_read(c))
    ev_io_start(c->loop->ev, &c->rio);
}

bool conn_poll_read(struct conn *c) {
  if (!conn_pollable(c) || !read_rounds(c))
    return false;
  conn_mark_dirty(c);
  return true;
}
