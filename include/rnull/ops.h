/* The driver vtable, mirroring the kernel's struct blk_mq_ops. The null
 * driver (rnull_null_ops) is one implementation; a test can plug in another
 * with rnull_disk_set_ops(). Every member says when it runs and what it may do.
 * No member is called with an engine lock held, so each may call back into
 * rnull_rq_end / rnull_rq_complete / rnull_rq_requeue. */
#ifndef RNULL_OPS_H
#define RNULL_OPS_H

#include <stdbool.h>
#include <stddef.h>

struct rnull_rq;
struct rnull_hctx;

/* queue_rq results besides 0 (accepted) and a negative errno (the engine
 * ends the request with that status at once). */
#define RNULL_STS_RESOURCE 1 /* busy: the engine requeues it (counted) */

enum rnull_timeout_ret {
  RNULL_EH_DONE,        /* the handler ended the request (or will never) */
  RNULL_EH_RESET_TIMER, /* give it another timeout period */
};

struct rnull_ops {
  /* Start one request, which holds one reference (state 2). is_last: no more
   * requests follow in this batch. Required. Returns 0 once it owns the
   * request (ending it now or later), RNULL_STS_RESOURCE to be requeued, or
   * -errno to have the engine end it with that error. */
  int (*queue_rq)(struct rnull_rq *rq, bool is_last);
  /* The batch is over (the front end committed). Optional. */
  void (*commit_rqs)(struct rnull_hctx *hctx);
  /* Softirq/timer completion of a request handed to rnull_rq_complete: must
   * end it (rnull_rq_end). Required if the driver uses rnull_rq_complete. */
  void (*complete)(struct rnull_rq *rq);
  /* Reap completions on a polled queue; returns how many ended. Optional. */
  int (*poll)(struct rnull_hctx *hctx);
  /* A request outlived timeout_ms. Optional: without it the engine ends the
   * request with -ETIMEDOUT. Called with the request in state >= 2. */
  enum rnull_timeout_ret (*timeout)(struct rnull_rq *rq);
  /* Once per hw queue at rnull_disk_add / destroy. Optional; 0 or -errno. */
  int (*init_hctx)(struct rnull_hctx *hctx, void *driver_data, unsigned idx);
  void (*exit_hctx)(struct rnull_hctx *hctx, unsigned idx);
  /* Once per request (tag) at set-up / tear-down; the PDU is zeroed before. */
  int (*init_request)(struct rnull_rq *rq, void *driver_data, unsigned hctx_idx);
  void (*exit_request)(struct rnull_rq *rq, unsigned hctx_idx);
  /* Bytes of private data (PDU) per request. */
  size_t cmd_size;
};

/* The null block driver: store + fault injection + bad blocks + completion
 * mode, as configured. Its driver_data is the disk. */
extern const struct rnull_ops rnull_null_ops;

#endif
