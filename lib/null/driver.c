/* The null block driver (Linux's null_blk): one implementation of struct
 * rnull_ops, written against the public driver API only. Its state is its
 * own struct null_dev (the disk's driver_data, as null_blk's nullb_device),
 * and each request's struct null_cmd lives in the request's PDU. It moves
 * data through the store (or not), applies throttling, fault injection and
 * bad blocks, and completes the way irqmode says, or at the time the latency
 * keys compute (latency.h). One concern a function on
 * the request path, as null_blk's null_handle_*. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "badblocks.h"
#include "fault.h"
#include "latency.h"
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
  struct null_live *retired;        /* older snapshots, freed with the disk */
  struct null_latency *old_latency; /* a latency model this change replaced */
};

struct null_dev {
  struct rnull_config cfg; /* frozen at rnull_disk_add (live keys: see live_cfg) */
  struct rnull_store *store;
  _Atomic(struct null_live *) live;
  pthread_mutex_t live_lock;    /* serializes changes; never taken by requests */
  struct rnull_config live_cfg; /* the live keys' current values, under live_lock */
  atomic_bool has_badblocks;    /* any bad range: the request path looks only then */
  struct rnull_badblocks badblocks;
  struct rnull_throttle throttle;      /* mbps */
  struct rnull_throttle iops_throttle; /* iops */
  /* The latency settings: one immutable snapshot, NULL when the model is
   * off. A request loads it once; a live change swaps the pointer (and
   * keeps the old snapshot until free_disk: requests may still use it). */
  struct null_latency *_Atomic latency;
  struct null_queue *queues; /* per hw queue: the draws */
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

/* Per request, in the PDU; prepared at its first dispatch. */
struct null_cmd {
  struct null_dev *nd;
  int status;          /* what the I/O came to, ended at completion */
  bool paced;          /* the throttle was paid for this request */
  bool fault_requeued; /* the requeue fault hit it once already */
};

/* ---- the request path ---- */

/* Bad blocks: EIO, unless a memory-backed write covers every bad range it
 * touches, which then reads back what was written (the sectors are remapped). */
static int null_handle_badblocks(struct null_dev *nd, const struct rnull_io *io) {
  uint64_t sector = io->offset >> 9, nr = io->len >> 9, first_bad;
  if (!rnull_badblocks_check(&nd->badblocks, sector, nr, &first_bad))
    return 0;
  if (nd->cfg.memory_backed && io->op == RNULL_OP_WRITE &&
      rnull_badblocks_covers(&nd->badblocks, sector, nr)) {
    rnull_badblocks_clear(&nd->badblocks, sector, nr);
    return 0;
  }
  return -EIO;
}

static bool moves_data(const struct rnull_io *io) {
  return io->op == RNULL_OP_READ || io->op == RNULL_OP_WRITE;
}

static int null_transfer(struct null_dev *nd, struct rnull_rq *rq) {
  struct rnull_store *s = nd->store;
  const struct rnull_io *io = rnull_rq_io(rq);
  bool zero = false;
  int r;
  if (atomic_load_explicit(&nd->has_badblocks, memory_order_relaxed) && moves_data(io) &&
      (r = null_handle_badblocks(nd, io)) != 0)
    return r;
  switch (io->op) {
  case RNULL_OP_READ: /* data ops: len <= max_transfer (rnull_disk checked it) */
    r = s->ops->read(s, io->buf, io->offset, (uint32_t)io->len, &zero);
    if (zero)
      rnull_rq_set_done_flags(rq, RNULL_DONE_ZERO);
    return r;
  case RNULL_OP_WRITE:
    return s->ops->write(s, io->buf, io->offset, (uint32_t)io->len);
  case RNULL_OP_DISCARD:
    return s->ops->discard(s, io->offset, io->len);
  case RNULL_OP_WRITE_ZEROES:
    return s->ops->write_zeroes(s, io->offset, io->len, !(io->flags & RNULL_IO_NOUNMAP));
  case RNULL_OP_FLUSH:
  case RNULL_OP_CACHE:
    return 0; /* RAM is as durable and as cached as it gets */
  default:
    return -EINVAL;
  }
}

/* mbps's budget is served first come, first served: ask front ends to
 * take their submitters in turn (one largest request each in the engine). */
static void null_fair_share(struct rnull_disk *disk, uint64_t mbps) {
  rnull_disk_set_fair_share(disk, mbps ? rnull_disk_max_transfer(disk) : 0);
}

/* The iops bucket's burst: 1/10 s of budget, at least one request. */
static uint64_t iops_burst(uint64_t iops) { return iops / 10 > 1 ? iops / 10 : 1; }

/* mbps and iops: a request the buckets cannot pay for yet is given back to
 * the core until they can (it waits, it is not failed). true if it was. */
static bool null_handle_throttled(struct null_dev *nd, const struct null_live *lv,
                                  struct null_cmd *cmd, struct rnull_rq *rq) {
  if ((!lv->mbps && !lv->iops) || cmd->paced)
    return false;
  cmd->paced = true;
  uint64_t start = rnull_rq_start_time(rq), when = start;
  if (lv->mbps && moves_data(rnull_rq_io(rq)))
    when = rnull_throttle_reserve(&nd->throttle, rnull_rq_io(rq)->len, start);
  if (lv->iops) {
    uint64_t w = rnull_throttle_reserve(&nd->iops_throttle, 1, start);
    when = w > when ? w : when;
  }
  if (when <= start)
    return false;
  rnull_rq_requeue_at(rq, when);
  return true;
}

/* End our request. Another holder (tag_to_rq, the timeout scan) only looks
 * and lets go, so wait for it rather than losing the request. */
static void null_end(struct rnull_rq *rq, int status) {
  for (unsigned spins = 0; rnull_rq_end(rq, status) == -EBUSY; spins++)
    if (spins > 64)
      sched_yield();
}

/* irqmode: end now (none), at the next commit or run (softirq), or
 * completion_nsec after submission (timer). */
static void null_handle_completion(struct null_dev *nd, const struct null_live *lv,
                                   struct null_cmd *cmd, struct rnull_rq *rq, int status) {
  switch (nd->cfg.irqmode) {
  case RNULL_IRQ_NONE:
    null_end(rq, status);
    return;
  case RNULL_IRQ_SOFTIRQ:
    cmd->status = status;
    rnull_rq_complete(rq);
    return;
  case RNULL_IRQ_TIMER:
    cmd->status = status;
    rnull_rq_complete_at(rq, rnull_rq_start_time(rq) + lv->completion_nsec);
    return;
  }
}

/* The latency model: the request completes at its computed time (its
 * operation's draw, its transfer time, after waiting for a channel), out of
 * order if the draws say so. false if the model is off. */
static bool null_handle_latency(struct null_dev *nd, struct null_cmd *cmd, struct rnull_rq *rq,
                                int status) {
  struct null_latency *lat = atomic_load_explicit(&nd->latency, memory_order_acquire);
  if (!lat)
    return false;
  struct rnull_hctx *h = rnull_rq_hctx(rq);
  struct null_queue *q = &nd->queues[rnull_hctx_index(h)];
  pthread_mutex_lock(&q->lock);
  uint64_t service = null_latency_service(lat, &q->rng, rnull_rq_io(rq));
  pthread_mutex_unlock(&q->lock);
  /* a request held back (throttle, requeue) arrives at the device now */
  uint64_t arrival = rnull_rq_requeued(rq) ? rnull_hctx_now(h) : rnull_rq_start_time(rq);
  cmd->status = status;
  rnull_rq_complete_at(rq, null_latency_complete_time(lat, arrival, service));
  return true;
}

static int null_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  struct null_cmd *cmd = rnull_rq_pdu(rq);
  struct null_dev *nd = cmd->nd;
  /* one snapshot of the live settings for this request's whole dispatch */
  struct null_live *lv = atomic_load_explicit(&nd->live, memory_order_acquire);
  if (!rnull_rq_requeued(rq)) /* a new request: prepare its PDU once */
    cmd->paced = cmd->fault_requeued = false;
  if (null_handle_throttled(nd, lv, cmd, rq))
    return 0;
  /* each request weighs 1 against a fault's space, as null_blk passes it */
  if (rnull_fault_hit(&lv->timeout_fault, 1)) {
    /* lost: keep ownership, drop our reference (2 -> 1); the timeout ends it */
    rnull_rq_put(rq);
    return 0;
  }
  if (!cmd->fault_requeued && rnull_fault_hit(&lv->requeue_fault, 1)) {
    cmd->fault_requeued = true;
    return RNULL_STS_RESOURCE;
  }
  int status = rnull_fault_hit(&lv->error_fault, 1) ? -EIO : null_transfer(nd, rq);
  if (!null_handle_latency(nd, cmd, rq, status))
    null_handle_completion(nd, lv, cmd, rq, status);
  return 0;
}

