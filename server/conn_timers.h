/* A connection's timers and the requests to finish (conn_timers.c). */
#ifndef RNULL_SERVER_CONN_TIMERS_H
#define RNULL_SERVER_CONN_TIMERS_H

#include "conn_state.h"

/* The timers (at conn_create); the handshake's starts now if hs_timeout. */
void conn_timers_init(struct conn *c, double hs_timeout);
/* The server drains: a connection in the handshake gets
 * NBD_REP_ERR_SHUTDOWN for its next option; in transmission it is closed
 * once idle and the client quiet. */
void conn_begin_drain(struct conn *c);
/* The connection's disk is being powered off (the loop's power check). */
void conn_power_off(struct conn *c);

#endif
