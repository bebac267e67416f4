/* Shared by the feature tests: start nbdkit with rnull.so and the given keys
 * (via the integration harness), connect with base:allocation and strict
 * mode off, and tear everything down again, whatever happened. */
#ifndef RNULL_FEATURE_SERVER_H
#define RNULL_FEATURE_SERVER_H

#include <stdint.h>

#include "expect.h"
#include "plugin_server.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define TiB (1024ull * GiB)

/* harness_init + start nbdkit (args as plugin_start: "-..." are nbdkit
 * options, the rest plugin keys; NULL-terminated) + connect. NULL on
 * failure (already reported as a failed expectation; h cleaned up). */
struct nbd_handle *feature_open(struct harness *h, const char *const *args);

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

/* Fill buf with a pattern that depends on seed and position. */
void feature_pattern(void *buf, size_t len, unsigned seed);

/* Is the buffer all zero? */
int feature_all_zero(const void *buf, size_t len);

#endif
