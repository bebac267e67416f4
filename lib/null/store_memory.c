/* The memory store (memory_backed=1): sparse pages allocated on first write.
 *
 * Pages live in a radix tree of 512-slot nodes, as deep as the disk needs
 * (4 levels for 1 TiB of 4 KiB pages), so a huge disk costs only the pages
 * written plus one node per 512 of them.
 *
 * Locking, so several hw queue threads can read and write at once:
 *  - tree_lock (rwlock, writer-preferring): held shared by every operation
 *    that only adds pages (read, write, write_zeroes without unmap, extent);
 *    held exclusive by discard and unmapping write_zeroes, which free pages
 *    and nodes. So a page cannot be freed while anyone copies it.
 *  - new nodes and pages are published with compare-and-swap, so two writers
 *    racing to allocate the same page agree on one winner.
 *  - page contents are copied under one of NR_STRIPES mutexes chosen by page
 *    index, so a read never sees a half-copied write (and TSan is happy).
 *
 * Write zeroes without unmap (NOUNMAP) zero-fills the pages that exist and
 * leaves holes as holes: a hole already reads as zeros, and allocating RAM
 * for zeros would only waste it (nbdkit's memory plugin does the same).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define FANOUT_SHIFT 9
#define FANOUT (1u << FANOUT_SHIFT)
#define NR_STRIPES 64

struct mem_node {
  _Atomic(void *) slot[FANOUT]; /* child nodes, or pages at the last level */
  _Atomic uint32_t used;        /* non-NULL slots */
};

struct mem_store {
  struct rnull_store base; /* first: the engine sees only this */
  unsigned page_shift;
  uint64_t nr_pages;
  unsigned levels; /* of nodes, >= 1; the last level's slots hold pages */
  struct mem_node *root;
  pthread_rwlock_t tree_lock;
  pthread_mutex_t stripe[NR_STRIPES];
  _Atomic uint64_t nr_alloc; /* pages held, or reserved by a writer about to allocate */
  uint64_t limit_pages;      /* memory_limit in pages; UINT64_MAX = none */
};

static struct mem_store *to_mem(struct rnull_store *s) { return (struct mem_store *)s; }

static unsigned slot_of(const struct mem_store *ms, uint64_t idx, unsigned level) {
  unsigned shift = FANOUT_SHIFT * (ms->levels - 1 - level);
  return (unsigned)((idx >> shift) & (FANOUT - 1));
}

/* Pages covered by one slot at level. */
static uint64_t slot_span(const struct mem_store *ms, unsigned level) {
  return (uint64_t)1 << (FANOUT_SHIFT * (ms->levels - 1 - level));
}

static pthread_mutex_t *stripe_of(struct mem_store *ms, uint64_t idx) {
  return &ms->stripe[idx % NR_STRIPES];
}

/* The page at idx or NULL. Caller holds tree_lock (either mode). */
static uint8_t *page_lookup(struct mem_store *ms, uint64_t idx) {
  struct mem_node *n = ms->root;
  for (unsigned l = 0; l + 1 < ms->levels; l++) {
    n = atomic_load_explicit(&n->slot[slot_of(ms, idx, l)], memory_order_acquire);
    if (!n)
      return NULL;
  }
  return atomic_load_explicit(&n->slot[slot_of(ms, idx, ms->levels - 1)], memory_order_acquire);
}

/* Install child in *slot unless someone else did first; returns the winner. */
static void *publish(_Atomic(void *) *slot, struct mem_node *parent, void *child) {
  void *expected = NULL;
  if (atomic_compare_exchange_strong_explicit(slot, &expected, child, memory_order_acq_rel,
                                              memory_order_acquire)) {
    atomic_fetch_add_explicit(&parent->used, 1, memory_order_relaxed);
    return child;
  }
  free(child);
  return expected;
}

/* Count a page against memory_limit before allocating it. */
static bool page_reserve(struct mem_store *ms) {
  if (atomic_fetch_add_explicit(&ms->nr_alloc, 1, memory_order_relaxed) < ms->limit_pages)
    return true;
  atomic_fetch_sub_explicit(&ms->nr_alloc, 1, memory_order_relaxed);
  return false;
}

