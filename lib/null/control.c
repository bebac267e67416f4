/* The null driver's calls for a front end's control plane, off the request
 * path: bad block edits, the data kept across power cycles (media), power
 * cuts, the cache's figures, held requests and the write log's mark and
 * figures. Each finds the driver's state of a null disk (null_dev.h) and
 * calls the part that does the work. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "null_dev.h"
#include "power_cut.h"

/* "+START-END" / "-START-END", sectors, inclusive. */
static int parse_bb_edit(const char *spec, bool *add, uint64_t *s, uint64_t *e) {
  if (spec[0] != '+' && spec[0] != '-')
    return -EINVAL;
  *add = spec[0] == '+';
  struct rnull_null_params tmp;
  char e2[8];
  if (rnull_option_table_set(rnull_null_options(), &tmp, "badblocks", spec + 1, e2, sizeof e2) <
          0 ||
      tmp.badblocks.n != 1)
    return -EINVAL;
  *s = tmp.badblocks.r[0].start;
  *e = tmp.badblocks.r[0].end;
  return 0;
}

int rnull_null_badblocks_edit(struct rnull_disk *d, struct rnull_null_params *cfg, const char *spec,
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
  struct null_dev *nd = d ? null_dev_added(d) : NULL;
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
  struct null_dev *nd = null_dev_added(d);
  return nd ? rnull_badblocks_get(&nd->badblocks, out) : 0;
}

struct rnull_null_media *rnull_null_disk_take_media(struct rnull_disk *d) {
  if (!null_dev_is(d))
    return NULL;
  struct null_dev *nd = rnull_disk_driver_data(d);
  struct rnull_null_media *m = nd->media;
  nd->media = NULL;
  if (m || !nd->store || !nd->params.memory_backed)
    return m;
  if (!(m = malloc(sizeof *m)))
    return NULL;                    /* out of memory: the data goes with the disk */
  if (rnull_store_cache(nd->store)) /* power off: the cache's content is lost */
    nd->store = rnull_store_cache_detach(nd->store);
  m->store = nd->store;
  nd->store = NULL;
  return m;
}

void rnull_null_disk_give_media(struct rnull_disk *d, struct rnull_null_media *m) {
  if (!m)
    return;
  if (!null_dev_is(d) || rnull_disk_state(d) != RNULL_DISK_INITIALIZED) {
    rnull_null_media_free(m);
    return;
  }
  struct null_dev *nd = rnull_disk_driver_data(d);
  rnull_null_media_free(nd->media);
  nd->media = m;
}

int rnull_null_disk_power_cut(struct rnull_disk *d, struct rnull_power_cut *pc, bool json,
                              FILE *out, char *err, size_t errlen) {
  struct null_dev *nd = null_dev_added(d);
  if (!nd) {
    snprintf(err, errlen, "%s: not a serving null disk", rnull_disk_name(d));
    return -EINVAL;
  }
  struct null_cache *c = rnull_store_cache(nd->store), none;
  if (!c) { /* every completed write is durable: nothing to lose */
    if (null_cache_init(&none, nd->store, 0) < 0)
      return -ENOMEM;
    none.cut = true;
  }
  int r = null_power_cut(c ? c : &none, pc, rnull_disk_physical_block_size(d), rnull_disk_name(d),
                         json, out);
  if (!c)
    null_cache_destroy(&none);
  if (r < 0)
    snprintf(err, errlen, "%s: out of memory", rnull_disk_name(d));
  return r;
}

int rnull_null_disk_cache_stats(struct rnull_disk *d, struct rnull_null_cache_stats *out) {
  struct null_dev *nd = null_dev_added(d);
  if (!nd)
    return -EINVAL;
  struct null_cache *c = rnull_store_cache(nd->store);
  struct null_cache_stats st = {0};
  if (c)
    null_cache_get_stats(c, &st);
  *out = (struct rnull_null_cache_stats){st.dirty_bytes, st.records, st.writebacks, st.flushes};
  return 0;
}

void rnull_null_disk_on_power_cut(struct rnull_disk *d, void (*fn)(void *arg, struct rnull_disk *d),
                                  void *arg) {
  if (!null_dev_is(d) || rnull_disk_state(d) != RNULL_DISK_INITIALIZED)
    return;
  struct null_dev *nd = rnull_disk_driver_data(d);
  nd->on_cut = fn;
  nd->on_cut_arg = arg;
}

int rnull_null_disk_hold(struct rnull_disk *d, unsigned ops_mask) {
  struct null_dev *nd = null_dev_added(d);
  if (!nd)
    return -ENODEV;
  atomic_store(&nd->hold_ops, ops_mask & ((1u << RNULL_OP_MAX) - 1));
  return 0;
}

int rnull_null_disk_release(struct rnull_disk *d, int error) {
  struct null_dev *nd = null_dev_added(d);
  if (!nd)
    return -ENODEV;
  if (error < 0 || (error && !rnull_fault_errno_name(error)))
    return -EINVAL;
  atomic_store(&nd->hold_ops, 0u);
  unsigned n = 0, depth = rnull_disk_queue_depth(d);
  for (unsigned i = 0; i < rnull_disk_nr_hw_queues(d); i++)
    n += null_release_queue(nd, rnull_disk_hctx(d, i), depth, error);
  return (int)n;
}

unsigned rnull_null_disk_held(struct rnull_disk *d) {
  struct null_dev *nd = null_dev_added(d);
  return nd ? atomic_load(&nd->nr_held) : 0;
}

int rnull_null_disk_log_mark(struct rnull_disk *d, const char *text, char *err, size_t errlen) {
  struct null_dev *nd = null_dev_added(d);
  if (!nd || !nd->log) {
    snprintf(err, errlen, "%s: %s", rnull_disk_name(d),
             nd ? "no write log: create the disk with log_writes=PATH"
                : "not a serving null disk (power it on)");
    return -EINVAL;
  }
  int r = null_log_mark(nd->log, text);
  if (r < 0)
    snprintf(err, errlen,
             "%s: log_writes=%s: a log write failed: %s (the disk fails writes, write zeroes, "
             "trims and flushes with EIO)",
             rnull_disk_name(d), nd->params.log_writes, strerror(-r));
  return r;
}

int rnull_null_disk_log_stats(struct rnull_disk *d, struct rnull_null_log_stats *out) {
  struct null_dev *nd = null_dev_added(d);
  if (!nd || !nd->log)
    return -EINVAL;
  struct null_log_stats st;
  null_log_get_stats(nd->log, &st);
  *out = (struct rnull_null_log_stats){st.entries, st.bytes, st.error};
  return 0;
}
