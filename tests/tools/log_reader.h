/* A reader of dm-log-writes logs, written from the format's documentation
 * (Documentation/admin-guide/device-mapper/log-writes.rst, and the structs
 * of drivers/md/dm-log-writes.c that xfstests' src/log-writes reads), not
 * from rnull's writer: it checks rnull's log against the format. Blocks of
 * sectorsize bytes: the super block (magic 0x6a736677736872, version 1,
 * nr_entries, sectorsize; little endian) at 0; then per entry one block
 * (sector, nr_sectors in sectorsize units, flags, data_len; a mark's text
 * inline after those 32 bytes) followed by nr_sectors blocks of data unless
 * it is a DISCARD (or a flush/mark: nr_sectors 0). */
#ifndef RNULL_TEST_LOG_READER_H
#define RNULL_TEST_LOG_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LR_FLUSH 1u
#define LR_FUA 2u
#define LR_DISCARD 4u
#define LR_MARK 8u

struct lr_log {
  FILE *f;
  uint64_t nr_entries, sectorsize, next; /* next: byte offset of the next entry */
  uint64_t index;                        /* entries read */
};

struct lr_entry {
  uint64_t sector, nr_sectors, flags, data_len;
  char mark[4096]; /* a mark's text, NUL-terminated */
};

/* Open and check the super block. 0, or -1 with a message in err. */
int lr_open(struct lr_log *l, const char *path, char *err, size_t errlen);
void lr_close(struct lr_log *l);
/* The next entry (its data is left at l->next - its length... see lr_replay).
 * 1 read, 0 no more entries (nr_entries reached), -1 error. */
int lr_next(struct lr_log *l, struct lr_entry *e, char *err, size_t errlen);
/* Replay entries to the image file img (opened read-write) until stop says
 * so. Stops: after the mark named end_mark (if not NULL), after the
 * end_flush-th flush entry (if > 0), or at the log's end. A discard zeroes
 * its range (rnull reads trimmed blocks as zeros). Returns the entries
 * replayed, -1 on error (err), -2 if the mark or flush was not found. */
long lr_replay(const char *log, const char *img, const char *end_mark, long end_flush, char *err,
               size_t errlen);

#endif
