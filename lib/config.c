/* The one option table and its parsers. Each option is one OPT() line, like
 * null_blk's NULLB_DEVICE_ATTR: key, type, C type, default, range, field,
 * help. Parsing, --help, the dump and the man pages walk the table. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnull/config.h"

/* One key, like null_blk's NULLB_DEVICE_ATTR(name, type, ...): key, kind
 * of value, the field's C type (checked against the field at compile time),
 * default, range, field, help. */
#define FIELD_OF(field, ctype)                                                                     \
  (offsetof(struct rnull_config, field) +                                                          \
   0 * sizeof(                                                                                     \
           char[__builtin_types_compatible_p(__typeof__(((struct rnull_config *)0)->field), ctype) \
                    ? 1                                                                            \
                    : -1]))
#define OPT(key, type, ctype, def, min, max, field, help)                                          \
  { key, RNULL_OPT_##type, def, min, max, FIELD_OF(field, ctype), sizeof(ctype), help, NULL, NULL }
/* A default computed at start-up: doc says what it is in --help and man. */
#define OPT_COMPUTED(key, type, ctype, doc, min, max, field, help)                                 \
  { key, RNULL_OPT_##type, NULL, min, max, FIELD_OF(field, ctype), sizeof(ctype), help, doc, NULL }
/* 0 stands for another key's value. */
#define OPT_ZERO_IS(key, type, ctype, other, min, max, field, help)                                \
  { key, RNULL_OPT_##type, "0", min, max, FIELD_OF(field, ctype), sizeof(ctype), help, NULL, other }
/* A key accepted by name and always refused: no field. */
#define REFUSED(key, help)                                                                         \
  { key, RNULL_OPT_REJECT, NULL, 0, 0, 0, 0, help, NULL, NULL }
#define ZONED_MSG "zoned devices are out of scope: NBD has no zones"
typedef char path_t[256];
typedef char name_t[RNULL_DISK_NAME_LEN];

static const struct rnull_option options[] = {
    OPT("size", SIZE, uint64_t, "4G", 512, INT64_MAX, size,
        "disk size in bytes, with K/M/G/T/P/E suffix (a multiple of blocksize)"),
    OPT("blocksize", POW2, uint32_t, "4096", 512, 4096, blocksize, "logical block size in bytes"),
    OPT_ZERO_IS("physical_blocksize", POW2, uint32_t, "blocksize", 512, 65536, physical_blocksize,
                "physical block size in bytes, >= blocksize (0 = same as blocksize)"),
    OPT("max_transfer", SIZE, uint32_t, "32M", 4096, 32 << 20, max_transfer,
        "largest request in bytes (the NBD maximum block size)"),
    OPT("rotational", BOOL, bool, "0", 0, 1, rotational, "report a rotational disk"),
    OPT("readonly", BOOL, bool, "0", 0, 1, readonly, "refuse writes, trims and zeroes"),
    OPT("name", NAME, name_t, "rnullb0", 0, RNULL_DISK_NAME_LEN - 1, name,
        "disk name (at most 31 bytes, as the kernel's DISK_NAME_LEN)"),
    OPT("submit_queues", UINT, uint32_t, "1", 1, 64, submit_queues, "number of hardware queues"),
    OPT("hw_queue_depth", UINT, uint32_t, "256", 1, 4096, hw_queue_depth,
        "tags per hardware queue"),
    OPT("irqmode", IRQ, enum rnull_irqmode, "none", 0, 2, irqmode,
        "completion: none|0 (direct), softirq|1 (deferred), timer|2 (after completion_nsec)"),
    OPT("completion_nsec", UINT, uint64_t, "10000", 0, 10000000000ull, completion_nsec,
        "completion delay in ns for irqmode=timer"),
    OPT("memory_backed", BOOL, bool, "0", 0, 1, memory_backed,
        "keep written data in sparse RAM pages (else reads are zeros, writes dropped)"),
    OPT_COMPUTED("memory_limit", SIZE, uint64_t, "half of RAM at start-up", 0, INT64_MAX,
                 memory_limit,
                 "memory_backed: a write needing pages beyond this many bytes fails with ENOSPC "
                 "(0 = no limit); trim and zeroes give pages back"),
    OPT("discard", BOOL, bool, "1", 0, 1, discard, "offer trim (discard)"),
    OPT("mbps", UINT, uint64_t, "0", 0, 1000000, mbps, "throughput limit in MiB/s (0 = unlimited)"),
    OPT("iops", UINT, uint64_t, "0", 0, 100000000, iops,
        "request rate limit per second, every operation (0 = unlimited; token bucket as mbps)"),
    OPT("latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, latency,
        "service time of every operation without its own *_latency key, drawn per request "
        "(e.g. lognormal:80us,1ms); each request completes at its own computed time"),
    OPT("read_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, read_latency,
        "service time of reads"),
    OPT("write_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, write_latency,
        "service time of writes"),
    OPT("flush_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, flush_latency,
        "service time of flushes"),
    OPT("trim_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, trim_latency,
        "service time of trims"),
    OPT("zero_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, zero_latency,
        "service time of write zeroes"),
    OPT("latency_per_kib", DURATION, uint64_t, "0", 0, RNULL_LATENCY_MAX_NS, latency_per_kib,
        "transfer time added per KiB a read or write moves (size-proportional service time)"),
    OPT("channels", UINT, uint64_t, "0", 0, 65536, channels,
        "requests the device serves at once; others wait in order and their service time "
        "starts when a channel frees (0 = unlimited)"),
    OPT("seed", UINT, uint64_t, "0", 0, UINT64_MAX, seed,
        "seed of every random draw: latencies (per hw queue) and faults unless fault_seed is "
        "set (0 = a new seed each run)"),
    OPT("timeout_ms", UINT, uint64_t, "30000", 1, 3600000, timeout_ms,
        "request timeout in ms: a request the driver never completes ends with an error"),
    OPT("timeout", FAULT, struct rnull_fault_attr, NULL, 0, 0, timeout_inject,
        "fault: never complete requests (<interval>,<probability>,<space>,<times>)"),
    OPT("requeue", FAULT, struct rnull_fault_attr, NULL, 0, 0, requeue_inject,
        "fault: requeue requests once (<interval>,<probability>,<space>,<times>)"),
    OPT("error", FAULT, struct rnull_fault_attr, NULL, 0, 0, error_inject,
        "fault: end requests with EIO (<interval>,<probability>,<space>,<times>)"),
    OPT("fault_seed", UINT, uint64_t, "0", 0, UINT64_MAX, fault_seed,
        "seed of fault injection's random numbers (0 = a new seed each run)"),
    OPT("badblocks", RANGES, struct rnull_ranges, NULL, 0, 0, badblocks,
        "bad sectors: START-END[,START-END...] in 512-byte sectors; I/O touching them fails"),
    OPT("badblocks_once", BOOL, bool, "0", 0, 1, badblocks_once,
        "a bad range is cleared after the first I/O that hits it"),
    OPT("stats_file", PATH, path_t, NULL, 0, 255, stats_file,
        "rewrite statistics as JSON to this file every second"),
    REFUSED("zoned", ZONED_MSG),
    REFUSED("zone_size", ZONED_MSG),
    REFUSED("zone_capacity", ZONED_MSG),
    REFUSED("zone_nr_conv", ZONED_MSG),
    REFUSED("zone_max_open", ZONED_MSG),
    REFUSED("zone_max_active", ZONED_MSG),
    REFUSED("cache_size", "not implemented: memory_backed keeps all data in RAM, no cache tier"),
};

const struct rnull_option *rnull_options(size_t *count) {
  *count = sizeof options / sizeof options[0];
  return options;
}

const struct rnull_option *rnull_option_find(const char *key) {
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
    if (strcmp(options[i].key, key) == 0)
      return &options[i];
  return NULL;
}

/* Decimal digits only: no sign, no blanks, no 0x or octal (strtoull's base 0
 * read "010" as 8). Sets *end past the digits. 0 or -EINVAL (none, overflow). */
static int parse_decimal(const char *s, const char **end, uint64_t *out) {
  uint64_t v = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      return -EINVAL;
    v = v * 10 + d;
  }
  if (p == s)
    return -EINVAL;
  *end = p;
  *out = v;
  return 0;
}

int rnull_parse_size(const char *s, uint64_t *out) {
  const char *end;
  uint64_t v;
  if (parse_decimal(s, &end, &v) < 0)
    return -EINVAL;
  unsigned shift = 0;
  if (*end) {
    const char *units = "KMGTPE";
    const char *u = strchr(units, toupper((unsigned char)*end));
    if (!u)
      return -EINVAL;
    shift = 10 * (unsigned)(u - units + 1);
    end++;
    if (end[0] == 'i' && end[1] == 'B')
      end += 2;
    else if (end[0] == 'B')
      end++;
    if (*end)
      return -EINVAL;
  }
  if (shift && v > (UINT64_MAX >> shift))
    return -EINVAL;
  *out = v << shift;
  return 0;
}

static int parse_uint(const char *s, uint64_t *out) {
  const char *end;
  if (parse_decimal(s, &end, out) < 0 || *end)
    return -EINVAL;
  return 0;
}

static int parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
                                                                              "off"};
  for (unsigned i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0)
      return *out = true, 0;
    if (strcasecmp(s, no[i]) == 0)
      return *out = false, 0;
  }
  return -EINVAL;
}

