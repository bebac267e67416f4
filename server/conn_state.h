/* One client connection's state: buffers, request slots, back-pressure,
 * and two inline questions every part asks of it. Lives on one loop and is
 * only touched by that loop's thread. Its own header, under every part of
 * the connection and the core (conn.h), so no part includes the core. The code is in parts, one job
 * each (conn.c says who calls whom): conn.c the core, conn_io.c the socket and TLS, conn_intake.c
 * the handshake and request intake, conn_reply.c the replies, conn_timers.c the timers and drain,
 * conn_close.c the end, conn_buf.c the memory; conn_slots.h and loop_lists.h are inline helpers
 * under all of them. */
#ifndef RNULL_SERVER_CONN_STATE_H
#define RNULL_SERVER_CONN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "handshake.h"
#include "reply.h"
#include "server.h"
#include "transmission.h"

/* Input buffer: many requests per recv; holds the largest option too. */
#define CONN_IN_CAP (256u * 1024)
/* Idle memory. In transmission one anonymous mapping per connection holds
 * the input buffer, the slots and the block status payloads (struct conn's
 * area); its pages are touched only as they are used: slots are handed out
 * from the free list, else the next never-used one (next_unused), so a
 * connection touches as many slots as it ever had in flight. Once it used
 * more than CONN_IN_KEEP bytes of input buffer or CONN_SLOTS_KEEP slots, or
 * allocated a payload buffer, a one-shot timer gives all of it back (one
 * madvise, and the payload buffers kept on its slots) when the connection
 * has been idle for CONN_TRIM_IDLE seconds; a connection that stays below
 * all three never pays that syscall. */
#define CONN_IN_KEEP (16u * 1024)
#define CONN_SLOTS_KEEP 16u
#define CONN_TRIM_IDLE 1.0
/* Seconds between two malloc_trim calls of one loop thread (conn_buf.c's trim_cb). */
#define CONN_HEAP_TRIM_GAP 1.0
/* Handshake output buffer. */
#define CONN_HS_OUT_CAP (2 * RNULL_HS_REPLY_MAX)
/* Stop reading requests while this many reply bytes wait to be sent. */
#define CONN_BACKLOG_CAP (64u * 1024 * 1024)
/* Payload buffers (memory-backed disks only) count against --buffer-memory
 * (all connections) and --conn-buffer-memory (one). Up to CONN_BUF_SMALL
 * they come from malloc and stay on their slot for reuse, CONN_BUF_KEEP of
 * them per connection at most; larger ones are mapped and stay on their
 * slot too, up to --conn-buffer-memory, so a stream of large writes does not
 * map, fault in and unmap a buffer per request. Kept buffers count against
 * both budgets (a connection short of budget drops them first) and go back
 * to the system once the connection idles (CONN_TRIM_IDLE). */
#define CONN_BUF_SMALL (32u * 1024)
#define CONN_BUF_KEEP (64u * 1024)
/* Seconds between hang-up checks of a connection not read (back-pressure). */
#define CONN_HUP_CHECK 0.5
/* Seconds between retries of a connection waiting for buffer budget. */
#define CONN_BUF_RETRY 0.02
/* Seconds a refused client may take to give up (at most). */
#define CONN_REFUSED_TIMEOUT 5.0
/* Seconds a client in the handshake gets, once shutdown began, to send its
 * next option (answered NBD_REP_ERR_SHUTDOWN) and abort. */
#define CONN_HS_SHUTDOWN_GRACE 2.0

enum slot_state { SLOT_FREE, SLOT_PARSED, SLOT_INFLIGHT, SLOT_REPLY };

/* One request, from parse to reply sent. queue_depth of them in the
 * connection's area, touched on first use. The request is decoded straight
 * into its slot (req) and mapped once to the engine's I/O (io), which is
 * what is submitted: nothing is copied or rebuilt on the way. A reply with
 * a payload of its own (block status, an error's message) writes it in the
 * area too (RNULL_REPLY_PAYLOAD_MAX bytes per slot, by slot index) and sends
 * it as the reply's data: the rare large reply does not make every slot
 * large. */
