/* The request lifecycle: refcount transitions, the hand-offs to the
 * completion and requeue paths, and the accessors a driver reads a request
 * through. See the state table in include/rnull/request.h. */
#include <assert.h>
#include <errno.h>

#include "mq.h"

int rnull_rq_end(struct rnull_rq *rq, int status) {
  uint32_t expected = 2;
  /* only the holder of the one reference may end: 2 -> 0 or nothing */
  if (!atomic_compare_exchange_strong_explicit(&rq->ref, &expected, 0, memory_order_acq_rel,
                                               memory_order_acquire))
    return -EBUSY;
  struct rnull_hctx *h = rq->hctx;
  struct rnull_disk *d = h->disk;
  /* copy what end_io needs: once the tag is back, another thread may reuse it */
  void *cookie = rq->io.cookie;
  uint32_t done_flags = status ? 0 : rq->done_flags;
  rnull_tag_put(rq, status, disk_now(d));
  d->end_io(cookie, status, done_flags);
  return 0;
}

void rnull_rq_get(struct rnull_rq *rq) {
  uint32_t old = atomic_fetch_add_explicit(&rq->ref, 1, memory_order_relaxed);
  assert(old >= 1 && "reference taken on a free request");
  (void)old;
}

void rnull_rq_put(struct rnull_rq *rq) {
  uint32_t old = atomic_fetch_sub_explicit(&rq->ref, 1, memory_order_release);
  assert(old >= 2 && "last reference dropped without end");
  (void)old;
}

uint32_t rnull_rq_refcount(const struct rnull_rq *rq) {
  return atomic_load_explicit(&rq->ref, memory_order_acquire);
}

void rnull_rq_complete(struct rnull_rq *rq) {
  struct rnull_hctx *h = rq->hctx;
  pthread_mutex_lock(&h->lock);
  bool first = !h->deferred_head;
  rq->where = RQ_DEFERRED;
  rq->next_free = NULL;
  if (h->deferred_tail)
    h->deferred_tail->next_free = rq;
  else
    h->deferred_head = rq;
  h->deferred_tail = rq;
  pthread_mutex_unlock(&h->lock);
  hctx_kick(h, first);
}

void rnull_rq_complete_at(struct rnull_rq *rq, uint64_t when_ns) {
  struct rnull_hctx *h = rq->hctx;
  pthread_mutex_lock(&h->lock);
  hctx_timer_add(h, rq, when_ns, TIMER_COMPLETE);
  bool first = rnull_heap_top(&h->timers) == rq;
  pthread_mutex_unlock(&h->lock);
  hctx_kick(h, first);
}

void rnull_rq_requeue(struct rnull_rq *rq) {
  struct rnull_hctx *h = rq->hctx;
  pthread_mutex_lock(&h->lock);
  atomic_fetch_add_explicit(&h->stats.requeues, 1, memory_order_relaxed);
  rq->requeued = true;
  hctx_timer_add(h, rq, disk_now(h->disk), TIMER_DISPATCH);
  bool first = rnull_heap_top(&h->timers) == rq;
  pthread_mutex_unlock(&h->lock);
  hctx_kick(h, first);
}

void rnull_rq_requeue_at(struct rnull_rq *rq, uint64_t when_ns) {
  struct rnull_hctx *h = rq->hctx;
  pthread_mutex_lock(&h->lock);
  if (rnull_inflight_member(h, rq)) /* not started until dispatched again */
    rnull_inflight_remove(h, rq);
  rq->requeued = true;
  hctx_timer_add(h, rq, when_ns, TIMER_DISPATCH);
  bool first = rnull_heap_top(&h->timers) == rq;
  pthread_mutex_unlock(&h->lock);
  hctx_kick(h, first);
}

void rnull_rq_set_done_flags(struct rnull_rq *rq, uint32_t done_flags) {
  rq->done_flags = done_flags;
}
const struct rnull_io *rnull_rq_io(const struct rnull_rq *rq) { return &rq->io; }
void *rnull_rq_pdu(struct rnull_rq *rq) { return rq->pdu; }
uint32_t rnull_rq_tag(const struct rnull_rq *rq) { return rq->tag; }
struct rnull_hctx *rnull_rq_hctx(const struct rnull_rq *rq) {
  return rq->hctx;
}
uint64_t rnull_rq_start_time(const struct rnull_rq *rq) { return rq->start_ns; }
bool rnull_rq_requeued(const struct rnull_rq *rq) { return rq->requeued; }
