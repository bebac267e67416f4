/* Driver API: the driver vtable, mirroring the kernel's struct blk_mq_ops.
 * For whoever writes a driver: the null driver (lib/null) is one, a file
 * driver another; a test can plug in its own. Attach it to a disk with
 * rnull_disk_set_ops() while the disk is INITIALIZED.
 *
 * Rules every member follows:
 *  - No member is called with a core lock held, so each may call back into
 *    rnull_rq_end / rnull_rq_complete* / rnull_rq_requeue*.
 *  - A request's one reference (state 2, see request.h) is the driver's from
 *    queue_rq until it ends it or hands it back to the core.
 *  - Members run in the thread that drove the core: rnull_submit's caller
 *    (queue_rq), rnull_hctx_commit's (commit_rqs, complete), rnull_hctx_run's
 *    (queue_rq for requeued requests, complete, timeout). A driver with its
 *    own threads ends requests from them with rnull_rq_end.
 *  - driver_data is what rnull_disk_set_ops() was given.
 */
#ifndef RNULL_OPS_H
#define RNULL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rnull_disk;
struct rnull_hctx;
struct rnull_rq;

/* queue_rq results besides 0 (accepted) and a negative errno (the core ends
 * the request with that status at once). */
#define RNULL_STS_RESOURCE 1 /* busy: the core requeues it (counted) */

enum rnull_timeout_ret {
  RNULL_EH_DONE,        /* the handler ended the request (or will never) */
  RNULL_EH_RESET_TIMER, /* give it another timeout period */
};

struct rnull_ops {
  /* Start one request, which holds one reference (state 2). is_last: no more
   * requests follow in this batch: a driver may kick its device now. Unlike
   * blk-mq, commit_rqs is still called at the end of every batch (whether or
   * not the last request had is_last): kicking twice must be harmless.
   * Required. Returns 0 once it owns the request (ended already, or to be
   * ended, completed or requeued later by the driver), RNULL_STS_RESOURCE
   * to have the core requeue it, or -errno to have the core end it with that
   * error. On anything but 0 the driver must not have touched the reference. */
  int (*queue_rq)(struct rnull_rq *rq, bool is_last);
  /* The batch is over: the front end committed (rnull_hctx_commit) or the
   * core dispatched requeued requests. Kick what queue_rq queued. Optional. */
  void (*commit_rqs)(struct rnull_hctx *hctx);
  /* A request handed to rnull_rq_complete / rnull_rq_complete_at is due:
   * end it (rnull_rq_end). Required if the driver uses those calls. */
  void (*complete)(struct rnull_rq *rq);
  /* Reap completions on a polled queue; returns how many ended. Optional;
   * a front end that busy-polls calls it through rnull_hctx_poll. */
  int (*poll)(struct rnull_hctx *hctx);
  /* A request outlived timeout_ms. Optional: without it the core ends the
   * request with -ETIMEDOUT. Called with one extra reference (state >= 2)
   * held by the core: RNULL_EH_DONE means the handler ended the request
   * (rnull_rq_end succeeds only if the driver dropped its own reference
   * before); RNULL_EH_RESET_TIMER: the core drops its reference and looks
   * again one timeout later. */
  enum rnull_timeout_ret (*timeout)(struct rnull_rq *rq);
  /* Once at rnull_disk_add, before any hctx, with the configuration frozen
   * (rnull_disk_config): set up what the driver needs, declare features
   * (rnull_disk_set_features). Optional; 0 or -errno with err set. */
  int (*init_disk)(struct rnull_disk *disk, void *driver_data, char *err, size_t errlen);
  /* Once at rnull_disk_destroy, last, whatever the disk's state (even if
   * init_disk never ran or failed): release driver_data. Optional. */
  void (*free_disk)(struct rnull_disk *disk, void *driver_data);
  /* Once per hw queue at rnull_disk_add / destroy. Optional; 0 or -errno.
   * init_hctx may set its own rnull_hctx_set_driver_data (the default is
   * the disk's driver_data). */
  int (*init_hctx)(struct rnull_hctx *hctx, void *driver_data, unsigned idx);
  void (*exit_hctx)(struct rnull_hctx *hctx, unsigned idx);
  /* Once per request (tag) at set-up / tear-down; the PDU is zeroed before. */
  int (*init_request)(struct rnull_rq *rq, void *driver_data, unsigned hctx_idx);
  void (*exit_request)(struct rnull_rq *rq, unsigned hctx_idx);
  /* Block status (NBD base:allocation): from offset, *len_out bytes
   * (0 < *len_out <= len; offset + len is within the disk) share one state;
   * *hole: unallocated and reading as zeros. Any thread, no request needed.
   * Optional: without it the whole disk is data. 0 or -errno. */
  int (*extent)(struct rnull_disk *disk, uint64_t offset, uint64_t len, uint64_t *len_out,
                bool *hole);
  /* Bytes of private data (PDU) per request. */
  size_t cmd_size;
};

#endif
