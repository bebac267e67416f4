/* Token bucket: tokens refill at rate bytes/s up to burst; a reservation may
 * drive the balance negative, and the request then waits until it is paid. */
#include "throttle.h"

void rnull_throttle_init_rate(struct rnull_throttle *t, uint64_t rate, uint64_t burst,
                              uint64_t now_ns) {
  pthread_mutex_init(&t->lock, NULL);
  t->rate = rate;
  t->burst = burst;
  t->tokens = (double)t->burst;
  t->last_ns = now_ns;
}

void rnull_throttle_init(struct rnull_throttle *t, uint64_t mbps, uint64_t now_ns) {
  uint64_t rate = mbps * 1024 * 1024;
  /* a burst of 1/10 s of budget (at least 1 MiB) keeps small requests smooth */
  rnull_throttle_init_rate(t, rate, rate / 10 > (1u << 20) ? rate / 10 : (1u << 20), now_ns);
}

void rnull_throttle_set_rate(struct rnull_throttle *t, uint64_t rate, uint64_t burst) {
  pthread_mutex_lock(&t->lock);
  t->rate = rate;
  t->burst = burst;
  if (t->tokens > (double)t->burst)
    t->tokens = (double)t->burst;
  pthread_mutex_unlock(&t->lock);
}

void rnull_throttle_set(struct rnull_throttle *t, uint64_t mbps) {
  uint64_t rate = mbps * 1024 * 1024;
  rnull_throttle_set_rate(t, rate, rate / 10 > (1u << 20) ? rate / 10 : (1u << 20));
}

void rnull_throttle_destroy(struct rnull_throttle *t) { pthread_mutex_destroy(&t->lock); }

uint64_t rnull_throttle_reserve(struct rnull_throttle *t, uint64_t bytes, uint64_t now_ns) {
  pthread_mutex_lock(&t->lock);
  if (t->rate == 0) {
    pthread_mutex_unlock(&t->lock);
    return now_ns;
  }
  if (now_ns > t->last_ns) {
    t->tokens += (double)(now_ns - t->last_ns) * (double)t->rate / 1e9;
    if (t->tokens > (double)t->burst)
      t->tokens = (double)t->burst;
    t->last_ns = now_ns;
  }
  t->tokens -= (double)bytes;
  uint64_t when = now_ns;
  if (t->tokens < 0)
    when = t->last_ns + (uint64_t)(-t->tokens * 1e9 / (double)t->rate);
  pthread_mutex_unlock(&t->lock);
  return when;
}
