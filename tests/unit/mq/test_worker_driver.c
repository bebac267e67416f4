/* What a driver with its own threads does through the public driver API
 * alone (the shape of a file-backed, loop-style driver): queue_rq batches
 * requests and commit_rqs (or is_last) hands the batch to worker threads;
 * a full worker queue answers RNULL_STS_RESOURCE; workers complete out of
 * order, writes with rnull_rq_end from the worker, reads deferred with
 * rnull_rq_complete, whose kick wakes the front end to run the hctx. */
#include <stdlib.h>
#include <unistd.h>

#include "fixture.h"

#define NR_IO 64
#define RING 4 /* requests the workers take at once: smaller than the depth */
#define BS 512

static uint8_t file[64 * BS]; /* the "image file" */

static struct {
  pthread_mutex_t lock;
  pthread_cond_t work, kicked;
  struct rnull_rq *pending[64], *ring[RING]; /* batched by queue_rq; taken by workers */
  unsigned nr_pending, nr_ring, kicks;
  bool stop;
} w = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .work = PTHREAD_COND_INITIALIZER,
       .kicked = PTHREAD_COND_INITIALIZER};

static void do_io(struct rnull_rq *rq) {
  const struct rnull_io *io = rnull_rq_io(rq);
  usleep((unsigned)(rand() % 300)); /* out of order */
  if (io->op == RNULL_OP_WRITE) {
    memcpy(file + io->offset, io->buf, io->len);
    ck_assert_int_eq(rnull_rq_end(rq, 0), 0); /* straight from the worker */
  } else {
    memcpy(io->buf, file + io->offset, io->len);
    rnull_rq_complete(rq); /* ends in the front end's thread, via the kick */
  }
}

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&w.lock);
  for (;;) {
    while (!w.nr_ring && !w.stop)
      pthread_cond_wait(&w.work, &w.lock);
    if (!w.nr_ring)
      break;
    struct rnull_rq *rq = w.ring[--w.nr_ring];
    pthread_mutex_unlock(&w.lock);
    do_io(rq);
    pthread_mutex_lock(&w.lock);
  }
  pthread_mutex_unlock(&w.lock);
  return NULL;
}

/* Move the batch to the workers, lock held. */
static void flush_batch(void) {
  for (unsigned i = 0; i < w.nr_pending; i++)
    w.ring[w.nr_ring++] = w.pending[i];
  w.nr_pending = 0;
  pthread_cond_broadcast(&w.work);
}

static int wd_queue_rq(struct rnull_rq *rq, bool is_last) {
  struct rnull_hctx *h = rnull_rq_hctx(rq); /* what a driver reaches from a request */
  ck_assert_uint_eq(rnull_hctx_index(h), 0);
  ck_assert_uint_eq(rnull_disk_logical_block_size(rnull_hctx_disk(h)), BS);
  pthread_mutex_lock(&w.lock);
  if (w.nr_ring + w.nr_pending == RING) { /* workers busy: come back later */
    flush_batch();
    pthread_mutex_unlock(&w.lock);
    return RNULL_STS_RESOURCE;
  }
  w.pending[w.nr_pending++] = rq;
  if (is_last)
    flush_batch();
  pthread_mutex_unlock(&w.lock);
  return 0;
}

static void wd_commit_rqs(struct rnull_hctx *h) {
  (void)h;
  pthread_mutex_lock(&w.lock);
  flush_batch();
  pthread_mutex_unlock(&w.lock);
}

static void wd_complete(struct rnull_rq *rq) { ck_assert_int_eq(rnull_rq_end(rq, 0), 0); }

static const struct rnull_ops worker_ops = {
    .queue_rq = wd_queue_rq, .commit_rqs = wd_commit_rqs, .complete = wd_complete};

/* The front end's side: the kick wakes a sleeping loop. */
static void kick(struct rnull_hctx *h, void *ctx) {
  (void)h, (void)ctx;
  pthread_mutex_lock(&w.lock);
  w.kicks++;
  pthread_cond_signal(&w.kicked);
  pthread_mutex_unlock(&w.lock);
}

/* Sleep until kicked (or 10 ms), then run what is due, like a loop would. */
static void loop_turn(struct rnull_hctx *h) {
  pthread_mutex_lock(&w.lock);
  if (!w.kicks) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10000000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&w.kicked, &w.lock, &ts);
  }
  w.kicks = 0;
  pthread_mutex_unlock(&w.lock);
  rnull_hctx_run(h, vclock_ns);
}

static void submit_all(struct rnull_hctx *h, enum rnull_op op, uint8_t bufs[][BS]) {
  for (unsigned i = 0; i < NR_IO; i++) {
    struct rnull_io io = {.op = op,
                          .offset = (uint64_t)i * BS,
                          .len = BS,
                          .buf = bufs[i],
                          .cookie = (void *)(uintptr_t)(i + 1)};
    unsigned flags = RNULL_SUBMIT_NOWAIT | (i % 8 == 7 ? RNULL_SUBMIT_LAST : 0);
    int r;
    while ((r = rnull_submit(h, &io, flags)) == -EAGAIN) /* no tag: back-pressure */
      loop_turn(h);
    ck_assert_int_eq(r, 0);
    if (i % 8 == 7)
      rnull_hctx_commit(h);
  }
}

static void wait_ends(struct rnull_hctx *h, unsigned n) {
  for (unsigned turns = 0; atomic_load(&nr_ends) < n && turns < 5000; turns++)
    loop_turn(h);
  ck_assert_uint_eq(atomic_load(&nr_ends), n);
}

START_TEST(worker_threads_out_of_order_with_batching_and_resource) {
  static const char *const kv[] = {"size=32K", "blocksize=512", "hw_queue_depth=16", NULL};
  struct rnull_disk *d = make_disk(kv, &worker_ops, NULL);
  struct rnull_hctx *h = rnull_disk_hctx(d, 0);
  rnull_hctx_set_kick(h, kick, NULL);
  pthread_t th[3];
  w.stop = false;
  for (unsigned i = 0; i < 3; i++)
    pthread_create(&th[i], NULL, worker, NULL);
  static uint8_t out[NR_IO][BS], in[NR_IO][BS];
  for (unsigned i = 0; i < NR_IO; i++)
    memset(out[i], (int)i + 1, BS);
  submit_all(h, RNULL_OP_WRITE, out);
  wait_ends(h, NR_IO);
  submit_all(h, RNULL_OP_READ, in);
  wait_ends(h, 2 * NR_IO);
  bool in_order = true;
  for (unsigned i = 0; i < 2 * NR_IO; i++) {
    ck_assert_int_eq(ends[i].status, 0);
    in_order &= ends[i].cookie == i % NR_IO + 1;
  }
  for (unsigned i = 0; i < NR_IO; i++)
    ck_assert_mem_eq(in[i], out[i], BS);
  ck_assert(!in_order); /* the workers' usleep shuffles them */
  struct rnull_stats st;
  rnull_hctx_stats(h, &st);
  ck_assert_uint_gt(st.requeues, 0); /* RESOURCE was answered and retried */
  ck_assert_uint_eq(st.errors, 0);
  pthread_mutex_lock(&w.lock);
  w.stop = true;
  pthread_cond_broadcast(&w.work);
  pthread_mutex_unlock(&w.lock);
  for (unsigned i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  rnull_disk_destroy(d);
}
END_TEST

int main(void) {
  Suite *s = suite_create("worker_driver");
  TCase *tc = new_tcase("worker_driver");
  tcase_add_test(tc, worker_threads_out_of_order_with_batching_and_resource);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
