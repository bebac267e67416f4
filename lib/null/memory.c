/* A null disk's engine memory, estimated before it is made: the core's
 * share for the driver's PDU (struct null_cmd), and the driver's own state
 * per disk and per hw queue. The store's pages are memory_limit's. */
#include "null_dev.h"
#include "rnull/null.h"

uint64_t rnull_null_disk_memory(const struct rnull_config *cfg, unsigned min_queues) {
  struct rnull_disk_params p = cfg->core;
  if (p.submit_queues < min_queues)
    p.submit_queues = min_queues;
  return rnull_disk_params_memory(&p, null_cmd_size()) + sizeof(struct null_dev) +
         (uint64_t)p.submit_queues * sizeof(struct null_queue);
}
