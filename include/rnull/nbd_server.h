/* Front-end API: an NBD server (fixed newstyle, structured replies, extended
 * headers, base:allocation) for any rnull disk, whatever its driver. It is
 * rnull-server without its command line: librnull-nbd (pkg-config
 * rnull-nbd). A program that wants its own driver served over NBD:
 *
 *   rnull_disk_create(&disk, &cfg, ...);            // INITIALIZED
 *   rnull_disk_set_ops(disk, &my_ops, my_data);
 *   rnull_nbd_server_opts_init(&o); o.unix_path = "/tmp/my.sock";
 *   rnull_nbd_server_create(&srv, disk, &o, ...);   // adds the disk, listens
 *   rnull_nbd_server_run(srv, ...);                 // serves until stopped
 *   rnull_nbd_server_destroy(srv); rnull_disk_destroy(disk);
 *
 * Threads: one libev loop thread per hw queue (each connection lives on
 * one), and the caller's thread accepting on libev's default loop. The
 * server's end_io runs on the loop thread of the request's hw queue, so a
 * driver must end requests there: in queue_rq, commit_rqs, complete or
 * timeout. A driver with threads of its own hands finished requests back
 * with rnull_rq_complete (or _complete_at / _requeue) from those threads:
 * the server sets each hctx's kick (rnull_hctx_set_kick) to wake its loop,
 * which then runs ops->complete, where the driver calls rnull_rq_end.
 *
 * Messages (accept errors, idle closes, drain) go to stderr. */
#ifndef RNULL_NBD_SERVER_H
#define RNULL_NBD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnull/export.h"

struct rnull_ctl;
struct rnull_disk;
struct rnull_nbd_server;

#define RNULL_NBD_DEFAULT_PORT 10809
#define RNULL_NBD_DEFAULT_MAX_CONNECTIONS 1024
#define RNULL_NBD_DEFAULT_HANDSHAKE_TIMEOUT 10 /* seconds, as qemu-nbd */
#define RNULL_NBD_DEFAULT_SHUTDOWN_TIMEOUT 10  /* seconds */
#define RNULL_NBD_DEFAULT_BUFFER_MEMORY (256ull << 20)

/* TLS (NBD_OPT_STARTTLS, GnuTLS). */
enum rnull_nbd_tls {
  RNULL_NBD_TLS_OFF,     /* STARTTLS is refused */
  RNULL_NBD_TLS_ON,      /* clients may use TLS or not */
  RNULL_NBD_TLS_REQUIRE, /* every option before STARTTLS: NBD_REP_ERR_TLS_REQD */
};

/* rnull_nbd_server_create copies the struct and its strings: they need not
 * outlive the call. */
