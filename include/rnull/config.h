/* Driver and front-end API: option tables (every key declared once, by its
 * owner) and the value types the keys use.
 *
 * The nbdkit plugin's config/config_help, rnull-server's command line and
 * its config file, the control socket and configfs all go through these
 * tables; nobody parses an option twice. Key names follow Linux null_blk
 * where it has one. Errors name the key, the value and the allowed range.
 * Tables are constant: any thread may read them.
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
 * the kernel's fault_attr, then rnull's optional ",<errno>" and
 * "@<start>-<end>"): see the fault keys' help. */
struct rnull_fault_attr {
  bool enabled;
  uint64_t interval;
  unsigned probability; /* 0..100 */
  int64_t space;
  int64_t times;       /* -1 = unlimited */
  int error;           /* positive errno a fired error fault ends with (EIO unless named) */
  bool ranged;         /* fires only for requests touching sectors start..end */
  uint64_t start, end; /* 512-byte sectors, inclusive, start <= end */
};

/* The errors a fault may name (RNULL_FAULT_ERRNOS), as text. */
#define RNULL_FAULT_ERRNOS "EPERM, EIO, ENOMEM, EINVAL, ENOSPC, EOVERFLOW, ENOTSUP, ESHUTDOWN"

/* Parse "<interval>,<probability>,<space>,<times>[,<errno>][@<start>-<end>]"
 * (errno one of RNULL_FAULT_ERRNOS, default EIO; sectors inclusive). 0 or
 * -EINVAL with err saying what is wrong. */
RNULL_API int rnull_fault_parse(const char *s, struct rnull_fault_attr *out, char *err,
                                size_t errlen);
/* The name of a fault's errno ("EIO"), NULL if it is not one of them. */
RNULL_API const char *rnull_fault_errno_name(int error);
/* The errno a fault's name stands for ("ENOSPC" -> ENOSPC), 0 if none. */
RNULL_API int rnull_fault_errno_parse(const char *name);

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
 * frees both. The file must be regular and at most 1 MiB; it is opened
 * non-blocking (a FIFO or a device is refused, never waited on). 0, -EINVAL
 * (err names the line), -EFBIG or -errno. */
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

/* ---- option tables ----
 * Every key is one line of one table, and every table has one owner: the
 * core (rnull_disk_options, disk.h: geometry, queues, depth, timeout), a
 * driver (the null driver's rnull_null_options, null.h; any driver may
 * declare its own), or a front end (rnull_frontend_options below; the
 * plugin's own keys). Parsing, --help, the configuration dump, the man pages
 * and configfs' features file walk the tables; no other list of keys exists.
 * A line names its field in the owner's parameter struct (offset and size,
 * compile-checked by RNULL_OPT) and, for a key that may change while the
 * disk serves, the function that applies it live (as null_blk's
 * NULLB_DEVICE_ATTR(name, type, apply)). */

enum rnull_opt_owner {
  RNULL_OWNER_CORE,     /* struct rnull_disk_params: the core (lib/mq) */
  RNULL_OWNER_DRIVER,   /* the driver's own parameters */
  RNULL_OWNER_FRONTEND, /* a front end's (a stats file, a control socket) */
};

struct rnull_disk;

/* Apply a live key to a serving (ADDED) disk: params is the owner's whole
 * parameter struct with the new value already parsed into it (and checked);
 * the function makes the disk follow it for the next request. 0 or -errno
 * with err set; on error nothing changed. Called from a control thread,
 * never from a request path, one change at a time per disk. */
typedef int (*rnull_opt_apply_fn)(struct rnull_disk *d, const char *key, const void *params,
                                  char *err, size_t errlen);

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

/* One key: its field in the owner's parameter struct (offset and size: the
 * C type the table line names, checked at compile time). */
struct rnull_option {
  const char *key;
  enum rnull_opt_type type;
  const char *def; /* default, as text; NULL when the key has none */
  uint64_t min, max;
  size_t offset; /* of the field in the owner's parameter struct */
  size_t size;   /* of the field (0: no field, a refused key) */
  const char *help;
  const char *def_doc;      /* a default computed at start-up (def is NULL): as documented */
  const char *zero_is;      /* 0 stands for this other key's value (e.g. physical_blocksize) */
  uint64_t (*def_fn)(void); /* computes that default (an integer key) */
  rnull_opt_apply_fn apply; /* live: applies a new value while serving; NULL: power off first */
};

/* One owner's keys. */
struct rnull_option_table {
  const char *owner; /* as messages name it: "core", "null driver", "loop driver", ... */
  enum rnull_opt_owner kind;
  const struct rnull_option *opts;
  size_t n;
  size_t params_size; /* sizeof the owner's parameter struct */
};

