/* One thread and one ev_loop per hw queue. Accepted fds arrive through a
 * locked queue and an ev_async; after every iteration (ev_prepare) the loop
 * runs the engine's due work, retries connections waiting for a tag, flushes
 * replies, and arms a timer at the engine's next deadline. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "conn_close.h"
#include "conn_intake.h"
#include "conn_io.h"
#include "conn_timers.h"
#include "loop_lists.h"
#include "rnull/clock.h"
#include "server.h"

/* Draining: requests keep being served this long (those the client sent
 * before the signal may still be arriving; at most --shutdown-timeout), then
 * get ESHUTDOWN (so a busy client stops). After --shutdown-timeout the
 * requests still in flight are ended with ESHUTDOWN and the connections
 * closed. */
#define DRAIN_SERVE_NS 2000000000ull
/* Accepted connections taken from the hand-off queue per lock. */
#define HANDOFF_BATCH 64
/* Settle passes per loop iteration at most (engine work, tag waiters,
 * dirty connections): then the loop polls its sockets again. */
#define SETTLE_MAX_PASSES 16
/* First size of the hand-off queue (it doubles when full). */
#define HANDOFF_QUEUE_START 16

static void take_handoffs(struct loop *l) {
  pthread_mutex_lock(&l->lock);
  struct handoff q[HANDOFF_BATCH];
  for (;;) {
    unsigned n = l->nqueue < HANDOFF_BATCH ? l->nqueue : HANDOFF_BATCH;
    if (n == 0) {
      pthread_mutex_unlock(&l->lock);
      return;
    }
    memcpy(q, l->queue + l->nqueue - n, n * sizeof(*q));
    l->nqueue -= n;
    pthread_mutex_unlock(&l->lock);
    for (unsigned i = 0; i < n; i++) {
      if (l->draining || !conn_create(l, q[i].fd, q[i].refuse, q[i].tcp)) {
        close(q[i].fd);
        atomic_fetch_sub(q[i].refuse ? &l->srv->nrefusing : &l->srv->nconns, 1);
      }
    }
    pthread_mutex_lock(&l->lock);
  }
}

/* A disk is powering off (rnull_loops_power_check): connections bound to a
 * disk no longer powered get ESHUTDOWN for new requests and are closed once
 * their replies are out. */
static void check_power(struct loop *l) {
  if (!atomic_exchange(&l->power_check, false))
    return;
  for (struct conn *c = l->conns, *next; c; c = next) {
    next = c->next; /* an abort may free c */
    if (c->bound.cd && rnull_ctl_disk_cutting(c->bound.cd))
      conn_abort(c); /* a power cut: no reply, the connection just drops */
    else if (c->bound.cd && !rnull_ctl_disk_powered(c->bound.cd))
      conn_power_off(c);
  }
}

void rnull_loops_power_check(void *server, struct rnull_ctl_disk *cd) {
  (void)cd; /* each connection looks at its own disk */
  struct server *s = server;
  for (unsigned i = 0; i < s->nloops; i++) {
    atomic_store(&s->loops[i].power_check, true);
    ev_async_send(s->loops[i].ev, &s->loops[i].wake);
  }
}

static void wake_cb(struct ev_loop *ev, ev_async *w, int revents) {
  (void)ev;
  (void)revents;
  struct loop *l = w->data;
  take_handoffs(l);
  check_power(l);
  if (atomic_load(&l->srv->draining) && !l->draining) {
    l->draining = true;
    uint64_t serve_ns = (uint64_t)l->srv->o.shutdown_timeout * 1000000000ull;
    l->eshutdown_ns =
        rnull_disk_now(l->srv->disk) + (serve_ns < DRAIN_SERVE_NS ? serve_ns : DRAIN_SERVE_NS);
    for (struct conn *c = l->conns; c; c = c->next)
      conn_begin_drain(c);
    ev_timer_start(l->ev, &l->drain_guard);
  }
}

/* --shutdown-timeout: what is still in flight is abandoned: ended with
 * ESHUTDOWN (sent where the client still reads), then every connection is
 * closed; the loop ends once the engine gave everything back. */
static void drain_guard_cb(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)ev;
  (void)revents;
  struct loop *l = w->data;
  unsigned n = 0;
  for (unsigned i = 0; i < l->disks.n; i++)
    n += rnull_hctx_abort(l->disks.d[i].hctx, NULL, NULL, -ESHUTDOWN);
  for (struct conn *c = l->conns; c; c = c->next)
    for (struct slot *s = c->pend_head; s; s = s->next)
      n++; /* parsed, never submitted */
  fprintf(stderr,
          "%s: queue %u: --shutdown-timeout (%u s) reached: %u request(s) abandoned, "
          "closing connections\n",
          l->srv->progname, l->idx, l->srv->o.shutdown_timeout, n);
  for (struct conn *c = l->conns; c; c = c->next) {
    conn_service(c); /* the ESHUTDOWN replies, as far as the socket takes them */
    conn_abort(c);
  }
}