/* The page at idx, allocating zeroed nodes and page as needed. NULL with
 * *err -ENOSPC (memory_limit reached) or -ENOMEM. Caller holds tree_lock
 * shared (or exclusive). */
static uint8_t *page_get_or_alloc(struct mem_store *ms, uint64_t idx, int *err) {
  *err = -ENOMEM;
  struct mem_node *n = ms->root;
  for (unsigned l = 0; l + 1 < ms->levels; l++) {
    _Atomic(void *) *slot = &n->slot[slot_of(ms, idx, l)];
    struct mem_node *child = atomic_load_explicit(slot, memory_order_acquire);
    if (!child) {
      child = calloc(1, sizeof(*child));
      if (!child)
        return NULL;
      child = publish(slot, n, child);
    }
    n = child;
  }
  _Atomic(void *) *slot = &n->slot[slot_of(ms, idx, ms->levels - 1)];
  uint8_t *page = atomic_load_explicit(slot, memory_order_acquire);
  if (page)
    return page;
  if (!page_reserve(ms)) {
    *err = -ENOSPC;
    return NULL;
  }
  page = calloc(1, ms->base.page_size);
  uint8_t *won = page ? publish(slot, n, page) : NULL;
  if (won != page || !page) /* lost the race (or no memory): give the reservation back */
    atomic_fetch_sub_explicit(&ms->nr_alloc, 1, memory_order_relaxed);
  return won;
}

/* Free the page at idx and any node left empty. Caller holds tree_lock
 * exclusive. */
static void page_free(struct mem_store *ms, uint64_t idx) {
  struct mem_node *path[64 / FANOUT_SHIFT + 2];
  struct mem_node *n = ms->root;
  for (unsigned l = 0; l + 1 < ms->levels; l++) {
    path[l] = n;
    n = atomic_load_explicit(&n->slot[slot_of(ms, idx, l)], memory_order_relaxed);
    if (!n)
      return;
  }
  unsigned last = ms->levels - 1;
  void *page =
      atomic_exchange_explicit(&n->slot[slot_of(ms, idx, last)], NULL, memory_order_relaxed);
  if (!page)
    return;
  free(page);
  atomic_fetch_sub_explicit(&ms->nr_alloc, 1, memory_order_relaxed);
  /* Walk up, freeing nodes that became empty (never the root). */
  for (unsigned l = last;; l--) {
    if (atomic_fetch_sub_explicit(&n->used, 1, memory_order_relaxed) != 1 || l == 0)
      return;
    struct mem_node *parent = path[l - 1];
    atomic_store_explicit(&parent->slot[slot_of(ms, idx, l - 1)], NULL, memory_order_relaxed);
    free(n);
    n = parent;
  }
}

/* First allocated page index in [from, to) under node n (at level, whose
 * first page is base), or to when there is none. Skips empty subtrees. */
static uint64_t next_present_in(struct mem_store *ms, struct mem_node *n, unsigned level,
                                uint64_t base, uint64_t from, uint64_t to) {
  uint64_t span = slot_span(ms, level);
  unsigned i = from > base ? (unsigned)((from - base) / span) : 0;
  for (; i < FANOUT; i++) {
    uint64_t start = base + (uint64_t)i * span;
    if (start >= to)
      break;
    void *child = atomic_load_explicit(&n->slot[i], memory_order_acquire);
    if (!child)
      continue;
    if (level + 1 == ms->levels)
      return start; /* a page; start >= from since i was chosen so */
    uint64_t found = next_present_in(ms, child, level + 1, start, from, to);
    if (found < to)
      return found;
  }
  return to;
}

static uint64_t next_present(struct mem_store *ms, uint64_t from, uint64_t to) {
  if (from >= to)
    return to;
  return next_present_in(ms, ms->root, 0, 0, from, to);
}

static int range_ok(const struct mem_store *ms, uint64_t off, uint64_t len) {
  return off <= ms->base.size && len <= ms->base.size - off;
}

/* One page-sized piece of a range: page idx, offset in the page, length. */
struct chunk {
  uint64_t idx, poff, len;
};

static struct chunk chunk_at(const struct mem_store *ms, uint64_t pos, uint64_t end) {
  struct chunk c = {pos >> ms->page_shift, pos & (ms->base.page_size - 1), 0};
  c.len = ms->base.page_size - c.poff;
  if (c.len > end - pos)
    c.len = end - pos;
  return c;
}

