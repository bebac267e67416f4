/* Whether a stats_file path may be (re)written: the option table checks it
 * at start-up, the writer (lib/mq/stats_file.c) before each rename. */
#include <errno.h>
#include <sys/stat.h>

#include "rnull/config.h"

int rnull_stats_file_usable(const char *path) {
  struct stat st;
  if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
    return -EEXIST;
  return 0;
}

int rnull_stats_dir_usable(const char *path) {
  struct stat st;
  if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
    return -ENOTDIR;
  return 0;
}
