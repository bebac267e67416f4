/* The null store: reads are zeros (the caller serves them from its own zero
 * page: we only say so), writes are dropped, trims and zeroes are no-ops. */
#include <stdlib.h>

#include "store.h"

static int null_read(struct rnull_store *s, void *buf, uint64_t off, uint32_t len, bool *zero) {
  (void)s, (void)buf, (void)off, (void)len;
  *zero = true;
  return 0;
}

static int null_write(struct rnull_store *s, const void *buf, uint64_t off, uint32_t len) {
  (void)s, (void)buf, (void)off, (void)len;
  return 0;
}

static int null_discard(struct rnull_store *s, uint64_t off, uint64_t len) {
  (void)s, (void)off, (void)len;
  return 0;
}

static int null_write_zeroes(struct rnull_store *s, uint64_t off, uint64_t len, bool may_unmap) {
  (void)s, (void)off, (void)len, (void)may_unmap;
  return 0;
}

/* Everything is one hole: a null disk holds no data. */
static int null_extent(struct rnull_store *s, uint64_t off, uint64_t len, uint64_t *len_out,
                       bool *hole) {
  (void)s, (void)off;
  *len_out = len;
  *hole = true;
  return 0;
}

static uint64_t null_allocated(struct rnull_store *s) {
  (void)s;
  return 0;
}

static void null_destroy(struct rnull_store *s) { free(s); }

static const struct rnull_store_ops null_ops = {
    .name = "null",
    .read = null_read,
    .write = null_write,
    .discard = null_discard,
    .write_zeroes = null_write_zeroes,
    .extent = null_extent,
    .allocated = null_allocated,
    .destroy = null_destroy,
};

struct rnull_store *rnull_store_null_create(uint64_t size) {
  struct rnull_store *s = malloc(sizeof *s);
  if (!s)
    return NULL;
  *s = (struct rnull_store){.ops = &null_ops, .size = size, .page_size = 4096};
  return s;
}
