/* A hardware queue's submission and completion driving: dispatch to the
 * driver, the timer heap (timer completions, requeues, throttled
 * dispatches), the deferred (softirq) list and the timeout scan. */
#include <assert.h>
#include <errno.h>

#include "mq.h"

/* ---- timer heap: binary min-heap on deadline_ns, lock held ---- */

static void heap_set(struct rnull_hctx *h, unsigned i, struct rnull_rq *rq) {
  h->heap[i] = rq;
  rq->heap_idx = (int32_t)i;
}

static void heap_up(struct rnull_hctx *h, unsigned i) {
  struct rnull_rq *rq = h->heap[i];
  while (i > 0) {
    unsigned parent = (i - 1) / 2;
    if (h->heap[parent]->deadline_ns <= rq->deadline_ns)
      break;
    heap_set(h, i, h->heap[parent]);
    i = parent;
  }
  heap_set(h, i, rq);
}

static void heap_down(struct rnull_hctx *h, unsigned i) {
  struct rnull_rq *rq = h->heap[i];
  for (;;) {
    unsigned c = 2 * i + 1;
    if (c >= h->heap_n)
      break;
    if (c + 1 < h->heap_n && h->heap[c + 1]->deadline_ns < h->heap[c]->deadline_ns)
      c++;
    if (rq->deadline_ns <= h->heap[c]->deadline_ns)
      break;
    heap_set(h, i, h->heap[c]);
    i = c;
  }
  heap_set(h, i, rq);
}

void rnull_heap_push(struct rnull_hctx *h, struct rnull_rq *rq, uint64_t when, int kind) {
  assert(rq->heap_idx < 0 && h->heap_n < h->depth);
  rq->deadline_ns = when;
  rq->timer_kind = (uint8_t)kind;
  rq->where = RQ_IN_HEAP;
  heap_set(h, h->heap_n++, rq);
  heap_up(h, h->heap_n - 1);
}

void rnull_heap_remove(struct rnull_hctx *h, struct rnull_rq *rq) {
  unsigned i = (unsigned)rq->heap_idx;
  assert(rq->heap_idx >= 0 && h->heap[i] == rq);
  rq->heap_idx = -1;
  rq->where = RQ_WITH_DRIVER;
  struct rnull_rq *last = h->heap[--h->heap_n];
  if (last == rq)
    return;
  heap_set(h, i, last);
  heap_down(h, i);
  heap_up(h, (unsigned)last->heap_idx);
}

/* ---- submission ---- */

void rnull_hctx_dispatch(struct rnull_rq *rq, bool is_last) {
  struct rnull_disk *d = rq->hctx->disk;
  int r = d->ops->queue_rq(rq, is_last);
  if (r == 0)
    return;
  if (r == RNULL_STS_RESOURCE) {
    rnull_rq_requeue(rq);
    return;
  }
  /* the driver refused it: the engine still holds the reference, end it */
  int e = rnull_rq_end(rq, r < 0 ? r : -EIO);
  assert(e == 0);
  (void)e;
}

static bool throttled(const struct rnull_disk *d, const struct rnull_io *io) {
  return d->cfg.mbps && (io->op == RNULL_OP_READ || io->op == RNULL_OP_WRITE);
}

int rnull_submit(struct rnull_hctx *h, const struct rnull_io *io, unsigned flags) {
  struct rnull_disk *d = h->disk;
  int r = rnull_disk_check_io(d, io);
  if (r)
    return r;
  struct rnull_rq *rq;
  r = rnull_tag_get(h, flags & RNULL_SUBMIT_NOWAIT, &rq);
  if (r)
    return r;
  rq->io = *io;
  if (throttled(d, io)) {
    uint64_t when = rnull_throttle_reserve(&d->throttle, io->len, rq->start_ns);
    if (when > rq->start_ns) {
      pthread_mutex_lock(&h->lock);
      rnull_inflight_remove(h, rq);
      rnull_heap_push(h, rq, when, TIMER_DISPATCH);
      pthread_mutex_unlock(&h->lock);
      return 0;
    }
  }
  rnull_hctx_dispatch(rq, flags & RNULL_SUBMIT_LAST);
  return 0;
}

/* ---- completion driving ---- */

static unsigned run_deferred(struct rnull_hctx *h) {
  pthread_mutex_lock(&h->lock);
  struct rnull_rq *rq = h->deferred_head;
  h->deferred_head = h->deferred_tail = NULL;
  for (struct rnull_rq *p = rq; p; p = p->next_free)
    p->where = RQ_WITH_DRIVER;
  pthread_mutex_unlock(&h->lock);
  unsigned n = 0;
  while (rq) {
    struct rnull_rq *next = rq->next_free; /* read before the tag is reused */
    h->disk->ops->complete(rq);
    rq = next;
    n++;
  }
  return n;
}

