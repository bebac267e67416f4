/* Private to lib/null: a power cut over the cache's model (cache.h). */
#ifndef RNULL_NULL_POWER_CUT_H
#define RNULL_NULL_POWER_CUT_H

#include <stdio.h>

#include "cache.h"
#include "latency.h"
#include "rnull/null.h"

/* Decide every record's fate (pc; pc->seed set if 0), apply the survivors
 * to the durable store, write the crash report (of disk) to out if not
 * NULL, freeze c (later requests -EIO). pbs: the physical block size torn
 * writes are cut at. Power off is lose=all. 0 or -ENOMEM. */
int null_power_cut(struct null_cache *c, struct rnull_power_cut *pc, uint32_t pbs, const char *disk,
                   bool json, FILE *out);

/* The same with c->lock held (a scheduled cut, at the request firing it). */
int null_power_cut_locked(struct null_cache *c, struct rnull_power_cut *pc, uint32_t pbs,
                          const char *disk, bool json, FILE *out);

#endif
