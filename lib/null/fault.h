/* Private to lib/null. Fault injection, the kernel's fault_attr with null_blk's text format
 * "<interval>,<probability>,<space>,<times>" (lib/fault-inject.c semantics):
 *  - times: failures left, -1 unlimited; 0 never fails;
 *  - space: budget that calls use up (each by its size) before failing
 *    starts; the null driver passes size 1 per request, as null_blk does;
 *  - interval: only every interval-th eligible call may fail;
 *  - probability: percent (0..100) of eligible calls that fail.
 * Decisions draw from a seeded PRNG (xorshift), so a fixed fault_seed gives
 * the same sequence of failures on every run. Thread-safe (atomics).
 */
#ifndef RNULL_FAULT_H
#define RNULL_FAULT_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnull/config.h"

/* Live state of one fault attribute. */
struct rnull_fault {
  struct rnull_fault_attr attr;
  _Atomic int64_t times;
  _Atomic int64_t space;
  _Atomic uint64_t count;
  _Atomic uint64_t rng;
};

void rnull_fault_init(struct rnull_fault *f, const struct rnull_fault_attr *attr, uint64_t seed);

/* Should this call (of size bytes) fail? Never fails when not enabled. */
bool rnull_fault_should_fail(struct rnull_fault *f, uint64_t size);

/* The same, with the common case (no fault configured) decided inline: the
 * per-request path pays one test, not a call. */
static inline bool rnull_fault_hit(struct rnull_fault *f, uint64_t size) {
  return f->attr.enabled && rnull_fault_should_fail(f, size);
}

/* A seeded draw from the fault's own sequence (what a fired fault does:
 * which bit to flip). */
uint64_t rnull_fault_draw(struct rnull_fault *f);

/* Does a request of len bytes at off touch the fault's sector range? Every
 * request does when the fault has none; one moving no sector (a flush)
 * touches no range. */
static inline bool rnull_fault_touches(const struct rnull_fault_attr *a, uint64_t off,
                                       uint64_t len) {
  if (!a->ranged)
    return true;
  return len && off >> 9 <= a->end && (off + len - 1) >> 9 >= a->start;
}

/* rnull_fault_hit for one request (weighing 1, as null_blk passes it):
 * only requests touching the range count towards space, interval, times. */
static inline bool rnull_fault_hit_io(struct rnull_fault *f, uint64_t off, uint64_t len) {
  return f->attr.enabled && rnull_fault_touches(&f->attr, off, len) &&
         rnull_fault_should_fail(f, 1);
}

/* The status a fired error fault ends a request with. */
static inline int rnull_fault_status(const struct rnull_fault *f) {
  return f->attr.error ? -f->attr.error : -EIO;
}

#endif
