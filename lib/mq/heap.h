/* Private to lib/mq: a binary min-heap of requests on their deadline_ns, the
 * timers of one hctx (timer completions, requeued and delayed dispatches).
 * Not thread-safe: the hctx lock is held around every call. */
#ifndef RNULL_MQ_HEAP_H
#define RNULL_MQ_HEAP_H

#include <stdint.h>

#include "rq.h"

struct rnull_heap {
  struct rnull_rq **v;
  unsigned n, cap;
};

/* 0 or -ENOMEM. */
int rnull_heap_init(struct rnull_heap *hp, unsigned cap);
void rnull_heap_free(struct rnull_heap *hp);

/* Insert rq (not in the heap) due at when; sets rq->deadline_ns. */
void rnull_heap_push(struct rnull_heap *hp, struct rnull_rq *rq, uint64_t when);
/* Remove rq (in the heap) from wherever it is. */
void rnull_heap_remove(struct rnull_heap *hp, struct rnull_rq *rq);

static inline struct rnull_rq *rnull_heap_top(const struct rnull_heap *hp) {
  return hp->n ? hp->v[0] : 0;
}

#endif
