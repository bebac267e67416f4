/* The one option table and its parsers. Each option is one OPT() line, like
 * null_blk's NULLB_DEVICE_ATTR: key, type, default, range, field, help. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnull/config.h"

#define F(field) offsetof(struct rnull_config, field)
#define OPT(key, type, def, min, max, field, help)                                                 \
  { key, RNULL_OPT_##type, def, min, max, field, help, NULL }
/* A default computed at start-up: doc says what it is in --help and man. */
#define OPT_COMPUTED(key, type, doc, min, max, field, help)                                        \
  { key, RNULL_OPT_##type, NULL, min, max, field, help, doc }
#define NO_FIELD 0
#define ZONED_MSG "zoned devices are out of scope: NBD has no zones"

static const struct rnull_option options[] = {
    OPT("size", SIZE, "4G", 512, INT64_MAX, F(size),
        "disk size in bytes, with K/M/G/T/P/E suffix (a multiple of blocksize)"),
    OPT("blocksize", POW2, "4096", 512, 4096, F(blocksize), "logical block size in bytes"),
    OPT("physical_blocksize", POW2, "0", 512, 65536, F(physical_blocksize),
        "physical block size in bytes, >= blocksize (0 = same as blocksize)"),
    OPT("max_transfer", SIZE, "32M", 4096, 32 << 20, F(max_transfer),
        "largest request in bytes (the NBD maximum block size)"),
    OPT("rotational", BOOL, "0", 0, 1, F(rotational), "report a rotational disk"),
    OPT("readonly", BOOL, "0", 0, 1, F(readonly), "refuse writes, trims and zeroes"),
    OPT("name", NAME, "rnullb0", 0, RNULL_DISK_NAME_LEN - 1, F(name),
        "disk name (at most 31 bytes, as the kernel's DISK_NAME_LEN)"),
    OPT("submit_queues", UINT, "1", 1, 64, F(submit_queues), "number of hardware queues"),
    OPT("hw_queue_depth", UINT, "256", 1, 4096, F(hw_queue_depth), "tags per hardware queue"),
    OPT("irqmode", IRQ, "none", 0, 2, F(irqmode),
        "completion: none|0 (direct), softirq|1 (deferred), timer|2 (after completion_nsec)"),
    OPT("completion_nsec", UINT, "10000", 0, 10000000000ull, F(completion_nsec),
        "completion delay in ns for irqmode=timer"),
    OPT("memory_backed", BOOL, "0", 0, 1, F(memory_backed),
        "keep written data in sparse RAM pages (else reads are zeros, writes dropped)"),
    OPT_COMPUTED("memory_limit", SIZE, "half of RAM at start-up", 0, INT64_MAX, F(memory_limit),
                 "memory_backed: a write needing pages beyond this many bytes fails with ENOSPC "
                 "(0 = no limit); trim and zeroes give pages back"),
    OPT("discard", BOOL, "1", 0, 1, F(discard), "offer trim (discard)"),
    OPT("mbps", UINT, "0", 0, 1000000, F(mbps), "throughput limit in MiB/s (0 = unlimited)"),
    OPT("timeout_ms", UINT, "30000", 1, 3600000, F(timeout_ms),
        "request timeout in ms: a request the driver never completes ends with an error"),
    OPT("timeout", FAULT, NULL, 0, 0, F(timeout_inject),
        "fault: never complete requests (<interval>,<probability>,<space>,<times>)"),
    OPT("requeue", FAULT, NULL, 0, 0, F(requeue_inject),
        "fault: requeue requests once (<interval>,<probability>,<space>,<times>)"),
    OPT("error", FAULT, NULL, 0, 0, F(error_inject),
        "fault: end requests with EIO (<interval>,<probability>,<space>,<times>)"),
    OPT("fault_seed", UINT, "0", 0, UINT64_MAX, F(fault_seed),
        "seed of fault injection's random numbers (0 = a new seed each run)"),
    OPT("badblocks", RANGES, NULL, 0, 0, F(badblocks),
        "bad sectors: START-END[,START-END...] in 512-byte sectors; I/O touching them fails"),
    OPT("badblocks_once", BOOL, "0", 0, 1, F(badblocks_once),
        "a bad range is cleared after the first I/O that hits it"),
    OPT("stats_file", PATH, NULL, 0, 255, F(stats_file),
        "rewrite statistics as JSON to this file every second"),
    OPT("zoned", REJECT, NULL, 0, 0, NO_FIELD, ZONED_MSG),
    OPT("zone_size", REJECT, NULL, 0, 0, NO_FIELD, ZONED_MSG),
    OPT("zone_capacity", REJECT, NULL, 0, 0, NO_FIELD, ZONED_MSG),
    OPT("zone_nr_conv", REJECT, NULL, 0, 0, NO_FIELD, ZONED_MSG),
    OPT("zone_max_open", REJECT, NULL, 0, 0, NO_FIELD, ZONED_MSG),
    OPT("zone_max_active", REJECT, NULL, 0, 0, NO_FIELD, ZONED_MSG),
    OPT("cache_size", REJECT, NULL, 0, 0, NO_FIELD,
        "not implemented: memory_backed keeps all data in RAM, no cache tier"),
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

static int parse_ranges(const char *s, struct rnull_config *cfg) {
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
    cfg->badblocks[n++] = (struct rnull_range){a, b};
  }
  if (n == 0)
    return -EINVAL;
  cfg->nr_badblocks = n;
  return 0;
}

/* Describe the allowed values of an option, for error messages and help. */
static void describe_range(const struct rnull_option *o, char *buf, size_t len) {
  switch (o->type) {
  case RNULL_OPT_SIZE:
    snprintf(buf, len, "a size from %" PRIu64 " to %" PRIu64 " bytes (K/M/G/T/P/E suffixes)",
             o->min, o->max);
    break;
  case RNULL_OPT_UINT:
    snprintf(buf, len, "a decimal integer from %" PRIu64 " to %" PRIu64, o->min, o->max);
    break;
  case RNULL_OPT_POW2:
    snprintf(buf, len, "%sa power of two from %" PRIu64 " to %" PRIu64,
             o->def && strcmp(o->def, "0") == 0 ? "0 or " : "", o->min, o->max);
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
  case RNULL_OPT_REJECT:
    snprintf(buf, len, "%s", o->help);
    break;
  }
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
    if (r == 0 && o->type == RNULL_OPT_POW2 && !(n == 0 && o->def && !strcmp(o->def, "0")) &&
        (n & (n - 1)))
      r = -EINVAL;
    if (r == 0 && (n < o->min || n > o->max) &&
        !(n == 0 && o->type == RNULL_OPT_POW2 && o->def && !strcmp(o->def, "0")))
      r = -ERANGE;
    if (r)
      break;
    /* fields are uint64_t except these 32-bit ones */
    if (o->offset == F(blocksize) || o->offset == F(physical_blocksize) ||
        o->offset == F(max_transfer) || o->offset == F(submit_queues) ||
        o->offset == F(hw_queue_depth))
      *(uint32_t *)field = (uint32_t)n;
    else
      *(uint64_t *)field = n;
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
    r = parse_ranges(v, cfg);
    break;
  case RNULL_OPT_REJECT:
    snprintf(err, errlen, "%s=%s: %s", o->key, v, o->help);
    return -EINVAL;
  }
  if (r) {
    char range[160];
    describe_range(o, range, sizeof range);
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

int rnull_config_check(const struct rnull_config *cfg, char *err, size_t errlen) {
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
  for (unsigned i = 0; i < cfg->nr_badblocks; i++) {
    if (cfg->badblocks[i].end >= cfg->size / 512) {
      snprintf(err, errlen,
               "badblocks: range %" PRIu64 "-%" PRIu64 " is past the last sector (%" PRIu64 ")",
               cfg->badblocks[i].start, cfg->badblocks[i].end, cfg->size / 512 - 1);
      return -EINVAL;
    }
  }
  return 0;
}

void rnull_config_help(FILE *out) {
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
    const struct rnull_option *o = &options[i];
    char range[160];
    if (o->type == RNULL_OPT_REJECT) {
      fprintf(out, "%s=  (refused: %s)\n", o->key, o->help);
      continue;
    }
    describe_range(o, range, sizeof range);
    fprintf(out, "%s=  %s.\n    default: %s; allowed: %s\n", o->key, o->help,
            o->def       ? o->def
            : o->def_doc ? o->def_doc
                         : "unset",
            range);
  }
}

static void dump_fault(FILE *out, const char *key, const struct rnull_fault_attr *a) {
  if (a->enabled)
    fprintf(out, "%s=%" PRIu64 ",%u,%" PRId64 ",%" PRId64 "\n", key, a->interval, a->probability,
            a->space, a->times);
}

void rnull_config_dump(const struct rnull_config *cfg, FILE *out) {
  static const char *const irq[] = {"none", "softirq", "timer"};
  fprintf(out,
          "name=%s\nsize=%" PRIu64 "\nblocksize=%" PRIu32 "\nphysical_blocksize=%" PRIu32
          "\nmax_transfer=%" PRIu32 "\nrotational=%d\nreadonly=%d\nsubmit_queues=%" PRIu32
          "\nhw_queue_depth=%" PRIu32 "\nirqmode=%s\ncompletion_nsec=%" PRIu64
          "\nmemory_backed=%d\nmemory_limit=%" PRIu64 "\ndiscard=%d\nmbps=%" PRIu64
          "\ntimeout_ms=%" PRIu64 "\nfault_seed=%" PRIu64 "\nbadblocks_once=%d\n",
          cfg->name, cfg->size, cfg->blocksize,
          cfg->physical_blocksize ? cfg->physical_blocksize : cfg->blocksize, cfg->max_transfer,
          cfg->rotational, cfg->readonly, cfg->submit_queues, cfg->hw_queue_depth,
          irq[cfg->irqmode], cfg->completion_nsec, cfg->memory_backed, cfg->memory_limit,
          cfg->discard, cfg->mbps, cfg->timeout_ms, cfg->fault_seed, cfg->badblocks_once);
  dump_fault(out, "timeout", &cfg->timeout_inject);
  dump_fault(out, "requeue", &cfg->requeue_inject);
  dump_fault(out, "error", &cfg->error_inject);
  for (unsigned i = 0; i < cfg->nr_badblocks; i++)
    fprintf(out, "%s%" PRIu64 "-%" PRIu64 "%s", i ? "," : "badblocks=", cfg->badblocks[i].start,
            cfg->badblocks[i].end, i + 1 == cfg->nr_badblocks ? "\n" : "");
  if (cfg->stats_file[0])
    fprintf(out, "stats_file=%s\n", cfg->stats_file);
}
