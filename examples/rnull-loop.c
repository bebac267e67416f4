/* rnull-loop: a file-backed block driver, in the spirit of Linux's loop
 * driver, served over NBD. Written against the installed API only
 * (pkg-config rnull-nbd): the driver API (rnull/driver.h) and the NBD
 * server library (rnull/nbd_server.h).
 *
 *   rnull-loop IMAGE [--unix PATH | --port N] [--workers N] [--queued N] [key=value...]
 *
 * Keys: the core's (blocksize, readonly, submit_queues, hw_queue_depth,
 * timeout_ms...: rnull_disk_options), this driver's own table (discard) and
 * the front ends' (stats_file); any other key, the null driver's mbps= say,
 * is refused naming the key and the driver. The size is the image's.
 *
 * The disk is IMAGE's size (rounded down to the block size). A small pool
 * of worker threads does pread/pwrite/fdatasync/fallocate on the image:
 *  - queue_rq gathers requests in a per-hw-queue batch; the batch goes to
 *    the workers (one lock, one wake-up) at is_last or commit_rqs;
 *  - with --queued requests already at the workers, queue_rq says
 *    RNULL_STS_RESOURCE and the core dispatches the request again later;
 *  - a worker hands a finished request back with rnull_rq_complete: the
 *    core kicks the server's loop, whose ops->complete ends it there.
 *    Workers finish in any order, so requests complete out of order.
 * No allocation per request: the command lives in the request's PDU. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rnull/driver.h>
#include <rnull/nbd_server.h>

#define MAX_WORKERS 64

/* The PDU: one command per request. */
struct loop_cmd {
  struct rnull_rq *rq;
  struct loop_cmd *next;
  int status;
};

/* The driver's own keys (its table below: the core never sees them). */
struct loop_params {
  bool discard;
};

static const struct rnull_option loop_options[] = {
    RNULL_OPT(struct loop_params, "discard", BOOL, bool, "1", 0, 1, discard,
              "offer trim: punch holes in the image (fallocate)"),
};
static const struct rnull_option_table loop_table =
    RNULL_OPT_TABLE("loop driver", RNULL_OWNER_DRIVER, loop_options, struct loop_params);

/* The driver's state (driver_data), shared by the hw queues. */
struct loop_dev {
  struct loop_params params;
  int fd;
  unsigned nr_workers, started, max_queued;
  pthread_t workers[MAX_WORKERS];
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct loop_cmd *head, *tail; /* handed to the workers, under lock */
  atomic_uint queued;           /* with the workers: queued or running */
  bool quit;
};

/* Per hw queue (hctx driver_data): the batch being gathered, touched only
 * by the thread driving the hctx. */
struct loop_queue {
  struct loop_dev *dev;
  struct loop_cmd *head, *tail;
  unsigned n;
};

/* Whole-range pread/pwrite; a read past the end of the file reads zeros. */
static int rw_full(int fd, bool write, char *buf, size_t len, off_t off) {
  while (len) {
    ssize_t n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -errno;
    if (n == 0) {
      if (write)
        return -EIO;
      memset(buf, 0, len);
      return 0;
    }
    buf += n;
    len -= (size_t)n;
    off += n;
  }
  return 0;
}

static int sync_or_errno(int fd) { return fdatasync(fd) < 0 ? -errno : 0; }

/* Zeroes: punch a hole (reads as zeros); NOUNMAP allocates it again. */
static int zero_range(int fd, const struct rnull_io *io) {
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)io->offset, (off_t)io->len) <
      0)
    return -errno;
  if ((io->flags & RNULL_IO_NOUNMAP) &&
      fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)io->offset, (off_t)io->len) < 0)
    return -errno;
  return 0;
}

/* One I/O on the image, in a worker thread. 0 or -errno. */
static int do_io(int fd, const struct rnull_io *io) {
  int r = 0;
  switch (io->op) {
  case RNULL_OP_READ:
    return rw_full(fd, false, io->buf, io->len, (off_t)io->offset);
  case RNULL_OP_WRITE:
    r = rw_full(fd, true, io->buf, io->len, (off_t)io->offset);
    break;
  case RNULL_OP_FLUSH:
    return sync_or_errno(fd);
  case RNULL_OP_DISCARD:
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)io->offset,
                  (off_t)io->len) < 0)
      return -errno;
    return 0;
  case RNULL_OP_WRITE_ZEROES:
    r = zero_range(fd, io);
    break;
  case RNULL_OP_CACHE:
    return -posix_fadvise(fd, (off_t)io->offset, (off_t)io->len, POSIX_FADV_WILLNEED);
  default:
    return -EINVAL;
  }
  if (r == 0 && (io->flags & RNULL_IO_FUA))
    r = sync_or_errno(fd);
  return r;
}

