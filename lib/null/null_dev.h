/* Private to lib/null: the null driver's state (null_blk's nullb_device
 * and nullb_queue), shared by its files: driver.c (the request path, set-up,
 * tear-down), snapshot.c (the live settings a request reads), apply.c (the
 * live keys' apply functions), set_live.c (changing a key while serving). */
#ifndef RNULL_NULL_DEV_H
#define RNULL_NULL_DEV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "badblocks.h"
#include "fault.h"
#include "latency.h"
#include "log_writes.h"
#include "media.h"
#include "rnull/driver.h"
#include "rnull/null.h"
#include "store.h"
#include "throttle.h"

/* What may change while the disk serves (null_blk's attributes writable
 * while powered): one immutable snapshot, replaced whole by a change. A
 * request loads the pointer once and reads everything from it, so it never
 * sees half-old, half-new settings. Replaced snapshots are kept until the
 * disk goes (a change is an operator's action: a few bytes each). */
struct null_live {
  uint64_t mbps, iops, completion_nsec;
  struct rnull_fault timeout_fault, requeue_fault, error_fault;
  struct rnull_fault op_error[RNULL_OP_MAX]; /* read_error..zero_error by op; cache: none */
  struct rnull_fault read_corrupt, write_corrupt, lost_write; /* memory_backed only */
  /* the latency model, NULL when off; shared with older snapshots unless
   * this one's change built it (then owns_latency: freed with it) */
  struct null_latency *latency;
  bool owns_latency;
  struct null_live *retired; /* older snapshots, freed with the disk */
};

struct null_dev {
  struct rnull_null_params params; /* the driver's keys, frozen at rnull_disk_add */
  struct rnull_store *store;
  struct rnull_null_media *media; /* given data (rnull_null_disk_give_media), until added */
  void (*on_cut)(void *arg, struct rnull_disk *d); /* a scheduled power cut fired */
  void *on_cut_arg;
  _Atomic(struct null_live *) live;
  pthread_mutex_t live_lock; /* serializes changes; never taken by requests */
  /* under live_lock: the keys' current values (live ones as last set), and
   * a latency model an apply built for the snapshot being made */
  struct rnull_null_params live_params;
  struct rnull_disk_params live_core;
  struct null_latency *staged_latency;
  bool latency_staged;       /* staged_latency (NULL: off) is the next snapshot's */
  atomic_bool has_badblocks; /* any bad range: the request path looks only then */
  _Atomic unsigned hold_ops; /* rnull_null_disk_hold: 1 << op of the operations held */
  _Atomic unsigned nr_held;  /* held now, not yet released or timed out */
  struct rnull_badblocks badblocks;
  struct rnull_throttle throttle;      /* mbps */
  struct rnull_throttle iops_throttle; /* iops */
  struct null_queue *queues;           /* per hw queue: the draws */
  struct null_log *log;                /* log_writes, NULL when off */
  unsigned nr_queues;
  bool inited; /* init_disk got past the locks: free_disk destroys them */
};

/* Per hw queue (null_blk's nullb_queue): its random generator, so draws of
 * one queue are one reproducible sequence. Locked: the plugin's threads may
 * submit to one queue at once. */
struct null_queue {
  pthread_mutex_t lock;
  struct null_rng rng;
};

/* mbps's budget is served first come, first served: ask front ends to
 * take their submitters in turn (one largest request each in the engine). */
static inline void null_fair_share(struct rnull_disk *disk, uint64_t mbps) {
  rnull_disk_set_fair_share(disk, mbps ? rnull_disk_max_transfer(disk) : 0);
}

/* The iops bucket's burst: 1/10 s of budget, at least one request. */
static inline uint64_t iops_burst(uint64_t iops) { return iops / 10 > 1 ? iops / 10 : 1; }

/* snapshot.c: the seed of the faults' draws; a new snapshot of
 * nd->live_params (see null_live). */
uint64_t null_fault_seed(const struct null_dev *nd, uint64_t cfg_fault_seed);
struct null_live *null_live_new(struct null_dev *nd, const struct null_live *old,
                                const char *changed);

/* driver.c: d's state if d is an ADDED null disk, else NULL. */
struct null_dev *null_dev_added(const struct rnull_disk *d);
/* driver.c: d is a null disk (any state). */
bool null_dev_is(const struct rnull_disk *d);
/* driver.c: complete (error 0) or fail the requests held on h; how many. */
unsigned null_release_queue(struct null_dev *nd, struct rnull_hctx *h, unsigned depth, int error);

/* The PDU's size (struct null_cmd, driver.c's): for the memory estimate. */
size_t null_cmd_size(void);

#endif
