/* One client connection: the core's two calls, for the loop (conn.c; the
 * state is conn_state.h). */
#ifndef RNULL_SERVER_CONN_H
#define RNULL_SERVER_CONN_H

#include <stdbool.h>

#include "conn_state.h"

/* A new connection on loop l (refuse: only to be told so in the handshake). */
struct conn *conn_create(struct loop *l, int fd, bool refuse, bool tcp);
/* The loop's service: one round of processing, sending and watcher
 * decisions (the connection was marked dirty). */
void conn_service(struct conn *c);
/* The rest of what the loop calls: conn_io.h (reading, polling),
 * conn_intake.h (submissions), conn_timers.h (drain, power off),
 * conn_close.h (abort, free); the engine's end_io: conn_reply.h. */

#endif
