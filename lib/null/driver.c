/* The null block driver (Linux's null_blk): one implementation of struct
 * rnull_ops, written against the public driver API only. Its state is its
 * own struct null_dev (the disk's driver_data, as null_blk's nullb_device),
 * and each request's struct null_cmd lives in the request's PDU. It moves
 * data through the store (or not), applies throttling, fault injection and
 * bad blocks, and completes the way irqmode says, or at the time the latency
 * keys compute (latency.h). One concern a function on
 * the request path, as null_blk's null_handle_*. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "null_dev.h"
#include "power_cut.h"

/* Per request, in the PDU; prepared at its first dispatch. */
struct null_cmd {
  struct null_dev *nd;
  int status;          /* what the I/O came to, ended at completion */
  bool paced;          /* the throttle was paid for this request */
  bool fault_requeued; /* the requeue fault hit it once already */
  /* held (rnull_null_disk_hold): kept in state 1 until release claims it
   * (exchange to false) or the timeout path does; held_at and held_cookie
   * tell this request from a later one on the same tag (a held request
   * ended by an abort leaves held set) */
  atomic_bool held;
  uint64_t held_at;
  void *held_cookie;
};

/* ---- the request path ---- */

/* Bad blocks: EIO, unless a memory-backed write covers every bad range it
 * touches, which then reads back what was written (the sectors are remapped). */
static int null_handle_badblocks(struct null_dev *nd, const struct rnull_io *io) {
  uint64_t sector = io->offset >> 9, nr = io->len >> 9, first_bad;
  if (!rnull_badblocks_check(&nd->badblocks, sector, nr, &first_bad))
    return 0;
  if (nd->params.memory_backed && io->op == RNULL_OP_WRITE &&
      rnull_badblocks_covers(&nd->badblocks, sector, nr)) {
    rnull_badblocks_clear(&nd->badblocks, sector, nr);
    return 0;
  }
  return -EIO;
}

static bool moves_data(const struct rnull_io *io) {
  return io->op == RNULL_OP_READ || io->op == RNULL_OP_WRITE;
}

/* A trim or write zeroes with FUA on a cache store: durable at completion,
 * by a flush (more than FUA asks: what completed before is durable too). */
static int null_handle_fua(struct null_dev *nd, const struct rnull_io *io) {
  struct rnull_store *s = nd->store;
  return (io->flags & RNULL_IO_FUA) && s->ops->flush && nd->params.fua ? s->ops->flush(s) : 0;
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
  case RNULL_OP_WRITE: /* FUA matters to a cache store only (cache_size, fua=1) */
    if ((io->flags & RNULL_IO_FUA) && s->ops->write_fua && nd->params.fua)
      return s->ops->write_fua(s, io->buf, io->offset, (uint32_t)io->len);
    return s->ops->write(s, io->buf, io->offset, (uint32_t)io->len);
  case RNULL_OP_DISCARD:
    r = s->ops->discard(s, io->offset, io->len);
    return r ? r : null_handle_fua(nd, io);
  case RNULL_OP_WRITE_ZEROES:
    r = s->ops->write_zeroes(s, io->offset, io->len, !(io->flags & RNULL_IO_NOUNMAP));
    return r ? r : null_handle_fua(nd, io);
  case RNULL_OP_FLUSH: /* the cache store writes back; RAM is as durable as it gets */
    return s->ops->flush ? s->ops->flush(s) : 0;
  case RNULL_OP_CACHE:
    return 0;
  default:
    return -EINVAL;
  }
}

struct null_transfer_arg {
  struct null_dev *nd;
  struct rnull_rq *rq;
};

static int null_transfer_cb(void *arg) {
  struct null_transfer_arg *t = arg;
  return null_transfer(t->nd, t->rq);
}

/* log_writes: the request is applied and logged in one order (the log's);
 * the log may make it wait for room (back-pressure), never drops it. */
static int null_handle_log_writes(struct null_dev *nd, struct rnull_rq *rq) {
  const struct rnull_io *io = rnull_rq_io(rq);
  struct null_transfer_arg t = {nd, rq};
  /* FUA is honoured when offered: always without a cache, with fua=1 with one */
  bool fua = (io->flags & RNULL_IO_FUA) && (nd->params.fua || !nd->params.cache_size);
  return null_log_request(nd->log, io, fua, null_transfer_cb, &t);
}

