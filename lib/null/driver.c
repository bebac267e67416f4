/* The null block driver: one implementation of struct rnull_ops. It moves
 * data through the store (or not), applies fault injection and bad blocks,
 * and completes the way irqmode says. Its driver_data is the disk. */
#include <errno.h>
#include <sched.h>

#include "../mq/mq.h"

/* Bad blocks: EIO, unless a memory-backed write covers every bad range it
 * touches, which then reads back what was written (the sectors are remapped). */
static int null_badblocks(struct rnull_disk *d, const struct rnull_io *io) {
  uint64_t sector = io->offset >> 9, nr = io->len >> 9, first_bad;
  if (!rnull_badblocks_check(&d->badblocks, sector, nr, &first_bad))
    return 0;
  if (d->cfg.memory_backed && io->op == RNULL_OP_WRITE &&
      rnull_badblocks_covers(&d->badblocks, sector, nr)) {
    rnull_badblocks_clear(&d->badblocks, sector, nr);
    return 0;
  }
  return -EIO;
}

static int null_transfer(struct rnull_disk *d, struct rnull_rq *rq) {
  struct rnull_store *s = d->store;
  const struct rnull_io *io = &rq->io;
  bool zero = false;
  int r;
  if (d->cfg.nr_badblocks && (io->op == RNULL_OP_READ || io->op == RNULL_OP_WRITE) &&
      (r = null_badblocks(d, io)) != 0)
    return r;
  switch (io->op) {
  case RNULL_OP_READ: /* data ops: len <= max_transfer (rnull_disk checked it) */
    r = s->ops->read(s, io->buf, io->offset, (uint32_t)io->len, &zero);
    if (zero)
      rq->done_flags |= RNULL_DONE_ZERO;
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

/* End our request. Another holder (tag_to_rq, the timeout scan) only looks
 * and lets go, so wait for it rather than losing the request. */
static void null_end(struct rnull_rq *rq, int status) {
  for (unsigned spins = 0; rnull_rq_end(rq, status) == -EBUSY; spins++)
    if (spins > 64)
      sched_yield();
}

static int null_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  struct rnull_disk *d = rq->hctx->disk;
  /* each request weighs 1 against a fault's space, as null_blk passes it */
  if (rnull_fault_hit(&d->timeout_fault, 1)) {
    /* lost: keep ownership, drop our reference (2 -> 1); the timeout ends it */
    rnull_rq_put(rq);
    return 0;
  }
  if (!rq->requeued && rnull_fault_hit(&d->requeue_fault, 1)) {
    rq->requeued = true;
    return RNULL_STS_RESOURCE;
  }
  rq->status = rnull_fault_hit(&d->error_fault, 1) ? -EIO : null_transfer(d, rq);
  if (d->cfg.irqmode == RNULL_IRQ_NONE) {
    null_end(rq, rq->status);
    return 0;
  }
  rnull_rq_complete(rq);
  return 0;
}

static void null_complete(struct rnull_rq *rq) { null_end(rq, rq->status); }

/* A request the driver lost (timeout fault): end it with an error, as
 * blk-mq's timeout path does; the engine counted it. */
static enum rnull_timeout_ret null_timeout(struct rnull_rq *rq) {
  return rnull_rq_end(rq, -ETIMEDOUT) == 0 ? RNULL_EH_DONE : RNULL_EH_RESET_TIMER;
}

const struct rnull_ops rnull_null_ops = {
    .queue_rq = null_queue_rq,
    .complete = null_complete,
    .timeout = null_timeout,
};