/* Table lines, one per key, as null_blk's NULLB_DEVICE_ATTR: key, kind of
 * value (RNULL_OPT_<type>), the field's C type (checked against the field
 * of struct pstruct at compile time), default as text, range, field, help. */
#define RNULL_FIELD_OF(pstruct, field, ctype)                                                      \
  (offsetof(pstruct, field) +                                                                      \
   0 * sizeof(                                                                                     \
           char[__builtin_types_compatible_p(__typeof__(((pstruct *)0)->field), ctype) ? 1 : -1]))
#define RNULL_OPT(pstruct, key, type, ctype, def, min, max, field, help)                           \
  {                                                                                                \
    key, RNULL_OPT_##type, def, min, max, RNULL_FIELD_OF(pstruct, field, ctype), sizeof(ctype),    \
        help, NULL, NULL, NULL, NULL                                                               \
  }
/* The same, for a key that changes live through apply. */
#define RNULL_OPT_LIVE(pstruct, key, type, ctype, def, min, max, field, apply, help)               \
  {                                                                                                \
    key, RNULL_OPT_##type, def, min, max, RNULL_FIELD_OF(pstruct, field, ctype), sizeof(ctype),    \
        help, NULL, NULL, NULL, apply                                                              \
  }
/* A key accepted by name and always refused (help says why): no field. */
#define RNULL_OPT_REFUSED(key, help)                                                               \
  { key, RNULL_OPT_REJECT, NULL, 0, 0, 0, 0, help, NULL, NULL, NULL, NULL }
#define RNULL_OPT_TABLE(owner, kind, opts, pstruct)                                                \
  { owner, kind, opts, sizeof(opts) / sizeof((opts)[0]), sizeof(pstruct) }

/* The line of key in t, or NULL. */
RNULL_API const struct rnull_option *rnull_option_table_find(const struct rnull_option_table *t,
                                                             const char *key);
/* Fill params (t->params_size bytes) with the table's defaults. */
RNULL_API void rnull_option_table_defaults(const struct rnull_option_table *t, void *params);
/* Parse one key=value into params. 0; -EINVAL (bad value) or -ENOENT (not
 * a key of t) with a message naming key, value and the allowed range. */
RNULL_API int rnull_option_table_set(const struct rnull_option_table *t, void *params,
                                     const char *key, const char *value, char *err, size_t errlen);
/* Parse value into the field o describes (params: the struct of o's table).
 * 0 or -EINVAL with err set. */
RNULL_API int rnull_option_set(const struct rnull_option *o, void *params, const char *value,
                               char *err, size_t errlen);
/* --help: two lines per key (help; default, allowed values, "live"). */
RNULL_API void rnull_option_table_help(const struct rnull_option_table *t, FILE *out);
/* The values in params as key=value lines (unset keys left out). */
RNULL_API void rnull_option_table_dump(const struct rnull_option_table *t, const void *params,
                                       FILE *out);

/* A key that none of tables[0..n) has (a driver's own and the core's, say):
 * the message for err, naming the key, the tables' owners and, when another
 * table of librnull has it (the core's, the null
 * driver's, the front ends'), whose key it is ("mbps=100: not a key of the
 * core, the loop driver: it is the null driver's"). Returns -ENOENT. */
RNULL_API int rnull_option_refuse(const struct rnull_option_table *const *tables, size_t n,
                                  const char *key, const char *value, char *err, size_t errlen);
/* ---- front ends' keys ---- */

/* What both front ends accept beside a disk's keys. */
struct rnull_frontend_params {
  char stats_file[256]; /* rewritten every second as JSON */
  char stats_dir[256];  /* DIR/diskstats, DIR/block/<disk>/stat (iostat -f DIR) */
};
RNULL_API const struct rnull_option_table *rnull_frontend_options(void);
/* stats_file usable (absent or a regular file), stats_dir absent or a
 * directory. 0 or -EINVAL with err. */
RNULL_API int rnull_frontend_params_check(const struct rnull_frontend_params *p, char *err,
                                          size_t errlen);

/* The values a key allows, in words (what errors, --help and man say). */
RNULL_API void rnull_option_describe(const struct rnull_option *o, char *buf, size_t len);

/* The stats_file: 0 if path is absent or a regular file; -EEXIST if it
 * exists as anything else (a device, a directory, a FIFO, a link). */
RNULL_API int rnull_stats_file_usable(const char *path);
/* The stats_dir: 0 if path is absent or a directory (not a link); else -ENOTDIR. */
RNULL_API int rnull_stats_dir_usable(const char *path);

/* memory_limit's default: half of the machine's RAM, read now. */
RNULL_API uint64_t rnull_default_memory_limit(void);

/* Parse a size with nbdkit-style suffix (K,M,G,T,P,E; powers of 1024). */
RNULL_API int rnull_parse_size(const char *s, uint64_t *out);

#endif
