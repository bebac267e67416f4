/* Shared by the feature tests: start a front end serving the rnull disk with
 * the given keys (via the integration harness), connect with base:allocation
 * and strict mode off, and tear everything down again, whatever happened.
 *
 * The front end is `nbdkit rnull.so` unless RNULL_FEATURE_SERVER is set
 * (CTest sets it to the rnull-server binary): then rnull-server serves (same
 * keys; nbdkit options, the arguments starting with '-', are left out). The
 * argv is frontend.h's. */
#ifndef RNULL_FEATURE_SERVER_H
#define RNULL_FEATURE_SERVER_H

#include <stdint.h>

#include "expect.h"
#include "plugin_server.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define TiB (1024ull * GiB)

/* EXPECT_EQ_INT of expect.h evaluates its arguments twice: this one once
 * (its arguments may send requests or wait). */
#define FEXPECT_EQ(a, b)                                                                           \
  feature_expect_eq((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
bool feature_expect_eq(long long a, long long b, const char *file, int line, const char *sa,
                       const char *sb);

/* Which front end serves: "nbdkit" or "rnull-server". */
const char *feature_frontend(void);

/* The argv that serves args on sock (NULL: no socket, e.g. for --help),
 * with the wrapper words first (NULL: none). argv has PLUGIN_MAX_ARGS.
 * Returns argc, or -1 (message printed). */
int feature_argv(const char **argv, const char *sock, const char *const *args,
                 const char *const *wrapper);

/* Start the front end under h (already initialized), wrapped (may be NULL),
 * and wait for its socket. 0 or -1. */
int feature_serve(struct harness *h, const char *const *args, const char *const *wrapper);

/* Run the front end with args to completion (e.g. a refused key): its wait
 * status; *out gets its output (malloc'd, "" if none). */
int feature_run(const char *const *args, char **out);

/* harness_init + start nbdkit (args as plugin_start: "-..." are nbdkit
 * options, the rest plugin keys; NULL-terminated) + connect. NULL on
 * failure (already reported as a failed expectation; h cleaned up). */
struct nbd_handle *feature_open(struct harness *h, const char *const *args);

/* The same on a harness already initialized (to put files in h->dir). */
struct nbd_handle *feature_start(struct harness *h, const char *const *args);

/* Shut the connection down, stop nbdkit (expecting a clean exit), print
 * its log if any expectation failed so far, remove the temp dir. */
void feature_close(struct harness *h, struct nbd_handle *nbd);

/* base:allocation extents from offset, up to max entries: lengths and
 * flags (LIBNBD_STATE_*). Returns the number of entries, -1 on error. */
struct extent {
  uint64_t len;
  uint32_t flags;
};
int feature_extents(struct nbd_handle *nbd, uint64_t offset, uint64_t count, struct extent *out,
                    int max);

/* A counter of the "total" object in a stats_file, or -1 if unreadable. */
long long feature_stats_total(const char *path, const char *key);

/* Wait (hang guard: wait_ms) until the stats_file's total.key equals want;
 * returns the last value seen. */
long long feature_wait_stats(const char *path, const char *key, long long want, int wait_ms);

/* Fill buf with a pattern that depends on seed and position. */
void feature_pattern(void *buf, size_t len, unsigned seed);

/* Is the buffer all zero? */
int feature_all_zero(const void *buf, size_t len);

#endif
