/* The statistics file front ends rewrite every second: JSON written to a
 * temp file and renamed over the path, so a reader never sees half a file.
 * Never rename over something that is not a regular file: as root, a
 * stats_file=/dev/null would otherwise replace the device node. The same
 * for stats_dir's files (the kernel's format for iostat -f DIR: every
 * disk's block/<disk>/stat, then diskstats). The writer thread that does it
 * for both front ends is below (rnull/stats.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rnull/config.h"
#include "rnull/disk.h"
#include "rnull/stats.h"

/* Write path atomically: fill writes PATH.tmp (a regular file, never
 * followed, never blocking), which is then renamed over path. */
static int write_atomic(const char *path, void (*fill)(void *arg, FILE *f), void *arg) {
  char tmp[320];
  struct stat st;
  if (rnull_stats_file_usable(path) != 0)
    return -EEXIST;
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    return -ENAMETOOLONG;
  /* O_NONBLOCK: a FIFO planted at tmp must not block us in open(2). */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  FILE *f;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (f = fdopen(fd, "w")) == NULL) {
    int e = errno ? errno : EEXIST;
    close(fd);
    return -e;
  }
  fill(arg, f);
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return -e;
  }
  return 0;
}

static void fill_json(void *arg, FILE *f) { rnull_stats_json(arg, f); }

int rnull_stats_file_write(struct rnull_disk *d, const char *path) {
  return write_atomic(path, fill_json, d);
}

/* ---- stats_dir: DIR/diskstats and DIR/block/<disk>/stat ---- */

/* The kernel's DISK_NAME_LEN: rnull's names are at most 31 bytes. */
#define DIR_NAME_MAX 32

struct dir_round {
  const char *dir;
  FILE *diskstats;             /* DIR/diskstats.tmp */
  char (*names)[DIR_NAME_MAX]; /* the disks written this round */
  size_t n, cap;
  int err; /* the first failure */
};

static void fill_line(void *arg, FILE *f) { fputs(arg, f); }

/* A name that is one path component and one diskstats field. */
static bool name_fits(const char *name) {
  if (!name[0] || strlen(name) >= DIR_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
    return false;
  for (const char *p = name; *p; p++)
    if (*p == '/' || (unsigned char)*p <= ' ')
      return false;
  return true;
}

static bool round_keep_name(struct dir_round *r, const char *name) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 16;
    void *p = realloc(r->names, cap * sizeof r->names[0]);
    if (!p)
      return false;
    r->names = p;
    r->cap = cap;
  }
  snprintf(r->names[r->n++], DIR_NAME_MAX, "%s", name);
  return true;
}

static void round_fail(struct dir_round *r, int err) {
  if (!r->err)
    r->err = err;
}

/* One disk: its line of diskstats (major 43, nbd's; minors in listing
 * order, 16 apart as nbd's) and its block/<disk>/stat. */
static void dir_visit(void *ctx, struct rnull_disk *d) {
  struct dir_round *r = ctx;
  const char *name = rnull_disk_name(d);
  char path[320], line[512];
  if (!name_fits(name) || !round_keep_name(r, name))
    return;
  rnull_stats_diskstats_line(d, 43, (unsigned)(r->n - 1) * 16, line, sizeof line);
  if (r->diskstats)
    fputs(line, r->diskstats);
  snprintf(path, sizeof path, "%s/block/%s", r->dir, name);
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    return round_fail(r, -errno);
  snprintf(path, sizeof path, "%s/block/%s/stat", r->dir, name);
  rnull_stats_block_stat(d, line, sizeof line);
  int e = write_atomic(path, fill_line, line);
  if (e)
    round_fail(r, e);
}

static bool round_has(const struct dir_round *r, const char *name) {
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->names[i], name))
      return true;
  return false;
}

/* block/<disk> of a disk no longer listed (removed, powered off) goes. */
static void dir_prune(struct dir_round *r) {
  char path[320];
  snprintf(path, sizeof path, "%s/block", r->dir);
  DIR *dd = opendir(path);
  if (!dd)
    return;
  for (struct dirent *e; (e = readdir(dd)) != NULL;) {
    if (e->d_name[0] == '.' || round_has(r, e->d_name))
      continue;
    snprintf(path, sizeof path, "%s/block/%s/stat", r->dir, e->d_name);
    unlink(path);
    snprintf(path, sizeof path, "%s/block/%s", r->dir, e->d_name);
    rmdir(path);
  }
  closedir(dd);
}

static int mkdir_if_missing(const char *path) {
  return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}
/* The writer thread (rnull/stats.h): a pipe wakes it (a print request, or
 * stop), poll's timeout paces the rewrites. */
#define WAKE_PRINT 'p' /* rnull_stats_writer_print */
#define WAKE_QUIT 'q'  /* rnull_stats_writer_stop */

struct rnull_stats_writer {
  struct rnull_disk *disk;
  struct rnull_stats_writer_opts o;
  char *path;                  /* our copy, NULL for none */
  char *dir;                   /* our copy of stats_dir, NULL for none */
  char (*names)[DIR_NAME_MAX]; /* dir_round's, kept between rounds */
  size_t names_cap;
  int pipe[2];
  pthread_t thread;
};

/* The writer's disk alone, when no each_disk lists them. */
static void own_disk(void *arg, rnull_stats_visit_fn visit, void *ctx) { visit(ctx, arg); }

