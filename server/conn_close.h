/* The end of a connection (conn_close.c). */
#ifndef RNULL_SERVER_CONN_CLOSE_H
#define RNULL_SERVER_CONN_CLOSE_H

#include "conn_state.h"

/* Close the socket now: queued replies and parsed requests are dropped,
 * what waits in the engine is cancelled; the loop frees the connection once
 * nothing is in flight (rnull_loop_conn_dead). */
void conn_abort(struct conn *c);
void conn_free(struct conn *c);

#endif
