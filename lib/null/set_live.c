/* Changing a key while the disk serves (null_blk's attributes writable
 * while powered): the key's table line says whether it may and which
 * function applies it; one change at a time per disk, never blocking a
 * request (requests read the snapshot, see null_live). */
#include <errno.h>
#include <stdio.h>

#include "null_dev.h"

/* A core key (timeout_ms): the core applies it; the driver keeps the value
 * for rnull_null_disk_config. */
static int set_live_core(struct null_dev *nd, struct rnull_disk *d, const struct rnull_option *o,
                         const char *value, char *err, size_t errlen) {
  struct rnull_disk_params p = nd->live_core;
  int r = rnull_option_set(o, &p, value, err, errlen);
  if (r == 0)
    r = o->apply(d, o->key, &p, err, errlen);
  if (r == 0)
    nd->live_core = p;
  return r;
}

/* A driver key: parse, check, apply, then the next requests' snapshot. */
static int set_live_driver(struct null_dev *nd, struct rnull_disk *d, const struct rnull_option *o,
                           const char *value, char *err, size_t errlen) {
  struct rnull_null_params p = nd->live_params;
  int r = rnull_option_set(o, &p, value, err, errlen);
  if (r == 0)
    r = rnull_null_params_check(&p, &nd->live_core, err, errlen);
  if (r == 0)
    r = o->apply(d, o->key, &p, err, errlen);
  if (r != 0)
    return r;
  struct null_live *old = atomic_load(&nd->live);
  nd->live_params = p;
  struct null_live *lv = null_live_new(nd, old, o->key);
  if (!lv) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  lv->retired = old;
  atomic_store_explicit(&nd->live, lv, memory_order_release);
  return 0;
}

int rnull_null_disk_set_live(struct rnull_disk *d, const char *key, const char *value, char *err,
                             size_t errlen) {
  struct null_dev *nd = null_dev_added(d);
  if (!nd) {
    snprintf(err, errlen, "%s: the disk is not serving (not an added null disk)", key);
    return -EINVAL;
  }
  const struct rnull_option_table *t;
  const struct rnull_option *o = rnull_config_find(key, &t);
  if (!o) {
    snprintf(err, errlen, "%s=%s: unknown key (see --help for the list of keys)", key, value);
    return -ENOENT;
  }
  if (!o->apply) {
    snprintf(err, errlen, "%s: can only change while the disk is powered off", key);
    return -EBUSY;
  }
  pthread_mutex_lock(&nd->live_lock);
  int r = t->kind == RNULL_OWNER_CORE ? set_live_core(nd, d, o, value, err, errlen)
                                      : set_live_driver(nd, d, o, value, err, errlen);
  if (nd->latency_staged) { /* staged by an apply, never taken: a later step failed */
    null_latency_free(nd->staged_latency);
    nd->staged_latency = NULL;
    nd->latency_staged = false;
  }
  pthread_mutex_unlock(&nd->live_lock);
  return r;
}