struct rnull_nbd_server_opts {
  /* Where: systemd socket activation (LISTEN_PID/LISTEN_FDS naming this
   * process) wins; else a Unix socket at unix_path (created, unlinked at
   * destroy); else TCP on bind_addr (numeric IPv4/IPv6) and port. */
  const char *unix_path;
  const char *bind_addr;      /* default "127.0.0.1" */
  unsigned port;              /* default RNULL_NBD_DEFAULT_PORT */
  const char *export_name;    /* default "" (the default export) */
  const char *description;    /* NBD_INFO_DESCRIPTION; NULL: "rnull disk <name>" */
  unsigned max_connections;   /* more are refused in the handshake; 0 = no limit */
  unsigned handshake_timeout; /* seconds to reach transmission; 0 = none */
  unsigned idle_timeout;      /* seconds; close idle connections; 0 = never */
  /* On stop, in-flight requests get this many seconds, then end with
   * ESHUTDOWN and connections close. Default RNULL_NBD_DEFAULT_SHUTDOWN_TIMEOUT. */
  unsigned shutdown_timeout;
  /* Payload buffers (disks whose reads are not all zeros): bytes for all
   * connections together (default RNULL_NBD_DEFAULT_BUFFER_MEMORY) and for
   * one (0: 2 x max_transfer); each at least max_transfer. When spent, the
   * server stops reading requests until buffers come back. */
  uint64_t buffer_memory, conn_buffer_memory;
  /* "adaptive" (default), "off" or a window in µs (0..1000000); parsed by
   * rnull_nbd_server_create, whose error names the value and the range. */
  const char *poll;
  enum rnull_nbd_tls tls;       /* default RNULL_NBD_TLS_OFF; on/require need credentials: */
  const char *tls_certificates; /* X.509 directory: ca-cert.pem, server-cert.pem,
                                   server-key.pem, optional ca-crl.pem (nbdkit's layout) */
  const char *tls_psk;          /* pre-shared keys, psktool's identity:hexkey lines */
  bool tls_verify_peer;         /* require client certificates signed by the CA */
  const char *tls_priority;     /* GnuTLS priority string; NULL: TLS 1.3/1.2 */
  /* SIGINT/SIGTERM stop the server gracefully (a second one kills), SIGUSR1
   * prints statistics, SIGHUP reloads the TLS credentials; SIGPIPE is
   * ignored. Default true. */
  bool handle_signals;
  /* Print "<progname>: serving ..." on stderr once serving. Default false. */
  bool announce;
  const char *progname; /* default "rnull-nbd" */
  /* More disks, by name (include/rnull/ctl.h): each powered disk of this
   * registry is an export of its name (NBD_OPT_LIST lists them), and the
   * disk given to create joins it under its name (pinned: never powered off
   * by the registry, never destroyed by it). The server sets the registry's
   * hooks; the caller frees it after run returned, before destroy. NULL: the
   * server keeps a registry of its own with the one disk. */
  struct rnull_ctl *ctl;
  /* Called once from run, in the caller's thread, when the server accepts
   * clients (e.g. to tell a parent process it may go). Optional. */
  void (*on_ready)(void *arg);
  void *on_ready_arg;
  /* The served disk's statistics as JSON (rnull_stats_json), rewritten at
   * PATH every second while run serves, and once more when it returns, by
   * the engine's writer (rnull_stats_writer_start, rnull/stats.h): through
   * PATH.tmp and a rename, never over or through anything but a regular
   * file (create fails if PATH is one). Failed writes are reported on
   * stderr. NULL or "" (default): no file (a front end takes the
   * front ends' stats_file key into this option). */
  const char *stats_file;
  /* DIR/diskstats and DIR/block/<disk>/stat in the kernel's format
   * (rnull_stats_block_stat), for the served disk and, with ctl, every
   * powered disk of the registry, rewritten by the same writer (the
   * writer's dir option). NULL or "" (default): none. At most 255 bytes;
   * create fails if DIR exists as anything but a directory. */
  const char *stats_dir;
};

/* The defaults above. */
RNULL_API void rnull_nbd_server_opts_init(struct rnull_nbd_server_opts *o);

/* Take an INITIALIZED disk with its driver attached, add it (rnull_disk_add
 * with the server's end_io) and open the listening sockets. Starts no
 * thread: a caller may fork (daemonize) between create and run. The disk
 * stays the caller's: destroy it after rnull_nbd_server_destroy (on error
 * too). 0, or -errno with err saying why. */
RNULL_API int rnull_nbd_server_create(struct rnull_nbd_server **out, struct rnull_disk *disk,
                                      const struct rnull_nbd_server_opts *o, char *err,
                                      size_t errlen);

/* Serve until rnull_nbd_server_stop (or a signal, see handle_signals):
 * starts the loop threads, accepts, and on stop drains (in-flight requests
 * finish, clients are closed) and joins them. The stats_file option, if
 * set, is rewritten every second meanwhile. Once per server. 0, or
 * -errno with err set. */
RNULL_API int rnull_nbd_server_run(struct rnull_nbd_server *s, char *err, size_t errlen);

/* Ask run to stop gracefully. Any thread, also before run (which then
 * returns at once) and from a signal handler. */
RNULL_API void rnull_nbd_server_stop(struct rnull_nbd_server *s);

/* Close the listening sockets (unlinking the Unix socket) and free the
 * server, not the disk. After run returned, or instead of run. */
RNULL_API void rnull_nbd_server_destroy(struct rnull_nbd_server *s);

/* The TCP port listened on (useful with port 0: the kernel's pick), 0 for
 * a Unix socket. */
RNULL_API unsigned rnull_nbd_server_port(const struct rnull_nbd_server *s);

#endif
