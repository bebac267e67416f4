/* The timer heap: a binary min-heap on deadline_ns, each request knowing
 * its index so it can be removed from the middle (timeout, early end). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "heap.h"

int rnull_heap_init(struct rnull_heap *hp, unsigned cap) {
  hp->v = calloc(cap, sizeof *hp->v);
  hp->n = 0;
  hp->cap = cap;
  return hp->v ? 0 : -ENOMEM;
}

void rnull_heap_free(struct rnull_heap *hp) {
  free(hp->v);
  hp->v = NULL;
  hp->n = hp->cap = 0;
}

static void heap_set(struct rnull_heap *hp, unsigned i, struct rnull_rq *rq) {
  hp->v[i] = rq;
  rq->heap_idx = (int32_t)i;
}

static void heap_up(struct rnull_heap *hp, unsigned i) {
  struct rnull_rq *rq = hp->v[i];
  while (i > 0) {
    unsigned parent = (i - 1) / 2;
    if (hp->v[parent]->deadline_ns <= rq->deadline_ns)
      break;
    heap_set(hp, i, hp->v[parent]);
    i = parent;
  }
  heap_set(hp, i, rq);
}

static void heap_down(struct rnull_heap *hp, unsigned i) {
  struct rnull_rq *rq = hp->v[i];
  for (;;) {
    unsigned c = 2 * i + 1;
    if (c >= hp->n)
      break;
    if (c + 1 < hp->n && hp->v[c + 1]->deadline_ns < hp->v[c]->deadline_ns)
      c++;
    if (rq->deadline_ns <= hp->v[c]->deadline_ns)
      break;
    heap_set(hp, i, hp->v[c]);
    i = c;
  }
  heap_set(hp, i, rq);
}

void rnull_heap_push(struct rnull_heap *hp, struct rnull_rq *rq, uint64_t when) {
  assert(rq->heap_idx < 0 && hp->n < hp->cap);
  rq->deadline_ns = when;
  heap_set(hp, hp->n++, rq);
  heap_up(hp, hp->n - 1);
}

void rnull_heap_remove(struct rnull_heap *hp, struct rnull_rq *rq) {
  unsigned i = (unsigned)rq->heap_idx;
  assert(rq->heap_idx >= 0 && hp->v[i] == rq);
  rq->heap_idx = -1;
  struct rnull_rq *last = hp->v[--hp->n];
  if (last == rq)
    return;
  heap_set(hp, i, last);
  heap_down(hp, i);
  heap_up(hp, (unsigned)last->heap_idx);
}
