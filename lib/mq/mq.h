/* Private to lib/mq: the disk and hardware queue structures of the blk-mq
 * core. Drivers and front ends see the opaque types and the calls of
 * include/rnull/; nothing here knows a driver (no store, fault, bad block,
 * completion mode or throttle: those are the null driver's, lib/null). */
#ifndef RNULL_MQ_H
#define RNULL_MQ_H

#include <pthread.h>
#include <stdatomic.h>

#include "heap.h"
#include "rnull/config.h"
#include "rnull/disk.h"
#include "rnull/hctx.h"
#include "rnull/ops.h"
#include "rnull/request.h"
#include "rnull/stats.h"
#include "rnull/tagset.h"
#include "rq.h"

/* One operation's live latency histogram (written under the hctx lock). */
struct rnull_hist_live {
  _Atomic uint64_t count, min, max;
  _Atomic uint64_t bucket[RNULL_HIST_BUCKETS];
};

/* The live counters of one hctx: one _Atomic field per RNULL_STATS_COUNTERS
 * entry, plus a latency histogram per operation. */
struct rnull_stats_live {
#define RNULL_STAT_LIVE(name, col, width) _Atomic uint64_t name;
  RNULL_STATS_COUNTERS(RNULL_STAT_LIVE)
#undef RNULL_STAT_LIVE
  _Atomic uint64_t busy_stamp; /* the last change of the in-flight count (busy_ns) */
  struct rnull_hist_live lat[RNULL_OP_MAX];
};

struct rnull_hctx {
  struct rnull_disk *disk;
  unsigned idx;
  pthread_mutex_t lock; /* free stack, lists, heap */
  pthread_cond_t tag_freed;
  unsigned tag_waiters;
  struct rnull_rq *rqs; /* queue_depth requests */
  unsigned depth;
  unsigned nr_free;
  struct rnull_rq *free_top;
  struct rnull_rq *inflight_head, *inflight_tail; /* by timeout deadline */
  struct rnull_rq *deferred_head, *deferred_tail; /* rnull_rq_complete'd */
  struct rnull_heap timers;                       /* by deadline */
  bool shutdown;
  struct rnull_stats_live stats;
  void *driver_data; /* the disk's, unless init_hctx set another */
  /* the front end's wake-up, or NULL; kick_lock pairs it with its ctx and
   * keeps a call in progress from outliving rnull_hctx_set_kick(NULL) */
  _Atomic(rnull_kick_fn) kick;
  void *kick_ctx;
  pthread_mutex_t kick_lock;
};

struct rnull_disk {
  struct rnull_disk_params params; /* the core parameters, nothing of a driver's */
  enum rnull_disk_state state;
  const struct rnull_ops *ops; /* NULL until a driver is attached */
  void *driver_data;
  unsigned features; /* RNULL_FEAT_*, declared by the driver */
  rnull_clock_fn clock;
  void *clock_ctx;
  rnull_end_io_fn end_io;
  struct rnull_hctx *hctxs;
  unsigned nr_hctx;
  void *pdus;                  /* all requests' PDUs, one allocation */
  _Atomic uint64_t timeout_ns; /* changes live (rnull_disk_set_timeout_ms) */
  _Atomic uint64_t fair_share; /* the driver's hint (rnull_disk_set_fair_share) */
};

static inline uint64_t disk_now(const struct rnull_disk *d) { return d->clock(d->clock_ctx); }

/* tagset.c: set up and tear down one hctx's requests; release a tag. */
int rnull_tagset_init(struct rnull_hctx *h, char *pdus, size_t cmd_size);
void rnull_tagset_exit(struct rnull_hctx *h);
void rnull_tag_put(struct rnull_rq *rq, int status, uint64_t now);

/* The timer heap of a hctx, lock held: add with what to do when due. */
static inline void hctx_timer_add(struct rnull_hctx *h, struct rnull_rq *rq, uint64_t when,
                                  enum rnull_timer_kind kind) {
  rq->timer_kind = (uint8_t)kind;
  rq->where = RQ_IN_HEAP;
  rnull_heap_push(&h->timers, rq, when);
}

static inline void hctx_timer_del(struct rnull_hctx *h, struct rnull_rq *rq) {
  rnull_heap_remove(&h->timers, rq);
  rq->where = RQ_WITH_DRIVER;
}

/* Wake the front end (no lock held) if first: the deadline moved earlier. */
static inline void hctx_kick(struct rnull_hctx *h, bool first) {
  if (!first || !atomic_load_explicit(&h->kick, memory_order_relaxed))
    return; /* the common case decided without the lock */
  pthread_mutex_lock(&h->kick_lock);
  rnull_kick_fn kick = atomic_load_explicit(&h->kick, memory_order_relaxed);
  if (kick)
    kick(h, h->kick_ctx);
  pthread_mutex_unlock(&h->kick_lock);
}

/* The in-flight (timeout) list, in dispatch order, lock held. A request
 * given back with rnull_rq_requeue_at is not started: like blk-mq, whose
 * timer starts at blk_mq_start_request, it is off the list until dispatched
 * again, so waiting (e.g. for a throttle's budget) never times it out. */
static inline bool rnull_inflight_member(const struct rnull_hctx *h, const struct rnull_rq *rq) {
  return rq->prev || h->inflight_head == rq;
}

static inline void rnull_inflight_remove(struct rnull_hctx *h, struct rnull_rq *rq) {
  if (rq->prev)
    rq->prev->next = rq->next;
  else
    h->inflight_head = rq->next;
  if (rq->next)
    rq->next->prev = rq->prev;
  else
    h->inflight_tail = rq->prev;
  rq->prev = rq->next = NULL;
}

static inline void rnull_inflight_append(struct rnull_hctx *h, struct rnull_rq *rq, uint64_t now) {
  rq->expires_ns = now + atomic_load_explicit(&h->disk->timeout_ns, memory_order_relaxed);
  rq->next = NULL;
  rq->prev = h->inflight_tail;
  if (h->inflight_tail)
    h->inflight_tail->next = rq;
  else
    h->inflight_head = rq;
  h->inflight_tail = rq;
}

/* stats.c */
void rnull_stats_account_end(struct rnull_hctx *h, const struct rnull_rq *rq, int status,
                             uint64_t now);
void rnull_stats_account_busy(struct rnull_hctx *h, uint64_t now, bool was_busy);

#endif