static int parse_irqmode(const char *s, enum rnull_irqmode *out) {
  static const char *const names[] = {"none", "softirq", "timer"};
  for (unsigned i = 0; i < 3; i++) {
    char num[2] = {(char)('0' + i), 0};
    if (strcasecmp(s, names[i]) == 0 || strcmp(s, num) == 0)
      return *out = (enum rnull_irqmode)i, 0;
  }
  return -EINVAL;
}

static int parse_ranges(const char *s, struct rnull_ranges *out) {
  struct rnull_ranges got;
  unsigned n = 0;
  const char *p = s;
  while (*p) {
    uint64_t a, b;
    if (n == RNULL_MAX_BADBLOCK_RANGES || parse_decimal(p, &p, &a) < 0 || *p++ != '-' ||
        parse_decimal(p, &p, &b) < 0 || a > b)
      return -EINVAL;
    if (*p == ',' && p[1])
      p++;
    else if (*p)
      return -EINVAL;
    got.r[n++] = (struct rnull_range){a, b};
  }
  if (n == 0)
    return -EINVAL;
  got.n = n;
  *out = got;
  return 0;
}

/* Describe the allowed values of an option, for error messages and help. */
void rnull_option_describe(const struct rnull_option *o, char *buf, size_t len) {
  switch (o->type) {
  case RNULL_OPT_SIZE:
    snprintf(buf, len, "a size from %" PRIu64 " to %" PRIu64 " bytes (K/M/G/T/P/E suffixes)",
             o->min, o->max);
    break;
  case RNULL_OPT_UINT:
    snprintf(buf, len, "a decimal integer from %" PRIu64 " to %" PRIu64, o->min, o->max);
    break;
  case RNULL_OPT_POW2:
    snprintf(buf, len, "%sa power of two from %" PRIu64 " to %" PRIu64, o->zero_is ? "0 or " : "",
             o->min, o->max);
    break;
  case RNULL_OPT_BOOL:
    snprintf(buf, len, "a boolean: 0/1, false/true, no/yes, off/on");
    break;
  case RNULL_OPT_NAME:
    snprintf(buf, len, "a string of 1 to %" PRIu64 " bytes", o->max);
    break;
  case RNULL_OPT_IRQ:
    snprintf(buf, len, "none|softirq|timer or 0|1|2");
    break;
  case RNULL_OPT_FAULT:
    snprintf(buf, len, "<interval>,<probability 0..100>,<space>,<times (-1 = unlimited)>");
    break;
  case RNULL_OPT_RANGES:
    snprintf(buf, len, "START-END[,START-END...] in sectors, START <= END, at most %d ranges",
             RNULL_MAX_BADBLOCK_RANGES);
    break;
  case RNULL_OPT_PATH:
    snprintf(buf, len, "a path of 1 to %" PRIu64 " bytes", o->max);
    break;
  case RNULL_OPT_LATENCY:
    snprintf(buf, len, "%s", RNULL_LATENCY_FORMS);
    break;
  case RNULL_OPT_DURATION:
    snprintf(buf, len, "a duration, decimal with ns/us/ms/s suffix (ns if none), at most 3600s");
    break;
  case RNULL_OPT_REJECT:
    snprintf(buf, len, "%s", o->help);
    break;
  }
}

