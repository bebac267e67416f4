/* Front-end API: the null block driver (lib/null, Linux's null_blk) and a
 * null disk's whole key set.
 *
 * The null driver's keys (irqmode, memory_backed, mbps, faults, badblocks,
 * latency...) are its own table (rnull_null_options, owner "null driver")
 * and struct; the core never sees them. A front end serving null disks holds
 * all of a disk's keys as one struct rnull_config: the core's, the null
 * driver's and the front ends' (stats_file), and parses, checks, prints and
 * documents them through the rnull_config_* calls, which walk the three
 * tables. Both rnull front ends create their disks this way; a program
 * serving its own driver calls rnull_disk_create + rnull_disk_set_ops with
 * its own table instead (examples/rnull-loop.c). */
#ifndef RNULL_NULL_H
#define RNULL_NULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "rnull/config.h"
#include "rnull/disk.h"
#include "rnull/export.h"

struct rnull_disk;

/* The null driver's parameters (the keys of rnull_null_options). */
struct rnull_null_params {
  enum rnull_irqmode irqmode;
  uint64_t completion_nsec;
  bool memory_backed;
  uint64_t memory_limit; /* bytes of data pages (memory_backed), 0 = no limit */
  bool discard;
  uint64_t mbps; /* 0 = unlimited */
  uint64_t iops; /* requests per second, 0 = unlimited */
  uint64_t fault_seed;
  struct rnull_fault_attr timeout_inject;
  struct rnull_fault_attr requeue_inject;
  struct rnull_fault_attr error_inject;
  bool badblocks_once;
  struct rnull_ranges badblocks;
  /* realistic devices: latency per operation, transfer time, parallelism */
  struct rnull_latency_attr latency; /* every operation without its own */
  struct rnull_latency_attr read_latency, write_latency, flush_latency, trim_latency, zero_latency;
  uint64_t latency_per_kib; /* ns added per KiB moved */
  uint64_t channels;        /* requests in service at once, 0 = unlimited */
  uint64_t seed;            /* every random draw (latency, faults), 0 = new each run */
  uint64_t cache_size;      /* volatile write cache in bytes (memory_backed), 0 = none */
  bool fua;                 /* with cache_size: FUA offered and honoured */
  /* scheduled power cuts (cache_size): when, and what they lose */
  struct rnull_fault_attr power_cut;
  uint64_t power_cut_keep; /* 0: lose=all; 1..100: lose=some, keep that % */
  bool power_cut_prefix;   /* lose=prefix instead */
  bool power_cut_torn;
  /* error faults of one operation each (error_inject: every operation) */
  struct rnull_fault_attr read_error, write_error, flush_error, trim_error, zero_error;
  /* memory_backed=1: silent corruption and lost writes */
  struct rnull_fault_attr read_corrupt, write_corrupt, lost_write;
  char log_writes[256]; /* the write log (dm-log-writes' format), "" = none */
};

/* The null driver's keys (a constant table; any thread). */
RNULL_API const struct rnull_option_table *rnull_null_options(void);
/* Checks between the null driver's keys, and against the core's (bad
 * ranges within the disk). 0 or -EINVAL with err set. */
RNULL_API int rnull_null_params_check(const struct rnull_null_params *p,
                                      const struct rnull_disk_params *core, char *err,
                                      size_t errlen);

/* A null disk's keys, as a front end holds them: the core's, the null
 * driver's, the front ends'. */
struct rnull_config {
  struct rnull_disk_params core;
  struct rnull_null_params null;
  struct rnull_frontend_params fe;
};

/* The three tables, in documentation order (core, null driver, front end). */
RNULL_API const struct rnull_option_table *const *rnull_config_tables(size_t *n);
/* The line of key in any of them (its table in *table if not NULL), or NULL. */
RNULL_API const struct rnull_option *rnull_config_find(const char *key,
                                                       const struct rnull_option_table **table);
/* Where a table's parameters live in cfg (the sub-struct of its owner). */
RNULL_API void *rnull_config_params(struct rnull_config *cfg, const struct rnull_option_table *t);
/* Fill cfg with every table's defaults (the rnull v4 disk). */
RNULL_API void rnull_config_init(struct rnull_config *cfg);
/* Parse one key=value. 0 on success; -EINVAL (bad value), -ENOENT (unknown
 * key) with a message naming key, value and allowed range in err. */
RNULL_API int rnull_config_set(struct rnull_config *cfg, const char *key, const char *value,
                               char *err, size_t errlen);
/* Same, from one "key=value" string. */
RNULL_API int rnull_config_set_kv(struct rnull_config *cfg, const char *kv, char *err,
                                  size_t errlen);