/* The I/O itself, as the client sees it: the store out of memory is a disk
 * without space (ENOMEM is an error a fault may name). */
static int null_serve(struct null_dev *nd, struct rnull_rq *rq) {
  int r =
      __builtin_expect(nd->log != NULL, 0) ? null_handle_log_writes(nd, rq) : null_transfer(nd, rq);
  return r == -ENOMEM ? -ENOSPC : r;
}

/* Flip one seeded bit of buf (len bytes). */
static void flip_bit(struct rnull_fault *f, unsigned char *buf, uint64_t len) {
  uint64_t bit = rnull_fault_draw(f) % (len * 8);
  buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
}

/* write_corrupt: one seeded bit of one sector the write stored is flipped
 * in the store (read, flip, write back: a stack sector, no allocation). */
static void corrupt_stored(struct null_dev *nd, struct rnull_fault *f, const struct rnull_io *io) {
  struct rnull_store *s = nd->store;
  unsigned char sector[512];
  bool zero = false;
  uint64_t off = io->offset + (rnull_fault_draw(f) % (io->len / 512)) * 512;
  if (s->ops->read(s, sector, off, sizeof sector, &zero) != 0)
    return;
  if (zero)
    memset(sector, 0, sizeof sector);
  flip_bit(f, sector, sizeof sector);
  s->ops->write(s, sector, off, sizeof sector);
}

/* lost_write (acknowledged, not stored), then the I/O, then read_corrupt
 * or write_corrupt on what it moved (memory_backed=1: the check refuses
 * them otherwise). */
