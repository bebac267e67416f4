/* A null disk's whole key set: the core's table, the null driver's and the
 * front ends', over one struct rnull_config. Parsing, checks, --help and
 * the dump walk the three tables in that order; a key is in exactly one. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "rnull/null.h"

static const struct rnull_option_table *tables[3];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void) {
  tables[0] = rnull_disk_options();
  tables[1] = rnull_null_options();
  tables[2] = rnull_frontend_options();
}

const struct rnull_option_table *const *rnull_config_tables(size_t *n) {
  pthread_once(&tables_once, tables_init);
  *n = 3;
  return tables;
}

void *rnull_config_params(struct rnull_config *cfg, const struct rnull_option_table *t) {
  switch (t->kind) {
  case RNULL_OWNER_CORE:
    return &cfg->core;
  case RNULL_OWNER_DRIVER:
    return &cfg->null;
  case RNULL_OWNER_FRONTEND:
    return &cfg->fe;
  }
  return NULL;
}

const struct rnull_option *rnull_config_find(const char *key,
                                             const struct rnull_option_table **table) {
  size_t n;
  const struct rnull_option_table *const *t = rnull_config_tables(&n);
  for (size_t i = 0; i < n; i++) {
    const struct rnull_option *o = rnull_option_table_find(t[i], key);
    if (o) {
      if (table)
        *table = t[i];
      return o;
    }
  }
  return NULL;
}

void rnull_config_init(struct rnull_config *cfg) {
  size_t n;
  const struct rnull_option_table *const *t = rnull_config_tables(&n);
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < n; i++)
    rnull_option_table_defaults(t[i], rnull_config_params(cfg, t[i]));
}

int rnull_config_set(struct rnull_config *cfg, const char *key, const char *value, char *err,
                     size_t errlen) {
  const struct rnull_option_table *t;
  const struct rnull_option *o = rnull_config_find(key, &t);
  if (!o) {
    snprintf(err, errlen, "%s=%s: unknown key (see --help for the list of keys)", key, value);
    return -ENOENT;
  }
  return rnull_option_set(o, rnull_config_params(cfg, t), value, err, errlen);
}

int rnull_config_set_kv(struct rnull_config *cfg, const char *kv, char *err, size_t errlen) {
  const char *eq = strchr(kv, '=');
  char key[64];
  if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
    snprintf(err, errlen, "'%s': expected key=value", kv);
    return -EINVAL;
  }
  memcpy(key, kv, (size_t)(eq - kv));
  key[eq - kv] = '\0';
  return rnull_config_set(cfg, key, eq + 1, err, errlen);
}

/* The first latency key set, as key=value in buf; false when none is (the
 * latency model is off). */
static bool first_latency_key(const struct rnull_null_params *p, char *buf, size_t len) {
  const struct rnull_option_table *t = rnull_null_options();
  for (size_t i = 0; i < t->n; i++) {
    const struct rnull_latency_attr *a =
        (const struct rnull_latency_attr *)((const char *)p + t->opts[i].offset);
    if (t->opts[i].type == RNULL_OPT_LATENCY && a->kind != RNULL_DIST_NONE) {
      char v[300];
      rnull_latency_format(a, v, sizeof v);
      snprintf(buf, len, "%s=%s", t->opts[i].key, v);
      return true;
    }
  }
  if (p->latency_per_kib)
    snprintf(buf, len, "latency_per_kib=%" PRIu64 "ns", p->latency_per_kib);
  return p->latency_per_kib != 0;
}

/* A fault that can fire (rnull-ctl's "off" is 1,0,0,0: it cannot). */
static bool fault_armed(const struct rnull_fault_attr *a) {
  return a->enabled && a->probability && a->times != 0;
}

