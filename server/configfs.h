/* rnull-server --configfs DIR: the registry (include/rnull/ctl.h) as a FUSE
 * tree laid out like the kernel's /sys/kernel/config/nullb/, so a script
 * written for null_blk's configfs runs with only its path changed:
 *   DIR/features              every attribute, comma-separated (read-only)
 *   mkdir DIR/NAME            a new disk, powered off (configurable)
 *   DIR/NAME/ATTR             one file per key; size in MB as null_blk's,
 *                             irqmode as 0/1/2, badblocks takes +S-E / -S-E
 *   DIR/NAME/power            1 serves the disk, 0 stops serving it
 *   DIR/NAME/index            the disk's number (read-only)
 *   rmdir DIR/NAME            power off and remove
 * A write the registry refuses fails with its errno (EINVAL, EBUSY for a
 * key that needs power off, ...), and the message goes to stderr. A thin
 * layer: every operation is one command of the line protocol. */
#ifndef RNULL_SERVER_CONFIGFS_H
#define RNULL_SERVER_CONFIGFS_H

#include <stddef.h>

struct rnull_ctl;
struct rnull_configfs;

/* Mount at dir and serve from a thread of its own. 0, or -errno with err
 * saying why (no /dev/fuse, not built with FUSE, mount refused). */
int rnull_configfs_start(struct rnull_configfs **out, struct rnull_ctl *ctl, const char *dir,
                         char *err, size_t errlen);
/* Unmount and join. NULL is fine. */
void rnull_configfs_stop(struct rnull_configfs *fs);

#endif
