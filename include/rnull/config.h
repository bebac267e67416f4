/* Front-end API (and drivers reading their options): the rnull option table: every option any front
 * end accepts, declared once.
 *
 * The nbdkit plugin's config/config_help, rnull-server's command line and its
 * config file all go through rnull_config_set() and rnull_options(); nobody
 * parses an option twice. Key names follow Linux null_blk where it has one.
 * Errors name the key, the value and the allowed range.
 */
#ifndef RNULL_CONFIG_H
#define RNULL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rnull/export.h"

#define RNULL_DISK_NAME_LEN 32 /* as the kernel's DISK_NAME_LEN: 31 bytes + NUL */
#define RNULL_MAX_BADBLOCK_RANGES 64
#define RNULL_ERR_LEN 512 /* size of an error message buffer */

enum rnull_irqmode {
  RNULL_IRQ_NONE = 0,    /* direct: ended inside queue_rq */
  RNULL_IRQ_SOFTIRQ = 1, /* deferred: ended at commit_rqs / next run */
  RNULL_IRQ_TIMER = 2,   /* ended completion_nsec after submission */
};

/* A fault attribute (null_blk's "<interval>,<probability>,<space>,<times>",
 * the kernel's fault_attr): see the fault keys' help. */
struct rnull_fault_attr {
  bool enabled;
  uint64_t interval;
  unsigned probability; /* 0..100 */
  int64_t space;
  int64_t times; /* -1 = unlimited */
};

/* Parse "<interval>,<probability>,<space>,<times>". 0 or -EINVAL with err. */
RNULL_API int rnull_fault_parse(const char *s, struct rnull_fault_attr *out, char *err,
                                size_t errlen);

/* A latency distribution (the latency keys): see rnull_latency_parse. */
enum rnull_dist_kind {
  RNULL_DIST_NONE,      /* unset: the key does not apply */
  RNULL_DIST_FIXED,     /* fixed:D                   a = D */
  RNULL_DIST_UNIFORM,   /* uniform:MIN-MAX           a = MIN, b = MAX */
  RNULL_DIST_NORMAL,    /* normal:MEAN,STDDEV        a = MEAN, b = STDDEV (truncated at 0) */
  RNULL_DIST_EXP,       /* exp:MEAN                  a = MEAN */
  RNULL_DIST_LOGNORMAL, /* lognormal:P50,P99         a = P50, b = P99 (> P50) */
  RNULL_DIST_PARETO,    /* pareto:MIN,ALPHA          a = MIN, alpha = ALPHA */
  RNULL_DIST_HIST,      /* hist:FILE                 lines "latency_ns weight" */
};

#define RNULL_LATENCY_MAX_NS 3600000000000ull /* one hour: longer draws are clamped */
#define RNULL_LATENCY_FORMS                                                                        \
  "fixed:D, uniform:MIN-MAX, normal:MEAN,STDDEV, exp:MEAN, lognormal:P50,P99 (P99 > P50), "        \
  "pareto:MIN,ALPHA (ALPHA > 0), hist:FILE (lines 'latency_ns weight') or none; durations are "    \
  "decimal with ns/us/ms/s suffix (ns if none), at most 3600s"

struct rnull_latency_attr {
  enum rnull_dist_kind kind;
  uint64_t a, b; /* ns */
  double alpha;
  char file[256];
};

/* Parse a distribution (RNULL_LATENCY_FORMS); hist:FILE is read to check it.
 * 0 or -EINVAL with the reason in err. */
RNULL_API int rnull_latency_parse(const char *s, struct rnull_latency_attr *out, char *err,
                                  size_t errlen);
/* Write a distribution back in the form rnull_latency_parse reads. */
RNULL_API void rnull_latency_format(const struct rnull_latency_attr *a, char *buf, size_t len);
/* A duration: decimal, optional fraction, ns/us/ms/s suffix (ns if none),
 * at most RNULL_LATENCY_MAX_NS. 0 or -EINVAL. */
RNULL_API int rnull_duration_parse(const char *s, uint64_t *ns);
/* Read a hist:FILE: n latencies (ns, ascending as in the file or not) and
 * their cumulative weights (cum[n-1] = total > 0), malloc'd: the caller
 * frees both. 0, -EINVAL (err names the line) or -errno. */
RNULL_API int rnull_latency_hist_load(const char *path, uint64_t **values, double **cum, size_t *n,
                                      char *err, size_t errlen);

struct rnull_range {
  uint64_t start, end; /* inclusive, in 512-byte sectors */
};

/* The badblocks key's value: sorted as given, at most RNULL_MAX_BADBLOCK_RANGES. */
struct rnull_ranges {
  unsigned n;
  struct rnull_range r[RNULL_MAX_BADBLOCK_RANGES];
};