/* Checks between keys (core, null driver, front end). 0 or -EINVAL. */
RNULL_API int rnull_config_check(const struct rnull_config *cfg, char *err, size_t errlen);
/* Print every table's keys, headed by their owner (--help, config_help). */
RNULL_API void rnull_config_help(FILE *out);
/* null_blk's configfs features file: every accepted key of the three
 * tables, comma-separated, no newline. */
RNULL_API void rnull_config_features(FILE *out);
/* Print the effective configuration as key=value lines. */
RNULL_API void rnull_config_dump(const struct rnull_config *cfg, FILE *out);

/* The engine memory a null disk of cfg takes once powered (with at least
 * min_queues hw queues): rnull_disk_params_memory for its PDU, plus the
 * driver's own state; the store's pages are memory_limit's, not counted. */
RNULL_API uint64_t rnull_null_disk_memory(const struct rnull_config *cfg, unsigned min_queues);
/* Validate cfg and create an INITIALIZED disk served by the null driver:
 * the core gets cfg->core, the driver keeps a copy of cfg->null (the front
 * end's keys are not the disk's). rnull_disk_set may still change core
 * keys; the driver reads its own at rnull_disk_add. 0, -EINVAL (err says
 * why) or -ENOMEM. */
RNULL_API int rnull_null_disk_create(struct rnull_disk **out, const struct rnull_config *cfg,
                                     char *err, size_t errlen);
/* The disk's keys as they are now (the live ones as last set): a null disk
 * made by rnull_null_disk_create; cfg->fe is left as it was. 0, or -EINVAL
 * (not a null disk). */
RNULL_API int rnull_null_disk_config(const struct rnull_disk *d, struct rnull_config *cfg);

/* A memory-backed null disk's data outlives its engine disk, as in null_blk
 * where powering a device off and on keeps its data and only removing it
 * frees it. The owner of the disk's name (the registry) takes the data
 * before destroying a powered-off disk and gives it to the next one made
 * for that name; the volatile cache (cache_size) is not part of it: power
 * off drops what it holds, as null_blk's does. */
struct rnull_null_media;
/* Take d's data: NULL if d is no memory-backed null disk or holds no store.
 * d must serve no request anymore (powered off, or never added); it is left
 * without data and may only be destroyed. */
RNULL_API struct rnull_null_media *rnull_null_disk_take_media(struct rnull_disk *d);
/* Give m (taken from an earlier disk of the same name) to d, INITIALIZED and
 * not yet added: rnull_disk_add serves that data instead of an empty store,
 * or fails (err says why) when d's size, block size or memory_backed differ
 * from those m was made with and m holds data; a geometry change on an m
 * without data just starts empty. d owns m from here on: take it back
 * before destroying d to keep it. */
RNULL_API void rnull_null_disk_give_media(struct rnull_disk *d, struct rnull_null_media *m);
/* Bytes of data m holds; 0 for NULL. */
RNULL_API uint64_t rnull_null_media_bytes(const struct rnull_null_media *m);
RNULL_API void rnull_null_media_free(struct rnull_null_media *m);

/* A power cut (rnull-ctl power-cut): what was not durable when the power
 * went (the volatile cache's writes, cache_size) is lost, all or in part:
 *   lose=all     every non-durable write lost (null_blk's power off)
 *   lose=some    each survives with probability keep %; the survivors land
 *                in a seeded order (overlapping writes land either way)
 *   lose=prefix  a seeded prefix of them, in completion order
 *   torn=1       a surviving write longer than physical_blocksize keeps a
 *                seeded proper subset of its physical blocks
 * The same seed on the same records gives the same state. */
enum rnull_lose { RNULL_LOSE_ALL, RNULL_LOSE_SOME, RNULL_LOSE_PREFIX };
struct rnull_power_cut {
  enum rnull_lose lose;
  unsigned keep; /* lose=some: percent, 0..100 */
  bool torn;
  uint64_t seed; /* 0: drawn from the clock (reported) */
};
/* Defaults (lose=all keep=50 torn=0 seed=0), then "lose=", "keep=",
 * "torn=", "seed=" words. 0 or -EINVAL, err naming key, value and range. */
RNULL_API void rnull_power_cut_init(struct rnull_power_cut *pc);
RNULL_API int rnull_power_cut_set(struct rnull_power_cut *pc, const char *kv, char *err,
                                  size_t errlen);
/* Cut an ADDED null disk's power: from now on nothing more lands on it (its
 * cache refuses requests with EIO), and its durable data becomes what the
 * cut leaves; pc->seed is set to the seed used. The crash report (every
 * non-durable write kept, lost or torn, with offset and length; text, or
 * one JSON object) goes to out. The front end then disconnects its clients
 * and powers the disk off. 0 or -EINVAL (not an ADDED null disk). */
