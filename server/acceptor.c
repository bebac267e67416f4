/* Accepting connections (see acceptor.h). */
#include "acceptor.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

/* Out of file descriptors: the pending connection stays in the backlog and
 * the listener stays readable, so pause accepting instead of spinning. */
static void pause_accepting(struct acceptor *a, struct ev_loop *ev) {
  if (ev_is_active(&a->resume))
    return; /* another listener hit it in the same turn: one pause, one line */
  fprintf(stderr, "%s: accept: %m (pausing for %.1f s)\n", a->srv->progname, RNULL_ACCEPT_PAUSE);
  for (unsigned i = 0; i < a->ls->n; i++)
    ev_io_stop(ev, &a->w[i]);
  /* A one-shot timer that fired keeps its expired time: set it again, or
   * the restart fires at once and accept4 spins on EMFILE. */
  ev_timer_set(&a->resume, RNULL_ACCEPT_PAUSE, 0.0);
  ev_timer_start(ev, &a->resume);
}

static void resume_cb(struct ev_loop *ev, ev_timer *t, int revents) {
  (void)revents;
  struct acceptor *a = t->data;
  for (unsigned i = 0; i < a->ls->n; i++)
    ev_io_start(ev, &a->w[i]);
}

static void accept_cb(struct ev_loop *ev, ev_io *w, int revents) {
  (void)revents;
  struct acceptor *a = w->data;
  struct server *s = a->srv;
  unsigned idx = (unsigned)(w - a->w);
  for (int i = 0; i < 64; i++) {
    int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        pause_accepting(a, ev);
      else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
        fprintf(stderr, "%s: accept: %m\n", s->progname);
      return;
    }
    unsigned n = atomic_fetch_add(&s->nconns, 1) + 1;
    bool refuse = s->o.max_conns && n > s->o.max_conns;
    if (refuse) {
      /* Always refused with a reply, never a bare close; what bounds them
       * is the descriptor limit (pause above) and their short handshake
       * deadline. */
      atomic_fetch_sub(&s->nconns, 1);
      atomic_fetch_add(&s->nrefusing, 1);
    }
    rnull_loop_handoff(s, fd, refuse, a->ls->tcp[idx]);
  }
}

void rnull_acceptor_start(struct acceptor *a, struct ev_loop *ev, struct server *srv,
                          struct listeners *ls) {
  a->srv = srv;
  a->ls = ls;
  ev_timer_init(&a->resume, resume_cb, RNULL_ACCEPT_PAUSE, 0.0);
  a->resume.data = a;
  for (unsigned i = 0; i < ls->n; i++) {
    ev_io_init(&a->w[i], accept_cb, ls->fd[i], EV_READ);
    a->w[i].data = a;
    ev_io_start(ev, &a->w[i]);
  }
}

void rnull_acceptor_stop(struct acceptor *a, struct ev_loop *ev) {
  ev_timer_stop(ev, &a->resume);
  for (unsigned i = 0; i < a->ls->n; i++)
    ev_io_stop(ev, &a->w[i]);
}
