/* Throughput limit (null_blk's mbps) and request rate limit (iops): a
 * token bucket per disk. A request
 * reserves its bytes; if the bucket is short it is told when it may go, and
 * the engine holds it until then: requests wait, they are not failed. Time is
 * passed in, so tests run in virtual time. Thread-safe. */
#ifndef RNULL_THROTTLE_H
#define RNULL_THROTTLE_H

#include <pthread.h>
#include <stdint.h>

struct rnull_throttle {
  pthread_mutex_t lock;
  uint64_t rate;  /* bytes per second, 0 = unlimited */
  uint64_t burst; /* bucket size in bytes */
  double tokens;  /* may go negative: reserved budget */
  uint64_t last_ns;
};

void rnull_throttle_init(struct rnull_throttle *t, uint64_t mbps, uint64_t now_ns);
/* The same bucket counting any unit (iops: requests) at rate per second. */
void rnull_throttle_init_rate(struct rnull_throttle *t, uint64_t rate, uint64_t burst,
                              uint64_t now_ns);
void rnull_throttle_destroy(struct rnull_throttle *t);

/* Change the rate live (mbps, 0 = unlimited); reservations made so far stand. */
/* Change rate (per second) and burst while serving (the iops bucket). */
void rnull_throttle_set_rate(struct rnull_throttle *t, uint64_t rate, uint64_t burst);
void rnull_throttle_set(struct rnull_throttle *t, uint64_t mbps);

/* Reserve bytes at now_ns; returns when the request may be dispatched
 * (now_ns if the budget was there). */
uint64_t rnull_throttle_reserve(struct rnull_throttle *t, uint64_t bytes, uint64_t now_ns);

#endif
