/* The disk: core parameters, state (INITIALIZED -> ADDED), the driver and the
 * hardware queues, and the checks every I/O passes before it gets a tag. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mq.h"

int rnull_disk_create(struct rnull_disk **out, const struct rnull_disk_params *p, char *err,
                      size_t errlen) {
  int r = rnull_disk_params_check(p, err, errlen);
  if (r)
    return r;
  struct rnull_disk *d = calloc(1, sizeof *d);
  if (!d) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  d->params = *p;
  d->state = RNULL_DISK_INITIALIZED;
  d->clock = rnull_clock_monotonic;
  *out = d;
  return 0;
}

int rnull_disk_set(struct rnull_disk *d, const char *key, const char *value, char *err,
                   size_t errlen) {
  if (d->state != RNULL_DISK_INITIALIZED) {
    snprintf(err, errlen, "%s: the disk is serving; its configuration is frozen", key);
    return -EBUSY;
  }
  struct rnull_disk_params p = d->params;
  int r = rnull_disk_params_set(&p, key, value, err, errlen);
  if (!r)
    r = rnull_disk_params_check(&p, err, errlen);
  if (!r)
    d->params = p;
  return r;
}

int rnull_disk_set_ops(struct rnull_disk *d, const struct rnull_ops *ops, void *driver_data) {
  if (d->state != RNULL_DISK_INITIALIZED)
    return -EBUSY;
  d->ops = ops;
  d->driver_data = driver_data;
  return 0;
}

int rnull_disk_set_clock(struct rnull_disk *d, rnull_clock_fn clock, void *ctx) {
  if (d->state != RNULL_DISK_INITIALIZED)
    return -EBUSY;
  d->clock = clock;
  d->clock_ctx = ctx;
  return 0;
}

int rnull_disk_set_features(struct rnull_disk *d, unsigned features) {
  if (d->state != RNULL_DISK_INITIALIZED)
    return -EBUSY;
  d->features = features;
  return 0;
}

static int init_hctx(struct rnull_disk *d, struct rnull_hctx *h, unsigned i, char *err,
                     size_t errlen) {
  const struct rnull_ops *ops = d->ops;
  unsigned depth = d->params.hw_queue_depth;
  h->disk = d;
  h->idx = i;
  h->depth = depth;
  h->driver_data = d->driver_data;
  pthread_mutex_init(&h->lock, NULL);
  pthread_mutex_init(&h->kick_lock, NULL);
  pthread_cond_init(&h->tag_freed, NULL);
  char *pdus = d->pdus ? (char *)d->pdus + (size_t)i * depth * ops->cmd_size : NULL;
  int r = rnull_tagset_init(h, pdus, ops->cmd_size);
  if (r) {
    snprintf(err, errlen, "out of memory allocating %u requests", depth);
    return r;
  }
  if (ops->init_hctx && (r = ops->init_hctx(h, d->driver_data, i)) != 0) {
    snprintf(err, errlen, "driver init_hctx(%u) failed: %s", i, strerror(-r));
    return r;
  }
  for (unsigned t = 0; ops->init_request && t < depth; t++) {
    if ((r = ops->init_request(&h->rqs[t], d->driver_data, i)) != 0) {
      snprintf(err, errlen, "driver init_request(%u, %u) failed: %s", i, t, strerror(-r));
      return r;
    }
  }
  return 0;
}

static int init_hctxs(struct rnull_disk *d, char *err, size_t errlen) {
  const struct rnull_ops *ops = d->ops;
  unsigned depth = d->params.hw_queue_depth;
  d->nr_hctx = d->params.submit_queues;
  d->hctxs = calloc(d->nr_hctx, sizeof *d->hctxs);
  d->pdus = ops->cmd_size ? calloc((size_t)d->nr_hctx * depth, ops->cmd_size) : NULL;
  if (!d->hctxs || (ops->cmd_size && !d->pdus)) {
    snprintf(err, errlen, "out of memory allocating %u x %u requests", d->nr_hctx, depth);
    return -ENOMEM;
  }
  for (unsigned i = 0; i < d->nr_hctx; i++) {
    int r = init_hctx(d, &d->hctxs[i], i, err, errlen);
    if (r)
      return r;
  }
  return 0;
}

int rnull_disk_add(struct rnull_disk *d, rnull_end_io_fn end_io, char *err, size_t errlen) {
  if (d->state != RNULL_DISK_INITIALIZED) {
    snprintf(err, errlen, "the disk was already added");
    return -EBUSY;
  }
  if (!d->ops || !d->ops->queue_rq) {
    snprintf(err, errlen, "no driver attached (rnull_disk_set_ops)");
    return -EINVAL;
  }
  d->end_io = end_io;
  if (!d->params.physical_blocksize) /* 0 follows blocksize, resolved once frozen */
    d->params.physical_blocksize = d->params.blocksize;
  atomic_store(&d->timeout_ns, d->params.timeout_ms * 1000000ull);
  int r = 0;
  if (d->ops->init_disk && (r = d->ops->init_disk(d, d->driver_data, err, errlen)) != 0)
    return r; /* the caller destroys the disk, which frees what was made */
  if ((r = init_hctxs(d, err, errlen)) != 0)
    return r;
  d->state = RNULL_DISK_ADDED;
  return 0;
}

