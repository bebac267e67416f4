/* The front ends' own keys (owner "front end"): what rnull-server and the
 * nbdkit plugin accept beside a disk's keys. The disk never sees them. */
#include <errno.h>
#include <string.h>

#include "key_files.h"
#include "rnull/config.h"

typedef char path_t[256];

static const struct rnull_option frontend_options[] = {
    RNULL_OPT(struct rnull_frontend_params, "stats_file", PATH, path_t, NULL, 0, 255, stats_file,
              "rewrite statistics as JSON to this file every second"),
    RNULL_OPT(struct rnull_frontend_params, "stats_dir", PATH, path_t, NULL, 0, 255, stats_dir,
              "keep DIR/diskstats and DIR/block/<disk>/stat in the kernel's format for every "
              "disk served, rewritten ten times a second (iostat -x -f DIR)"),
};

static const struct rnull_option_table frontend_table = RNULL_OPT_TABLE(
    "front end", RNULL_OWNER_FRONTEND, frontend_options, struct rnull_frontend_params);

const struct rnull_option_table *rnull_frontend_options(void) { return &frontend_table; }

/* Under the registry lock (a set armed) the answer read before it: no file
 * is touched there; a path nobody checked first is left to the writer,
 * which checks before each rename. */
static int stats_file_usable(const char *path) {
  const struct rnull_key_files *armed = rnull_key_files_armed();
  if (!armed)
    return rnull_stats_file_usable(path);
  const struct rnull_key_file *f = rnull_key_files_find(armed, path);
  return f ? f->usable : 0;
}

int rnull_frontend_params_check(const struct rnull_frontend_params *p, char *err, size_t errlen) {
  if (p->stats_file[0] && stats_file_usable(p->stats_file) != 0) {
    snprintf(err, errlen,
             "stats_file=%s: exists and is not a regular file (it is replaced by rename every "
             "second)",
             p->stats_file);
    return -EINVAL;
  }
  if (p->stats_dir[0] && rnull_stats_dir_usable(p->stats_dir) != 0) {
    snprintf(err, errlen, "stats_dir=%s: exists and is not a directory", p->stats_dir);
    return -EINVAL;
  }
  return 0;
}
