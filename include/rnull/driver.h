/* Driver API, everything a block driver needs: the vtable it implements
 * (ops.h, with the contract of each member), the request it is given
 * (request.h, with the refcount rules and completion calls), tags
 * (tagset.h), its hardware queues (hctx.h) and its disk (disk.h). A driver
 * is written against these headers only; the core (lib/mq) holds none of
 * its state, which it reaches through driver_data and the request PDU. */
#ifndef RNULL_DRIVER_H
#define RNULL_DRIVER_H

#include "rnull/clock.h"
#include "rnull/config.h"
#include "rnull/disk.h"
#include "rnull/hctx.h"
#include "rnull/io.h"
#include "rnull/ops.h"
#include "rnull/request.h"
#include "rnull/tagset.h"

#endif
