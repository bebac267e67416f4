/* A connection's input (conn_intake.c): handshake options and requests
 * out of the input buffer, submissions to the engine. */
#ifndef RNULL_SERVER_CONN_INTAKE_H
#define RNULL_SERVER_CONN_INTAKE_H

#include "conn_state.h"

/* Process what the input buffer holds: handshake options, or requests
 * (parsed, then submitted unless the connection waits for a tag). */
void conn_process(struct conn *c);
/* Submit the parsed requests, in order, until a tag runs out (then the
 * connection waits on the loop's tag_wait list). */
void conn_submit_pending(struct conn *c);

#endif
