/* Accepting connections on the main loop and handing them to the hw queue
 * loops round-robin; beyond --max-connections a client is told so during
 * the handshake (NBD_REP_ERR_POLICY) and disconnected. */
#ifndef RNULL_SERVER_ACCEPTOR_H
#define RNULL_SERVER_ACCEPTOR_H

#include <ev.h>

#include "listen.h"
#include "server.h"

/* Seconds accepting pauses when the process is out of file descriptors. */
#define RNULL_ACCEPT_PAUSE 0.2

struct acceptor {
  struct server *srv;
  struct listeners *ls;
  ev_io w[RNULL_MAX_LISTEN];
  ev_timer resume;
};

void rnull_acceptor_start(struct acceptor *a, struct ev_loop *ev, struct server *srv,
                          struct listeners *ls);
void rnull_acceptor_stop(struct acceptor *a, struct ev_loop *ev);

#endif
