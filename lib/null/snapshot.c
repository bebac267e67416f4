/* The null driver's live settings as one immutable snapshot (struct
 * null_live): what a request reads, made anew by every live change. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "null_dev.h"

/* seed covers every draw; fault_seed, when set, still decides the faults'. */
uint64_t null_fault_seed(const struct null_dev *nd, uint64_t cfg_fault_seed) {
  if (cfg_fault_seed)
    return cfg_fault_seed;
  if (nd->params.seed)
    return nd->params.seed;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)nd;
}

/* A fault carried over to a new snapshot keeps its progress (times left,
 * space, interval count, random sequence); a changed one starts afresh. */
static void fault_carry(struct rnull_fault *to, const struct rnull_fault *from) {
  atomic_init(&to->times, atomic_load(&from->times));
  atomic_init(&to->space, atomic_load(&from->space));
  atomic_init(&to->count, atomic_load(&from->count));
  atomic_init(&to->rng, atomic_load(&from->rng));
}

/* Every fault of a snapshot: its key, where it lives, where its key's
 * value is; the seed of each is the faults' seed + its index. */
#define LIVE_FAULT(key, lfield, pfield)                                                            \
  { key, offsetof(struct null_live, lfield), offsetof(struct rnull_null_params, pfield) }
static const struct {
  const char *key;
  size_t live, param;
} live_faults[] = {
    LIVE_FAULT("timeout", timeout_fault, timeout_inject),
    LIVE_FAULT("requeue", requeue_fault, requeue_inject),
    LIVE_FAULT("error", error_fault, error_inject),
    LIVE_FAULT("read_error", op_error[RNULL_OP_READ], read_error),
    LIVE_FAULT("write_error", op_error[RNULL_OP_WRITE], write_error),
    LIVE_FAULT("flush_error", op_error[RNULL_OP_FLUSH], flush_error),
    LIVE_FAULT("trim_error", op_error[RNULL_OP_DISCARD], trim_error),
    LIVE_FAULT("zero_error", op_error[RNULL_OP_WRITE_ZEROES], zero_error),
    LIVE_FAULT("read_corrupt", read_corrupt, read_corrupt),
    LIVE_FAULT("write_corrupt", write_corrupt, write_corrupt),
    LIVE_FAULT("lost_write", lost_write, lost_write),
};

/* A snapshot of nd->live_params. changed: the key just set (NULL: all
 * fresh); old: the snapshot it replaces, whose unchanged faults carry over
 * and whose latency model is kept unless a change staged a new one. */
struct null_live *null_live_new(struct null_dev *nd, const struct null_live *old,
                                const char *changed) {
  struct null_live *lv = calloc(1, sizeof *lv);
  if (!lv)
    return NULL;
  const struct rnull_null_params *c = &nd->live_params;
  if (!old || nd->latency_staged) {
    lv->latency = nd->staged_latency;
    lv->owns_latency = true;
    nd->staged_latency = NULL;
    nd->latency_staged = false;
  } else {
    lv->latency = old->latency;
  }
  lv->mbps = c->mbps;
  lv->iops = c->iops;
  lv->completion_nsec = c->completion_nsec;
  uint64_t seed = null_fault_seed(nd, c->fault_seed);
  bool carry = old && changed && strcmp(changed, "fault_seed") != 0;
  for (size_t i = 0; i < sizeof live_faults / sizeof live_faults[0]; i++) {
    struct rnull_fault *f = (struct rnull_fault *)((char *)lv + live_faults[i].live);
    rnull_fault_init(f, (const struct rnull_fault_attr *)((const char *)c + live_faults[i].param),
                     seed + i);
    if (carry && strcmp(changed, live_faults[i].key) != 0)
      fault_carry(f, (const struct rnull_fault *)((const char *)old + live_faults[i].live));
  }
  return lv;
}
