/* Private to lib/null: the write log (log_writes=PATH), in dm-log-writes'
 * on-disk format and order (Linux drivers/md/dm-log-writes.c), read by
 * xfstests' replay-log. The file, in blocks of the disk's logical block
 * size (sectorsize):
 *   block 0        the super block: magic, version 1, nr_entries,
 *                  sectorsize (little endian), zeros to the block's end
 *   then per entry one block: sector, nr_sectors (both in sectorsize units),
 *                  flags, data_len (a mark's text, inline after the entry)
 *                  and, for a write (and a write zeroes: a write of zeros),
 *                  its nr_sectors blocks of data; a trim (DISCARD) and a
 *                  flush carry none.
 * Order: a write, write zeroes or trim is logged when the next flush after
 * it completes (just before that flush's entry); a FUA write at once; a mark
 * at once. "Completes" is when the driver applies the request to its store
 * (its dispatch), the moment the volatile cache takes it, so a replay to a
 * flush is what the cache made durable there.
 *
 * Off the request path: requests append records to a bounded ring (the
 * data copied in) and a writer thread writes the file. A request finding the
 * ring full blocks its submitting thread until the writer frees space (it
 * holds the log's order: see null_log_request). Records awaiting their flush
 * leave the ring at once: written in place ahead of the committed end (the
 * super block counts them at the flush), or, once a FUA write or mark came
 * between, kept in an unlinked spill file beside the log until the flush;
 * so a run that never flushes never stops on a full ring. A failed write of the log (ENOSPC,
 * EIO, EFBIG) is logged on stderr once, and from then on the disk fails
 * writes, write zeroes, trims and flushes with EIO (reads still serve). */
#ifndef RNULL_NULL_LOG_WRITES_H
#define RNULL_NULL_LOG_WRITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnull/io.h"

#define NULL_LOG_MAGIC 0x6a736677736872ull
#define NULL_LOG_VERSION 1
#define NULL_LOG_FLUSH 1u
#define NULL_LOG_FUA 2u
#define NULL_LOG_DISCARD 4u
#define NULL_LOG_MARK 8u
#define NULL_LOG_METADATA 16u /* never set: NBD has no REQ_META */

/* On disk, little endian, as dm-log-writes' log_write_super / _entry. */
struct null_log_super {
  uint64_t magic, version, nr_entries;
  uint32_t sectorsize;
} __attribute__((packed));
struct null_log_entry {
  uint64_t sector, nr_sectors, flags, data_len;
};

struct null_log;

/* Open (truncate) path and start the writer; the super block (0 entries)
 * is written first. ring: bytes of the bounded buffer. NULL with err set. */
struct null_log *null_log_open(const char *path, uint32_t sectorsize, size_t ring, char *err,
                               size_t errlen);
/* Log what is pending (every write not yet flushed, then a mark
 * "dm-log-writes-end", as dm-log-writes' destructor), wait for the writer,
 * close. The super block counts everything. */
void null_log_close(struct null_log *l);

/* The request path of a logged disk: take the log's order, wait for room
 * in the ring for io's record (the data copied in later), apply io with
 * apply(arg) and, if it succeeded, append its record; fua: a FUA write is
 * durable at once (FUA honoured). Returns apply's status, or -EIO once the
 * log failed (apply not called). */
int null_log_request(struct null_log *l, const struct rnull_io *io, bool fua,
                     int (*apply)(void *arg), void *arg);
/* A mark entry with text (truncated to sectorsize - 33 bytes), written
 * before this returns: the super block then counts it. 0 or the log's
 * error (-errno). */
int null_log_mark(struct null_log *l, const char *text);

struct null_log_stats {
  uint64_t entries, bytes; /* written to the file so far (super block's count) */
  int error;               /* 0, or the errno a log write failed with */
};
void null_log_get_stats(struct null_log *l, struct null_log_stats *out);
/* true once a log write failed (cheap: the request path asks) */
bool null_log_failed(const struct null_log *l);

#endif
