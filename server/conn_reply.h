/* A connection's replies (conn_reply.c): built in the slot, queued in
 * completion order for conn_io.c to send. */
#ifndef RNULL_SERVER_CONN_REPLY_H
#define RNULL_SERVER_CONN_REPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "conn_state.h"

/* Queue s's reply (built already) for sending. */
void conn_reply_queue(struct conn *c, struct slot *s);
/* Write s's error reply, not queued yet: with structured replies an error
 * chunk carrying msg (ERROR_OFFSET at the request's offset if at_offset and
 * the command has one), else a simple reply with the error code only. */
void conn_reply_error_build(struct conn *c, struct slot *s, uint32_t err, const char *msg,
                            bool at_offset);
/* Build and queue an error reply whose message is err's in words. */
void conn_reply_error(struct conn *c, struct slot *s, uint32_t err, bool at_offset);
/* Answer a BLOCK_STATUS request (synchronous: it needs no tag). */
void conn_block_status(struct conn *c, struct slot *s);

/* The engine's end_io (handed over at rnull_disk_add and rnull_disks_init). */
void conn_end_io(void *cookie, int status, uint32_t done_flags);

#endif
