/* The NBD server as a library (include/rnull/nbd_server.h): the disk's
 * export as the handshake announces it, the listening sockets, then the
 * loops, the acceptor, signals and the stats file around one ev_run. */
#include "rnull/nbd_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acceptor.h"
#include "conn_reply.h"
#include "listen.h"
#include "nbd_proto.h"
#include "server.h"
#include "signals.h"

struct rnull_nbd_server {
  struct server srv;
  struct rnull_nbd_server_opts o; /* the caller's, copied once: the strings are ours */
  struct listeners ls;
  bool activated; /* listening on sockets systemd passed */
  struct acceptor acc;
  struct signals sig;
  struct rnull_stats_writer *stats; /* o.stats_file's writer while run serves */
  ev_async stop_w;
  struct ev_loop *_Atomic ev; /* the running loop, once stop_w is started */
  atomic_bool stop;
  bool ran;
};

void rnull_nbd_server_opts_init(struct rnull_nbd_server_opts *o) {
  *o = (struct rnull_nbd_server_opts){
      .bind_addr = "127.0.0.1",
      .port = RNULL_NBD_DEFAULT_PORT,
      .export_name = "",
      .max_connections = RNULL_NBD_DEFAULT_MAX_CONNECTIONS,
      .handshake_timeout = RNULL_NBD_DEFAULT_HANDSHAKE_TIMEOUT,
      .shutdown_timeout = RNULL_NBD_DEFAULT_SHUTDOWN_TIMEOUT,
      .buffer_memory = RNULL_NBD_DEFAULT_BUFFER_MEMORY,
      .poll = "adaptive",
      .handle_signals = true,
      .progname = "rnull-nbd",
  };
}

/* What the handshake says about the disk: size, flags, block sizes. */
static void export_info(struct server *s, const char *export_name, const char *description) {
  struct rnull_disk *d = s->disk;
  if (description)
    snprintf(s->description, sizeof(s->description), "%s", description);
  else
    snprintf(s->description, sizeof(s->description), "rnull disk %s", rnull_disk_name(d));
  rnull_export_of(d, export_name, s->description, &s->exp);
  s->reads_zero = rnull_disk_reads_zero(d);
}

/* Payload buffers: the budgets must hold at least one largest request. */
static int check_buffer_memory(struct server *s, char *err, size_t errlen) {
  uint64_t mt = rnull_disk_max_transfer(s->disk);
  if (!s->o.conn_buffer_memory)
    s->o.conn_buffer_memory = 2 * mt;
  if (s->o.buffer_memory < mt || s->o.conn_buffer_memory < mt) {
    bool total = s->o.buffer_memory < mt;
    snprintf(err, errlen, "%s %llu: must be at least max_transfer (%llu), the largest request",
             total ? "--buffer-memory" : "--conn-buffer-memory",
             (unsigned long long)(total ? s->o.buffer_memory : s->o.conn_buffer_memory),
             (unsigned long long)mt);
    return -EINVAL;
  }
  return 0;
}

/* The string options, copied by create and freed by destroy. */
static const size_t string_opts[] = {
    offsetof(struct rnull_nbd_server_opts, unix_path),
    offsetof(struct rnull_nbd_server_opts, bind_addr),
    offsetof(struct rnull_nbd_server_opts, export_name),
    offsetof(struct rnull_nbd_server_opts, description),
    offsetof(struct rnull_nbd_server_opts, poll),
    offsetof(struct rnull_nbd_server_opts, tls_certificates),
    offsetof(struct rnull_nbd_server_opts, tls_psk),
    offsetof(struct rnull_nbd_server_opts, tls_priority),
    offsetof(struct rnull_nbd_server_opts, progname),
    offsetof(struct rnull_nbd_server_opts, stats_file),
    offsetof(struct rnull_nbd_server_opts, stats_dir),
};

static const char **string_opt(struct rnull_nbd_server_opts *o, size_t i) {
  return (const char **)((char *)o + string_opts[i]);
}

