/* The core's parameters and their table (owner "core"): geometry, queues,
 * depth, timeout; what blk-mq's tag set and queue limits hold. Drivers'
 * keys are their own tables'; nothing here knows one. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "mq.h"

typedef char name_t[RNULL_DISK_NAME_LEN];

static const struct rnull_option_table core_table;

int rnull_disk_set_timeout_ms(struct rnull_disk *d, uint64_t ms) {
  const struct rnull_option *o = rnull_option_table_find(&core_table, "timeout_ms");
  if (o && (ms < o->min || ms > o->max))
    return -EINVAL;
  atomic_store_explicit(&d->timeout_ns, ms * 1000000ull, memory_order_relaxed);
  return 0;
}

/* timeout_ms is live: requests dispatched from now on expire at the new one. */
static int apply_timeout(struct rnull_disk *d, const char *key, const void *params, char *err,
                         size_t errlen) {
  const struct rnull_disk_params *p = params;
  int r = rnull_disk_set_timeout_ms(d, p->timeout_ms);
  if (r)
    snprintf(err, errlen, "%s=%" PRIu64 ": out of range", key, p->timeout_ms);
  return r;
}

#define CORE(...) RNULL_OPT(struct rnull_disk_params, __VA_ARGS__)
static const struct rnull_option core_options[] = {
    CORE("size", SIZE, uint64_t, "4G", 512, INT64_MAX, size,
         "disk size in bytes, with K/M/G/T/P/E suffix (a multiple of blocksize)"),
    CORE("blocksize", POW2, uint32_t, "4096", 512, 4096, blocksize, "logical block size in bytes"),
    {"physical_blocksize", RNULL_OPT_POW2, "0", 512, 65536,
     RNULL_FIELD_OF(struct rnull_disk_params, physical_blocksize, uint32_t), sizeof(uint32_t),
     "physical block size in bytes, >= blocksize (0 = same as blocksize)", NULL, "blocksize", NULL,
     NULL},
    CORE("max_transfer", SIZE, uint32_t, "32M", 4096, 32 << 20, max_transfer,
         "largest request in bytes (the NBD maximum block size)"),
    CORE("rotational", BOOL, bool, "0", 0, 1, rotational, "report a rotational disk"),
    CORE("readonly", BOOL, bool, "0", 0, 1, readonly, "refuse writes, trims and zeroes"),
    CORE("name", NAME, name_t, "rnullb0", 0, RNULL_DISK_NAME_LEN - 1, name,
         "disk name (at most 31 bytes, as the kernel's DISK_NAME_LEN)"),
    CORE("submit_queues", UINT, uint32_t, "1", 1, 64, submit_queues, "number of hardware queues"),
    CORE("hw_queue_depth", UINT, uint32_t, "256", 1, 4096, hw_queue_depth,
         "tags per hardware queue"),
    RNULL_OPT_LIVE(struct rnull_disk_params, "timeout_ms", UINT, uint64_t, "30000", 1, 3600000,
                   timeout_ms, apply_timeout,
                   "request timeout in ms: a request the driver never completes ends with an "
                   "error"),
};
#undef CORE

static const struct rnull_option_table core_table =
    RNULL_OPT_TABLE("core", RNULL_OWNER_CORE, core_options, struct rnull_disk_params);

const struct rnull_option_table *rnull_disk_options(void) { return &core_table; }

void rnull_disk_params_init(struct rnull_disk_params *p) {
  rnull_option_table_defaults(&core_table, p);
}

int rnull_disk_params_set(struct rnull_disk_params *p, const char *key, const char *value,
                          char *err, size_t errlen) {
  return rnull_option_table_set(&core_table, p, key, value, err, errlen);
}

int rnull_disk_params_check(const struct rnull_disk_params *p, char *err, size_t errlen) {
  uint32_t pbs = p->physical_blocksize ? p->physical_blocksize : p->blocksize;
  if (pbs < p->blocksize) {
    snprintf(err, errlen,
             "physical_blocksize=%" PRIu32 ": must be >= blocksize (%" PRIu32 ") and at most 65536",
             pbs, p->blocksize);
    return -EINVAL;
  }
  if (p->size < p->blocksize || p->size % p->blocksize) {
    snprintf(err, errlen,
             "size=%" PRIu64 ": must be a non-zero multiple of blocksize (%" PRIu32 ")", p->size,
             p->blocksize);
    return -EINVAL;
  }
  if (p->max_transfer < pbs) {
    /* proto.md: the maximum block size may not be below the preferred one */
    snprintf(err, errlen,
             "max_transfer=%" PRIu32 " is below physical_blocksize=%" PRIu32
             ": the largest request must be at least the physical block size",
             p->max_transfer, pbs);
    return -EINVAL;
  }
  if (p->max_transfer % p->blocksize) {
    snprintf(err, errlen, "max_transfer=%" PRIu32 ": must be a multiple of blocksize (%" PRIu32 ")",
             p->max_transfer, p->blocksize);
    return -EINVAL;
  }
  return 0;
}
