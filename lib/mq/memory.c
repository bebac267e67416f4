/* What a disk's engine costs in memory, from its core parameters: the core
 * knows its own allocation sizes (the disk, each hctx with its statistics,
 * each request with its timer-heap slot, each PDU). A registry budgets
 * disks with it before it makes one (lib/ctl). */
#include "mq.h"

uint64_t rnull_disk_params_memory(const struct rnull_disk_params *p, size_t cmd_size) {
  uint64_t per_rq = sizeof(struct rnull_rq) + sizeof(struct rnull_rq *) /* heap */ + cmd_size;
  uint64_t per_hctx = sizeof(struct rnull_hctx) + (uint64_t)p->hw_queue_depth * per_rq;
  return sizeof(struct rnull_disk) + (uint64_t)p->submit_queues * per_hctx;
}
