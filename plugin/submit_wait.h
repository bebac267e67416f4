/* Submit one I/O to the engine from an nbdkit worker thread and wait for its
 * completion, driving the hw queue's deferred and timer completions while
 * waiting (the engine owns no loop: the waiting thread is the loop). */
#ifndef RNULL_PLUGIN_SUBMIT_WAIT_H
#define RNULL_PLUGIN_SUBMIT_WAIT_H

#include <stdint.h>

#include "rnull/io.h"

struct rnull_hctx;

/* The disk's end_io callback: wakes the waiter named by cookie. */
void rnull_plugin_end_io(void *cookie, int status, uint32_t done_flags);

/* Submit io (its cookie is overwritten) and wait until it ends.
 * Returns 0 or a negative errno; *done_flags gets RNULL_DONE_* on success. */
int rnull_plugin_submit_wait(struct rnull_hctx *hctx, struct rnull_io *io, uint32_t *done_flags);

#endif
