/* Driver API: a request, as a driver sees it. For whoever implements
 * struct rnull_ops (include/rnull/ops.h); front ends never see requests.
 *
 * A request is one tag of a hardware queue, preallocated with the driver's
 * PDU (cmd_size bytes). The type is opaque: the core's bookkeeping (timings,
 * lists, timer position) is private to lib/mq. A driver reads the I/O with
 * rnull_rq_io(), keeps its per-request state in rnull_rq_pdu(), and hands
 * the request back with exactly one of the completion calls below.
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
 *
 * Rules:
 *  - queue_rq receives the request in state 2: that reference is the
 *    driver's until it ends, completes, requeues or puts it.
 *  - rnull_rq_complete / _complete_at / _requeue / _requeue_at hand that
 *    reference to the core (the request stays in state 2); the core gives it
 *    back through ops->complete or ops->queue_rq. Use one at a time.
 *  - Any thread may call these (worker threads, timers): each takes the
 *    hardware queue's lock itself; none is called with a core lock held.
 *  - After rnull_rq_end returned 0 the request is free: do not touch it.
 */
#ifndef RNULL_REQUEST_H
#define RNULL_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "rnull/export.h"
#include "rnull/io.h"

struct rnull_hctx;
struct rnull_rq;

/* State 2 -> 0: end the request with status (0 or -errno); the front end's
 * end_io runs in this thread, then the tag returns to the free pool. -EBUSY
 * if the refcount is not exactly 2 (references shared): nothing changed.
 * Caller: the holder of the only reference, any thread, no core lock held
 * (end_io may submit again). On 0 the request is the tag set's. */
RNULL_API int rnull_rq_end(struct rnull_rq *rq, int status);

/* Take one more reference: state >= 1 -> state + 1. Asserts not free.
 * Any thread that already holds a reference or owns the request (state 1);
 * lock-free. The new reference is the caller's to drop with rnull_rq_put. */
RNULL_API void rnull_rq_get(struct rnull_rq *rq);

/* Drop a reference: state >= 2 -> state - 1 (never reaches 0: end does).
 * Any thread, lock-free; the caller must not touch rq afterwards unless it
 * still owns it (state 1: e.g. a driver that lets the timeout path end it). */
RNULL_API void rnull_rq_put(struct rnull_rq *rq);

/* Current refcount (for tests and assertions): a snapshot, any thread. */
RNULL_API uint32_t rnull_rq_refcount(const struct rnull_rq *rq);

/* The "softirq": ops->complete(rq) runs at the hctx's next commit
 * (rnull_hctx_commit, after commit_rqs) or run, in submission order.
 * Hands the driver's reference to the core (file comment); any thread; may
 * call the kick (rnull_hctx_set_kick) from this thread. Cannot fail. */
RNULL_API void rnull_rq_complete(struct rnull_rq *rq);

/* The "timer": ops->complete(rq) runs at the first rnull_hctx_run at or
 * after when_ns (engine clock, e.g. rnull_rq_start_time(rq) + delay).
 * Hands the reference to the core; any thread; may kick. Cannot fail. */
RNULL_API void rnull_rq_complete_at(struct rnull_rq *rq, uint64_t when_ns);

/* Busy: dispatch the request again (ops->queue_rq) on the next run. Counted
 * in the requeues statistic. queue_rq may instead return RNULL_STS_RESOURCE,
 * which does the same. Hands the reference to the core; any thread. */
RNULL_API void rnull_rq_requeue(struct rnull_rq *rq);

/* Not before when_ns: dispatch the request again at the first run at or
 * after when_ns (a throttle's pacing, not a busy signal: not counted as a
 * requeue). Until then the request is not started: its timeout restarts
 * when it is dispatched again, as blk-mq starts the timer at dispatch. */
RNULL_API void rnull_rq_requeue_at(struct rnull_rq *rq, uint64_t when_ns);

/* What the driver reports with a successful end: RNULL_DONE_* flags (e.g.
 * RNULL_DONE_ZERO: a read found only zeros and did not write the buffer).
 * By the request's owner, before it ends or completes it. */
RNULL_API void rnull_rq_set_done_flags(struct rnull_rq *rq, uint32_t done_flags);

/* The I/O as submitted (op, flags, offset, len, buf); the cookie is the
 * front end's and the driver must leave it alone. The pointer is the core's,
 * valid while the caller holds a reference; buf is the front end's, valid
 * until the request ends. Accessors below: any thread holding a reference. */
RNULL_API const struct rnull_io *rnull_rq_io(const struct rnull_rq *rq);
/* The driver's private data: cmd_size bytes, zeroed once at set-up (not
 * per request: init it in queue_rq). NULL if cmd_size is 0. */
RNULL_API void *rnull_rq_pdu(struct rnull_rq *rq);
RNULL_API uint32_t rnull_rq_tag(const struct rnull_rq *rq);
RNULL_API struct rnull_hctx *rnull_rq_hctx(const struct rnull_rq *rq);
/* When the request was submitted (engine clock, ns). */
RNULL_API uint64_t rnull_rq_start_time(const struct rnull_rq *rq);
/* Has queue_rq seen this request before? true after rnull_rq_requeue,
 * rnull_rq_requeue_at or RNULL_STS_RESOURCE, until the request ends: a
 * driver prepares its PDU on the first dispatch only (blk-mq's
 * RQF_DONTPREP). */
RNULL_API bool rnull_rq_requeued(const struct rnull_rq *rq);

#endif
