/* TLS test support (see tls_support.h). */
#include "tls_support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbd_proto.h"

int tls_make_certs(struct harness *h, char *dir, size_t len) {
  snprintf(dir, len, "%s/certs", h->dir);
  char out[400];
  snprintf(out, sizeof(out), "%s/make-certs.out", h->dir);
  const char *argv[] = {"bash", RNULL_MAKE_CERTS, dir, NULL};
  int st = harness_run((char *const *)argv, out, 60);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    char *o = harness_read_file(out);
    fprintf(stderr, "make-certs.sh failed:\n%s\n", o);
    free(o);
    return -1;
  }
  return 0;
}

const char *tls_path(const char *dir, const char *name) {
  static char buf[8][450];
  static int i;
  char *b = buf[i++ % 8];
  snprintf(b, 450, "%s/%s", dir, name);
  return b;
}

int tls_srv_start_tcp(struct harness *h, ...) {
  const char *argv[SRV_MAX_ARGS + 16];
  int n = 0;
  /* RNULL_SERVER_WRAPPER (e.g. valgrind), as srv_start honours it */
  static char words[512];
  const char *env = getenv("RNULL_SERVER_WRAPPER");
  if (env && strlen(env) < sizeof(words)) {
    strcpy(words, env);
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && n < 8;
         w = strtok_r(NULL, " ", &save))
      argv[n++] = w;
  }
  const char *fixed[] = {srv_path(), "-f", "--bind", "127.0.0.1", "--port", "0"};
  for (size_t i = 0; i < 6; i++)
    argv[n++] = fixed[i];
  va_list ap;
  va_start(ap, h);
  const char *a;
  while (n < SRV_MAX_ARGS + 8 && (a = va_arg(ap, const char *)))
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  unlink(h->log); /* the harness appends: the port must be this server's */
  if (harness_start_wait_for(h, (char *const *)argv, NULL) < 0)
    return -1;
  long long end = harness_now_ms() + HARNESS_START_TIMEOUT_S * 1000LL;
  while (harness_now_ms() < end) {
    char *log = harness_read_file(h->log);
    const char *p = strstr(log, "127.0.0.1 port ");
    int port = p ? atoi(p + strlen("127.0.0.1 port ")) : 0;
    free(log);
    if (port > 0)
      return port;
    if (harness_exited(h))
      break;
    usleep(20000);
  }
  harness_dump_log(h);
  harness_stop(h);
  return -1;
}

struct nbd_handle *tls_client(const char *certs_dir, const char *psk_file, const char *user) {
  struct nbd_handle *nbd = nbd_create();
  if (!nbd)
    return NULL;
  if (nbd_set_tls(nbd, LIBNBD_TLS_REQUIRE) == -1 ||
      (certs_dir && nbd_set_tls_certificates(nbd, certs_dir) == -1) ||
      (psk_file && nbd_set_tls_psk_file(nbd, psk_file) == -1) ||
      (user && nbd_set_tls_username(nbd, user) == -1)) {
    fprintf(stderr, "tls_client: %s\n", nbd_get_error());
    nbd_close(nbd);
    return NULL;
  }
  return nbd;
}

int tls_connect(struct nbd_handle *nbd, struct harness *h, int port) {
  if (port == 0)
    return nbd_connect_unix(nbd, h->sock);
  char p[16];
  snprintf(p, sizeof(p), "%d", port);
  return nbd_connect_tcp(nbd, "localhost", p);
}

struct nbd_handle *tls_try(struct harness *h, int port, const char *certs_dir, const char *psk_file,
                           const char *user) {
  struct nbd_handle *nbd = tls_client(certs_dir, psk_file, user);
  if (nbd && tls_connect(nbd, h, port) == -1) {
    nbd_close(nbd);
    return NULL;
  }
  return nbd;
}