/* The loop this thread runs, if any: a kick from it needs no wake-up. */
static _Thread_local struct loop *this_loop;

/* The engine's kick (rnull_hctx_set_kick): a driver's own thread deferred a
 * completion or a requeue. Wake the loop; settle runs the hctx next. */
static void engine_kick(struct rnull_hctx *hctx, void *ctx) {
  (void)hctx;
  struct loop *l = ctx;
  if (this_loop != l)
    ev_async_send(l->ev, &l->engine_wake);
}

static void kick_cb(struct ev_loop *ev, ev_timer *w, int revents) {
  (void)ev;
  (void)revents;
  (void)w; /* the work happens in settle, which runs next */
}

static void engine_wake_cb(struct ev_loop *ev, ev_async *w, int revents) {
  (void)ev;
  (void)revents;
  (void)w; /* the work happens in settle, which runs next */
}

static void timer_io_cb(struct ev_loop *ev, ev_io *w, int revents) {
  (void)ev;
  (void)revents;
  struct loop *l = w->data;
  uint64_t n;
  if (read(l->timer_fd, &n, sizeof(n)) < 0) {
    /* EAGAIN: re-armed meanwhile; settle runs next either way */
  }
  l->armed_ns = RNULL_NO_DEADLINE;
}

/* Engine deadlines are CLOCK_MONOTONIC ns; epoll's timeout is whole ms, so
 * a timerfd carries them (timer mode's completion_nsec is often µs). */
static void arm_deadline(struct loop *l, uint64_t dl) {
  if (dl == l->armed_ns)
    return;
  struct itimerspec its = {
      .it_value = {.tv_sec = (time_t)(dl / 1000000000u), .tv_nsec = (long)(dl % 1000000000u)}};
  if (timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
    l->armed_ns = dl;
}

/* The earliest engine deadline of the hw queues this loop drives. */
static uint64_t next_deadline(struct loop *l) {
  uint64_t dl = RNULL_NO_DEADLINE;
  for (unsigned i = 0; i < l->disks.n; i++) {
    uint64_t d = rnull_hctx_next_deadline(l->disks.d[i].hctx);
    if (d < dl)
      dl = d;
  }
  return dl;
}

/* Returns whether anything happened. */
static bool settle_once(struct loop *l) {
  bool work = false;
  for (unsigned i = 0; i < l->disks.n; i++) {
    struct rnull_hctx *h = l->disks.d[i].hctx;
    uint64_t dl = rnull_hctx_next_deadline(h), now;
    if (dl != RNULL_NO_DEADLINE && dl <= (now = rnull_hctx_now(h))) {
      rnull_hctx_run(h, now);
      work = true;
    }
  }
  struct conn *w = rnull_loop_take_tag_waiters(l);
  if (w) {
    while (w) {
      struct conn *c = w;
      w = c->wait_next;
      c->in_tag_wait = false;
      conn_submit_pending(c);
      rnull_loop_mark_dirty(l, c);
    }
    work = true;
  }
  for (struct conn *c; (c = rnull_loop_take_dirty(l));) {
    conn_service(c);
    work = true;
  }
  return work;
}

static void settle_cb(struct ev_loop *ev, ev_prepare *w, int revents);

/* Being active is this watcher's main job: the loop polls (epoll_wait with
 * a zero timeout) instead of sleeping. With one connection it spins on that
 * socket's recv for up to LOOP_SPIN_NS instead, with the socket out of the
 * epoll set (conn_set_polled): the request is seen as it lands, not a round
 * of libev and an epoll_wait later, and answered at once (4k QD1: 0.80x ->
 * 1.00x bench/ceiling.c), and the client's sends no longer run epoll's
 * callback (4k QD32: 0.93x -> 0.99x; spinning recv with the socket still in
 * the epoll set was 2-4% worse than epoll polling). Back to libev after the
 * slice: signals, timers and other threads' kicks wait at most that long. */
#define LOOP_SPIN_NS 10000u
static void poll_idle_cb(struct ev_loop *ev, ev_idle *w, int revents) {
  (void)revents;
  struct loop *l = w->data;
  if (l->nconns != 1 || !conn_pollable(l->conns))
    return;
  uint64_t now = rnull_clock_monotonic(NULL), end = l->pw.idle_since + l->pw.window_ns;
  if (end > now + LOOP_SPIN_NS)
    end = now + LOOP_SPIN_NS;
  if (!l->polled) {
    l->polled = l->conns;
    conn_set_polled(l->polled, true);
  }
  do {
    if (conn_poll_read(l->conns)) {
      /* answer now, as the next round of the loop would */
      settle_cb(ev, &l->settle, 0);
      if (!ev_is_active(&l->poll_idle) || l->nconns != 1)
        return;
    }
  } while ((now = rnull_clock_monotonic(NULL)) < end);
}

/* The loop thread's CPU time (poll_window.h's crowding check). */
static uint64_t thread_cpu_ns(uint64_t now) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return now; /* unknown: as if the CPU were ours */
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int loadavg_fd = -1;
static long online_cpus;
static void open_loadavg(void) {
  loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  online_cpus = sysconf(_SC_NPROCESSORS_ONLN);
}

/* More tasks runnable than CPUs right now (this thread included): the 4th
 * field of /proc/loadavg, "running/total". Unknown counts as not crowded. */
static bool cpus_crowded(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, open_loadavg);
  char buf[128];
  ssize_t n = loadavg_fd < 0 ? -1 : pread(loadavg_fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0)
    return false;
  buf[n] = 0;
  unsigned long running;
  return sscanf(buf, "%*s %*s %*s %lu/", &running) == 1 && online_cpus > 0 &&
         running > (unsigned long)online_cpus;
}

