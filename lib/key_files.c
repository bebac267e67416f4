/* Files that keys name, read without blocking and before any lock (see
 * key_files.h). */
#include "key_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rnull/config.h"

static _Thread_local const struct rnull_key_files *armed;

static const char *type_name(mode_t m) {
  if (S_ISFIFO(m))
    return "a FIFO";
  if (S_ISCHR(m))
    return "a character device";
  if (S_ISBLK(m))
    return "a block device";
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISSOCK(m))
    return "a socket";
  return "not a regular file";
}

static int read_fd(int fd, const char *path, char **data, size_t *len, char *err, size_t errlen) {
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    snprintf(err, errlen, "%s: %s", path, strerror(e));
    return -e;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "%s: %s, not a regular file: only regular files are read", path,
             type_name(st.st_mode));
    return -EINVAL;
  }
  if (st.st_size > (off_t)RNULL_KEY_FILE_MAX) {
    snprintf(err, errlen, "%s: %lld bytes: larger than %u bytes", path, (long long)st.st_size,
             RNULL_KEY_FILE_MAX);
    return -EFBIG;
  }
  char *buf = malloc(RNULL_KEY_FILE_MAX + 1);
  if (!buf) {
    snprintf(err, errlen, "%s: out of memory", path);
    return -ENOMEM;
  }
  size_t have = 0;
  for (;;) { /* bounded even if the file grows meanwhile */
    ssize_t n = read(fd, buf + have, RNULL_KEY_FILE_MAX + 1 - have);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      snprintf(err, errlen, "%s: %s", path, strerror(e));
      free(buf);
      return -e;
    }
    if (n == 0)
      break;
    have += (size_t)n;
    if (have > RNULL_KEY_FILE_MAX) {
      snprintf(err, errlen, "%s: larger than %u bytes", path, RNULL_KEY_FILE_MAX);
      free(buf);
      return -EFBIG;
    }
  }
  buf[have] = 0;
  *data = buf;
  *len = have;
  return 0;
}

int rnull_key_file_read(const char *path, char **data, size_t *len, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    snprintf(err, errlen, "%s: %s", path, strerror(e));
    return -e;
  }
  int r = read_fd(fd, path, data, len, err, errlen);
  close(fd);
  return r;
}

static struct rnull_key_file *slot(struct rnull_key_files *s, const char *path, char *err,
                                   size_t errlen) {
  if (strlen(path) >= sizeof s->f[0].given) {
    snprintf(err, errlen, "%s: a path of at most %zu bytes", path, sizeof s->f[0].given - 1);
    return NULL;
  }
  if (s->n == RNULL_KEY_FILES_MAX) {
    snprintf(err, errlen, "%s: more than %d files named in one command", path, RNULL_KEY_FILES_MAX);
    return NULL;
  }
  struct rnull_key_file *f = &s->f[s->n];
  memset(f, 0, sizeof *f);
  strcpy(f->given, path);
  return f;
}

int rnull_key_files_add_read(struct rnull_key_files *s, const char *path, char *err,
                             size_t errlen) {
  const struct rnull_key_file *have = rnull_key_files_find(s, path);
  if (have && have->data)
    return 0;
  struct rnull_key_file *f = slot(s, path, err, errlen);
  if (!f)
    return -E2BIG;
  s->n++;
  int r = rnull_key_file_read(path, &f->data, &f->len, err, errlen);
  char *abs = r < 0 ? NULL : realpath(path, NULL);
  if (r == 0 && (!abs || strlen(abs) >= sizeof f->abs)) {
    snprintf(err, errlen, "%s: its absolute path is longer than %zu bytes", path,
             sizeof f->abs - 1);
    r = -ENAMETOOLONG;
  }
  if (r < 0) {
    free(f->data);
    f->data = NULL;
    snprintf(f->why, sizeof f->why, "%s", err);
  } else {
    strcpy(f->abs, abs);
  }
  free(abs);
  return r;
}

int rnull_key_files_add_check(struct rnull_key_files *s, const char *path, char *err,
                              size_t errlen) {
  if (rnull_key_files_find(s, path))
    return 0;
  struct rnull_key_file *f = slot(s, path, err, errlen);
  if (!f)
    return -E2BIG;
  f->usable = rnull_stats_file_usable(path);
  s->n++;
  return 0;
}

void rnull_key_files_arm(const struct rnull_key_files *s) { armed = s; }
const struct rnull_key_files *rnull_key_files_armed(void) { return armed; }

const struct rnull_key_file *rnull_key_files_find(const struct rnull_key_files *s,
                                                  const char *path) {
  for (unsigned i = 0; i < s->n; i++)
    if (!strcmp(s->f[i].given, path) || (s->f[i].abs[0] && !strcmp(s->f[i].abs, path)))
      return &s->f[i];
  return NULL;
}

void rnull_key_files_free(struct rnull_key_files *s) {
  for (unsigned i = 0; i < s->n; i++)
    free(s->f[i].data);
  s->n = 0;
}
