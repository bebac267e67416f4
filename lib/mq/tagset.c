/* The tag set of one hardware queue: its requests, allocated once, and a free
 * stack under the queue lock. Getting a tag on a full queue waits on a
 * condition variable (back-pressure) or returns -EAGAIN. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mq.h"

int rnull_tagset_init(struct rnull_hctx *h, char *pdus, size_t cmd_size) {
  h->rqs = calloc(h->depth, sizeof *h->rqs);
  if (!h->rqs || rnull_heap_init(&h->timers, h->depth) != 0)
    return -ENOMEM;
  h->free_top = NULL;
  for (unsigned i = h->depth; i-- > 0;) {
    struct rnull_rq *rq = &h->rqs[i];
    atomic_init(&rq->ref, 0);
    rq->tag = i;
    rq->hctx = h;
    rq->heap_idx = -1;
    rq->pdu = cmd_size ? pdus + (size_t)i * cmd_size : NULL;
    rq->next_free = h->free_top;
    h->free_top = rq;
  }
  h->nr_free = h->depth;
  return 0;
}

void rnull_tagset_exit(struct rnull_hctx *h) {
  free(h->rqs);
  h->rqs = NULL;
  rnull_heap_free(&h->timers);
}

int rnull_tag_get(struct rnull_hctx *h, bool nowait, struct rnull_rq **out) {
  struct rnull_disk *d = h->disk;
  pthread_mutex_lock(&h->lock);
  if (!h->free_top && !h->shutdown) {
    atomic_fetch_add_explicit(&h->stats.tag_waits, 1, memory_order_relaxed);
    if (nowait) {
      pthread_mutex_unlock(&h->lock);
      return -EAGAIN;
    }
    h->tag_waiters++;
    while (!h->free_top && !h->shutdown)
      pthread_cond_wait(&h->tag_freed, &h->lock);
    h->tag_waiters--;
  }
  if (h->shutdown) {
    pthread_mutex_unlock(&h->lock);
    return -ESHUTDOWN;
  }
  struct rnull_rq *rq = h->free_top;
  h->free_top = rq->next_free;
  h->nr_free--;
  /* state 0 -> 2: the submitter holds the one reference */
  atomic_store_explicit(&rq->ref, 2, memory_order_release);
  uint64_t now = disk_now(d);
  rnull_stats_account_busy(h, now, h->nr_free + 1 < h->depth);
  rq->start_ns = now;
  rq->done_flags = 0;
  rq->requeued = false;
  rq->where = RQ_WITH_DRIVER;
  /* a constant timeout keeps the in-flight list sorted by deadline */
  rnull_inflight_append(h, rq, now);
  atomic_fetch_add_explicit(&h->stats.submitted, 1, memory_order_relaxed);
  uint64_t inflight = h->depth - h->nr_free;
  atomic_store_explicit(&h->stats.inflight, inflight, memory_order_relaxed);
  if (inflight > atomic_load_explicit(&h->stats.inflight_hwm, memory_order_relaxed))
    atomic_store_explicit(&h->stats.inflight_hwm, inflight, memory_order_relaxed);
  pthread_mutex_unlock(&h->lock);
  *out = rq;
  return 0;
}

/* An ended request (state 0) goes back to the free stack. */
void rnull_tag_put(struct rnull_rq *rq, int status, uint64_t now) {
  struct rnull_hctx *h = rq->hctx;
  pthread_mutex_lock(&h->lock);
  if (rnull_inflight_member(h, rq)) /* not while given back with requeue_at */
    rnull_inflight_remove(h, rq);
  if (rq->heap_idx >= 0)
    hctx_timer_del(h, rq);
  rnull_stats_account_end(h, rq, status, now);
  rnull_stats_account_busy(h, now, true);
  rq->next_free = h->free_top;
  h->free_top = rq;
  h->nr_free++;
  atomic_store_explicit(&h->stats.inflight, h->depth - h->nr_free, memory_order_relaxed);
  if (h->tag_waiters)
    pthread_cond_signal(&h->tag_freed);
  pthread_mutex_unlock(&h->lock);
}

struct rnull_rq *rnull_tag_to_rq(struct rnull_hctx *h, uint32_t tag) {
  if (!h->rqs || tag >= h->depth)
    return NULL;
  struct rnull_rq *rq = &h->rqs[tag];
  /* increment only if not free: a concurrent end (2 -> 0) makes this fail */
  uint32_t ref = atomic_load_explicit(&rq->ref, memory_order_acquire);
  do {
    if (ref == 0)
      return NULL;
  } while (!atomic_compare_exchange_weak_explicit(&rq->ref, &ref, ref + 1, memory_order_acq_rel,
                                                  memory_order_acquire));
  return rq;
}

unsigned rnull_tags_free(struct rnull_hctx *h) {
  pthread_mutex_lock(&h->lock);
  unsigned n = h->nr_free;
  pthread_mutex_unlock(&h->lock);
  return n;
}
