/* Front-end API: the null block driver (lib/null, Linux's null_blk): a disk
 * from an option table with the null driver attached. Its keys (irqmode,
 * memory_backed, mbps, faults, badblocks...) are in config.h's table. Both
 * rnull front ends create their disk this way; a program serving its own
 * driver calls rnull_disk_create + rnull_disk_set_ops instead. */
#ifndef RNULL_NULL_H
#define RNULL_NULL_H

#include <stddef.h>

#include "rnull/config.h"
#include "rnull/export.h"

struct rnull_disk;

/* Validate cfg and create an INITIALIZED disk served by the null driver
 * (rnull_disk_set may still change options; the driver reads them at
 * rnull_disk_add). 0, -EINVAL (err says why) or -ENOMEM. */
RNULL_API int rnull_null_disk_create(struct rnull_disk **out, const struct rnull_config *cfg,
                                     char *err, size_t errlen);

#endif
