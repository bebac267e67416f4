/* Private to librnull: the files keys name (hist:FILE, stats_file), read or
 * checked before the registry lock is taken. A control command must never
 * block on I/O under that lock: a FIFO would block it, /dev/zero never end,
 * a path inside rnull-server's own FUSE tree deadlock it. So lib/ctl reads
 * every file a command may need first (rnull_key_files_add_*), then arms
 * the set for its thread (rnull_key_files_arm) while it holds the lock:
 * armed, the latency parser and the stats_file check take what was read
 * and touch no file. Unarmed (a front end's command line), they read now,
 * through the same bounded, non-blocking reader. */
#ifndef RNULL_KEY_FILES_H
#define RNULL_KEY_FILES_H

#include <stdbool.h>
#include <stddef.h>

#define RNULL_KEY_FILE_MAX (1u << 20) /* bytes: a histogram of ~40,000 lines */
#define RNULL_KEY_FILES_MAX 32        /* files one command may name */

struct rnull_key_file {
  char given[256]; /* the path as the value wrote it */
  char abs[256];   /* its realpath (read files only) */
  char *data;      /* the bytes (NUL-terminated), NULL: only checked */
  size_t len;
  int usable;    /* stats_file: rnull_stats_file_usable's answer */
  char why[200]; /* a file that could not be read: why (data NULL) */
};

struct rnull_key_files {
  unsigned n;
  struct rnull_key_file f[RNULL_KEY_FILES_MAX];
};

/* Read path whole: a regular file of at most RNULL_KEY_FILE_MAX bytes,
 * opened O_NONBLOCK (a FIFO or device is refused, never waited on). The
 * bytes, NUL-terminated, in a malloc'd *data. 0 or -errno with err naming
 * the path and why. */
int rnull_key_file_read(const char *path, char **data, size_t *len, char *err, size_t errlen);

/* Add a file to read (hist:FILE) or to check (stats_file) to s. 0 or
 * -errno with err naming the path and why (a file that cannot be read is
 * still added, with why: an armed lookup reports it). */
int rnull_key_files_add_read(struct rnull_key_files *s, const char *path, char *err, size_t errlen);
int rnull_key_files_add_check(struct rnull_key_files *s, const char *path, char *err,
                              size_t errlen);
/* This thread's armed set (NULL: none, files are read when asked for). */
void rnull_key_files_arm(const struct rnull_key_files *s);
const struct rnull_key_files *rnull_key_files_armed(void);
/* The entry for path (as given, or its realpath), or NULL. */
const struct rnull_key_file *rnull_key_files_find(const struct rnull_key_files *s,
                                                  const char *path);
void rnull_key_files_free(struct rnull_key_files *s);

#endif