void rnull_disk_destroy(struct rnull_disk *d) {
  if (!d)
    return;
  for (unsigned i = 0; d->hctxs && i < d->nr_hctx; i++) {
    struct rnull_hctx *h = &d->hctxs[i];
    if (!h->rqs)
      continue;
    for (unsigned t = 0; d->ops->exit_request && t < h->depth; t++)
      d->ops->exit_request(&h->rqs[t], i);
    if (d->ops->exit_hctx && d->state == RNULL_DISK_ADDED)
      d->ops->exit_hctx(h, i);
    rnull_tagset_exit(h);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->kick_lock);
    pthread_cond_destroy(&h->tag_freed);
  }
  if (d->ops && d->ops->free_disk)
    d->ops->free_disk(d, d->driver_data);
  free(d->hctxs);
  free(d->pdus);
  free(d);
}

enum rnull_disk_state rnull_disk_state(const struct rnull_disk *d) { return d->state; }
const struct rnull_disk_params *rnull_disk_params(const struct rnull_disk *d) { return &d->params; }
void *rnull_disk_driver_data(const struct rnull_disk *d) { return d->driver_data; }
const struct rnull_ops *rnull_disk_ops(const struct rnull_disk *d) { return d->ops; }
const char *rnull_disk_name(const struct rnull_disk *d) { return d->params.name; }
uint64_t rnull_disk_size(const struct rnull_disk *d) { return d->params.size; }
uint64_t rnull_disk_capacity(const struct rnull_disk *d) { return d->params.size >> 9; }
uint32_t rnull_disk_logical_block_size(const struct rnull_disk *d) { return d->params.blocksize; }
uint32_t rnull_disk_physical_block_size(const struct rnull_disk *d) {
  return d->params.physical_blocksize ? d->params.physical_blocksize : d->params.blocksize;
}
uint32_t rnull_disk_max_transfer(const struct rnull_disk *d) { return d->params.max_transfer; }
bool rnull_disk_rotational(const struct rnull_disk *d) { return d->params.rotational; }
bool rnull_disk_readonly(const struct rnull_disk *d) { return d->params.readonly; }
unsigned rnull_disk_nr_hw_queues(const struct rnull_disk *d) { return d->params.submit_queues; }
unsigned rnull_disk_queue_depth(const struct rnull_disk *d) { return d->params.hw_queue_depth; }
uint64_t rnull_disk_now(const struct rnull_disk *d) { return disk_now(d); }
bool rnull_disk_can_discard(const struct rnull_disk *d) { return d->features & RNULL_FEAT_DISCARD; }
bool rnull_disk_can_fast_zero(const struct rnull_disk *d) {
  return (d->features & RNULL_FEAT_FAST_ZERO) && !d->params.readonly;
}
bool rnull_disk_can_fua(const struct rnull_disk *d) { return !(d->features & RNULL_FEAT_NO_FUA); }
bool rnull_disk_reads_zero(const struct rnull_disk *d) {
  return d->features & RNULL_FEAT_READS_ZERO;
}

struct rnull_hctx *rnull_disk_hctx(struct rnull_disk *d, unsigned idx) {
  return d->state == RNULL_DISK_ADDED && idx < d->nr_hctx ? &d->hctxs[idx] : NULL;
}

int rnull_disk_check_io(const struct rnull_disk *d, const struct rnull_io *io) {
  if (d->state != RNULL_DISK_ADDED)
    return -ESHUTDOWN;
  if ((unsigned)io->op >= RNULL_OP_MAX)
    return -EINVAL;
  bool writes =
      io->op == RNULL_OP_WRITE || io->op == RNULL_OP_WRITE_ZEROES || io->op == RNULL_OP_DISCARD;
  if (writes && d->params.readonly)
    return -EPERM;
  if (io->op == RNULL_OP_DISCARD && !(d->features & RNULL_FEAT_DISCARD))
    return -ENOTSUP;
  if (io->op == RNULL_OP_FLUSH)
    return io->offset == 0 && io->len == 0 ? 0
                                           : (io->offset + io->len > d->params.size ? -EINVAL : 0);
  uint32_t bs = d->params.blocksize;
  if (io->len == 0 || ((io->offset | io->len) & (bs - 1)))
    return -EINVAL;
  if (io->len > d->params.max_transfer && (io->op == RNULL_OP_READ || io->op == RNULL_OP_WRITE))
    return -EINVAL;
  if (io->offset > d->params.size || io->len > d->params.size - io->offset)
    return io->op == RNULL_OP_WRITE || io->op == RNULL_OP_WRITE_ZEROES ? -ENOSPC : -EINVAL;
  return 0;
}

int rnull_disk_extent(struct rnull_disk *d, uint64_t offset, uint64_t len, uint64_t *len_out,
                      bool *hole) {
  if (d->state != RNULL_DISK_ADDED)
    return -ESHUTDOWN;
  if (len == 0 || offset >= d->params.size)
    return -EINVAL;
  if (len > d->params.size - offset)
    len = d->params.size - offset;
  if (!d->ops->extent) { /* a driver that cannot tell: all data */
    *len_out = len;
    *hole = false;
    return 0;
  }
  return d->ops->extent(d, offset, len, len_out, hole);
}

void rnull_disk_set_fair_share(struct rnull_disk *d, uint64_t bytes) {
  atomic_store_explicit(&d->fair_share, bytes, memory_order_relaxed);
}

uint64_t rnull_disk_fair_share(const struct rnull_disk *d) {
  return atomic_load_explicit(&d->fair_share, memory_order_relaxed);
}
