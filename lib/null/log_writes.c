/* The write log (log_writes.h): requests append records to a ring under the
 * log's lock, in the order they are applied to the store; one writer thread
 * turns them into dm-log-writes entries. Records of writes, write zeroes
 * and trims wait for the next flush (dm-log-writes' unflushed list): the
 * writer writes them in place ahead of the committed end, where the flush
 * finds them (the super block counts them then); a FUA write or mark in
 * between moves them to an unlinked spill file, from which the flush writes
 * them after it (see struct pending). */
#include "log_writes.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum rec_kind {
  REC_PENDING, /* write, write zeroes or trim: logged at the next flush */
  REC_NOW,     /* FUA write or mark: logged at once */
  REC_FLUSH,   /* the pending records, then a flush entry */
  REC_END,     /* the pending records, then the end mark; the writer stops */
};

/* A record in the ring, followed by len bytes (data or a mark's text). */
struct rec {
  uint32_t kind;
  uint32_t zero; /* a write zeroes: nr_sectors blocks of zeros, no data in the ring */
  uint64_t sector, nr_sectors, flags, len;
};

/* A pending record the writer holds. While no FUA write or mark comes
 * between it and its flush it is written in place, ahead of the committed
 * end (the super block does not count it yet): in_log, its data at log
 * offset off. A FUA write or mark must come first in the log: the entries
 * in place move to the spill file (in_log false, data at spill offset off),
 * and so do the later ones until the flush. */
struct pending {
  uint64_t sector, nr_sectors, flags, off;
  bool zero, in_log;
};

#define BOUNCE (1u << 20)

struct null_log {
  pthread_mutex_t lock; /* the order of records; the ring's positions */
  pthread_cond_t room, work, done;
  uint8_t *ring;
  size_t cap;
  uint64_t wpos, rpos; /* bytes appended / consumed, ever */
  uint64_t marks_queued, marks_done;
  bool stop;
  atomic_int error; /* errno of the first failed log write */
  pthread_t thread;
  uint32_t ss;
  char path[256];
  int fd, spill;
  /* the writer's own */
  uint64_t pos, entries, spill_pos;
  uint64_t spec_start; /* where the entries written in place begin */
  bool spilling;       /* pending records go to the spill file until the flush */
  struct pending *pend;
  size_t n_pend, cap_pend;
  uint8_t *bounce; /* spill -> log copies, zeros */
  uint8_t *block;  /* one entry block */
  /* published under lock for stats */
  uint64_t st_entries, st_bytes;
};

/* ---- the writer ---- */

static void log_fail_at(struct null_log *l, int e, const char *what, uint64_t at) {
  int none = 0;
  if (!atomic_compare_exchange_strong(&l->error, &none, e ? e : EIO))
    return;
  fprintf(stderr,
          "rnull: log_writes=%s: %s failed at log offset %" PRIu64 ": %s; the disk now fails "
          "writes, write zeroes, trims and flushes with EIO\n",
          l->path, what, at, strerror(e ? e : EIO));
  pthread_mutex_lock(&l->lock);
  pthread_cond_broadcast(&l->room);
  pthread_cond_broadcast(&l->done);
  pthread_mutex_unlock(&l->lock);
}