/* alice's key from a psktool file. */
static int read_psk(const char *path, const char *user, gnutls_datum_t *key) {
  char *f = harness_read_file(path);
  char *line = strtok(f, "\n");
  int r = -1;
  for (; line; line = strtok(NULL, "\n")) {
    char *c = strchr(line, ':');
    if (!c || (size_t)(c - line) != strlen(user) || strncmp(line, user, strlen(user)) != 0)
      continue;
    gnutls_datum_t hex = {(unsigned char *)c + 1, (unsigned)strlen(c + 1)};
    r = gnutls_hex_decode2(&hex, key) < 0 ? -1 : 0;
    break;
  }
  free(f);
  return r;
}

gnutls_session_t tls_raw_starttls(int fd, const char *psk_file, const char *user) {
  uint32_t type, len;
  if (raw_opt(fd, NBD_OPT_STARTTLS, NULL, 0) < 0 ||
      raw_opt_reply(fd, NBD_OPT_STARTTLS, &type, &len) < 0 || type != NBD_REP_ACK || len != 0)
    return NULL;
  gnutls_datum_t key = {NULL, 0};
  gnutls_psk_client_credentials_t cred = NULL;
  gnutls_session_t s = NULL;
  if (read_psk(psk_file, user, &key) < 0 || gnutls_psk_allocate_client_credentials(&cred) < 0 ||
      gnutls_psk_set_client_credentials(cred, user, &key, GNUTLS_PSK_KEY_RAW) < 0 ||
      gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
      gnutls_priority_set_direct(s, "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK", NULL) < 0 ||
      gnutls_credentials_set(s, GNUTLS_CRD_PSK, cred) < 0) {
    gnutls_free(key.data);
    if (s)
      gnutls_deinit(s);
    if (cred)
      gnutls_psk_free_client_credentials(cred);
    return NULL;
  }
  gnutls_free(key.data);
  gnutls_transport_set_int(s, fd);
  gnutls_handshake_set_timeout(s, RAW_TIMEOUT_MS);
  int r;
  do
    r = gnutls_handshake(s);
  while (r < 0 && !gnutls_error_is_fatal(r));
  if (r < 0) {
    fprintf(stderr, "raw TLS handshake: %s\n", gnutls_strerror(r));
    gnutls_deinit(s);
    gnutls_psk_free_client_credentials(cred);
    return NULL;
  }
  gnutls_session_set_ptr(s, cred);
  return s;
}

static long tls_send_step(void *ctx, const void *p, size_t n) {
  ssize_t r = gnutls_record_send(ctx, p, n);
  if (r < 0)
    return gnutls_error_is_fatal((int)r) ? RAW_ERROR : RAW_AGAIN;
  return (long)r;
}

static long tls_recv_step(void *ctx, void *p, size_t n) {
  ssize_t r = gnutls_record_recv(ctx, p, n);
  if (r < 0)
    return !gnutls_error_is_fatal((int)r) && r != GNUTLS_E_TIMEDOUT ? RAW_AGAIN : RAW_ERROR;
  return (long)r;
}

int tls_raw_send(gnutls_session_t s, const void *buf, size_t len) {
  return raw_send_with(tls_send_step, s, buf, len);
}

long tls_raw_recv(gnutls_session_t s, void *buf, size_t len) {
  gnutls_record_set_timeout(s, RAW_TIMEOUT_MS);
  return raw_recv_with(tls_recv_step, s, buf, len);
}

int tls_raw_opt(gnutls_session_t s, uint32_t opt, const void *data, uint32_t len) {
  uint8_t h[16];
  raw_put_opt(h, opt, len);
  if (tls_raw_send(s, h, 16) < 0)
    return -1;
  return len ? tls_raw_send(s, data, len) : 0;
}

int tls_raw_opt_reply(gnutls_session_t s, uint32_t expect_opt, uint32_t *type, uint32_t *len) {
  uint8_t h[20];
  if (tls_raw_recv(s, h, 20) != 20)
    return -1;
  return raw_get_opt_reply(h, expect_opt, type, len);
}

void tls_raw_close(gnutls_session_t s) {
  gnutls_psk_client_credentials_t cred = gnutls_session_get_ptr(s);
  gnutls_deinit(s);
  gnutls_psk_free_client_credentials(cred);
}