struct slot {
  struct conn *c;
  struct slot *next; /* free list, pending FIFO or reply queue */
  enum slot_state state;
  uint32_t err;             /* NBD error decided at parse time (its reply built then) */
  struct rnull_nbd_req req; /* as decoded */
  struct rnull_io io;       /* the engine's I/O (no error, not BLOCK_STATUS) */
  uint8_t *buf;             /* data buffer (memory-backed disks) */
  uint32_t buf_cap;
  bool buf_mapped;     /* mmap'd (large): munmap'd when freed */
  const uint8_t *data; /* reply data: buf, a reply payload, or NULL for zeros */
  uint32_t data_len;
  uint16_t hdr_len;
  uint8_t hdr[RNULL_REPLY_HDR_MAX];
};

struct conn {
  struct loop *loop;
  int fd;
  bool counted; /* holds one of max_conns */
  bool tcp;     /* TCP: recv(MSG_TRUNC) drops payloads without a copy */
  /* The loop's bookkeeping: only loop_lists.h writes these. */
  struct conn *prev, *next;            /* loop->conns */
  struct conn *dirty_next, *wait_next; /* loop->dirty, loop->tag_wait or loop->dead */
  bool dirty, in_tag_wait, dead;
  ev_io rio, wio;
  ev_timer hs_timer;
  ev_timer idle_timer; /* --idle-timeout, transmission phase */
  ev_timer buf_retry;  /* waiting for buffer budget another connection holds */
  ev_timer hup_check;  /* hang-up watch while not reading */
  ev_tstamp last_rx;   /* last time bytes arrived */

  struct rnull_tls_session *tls; /* NULL: plaintext */
  bool tls_start;                /* STARTTLS acknowledged: TLS once the ACK is out */
  bool tls_handshaking;

  bool transmission;         /* handshake done */
  struct disk_binding bound; /* the disk bound at transmission (disks.h) */
  bool power_off;            /* the disk is powering off: ESHUTDOWN, close once idle */
  struct rnull_hs hs;
  struct rnull_tx_limits lim;
  uint8_t *hs_out;
  size_t hs_out_len, hs_out_sent;

  uint8_t *in; /* malloc'd in the handshake, in area in transmission */
  size_t in_pos, in_end;
  uint8_t *area; /* transmission: in, slots, payloads (see CONN_IN_KEEP) */
  size_t area_len;
  uint8_t *payloads;   /* reply payloads (block status, error message), one per slot */
  ev_timer trim;       /* gives the area back once idle */
  bool trimmed;        /* area given back, not used since */
  ev_tstamp heap_owed; /* freed buffers at this time: malloc_trim owed */
  /* a WRITE payload being received */
  struct slot *payload_slot;
  uint32_t payload_left, payload_done;
  bool payload_keep; /* copy into the slot's buffer (else dropped) */

  bool rx_done;  /* no more requests will be read (EOF, DISC) */
  bool draining; /* shutting down: close once idle and the client is quiet */
  bool rx_quiet; /* the last recv found nothing (EAGAIN) */
  bool closing;  /* fd closed: waiting for in-flight requests to end */
  bool close_after_flush;

  struct slot *slots;
  unsigned nslots, nfree; /* nfree: on the free list or never used */
  unsigned next_unused;   /* slots[next_unused..] have never been used */
  struct slot *free;
  struct slot *pend_head, *pend_tail; /* parsed, not yet submitted */
  struct slot *out_head, *out_tail;   /* replies, in completion order */
  size_t out_skip;                    /* bytes of out_head already sent */
  size_t out_bytes;                   /* reply bytes queued */
  unsigned inflight;
  size_t buf_alloc;   /* payload buffer bytes held */
  size_t buf_kept;    /* of which on free slots, kept for reuse */
  uint64_t eng_bytes; /* bytes of the requests in the engine (mbps fairness) */
  bool buf_wait;
};

/* Replies or handshake output wait to be sent. */
static inline bool conn_out_pending(const struct conn *c) {
  return c->hs_out_sent < c->hs_out_len || c->out_head || (c->tls && rnull_tls_unsent(c->tls));
}

/* The connection may read now (no back-pressure, not closing). */
static inline bool conn_wants_read(const struct conn *c) {
  if (c->closing || c->rx_done || c->close_after_flush)
    return false;
  if (!c->transmission)
    return c->hs_out_len - c->hs_out_sent + RNULL_HS_REPLY_MAX <= CONN_HS_OUT_CAP;
  return !c->in_tag_wait && c->nfree > 0 && !c->buf_wait && c->out_bytes < CONN_BACKLOG_CAP;
}

#endif