static void null_complete(struct rnull_rq *rq) {
  null_end(rq, ((struct null_cmd *)rnull_rq_pdu(rq))->status);
}

/* A request the driver lost (timeout fault): end it with an error, as
 * blk-mq's timeout path does; the core counted it. */
static enum rnull_timeout_ret null_timeout(struct rnull_rq *rq) {
  return rnull_rq_end(rq, -ETIMEDOUT) == 0 ? RNULL_EH_DONE : RNULL_EH_RESET_TIMER;
}

static int null_extent(struct rnull_disk *disk, uint64_t offset, uint64_t len, uint64_t *len_out,
                       bool *hole) {
  struct null_dev *nd = rnull_disk_driver_data(disk);
  return nd->store->ops->extent(nd->store, offset, len, len_out, hole);
}

/* ---- set-up and tear-down ---- */

static int null_init_request(struct rnull_rq *rq, void *driver_data, unsigned hctx_idx) {
  (void)hctx_idx;
  ((struct null_cmd *)rnull_rq_pdu(rq))->nd = driver_data;
  return 0;
}

/* seed covers every draw; fault_seed, when set, still decides the faults'. */
static uint64_t fault_seed(const struct null_dev *nd, uint64_t cfg_fault_seed) {
  if (cfg_fault_seed)
    return cfg_fault_seed;
  if (nd->cfg.seed)
    return nd->cfg.seed;
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

/* A snapshot of nd->live_cfg. changed: the key just set (NULL: all fresh);
 * old: the snapshot it replaces, whose unchanged faults carry over. */
static struct null_live *live_new(struct null_dev *nd, const struct null_live *old,
                                  const char *changed) {
  struct null_live *lv = calloc(1, sizeof *lv);
  if (!lv)
    return NULL;
  const struct rnull_config *c = &nd->live_cfg;
  lv->mbps = c->mbps;
  lv->iops = c->iops;
  lv->completion_nsec = c->completion_nsec;
  uint64_t seed = fault_seed(nd, c->fault_seed);
  rnull_fault_init(&lv->timeout_fault, &c->timeout_inject, seed);
  rnull_fault_init(&lv->requeue_fault, &c->requeue_inject, seed + 1);
  rnull_fault_init(&lv->error_fault, &c->error_inject, seed + 2);
  if (old && changed && strcmp(changed, "fault_seed") != 0) {
    if (strcmp(changed, "timeout") != 0)
      fault_carry(&lv->timeout_fault, &old->timeout_fault);
    if (strcmp(changed, "requeue") != 0)
      fault_carry(&lv->requeue_fault, &old->requeue_fault);
    if (strcmp(changed, "error") != 0)
      fault_carry(&lv->error_fault, &old->error_fault);
  }
  return lv;
}

static int create_store(struct null_dev *nd, char *err, size_t errlen) {
  uint32_t page = nd->cfg.blocksize > 4096 ? nd->cfg.blocksize : 4096;
  nd->store = nd->cfg.memory_backed ? rnull_store_memory_create(nd->cfg.size, page)
                                    : rnull_store_null_create(nd->cfg.size);
  if (!nd->store) {
    int e = errno ? errno : ENOMEM;
    snprintf(err, errlen, "cannot create the %s store: %s",
             nd->cfg.memory_backed ? "memory" : "null", strerror(e));
    return -e;
  }
  if (nd->cfg.memory_backed)
    rnull_store_memory_set_limit(nd->store, nd->cfg.memory_limit);
  return 0;
}

/* The latency snapshot and one generator per hw queue, seeded from seed
 * (else fault_seed, else the clock): queue i draws its own sequence. */
static int init_latency(struct null_dev *nd, char *err, size_t errlen) {
  int r;
  struct null_latency *lat = null_latency_create(&nd->cfg, &r, err, errlen);
  if (r < 0)
    return r;
  atomic_store_explicit(&nd->latency, lat, memory_order_release);
  nd->nr_queues = nd->cfg.submit_queues;
  nd->queues = calloc(nd->nr_queues, sizeof *nd->queues);
  if (!nd->queues) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  uint64_t seed = nd->cfg.seed ? nd->cfg.seed : fault_seed(nd, nd->cfg.fault_seed);
  for (unsigned i = 0; i < nd->nr_queues; i++) {
    pthread_mutex_init(&nd->queues[i].lock, NULL);
    null_rng_seed(&nd->queues[i].rng, seed + i * 0x632be59bd9b4e019ull);
  }
  return 0;
}

/* The configuration is frozen: build the store, faults, bad blocks,
 * throttles and latency model, and say what the disk offers. */
static int null_init_disk(struct rnull_disk *disk, void *driver_data, char *err, size_t errlen) {
  struct null_dev *nd = driver_data;
  nd->cfg = *rnull_disk_config(disk);
  nd->live_cfg = nd->cfg;
  struct null_live *lv = live_new(nd, NULL, NULL);
  if (!lv) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  atomic_init(&nd->live, lv);
  pthread_mutex_init(&nd->live_lock, NULL);
  rnull_badblocks_init(&nd->badblocks, nd->cfg.badblocks.r, nd->cfg.badblocks.n,
                       nd->cfg.badblocks_once);
  atomic_init(&nd->has_badblocks, nd->cfg.badblocks.n > 0);
  rnull_throttle_init(&nd->throttle, nd->cfg.mbps, rnull_disk_now(disk));
  null_fair_share(disk, nd->cfg.mbps);
  rnull_throttle_init_rate(&nd->iops_throttle, nd->cfg.iops, iops_burst(nd->cfg.iops),
                           rnull_disk_now(disk));
  nd->inited = true;
  int r = init_latency(nd, err, errlen);
  if (r < 0)
    return r;
  /* both stores zero by freeing or skipping pages: never slower than a write */
  unsigned features = RNULL_FEAT_FAST_ZERO;
  if (nd->cfg.discard)
    features |= RNULL_FEAT_DISCARD;
  if (!nd->cfg.memory_backed)
    features |= RNULL_FEAT_READS_ZERO;
  rnull_disk_set_features(disk, features);
  return create_store(nd, err, errlen);
}

static void null_free_disk(struct rnull_disk *disk, void *driver_data) {
  (void)disk;
  struct null_dev *nd = driver_data;
  if (nd->inited) {
    rnull_badblocks_destroy(&nd->badblocks);
    rnull_throttle_destroy(&nd->throttle);
    rnull_throttle_destroy(&nd->iops_throttle);
    pthread_mutex_destroy(&nd->live_lock);
    for (struct null_live *lv = atomic_load(&nd->live), *next; lv; lv = next) {
      next = lv->retired;
      if (lv->old_latency)
        null_latency_free(lv->old_latency);
      free(lv);
    }
  }
  for (unsigned i = 0; nd->queues && i < nd->nr_queues; i++)
    pthread_mutex_destroy(&nd->queues[i].lock);
  free(nd->queues);
  null_latency_free(atomic_load(&nd->latency));
  if (nd->store)
    rnull_store_destroy(nd->store);
  free(nd);
}

static const struct rnull_ops null_ops = {
    .queue_rq = null_queue_rq,
    .complete = null_complete,
    .timeout = null_timeout,
    .init_disk = null_init_disk,
    .free_disk = null_free_disk,
    .init_request = null_init_request,
    .extent = null_extent,
    .cmd_size = sizeof(struct null_cmd),
};

int rnull_null_disk_create(struct rnull_disk **out, const struct rnull_config *cfg, char *err,
                           size_t errlen) {
  struct rnull_disk *d;
  int r = rnull_disk_create(&d, cfg, err, errlen);
  if (r)
    return r;
  struct null_dev *nd = calloc(1, sizeof *nd);
  if (!nd) {
    rnull_disk_destroy(d);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  rnull_disk_set_ops(d, &null_ops, nd);
  *out = d;
  return 0;
}

/* ---- live changes (null_blk's attributes writable while powered) ---- */

static const char *const live_keys[] = {
    "timeout",         "requeue",       "error",        "fault_seed",   "mbps",
    "completion_nsec", "timeout_ms",    "badblocks",    "latency",      "read_latency",
    "write_latency",   "flush_latency", "trim_latency", "zero_latency", "latency_per_kib",
    "channels",        "iops"};

/* Keys of the latency model (channels included): a change builds a new model. */
static bool is_latency_key(const char *key) {
  return strstr(key, "latency") != NULL || strcmp(key, "channels") == 0;
}

bool rnull_null_key_is_live(const char *key) {
  for (size_t i = 0; i < sizeof live_keys / sizeof *live_keys; i++)
    if (strcmp(key, live_keys[i]) == 0)
      return true;
  return false;
}

static struct null_dev *added_null_dev(struct rnull_disk *d) {
  if (rnull_disk_state(d) != RNULL_DISK_ADDED)
    return NULL;
  struct null_dev *nd = rnull_disk_driver_data(d);
  return nd && nd->inited ? nd : NULL;
}

/* Replace every bad range with cfg's (badblocks=RANGES while powered). */
static int badblocks_replace(struct null_dev *nd, const struct rnull_config *c) {
  rnull_badblocks_clear(&nd->badblocks, 0, UINT64_MAX);
  for (unsigned i = 0; i < c->badblocks.n; i++)
    if (rnull_badblocks_add(&nd->badblocks, c->badblocks.r[i].start, c->badblocks.r[i].end) < 0)
      return -ENOSPC;
  atomic_store(&nd->has_badblocks, c->badblocks.n > 0);
  return 0;
}

int rnull_null_disk_set_live(struct rnull_disk *d, const char *key, const char *value, char *err,
                             size_t errlen) {
  struct null_dev *nd = added_null_dev(d);
  if (!nd) {
    snprintf(err, errlen, "%s: the disk is not serving (not an added null disk)", key);
    return -EINVAL;
  }
  if (!rnull_null_key_is_live(key)) {
    snprintf(err, errlen, "%s: can only change while the disk is powered off", key);
    return -EBUSY;
  }
  pthread_mutex_lock(&nd->live_lock);
  struct rnull_config c = nd->live_cfg;
  int r = rnull_config_set(&c, key, value, err, errlen);
  if (r == 0)
    r = rnull_config_check(&c, err, errlen);
  struct null_latency *lat = NULL;
  if (r == 0 && is_latency_key(key))
    lat = null_latency_create(&c, &r, err, errlen); /* NULL with r == 0: the model is off */
  if (r == 0 && strcmp(key, "timeout_ms") == 0)
    r = rnull_disk_set_timeout_ms(d, c.timeout_ms);
  if (r == 0 && strcmp(key, "badblocks") == 0)
    r = badblocks_replace(nd, &c);
  if (r == 0 && strcmp(key, "mbps") == 0) {
    rnull_throttle_set(&nd->throttle, c.mbps);
    null_fair_share(d, c.mbps);
  }
  if (r == 0 && strcmp(key, "iops") == 0)
    rnull_throttle_set_rate(&nd->iops_throttle, c.iops, iops_burst(c.iops));
  if (r == 0) {
    struct null_live *old = atomic_load(&nd->live), *lv;
    nd->live_cfg = c;
    if ((lv = live_new(nd, old, key)) == NULL) {
      snprintf(err, errlen, "out of memory");
      r = -ENOMEM;
    } else {
      lv->retired = old;
      if (is_latency_key(key)) /* the old model stays until the disk goes */
        lv->old_latency = atomic_exchange_explicit(&nd->latency, lat, memory_order_acq_rel);
      lat = NULL;
      atomic_store_explicit(&nd->live, lv, memory_order_release);
    }
  }
  if (lat)
    null_latency_free(lat);
  pthread_mutex_unlock(&nd->live_lock);
  return r;
}

/* "+START-END" / "-START-END", sectors, inclusive. */
static int parse_bb_edit(const char *spec, bool *add, uint64_t *s, uint64_t *e) {
  if (spec[0] != '+' && spec[0] != '-')
    return -EINVAL;
  *add = spec[0] == '+';
  struct rnull_config tmp;
  rnull_config_init(&tmp);
  char e2[8];
  if (rnull_config_set(&tmp, "badblocks", spec + 1, e2, sizeof e2) < 0 || tmp.badblocks.n != 1)
    return -EINVAL;
  *s = tmp.badblocks.r[0].start;
  *e = tmp.badblocks.r[0].end;
  return 0;
}

int rnull_null_badblocks_edit(struct rnull_disk *d, struct rnull_config *cfg, const char *spec,
                              char *err, size_t errlen) {
  bool add;
  uint64_t s, e;
  if (parse_bb_edit(spec, &add, &s, &e) < 0) {
    snprintf(err, errlen,
             "badblocks %s: invalid value: expected +START-END or -START-END in 512-byte "
             "sectors, START <= END",
             spec);
    return -EINVAL;
  }
  struct null_dev *nd = d ? added_null_dev(d) : NULL;
  struct rnull_badblocks tmp, *bb = nd ? &nd->badblocks : &tmp;
  if (!nd)
    rnull_badblocks_init(&tmp, cfg->badblocks.r, cfg->badblocks.n, false);
  int r = 0;
  if (add)
    r = rnull_badblocks_add(bb, s, e);
  else
    rnull_badblocks_clear(bb, s, e - s + 1);
  if (r < 0)
    snprintf(err, errlen, "badblocks %s: more than %d bad ranges", spec, RNULL_MAX_BADBLOCK_RANGES);
  struct rnull_range out[RNULL_MAX_BADBLOCK_RANGES];
  unsigned n = rnull_badblocks_get(bb, out);
  if (nd)
    atomic_store(&nd->has_badblocks, n > 0);
  else
    rnull_badblocks_destroy(&tmp);
  if (cfg) {
    memcpy(cfg->badblocks.r, out, n * sizeof *out);
    cfg->badblocks.n = n;
  }
  return r;
}

unsigned rnull_null_badblocks_get(struct rnull_disk *d, struct rnull_range *out) {
  struct null_dev *nd = added_null_dev(d);
  return nd ? rnull_badblocks_get(&nd->badblocks, out) : 0;
}
