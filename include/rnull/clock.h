/* The engine's notion of time: nanoseconds, monotonic. Tests replace the
 * clock of a disk to run timers, timeouts and throttling in virtual time. */
#ifndef RNULL_CLOCK_H
#define RNULL_CLOCK_H

#include <stdint.h>

#include "rnull/export.h"

#define RNULL_NO_DEADLINE UINT64_MAX

typedef uint64_t (*rnull_clock_fn)(void *ctx);

/* CLOCK_MONOTONIC in ns (vDSO, no syscall). ctx unused. */
RNULL_API uint64_t rnull_clock_monotonic(void *ctx);

#endif