/* Integer fields are as wide as the table says. */
static void store_uint(const struct rnull_option *o, char *field, uint64_t n) {
  if (o->size == sizeof(uint32_t))
    *(uint32_t *)field = (uint32_t)n;
  else
    *(uint64_t *)field = n;
}

static uint64_t load_uint(const struct rnull_option *o, const char *field) {
  return o->size == sizeof(uint32_t) ? *(const uint32_t *)field : *(const uint64_t *)field;
}

static int set_option(const struct rnull_option *o, struct rnull_config *cfg, const char *v,
                      char *err, size_t errlen) {
  char *field = (char *)cfg + o->offset;
  uint64_t n = 0;
  int r = 0;
  switch (o->type) {
  case RNULL_OPT_SIZE:
  case RNULL_OPT_UINT:
  case RNULL_OPT_POW2:
    r = o->type == RNULL_OPT_SIZE ? rnull_parse_size(v, &n) : parse_uint(v, &n);
    if (r == 0 && n == 0 && o->zero_is)
      ; /* 0: the other key's value */
    else if (r == 0 && o->type == RNULL_OPT_POW2 && (n & (n - 1)))
      r = -EINVAL;
    else if (r == 0 && (n < o->min || n > o->max))
      r = -ERANGE;
    if (r == 0)
      store_uint(o, field, n);
    break;
  case RNULL_OPT_BOOL:
    r = parse_bool(v, (bool *)field);
    break;
  case RNULL_OPT_NAME:
  case RNULL_OPT_PATH:
    if (v[0] == '\0' || strlen(v) > o->max)
      r = -EINVAL;
    else
      strcpy(field, v);
    break;
  case RNULL_OPT_IRQ:
    r = parse_irqmode(v, (enum rnull_irqmode *)field);
    break;
  case RNULL_OPT_FAULT: {
    char detail[RNULL_ERR_LEN];
    r = rnull_fault_parse(v, (struct rnull_fault_attr *)field, detail, sizeof detail);
    break;
  }
  case RNULL_OPT_RANGES:
    r = parse_ranges(v, (struct rnull_ranges *)field);
    break;
  case RNULL_OPT_LATENCY: {
    char detail[RNULL_ERR_LEN];
    r = rnull_latency_parse(v, (struct rnull_latency_attr *)field, detail, sizeof detail);
    if (r && detail[0]) {
      snprintf(err, errlen, "%s=%s: invalid value: %s; expected %s", o->key, v, detail,
               RNULL_LATENCY_FORMS);
      return -EINVAL;
    }
    break;
  }
  case RNULL_OPT_DURATION:
    r = rnull_duration_parse(v, (uint64_t *)field);
    break;
  case RNULL_OPT_REJECT:
    snprintf(err, errlen, "%s=%s: %s", o->key, v, o->help);
    return -EINVAL;
  }
  if (r) {
    char range[320];
    rnull_option_describe(o, range, sizeof range);
    snprintf(err, errlen, "%s=%s: invalid value: expected %s", o->key, v, range);
    return -EINVAL;
  }
  return 0;
}

