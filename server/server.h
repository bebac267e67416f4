/* rnull-server's shared state: the options, the disk, the loops. */
#ifndef RNULL_SERVER_SERVER_H
#define RNULL_SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "disks.h"
#include "handshake.h"
#include "poll_window.h"
#include "rnull/rnull.h"
#include "tls.h"

struct conn;

/* What the loops read of the options (conn.c, loop.c, acceptor.c), checked
 * and parsed once by rnull_nbd_server_create from the caller's struct
 * rnull_nbd_server_opts; the rest of that struct is kept, with copies of its
 * strings, by nbd_server.c. The disk's keys are in its struct rnull_config. */
struct rnull_server_opts {
  unsigned max_conns;          /* 0 = unlimited */
  struct pw_opts poll;         /* --poll, parsed */
  unsigned handshake_timeout;  /* seconds, 0 = none */
  unsigned idle_timeout;       /* seconds, 0 = none */
  unsigned shutdown_timeout;   /* seconds a drain may wait for in-flight requests */
  uint64_t buffer_memory;      /* payload buffers, all connections */
  uint64_t conn_buffer_memory; /* payload buffers, one connection (0: 2 x max_transfer) */
};

/* A connection waiting to be handed to a loop. */
struct handoff {
  int fd;
  bool refuse;
  bool tcp;
};

/* One hw queue: one thread, one ev_loop, the connections living on it. */
struct loop {
  struct server *srv;
  unsigned idx;
  pthread_t thread;
  struct ev_loop *ev;
  struct rnull_hctx *hctx;
  ev_async wake;        /* new connections, drain request */
  ev_async engine_wake; /* the engine's kick: a driver thread queued work */
  ev_prepare settle;    /* after every iteration: run engine, flush */
  ev_timer kick;        /* an immediate extra iteration */
  ev_io timer_io;       /* timerfd at the engine's next deadline (ns precision) */
  int timer_fd;
  uint64_t armed_ns; /* deadline the timerfd is set to */
  ev_timer drain_guard;
  ev_idle poll_idle; /* active: poll instead of sleeping (poll_window.h) */
  struct poll_window pw;
  pthread_mutex_t lock; /* protects the hand-off queue */
  struct handoff *queue;
  unsigned nqueue, capqueue;
  struct conn *conns;    /* all connections of this loop */
  struct conn *polled;   /* the one read by polling recv, out of epoll: its
                          * read watcher stays stopped (conn_set_polled) */
  struct conn *dirty;    /* to service in settle */
  struct conn *tag_wait; /* waiting for a free tag */
  struct conn *dead;     /* to free in settle */
  unsigned nconns;
  bool tag_freed;
  bool draining;
  uint64_t eshutdown_ns;   /* drain: requests parsed after this get ESHUTDOWN */
  struct loop_disks disks; /* the disks bound here (disks.h) */
  atomic_bool power_check; /* a disk is powering off: look at the connections */
};

struct server {
  struct rnull_server_opts o;
  const char *progname;    /* prefix of messages */
  struct rnull_disks reg;  /* the registry: every disk, the exports (disks.h) */
  struct rnull_disk *disk; /* the disk given to create (pinned in ctl) */
  struct rnull_hs_export exp;
  char description[160];
  bool reads_zero;
  unsigned nloops;
  struct loop *loops;
  unsigned next_loop;
  atomic_uint nconns;    /* counted (non-refused) connections */
  atomic_uint nrefusing; /* connections being refused */
  atomic_bool draining;
  struct rnull_tls_opts tls_opts; /* from the command line */
  struct rnull_tls tls;
  _Atomic uint64_t buf_used; /* payload buffer bytes held, all connections */
};

/* loop.c */
int rnull_loops_start(struct server *s, char *err, size_t errlen);
void rnull_loop_handoff(struct server *s, int fd, bool refuse, bool tcp);
void rnull_loops_drain(struct server *s);
void rnull_loops_join(struct server *s);
/* cd is powering off: every loop looks at its connections (the registry's
 * disconnect hook, handed over at rnull_disks_init). */
void rnull_loops_power_check(void *server, struct rnull_ctl_disk *cd);
/* The loop's lists: loop_lists.h. */

#endif
