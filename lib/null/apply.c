/* The apply functions of the null driver's live keys (its table names
 * them: options.c). Called by set_live.c for an ADDED null disk, under its
 * live lock; the snapshot taken after each carries the change to requests. */
#include <errno.h>
#include <stdio.h>

#include "live.h"
#include "null_dev.h"

int null_apply_snapshot(struct rnull_disk *d, const char *key, const void *params, char *err,
                        size_t errlen) {
  (void)d, (void)key, (void)params, (void)err, (void)errlen;
  return 0; /* the snapshot taken after every apply carries it */
}

int null_apply_mbps(struct rnull_disk *d, const char *key, const void *params, char *err,
                    size_t errlen) {
  (void)key, (void)err, (void)errlen;
  const struct rnull_null_params *p = params;
  rnull_throttle_set(&((struct null_dev *)rnull_disk_driver_data(d))->throttle, p->mbps);
  null_fair_share(d, p->mbps);
  return 0;
}

int null_apply_iops(struct rnull_disk *d, const char *key, const void *params, char *err,
                    size_t errlen) {
  (void)key, (void)err, (void)errlen;
  const struct rnull_null_params *p = params;
  rnull_throttle_set_rate(&((struct null_dev *)rnull_disk_driver_data(d))->iops_throttle, p->iops,
                          iops_burst(p->iops));
  return 0;
}

/* A new model for the next snapshot (NULL with r == 0: the model is off);
 * the old one stays with the snapshots that use it until the disk goes. */
int null_apply_latency(struct rnull_disk *d, const char *key, const void *params, char *err,
                       size_t errlen) {
  (void)key;
  int r;
  struct null_dev *nd = rnull_disk_driver_data(d);
  struct null_latency *lat = null_latency_create(params, &r, err, errlen);
  if (r == 0) {
    nd->staged_latency = lat;
    nd->latency_staged = true;
  }
  return r;
}

/* Replace every bad range with the new ones (badblocks=RANGES while powered). */
int null_apply_badblocks(struct rnull_disk *d, const char *key, const void *params, char *err,
                         size_t errlen) {
  const struct rnull_null_params *p = params;
  struct null_dev *nd = rnull_disk_driver_data(d);
  rnull_badblocks_clear(&nd->badblocks, 0, UINT64_MAX);
  for (unsigned i = 0; i < p->badblocks.n; i++)
    if (rnull_badblocks_add(&nd->badblocks, p->badblocks.r[i].start, p->badblocks.r[i].end) < 0) {
      snprintf(err, errlen, "%s: more than %d bad ranges", key, RNULL_MAX_BADBLOCK_RANGES);
      return -ENOSPC;
    }
  atomic_store(&nd->has_badblocks, p->badblocks.n > 0);
  return 0;
}
