/* The engine's notion of time: nanoseconds, monotonic. Tests replace the
 * clock of a disk to run timers, timeouts and throttling in virtual time. */
#ifndef RNULL_CLOCK_H
#define RNULL_CLOCK_H

#include <stdint.h>

#include "rnull/export.h"

#define RNULL_NO_DEADLINE UINT64_MAX

/* A clock: ns, never going back; called from any thread that uses the
 * disk (submission, run, the timeout path), so it must be thread-safe. ctx
 * is the one given with it (rnull_disk_set_clock) and stays its owner's. */
typedef uint64_t (*rnull_clock_fn)(void *ctx);

/* CLOCK_MONOTONIC in ns (vDSO, no syscall). ctx unused. Any thread; cannot
 * fail. */
RNULL_API uint64_t rnull_clock_monotonic(void *ctx);

#endif