static int mem_read(struct rnull_store *s, void *buf, uint64_t off, uint32_t len, bool *zero) {
  struct mem_store *ms = to_mem(s);
  uint8_t *out = buf;
  bool any = false; /* a page was found: buf is being written */
  int ret = 0;
  if (!range_ok(ms, off, len))
    return -EINVAL;
  pthread_rwlock_rdlock(&ms->tree_lock);
  for (uint64_t done = 0; done < len;) {
    struct chunk c = chunk_at(ms, off + done, off + len);
    uint8_t *page = page_lookup(ms, c.idx);
    if (page && !any) {
      if (!out) {
        ret = -EINVAL; /* data to return but nowhere to put it */
        break;
      }
      memset(out, 0, done); /* the holes skipped so far */
      any = true;
    }
    if (page) {
      pthread_mutex_lock(stripe_of(ms, c.idx));
      memcpy(out + done, page + c.poff, c.len);
      pthread_mutex_unlock(stripe_of(ms, c.idx));
    } else if (any) {
      memset(out + done, 0, c.len);
    }
    done += c.len;
  }
  pthread_rwlock_unlock(&ms->tree_lock);
  if (ret)
    return ret;
  if (zero)
    *zero = !any;
  else if (!any && out)
    memset(out, 0, len); /* the caller wants the bytes */
  return 0;
}

static int mem_write(struct rnull_store *s, const void *buf, uint64_t off, uint32_t len) {
  struct mem_store *ms = to_mem(s);
  const uint8_t *in = buf;
  int ret = 0;
  if (!range_ok(ms, off, len) || (!in && len))
    return -EINVAL;
  pthread_rwlock_rdlock(&ms->tree_lock);
  for (uint64_t done = 0; done < len;) {
    struct chunk c = chunk_at(ms, off + done, off + len);
    uint8_t *page = page_get_or_alloc(ms, c.idx, &ret);
    if (!page)
      break;
    ret = 0;
    pthread_mutex_lock(stripe_of(ms, c.idx));
    memcpy(page + c.poff, in + done, c.len);
    pthread_mutex_unlock(stripe_of(ms, c.idx));
    done += c.len;
  }
  pthread_rwlock_unlock(&ms->tree_lock);
  return ret;
}

/* Does the chunk cover all of its page that lies inside the disk? */
static bool whole_page(const struct mem_store *ms, struct chunk c) {
  uint64_t page_len = ms->base.size - (c.idx << ms->page_shift);
  if (page_len > ms->base.page_size)
    page_len = ms->base.page_size;
  return c.poff == 0 && c.len == page_len;
}

/* Zero [off, off+len): whole pages freed if unmap, zero-filled otherwise;
 * partial pages zero-filled. Holes are left alone either way. */
static int mem_zero_range(struct mem_store *ms, uint64_t off, uint64_t len, bool unmap) {
  if (!range_ok(ms, off, len))
    return -EINVAL;
  if (len == 0)
    return 0;
  if (unmap)
    pthread_rwlock_wrlock(&ms->tree_lock);
  else
    pthread_rwlock_rdlock(&ms->tree_lock);
  uint64_t end = off + len;
  uint64_t end_idx = ((end - 1) >> ms->page_shift) + 1;
  uint64_t pos = off;
  while (pos < end) {
    /* Jump over holes: trimming 4 GiB of a sparse disk costs little. */
    uint64_t idx = next_present(ms, pos >> ms->page_shift, end_idx);
    if (idx == end_idx)
      break;
    if (idx << ms->page_shift > pos)
      pos = idx << ms->page_shift;
    struct chunk c = chunk_at(ms, pos, end);
    if (unmap && whole_page(ms, c)) {
      page_free(ms, c.idx);
    } else {
      uint8_t *page = page_lookup(ms, c.idx);
      pthread_mutex_lock(stripe_of(ms, c.idx));
      memset(page + c.poff, 0, c.len);
      pthread_mutex_unlock(stripe_of(ms, c.idx));
    }
    pos += c.len;
  }
  pthread_rwlock_unlock(&ms->tree_lock);
  return 0;
}

static int mem_discard(struct rnull_store *s, uint64_t off, uint64_t len) {
  return mem_zero_range(to_mem(s), off, len, true);
}