struct rnull_config {
  char name[RNULL_DISK_NAME_LEN];
  uint64_t size;               /* bytes */
  uint32_t blocksize;          /* logical block size */
  uint32_t physical_blocksize; /* 0 = same as blocksize */
  uint32_t max_transfer;       /* largest request, bytes */
  bool rotational;
  bool readonly;
  uint32_t submit_queues;
  uint32_t hw_queue_depth;
  enum rnull_irqmode irqmode;
  uint64_t completion_nsec;
  bool memory_backed;
  uint64_t memory_limit; /* bytes of data pages (memory_backed), 0 = no limit */
  bool discard;
  uint64_t mbps; /* 0 = unlimited */
  uint64_t timeout_ms;
  uint64_t fault_seed;
  struct rnull_fault_attr timeout_inject;
  struct rnull_fault_attr requeue_inject;
  struct rnull_fault_attr error_inject;
  bool badblocks_once;
  /* realistic devices: latency per operation, transfer time, parallelism */
  struct rnull_latency_attr latency; /* every operation without its own */
  struct rnull_latency_attr read_latency, write_latency, flush_latency, trim_latency, zero_latency;
  uint64_t latency_per_kib; /* ns added per KiB moved */
  uint64_t channels;        /* requests in service at once, 0 = unlimited */
  uint64_t iops;            /* requests per second, 0 = unlimited */
  uint64_t seed;            /* every random draw (latency, faults), 0 = new each run */
  char stats_file[256];     /* front ends rewrite it every second as JSON */
  struct rnull_ranges badblocks;
};

enum rnull_opt_type {
  RNULL_OPT_SIZE,     /* bytes, with K/M/G/T/P/E suffix */
  RNULL_OPT_UINT,     /* unsigned integer in [min, max] */
  RNULL_OPT_POW2,     /* power of two in [min, max] */
  RNULL_OPT_BOOL,     /* 0/1, true/false, yes/no, on/off */
  RNULL_OPT_NAME,     /* string of at most RNULL_DISK_NAME_LEN - 1 bytes */
  RNULL_OPT_IRQ,      /* none|softirq|timer or 0|1|2 */
  RNULL_OPT_FAULT,    /* <interval>,<probability>,<space>,<times> */
  RNULL_OPT_RANGES,   /* START-END[,START-END...] in sectors */
  RNULL_OPT_PATH,     /* file path, at most 255 bytes */
  RNULL_OPT_LATENCY,  /* a distribution (struct rnull_latency_attr) */
  RNULL_OPT_DURATION, /* ns, with ns/us/ms/s suffix */
  RNULL_OPT_REJECT,   /* accepted key name, always refused (e.g. zoned) */
};

/* One key. Its field in struct rnull_config is described here (offset and
 * size: the C type the table line names, checked at compile time), so
 * parsing, --help, the configuration dump and the man pages all walk this
 * table and no other list of keys exists. */
struct rnull_option {
  const char *key;
  enum rnull_opt_type type;
  const char *def; /* default, as text; NULL when the key has none */
  uint64_t min, max;
  size_t offset; /* of the field in struct rnull_config */
  size_t size;   /* of the field (0: no field, a refused key) */
  const char *help;
  const char *def_doc; /* a default computed at start-up (def is NULL): as documented */
  const char *zero_is; /* 0 stands for this other key's value (e.g. physical_blocksize) */
};

/* The table, in documentation order. */
RNULL_API const struct rnull_option *rnull_options(size_t *count);
RNULL_API const struct rnull_option *rnull_option_find(const char *key);

/* Fill cfg with the defaults of the table (the rnull v4 disk). */
RNULL_API void rnull_config_init(struct rnull_config *cfg);

/* Parse one key=value. 0 on success; -EINVAL (bad value), -ENOENT (unknown
 * key) with a message naming key, value and allowed range in err. */
RNULL_API int rnull_config_set(struct rnull_config *cfg, const char *key, const char *value,
                               char *err, size_t errlen);

/* Same, from one "key=value" string. */
RNULL_API int rnull_config_set_kv(struct rnull_config *cfg, const char *kv, char *err,
                                  size_t errlen);

/* Checks between keys (physical_blocksize >= blocksize, size a multiple of
 * the block size, ...). 0 or -EINVAL with err set. */
RNULL_API int rnull_config_check(const struct rnull_config *cfg, char *err, size_t errlen);

/* The values a key allows, in words (what errors, --help and man say). */
RNULL_API void rnull_option_describe(const struct rnull_option *o, char *buf, size_t len);

/* Print one line per key: "key=TYPE  help (default D, range ...)". */
RNULL_API void rnull_config_help(FILE *out);

/* Print the effective configuration as key=value lines. */
RNULL_API void rnull_config_dump(const struct rnull_config *cfg, FILE *out);

/* The stats_file: 0 if path is absent or a regular file; -EEXIST if it
 * exists as anything else (a device, a directory, a FIFO, a link). */
RNULL_API int rnull_stats_file_usable(const char *path);

/* memory_limit's default: half of the machine's RAM, read now. */
RNULL_API uint64_t rnull_default_memory_limit(void);

/* Parse a size with nbdkit-style suffix (K,M,G,T,P,E; powers of 1024). */
RNULL_API int rnull_parse_size(const char *s, uint64_t *out);

#endif
