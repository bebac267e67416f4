/* TLS for rnull-server (GnuTLS): the credentials, read at start-up and
 * reloaded on SIGHUP, and a thin non-blocking transport a connection uses
 * once NBD_OPT_STARTTLS is acknowledged. Plaintext connections never touch
 * this file. Option names and file layout follow nbdkit:
 *   --tls-certificates DIR: ca-cert.pem, server-cert.pem, server-key.pem,
 *                           optional ca-crl.pem
 *   --tls-psk FILE: psktool's "identity:hexkey" lines. */
#ifndef RNULL_SERVER_TLS_H
#define RNULL_SERVER_TLS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "handshake.h"

/* TLS 1.3 preferred, 1.2 allowed, nothing older; PSK key exchanges are
 * added when a PSK file is given. */
#define RNULL_TLS_DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct rnull_tls_opts {
  enum rnull_hs_tls mode;
  const char *certs_dir; /* NULL: no X.509 */
  const char *psk_file;  /* NULL: no PSK */
  bool verify_peer;      /* client certificates required, checked against the CA */
  const char *priority;  /* NULL: RNULL_TLS_DEFAULT_PRIORITY */
};

struct rnull_tls_creds; /* one generation of loaded credentials (refcounted) */

/* The server's TLS state: the options and the current credentials. */
struct rnull_tls {
  struct rnull_tls_opts o;
  pthread_mutex_t lock;
  struct rnull_tls_creds *cur;
};

/* Check the options and load the credentials. 0, or -1 with err naming the
 * option or file. */
int rnull_tls_init(struct rnull_tls *t, const struct rnull_tls_opts *o, char *err, size_t errlen);
/* Read the files again (SIGHUP); new connections use them, connections
 * already up keep theirs. On failure the old ones stay. 0 or -1 (err set). */
int rnull_tls_reload(struct rnull_tls *t, char *err, size_t errlen);
void rnull_tls_fini(struct rnull_tls *t);

/* One connection's TLS session over a non-blocking socket. */
struct rnull_tls_session;

enum rnull_tls_step { RNULL_TLS_DONE, RNULL_TLS_WANT_READ, RNULL_TLS_WANT_WRITE, RNULL_TLS_FAILED };

struct rnull_tls_session *rnull_tls_session_new(struct rnull_tls *t, int fd);
/* Advance the handshake as far as the socket allows. */
enum rnull_tls_step rnull_tls_handshake(struct rnull_tls_session *s);
/* Decrypted bytes into buf: > 0 bytes, 0 at the peer's end, -EAGAIN, or
 * -EIO (the connection is lost). */
ssize_t rnull_tls_recv(struct rnull_tls_session *s, void *buf, size_t len);
/* Encrypt a prefix of iov and send it: records of up to 16 KiB (small
 * pieces gathered, so one record carries a batch of replies), their
 * ciphertext gathered so one sendmsg carries up to 64 KiB of them. Returns
 * the bytes taken (encrypted: the caller may drop them, even if some
 * ciphertext still waits for the socket), -EAGAIN, or -EIO. After -EAGAIN
 * call again with the same leading bytes. */
ssize_t rnull_tls_send(struct rnull_tls_session *s, const struct iovec *iov, int n);
/* Send ciphertext a previous rnull_tls_send left: 0, -EAGAIN or -EIO. */
int rnull_tls_flush(struct rnull_tls_session *s);
/* Is anything taken by rnull_tls_send not yet on the socket? */
bool rnull_tls_unsent(const struct rnull_tls_session *s);
/* Bytes received and not yet returned by rnull_tls_recv (the socket may not
 * be readable while these wait). */
bool rnull_tls_pending(const struct rnull_tls_session *s);
/* Which way the last -EAGAIN waits. */
bool rnull_tls_want_write(const struct rnull_tls_session *s);
/* Best effort close_notify before the socket is closed (never waits). */
void rnull_tls_bye(struct rnull_tls_session *s);
void rnull_tls_session_free(struct rnull_tls_session *s);

#endif
