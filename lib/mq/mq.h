/* Private to lib/mq: the disk and hardware queue structures. Front ends only
 * see the opaque types and the functions of include/rnull/. */
#ifndef RNULL_ENGINE_H
#define RNULL_ENGINE_H

#include <pthread.h>

#include "rnull/badblocks.h"
#include "rnull/disk.h"
#include "rnull/fault.h"
#include "rnull/hctx.h"
#include "rnull/ops.h"
#include "rnull/request.h"
#include "rnull/stats.h"
#include "rnull/store.h"
#include "rnull/tagset.h"
#include "rnull/throttle.h"

/* Where a request sits inside the engine, besides the in-flight list. */
enum rnull_rq_where { RQ_WITH_DRIVER, RQ_IN_HEAP, RQ_DEFERRED };
/* What a heap entry does when due. */
enum rnull_timer_kind { TIMER_COMPLETE, TIMER_DISPATCH };

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
  struct rnull_rq *deferred_head, *deferred_tail; /* softirq completions */
  struct rnull_rq **heap;                         /* timers, by deadline */
  unsigned heap_n;
  bool shutdown;
  struct rnull_stats_live stats;
  void *driver_data; /* for init_hctx users */
};

struct rnull_disk {
  struct rnull_config cfg;
  enum rnull_disk_state state;
  const struct rnull_ops *ops;
  void *driver_data;
  rnull_clock_fn clock;
  void *clock_ctx;
  rnull_end_io_fn end_io;
  struct rnull_store *store;
  struct rnull_fault timeout_fault, requeue_fault, error_fault;
  struct rnull_badblocks badblocks;
  struct rnull_throttle throttle;
  struct rnull_hctx *hctxs;
  unsigned nr_hctx;
  void *pdus; /* all requests' PDUs, one allocation */
  uint64_t timeout_ns;
};

static inline uint64_t disk_now(const struct rnull_disk *d) { return d->clock(d->clock_ctx); }

/* hctx.c: dispatch one request to the driver (used by submit and run). */
void rnull_hctx_dispatch(struct rnull_rq *rq, bool is_last);
/* hctx.c: heap of timers, lock held. */
void rnull_heap_push(struct rnull_hctx *h, struct rnull_rq *rq, uint64_t when, int kind);
void rnull_heap_remove(struct rnull_hctx *h, struct rnull_rq *rq);
/* tagset.c: set up and tear down one hctx's requests; release a tag. */
int rnull_tagset_init(struct rnull_hctx *h, char *pdus, size_t cmd_size);
void rnull_tagset_exit(struct rnull_hctx *h);
void rnull_tag_put(struct rnull_rq *rq, int status, uint64_t now);
/* The in-flight (timeout) list, in dispatch order, lock held. A request held
 * by the throttle is not started: like blk-mq, whose timer starts at
 * blk_mq_start_request, it is off the list until dispatched, so waiting for
 * budget never times it out. */
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
  rq->expires_ns = now + h->disk->timeout_ns;
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

#endif
