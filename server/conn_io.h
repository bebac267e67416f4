/* A connection's socket, plain or TLS (conn_io.c). */
#ifndef RNULL_SERVER_CONN_IO_H
#define RNULL_SERVER_CONN_IO_H

#include <stdbool.h>

#include "conn_state.h"

/* Send what is queued (handshake output, replies). false if the connection
 * was aborted. */
bool conn_flush_out(struct conn *c);
/* Advance the TLS handshake. false if the connection was aborted. */
bool conn_tls_step(struct conn *c);
/* The socket is readable: recv and process (bounded). */
void conn_read(struct conn *c);
/* Polling without epoll (a loop with one connection): whether this
 * connection can be read that way now (not TLS, past the handshake, no
 * back-pressure), and one recv attempt: true if input came (processed, the
 * connection marked dirty); false, nothing changed, if none. */
bool conn_pollable(const struct conn *c);
bool conn_poll_read(struct conn *c);
/* Out of epoll while the loop polls it (loop->polled; a socket in an epoll
 * set makes every send of the client run epoll's callback: ~7% of a
 * CPU-bound client's time per request at 4k QD32), back in before the loop
 * may sleep. The loop sets or clears loop->polled first. */
void conn_set_polled(struct conn *c, bool on);

#endif