/* Every disk's block/<disk>/stat, then diskstats, then the stale ones go. */
static int dir_write(struct rnull_stats_writer *w) {
  char path[320];
  struct dir_round r = {.dir = w->dir, .names = w->names, .cap = w->names_cap};
  int e = mkdir_if_missing(w->dir);
  snprintf(path, sizeof path, "%s/block", w->dir);
  if (e || (e = mkdir_if_missing(path)) != 0)
    return e;
  char *buf = NULL;
  size_t len = 0;
  r.diskstats = open_memstream(&buf, &len);
  if (w->o.each_disk)
    w->o.each_disk(w->o.each_disk_arg, dir_visit, &r);
  else
    own_disk(w->disk, dir_visit, &r);
  if (r.diskstats && fclose(r.diskstats) == 0) {
    snprintf(path, sizeof path, "%s/diskstats", w->dir);
    e = write_atomic(path, fill_line, buf);
    round_fail(&r, e);
  } else {
    round_fail(&r, -ENOMEM);
  }
  free(buf);
  dir_prune(&r);
  w->names = r.names;
  w->names_cap = r.cap;
  return r.err;
}

static void file_write(struct rnull_stats_writer *w) {
  int r;
  if (w->path && (r = rnull_stats_file_write(w->disk, w->path)) != 0 && w->o.on_error)
    w->o.on_error(w->o.arg, w->path, r);
}

static void dir_rewrite(struct rnull_stats_writer *w) {
  int r;
  if (w->dir && (r = dir_write(w)) != 0 && w->o.on_error)
    w->o.on_error(w->o.arg, w->dir, r);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One deadline: do it when due, then again a period later. */
static uint64_t pace(struct rnull_stats_writer *w, void (*fn)(struct rnull_stats_writer *),
                     uint64_t now, uint64_t *next, unsigned period) {
  if (now >= *next) {
    fn(w);
    *next = now + period;
  }
  return *next;
}

/* Rewrite the file every period and the dir ten times as often (iostat's
 * own intervals then see counts at most a tenth of one old); print when
 * asked; leave on WAKE_QUIT after the final rewrite. */
static void *writer_main(void *arg) {
  struct rnull_stats_writer *w = arg;
  unsigned dir_period = w->o.period_ms / 10 ? w->o.period_ms / 10 : 1;
  uint64_t next_file = now_ms(), next_dir = next_file;
  for (;;) {
    uint64_t now = now_ms();
    uint64_t next = pace(w, file_write, now, &next_file, w->o.period_ms);
    if (w->dir) {
      uint64_t d = pace(w, dir_rewrite, now, &next_dir, dir_period);
      next = d < next ? d : next;
    }
    struct pollfd pfd = {.fd = w->pipe[0], .events = POLLIN};
    char c;
    if (poll(&pfd, 1, (int)(next - now)) <= 0 || read(w->pipe[0], &c, 1) != 1)
      continue;
    if (c == WAKE_QUIT)
      break;
    rnull_stats_print(w->disk, w->o.print_to);
    fflush(w->o.print_to);
  }
  file_write(w); /* the final figures */
  dir_rewrite(w);
  return NULL;
}

static void writer_free(struct rnull_stats_writer *w) {
  if (w->pipe[0] >= 0)
    close(w->pipe[0]);
  if (w->pipe[1] >= 0)
    close(w->pipe[1]);
  free(w->path);
  free(w->dir);
  free(w->names);
  free(w);
}

int rnull_stats_writer_start(struct rnull_stats_writer **out, struct rnull_disk *d,
                             const struct rnull_stats_writer_opts *opts) {
  *out = NULL;
  struct rnull_stats_writer *w = calloc(1, sizeof(*w));
  if (!w)
    return -ENOMEM;
  w->disk = d;
  w->o = *opts;
  w->o.period_ms = w->o.period_ms ? w->o.period_ms : RNULL_STATS_WRITER_PERIOD_MS;
  w->o.print_to = w->o.print_to ? w->o.print_to : stderr;
  w->pipe[0] = w->pipe[1] = -1;
  if ((opts->path && opts->path[0] && !(w->path = strdup(opts->path))) ||
      (opts->dir && opts->dir[0] && !(w->dir = strdup(opts->dir)))) {
    writer_free(w);
    return -ENOMEM;
  }
  if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    int e = errno;
    writer_free(w);
    return -e;
  }
  /* The thread takes no process signals: the front end's threads do. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int e = pthread_create(&w->thread, NULL, writer_main, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0) {
    writer_free(w);
    return -e;
  }
  *out = w;
  return 0;
}

void rnull_stats_writer_print(struct rnull_stats_writer *w) {
  int saved = errno;
  char c = WAKE_PRINT;
  if (w && write(w->pipe[1], &c, 1) < 0) {
    /* pipe full: prints are already pending */
  }
  errno = saved;
}

void rnull_stats_writer_stop(struct rnull_stats_writer *w) {
  if (!w)
    return;
  char c = WAKE_QUIT;
  /* Blocking write: the quit byte must arrive even if the pipe is full. */
  fcntl(w->pipe[1], F_SETFL, 0);
  if (write(w->pipe[1], &c, 1) == 1)
    pthread_join(w->thread, NULL);
  writer_free(w);
}