unsigned rnull_hctx_commit(struct rnull_hctx *h) {
  struct rnull_disk *d = h->disk;
  if (d->ops->commit_rqs)
    d->ops->commit_rqs(h);
  return run_deferred(h);
}

uint64_t rnull_hctx_next_deadline(struct rnull_hctx *h) {
  pthread_mutex_lock(&h->lock);
  uint64_t dl = RNULL_NO_DEADLINE;
  if (h->deferred_head)
    dl = 0;
  else {
    if (h->heap_n)
      dl = h->heap[0]->deadline_ns;
    if (h->inflight_head && h->inflight_head->expires_ns < dl)
      dl = h->inflight_head->expires_ns;
  }
  pthread_mutex_unlock(&h->lock);
  return dl;
}

/* Pop one due timer, or NULL. */
static struct rnull_rq *pop_due_timer(struct rnull_hctx *h, uint64_t now) {
  struct rnull_rq *rq = NULL;
  pthread_mutex_lock(&h->lock);
  if (h->heap_n && h->heap[0]->deadline_ns <= now) {
    rq = h->heap[0];
    rnull_heap_remove(h, rq);
    if (rq->timer_kind == TIMER_DISPATCH && !rnull_inflight_member(h, rq))
      rnull_inflight_append(h, rq, now); /* released by the throttle: starts now */
  }
  pthread_mutex_unlock(&h->lock);
  return rq;
}

/* Take a reference on the first expired in-flight request, or NULL. It is
 * moved to the tail with a fresh deadline, so a request that cannot be ended
 * now is looked at again one timeout later, not in a loop. */
static struct rnull_rq *grab_expired(struct rnull_hctx *h, uint64_t now, bool *was_timer) {
  struct rnull_rq *found = NULL;
  pthread_mutex_lock(&h->lock);
  for (struct rnull_rq *rq = h->inflight_head; rq && rq->expires_ns <= now; rq = rq->next) {
    uint32_t ref = atomic_load(&rq->ref);
    if (ref == 0 || rq->where == RQ_DEFERRED)
      continue; /* being ended right now, or about to complete */
    if (!atomic_compare_exchange_strong(&rq->ref, &ref, ref + 1))
      continue;
    *was_timer = rq->heap_idx >= 0;
    if (*was_timer)
      rnull_heap_remove(h, rq); /* its completion timer must never fire */
    /* move to the tail with a new deadline */
    rnull_inflight_remove(h, rq);
    rnull_inflight_append(h, rq, now);
    found = rq;
    break;
  }
  pthread_mutex_unlock(&h->lock);
  return found;
}

static unsigned run_timeouts(struct rnull_hctx *h, uint64_t now) {
  struct rnull_disk *d = h->disk;
  unsigned n = 0, budget = h->depth;
  bool was_timer;
  struct rnull_rq *rq;
  while (budget-- && (rq = grab_expired(h, now, &was_timer))) {
    if (was_timer)
      rnull_rq_put(rq); /* the heap's reference */
    atomic_fetch_add_explicit(&h->stats.timeouts, 1, memory_order_relaxed);
    /* we hold a reference: the handler ends it only if ours is the only one */
    enum rnull_timeout_ret ret = RNULL_EH_RESET_TIMER;
    if (d->ops->timeout)
      ret = d->ops->timeout(rq);
    else if (rnull_rq_end(rq, -ETIMEDOUT) == 0)
      ret = RNULL_EH_DONE;
    if (ret == RNULL_EH_DONE) {
      n++;
      continue;
    }
    rnull_rq_put(rq);
  }
  return n;
}

unsigned rnull_hctx_run(struct rnull_hctx *h, uint64_t now) {
  struct rnull_disk *d = h->disk;
  unsigned n = run_deferred(h);
  struct rnull_rq *rq;
  bool dispatched = false;
  /* bounded: a driver that keeps requeueing cannot spin us forever */
  for (unsigned budget = 2 * h->depth; budget && (rq = pop_due_timer(h, now)); budget--) {
    if (rq->timer_kind == TIMER_COMPLETE) {
      d->ops->complete(rq);
      n++;
    } else {
      rnull_hctx_dispatch(rq, false);
      dispatched = true;
    }
  }
  if (dispatched && d->ops->commit_rqs)
    d->ops->commit_rqs(h);
  n += run_deferred(h);
  n += run_timeouts(h, now);
  return n;
}

uint64_t rnull_hctx_now(struct rnull_hctx *h) { return disk_now(h->disk); }
unsigned rnull_hctx_index(const struct rnull_hctx *h) { return h->idx; }
struct rnull_disk *rnull_hctx_disk(const struct rnull_hctx *h) {
  return h->disk;
}

unsigned rnull_hctx_inflight(struct rnull_hctx *h) {
  pthread_mutex_lock(&h->lock);
  unsigned n = h->depth - h->nr_free;
  pthread_mutex_unlock(&h->lock);
  return n;
}
