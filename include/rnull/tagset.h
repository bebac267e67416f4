/* Driver API (and tests): the tag set. nr_hw_queues x queue_depth requests, each with its PDU, all
 * allocated once at rnull_disk_add. A tag is an index within its queue. */
#ifndef RNULL_TAGSET_H
#define RNULL_TAGSET_H

#include <stdbool.h>
#include <stdint.h>

#include "rnull/export.h"

struct rnull_hctx;
struct rnull_rq;

/* Take a free tag: state 0 -> 2 (owned by the submitter, one reference).
 * nowait: -EAGAIN when none is free; else waits (back-pressure, counted as a
 * tag wait) until one is. -ESHUTDOWN once the disk is being destroyed.
 * Any thread, no core lock held (it may sleep unless nowait); on error *out
 * is left alone. The request goes back with rnull_rq_end. */
RNULL_API int rnull_tag_get(struct rnull_hctx *hctx, bool nowait, struct rnull_rq **out);

/* Look up a tag: NULL if out of range or free (state 0); otherwise takes a
 * reference (state n -> n+1) that the caller drops with rnull_rq_put.
 * Any thread; races safely with rnull_rq_end (file comment of request.h). */
RNULL_API struct rnull_rq *rnull_tag_to_rq(struct rnull_hctx *hctx, uint32_t tag);

/* Free tags right now (for tests and stats): a snapshot, any thread. */
RNULL_API unsigned rnull_tags_free(struct rnull_hctx *hctx);

#endif
