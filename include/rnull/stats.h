/* Front-end API: per hw queue statistics, readable while serving (relaxed
 * atomics), as a struct, a table or JSON. The counters are listed once, in
 * RNULL_STATS_COUNTERS; the struct, the JSON keys, the table and the sums
 * are all generated from that list. Latencies (submission to end, in ns)
 * are kept per operation in a log-linear histogram (struct rnull_hist). */
#ifndef RNULL_STATS_H
#define RNULL_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "rnull/export.h"
#include "rnull/io.h"

struct rnull_disk;
struct rnull_hctx;

/* The log-linear (HDR-style) latency histogram: values below 2^SUB_BITS ns
 * have a bucket each; above, every power of two [2^e, 2^(e+1)) is cut into
 * 2^SUB_BITS equal buckets, so a bucket is at most 1/128 (0.78%) of its
 * values wide: a percentile read from it is within 0.78% of the truth, from
 * 1 ns up to 2^40 ns (18 minutes; longer lands in the last bucket). Fixed
 * memory: RNULL_HIST_BUCKETS counters per operation and hw queue. */
#define RNULL_HIST_SUB_BITS 7
#define RNULL_HIST_MAX_EXP 40 /* values < 2^40 ns are bucketed exactly */
#define RNULL_HIST_BUCKETS ((RNULL_HIST_MAX_EXP - RNULL_HIST_SUB_BITS + 1) << RNULL_HIST_SUB_BITS)

struct rnull_hist {
  uint64_t count, min, max; /* ns; min and max exact, 0 when count is 0 */
  uint64_t bucket[RNULL_HIST_BUCKETS];
};

/* The bucket of a latency, and the lowest and highest ns it holds. Pure:
 * any thread. */
RNULL_API unsigned rnull_hist_index(uint64_t ns);
RNULL_API uint64_t rnull_hist_low(unsigned idx);
RNULL_API uint64_t rnull_hist_high(unsigned idx);
/* Percentile (0..100): the highest value of the bucket it falls in, kept
 * within [min, max]; 0 when empty. Reads only *h (the caller's): any thread. */
RNULL_API uint64_t rnull_hist_percentile(const struct rnull_hist *h, double pct);
/* One operation's histogram (RNULL_OP_MAX: every operation together) of a
 * hw queue, or summed over all of a disk's. Into *out (the caller's, about
 * 34 KiB: not for a small stack); any thread, while serving. */
RNULL_API void rnull_hctx_latency(struct rnull_hctx *hctx, enum rnull_op op,
                                  struct rnull_hist *out);
RNULL_API void rnull_disk_latency(struct rnull_disk *d, enum rnull_op op, struct rnull_hist *out);
/* "read", "write", "flush", "trim", "zero", "cache"; "all" for RNULL_OP_MAX,
 * "?" out of range. A static string (never freed); any thread. */
RNULL_API const char *rnull_op_name(enum rnull_op op);

/* X(name, table column heading, its width; NULL, 0 when not in the table) */
#define RNULL_STATS_COUNTERS(X)                                                                    \
  X(submitted, "submitted", 12)                                                                    \
  X(completed, "completed", 12) /* ended, with or without error */                                 \
  X(errors, "errors", 8)        /* ended with an error */                                          \
  X(timeouts, "timeouts", 8)                                                                       \
  X(requeues, "requeues", 8)                                                                       \
  X(tag_waits, "tag_waits", 9) /* a tag was wanted and none was free */                            \
  X(inflight, NULL, 0)                                                                             \
  X(inflight_hwm, "hwm", 6) /* summed over queues: an upper bound */                               \
  X(bytes_read, "bytes_read", 14)                                                                  \
  X(bytes_written, "bytes_written", 14)                                                            \
  /* per operation, for the kernel's diskstats (iostat): completed requests  */                    \
  /* (with or without error), the sum of their latencies (ns), bytes of the  */                    \
  /* successful trims and zeroes; busy_ns: time with a request in flight     */                    \
  /* (the disk: the busiest queue's, a lower bound of the union)             */                    \
  X(reads, NULL, 0)                                                                                \
  X(writes, NULL, 0)                                                                               \
  X(flushes, NULL, 0)                                                                              \
  X(trims, NULL, 0)                                                                                \
  X(zeroes, NULL, 0)                                                                               \
  X(read_ns, NULL, 0)                                                                              \
  X(write_ns, NULL, 0)                                                                             \
  X(flush_ns, NULL, 0)                                                                             \
  X(trim_ns, NULL, 0)                                                                              \
  X(zero_ns, NULL, 0)                                                                              \
  X(bytes_trimmed, NULL, 0)                                                                        \
  X(bytes_zeroed, NULL, 0)                                                                         \
  X(busy_ns, NULL, 0)

struct rnull_stats {
#define RNULL_STAT_FIELD(name, col, width) uint64_t name;
  RNULL_STATS_COUNTERS(RNULL_STAT_FIELD)
#undef RNULL_STAT_FIELD
};

/* A hw queue's counters into *out (the caller's). Any thread, while serving:
 * each counter is read atomically, not all at one instant. */
RNULL_API void rnull_hctx_stats(struct rnull_hctx *hctx, struct rnull_stats *out);
/* Sum over all hw queues; as rnull_hctx_stats. */
RNULL_API void rnull_disk_stats(struct rnull_disk *d, struct rnull_stats *out);

