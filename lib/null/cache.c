/* The volatile write cache: the records of what is not yet durable, in
 * completion order, and their write-back (see cache.h). */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 64u
#define MAX_SLOTS (1u << 20)

int null_cache_init(struct null_cache *c, struct rnull_store *store, uint64_t cache_size) {
  memset(c, 0, sizeof *c);
  uint64_t slots = cache_size / 4096 + MIN_SLOTS;
  c->nr_slots = (uint32_t)(slots > MAX_SLOTS ? MAX_SLOTS : slots);
  c->ring = malloc(cache_size);
  c->recs = calloc(c->nr_slots, sizeof *c->recs);
  /* every byte of the ring, plus two partial pages per record */
  if (!c->ring || !c->recs ||
      null_cache_index_init(&c->index, cache_size / 4096 + 2ull * c->nr_slots) < 0) {
    free(c->ring);
    free(c->recs);
    c->ring = NULL;
    return -ENOMEM;
  }
  c->store = store;
  c->ring_size = cache_size;
  c->lo = UINT64_MAX;
  pthread_mutex_init(&c->lock, NULL);
  return 0;
}

void null_cache_destroy(struct null_cache *c) {
  if (!c->ring)
    return;
  pthread_mutex_destroy(&c->lock);
  free(c->ring);
  free(c->recs);
  null_cache_index_destroy(&c->index);
  c->ring = NULL;
}

static struct null_rec *rec_at(const struct null_cache *c, uint32_t i) {
  return &c->recs[(c->first + i) % c->nr_slots];
}

const struct null_rec *null_cache_rec(const struct null_cache *c, uint32_t i) {
  return rec_at(c, i);
}

const uint8_t *null_cache_rec_bytes(const struct null_cache *c, const struct null_rec *r) {
  return c->ring + r->data % c->ring_size;
}

int null_cache_apply(struct null_cache *c, const struct null_rec *r, uint64_t off, uint64_t len) {
  struct rnull_store *s = c->store;
  switch (r->op) {
  case NULL_REC_WRITE:
    return s->ops->write(s, null_cache_rec_bytes(c, r) + (off - r->off), off, (uint32_t)len);
  case NULL_REC_ZERO:
    return s->ops->write_zeroes(s, off, len, false);
  case NULL_REC_TRIM:
    return s->ops->discard(s, off, len);
  }
  return -EINVAL;
}

/* Forget the oldest record (written back or its fate decided). */
static void pop_oldest(struct null_cache *c) {
  struct null_rec *r = rec_at(c, 0);
  null_cache_index_del(&c->index, r->off, r->len, r->in_index);
  if (!r->durable)
    c->st.dirty_bytes -= r->len;
  if (r->op == NULL_REC_WRITE)
    c->tail = r->data + r->len;
  c->first = (c->first + 1) % c->nr_slots;
  if (--c->n == 0) {
    c->tail = c->head;
    c->lo = UINT64_MAX;
    c->hi = 0;
  }
}

/* The oldest record to the durable store: completion order, so the store
 * holds a prefix of the completed writes. */
static int write_back_oldest(struct null_cache *c) {
  const struct null_rec *r = rec_at(c, 0);
  int e = null_cache_apply(c, r, r->off, r->len);
  if (e < 0)
    return e; /* kept: a later write-back (trim, memory_limit raised) may succeed */
  pop_oldest(c);
  c->st.writebacks++;
  return 0;
}

static int write_back_all(struct null_cache *c) {
  int e = 0;
  while (c->n && (e = write_back_oldest(c)) == 0)
    ;
  return e;
}

/* Bytes of the data ring in use once len more are taken at the head (a
 * write's bytes are contiguous: the ring's end is skipped if need be). */
static uint64_t pad_for(const struct null_cache *c, uint64_t len) {
  uint64_t at = c->head % c->ring_size;
  return at + len > c->ring_size ? c->ring_size - at : 0;
}

/* Room for one more record of len data bytes: the oldest written back. */
static int make_room(struct null_cache *c, uint64_t len) {
  int e = 0;
  while (e == 0 &&
         (c->n == c->nr_slots || (len && c->head + pad_for(c, len) + len - c->tail > c->ring_size)))
    e = write_back_oldest(c);
  return e;
}

static void append(struct null_cache *c, enum null_rec_op op, uint64_t off, uint64_t len,
                   bool durable, uint64_t data) {
  struct null_rec *r = rec_at(c, c->n++);
  *r = (struct null_rec){.off = off,
                         .len = len,
                         .seq = ++c->seq,
                         .epoch = c->epoch,
                         .data = data,
                         .op = op,
                         .durable = durable,
                         .in_index = null_cache_index_add(&c->index, off, len, c->seq)};
  if (!durable)
    c->st.dirty_bytes += len;
  if (off < c->lo)
    c->lo = off;
  if (off + len > c->hi)
    c->hi = off + len;
}

/* A request bigger than the whole cache goes straight to the store, after
 * everything older (so it lands after them): durable at completion. */
static int write_through(struct null_cache *c, const void *buf, uint64_t off, uint32_t len) {
  int e = write_back_all(c);
  return e ? e : c->store->ops->write(c->store, buf, off, len);
}