RNULL_API int rnull_null_disk_power_cut(struct rnull_disk *d, struct rnull_power_cut *pc, bool json,
                                        FILE *out, char *err, size_t errlen);
/* The volatile cache's statistics (0 without cache_size): bytes written,
 * zeroed or trimmed and not yet durable, records held, records written
 * back, flushes. -EINVAL if d is no ADDED null disk. */
struct rnull_null_cache_stats {
  uint64_t dirty_bytes, records, writebacks, flushes;
};
RNULL_API int rnull_null_disk_cache_stats(struct rnull_disk *d, struct rnull_null_cache_stats *out);
/* Held requests (rnull-ctl hold/release, SPDK's error bdev "pending"):
 * from now on, arriving requests of the operations in ops_mask (bits
 * 1 << RNULL_OP_*; 0 stops holding) are kept without being completed: they
 * stay in flight with their tags, timeout_ms still ends them as on a hung
 * disk, a closed connection aborts them. 0 or -ENODEV (not an ADDED null
 * disk). Any thread. */
RNULL_API int rnull_null_disk_hold(struct rnull_disk *d, unsigned ops_mask);
/* Stop holding and complete every held request: served now (error 0) or
 * failed with -error (one of the fault errnos, rnull_fault_errno_name).
 * Returns how many were released, -EINVAL (error) or -ENODEV. Any thread;
 * the completions run on each queue's next run (its kick wakes it). */
RNULL_API int rnull_null_disk_release(struct rnull_disk *d, int error);
/* Requests held right now (a snapshot; 0 if not an ADDED null disk). */
RNULL_API unsigned rnull_null_disk_held(struct rnull_disk *d);
/* Scheduled power cuts (the power_cut key): when one fires, at the request
 * that fires it (which fails with EIO, as every later one), the crash state
 * is made and its report logged on stderr, then fn(arg, d) is called on
 * that request's thread, without any lock of the driver's held: it must not
 * block (the registry hands the power off to a thread of its own). Set on
 * an INITIALIZED disk, before rnull_disk_add. */
RNULL_API void rnull_null_disk_on_power_cut(struct rnull_disk *d,
                                            void (*fn)(void *arg, struct rnull_disk *d), void *arg);

/* The write log (log_writes=PATH): a mark entry with text (dm-log-writes'
 * "dmsetup message ... mark TEXT"), written to the file before this returns.
 * 0; -EINVAL (no ADDED null disk, or no log_writes: err says); the log's
 * error (-ENOSPC, -EIO...) once a log write failed. */
RNULL_API int rnull_null_disk_log_mark(struct rnull_disk *d, const char *text, char *err,
                                       size_t errlen);
/* The write log's state: entries and bytes written so far, and the errno a
 * log write failed with (0 if none). -EINVAL without log_writes. */
struct rnull_null_log_stats {
  uint64_t entries, bytes;
  int error;
};
RNULL_API int rnull_null_disk_log_stats(struct rnull_disk *d, struct rnull_null_log_stats *out);

/* Live changes, as null_blk lets you write some attributes while powered:
 * the keys whose table line has an apply function (the core's timeout_ms;
 * the null driver's faults, fault_seed, mbps, iops, completion_nsec,
 * badblocks, the latency keys and channels). --help marks them "live". They
 * take effect for the next request; each request reads one consistent
 * snapshot of them. */
RNULL_API bool rnull_null_key_is_live(const char *key);

/* Set one live key on an ADDED null disk. 0; -EINVAL (bad value: err names
 * key, value, range); -EBUSY (not a live key: err says it needs power off);
 * -ENOENT (no such key). From one control thread at a time per disk (a lock
 * serializes changes); requests never wait for it. */
RNULL_API int rnull_null_disk_set_live(struct rnull_disk *d, const char *key, const char *value,
                                       char *err, size_t errlen);

/* null_blk's badblocks file: "+START-END" marks, "-START-END" clears the
 * sectors (512-byte, inclusive). Applied to the serving disk d when it is an
 * ADDED null disk, and to np's badblocks when np is not NULL (np then
 * holds the resulting ranges). 0, -EINVAL or -ENOSPC (err says). */
RNULL_API int rnull_null_badblocks_edit(struct rnull_disk *d, struct rnull_null_params *np,
                                        const char *spec, char *err, size_t errlen);

/* The serving disk's current bad ranges (badblocks_once and remapping
 * writes clear some): how many were copied to out. */
RNULL_API unsigned rnull_null_badblocks_get(struct rnull_disk *d, struct rnull_range *out);

#endif
