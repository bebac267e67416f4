/* Everything a front end needs: config, disk, submission, stats. */
#ifndef RNULL_RNULL_H
#define RNULL_RNULL_H

#include "rnull/clock.h"
#include "rnull/config.h"
#include "rnull/disk.h"
#include "rnull/hctx.h"
#include "rnull/io.h"
#include "rnull/stats.h"

#endif
