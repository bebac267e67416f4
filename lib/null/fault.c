/* Fault injection with the kernel's should_fail() semantics (lib/fault-inject.c)
 * and a seeded xorshift PRNG so that runs are reproducible. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "rnull/fault.h"

/* One decimal field ending at ',' (or at the end for the last one): digits
 * only, an optional '-' where allowed, no blanks, no overflow. */
static bool parse_field(const char **p, bool last, bool allow_minus, long long min,
                        unsigned long long max, long long *out) {
  const char *s = *p;
  bool neg = allow_minus && *s == '-';
  if (neg)
    s++;
  if (*s < '0' || *s > '9')
    return false;
  unsigned long long v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (max - (unsigned long long)(*s - '0')) / 10)
      return false; /* too big even before the sign */
    v = v * 10 + (unsigned long long)(*s - '0');
  }
  if (*s != (last ? '\0' : ','))
    return false;
  long long val = neg ? -(long long)v : (long long)v;
  if (val < min)
    return false;
  *out = val;
  *p = last ? s : s + 1;
  return true;
}

int rnull_fault_parse(const char *s, struct rnull_fault_attr *out, char *err, size_t errlen) {
  long long interval, prob, space, times;
  const char *p = s;
  if (!parse_field(&p, false, false, 0, INT64_MAX, &interval) ||
      !parse_field(&p, false, false, 0, 100, &prob) ||
      !parse_field(&p, false, false, 0, INT64_MAX, &space) ||
      !parse_field(&p, true, true, -1, INT64_MAX, &times)) {
    snprintf(err, errlen,
             "'%s': expected <interval>,<probability>,<space>,<times> with interval >= 0, "
             "probability 0..100, space >= 0, times >= -1 (-1 = unlimited)",
             s);
    return -EINVAL;
  }
  out->enabled = true;
  out->interval = (uint64_t)interval;
  out->probability = (unsigned)prob;
  out->space = space;
  out->times = times;
  return 0;
}

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
