/* The null driver's keys (owner "null driver"), one line each with the
 * function that applies it live, if it may change while the disk serves
 * (null_blk's attributes writable while powered). Names follow null_blk. */
#include <stdint.h>

#include "live.h"
#include "rnull/null.h"

#define ZONED_MSG "zoned devices are out of scope: NBD has no zones"

#define NULLP(...) RNULL_OPT(struct rnull_null_params, __VA_ARGS__)
#define LIVE(...) RNULL_OPT_LIVE(struct rnull_null_params, __VA_ARGS__)
static const struct rnull_option null_options[] = {
    NULLP("irqmode", IRQ, enum rnull_irqmode, "none", 0, 2, irqmode,
          "completion: none|0 (direct), softirq|1 (deferred), timer|2 (after completion_nsec)"),
    LIVE("completion_nsec", UINT, uint64_t, "10000", 0, 10000000000ull, completion_nsec,
         null_apply_snapshot, "completion delay in ns for irqmode=timer"),
    NULLP("memory_backed", BOOL, bool, "0", 0, 1, memory_backed,
          "keep written data in sparse RAM pages (else reads are zeros, writes dropped)"),
    {"memory_limit", RNULL_OPT_SIZE, NULL, 0, INT64_MAX,
     RNULL_FIELD_OF(struct rnull_null_params, memory_limit, uint64_t), sizeof(uint64_t),
     "memory_backed: a write needing pages beyond this many bytes fails with ENOSPC "
     "(0 = no limit); trim and zeroes give pages back",
     "half of RAM at start-up", NULL, rnull_default_memory_limit, NULL},
    NULLP("cache_size", SIZE, uint64_t, "0", 0, INT64_MAX, cache_size,
          "memory_backed: a volatile write cache of this many bytes (0 = none; at least 1M): "
          "writes, zeroes and trims are durable after a flush (or FUA); a full cache writes back "
          "its oldest first; power off loses it. Bytes with suffixes, in the configfs tree too "
          "(null_blk takes MiB there: its 64 is 64M)"),
    NULLP("fua", BOOL, bool, "1", 0, 1, fua,
          "with cache_size: offer FUA (a FUA write is durable when it completes)"),
    NULLP("power_cut", FAULT, struct rnull_fault_attr, NULL, 0, 0, power_cut,
          "with cache_size: scheduled power cuts at the request that fires one "
          "(<interval>,<probability>,<space>,<times>, reproducible with fault_seed); the disk's "
          "clients are dropped and it powers off, losing what power_cut_keep/_prefix/_torn say"),
    NULLP("power_cut_keep", UINT, uint64_t, "0", 0, 100, power_cut_keep,
          "a scheduled cut: 0 loses every non-durable write (power-cut's lose all), 1..100 keeps "
          "each with "
          "that probability in percent, landing in a seeded order (power-cut's lose some, keep N)"),
    NULLP("power_cut_prefix", BOOL, bool, "0", 0, 1, power_cut_prefix,
          "a scheduled cut keeps a seeded prefix of the non-durable writes (power-cut's lose "
          "prefix)"),
    NULLP(
        "power_cut_torn", BOOL, bool, "0", 0, 1, power_cut_torn,
        "a scheduled cut tears surviving writes longer than physical_blocksize (power-cut's torn)"),
    NULLP("discard", BOOL, bool, "1", 0, 1, discard, "offer trim (discard)"),
    LIVE("mbps", UINT, uint64_t, "0", 0, 1000000, mbps, null_apply_mbps,
         "throughput limit in MiB/s (0 = unlimited)"),
    LIVE("iops", UINT, uint64_t, "0", 0, 100000000, iops, null_apply_iops,
         "request rate limit per second, every operation (0 = unlimited; token bucket as mbps)"),
    LIVE("latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, latency, null_apply_latency,
         "service time of every operation without its own *_latency key, drawn per request "
         "(e.g. lognormal:80us,1ms); each request completes at its own computed time"),
    LIVE("read_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, read_latency,
         null_apply_latency, "service time of reads"),
    LIVE("write_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, write_latency,
         null_apply_latency, "service time of writes"),
    LIVE("flush_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, flush_latency,
         null_apply_latency, "service time of flushes"),
    LIVE("trim_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, trim_latency,
         null_apply_latency, "service time of trims"),
    LIVE("zero_latency", LATENCY, struct rnull_latency_attr, NULL, 0, 0, zero_latency,
         null_apply_latency, "service time of write zeroes"),
    LIVE("latency_per_kib", DURATION, uint64_t, "0", 0, RNULL_LATENCY_MAX_NS, latency_per_kib,
         null_apply_latency,
         "transfer time added per KiB a read or write moves (size-proportional service time)"),
    LIVE("channels", UINT, uint64_t, "0", 0, 65536, channels, null_apply_latency,
         "requests the device serves at once; others wait in order and their service time "
         "starts when a channel frees (0 = unlimited)"),
    NULLP("seed", UINT, uint64_t, "0", 0, UINT64_MAX, seed,
          "seed of every random draw: latencies (per hw queue) and faults unless fault_seed is "
          "set (0 = a new seed each run)"),
    LIVE("timeout", FAULT, struct rnull_fault_attr, NULL, 0, 0, timeout_inject, null_apply_snapshot,
         "fault: never complete requests "
         "(<interval>,<probability>,<space>,<times>[@<start>-<end>])"),
    LIVE("requeue", FAULT, struct rnull_fault_attr, NULL, 0, 0, requeue_inject, null_apply_snapshot,
         "fault: requeue requests once (<interval>,<probability>,<space>,<times>[@<start>-<end>])"),
    LIVE("error", FAULT, struct rnull_fault_attr, NULL, 0, 0, error_inject, null_apply_snapshot,
         "fault: end requests of every operation with an error "
         "(<interval>,<probability>,<space>,<times>[,<errno>, EIO if none][@<start>-<end>, "
         "sectors a request must touch])"),
    LIVE("read_error", FAULT, struct rnull_fault_attr, NULL, 0, 0, read_error, null_apply_snapshot,
         "fault: end reads with an error (the format of error)"),
    LIVE("write_error", FAULT, struct rnull_fault_attr, NULL, 0, 0, write_error,
         null_apply_snapshot, "fault: end writes with an error (the format of error)"),
    LIVE("flush_error", FAULT, struct rnull_fault_attr, NULL, 0, 0, flush_error,
         null_apply_snapshot,
         "fault: end flushes with an error (the format of error; a flush touches no sector, so a "
         "range never fires)"),
    LIVE("trim_error", FAULT, struct rnull_fault_attr, NULL, 0, 0, trim_error, null_apply_snapshot,
         "fault: end trims with an error (the format of error)"),
    LIVE("zero_error", FAULT, struct rnull_fault_attr, NULL, 0, 0, zero_error, null_apply_snapshot,
         "fault: end write zeroes with an error (the format of error)"),
    LIVE("read_corrupt", FAULT, struct rnull_fault_attr, NULL, 0, 0, read_corrupt,
         null_apply_snapshot,
         "memory_backed=1: a fired read succeeds with one seeded bit flipped in the data "
         "returned; the store is unchanged (the fault format, errno ignored)"),
    LIVE("write_corrupt", FAULT, struct rnull_fault_attr, NULL, 0, 0, write_corrupt,
         null_apply_snapshot,
         "memory_backed=1: a fired write succeeds and one seeded bit of what is stored is "
         "flipped (the fault format, errno ignored)"),
    LIVE("lost_write", FAULT, struct rnull_fault_attr, NULL, 0, 0, lost_write, null_apply_snapshot,
         "memory_backed=1: a fired write is acknowledged and not stored (the fault format, "
         "errno ignored)"),
    LIVE("fault_seed", UINT, uint64_t, "0", 0, UINT64_MAX, fault_seed, null_apply_snapshot,
         "seed of fault injection's random numbers (0 = a new seed each run)"),
    LIVE("badblocks", RANGES, struct rnull_ranges, NULL, 0, 0, badblocks, null_apply_badblocks,
         "bad sectors: START-END[,START-END...] in 512-byte sectors; I/O touching them fails"),
    NULLP("badblocks_once", BOOL, bool, "0", 0, 1, badblocks_once,
          "a bad range is cleared after the first I/O that hits it"),
    NULLP("log_writes", PATH, char[256], NULL, 0, 255, log_writes,
          "record every write, write zeroes, trim, flush and FUA to this file in dm-log-writes' "
          "format and order (xfstests' replay-log reads it; rnull-ctl mark adds marks); the "
          "file is truncated at each power on; a failed log write fails the disk's writes with "
          "EIO"),
    RNULL_OPT_REFUSED("zoned", ZONED_MSG),
    RNULL_OPT_REFUSED("zone_size", ZONED_MSG),
    RNULL_OPT_REFUSED("zone_capacity", ZONED_MSG),
    RNULL_OPT_REFUSED("zone_nr_conv", ZONED_MSG),
    RNULL_OPT_REFUSED("zone_max_open", ZONED_MSG),
    RNULL_OPT_REFUSED("zone_max_active", ZONED_MSG),
};
#undef NULLP
#undef LIVE

static const struct rnull_option_table null_table =
    RNULL_OPT_TABLE("null driver", RNULL_OWNER_DRIVER, null_options, struct rnull_null_params);

const struct rnull_option_table *rnull_null_options(void) { return &null_table; }
