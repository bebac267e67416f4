/* Private to lib/ctl: what a command does before it takes the registry
 * lock, so that nothing under the lock waits on a client or a file. */
#ifndef RNULL_CTL_PRELOAD_H
#define RNULL_CTL_PRELOAD_H

#include <stddef.h>

#include "../key_files.h"
#include "rnull/null.h"

/* Read (or check) every file the words' key=value pairs name (hist:FILE
 * values, stats_file); argv[1] is the disk. 0, or -errno with err naming
 * the disk, the key, the value and why (a FIFO, a device, a file too
 * large). */
int ctl_preload_words(int argc, char **argv, struct rnull_key_files *kf, char *err, size_t errlen);
/* The files cfg's keys name (its stored values: errors are left for the
 * command to meet). */
void ctl_preload_config(const struct rnull_config *cfg, struct rnull_key_files *kf);
/* The line checks: no NUL (len: the line's length as received), no
 * control character but blanks and a final CR LF. 0 or -EINVAL with err. */
int ctl_check_line(const char *line, size_t len, char *err, size_t errlen);

#endif