static void *worker_main(void *arg) {
  struct loop_dev *dev = arg;
  pthread_mutex_lock(&dev->lock);
  for (;;) {
    while (!dev->quit && !dev->head)
      pthread_cond_wait(&dev->cond, &dev->lock);
    if (!dev->head) /* quit, nothing left */
      break;
    struct loop_cmd *cmd = dev->head;
    dev->head = cmd->next;
    if (!dev->head)
      dev->tail = NULL;
    pthread_mutex_unlock(&dev->lock);
    cmd->status = do_io(dev->fd, rnull_rq_io(cmd->rq));
    atomic_fetch_sub(&dev->queued, 1);
    rnull_rq_complete(cmd->rq); /* ops->complete ends it on the server's loop */
    pthread_mutex_lock(&dev->lock);
  }
  pthread_mutex_unlock(&dev->lock);
  return NULL;
}

/* Hand the gathered batch to the workers: one lock, one wake-up. */
static void flush_batch(struct loop_queue *q) {
  if (!q->n)
    return;
  struct loop_dev *dev = q->dev;
  pthread_mutex_lock(&dev->lock);
  if (dev->tail)
    dev->tail->next = q->head;
  else
    dev->head = q->head;
  dev->tail = q->tail;
  if (q->n > 1)
    pthread_cond_broadcast(&dev->cond);
  else
    pthread_cond_signal(&dev->cond);
  pthread_mutex_unlock(&dev->lock);
  q->head = q->tail = NULL;
  q->n = 0;
}

/* Gather into the batch; busy workers: the core requeues (counted). */
static int loop_queue_rq(struct rnull_rq *rq, bool is_last) {
  struct loop_queue *q = rnull_hctx_driver_data(rnull_rq_hctx(rq));
  if (atomic_load(&q->dev->queued) >= q->dev->max_queued) {
    flush_batch(q); /* what was gathered goes now; this one comes back later */
    return RNULL_STS_RESOURCE;
  }
  atomic_fetch_add(&q->dev->queued, 1);
  struct loop_cmd *cmd = rnull_rq_pdu(rq);
  *cmd = (struct loop_cmd){.rq = rq};
  if (q->tail)
    q->tail->next = cmd;
  else
    q->head = cmd;
  q->tail = cmd;
  q->n++;
  if (is_last)
    flush_batch(q);
  return 0;
}

/* End of a batch: the workers get it. */
static void loop_commit_rqs(struct rnull_hctx *hctx) { flush_batch(rnull_hctx_driver_data(hctx)); }

/* A worker finished it (rnull_rq_complete): end it on the server's loop. */
static void loop_complete(struct rnull_rq *rq) {
  struct loop_cmd *cmd = rnull_rq_pdu(rq);
  rnull_rq_end(rq, cmd->status);
}

/* Block status from the image's holes (SEEK_DATA/SEEK_HOLE move no offset
 * any pread depends on). */
static int loop_extent(struct rnull_disk *disk, uint64_t offset, uint64_t len, uint64_t *len_out,
                       bool *hole) {
  struct loop_dev *dev = rnull_disk_driver_data(disk);
  off_t data = lseek(dev->fd, (off_t)offset, SEEK_DATA);
  if (data < 0 && errno != ENXIO)
    return -errno;
  *hole = data < 0 || (uint64_t)data > offset;
  uint64_t end = data < 0 ? offset + len : (uint64_t)data;
  if (!*hole) {
    off_t h = lseek(dev->fd, (off_t)offset, SEEK_HOLE);
    if (h < 0)
      return -errno;
    end = (uint64_t)h;
  }
  *len_out = end - offset < len ? end - offset : len;
  return 0;
}

/* Offer trim, start the workers. */
static int loop_init_disk(struct rnull_disk *disk, void *data, char *err, size_t errlen) {
  struct loop_dev *dev = data;
  rnull_disk_set_features(disk, dev->params.discard ? RNULL_FEAT_DISCARD : 0);
  for (; dev->started < dev->nr_workers; dev->started++) {
    if (pthread_create(&dev->workers[dev->started], NULL, worker_main, dev) != 0) {
      snprintf(err, errlen, "cannot start worker %u", dev->started);
      return -EAGAIN; /* free_disk joins those started */
    }
  }
  return 0;
}

/* Stop the workers (nothing is in flight any more). */
static void loop_free_disk(struct rnull_disk *disk, void *data) {
  (void)disk;
  struct loop_dev *dev = data;
  pthread_mutex_lock(&dev->lock);
  dev->quit = true;
  pthread_cond_broadcast(&dev->cond);
  pthread_mutex_unlock(&dev->lock);
  for (unsigned i = 0; i < dev->started; i++)
    pthread_join(dev->workers[i], NULL);
}

/* Each hw queue gathers its own batch. */
static int loop_init_hctx(struct rnull_hctx *hctx, void *data, unsigned idx) {
  (void)idx;
  struct loop_queue *q = calloc(1, sizeof(*q));
  if (!q)
    return -ENOMEM;
  q->dev = data;
  rnull_hctx_set_driver_data(hctx, q);
  return 0;
}