/* The caller's options, once: the defaults of NULL strings, then a copy of
 * each string (they need not outlive create). */
static int copy_opts(struct rnull_nbd_server *n, const struct rnull_nbd_server_opts *o) {
  struct rnull_nbd_server_opts *c = &n->o;
  *c = *o;
  c->bind_addr = c->bind_addr ? c->bind_addr : "127.0.0.1";
  c->export_name = c->export_name ? c->export_name : "";
  c->poll = c->poll ? c->poll : "adaptive";
  c->progname = c->progname ? c->progname : "rnull-nbd";
  if (c->stats_file && !c->stats_file[0])
    c->stats_file = NULL;
  if (c->stats_dir && !c->stats_dir[0])
    c->stats_dir = NULL;
  int r = 0;
  for (size_t i = 0; i < sizeof string_opts / sizeof string_opts[0]; i++) {
    const char **p = string_opt(c, i);
    if (*p && !(*p = strdup(*p)))
      r = -ENOMEM; /* the others are still copies or NULL: free_opts frees them */
  }
  return r;
}

static void free_opts(struct rnull_nbd_server_opts *o) {
  for (size_t i = 0; i < sizeof string_opts / sizeof string_opts[0]; i++)
    free((char *)*string_opt(o, i));
}

/* Check the options and derive what the loops read (server.h). */
static int take_opts(struct rnull_nbd_server *n, char *err, size_t errlen) {
  const struct rnull_nbd_server_opts *o = &n->o;
  struct rnull_server_opts *so = &n->srv.o;
  *so = (struct rnull_server_opts){.max_conns = o->max_connections,
                                   .handshake_timeout = o->handshake_timeout,
                                   .idle_timeout = o->idle_timeout,
                                   .shutdown_timeout = o->shutdown_timeout,
                                   .buffer_memory = o->buffer_memory,
                                   .conn_buffer_memory = o->conn_buffer_memory};
  if (strlen(o->export_name) > NBD_MAX_STRING) {
    snprintf(err, errlen, "export name: longer than %d bytes", NBD_MAX_STRING);
    return -EINVAL;
  }
  if (o->port > 65535) {
    snprintf(err, errlen, "port %u: expected 0..65535", o->port);
    return -EINVAL;
  }
  if (pw_parse(o->poll, &so->poll, err, errlen) < 0) /* the one parser of --poll */
    return -EINVAL;
  if (o->stats_file && rnull_stats_file_usable(o->stats_file) != 0) {
    snprintf(err, errlen,
             "stats file %s: exists and is not a regular file (it is replaced by rename every "
             "second)",
             o->stats_file);
    return -EINVAL;
  }
  if (o->stats_dir && (strlen(o->stats_dir) > 255 || rnull_stats_dir_usable(o->stats_dir) != 0)) {
    snprintf(err, errlen, "stats dir %s: %s", o->stats_dir,
             strlen(o->stats_dir) > 255 ? "longer than 255 bytes"
                                        : "exists and is not a directory");
    return -EINVAL;
  }
  static const enum rnull_hs_tls tls_mode[] = {
      [RNULL_NBD_TLS_OFF] = RNULL_HS_TLS_OFF,
      [RNULL_NBD_TLS_ON] = RNULL_HS_TLS_ON,
      [RNULL_NBD_TLS_REQUIRE] = RNULL_HS_TLS_REQUIRE,
  };
  if ((unsigned)o->tls > RNULL_NBD_TLS_REQUIRE) {
    snprintf(err, errlen, "tls mode %d: expected off, on or require", (int)o->tls);
    return -EINVAL;
  }
  n->srv.tls_opts = (struct rnull_tls_opts){.mode = tls_mode[o->tls],
                                            .certs_dir = o->tls_certificates,
                                            .psk_file = o->tls_psk,
                                            .verify_peer = o->tls_verify_peer,
                                            .priority = o->tls_priority};
  n->srv.progname = o->progname;
  return 0;
}

