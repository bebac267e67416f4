/* Private to lib/null: the functions that apply the null driver's live keys
 * (driver.c), named by its option table (options.c). Each is a
 * rnull_opt_apply_fn: params is the driver's struct rnull_null_params with
 * the new value in it; the driver then takes a new snapshot of its live
 * settings for the next request. */
#ifndef RNULL_NULL_LIVE_H
#define RNULL_NULL_LIVE_H

#include <stddef.h>

struct rnull_disk;

/* Read from the snapshot only (completion_nsec, the faults, fault_seed). */
int null_apply_snapshot(struct rnull_disk *d, const char *key, const void *params, char *err,
                        size_t errlen);
int null_apply_mbps(struct rnull_disk *d, const char *key, const void *params, char *err,
                    size_t errlen);
int null_apply_iops(struct rnull_disk *d, const char *key, const void *params, char *err,
                    size_t errlen);
/* The latency keys and channels: a new latency model. */
int null_apply_latency(struct rnull_disk *d, const char *key, const void *params, char *err,
                       size_t errlen);
int null_apply_badblocks(struct rnull_disk *d, const char *key, const void *params, char *err,
                         size_t errlen);

#endif
