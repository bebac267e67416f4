/* Front-end API (and driver accessors): a hardware queue. The front end submits here and drives its
 * completions. The engine owns no loop and no thread: the front end asks for the next deadline and
 * calls rnull_hctx_run when it is due (or after each batch).
 *
 * Ownership: an hctx belongs to its disk (rnull_disk_hctx), valid from rnull_disk_add until the
 * disk is destroyed; nobody frees it. Threads: any thread may make the calls below (those that need
 * it take the hctx's lock themselves), none holding a core lock; driver callbacks run in the
 * calling thread. */
#ifndef RNULL_HCTX_H
#define RNULL_HCTX_H

#include <stdbool.h>
#include <stdint.h>

#include "rnull/export.h"
#include "rnull/io.h"

struct rnull_hctx;
struct rnull_disk;

/* submit flags */
#define RNULL_SUBMIT_NOWAIT 0x1u /* no free tag: return -EAGAIN, don't wait */
#define RNULL_SUBMIT_LAST 0x2u   /* last of a batch (queue_rq's is_last) */

/* Validate io, take a tag, dispatch to the driver. Returns 0 when the I/O is
 * the engine's: end_io(cookie) will be (or already was) called exactly once.
 * Otherwise end_io is not called and the return says why: -EINVAL (unaligned,
 * too long, bad op), -ENOSPC (write past the end), -EPERM (read-only),
 * -ENOTSUP (op not offered), -EAGAIN (no tag, NOWAIT), -ESHUTDOWN.
 * io is copied (the caller may reuse it at once); io->buf and io->cookie
 * stay the caller's and must stay valid until end_io. Any thread; without
 * NOWAIT it may sleep for a tag; queue_rq runs in this thread. */
RNULL_API int rnull_submit(struct rnull_hctx *hctx, const struct rnull_io *io, unsigned flags);

/* End of a batch: calls the driver's commit_rqs, then runs the completions
 * the driver deferred (rnull_rq_complete). Returns how many requests ended.
 * From the thread that submitted the batch; end_io runs in it. */
RNULL_API unsigned rnull_hctx_commit(struct rnull_hctx *hctx);

/* Absolute engine-clock time of the next due work (timer completion,
 * throttled dispatch, requeue, timeout): 0 if something is due now,
 * RNULL_NO_DEADLINE if nothing is pending. Any thread; a snapshot. */
RNULL_API uint64_t rnull_hctx_next_deadline(struct rnull_hctx *hctx);

/* Run everything due at time now (engine clock): deferred completions,
 * requeued and throttled dispatches, timers, timeouts. Returns how many
 * completions and timeouts it ran; a request it dispatches is not counted,
 * even if the driver ends it at once (after queue_rq the engine may no
 * longer look at it). Safe to call from several threads. */
RNULL_API unsigned rnull_hctx_run(struct rnull_hctx *hctx, uint64_t now);

/* Cancel requests the driver is not working on: those waiting in the core
 * (a throttled or requeued dispatch, a timer completion) and those the driver
 * dropped its reference to (refcount 1, e.g. the timeout fault). Each whose
 * cookie satisfies match(cookie, arg) (match NULL: every one) is ended now
 * with status, as blk-mq's abort path ends a request: end_io is called, from
 * this thread. Requests inside the driver's queue_rq are left alone. Returns
 * how many were ended. For front ends: a closed connection's requests, and
 * a shutdown that may wait no longer. */
RNULL_API unsigned rnull_hctx_abort(struct rnull_hctx *hctx, bool (*match)(void *cookie, void *arg),
                                    void *arg, int status);

/* The engine clock of the hctx's disk (rnull_disk_set_clock). Any thread.
 * The accessors below: any thread, no lock; inflight is a snapshot. */
RNULL_API uint64_t rnull_hctx_now(struct rnull_hctx *hctx);

RNULL_API unsigned rnull_hctx_index(const struct rnull_hctx *hctx);
RNULL_API struct rnull_disk *rnull_hctx_disk(const struct rnull_hctx *hctx);
RNULL_API unsigned rnull_hctx_inflight(struct rnull_hctx *hctx);

/* The kick: called when work for hctx was queued that may make its next
 * deadline earlier (a completion deferred with rnull_rq_complete onto an
 * empty list, or a timer that became the first), from the thread that
 * queued it (a driver's worker thread, say), with no core lock held. A
 * front end whose loop sleeps until rnull_hctx_next_deadline wakes it here
 * (e.g. ev_async_send) and calls rnull_hctx_run; one that runs the hctx
 * after every batch may leave it unset. Set it before serving. */
typedef void (*rnull_kick_fn)(struct rnull_hctx *hctx, void *ctx);
RNULL_API void rnull_hctx_set_kick(struct rnull_hctx *hctx, rnull_kick_fn kick, void *ctx);

/* Reap a polled queue: the driver's ops->poll (how many ended), or 0
 * without one. From the front end's thread that drives the hctx. */
RNULL_API int rnull_hctx_poll(struct rnull_hctx *hctx);

/* For drivers: the hctx's private data (the disk's driver_data unless
 * init_hctx set another). The data stays the driver's (freed in exit_hctx
 * if it allocated it); set it in init_hctx, before requests arrive (plain
 * field, no lock). */
RNULL_API void *rnull_hctx_driver_data(const struct rnull_hctx *hctx);
RNULL_API void rnull_hctx_set_driver_data(struct rnull_hctx *hctx, void *data);

#endif