static void log_fail(struct null_log *l, int e, const char *what) {
  log_fail_at(l, e, what, l->pos);
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off) {
  const uint8_t *p = buf;
  while (len) {
    ssize_t n = pwrite(fd, p, len, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? errno : ENOSPC;
    p += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

/* len bytes of the ring from position at (wrapping) to fd at off. */
static int write_from_ring(struct null_log *l, uint64_t at, uint64_t len, int fd, uint64_t off) {
  size_t i = (size_t)(at % l->cap), first = len < l->cap - i ? (size_t)len : l->cap - i;
  int e = pwrite_all(fd, l->ring + i, first, off);
  return e ? e : pwrite_all(fd, l->ring, (size_t)len - first, off + first);
}

static void ring_copy_out(const struct null_log *l, uint64_t at, void *dst, size_t len) {
  size_t i = (size_t)(at % l->cap), first = len < l->cap - i ? len : l->cap - i;
  memcpy(dst, l->ring + i, first);
  memcpy((uint8_t *)dst + first, l->ring, len - first);
}

static void ring_copy_in(struct null_log *l, uint64_t at, const void *src, size_t len) {
  size_t i = (size_t)(at % l->cap), first = len < l->cap - i ? len : l->cap - i;
  memcpy(l->ring + i, src, first);
  memcpy(l->ring, (const uint8_t *)src + first, len - first);
}

static int write_super(struct null_log *l) {
  struct null_log_super s = {htole64(NULL_LOG_MAGIC), htole64(NULL_LOG_VERSION),
                             htole64(l->entries), htole32(l->ss)};
  memset(l->block, 0, l->ss);
  memcpy(l->block, &s, sizeof s);
  int e = pwrite_all(l->fd, l->block, l->ss, 0);
  if (e)
    log_fail_at(l, e, "the super block's write", 0);
  return e;
}

/* One entry block (with inline text for a mark) at the log's end. */
static int write_entry_at_end(struct null_log *l, uint64_t sector, uint64_t nr, uint64_t flags,
                              const char *text, uint64_t text_len) {
  struct null_log_entry en = {htole64(sector), htole64(nr), htole64(flags), htole64(text_len)};
  memset(l->block, 0, l->ss);
  memcpy(l->block, &en, sizeof en);
  if (text_len)
    memcpy(l->block + sizeof en, text, text_len);
  int e = pwrite_all(l->fd, l->block, l->ss, l->pos);
  if (e) {
    log_fail(l, e, "an entry's write");
    return e;
  }
  l->pos += l->ss;
  return 0;
}

static int write_entry(struct null_log *l, uint64_t sector, uint64_t nr, uint64_t flags,
                       const char *text, uint64_t text_len) {
  int e = write_entry_at_end(l, sector, nr, flags, text, text_len);
  if (!e)
    l->entries++;
  return e;
}

/* len bytes of zeros, or of the spill file from soff, at the log's end. */
static int write_data_from_spill(struct null_log *l, bool zero, uint64_t soff, uint64_t len) {
  if (zero)
    memset(l->bounce, 0, BOUNCE);
  while (len) {
    size_t n = len < BOUNCE ? (size_t)len : BOUNCE;
    if (!zero) {
      ssize_t got = pread(l->spill, l->bounce, n, (off_t)soff);
      if (got != (ssize_t)n) {
        log_fail(l, got < 0 ? errno : EIO, "a read of the spill file");
        return EIO;
      }
    }
    int e = pwrite_all(l->fd, l->bounce, n, l->pos);
    if (e) {
      log_fail(l, e, "a data write");
      return e;
    }
    l->pos += n;
    soff += n;
    len -= n;
  }
  return 0;
}

static int commit_pending(struct null_log *l) {
  for (size_t i = 0; i < l->n_pend; i++) {
    struct pending *p = &l->pend[i];
    if (p->in_log) { /* written in place already */
      l->entries++;
      continue;
    }
    if (write_entry(l, p->sector, p->nr_sectors, p->flags, NULL, 0))
      return EIO;
    if (!(p->flags & NULL_LOG_DISCARD) &&
        write_data_from_spill(l, p->zero, p->off, p->nr_sectors * l->ss))
      return EIO;
  }
  if (l->spill_pos && ftruncate(l->spill, 0) < 0) { /* give the space back; not fatal */
  }
  l->n_pend = 0;
  l->spill_pos = 0;
  l->spilling = false;
  return 0;
}

/* A FUA write or mark comes: the entries written in place move to the
 * spill file (their data copied), the log's end goes back to where they
 * began, and pending records go to the spill file until the flush. */
static int move_to_spill(struct null_log *l) {
  for (size_t i = 0; i < l->n_pend; i++) {
    struct pending *p = &l->pend[i];
    uint64_t len = p->flags & NULL_LOG_DISCARD ? 0 : p->nr_sectors * l->ss, from = p->off;
    p->in_log = false;
    p->off = l->spill_pos;
    for (uint64_t done = 0; done < len;) {
      size_t n = len - done < BOUNCE ? (size_t)(len - done) : BOUNCE;
      ssize_t got = pread(l->fd, l->bounce, n, (off_t)(from + done));
      if (got != (ssize_t)n) {
        log_fail(l, got < 0 ? errno : EIO, "a read back of the log");
        return EIO;
      }
      int e = pwrite_all(l->spill, l->bounce, n, l->spill_pos);
      if (e) {
        log_fail(l, e, "a write of the spill file");
        return e;
      }
      l->spill_pos += n;
      done += n;
    }
  }
  l->pos = l->spec_start;
  l->spilling = true;
  return 0;
}

static int park_in_spill(struct null_log *l, struct pending *p, const struct rec *r,
                         uint64_t data_at) {
  p->off = l->spill_pos;
  if (!r->len)
    return 0;
  int e = write_from_ring(l, data_at, r->len, l->spill, l->spill_pos);
  if (e) {
    log_fail(l, e, "a write of the spill file");
    return e;
  }
  l->spill_pos += r->len;
  return 0;
}

/* Written in place: its entry and data at the log's end, not counted. */
static int park_in_log(struct null_log *l, struct pending *p, const struct rec *r,
                       uint64_t data_at) {
  if (l->n_pend == 1)
    l->spec_start = l->pos;
  p->in_log = true;
  int e = write_entry_at_end(l, r->sector, r->nr_sectors, r->flags, NULL, 0);
  p->off = l->pos;
  if (e || (r->flags & NULL_LOG_DISCARD))
    return e;
  if (r->zero)
    return write_data_from_spill(l, true, 0, r->nr_sectors * l->ss);
  if ((e = write_from_ring(l, data_at, r->len, l->fd, l->pos)) != 0) {
    log_fail(l, e, "a data write");
    return e;
  }
  l->pos += r->len;
  return 0;
}

static int park_pending(struct null_log *l, const struct rec *r, uint64_t data_at) {
  if (l->n_pend == l->cap_pend) {
    size_t cap = l->cap_pend ? 2 * l->cap_pend : 256;
    struct pending *p = realloc(l->pend, cap * sizeof *p);
    if (!p) {
      log_fail(l, ENOMEM, "keeping a write until its flush");
      return ENOMEM;
    }
    l->pend = p;
    l->cap_pend = cap;
  }
  struct pending *p = &l->pend[l->n_pend++];
  *p = (struct pending){r->sector, r->nr_sectors, r->flags, 0, r->zero != 0, false};
  return l->spilling ? park_in_spill(l, p, r, data_at) : park_in_log(l, p, r, data_at);
}

/* One record, its data at position data_at of the ring. */
static int process(struct null_log *l, const struct rec *r, uint64_t data_at) {
  int e = 0;
  switch (r->kind) {
  case REC_PENDING:
    return park_pending(l, r, data_at);
  case REC_NOW:
    if (!l->spilling && l->n_pend && (e = move_to_spill(l)) != 0)
      return e;
    if (r->flags & NULL_LOG_MARK) {
      char text[4096];
      ring_copy_out(l, data_at, text, (size_t)r->len);
      e = write_entry(l, 0, 0, r->flags, text, r->len);
    } else if (!(e = write_entry(l, r->sector, r->nr_sectors, r->flags, NULL, 0))) {
      e = write_from_ring(l, data_at, r->len, l->fd, l->pos);
      if (e)
        log_fail(l, e, "a data write");
      else
        l->pos += r->len;
    }
    break;
  case REC_FLUSH:
    if (!(e = commit_pending(l)))
      e = write_entry(l, 0, 0, NULL_LOG_FLUSH, NULL, 0);
    break;
  case REC_END:
    if (!(e = commit_pending(l)))
      e = write_entry(l, 0, 0, NULL_LOG_MARK, "dm-log-writes-end", 17);
    break;
  }
  return e ? e : write_super(l);
}

static void *writer(void *arg) {
  struct null_log *l = arg;
  pthread_mutex_lock(&l->lock);
  for (;;) {
    while (l->rpos == l->wpos && !l->stop)
      pthread_cond_wait(&l->work, &l->lock);
    if (l->rpos == l->wpos)
      break;
    struct rec r;
    ring_copy_out(l, l->rpos, &r, sizeof r);
    pthread_mutex_unlock(&l->lock);
    /* the record's bytes are ours until rpos moves past them */
    if (!atomic_load(&l->error))
      process(l, &r, l->rpos + sizeof r);
    pthread_mutex_lock(&l->lock);
    l->rpos += sizeof r + ((r.len + 7) & ~7ull);
    l->st_entries = l->entries;
    l->st_bytes = l->pos;
    if (r.flags & NULL_LOG_MARK && r.kind == REC_NOW)
      l->marks_done++;
    if (r.kind == REC_END)
      l->stop = true;
    pthread_cond_broadcast(&l->room);
    pthread_cond_broadcast(&l->done);
  }
  pthread_mutex_unlock(&l->lock);
  return NULL;
}

/* ---- producers ---- */

static uint64_t rec_size(uint64_t len) { return sizeof(struct rec) + ((len + 7) & ~7ull); }

/* Wait (lock held) until size bytes are free, or the log failed. */
static int wait_room(struct null_log *l, uint64_t size) {
  while (l->cap - (l->wpos - l->rpos) < size && !atomic_load(&l->error))
    pthread_cond_wait(&l->room, &l->lock);
  return atomic_load(&l->error) ? -EIO : 0;
}

static void append(struct null_log *l, const struct rec *r, const void *data) {
  ring_copy_in(l, l->wpos, r, sizeof *r);
  if (r->len)
    ring_copy_in(l, l->wpos + sizeof *r, data, (size_t)r->len);
  l->wpos += rec_size(r->len);
  pthread_cond_signal(&l->work);
}

bool null_log_failed(const struct null_log *l) {
  return atomic_load_explicit(&((struct null_log *)l)->error, memory_order_relaxed) != 0;
}

int null_log_request(struct null_log *l, const struct rnull_io *io, bool fua,
                     int (*apply)(void *arg), void *arg) {
  struct rec r = {.kind = REC_PENDING, .sector = io->offset / l->ss, .nr_sectors = io->len / l->ss};
  const void *data = NULL;
  bool then_flush = false;
  switch (io->op) {
  case RNULL_OP_WRITE:
    if (!io->buf) /* a front end dropped the payload (the disk must not say READS_ZERO) */
      return -EINVAL;
    r.len = io->len;
    data = io->buf;
    if (fua) {
      r.kind = REC_NOW;
      r.flags = NULL_LOG_FUA;
    }
    break;
  case RNULL_OP_WRITE_ZEROES: /* a write of zeros: replays exactly, whatever the target */
    r.zero = 1;
    then_flush = fua;
    break;
  case RNULL_OP_DISCARD:
    r.flags = NULL_LOG_DISCARD;
    then_flush = fua;
    break;
  case RNULL_OP_FLUSH:
    r = (struct rec){.kind = REC_FLUSH};
    break;
  default:
    return apply(arg);
  }
  uint64_t need = rec_size(r.len) + (then_flush ? rec_size(0) : 0);
  pthread_mutex_lock(&l->lock);
  int st = wait_room(l, need);
  if (st == 0 && (st = apply(arg)) == 0) {
    append(l, &r, data);
    if (then_flush) /* trims and zeroes with FUA flush (as the cache does) */
      append(l, &(struct rec){.kind = REC_FLUSH}, NULL);
  }
  pthread_mutex_unlock(&l->lock);
  return st;
}

int null_log_mark(struct null_log *l, const char *text) {
  size_t max = l->ss - sizeof(struct null_log_entry) - 1, n = strlen(text);
  struct rec r = {.kind = REC_NOW, .flags = NULL_LOG_MARK, .len = n < max ? n : max};
  pthread_mutex_lock(&l->lock);
  int st = wait_room(l, rec_size(r.len));
  if (st == 0) {
    append(l, &r, text);
    uint64_t mine = ++l->marks_queued;
    while (l->marks_done < mine && !atomic_load(&l->error))
      pthread_cond_wait(&l->done, &l->lock);
    st = atomic_load(&l->error) ? -atomic_load(&l->error) : 0;
  } else {
    st = -atomic_load(&l->error);
  }
  pthread_mutex_unlock(&l->lock);
  return st;
}

void null_log_get_stats(struct null_log *l, struct null_log_stats *out) {
  pthread_mutex_lock(&l->lock);
  *out = (struct null_log_stats){l->st_entries, l->st_bytes, atomic_load(&l->error)};
  pthread_mutex_unlock(&l->lock);
}

/* ---- open and close ---- */

static void log_free(struct null_log *l) {
  if (l->fd >= 0)
    close(l->fd);
  if (l->spill >= 0)
    close(l->spill);
  pthread_mutex_destroy(&l->lock);
  pthread_cond_destroy(&l->room);
  pthread_cond_destroy(&l->work);
  pthread_cond_destroy(&l->done);
  free(l->ring);
  free(l->pend);
  free(l->bounce);
  free(l->block);
  free(l);
}

/* An unlinked file beside the log for records awaiting their flush. */
static int open_spill(const char *path) {
  char tmpl[300];
  snprintf(tmpl, sizeof tmpl, "%s.spill.XXXXXX", path);
  int fd = mkostemp(tmpl, O_CLOEXEC);
  if (fd >= 0)
    unlink(tmpl);
  return fd;
}

struct null_log *null_log_open(const char *path, uint32_t sectorsize, size_t ring, char *err,
                               size_t errlen) {
  struct null_log *l = calloc(1, sizeof *l);
  if (!l) {
    snprintf(err, errlen, "log_writes=%s: out of memory", path);
    return NULL;
  }
  l->fd = l->spill = -1;
  l->ss = sectorsize;
  l->cap = ring;
  l->pos = sectorsize;
  snprintf(l->path, sizeof l->path, "%s", path);
  pthread_mutex_init(&l->lock, NULL);
  pthread_cond_init(&l->room, NULL);
  pthread_cond_init(&l->work, NULL);
  pthread_cond_init(&l->done, NULL);
  l->ring = malloc(ring);
  l->bounce = malloc(BOUNCE);
  l->block = malloc(sectorsize);
  if (!l->ring || !l->bounce || !l->block) {
    snprintf(err, errlen, "log_writes=%s: out of memory for its %zu-byte buffer", path, ring);
    log_free(l);
    return NULL;
  }
  const char *what = "cannot open it";
  if ((l->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
      (what = "cannot create its spill file beside it", (l->spill = open_spill(path)) < 0) ||
      (what = "cannot write its super block", write_super(l) != 0)) {
    int e = l->fd >= 0 && l->spill >= 0 ? atomic_load(&l->error) : errno;
    snprintf(err, errlen, "log_writes=%s: %s: %s", path, what, strerror(e));
    log_free(l);
    return NULL;
  }
  int e = pthread_create(&l->thread, NULL, writer, l);
  if (e) {
    snprintf(err, errlen, "log_writes=%s: cannot start its writer thread: %s", path, strerror(e));
    log_free(l);
    return NULL;
  }
  return l;
}

void null_log_close(struct null_log *l) {
  if (!l)
    return;
  pthread_mutex_lock(&l->lock);
  if (wait_room(l, rec_size(0)) == 0)
    append(l, &(struct rec){.kind = REC_END}, NULL);
  l->stop = true;
  pthread_cond_signal(&l->work);
  pthread_mutex_unlock(&l->lock);
  pthread_join(l->thread, NULL);
  /* entries moved from in place may have left bytes past the end */
  if (!atomic_load(&l->error) && ftruncate(l->fd, (off_t)l->pos) < 0) { /* not a file: fine */
  }
  log_free(l);
}