int rnull_null_params_check(const struct rnull_null_params *p, const struct rnull_disk_params *core,
                            char *err, size_t errlen) {
  char lat[320];
  if (p->irqmode == RNULL_IRQ_TIMER && first_latency_key(p, lat, sizeof lat)) {
    snprintf(err, errlen,
             "%s and irqmode=timer (completion_nsec=%" PRIu64 ") cannot be combined: "
             "irqmode=timer is latency=fixed:%" PRIu64 "ns, use one or the other",
             lat, p->completion_nsec, p->completion_nsec);
    return -EINVAL;
  }
  if (p->cache_size && !p->memory_backed) {
    snprintf(err, errlen,
             "cache_size=%" PRIu64 " needs memory_backed=1 (a cache in front of the null store "
             "would hold data nobody keeps)",
             p->cache_size);
    return -EINVAL;
  }
  const char *data_fault = fault_armed(&p->read_corrupt)    ? "read_corrupt"
                           : fault_armed(&p->write_corrupt) ? "write_corrupt"
                           : fault_armed(&p->lost_write)    ? "lost_write"
                                                            : NULL;
  if (data_fault && !p->memory_backed) {
    snprintf(err, errlen,
             "%s needs memory_backed=1: the null store keeps no data to corrupt or lose",
             data_fault);
    return -EINVAL;
  }
  if (!p->fua && !p->cache_size) {
    snprintf(err, errlen,
             "fua=0 needs cache_size (and memory_backed=1): without a volatile cache every write "
             "is durable when it completes");
    return -EINVAL;
  }
  if (p->power_cut.enabled && !p->cache_size) {
    snprintf(err, errlen,
             "power_cut needs cache_size (and memory_backed=1): without a volatile cache every "
             "completed write is durable and a power cut loses nothing");
    return -EINVAL;
  }
  if (p->power_cut_prefix && p->power_cut_keep) {
    snprintf(err, errlen,
             "power_cut_prefix=1 and power_cut_keep=%" PRIu64 ": a cut keeps a prefix or each "
             "write with a probability, not both",
             p->power_cut_keep);
    return -EINVAL;
  }
  if (p->cache_size && p->cache_size < (1u << 20)) {
    snprintf(err, errlen,
             "cache_size=%" PRIu64 ": below 1 MiB: sizes are bytes with K/M/G suffixes "
             "(null_blk's cache_size=%" PRIu64 " MiB is cache_size=%" PRIu64 "M)",
             p->cache_size, p->cache_size, p->cache_size);
    return -EINVAL;
  }
  for (unsigned i = 0; i < p->badblocks.n; i++) {
    if (p->badblocks.r[i].end >= core->size / 512) {
      snprintf(err, errlen,
               "badblocks: range %" PRIu64 "-%" PRIu64 " is past the last sector (%" PRIu64 ")",
               p->badblocks.r[i].start, p->badblocks.r[i].end, core->size / 512 - 1);
      return -EINVAL;
    }
  }
  return 0;
}

int rnull_config_check(const struct rnull_config *cfg, char *err, size_t errlen) {
  int r = rnull_null_params_check(&cfg->null, &cfg->core, err, errlen);
  if (!r)
    r = rnull_frontend_params_check(&cfg->fe, err, errlen);
  if (!r)
    r = rnull_disk_params_check(&cfg->core, err, errlen);
  return r;
}

void rnull_config_help(FILE *out) {
  size_t n;
  const struct rnull_option_table *const *t = rnull_config_tables(&n);
  for (size_t i = 0; i < n; i++)
    rnull_option_table_help(t[i], out);
}

void rnull_config_dump(const struct rnull_config *cfg, FILE *out) {
  size_t n;
  const struct rnull_option_table *const *t = rnull_config_tables(&n);
  for (size_t i = 0; i < n; i++)
    rnull_option_table_dump(t[i], rnull_config_params((struct rnull_config *)cfg, t[i]), out);
}

void rnull_config_features(FILE *out) {
  size_t n;
  const struct rnull_option_table *const *t = rnull_config_tables(&n);
  const char *sep = "";
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < t[i]->n; k++)
      if (t[i]->opts[k].type != RNULL_OPT_REJECT) {
        fprintf(out, "%s%s", sep, t[i]->opts[k].key);
        sep = ",";
      }
}

bool rnull_null_key_is_live(const char *key) {
  const struct rnull_option *o = rnull_config_find(key, NULL);
  return o && o->apply;
}

/* The tables librnull knows, to say whose a refused key is. */
static const struct rnull_option_table *owner_of(const char *key) {
  const struct rnull_option_table *known[] = {rnull_disk_options(), rnull_null_options(),
                                              rnull_frontend_options()};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (rnull_option_table_find(known[i], key))
      return known[i];
  return NULL;
}

int rnull_option_refuse(const struct rnull_option_table *const *tables, size_t n, const char *key,
                        const char *value, char *err, size_t errlen) {
  const struct rnull_option_table *owner = owner_of(key);
  char here[160] = "";
  size_t used = 0;
  for (size_t i = 0; i < n && used < sizeof here; i++)
    used += (size_t)snprintf(here + used, sizeof here - used, "%s%s", i ? ", the " : "the ",
                             tables[i]->owner);
  if (owner)
    snprintf(err, errlen, "%s=%s: not a key of %s: it is the %s's (see --help for the keys here)",
             key, value, here, owner->owner);
  else
    snprintf(err, errlen, "%s=%s: unknown key (see --help for the list of keys)", key, value);
  return -ENOENT;
}