static int open_listeners(struct rnull_nbd_server *n, char *err, size_t errlen) {
  int r = rnull_listen_systemd(&n->ls, err, errlen);
  n->activated = r > 0;
  if (r == 0) {
    if (n->o.unix_path)
      r = rnull_listen_unix(&n->ls, n->o.unix_path, err, errlen);
    else
      r = rnull_listen_tcp(&n->ls, n->o.bind_addr, n->o.port, err, errlen);
  }
  return r < 0 ? r : 0;
}

int rnull_nbd_server_create(struct rnull_nbd_server **out, struct rnull_disk *disk,
                            const struct rnull_nbd_server_opts *o, char *err, size_t errlen) {
  *out = NULL;
  if (err && errlen)
    err[0] = 0;
  struct rnull_nbd_server *n = calloc(1, sizeof(*n));
  if (!n) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  int r = copy_opts(n, o);
  if (r < 0)
    snprintf(err, errlen, "out of memory");
  else
    r = take_opts(n, err, errlen);
  if (r == 0 && n->o.handle_signals)
    rnull_signals_hold();
  bool tls = false;
  if (r == 0 && rnull_tls_init(&n->srv.tls, &n->srv.tls_opts, err, errlen) < 0)
    r = -EINVAL;
  tls = r == 0;
  if (r == 0 && (r = rnull_disk_add(disk, conn_end_io, err, errlen)) < 0 && !err[0])
    snprintf(err, errlen, "cannot add the disk: %s", strerror(-r));
  if (r == 0) {
    n->srv.disk = disk;
    export_info(&n->srv, n->o.export_name, n->o.description);
    r = check_buffer_memory(&n->srv, err, errlen);
  }
  if (r == 0)
    r = rnull_disks_init(&n->srv.reg, disk, o->ctl, conn_end_io, rnull_loops_power_check, &n->srv,
                         err, errlen);
  if (r == 0 && (r = open_listeners(n, err, errlen)) < 0)
    rnull_disks_fini(&n->srv.reg);
  if (r < 0) {
    if (tls)
      rnull_tls_fini(&n->srv.tls);
    free_opts(&n->o);
    free(n);
    return r;
  }
  *out = n;
  return 0;
}

unsigned rnull_nbd_server_port(const struct rnull_nbd_server *n) {
  struct sockaddr_storage sa;
  socklen_t sl = sizeof(sa);
  if (n->ls.n == 0 || !n->ls.tcp[0] || getsockname(n->ls.fd[0], (struct sockaddr *)&sa, &sl) < 0)
    return 0;
  return ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                        : ((struct sockaddr_in *)&sa)->sin_port);
}

/* Stop (signal or rnull_nbd_server_stop): stop accepting, let the loops
 * drain, leave the main loop once they are joined. */
static void stop_now(struct rnull_nbd_server *n, struct ev_loop *ev) {
  /* Stopping the watchers restores SIG_DFL: a second SIGINT/SIGTERM during
   * the drain ends the process at once. */
  if (n->o.handle_signals)
    rnull_signals_stop(&n->sig, ev);
  rnull_acceptor_stop(&n->acc, ev);
  rnull_listen_close(&n->ls);
  ev_async_stop(ev, &n->stop_w);
  rnull_loops_drain(&n->srv);
  ev_break(ev, EVBREAK_ALL);
}

static void on_signal_stop(struct ev_loop *ev, void *arg) { stop_now(arg, ev); }

static void stop_cb(struct ev_loop *ev, ev_async *w, int revents) {
  (void)revents;
  stop_now(w->data, ev);
}

void rnull_nbd_server_stop(struct rnull_nbd_server *n) {
  atomic_store(&n->stop, true);
  struct ev_loop *ev = atomic_load(&n->ev);
  if (ev)
    ev_async_send(ev, &n->stop_w); /* async-signal-safe */
}