static int mem_write_zeroes(struct rnull_store *s, uint64_t off, uint64_t len, bool may_unmap) {
  return mem_zero_range(to_mem(s), off, len, may_unmap);
}

static int mem_extent(struct rnull_store *s, uint64_t off, uint64_t len, uint64_t *len_out,
                      bool *hole) {
  struct mem_store *ms = to_mem(s);
  if (len == 0 || off >= ms->base.size)
    return -EINVAL;
  if (len > ms->base.size - off)
    len = ms->base.size - off;
  uint64_t first = off >> ms->page_shift;
  uint64_t end_idx = ((off + len - 1) >> ms->page_shift) + 1;
  uint64_t idx;
  pthread_rwlock_rdlock(&ms->tree_lock);
  bool is_hole = page_lookup(ms, first) == NULL;
  if (is_hole) {
    idx = next_present(ms, first + 1, end_idx);
  } else {
    for (idx = first + 1; idx < end_idx && page_lookup(ms, idx); idx++)
      ;
  }
  pthread_rwlock_unlock(&ms->tree_lock);
  uint64_t run_end = idx << ms->page_shift; /* <= off + len rounded up */
  *len_out = run_end - off < len ? run_end - off : len;
  *hole = is_hole;
  return 0;
}

static uint64_t mem_allocated(struct rnull_store *s) {
  struct mem_store *ms = to_mem(s);
  return atomic_load_explicit(&ms->nr_alloc, memory_order_relaxed) * ms->base.page_size;
}

static void free_subtree(struct mem_store *ms, struct mem_node *n, unsigned level) {
  for (unsigned i = 0; i < FANOUT; i++) {
    void *child = atomic_load_explicit(&n->slot[i], memory_order_relaxed);
    if (child && level + 1 < ms->levels)
      free_subtree(ms, child, level + 1);
    else
      free(child);
  }
  free(n);
}

static void mem_destroy(struct rnull_store *s) {
  struct mem_store *ms = to_mem(s);
  free_subtree(ms, ms->root, 0);
  for (unsigned i = 0; i < NR_STRIPES; i++)
    pthread_mutex_destroy(&ms->stripe[i]);
  pthread_rwlock_destroy(&ms->tree_lock);
  free(ms);
}

static const struct rnull_store_ops memory_store_ops = {
    .name = "memory",
    .read = mem_read,
    .write = mem_write,
    .discard = mem_discard,
    .write_zeroes = mem_write_zeroes,
    .extent = mem_extent,
    .allocated = mem_allocated,
    .destroy = mem_destroy,
};

void rnull_store_memory_set_limit(struct rnull_store *s, uint64_t bytes) {
  struct mem_store *ms = to_mem(s);
  ms->limit_pages = bytes ? bytes >> ms->page_shift : UINT64_MAX;
}

struct rnull_store *rnull_store_memory_create(uint64_t size, uint32_t page_size) {
  /* The page must be a power of two so offsets split with shifts. */
  if (page_size < 512 || (page_size & (page_size - 1))) {
    errno = EINVAL;
    return NULL;
  }
  struct mem_store *ms = calloc(1, sizeof(*ms));
  if (!ms)
    return NULL;
  ms->base.ops = &memory_store_ops;
  ms->base.size = size;
  ms->base.page_size = page_size;
  ms->page_shift = (unsigned)__builtin_ctz(page_size);
  ms->limit_pages = UINT64_MAX;
  ms->nr_pages = (size >> ms->page_shift) + ((size & (page_size - 1)) != 0);
  ms->levels = 1;
  while (ms->levels * FANOUT_SHIFT < 64 && ms->nr_pages > (uint64_t)1
                                                              << (ms->levels * FANOUT_SHIFT))
    ms->levels++;
  ms->root = calloc(1, sizeof(*ms->root));
  if (!ms->root) {
    free(ms);
    return NULL;
  }
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  /* glibc's default lets a stream of readers starve a trim forever. */
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&ms->tree_lock, &attr);
  pthread_rwlockattr_destroy(&attr);
  for (unsigned i = 0; i < NR_STRIPES; i++)
    pthread_mutex_init(&ms->stripe[i], NULL);
  return &ms->base;
}