int rnull_config_set(struct rnull_config *cfg, const char *key, const char *value, char *err,
                     size_t errlen) {
  const struct rnull_option *o = rnull_option_find(key);
  if (!o) {
    snprintf(err, errlen, "%s=%s: unknown key (see --help for the list of keys)", key, value);
    return -ENOENT;
  }
  return set_option(o, cfg, value, err, errlen);
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

uint64_t rnull_default_memory_limit(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0)
    return 0; /* unknown: no limit rather than a wrong one */
  return (uint64_t)pages * (uint64_t)page / 2;
}

void rnull_config_init(struct rnull_config *cfg) {
  char err[RNULL_ERR_LEN];
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
    if (options[i].def)
      set_option(&options[i], cfg, options[i].def, err, sizeof err);
  cfg->memory_limit = rnull_default_memory_limit();
}

/* The first latency key set, as key=value in buf; false when none is (the
 * latency model is off). */
static bool first_latency_key(const struct rnull_config *cfg, char *buf, size_t len) {
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
    const struct rnull_latency_attr *a =
        (const struct rnull_latency_attr *)((const char *)cfg + options[i].offset);
    if (options[i].type == RNULL_OPT_LATENCY && a->kind != RNULL_DIST_NONE) {
      char v[300];
      rnull_latency_format(a, v, sizeof v);
      snprintf(buf, len, "%s=%s", options[i].key, v);
      return true;
    }
  }
  if (cfg->latency_per_kib)
    snprintf(buf, len, "latency_per_kib=%" PRIu64 "ns", cfg->latency_per_kib);
  return cfg->latency_per_kib != 0;
}