static void announce(struct rnull_nbd_server *n) {
  struct server *s = &n->srv;
  char where[300], poll[64];
  struct sockaddr_storage sa;
  socklen_t sl = sizeof(sa);
  char host[INET6_ADDRSTRLEN] = "?";
  if (n->activated)
    snprintf(where, sizeof(where), "%u inherited socket(s) from systemd", n->ls.n);
  else if (n->ls.unix_path)
    snprintf(where, sizeof(where), "unix:%s", n->ls.unix_path);
  else if (getsockname(n->ls.fd[0], (struct sockaddr *)&sa, &sl) == 0 &&
           getnameinfo((struct sockaddr *)&sa, sl, host, sizeof(host), NULL, 0, NI_NUMERICHOST) ==
               0)
    snprintf(where, sizeof(where), "%s port %u", host, rnull_nbd_server_port(n));
  else
    snprintf(where, sizeof(where), "%s port %u", n->o.bind_addr, n->o.port);
  pw_describe(&s->o.poll, poll, sizeof(poll));
  fprintf(stderr, "%s: serving %s (%llu bytes, %u hw queue(s)) on %s, polling %s\n", n->o.progname,
          rnull_disk_name(s->disk), (unsigned long long)s->exp.size, s->nloops, where, poll);
}

static void stats_write_failed(void *arg, const char *path, int err) {
  fprintf(stderr, "%s: stats file %s: %s\n", (const char *)arg, path, strerror(-err));
}

/* stats_dir lists the registry's powered disks (ours among them). */
static void each_ctl_disk(void *arg, rnull_stats_visit_fn visit, void *ctx) {
  rnull_ctl_each_powered(arg, visit, ctx);
}

/* The stats_file and stats_dir options: the engine's writer thread, our
 * messages. */
static void start_stats(struct rnull_nbd_server *n) {
  if (!n->o.stats_file && !n->o.stats_dir)
    return;
  struct rnull_stats_writer_opts so = {.path = n->o.stats_file,
                                       .dir = n->o.stats_dir,
                                       .each_disk = n->o.ctl ? each_ctl_disk : NULL,
                                       .each_disk_arg = n->o.ctl,
                                       .on_error = stats_write_failed,
                                       .arg = (void *)n->o.progname};
  if (rnull_stats_writer_start(&n->stats, n->srv.disk, &so) < 0)
    fprintf(stderr, "%s: stats file %s: cannot start its thread\n", n->o.progname,
            n->o.stats_file ? n->o.stats_file : n->o.stats_dir);
}

int rnull_nbd_server_run(struct rnull_nbd_server *n, char *err, size_t errlen) {
  struct server *s = &n->srv;
  if (n->ran) {
    snprintf(err, errlen, "the server already ran");
    return -EINVAL;
  }
  n->ran = true;
  struct ev_loop *ev = ev_default_loop(EVFLAG_AUTO);
  if (!ev) {
    snprintf(err, errlen, "cannot create the event loop");
    return -ENOMEM;
  }
  int r = rnull_loops_start(s, err, errlen);
  if (r < 0)
    return r;
  ev_async_init(&n->stop_w, stop_cb);
  n->stop_w.data = n;
  ev_async_start(ev, &n->stop_w);
  atomic_store(&n->ev, ev);
  if (n->o.handle_signals)
    rnull_signals_start(&n->sig, ev, s, on_signal_stop, n);
  start_stats(n);
  rnull_acceptor_start(&n->acc, ev, s, &n->ls);
  if (n->o.announce)
    announce(n);
  if (n->o.on_ready)
    n->o.on_ready(n->o.on_ready_arg);
  if (atomic_load(&n->stop))
    stop_now(n, ev); /* stopped before the loop could hear it */
  else
    ev_run(ev, 0);
  atomic_store(&n->ev, NULL);
  rnull_loops_join(s);
  rnull_stats_writer_stop(n->stats); /* the final figures */
  n->stats = NULL;
  return 0;
}

void rnull_nbd_server_destroy(struct rnull_nbd_server *n) {
  if (!n)
    return;
  rnull_listen_close(&n->ls);
  rnull_disks_fini(&n->srv.reg);
  rnull_tls_fini(&n->srv.tls);
  free_opts(&n->o);
  free(n);
}