static const struct pw_env loop_env = {thread_cpu_ns, cpus_crowded};

/* Poll (an active idle watcher: epoll_wait with a zero timeout) or sleep
 * next. Polling is for socket input, which the engine does not own, so it
 * lives here rather than in the engine's poll op. */
static void decide_poll(struct loop *l, bool worked) {
  if (l->pw.o.mode == PW_OFF)
    return;
  uint64_t now = rnull_clock_monotonic(NULL);
  bool poll = pw_next(&l->pw, worked, l->nconns, now, &loop_env);
  /* back in epoll before the loop may sleep, or when it cannot be the
   * only one polled any more */
  if (l->polled && (!poll || l->nconns != 1 || !conn_pollable(l->polled))) {
    struct conn *c = l->polled;
    l->polled = NULL;
    conn_set_polled(c, false);
  }
  if (poll) {
    if (!ev_is_active(&l->poll_idle))
      ev_idle_start(l->ev, &l->poll_idle);
  } else {
    ev_idle_stop(l->ev, &l->poll_idle);
  }
}

static void settle_cb(struct ev_loop *ev, ev_prepare *w, int revents) {
  (void)revents;
  struct loop *l = w->data;
  int i = 0;
  bool worked = false;
  while (settle_once(l)) {
    worked = true;
    if (++i >= SETTLE_MAX_PASSES)
      break;
  }
  /* Free closed connections, except any still queued to be serviced (the
   * settle passes can stop with work left): they go next time. */
  for (struct conn **p = &l->dead; *p;) {
    struct conn *c = *p;
    if (c->dirty) {
      p = &c->wait_next;
      continue;
    }
    *p = c->wait_next;
    conn_free(c);
  }
  /* (no clock read when nothing is pending: direct mode's common case) */
  uint64_t dl = next_deadline(l);
  if (l->dirty || l->tag_freed || (dl != RNULL_NO_DEADLINE && dl <= rnull_disk_now(l->srv->disk))) {
    if (!ev_is_active(&l->kick))
      ev_timer_start(ev, &l->kick); /* 0 s: poll without sleeping */
  } else {
    ev_timer_stop(ev, &l->kick);
    if (dl != RNULL_NO_DEADLINE)
      arm_deadline(l, dl);
  }
  if (l->draining && l->nconns == 0 && l->disks.n == 0) {
    ev_timer_stop(ev, &l->drain_guard);
    ev_idle_stop(ev, &l->poll_idle);
    ev_break(ev, EVBREAK_ONE);
    return;
  }
  decide_poll(l, worked);
}

static void *loop_main(void *arg) {
  struct loop *l = arg;
  /* Timer completions are µs apart: don't let the kernel batch wake-ups
   * (the default slack is 50 µs). */
  prctl(PR_SET_TIMERSLACK, 1UL);
  this_loop = l;
  ev_run(l->ev, 0);
  if (l->pw.o.mode == PW_ADAPTIVE)
    fprintf(stderr,
            "%s: queue %u: poll window %llu ns at exit; %llu trials, %llu times off, "
            "%llu back-offs\n",
            l->srv->progname, l->idx, (unsigned long long)l->pw.window_ns,
            (unsigned long long)l->pw.trials, (unsigned long long)l->pw.offs,
            (unsigned long long)l->pw.backoffs);
  /* Anything the loop still holds (drain guard fired) goes now. */
  while (l->conns) {
    struct conn *c = l->conns;
    conn_abort(c);
    if (c->inflight == 0)
      conn_free(c);
    else
      break; /* cannot happen once the engine has ended everything */
  }
  return NULL;
}