static void loop_exit_hctx(struct rnull_hctx *hctx, unsigned idx) {
  (void)idx;
  free(rnull_hctx_driver_data(hctx));
}

static const struct rnull_ops loop_ops = {
    .queue_rq = loop_queue_rq,
    .commit_rqs = loop_commit_rqs,
    .complete = loop_complete,
    .extent = loop_extent,
    .init_disk = loop_init_disk,
    .free_disk = loop_free_disk,
    .init_hctx = loop_init_hctx,
    .exit_hctx = loop_exit_hctx,
    .cmd_size = sizeof(struct loop_cmd),
};

/* key=value: the core's, this driver's or the front ends' (stats_file);
 * anything else is refused, naming the key and whose it is. */
static int set_key(struct rnull_disk_params *core, struct loop_params *own,
                   struct rnull_frontend_params *fe, const char *kv, char *err, size_t errlen) {
  const char *eq = strchr(kv, '=');
  char key[64];
  snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
  const struct rnull_option *o = rnull_option_table_find(&loop_table, key);
  if (o)
    return rnull_option_set(o, own, eq + 1, err, errlen);
  if (rnull_option_table_find(rnull_disk_options(), key))
    return rnull_disk_params_set(core, key, eq + 1, err, errlen);
  if (rnull_option_table_find(rnull_frontend_options(), key))
    return rnull_option_table_set(rnull_frontend_options(), fe, key, eq + 1, err, errlen);
  const struct rnull_option_table *mine[] = {rnull_disk_options(), &loop_table,
                                             rnull_frontend_options()};
  return rnull_option_refuse(mine, 3, key, eq + 1, err, errlen);
}

static int usage(void) {
  fprintf(stderr, "usage: rnull-loop IMAGE [--unix PATH | --port N] [--workers N] "
                  "[--queued N] [key=value...]\n");
  return 2;
}

int main(int argc, char **argv) {
  static struct loop_dev dev = {.nr_workers = 4,
                                .max_queued = 32,
                                .lock = PTHREAD_MUTEX_INITIALIZER,
                                .cond = PTHREAD_COND_INITIALIZER};
  struct rnull_nbd_server_opts o;
  struct rnull_disk_params cfg;
  struct rnull_frontend_params fe;
  char err[RNULL_ERR_LEN] = "";
  rnull_nbd_server_opts_init(&o);
  o.progname = "rnull-loop";
  o.announce = true;
  rnull_disk_params_init(&cfg);
  rnull_option_table_defaults(&loop_table, &dev.params);
  rnull_option_table_defaults(rnull_frontend_options(), &fe);
  if (argc < 2)
    return usage();
  for (int i = 2; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--unix") && v)
      o.unix_path = argv[++i];
    else if (!strcmp(argv[i], "--port") && v)
      o.port = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--workers") && v)
      dev.nr_workers = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--queued") && v)
      dev.max_queued = (unsigned)atoi(argv[++i]);
    else if (!strchr(argv[i], '=') || set_key(&cfg, &dev.params, &fe, argv[i], err, sizeof err) < 0)
      return err[0] ? fprintf(stderr, "rnull-loop: %s\n", err), 1 : usage();
  }
  if (dev.nr_workers < 1 || dev.nr_workers > MAX_WORKERS || dev.max_queued < 1) {
    fprintf(stderr, "rnull-loop: --workers 1..%d, --queued >= 1\n", MAX_WORKERS);
    return 1;
  }
  if (rnull_frontend_params_check(&fe, err, sizeof err) < 0) {
    fprintf(stderr, "rnull-loop: %s\n", err);
    return 1;
  }
  o.stats_file = fe.stats_file[0] ? fe.stats_file : NULL;
  struct stat st;
  dev.fd = open(argv[1], (cfg.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (dev.fd < 0 || fstat(dev.fd, &st) < 0) {
    perror(argv[1]);
    return 1;
  }
  cfg.size = (uint64_t)st.st_size / cfg.blocksize * cfg.blocksize;

  struct rnull_disk *disk = NULL;
  struct rnull_nbd_server *srv = NULL;
  int r = rnull_disk_create(&disk, &cfg, err, sizeof err);
  if (r == 0)
    r = rnull_disk_set_ops(disk, &loop_ops, &dev);
  if (r == 0)
    r = rnull_nbd_server_create(&srv, disk, &o, err, sizeof err);
  if (r == 0)
    r = rnull_nbd_server_run(srv, err, sizeof err);
  if (r < 0)
    fprintf(stderr, "rnull-loop: %s\n", err[0] ? err : strerror(-r));
  rnull_nbd_server_destroy(srv);
  rnull_disk_destroy(disk); /* free_disk stops the workers */
  close(dev.fd);
  return r < 0;
}