/* A readable table, one row per hw queue and a total (with p50 and p99 of
 * every operation), then per operation: count, p50, p90, p99, p99.9, max.
 * To out (the caller's; not closed, write errors are out's); any thread. */
RNULL_API void rnull_stats_print(struct rnull_disk *d, FILE *out);
/* One JSON object, to out as rnull_stats_print: {"disk":..., "queues":[{...}], "total":{...}}. Each
 * has the counters and "latency": {"read": {"count", "min", "p50", "p90", "p99", "p99_9", "max"},
 * ...} per operation in ns; the total's operations also carry "buckets": [[low_ns, high_ns, count],
 * ...], the non-empty buckets in order. */
RNULL_API void rnull_stats_json(struct rnull_disk *d, FILE *out);
/* The latency distribution of each operation that has requests, as bcc's
 * biolatency prints it (power-of-two slots in microseconds, a bar of up to
 * 40 stars), made from the log-linear histograms (rnull_disk_latency): a
 * bucket goes to the slot of its lowest value. To out as rnull_stats_print. */
RNULL_API void rnull_stats_hist_print(struct rnull_disk *d, FILE *out);

/* Rewrite path with rnull_stats_json via a temp file and rename (never over
 * a non-regular file, see rnull_stats_file_usable in config.h). 0 or -errno
 * (-EEXIST: not a regular file; else of open, write or rename: path then keeps its old contents).
 * Any thread, one writer per path at a time. */
RNULL_API int rnull_stats_file_write(struct rnull_disk *d, const char *path);

/* The statistics writer both front ends use (rnull-server's stats_file
 * option, the plugin's stats_file= key): a thread of its own that rewrites
 * the file with rnull_stats_file_write right away and then every period, so
 * a slow file system (or a FIFO planted at PATH.tmp: opened O_NONBLOCK and
 * refused) never holds up serving, and once more at stop (the final
 * figures). The same thread prints the table (rnull_stats_print) when asked
 * by rnull_stats_writer_print, which a SIGUSR1 handler may call.
 *
 * Ownership: the writer copies opts (and the path); the disk stays the
 * caller's and must outlive the writer (stop before destroying it).
 * Threads: start and stop from one thread (not concurrently); print from
 * any thread or a signal handler; on_error runs on the writer's thread. The
 * writer's thread blocks every signal, so process signals go elsewhere. */
#define RNULL_STATS_WRITER_PERIOD_MS 1000u

struct rnull_stats_writer;

/* One line in the kernel's block/<disk>/stat format (Documentation/block/stat.rst:
 * 17 fields, reads completed, merged, sectors, ms, writes ..., in flight,
 * io_ticks ms, time_in_queue ms, discards ..., flushes completed, ms) from
 * rnull_disk_stats: writes include write zeroes, discards are trims, cache
 * requests are in no group, merges are always 0, sectors are 512 bytes of
 * the successful requests. With major, minor and the name first it is a
 * line of /proc/diskstats (rnull_stats_diskstats_line). Into buf (the
 * caller's); snprintf's result. Any thread, while serving. */
RNULL_API int rnull_stats_block_stat(struct rnull_disk *d, char *buf, size_t len);
RNULL_API int rnull_stats_diskstats_line(struct rnull_disk *d, unsigned major, unsigned minor,
                                         char *buf, size_t len);

/* The disks a writer's stats_dir lists: call visit for each (a disk the
 * callee keeps alive during the call), in a stable order. */
typedef void (*rnull_stats_visit_fn)(void *ctx, struct rnull_disk *d);
typedef void (*rnull_stats_each_disk_fn)(void *arg, rnull_stats_visit_fn visit, void *ctx);

struct rnull_stats_writer_opts {
  const char *path;   /* the JSON file; NULL or "": none (the thread only prints) */
  unsigned period_ms; /* between rewrites; 0: RNULL_STATS_WRITER_PERIOD_MS */
  FILE *print_to;     /* where rnull_stats_writer_print's table goes; NULL: stderr */
  /* A rewrite failed with -errno err (the file is left as it was). Optional:
   * NULL ignores failures; the next period tries again. */
  void (*on_error)(void *arg, const char *path, int err);
  void *arg;
  /* stats_dir: DIR/diskstats and DIR/block/<disk>/stat (kernel format,
   * rnull_stats_block_stat) rewritten every tenth of a period (so iostat's
   * own 1 s intervals see counts at most 0.1 s old), each through a temp
   * file and a rename; DIR and DIR/block are made if missing, the
   * block/<disk> directories of disks gone are removed. NULL or "": none. */
  const char *dir;
  /* The disks in dir: NULL lists the writer's disk alone. Runs on the
   * writer's thread. */
  rnull_stats_each_disk_fn each_disk;
  void *each_disk_arg;
};

/* Start the thread (it writes the file at once). 0, or -errno (nothing
 * started, *out NULL). */
RNULL_API int rnull_stats_writer_start(struct rnull_stats_writer **out, struct rnull_disk *d,
                                       const struct rnull_stats_writer_opts *opts);
/* Ask the thread to print the table to print_to and flush it. Async-signal-
 * safe; a request made while one is pending is merged with it. NULL: none. */
RNULL_API void rnull_stats_writer_print(struct rnull_stats_writer *w);
/* Write the file a last time, join the thread, free the writer. NULL: none. */
RNULL_API void rnull_stats_writer_stop(struct rnull_stats_writer *w);

#endif
