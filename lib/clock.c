/* The default engine clock. */
#include <time.h>

#include "rnull/clock.h"

uint64_t rnull_clock_monotonic(void *ctx) {
  (void)ctx;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