int null_cache_write(struct null_cache *c, const void *buf, uint64_t off, uint32_t len, bool fua) {
  int e;
  pthread_mutex_lock(&c->lock);
  if (c->cut)
    e = -EIO;
  else if (len > c->ring_size)
    e = write_through(c, buf, off, len);
  else if ((e = make_room(c, len)) == 0 &&
           (!fua || (e = c->store->ops->write(c->store, buf, off, len)) == 0)) {
    uint64_t data = c->head + pad_for(c, len);
    memcpy(c->ring + data % c->ring_size, buf, len);
    c->head = data + len;
    append(c, NULL_REC_WRITE, off, len, fua, data);
  }
  pthread_mutex_unlock(&c->lock);
  return e;
}

int null_cache_zero(struct null_cache *c, uint64_t off, uint64_t len, bool unmap, bool fua) {
  struct null_rec probe = {.off = off, .len = len, .op = unmap ? NULL_REC_TRIM : NULL_REC_ZERO};
  int e;
  pthread_mutex_lock(&c->lock);
  if (c->cut)
    e = -EIO;
  else if ((e = make_room(c, 0)) == 0 && (!fua || (e = null_cache_apply(c, &probe, off, len)) == 0))
    append(c, probe.op, off, len, fua, 0);
  pthread_mutex_unlock(&c->lock);
  return e;
}

int null_cache_flush(struct null_cache *c) {
  pthread_mutex_lock(&c->lock);
  int e = c->cut ? -EIO : write_back_all(c);
  if (e == 0) {
    c->epoch++;
    c->st.flushes++;
  }
  pthread_mutex_unlock(&c->lock);
  return e;
}

static bool overlaps(const struct null_rec *r, uint64_t off, uint64_t len) {
  return r->off < off + len && off < r->off + r->len;
}

/* Lay record r over buf (which holds [off, off + len)). */
static void overlay(const struct null_cache *c, const struct null_rec *r, uint8_t *buf,
                    uint64_t off, uint64_t len) {
  uint64_t from = r->off > off ? r->off : off;
  uint64_t to = r->off + r->len < off + len ? r->off + r->len : off + len;
  if (r->op == NULL_REC_WRITE)
    memcpy(buf + (from - off), null_cache_rec_bytes(c, r) + (from - r->off), to - from);
  else
    memset(buf + (from - off), 0, to - from);
}

/* The fast way: no big record over the read, and every page of it that a
 * record touches is wholly covered by its newest one: copy from those. -1
 * if the read must walk the records instead; else whether it copied any. */
static int read_newest(const struct null_cache *c, uint8_t *buf, uint64_t off, uint64_t len,
                       bool *z) {
  if (null_cache_index_big(&c->index, off, len))
    return -1;
  uint64_t oldest = rec_at(c, 0)->seq, end = off + len;
  for (int pass = 0; pass < 2; pass++) /* check every page first, then copy */
    for (uint64_t p = off >> 12; p << 12 < end; p++) {
      uint64_t seq;
      int k = null_cache_index_newest(&c->index, p, &seq);
      if (k < 0)
        return -1;
      if (k == 0 || pass == 0)
        continue;
      if (*z) { /* the store left buf alone: zeros so far */
        memset(buf, 0, len);
        *z = false;
      }
      uint64_t from = p << 12 > off ? p << 12 : off, to = (p + 1) << 12 < end ? (p + 1) << 12 : end;
      overlay(c, rec_at(c, (uint32_t)(seq - oldest)), buf + (from - off), from, to - from);
    }
  return 0;
}

int null_cache_read(struct null_cache *c, void *buf, uint64_t off, uint32_t len, bool *zero) {
  bool z = false;
  pthread_mutex_lock(&c->lock);
  int e = c->store->ops->read(c->store, buf, off, len, &z);
  if (e == 0 && c->n && off < c->hi && off + len > c->lo &&
      null_cache_index_maybe(&c->index, off, len) && read_newest(c, buf, off, len, &z) < 0) {
    for (uint32_t i = 0; i < c->n; i++) {
      const struct null_rec *r = rec_at(c, i);
      if (!overlaps(r, off, len))
        continue;
      if (z) { /* the store left buf alone: it reads as zeros so far */
        memset(buf, 0, len);
        z = false;
      }
      overlay(c, r, buf, off, len);
    }
  }
  pthread_mutex_unlock(&c->lock);
  *zero = z;
  return e;
}

int null_cache_extent(struct null_cache *c, uint64_t off, uint64_t len, uint64_t *len_out,
                      bool *hole) {
  pthread_mutex_lock(&c->lock);
  bool cached = false;
  bool maybe =
      c->n && off < c->hi && off + len > c->lo && null_cache_index_maybe(&c->index, off, len);
  for (uint32_t i = 0; maybe && i < c->n && !cached; i++)
    cached = overlaps(rec_at(c, i), off, len);
  int e = 0;
  if (cached) { /* data (perhaps zeros) the store does not have yet */
    *len_out = len;
    *hole = false;
  } else {
    e = c->store->ops->extent(c->store, off, len, len_out, hole);
  }
  pthread_mutex_unlock(&c->lock);
  return e;
}

void null_cache_get_stats(struct null_cache *c, struct null_cache_stats *out) {
  pthread_mutex_lock(&c->lock);
  *out = c->st;
  out->records = c->n;
  pthread_mutex_unlock(&c->lock);
}

void null_cache_freeze(struct null_cache *c) {
  while (c->n)
    pop_oldest(c);
  c->cut = true;
}
