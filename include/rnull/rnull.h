/* Front-end API, everything a front end needs: the option table (config.h),
 * disks created and powered at run time (ctl.h),
 * a disk with the null driver (null.h) or another (disk.h), submission and
 * completion driving (hctx.h, io.h) and statistics (stats.h). A front end
 * never sees a request: it submits an rnull_io with a cookie and gets the
 * cookie back in its end_io. */
#ifndef RNULL_RNULL_H
#define RNULL_RNULL_H

#include "rnull/clock.h"
#include "rnull/ctl.h"
#include "rnull/disk.h"
#include "rnull/hctx.h"
#include "rnull/io.h"
#include "rnull/null.h"
#include "rnull/stats.h"

#endif