int rnull_config_check(const struct rnull_config *cfg, char *err, size_t errlen) {
  char lat[320];
  if (cfg->irqmode == RNULL_IRQ_TIMER && first_latency_key(cfg, lat, sizeof lat)) {
    snprintf(err, errlen,
             "%s and irqmode=timer (completion_nsec=%" PRIu64 ") cannot be combined: "
             "irqmode=timer is latency=fixed:%" PRIu64 "ns, use one or the other",
             lat, cfg->completion_nsec, cfg->completion_nsec);
    return -EINVAL;
  }
  if (cfg->stats_file[0] && rnull_stats_file_usable(cfg->stats_file) != 0) {
    snprintf(err, errlen,
             "stats_file=%s: exists and is not a regular file (it is replaced by rename every "
             "second)",
             cfg->stats_file);
    return -EINVAL;
  }
  uint32_t pbs = cfg->physical_blocksize ? cfg->physical_blocksize : cfg->blocksize;
  if (pbs < cfg->blocksize) {
    snprintf(err, errlen,
             "physical_blocksize=%" PRIu32 ": must be >= blocksize (%" PRIu32 ") and at most 65536",
             pbs, cfg->blocksize);
    return -EINVAL;
  }
  if (cfg->size < cfg->blocksize || cfg->size % cfg->blocksize) {
    snprintf(err, errlen,
             "size=%" PRIu64 ": must be a non-zero multiple of blocksize (%" PRIu32 ")", cfg->size,
             cfg->blocksize);
    return -EINVAL;
  }
  if (cfg->max_transfer < pbs) {
    /* proto.md: the maximum block size may not be below the preferred one */
    snprintf(err, errlen,
             "max_transfer=%" PRIu32 " is below physical_blocksize=%" PRIu32
             ": the largest request must be at least the physical block size",
             cfg->max_transfer, pbs);
    return -EINVAL;
  }
  if (cfg->max_transfer % cfg->blocksize) {
    snprintf(err, errlen, "max_transfer=%" PRIu32 ": must be a multiple of blocksize (%" PRIu32 ")",
             cfg->max_transfer, cfg->blocksize);
    return -EINVAL;
  }
  for (unsigned i = 0; i < cfg->badblocks.n; i++) {
    if (cfg->badblocks.r[i].end >= cfg->size / 512) {
      snprintf(err, errlen,
               "badblocks: range %" PRIu64 "-%" PRIu64 " is past the last sector (%" PRIu64 ")",
               cfg->badblocks.r[i].start, cfg->badblocks.r[i].end, cfg->size / 512 - 1);
      return -EINVAL;
    }
  }
  return 0;
}

