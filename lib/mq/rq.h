/* Private to lib/mq: what a request is inside the core. A driver sees the
 * opaque struct rnull_rq and the calls of include/rnull/request.h; the
 * bookkeeping below (timings, lists, heap position) is the core's alone, as
 * the Rust rnull keeps its refcount in a crate-private wrapper. */
#ifndef RNULL_MQ_RQ_H
#define RNULL_MQ_RQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "rnull/io.h"

/* Where a request sits inside the core, besides the in-flight list. */
enum rnull_rq_where { RQ_WITH_DRIVER, RQ_IN_HEAP, RQ_DEFERRED };
/* What a heap entry does when due. */
enum rnull_timer_kind { TIMER_COMPLETE, TIMER_DISPATCH };

struct rnull_rq {
  _Atomic uint32_t ref; /* the state table of include/rnull/request.h */
  uint32_t tag;         /* index within its hctx */
  struct rnull_hctx *hctx;
  struct rnull_io io;           /* as submitted */
  uint32_t done_flags;          /* RNULL_DONE_*, set by the driver */
  uint64_t start_ns;            /* when submitted (latency, timer mode) */
  uint64_t deadline_ns;         /* timer deadline while in the hctx's heap */
  uint64_t expires_ns;          /* timeout deadline (dispatch + timeout_ms) */
  int32_t heap_idx;             /* -1 when not in the heap */
  uint8_t timer_kind;           /* what the heap entry does when due */
  uint8_t where;                /* driver, timer heap or deferred list */
  bool requeued;                /* given back (requeue, requeue_at) since submitted */
  struct rnull_rq *prev, *next; /* in-flight list, in dispatch order */
  struct rnull_rq *next_free;   /* free stack / deferred list link */
  void *pdu;                    /* the driver's private data, cmd_size bytes */
};

#endif
