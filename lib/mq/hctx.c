/* A hardware queue's submission and completion driving: dispatch to the
 * driver, the timer heap (timer completions, requeued and delayed
 * dispatches), the deferred (softirq) list and the timeout scan. */
#include <assert.h>
#include <errno.h>
#include <sched.h>

#include "mq.h"

/* ---- submission ---- */

/* Hand one request to the driver (submit, or a due requeue). */
static void dispatch(struct rnull_rq *rq, bool is_last) {
  struct rnull_disk *d = rq->hctx->disk;
  int r = d->ops->queue_rq(rq, is_last);
  if (r == 0)
    return;
  if (r == RNULL_STS_RESOURCE) {
    rnull_rq_requeue(rq);
    return;
  }
  /* the driver refused it: the core still holds the reference, end it */
  int e = rnull_rq_end(rq, r < 0 ? r : -EIO);
  assert(e == 0);
  (void)e;
}

int rnull_submit(struct rnull_hctx *h, const struct rnull_io *io, unsigned flags) {
  int r = rnull_disk_check_io(h->disk, io);
  if (r)
    return r;
  struct rnull_rq *rq;
  r = rnull_tag_get(h, flags & RNULL_SUBMIT_NOWAIT, &rq);
  if (r)
    return r;
  rq->io = *io;
  dispatch(rq, flags & RNULL_SUBMIT_LAST);
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
    if (h->timers.n)
      dl = rnull_heap_top(&h->timers)->deadline_ns;
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
  if (h->timers.n && rnull_heap_top(&h->timers)->deadline_ns <= now) {
    rq = rnull_heap_top(&h->timers);
    hctx_timer_del(h, rq);
    if (rq->timer_kind == TIMER_DISPATCH && !rnull_inflight_member(h, rq))
      rnull_inflight_append(h, rq, now); /* given back with requeue_at: starts now */
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
      hctx_timer_del(h, rq); /* its completion timer must never fire */
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
      dispatch(rq, false);
      dispatched = true;
    }
  }
  if (dispatched && d->ops->commit_rqs)
    d->ops->commit_rqs(h);
  n += run_deferred(h);
  n += run_timeouts(h, now);
  return n;
}

/* ---- abort ---- */

/* Take a reference on the next request abort may end, or NULL: one in the
 * timer heap (its reference is the heap's: ref 2), or one the driver dropped
 * (ref 1: we take the one reference end needs). */
static struct rnull_rq *grab_abortable(struct rnull_hctx *h, bool (*match)(void *, void *),
                                       void *arg) {
  struct rnull_rq *found = NULL;
  pthread_mutex_lock(&h->lock);
  for (unsigned i = 0; i < h->timers.n && !found; i++) {
    struct rnull_rq *rq = h->timers.v[i];
    if (!match || match(rq->io.cookie, arg)) {
      hctx_timer_del(h, rq);
      found = rq;
    }
  }
  for (struct rnull_rq *rq = h->inflight_head; rq && !found; rq = rq->next) {
    uint32_t one = 1;
    if (rq->where == RQ_WITH_DRIVER && (!match || match(rq->io.cookie, arg)) &&
        atomic_compare_exchange_strong(&rq->ref, &one, 2))
      found = rq;
  }
  pthread_mutex_unlock(&h->lock);
  return found;
}

unsigned rnull_hctx_abort(struct rnull_hctx *h, bool (*match)(void *cookie, void *arg), void *arg,
                          int status) {
  unsigned n = 0;
  struct rnull_rq *rq;
  /* bounded: each pass ends one of at most depth requests */
  for (unsigned budget = h->depth; budget && (rq = grab_abortable(h, match, arg)); budget--) {
    /* a peeker (tag_to_rq) only looks and lets go: wait for it */
    while (rnull_rq_end(rq, status) == -EBUSY)
      sched_yield();
    n++;
  }
  return n;
}

int rnull_hctx_poll(struct rnull_hctx *h) { return h->disk->ops->poll ? h->disk->ops->poll(h) : 0; }

uint64_t rnull_hctx_now(struct rnull_hctx *h) { return disk_now(h->disk); }
void *rnull_hctx_driver_data(const struct rnull_hctx *h) { return h->driver_data; }
/* Under kick_lock: once this returns, no call of the old kick is running. */
void rnull_hctx_set_kick(struct rnull_hctx *h, rnull_kick_fn kick, void *ctx) {
  pthread_mutex_lock(&h->kick_lock);
  h->kick_ctx = ctx;
  atomic_store_explicit(&h->kick, kick, memory_order_relaxed);
  pthread_mutex_unlock(&h->kick_lock);
}
void rnull_hctx_set_driver_data(struct rnull_hctx *h, void *data) { h->driver_data = data; }
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