void rnull_config_help(FILE *out) {
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
    const struct rnull_option *o = &options[i];
    char range[320];
    if (o->type == RNULL_OPT_REJECT) {
      fprintf(out, "%s=  (refused: %s)\n", o->key, o->help);
      continue;
    }
    rnull_option_describe(o, range, sizeof range);
    fprintf(out, "%s=  %s.\n    default: %s; allowed: %s\n", o->key, o->help,
            o->def       ? o->def
            : o->def_doc ? o->def_doc
                         : "unset",
            range);
  }
}

/* One key=value line of the dump, from the field the table describes;
 * nothing for a key that is unset. */
static void dump_option(const struct rnull_config *cfg, const struct rnull_option *o, FILE *out) {
  static const char *const irq[] = {"none", "softirq", "timer"};
  const char *field = (const char *)cfg + o->offset;
  const struct rnull_fault_attr *fa = (const void *)field;
  const struct rnull_ranges *rg = (const void *)field;
  switch (o->type) {
  case RNULL_OPT_SIZE:
  case RNULL_OPT_UINT:
  case RNULL_OPT_POW2: {
    uint64_t n = load_uint(o, field);
    if (n == 0 && o->zero_is) /* the effective value */
      n = load_uint(o, (const char *)cfg + rnull_option_find(o->zero_is)->offset);
    fprintf(out, "%s=%" PRIu64 "\n", o->key, n);
    return;
  }
  case RNULL_OPT_BOOL:
    fprintf(out, "%s=%d\n", o->key, *(const bool *)field);
    return;
  case RNULL_OPT_NAME:
  case RNULL_OPT_PATH:
    if (*field)
      fprintf(out, "%s=%s\n", o->key, field);
    return;
  case RNULL_OPT_IRQ:
    fprintf(out, "%s=%s\n", o->key, irq[*(const enum rnull_irqmode *)field]);
    return;
  case RNULL_OPT_FAULT:
    if (fa->enabled)
      fprintf(out, "%s=%" PRIu64 ",%u,%" PRId64 ",%" PRId64 "\n", o->key, fa->interval,
              fa->probability, fa->space, fa->times);
    return;
  case RNULL_OPT_RANGES:
    for (unsigned i = 0; i < rg->n; i++)
      fprintf(out, "%s%s%" PRIu64 "-%" PRIu64 "%s", i ? "," : o->key, i ? "" : "=", rg->r[i].start,
              rg->r[i].end, i + 1 == rg->n ? "\n" : "");
    return;
  case RNULL_OPT_LATENCY: {
    char buf[300];
    if (((const struct rnull_latency_attr *)field)->kind == RNULL_DIST_NONE)
      return;
    rnull_latency_format((const struct rnull_latency_attr *)field, buf, sizeof buf);
    fprintf(out, "%s=%s\n", o->key, buf);
    return;
  }
  case RNULL_OPT_DURATION:
    fprintf(out, "%s=%" PRIu64 "ns\n", o->key, *(const uint64_t *)field);
    return;
  case RNULL_OPT_REJECT:
    return;
  }
}

void rnull_config_dump(const struct rnull_config *cfg, FILE *out) {
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
    dump_option(cfg, &options[i], out);
}
