/* A request: one tag of a hardware queue, preallocated with its driver PDU.
 *
 * Lifecycle (the Rust rnull driver's, one atomic refcount per request):
 *
 *   refcount | owner                          | how it gets there
 *   ---------+--------------------------------+-------------------------------
 *      0     | free, owned by the tag set     | init, or rnull_rq_end() 2 -> 0
 *      1     | driver, no reference held      | rnull_rq_put() from 2
 *      2     | driver, exactly one reference  | dispatch to queue_rq (normal)
 *     >2     | driver, shared references      | rnull_rq_get() / tag_to_rq()
 *
 * rnull_rq_end() succeeds only from exactly 2 (compare-and-swap 2 -> 0):
 * whoever ends a request must hold the only reference. With references
 * shared it returns -EBUSY and the caller still owns its reference.
 * rnull_tag_to_rq() fails on a free tag and otherwise takes a reference,
 * racing safely with rnull_rq_end() (increment only if non-zero).
 */
#ifndef RNULL_REQUEST_H
#define RNULL_REQUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rnull/io.h"

struct rnull_hctx;

struct rnull_rq {
  _Atomic uint32_t ref; /* see the state table above */
  uint32_t tag;         /* index within its hctx */
  struct rnull_hctx *hctx;
  /* the I/O, as submitted */
  struct rnull_io io;
  /* set by the driver/store: the result */
  int status;          /* 0 or negative errno */
  uint32_t done_flags; /* RNULL_DONE_* */
  /* engine bookkeeping: timings and lists (do not touch in a driver) */
  uint64_t start_ns;            /* when submitted (for latency, timeout) */
  uint64_t deadline_ns;         /* timer deadline while in the hctx's heap */
  uint64_t expires_ns;          /* timeout deadline (start + timeout_ms) */
  int32_t heap_idx;             /* -1 when not in the heap */
  uint8_t timer_kind;           /* what the heap entry does when due */
  uint8_t where;                /* driver, timer heap or deferred list */
  bool requeued;                /* has been requeued once already */
  struct rnull_rq *prev, *next; /* in-flight list, in dispatch order */
  struct rnull_rq *next_free;   /* free stack / deferred list link */
  void *pdu;                    /* the driver's private data, cmd_size bytes */
};

/* State 2 -> 0: end the request with status (0 or -errno); the front end's
 * end_io runs, then the tag returns to the free pool. -EBUSY if the refcount
 * is not exactly 2 (references shared): nothing changed. */
int rnull_rq_end(struct rnull_rq *rq, int status);

/* Take one more reference: state >= 1 -> state + 1. Asserts not free. */
void rnull_rq_get(struct rnull_rq *rq);

/* Drop a reference: state >= 2 -> state - 1 (never reaches 0: end does). */
void rnull_rq_put(struct rnull_rq *rq);

/* Current refcount (for tests and assertions). */
uint32_t rnull_rq_refcount(const struct rnull_rq *rq);

/* The "irq": hand a request whose I/O is done to the completion path.
 * Direct mode runs ops->complete now; softirq defers it to the next commit
 * or run; timer mode runs it completion_nsec after start. */
void rnull_rq_complete(struct rnull_rq *rq);

/* Schedule ops->complete(rq) at an absolute time (engine clock). */
void rnull_rq_complete_at(struct rnull_rq *rq, uint64_t when_ns);

/* Put the request back to be dispatched again on the next run (counted). */
void rnull_rq_requeue(struct rnull_rq *rq);

static inline void *rnull_rq_pdu(struct rnull_rq *rq) { return rq->pdu; }

#endif