static int null_serve_faulty(struct null_dev *nd, struct null_live *lv, struct rnull_rq *rq) {
  const struct rnull_io *io = rnull_rq_io(rq);
  if (io->op == RNULL_OP_WRITE && rnull_fault_hit_io(&lv->lost_write, io->offset, io->len))
    return 0;
  bool corrupt = io->op == RNULL_OP_READ && io->len &&
                 rnull_fault_hit_io(&lv->read_corrupt, io->offset, io->len);
  if (corrupt) /* a read of holes leaves the buffer alone: make it the zeros it reads as */
    memset(io->buf, 0, io->len);
  int r = null_serve(nd, rq);
  if (r == 0 && corrupt) {
    rnull_rq_set_done_flags(rq, 0); /* not all zeros any more */
    flip_bit(&lv->read_corrupt, io->buf, io->len);
  }
  if (r == 0 && io->op == RNULL_OP_WRITE && io->len >= 512 &&
      rnull_fault_hit_io(&lv->write_corrupt, io->offset, io->len))
    corrupt_stored(nd, &lv->write_corrupt, io);
  return r;
}

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
  switch (nd->params.irqmode) {
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
static bool null_handle_latency(struct null_dev *nd, const struct null_live *lv,
                                struct null_cmd *cmd, struct rnull_rq *rq, int status) {
  struct null_latency *lat = lv->latency;
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

/* rnull-ctl hold: keep the request without completing it. As the timeout
 * fault, drop our reference (2 -> 1): it stays in flight with its tag, the
 * timeout path or an abort may end it; release (null_release_queue) takes
 * it back. One predictable test when nothing is held. */
static bool null_handle_held(struct null_dev *nd, struct null_cmd *cmd, struct rnull_rq *rq,
                             const struct rnull_io *io) {
  if (__builtin_expect(
          !(atomic_load_explicit(&nd->hold_ops, memory_order_relaxed) & (1u << io->op)), 1))
    return false;
  cmd->held_at = rnull_rq_start_time(rq);
  cmd->held_cookie = io->cookie;
  atomic_fetch_add_explicit(&nd->nr_held, 1, memory_order_relaxed);
  atomic_store_explicit(&cmd->held, true, memory_order_release);
  rnull_rq_put(rq);
  return true;
}

/* Claim a held request (we hold a reference): true if it was this one's and
 * nobody claimed it before (release, the timeout path). */
static bool null_claim_held(struct null_dev *nd, struct null_cmd *cmd, struct rnull_rq *rq) {
  if (!atomic_load_explicit(&cmd->held, memory_order_acquire) ||
      cmd->held_at != rnull_rq_start_time(rq) || cmd->held_cookie != rnull_rq_io(rq)->cookie ||
      !atomic_exchange(&cmd->held, false))
    return false;
  atomic_fetch_sub_explicit(&nd->nr_held, 1, memory_order_relaxed);
  return true;
}

/* error (every operation), then the operation's own *_error: the status
 * a fired one names, 0 if none fired. */
static int null_handle_error_faults(struct null_live *lv, const struct rnull_io *io) {
  if (rnull_fault_hit_io(&lv->error_fault, io->offset, io->len))
    return rnull_fault_status(&lv->error_fault);
  struct rnull_fault *f = &lv->op_error[io->op < RNULL_OP_MAX ? io->op : RNULL_OP_CACHE];
  return rnull_fault_hit_io(f, io->offset, io->len) ? rnull_fault_status(f) : 0;
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
  const struct rnull_io *io = rnull_rq_io(rq);
  if (!rnull_rq_requeued(rq))
    atomic_store_explicit(&cmd->held, false, memory_order_relaxed);
  if (null_handle_held(nd, cmd, rq, io))
    return 0;
  /* each request weighs 1 against a fault's space, as null_blk passes it */
  if (rnull_fault_hit_io(&lv->timeout_fault, io->offset, io->len)) {
    /* lost: keep ownership, drop our reference (2 -> 1); the timeout ends it */
    rnull_rq_put(rq);
    return 0;
  }
  if (!cmd->fault_requeued && rnull_fault_hit_io(&lv->requeue_fault, io->offset, io->len)) {
    cmd->fault_requeued = true;
    return RNULL_STS_RESOURCE;
  }
  int status = null_handle_error_faults(lv, io);
  if (status == 0)
    status = nd->params.memory_backed ? null_serve_faulty(nd, lv, rq) : null_serve(nd, rq);
  if (!null_handle_latency(nd, lv, cmd, rq, status))
    null_handle_completion(nd, lv, cmd, rq, status);
  return 0;
}

static void null_complete(struct rnull_rq *rq) {
  null_end(rq, ((struct null_cmd *)rnull_rq_pdu(rq))->status);
}

/* A request the driver lost (timeout fault): end it with an error, as
 * blk-mq's timeout path does; the core counted it. */
static enum rnull_timeout_ret null_timeout(struct rnull_rq *rq) {
  struct null_cmd *cmd = rnull_rq_pdu(rq);
  null_claim_held(cmd->nd, cmd, rq); /* a held request times out as on a hung disk */
  return rnull_rq_end(rq, -ETIMEDOUT) == 0 ? RNULL_EH_DONE : RNULL_EH_RESET_TIMER;
}

/* Release the held requests of one hw queue: each is served now (error 0)
 * or failed with -error, and completed through the core (ops->complete at
 * the queue's next run; the kick wakes its loop). Tags are walked, so no
 * list can go stale when the timeout path or an abort ends a held one. */
unsigned null_release_queue(struct null_dev *nd, struct rnull_hctx *h, unsigned depth, int error) {
  unsigned n = 0;
  for (uint32_t tag = 0; tag < depth; tag++) {
    struct rnull_rq *rq = rnull_tag_to_rq(h, tag); /* 1 -> 2 for a held one */
    if (!rq)
      continue;
    struct null_cmd *cmd = rnull_rq_pdu(rq);
    if (!null_claim_held(nd, cmd, rq)) {
      rnull_rq_put(rq);
      continue;
    }
    cmd->status = error ? -error : null_serve(nd, rq);
    rnull_rq_complete(rq); /* our reference goes to the core */
    n++;
  }
  return n;
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

/* Given data (an earlier power cycle's) serves again if it was made with
 * this size and page size (blocksize may change: pages are max(4 KiB,
 * blocksize)); data of another size refuses the power on (a resize of a
 * disk holding data would lose or misplace it), empty data is dropped. */
static int adopt_media(struct null_dev *nd, const struct rnull_disk *disk, uint32_t page, char *err,
                       size_t errlen) {
  struct rnull_null_media *m = nd->media;
  struct rnull_store *s = m->store;
  uint64_t size = rnull_disk_size(disk), held = rnull_null_media_bytes(m);
  if (nd->params.memory_backed && s->size == size && s->page_size == page) {
    nd->store = s;
    free(m);
    nd->media = NULL;
    return 0;
  }
  if (held == 0) { /* nothing to keep: start afresh */
    rnull_null_media_free(m);
    nd->media = NULL;
    return 1;
  }
  if (!nd->params.memory_backed)
    snprintf(err, errlen,
             "memory_backed=0: the disk holds %" PRIu64 " bytes of data from before its power "
             "off; set memory_backed=1 again, or remove the disk and create it anew",
             held);
  else
    snprintf(err, errlen,
             "size=%" PRIu64 ": the disk holds %" PRIu64 " bytes of data written with size=%" PRIu64
             "; a memory-backed disk keeps its size while it holds data: set it back, or remove "
             "the disk and create it anew",
             size, held, s->size);
  return -EINVAL;
}

/* power_cut: the cut's choices from the keys; its seed follows fault_seed
 * (else seed, else the clock), the same every power cycle. */
static void schedule_power_cuts(struct null_dev *nd, const struct rnull_disk *disk) {
  const struct rnull_null_params *p = &nd->params;
  uint64_t seed = null_fault_seed(nd, p->fault_seed);
  struct rnull_power_cut pc;
  rnull_power_cut_init(&pc);
  pc.lose = p->power_cut_prefix ? RNULL_LOSE_PREFIX
            : p->power_cut_keep ? RNULL_LOSE_SOME
                                : RNULL_LOSE_ALL;
  pc.keep = (unsigned)p->power_cut_keep;
  pc.torn = p->power_cut_torn;
  pc.seed = seed + 4 ? seed + 4 : 4;
  rnull_store_cache_schedule(nd->store, &p->power_cut, seed + 3, &pc,
                             rnull_disk_physical_block_size(disk), (struct rnull_disk *)disk,
                             nd->on_cut, nd->on_cut_arg);
}

static int create_store(struct null_dev *nd, const struct rnull_disk *disk, char *err,
                        size_t errlen) {
  uint32_t bs = rnull_disk_logical_block_size(disk), page = bs > 4096 ? bs : 4096;
  uint64_t size = rnull_disk_size(disk);
  int r = nd->media ? adopt_media(nd, disk, page, err, errlen) : 1;
  if (r < 0)
    return r;
  if (r > 0)
    nd->store = nd->params.memory_backed ? rnull_store_memory_create(size, page)
                                         : rnull_store_null_create(size);
  if (!nd->store) {
    int e = errno ? errno : ENOMEM;
    snprintf(err, errlen, "cannot create the %s store: %s",
             nd->params.memory_backed ? "memory" : "null", strerror(e));
    return -e;
  }
  if (nd->params.memory_backed)
    rnull_store_memory_set_limit(nd->store, nd->params.memory_limit);
  if (nd->params.cache_size) { /* the volatile cache in front of the pages */
    struct rnull_store *c = rnull_store_cache_create(nd->store, nd->params.cache_size);
    if (!c) {
      snprintf(err, errlen, "cache_size=%" PRIu64 ": out of memory", nd->params.cache_size);
      return -ENOMEM;
    }
    nd->store = c;
    if (nd->params.power_cut.enabled)
      schedule_power_cuts(nd, disk);
  }
  return 0;
}

/* log_writes: the file (truncated) and its writer; the ring holds the
 * largest request and then some, so requests stream while the writer runs. */
static int open_log_writes(struct null_dev *nd, const struct rnull_disk *disk, char *err,
                           size_t errlen) {
  if (!nd->params.log_writes[0])
    return 0;
  size_t ring = (size_t)rnull_disk_max_transfer(disk) + (64u << 10);
  ring = ring < (16u << 20) ? 16u << 20 : ring;
  nd->log =
      null_log_open(nd->params.log_writes, rnull_disk_logical_block_size(disk), ring, err, errlen);
  return nd->log ? 0 : -EIO;
}

/* The latency snapshot and one generator per hw queue, seeded from seed
 * (else fault_seed, else the clock): queue i draws its own sequence. */
static int init_latency(struct null_dev *nd, const struct rnull_disk *disk, char *err,
                        size_t errlen) {
  int r;
  nd->staged_latency = null_latency_create(&nd->params, &r, err, errlen);
  if (r < 0)
    return r;
  nd->latency_staged = true;
  nd->nr_queues = rnull_disk_nr_hw_queues(disk);
  nd->queues = calloc(nd->nr_queues, sizeof *nd->queues);
  if (!nd->queues) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  uint64_t seed = nd->params.seed ? nd->params.seed : null_fault_seed(nd, nd->params.fault_seed);
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
  const struct rnull_null_params *p = &nd->params;
  nd->live_params = *p;
  nd->live_core = *rnull_disk_params(disk);
  pthread_mutex_init(&nd->live_lock, NULL);
  rnull_badblocks_init(&nd->badblocks, p->badblocks.r, p->badblocks.n, p->badblocks_once);
  atomic_init(&nd->has_badblocks, p->badblocks.n > 0);
  rnull_throttle_init(&nd->throttle, p->mbps, rnull_disk_now(disk));
  null_fair_share(disk, p->mbps);
  rnull_throttle_init_rate(&nd->iops_throttle, p->iops, iops_burst(p->iops), rnull_disk_now(disk));
  atomic_init(&nd->live, NULL);
  nd->inited = true;
  int r = init_latency(nd, disk, err, errlen);
  if (r < 0)
    return r;
  struct null_live *lv = null_live_new(nd, NULL, NULL); /* takes the staged model */
  if (!lv) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  atomic_store(&nd->live, lv);
  /* both stores zero by freeing or skipping pages: never slower than a write */
  unsigned features = RNULL_FEAT_FAST_ZERO;
  if (p->discard)
    features |= RNULL_FEAT_DISCARD;
  if (!p->memory_backed && !p->log_writes[0]) /* the log needs the writes' data */
    features |= RNULL_FEAT_READS_ZERO;
  if (p->cache_size)
    features |= RNULL_FEAT_VOLATILE_CACHE | (p->fua ? 0 : RNULL_FEAT_NO_FUA);
  rnull_disk_set_features(disk, features);
  if ((r = create_store(nd, disk, err, errlen)) < 0)
    return r;
  return open_log_writes(nd, disk, err, errlen);
}

static void null_free_disk(struct rnull_disk *disk, void *driver_data) {
  (void)disk;
  struct null_dev *nd = driver_data;
  null_log_close(nd->log); /* what is pending, the end mark, the super block */
  if (nd->inited) {
    rnull_badblocks_destroy(&nd->badblocks);
    rnull_throttle_destroy(&nd->throttle);
    rnull_throttle_destroy(&nd->iops_throttle);
    pthread_mutex_destroy(&nd->live_lock);
    for (struct null_live *lv = atomic_load(&nd->live), *next; lv; lv = next) {
      next = lv->retired;
      if (lv->owns_latency)
        null_latency_free(lv->latency);
      free(lv);
    }
  }
  for (unsigned i = 0; nd->queues && i < nd->nr_queues; i++)
    pthread_mutex_destroy(&nd->queues[i].lock);
  free(nd->queues);
  null_latency_free(nd->staged_latency); /* init_disk failed before taking it */
  if (nd->store)
    rnull_store_destroy(nd->store);
  rnull_null_media_free(nd->media); /* given but never adopted */
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
  int r = rnull_config_check(cfg, err, errlen);
  if (r || (r = rnull_disk_create(&d, &cfg->core, err, errlen)) != 0)
    return r;
  struct null_dev *nd = calloc(1, sizeof *nd);
  if (!nd) {
    rnull_disk_destroy(d);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  nd->params = cfg->null; /* the driver's keys are the driver's: the core has none */
  rnull_disk_set_ops(d, &null_ops, nd);
  *out = d;
  return 0;
}

bool null_dev_is(const struct rnull_disk *d) { return rnull_disk_ops(d) == &null_ops; }

struct null_dev *null_dev_added(const struct rnull_disk *d) {
  if (rnull_disk_state(d) != RNULL_DISK_ADDED || !null_dev_is(d))
    return NULL;
  struct null_dev *nd = rnull_disk_driver_data(d);
  return nd && nd->inited ? nd : NULL;
}

int rnull_null_disk_config(const struct rnull_disk *d, struct rnull_config *cfg) {
  if (!null_dev_is(d))
    return -EINVAL;
  struct null_dev *nd = rnull_disk_driver_data(d);
  if (nd->inited) {
    pthread_mutex_lock(&nd->live_lock);
    cfg->core = nd->live_core;
    cfg->null = nd->live_params;
    pthread_mutex_unlock(&nd->live_lock);
  } else {
    cfg->core = *rnull_disk_params(d);
    cfg->null = nd->params;
  }
  return 0;
}

size_t null_cmd_size(void) { return sizeof(struct null_cmd); }
