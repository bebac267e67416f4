/* Front-end API: the null block driver (lib/null, Linux's null_blk): a disk
 * from an option table with the null driver attached. Its keys (irqmode,
 * memory_backed, mbps, faults, badblocks...) are in config.h's table. Both
 * rnull front ends create their disk this way; a program serving its own
 * driver calls rnull_disk_create + rnull_disk_set_ops instead. */
#ifndef RNULL_NULL_H
#define RNULL_NULL_H

#include <stdbool.h>
#include <stddef.h>

#include "rnull/config.h"
#include "rnull/export.h"

struct rnull_disk;

/* Validate cfg and create an INITIALIZED disk served by the null driver
 * (rnull_disk_set may still change options; the driver reads them at
 * rnull_disk_add). 0, -EINVAL (err says why) or -ENOMEM. */
RNULL_API int rnull_null_disk_create(struct rnull_disk **out, const struct rnull_config *cfg,
                                     char *err, size_t errlen);

/* Live changes, as null_blk lets you write some attributes while powered:
 * the fault keys (timeout, requeue, error) and fault_seed, mbps,
 * completion_nsec, timeout_ms, badblocks and the latency keys (latency,
 * read/write/flush/trim/zero_latency, latency_per_kib; channels and seed
 * need power off). They take effect for the next
 * request; each request reads one consistent snapshot of them. */
RNULL_API bool rnull_null_key_is_live(const char *key);

/* Set one live key on an ADDED null disk. 0; -EINVAL (bad value: err names
 * key, value, range); -EBUSY (not a live key: err says it needs power off). */
RNULL_API int rnull_null_disk_set_live(struct rnull_disk *d, const char *key, const char *value,
                                       char *err, size_t errlen);

/* null_blk's badblocks file: "+START-END" marks, "-START-END" clears the
 * sectors (512-byte, inclusive). Applied to the serving disk d when it is an
 * ADDED null disk, and to cfg's badblocks when cfg is not NULL (cfg then
 * holds the resulting ranges). 0, -EINVAL or -ENOSPC (err says). */
RNULL_API int rnull_null_badblocks_edit(struct rnull_disk *d, struct rnull_config *cfg,
                                        const char *spec, char *err, size_t errlen);

/* The serving disk's current bad ranges (badblocks_once and remapping
 * writes clear some): how many were copied to out. */
RNULL_API unsigned rnull_null_badblocks_get(struct rnull_disk *d, struct rnull_range *out);

#endif
