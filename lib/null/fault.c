/* Fault injection with the kernel's should_fail() semantics (lib/fault-inject.c)
 * and a seeded xorshift PRNG so that runs are reproducible. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fault.h"

void rnull_fault_init(struct rnull_fault *f, const struct rnull_fault_attr *attr, uint64_t seed) {
  f->attr = *attr;
  atomic_init(&f->times, attr->times);
  atomic_init(&f->space, attr->space);
  atomic_init(&f->count, 0);
  atomic_init(&f->rng, seed ? seed : 0x9E3779B97F4A7C15ull);
}

/* xorshift64*, advanced atomically so concurrent callers draw distinct values. */
static uint32_t next_random(struct rnull_fault *f) {
  uint64_t x = atomic_load_explicit(&f->rng, memory_order_relaxed), y;
  do {
    y = x;
    y ^= y >> 12;
    y ^= y << 25;
    y ^= y >> 27;
  } while (!atomic_compare_exchange_weak_explicit(&f->rng, &x, y, memory_order_relaxed,
                                                  memory_order_relaxed));
  return (uint32_t)((y * 0x2545F4914F6CDD1Dull) >> 32);
}

bool rnull_fault_should_fail(struct rnull_fault *f, uint64_t size) {
  if (!f->attr.enabled || atomic_load(&f->times) == 0)
    return false;
  /* space: that many bytes pass before failures may start */
  int64_t space = atomic_load(&f->space);
  while (space > 0 && (uint64_t)space > size) {
    if (atomic_compare_exchange_weak(&f->space, &space, space - (int64_t)size))
      return false;
  }
  if (f->attr.interval > 1 && (atomic_fetch_add(&f->count, 1) + 1) % f->attr.interval)
    return false;
  if (f->attr.probability <= next_random(f) % 100)
    return false;
  /* times: decrement unless unlimited, and never below zero */
  int64_t t = atomic_load(&f->times);
  while (t != -1) {
    if (t == 0)
      return false;
    if (atomic_compare_exchange_weak(&f->times, &t, t - 1))
      break;
  }
  return true;
}

uint64_t rnull_fault_draw(struct rnull_fault *f) {
  return (uint64_t)next_random(f) << 32 | next_random(f);
}
