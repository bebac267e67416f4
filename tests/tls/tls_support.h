/* TLS test support: throw-away certificates (make-certs.sh), rnull-server
 * on 127.0.0.1 with a kernel-chosen port, libnbd clients with X.509 or PSK,
 * and a raw GnuTLS client for what libnbd will not send. */
#ifndef RNULL_TEST_TLS_SUPPORT_H
#define RNULL_TEST_TLS_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "srv.h"

/* Make the certificates and PSK files in h->dir/certs; *dir gets that path. */
int tls_make_certs(struct harness *h, char *dir, size_t len);
/* "dir/name", in one of 8 static buffers used in turn (so one call, e.g. of
 * tls_srv_start_tcp, can take several). */
const char *tls_path(const char *dir, const char *name);
/* `rnull-server -f --bind 127.0.0.1 --port 0 args...` (NULL-terminated);
 * returns the port it listens on, or -1. */
int tls_srv_start_tcp(struct harness *h, ...);

/* A libnbd handle requiring TLS: X.509 from certs_dir (may be NULL), or PSK
 * from psk_file as user. Not connected. */
struct nbd_handle *tls_client(const char *certs_dir, const char *psk_file, const char *user);
/* Connect it: to the Unix socket h->sock (port 0) or to localhost:port. */
int tls_connect(struct nbd_handle *nbd, struct harness *h, int port);
/* Convenience: a handle connected, or NULL (error not reported as failure). */
struct nbd_handle *tls_try(struct harness *h, int port, const char *certs_dir, const char *psk_file,
                           const char *user);

/* Raw NBD over TLS: STARTTLS on fd (after raw_greet), then a PSK handshake
 * as user with the key in psk_file. The session, or NULL. */
gnutls_session_t tls_raw_starttls(int fd, const char *psk_file, const char *user);
int tls_raw_send(gnutls_session_t s, const void *buf, size_t len);
long tls_raw_recv(gnutls_session_t s, void *buf, size_t len);
int tls_raw_opt(gnutls_session_t s, uint32_t opt, const void *data, uint32_t len);
int tls_raw_opt_reply(gnutls_session_t s, uint32_t expect_opt, uint32_t *type, uint32_t *len);
void tls_raw_close(gnutls_session_t s);

#endif