int rnull_loops_start(struct server *s, char *err, size_t errlen) {
  s->nloops = rnull_disk_nr_hw_queues(s->disk);
  s->loops = calloc(s->nloops, sizeof(*s->loops));
  if (!s->loops) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  /* Workers never take the process signals: the main loop does. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int ret = 0;
  for (unsigned i = 0; i < s->nloops; i++) {
    struct loop *l = &s->loops[i];
    l->srv = s;
    l->idx = i;
    l->hctx = rnull_disk_hctx(s->disk, i);
    l->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (!l->ev) {
      snprintf(err, errlen, "cannot create event loop %u", i);
      ret = -ENOMEM;
      break;
    }
    pthread_mutex_init(&l->lock, NULL);
    ev_async_init(&l->wake, wake_cb);
    ev_async_init(&l->engine_wake, engine_wake_cb);
    ev_prepare_init(&l->settle, settle_cb);
    l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->timer_fd < 0) {
      snprintf(err, errlen, "timerfd: %s", strerror(errno));
      ev_loop_destroy(l->ev);
      l->ev = NULL;
      ret = -errno;
      break;
    }
    l->armed_ns = RNULL_NO_DEADLINE;
    ev_timer_init(&l->kick, kick_cb, 0.0, 0.0);
    ev_io_init(&l->timer_io, timer_io_cb, l->timer_fd, EV_READ);
    ev_timer_init(&l->drain_guard, drain_guard_cb, (double)s->o.shutdown_timeout, 0.0);
    ev_idle_init(&l->poll_idle, poll_idle_cb);
    pw_init(&l->pw, &s->o.poll);
    l->wake.data = l->settle.data = l->kick.data = l->drain_guard.data = l->poll_idle.data = l;
    l->timer_io.data = l;
    ev_async_start(l->ev, &l->wake);
    ev_async_start(l->ev, &l->engine_wake);
    rnull_hctx_set_kick(l->hctx, engine_kick, l);
    ev_prepare_start(l->ev, &l->settle);
    ev_io_start(l->ev, &l->timer_io);
    if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
      snprintf(err, errlen, "cannot start thread for queue %u", i);
      ev_loop_destroy(l->ev);
      l->ev = NULL;
      ret = -EAGAIN;
      break;
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (ret) {
    s->nloops = 0;
    for (unsigned i = 0; i < rnull_disk_nr_hw_queues(s->disk); i++)
      if (s->loops[i].ev)
        s->nloops = i + 1;
    rnull_loops_drain(s);
    rnull_loops_join(s);
  }
  return ret;
}

void rnull_loop_handoff(struct server *s, int fd, bool refuse, bool tcp) {
  struct loop *l = &s->loops[s->next_loop++ % s->nloops];
  pthread_mutex_lock(&l->lock);
  if (l->nqueue == l->capqueue) {
    unsigned cap = l->capqueue ? 2 * l->capqueue : HANDOFF_QUEUE_START;
    struct handoff *q = realloc(l->queue, cap * sizeof(*q));
    if (!q) {
      pthread_mutex_unlock(&l->lock);
      close(fd);
      atomic_fetch_sub(refuse ? &s->nrefusing : &s->nconns, 1);
      return;
    }
    l->queue = q;
    l->capqueue = cap;
  }
  l->queue[l->nqueue++] = (struct handoff){.fd = fd, .refuse = refuse, .tcp = tcp};
  pthread_mutex_unlock(&l->lock);
  ev_async_send(l->ev, &l->wake);
}

void rnull_loops_drain(struct server *s) {
  atomic_store(&s->draining, true);
  for (unsigned i = 0; i < s->nloops; i++)
    ev_async_send(s->loops[i].ev, &s->loops[i].wake);
}

void rnull_loops_join(struct server *s) {
  for (unsigned i = 0; i < s->nloops; i++) {
    struct loop *l = &s->loops[i];
    pthread_join(l->thread, NULL);
    rnull_hctx_set_kick(l->hctx, NULL, NULL);
    for (unsigned j = 0; j < l->nqueue; j++)
      close(l->queue[j].fd);
    free(l->queue);
    ev_loop_destroy(l->ev);
    close(l->timer_fd);
    pthread_mutex_destroy(&l->lock);
  }
  free(s->loops);
  s->loops = NULL;
  s->nloops = 0;
}
