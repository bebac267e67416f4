/* TLS credentials and sessions (see tls.h). */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* Plaintext bytes of one TLS record. */
#define TLS_RECORD 16384u
/* Ciphertext read ahead: many records per recv instead of two recvs each. */
#define TLS_READ_AHEAD (64u * 1024)
/* Ciphertext gathered from a batch of records, sent by one sendmsg. */
#define TLS_WIRE (64u * 1024)
/* Room one record takes on the wire at most (header, tag, padding). */
#define TLS_RECORD_WIRE (TLS_RECORD + 512u)
#define PSK_KX ":+ECDHE-PSK:+DHE-PSK:+PSK"

struct psk_key {
  char *identity;
  gnutls_datum_t key;
};

struct rnull_tls_creds {
  atomic_uint refs;
  gnutls_certificate_credentials_t x509;
  gnutls_psk_server_credentials_t psk;
  struct psk_key *keys;
  size_t nkeys;
  gnutls_priority_t prio;
  bool verify_peer;
};

struct rnull_tls_session {
  gnutls_session_t gs;
  struct rnull_tls_creds *creds;
  int fd;
  bool send_pending; /* a record is encrypted, not yet all sent */
  bool want_write;
  bool gather;       /* push appends to wire instead of sending */
  uint8_t *wire;     /* TLS_WIRE bytes, allocated on the first send */
  size_t wpos, wend; /* ciphertext in wire not yet sent */
  size_t rpos, rend;
  uint8_t rbuf[TLS_READ_AHEAD];
  uint8_t stage[TLS_RECORD];
};

/* --- credentials ---------------------------------------------------------- */

static void creds_put(struct rnull_tls_creds *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
    return;
  if (c->x509)
    gnutls_certificate_free_credentials(c->x509);
  if (c->psk)
    gnutls_psk_free_server_credentials(c->psk);
  for (size_t i = 0; i < c->nkeys; i++) {
    free(c->keys[i].identity);
    gnutls_free(c->keys[i].key.data);
  }
  free(c->keys);
  if (c->prio)
    gnutls_priority_deinit(c->prio);
  free(c);
}

/* dir/name into path. 1 readable, 0 absent (and optional), -1 err set. */
static int cert_file(const char *dir, const char *name, bool required, char *path, size_t plen,
                     char *err, size_t errlen) {
  snprintf(path, plen, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return 1;
  }
  if (errno == ENOENT && !required)
    return 0;
  snprintf(err, errlen, "--tls-certificates: %s: %s", path, strerror(errno));
  return -1;
}

/* Parse the certificate and the key apart, so an error names its file, then
 * pair them (GnuTLS checks that the key matches the certificate). */
static int load_key_pair(struct rnull_tls_creds *c, const char *cert, const char *key, char *err,
                         size_t errlen) {
  gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
  gnutls_x509_crt_t *crts = NULL;
  unsigned ncrt = 0;
  gnutls_x509_privkey_t pk = NULL;
  int r = gnutls_load_file(cert, &cd);
  if (r >= 0)
    r = gnutls_x509_crt_list_import2(&crts, &ncrt, &cd, GNUTLS_X509_FMT_PEM, 0);
  if (r < 0)
    snprintf(err, errlen, "--tls-certificates: %s: %s", cert, gnutls_strerror(r));
  for (unsigned i = 0; i < ncrt; i++)
    gnutls_x509_crt_deinit(crts[i]);
  gnutls_free(crts);
  if (r >= 0 && (r = gnutls_load_file(key, &kd)) < 0)
    snprintf(err, errlen, "--tls-certificates: %s: %s", key, gnutls_strerror(r));
  if (r >= 0 && (r = gnutls_x509_privkey_init(&pk)) >= 0 &&
      (r = gnutls_x509_privkey_import2(pk, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0)
    snprintf(err, errlen, "--tls-certificates: %s: %s", key, gnutls_strerror(r));
  if (pk)
    gnutls_x509_privkey_deinit(pk);
  if (r >= 0 &&
      (r = gnutls_certificate_set_x509_key_mem(c->x509, &cd, &kd, GNUTLS_X509_FMT_PEM)) < 0)
    snprintf(err, errlen, "--tls-certificates: %s does not match %s: %s", key, cert,
             gnutls_strerror(r));
  gnutls_free(cd.data);
  gnutls_free(kd.data);
  return r < 0 ? -1 : 0;
}

static int load_x509(struct rnull_tls_creds *c, const char *dir, bool verify, char *err,
                     size_t errlen) {
  char ca[4096], crl[4096], cert[4096], key[4096];
  int has_ca = cert_file(dir, "ca-cert.pem", verify, ca, sizeof(ca), err, errlen);
  int has_crl = cert_file(dir, "ca-crl.pem", false, crl, sizeof(crl), err, errlen);
  if (has_ca < 0 || has_crl < 0 ||
      cert_file(dir, "server-cert.pem", true, cert, sizeof(cert), err, errlen) < 0 ||
      cert_file(dir, "server-key.pem", true, key, sizeof(key), err, errlen) < 0)
    return -1;
  int r = gnutls_certificate_allocate_credentials(&c->x509);
  if (r < 0) {
    snprintf(err, errlen, "--tls-certificates: %s", gnutls_strerror(r));
    return -1;
  }
  if (has_ca &&
      (r = gnutls_certificate_set_x509_trust_file(c->x509, ca, GNUTLS_X509_FMT_PEM)) <= 0) {
    snprintf(err, errlen, "--tls-certificates: %s: %s", ca,
             r == 0 ? "no certificate in the file" : gnutls_strerror(r));
    return -1;
  }
  if (has_crl &&
      (r = gnutls_certificate_set_x509_crl_file(c->x509, crl, GNUTLS_X509_FMT_PEM)) < 0) {
    snprintf(err, errlen, "--tls-certificates: %s: %s", crl, gnutls_strerror(r));
    return -1;
  }
  return load_key_pair(c, cert, key, err, errlen);
}

/* psktool's format: one "identity:hexkey" per line. */
static int load_psk_file(struct rnull_tls_creds *c, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "re");
  if (!f) {
    snprintf(err, errlen, "--tls-psk: %s: %s", path, strerror(errno));
    return -1;
  }
  char line[1024];
  int lineno = 0, ret = 0;
  while (ret == 0 && fgets(line, sizeof(line), f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0])
      continue;
    char *colon = strchr(line, ':');
    struct psk_key *k = realloc(c->keys, (c->nkeys + 1) * sizeof(*k));
    if (!k) {
      snprintf(err, errlen, "--tls-psk: out of memory");
      ret = -1;
      break;
    }
    c->keys = k;
    k += c->nkeys;
    gnutls_datum_t hex = {(unsigned char *)(colon ? colon + 1 : ""), colon ? strlen(colon + 1) : 0};
    if (!colon || colon == line || hex.size == 0 || gnutls_hex_decode2(&hex, &k->key) < 0) {
      snprintf(err, errlen, "--tls-psk: %s:%d: expected identity:hexkey (as psktool writes)", path,
               lineno);
      ret = -1;
      break;
    }
    *colon = 0;
    k->identity = strdup(line);
    c->nkeys++;
  }
  if (ret == 0 && ferror(f)) {
    snprintf(err, errlen, "--tls-psk: %s: %s", path, strerror(errno));
    ret = -1;
  }
  fclose(f);
  if (ret == 0 && c->nkeys == 0) {
    snprintf(err, errlen, "--tls-psk: %s: no keys in the file", path);
    ret = -1;
  }
  return ret;
}

static int psk_lookup(gnutls_session_t gs, const char *identity, gnutls_datum_t *key) {
  struct rnull_tls_session *s = gnutls_session_get_ptr(gs);
  for (size_t i = 0; i < s->creds->nkeys; i++) {
    const struct psk_key *k = &s->creds->keys[i];
    if (strcmp(k->identity, identity) != 0)
      continue;
    key->data = gnutls_malloc(k->key.size);
    if (!key->data)
      return -1;
    memcpy(key->data, k->key.data, k->key.size);
    key->size = k->key.size;
    return 0;
  }
  return -1; /* unknown identity: the handshake fails */
}

static int load_psk(struct rnull_tls_creds *c, const char *path, char *err, size_t errlen) {
  if (load_psk_file(c, path, err, errlen) < 0)
    return -1;
  int r = gnutls_psk_allocate_server_credentials(&c->psk);
  if (r < 0) {
    snprintf(err, errlen, "--tls-psk: %s", gnutls_strerror(r));
    return -1;
  }
  gnutls_psk_set_server_credentials_function(c->psk, psk_lookup);
  return 0;
}

static int load_priority(struct rnull_tls_creds *c, const struct rnull_tls_opts *o, char *err,
                         size_t errlen) {
  char prio[1024];
  const char *base = o->priority ? o->priority : RNULL_TLS_DEFAULT_PRIORITY;
  if ((size_t)snprintf(prio, sizeof(prio), "%s%s", base, o->psk_file ? PSK_KX : "") >=
      sizeof(prio)) {
    snprintf(err, errlen, "--tls-priority: too long");
    return -1;
  }
  const char *where = NULL;
  int r = gnutls_priority_init(&c->prio, prio, &where);
  if (r < 0) {
    c->prio = NULL;
    where = where ? where : "";
    snprintf(err, errlen, "--tls-priority %s: not a GnuTLS priority string (at \"%.*s\")", base,
             (int)strcspn(where, ":"), where);
    return -1;
  }
  return 0;
}

static struct rnull_tls_creds *creds_load(const struct rnull_tls_opts *o, char *err,
                                          size_t errlen) {
  struct rnull_tls_creds *c = calloc(1, sizeof(*c));
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  atomic_init(&c->refs, 1);
  c->verify_peer = o->verify_peer;
  if ((o->certs_dir && load_x509(c, o->certs_dir, o->verify_peer, err, errlen) < 0) ||
      (o->psk_file && load_psk(c, o->psk_file, err, errlen) < 0) ||
      load_priority(c, o, err, errlen) < 0) {
    creds_put(c);
    return NULL;
  }
  return c;
}

static int check_opts(const struct rnull_tls_opts *o, char *err, size_t errlen) {
  if (o->mode == RNULL_HS_TLS_OFF) {
    const char *opt = o->certs_dir     ? "--tls-certificates"
                      : o->psk_file    ? "--tls-psk"
                      : o->verify_peer ? "--tls-verify-peer"
                      : o->priority    ? "--tls-priority"
                                       : NULL;
    if (opt) {
      snprintf(err, errlen, "%s needs --tls=on or --tls=require", opt);
      return -1;
    }
    return 0;
  }
  if (!o->certs_dir && !o->psk_file) {
    snprintf(err, errlen, "--tls=%s needs --tls-certificates DIR or --tls-psk FILE",
             o->mode == RNULL_HS_TLS_ON ? "on" : "require");
    return -1;
  }
  if (o->verify_peer && !o->certs_dir) {
    snprintf(err, errlen, "--tls-verify-peer needs --tls-certificates (with ca-cert.pem)");
    return -1;
  }
  return 0;
}

int rnull_tls_init(struct rnull_tls *t, const struct rnull_tls_opts *o, char *err, size_t errlen) {
  memset(t, 0, sizeof(*t));
  t->o = *o;
  pthread_mutex_init(&t->lock, NULL);
  if (check_opts(o, err, errlen) < 0)
    return -1;
  if (o->mode == RNULL_HS_TLS_OFF)
    return 0;
  t->cur = creds_load(o, err, errlen);
  return t->cur ? 0 : -1;
}

int rnull_tls_reload(struct rnull_tls *t, char *err, size_t errlen) {
  if (t->o.mode == RNULL_HS_TLS_OFF)
    return 0;
  struct rnull_tls_creds *c = creds_load(&t->o, err, errlen);
  if (!c)
    return -1;
  pthread_mutex_lock(&t->lock);
  struct rnull_tls_creds *old = t->cur;
  t->cur = c;
  pthread_mutex_unlock(&t->lock);
  creds_put(old);
  return 0;
}

void rnull_tls_fini(struct rnull_tls *t) {
  creds_put(t->cur);
  t->cur = NULL;
  pthread_mutex_destroy(&t->lock);
}

/* --- sessions ------------------------------------------------------------- */

static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t len) {
  struct rnull_tls_session *s = p;
  if (s->rpos == s->rend) {
    ssize_t n = recv(s->fd, s->rbuf, sizeof(s->rbuf), 0);
    if (n <= 0) {
      if (n < 0)
        gnutls_transport_set_errno(s->gs, errno);
      return n;
    }
    s->rpos = 0;
    s->rend = (size_t)n;
  }
  size_t k = s->rend - s->rpos < len ? s->rend - s->rpos : len;
  memcpy(buf, s->rbuf + s->rpos, k);
  s->rpos += k;
  return (ssize_t)k;
}

static int pull_timeout(gnutls_transport_ptr_t p, unsigned ms) {
  struct rnull_tls_session *s = p;
  (void)ms; /* non-blocking: never wait */
  if (s->rpos < s->rend)
    return 1;
  struct pollfd pf = {.fd = s->fd, .events = POLLIN};
  return poll(&pf, 1, 0);
}

static ssize_t push(gnutls_transport_ptr_t p, const giovec_t *iov, int n) {
  struct rnull_tls_session *s = p;
  if (s->gather) {
    size_t total = 0;
    for (int i = 0; i < n; i++)
      total += iov[i].iov_len;
    if (s->wend + total > TLS_WIRE) {
      gnutls_transport_set_errno(s->gs, EAGAIN);
      return -1;
    }
    for (int i = 0; i < n; i++) {
      memcpy(s->wire + s->wend, iov[i].iov_base, iov[i].iov_len);
      s->wend += iov[i].iov_len;
    }
    return (ssize_t)total;
  }
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
  ssize_t w = sendmsg(s->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (w < 0)
    gnutls_transport_set_errno(s->gs, errno);
  return w;
}

struct rnull_tls_session *rnull_tls_session_new(struct rnull_tls *t, int fd) {
  struct rnull_tls_session *s = calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  s->fd = fd;
  pthread_mutex_lock(&t->lock);
  s->creds = t->cur;
  atomic_fetch_add(&s->creds->refs, 1);
  pthread_mutex_unlock(&t->lock);
  struct rnull_tls_creds *c = s->creds;
  if (gnutls_init(&s->gs, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
    s->gs = NULL;
    rnull_tls_session_free(s);
    return NULL;
  }
  if (gnutls_priority_set(s->gs, c->prio) < 0 ||
      (c->x509 && gnutls_credentials_set(s->gs, GNUTLS_CRD_CERTIFICATE, c->x509) < 0) ||
      (c->psk && gnutls_credentials_set(s->gs, GNUTLS_CRD_PSK, c->psk) < 0)) {
    rnull_tls_session_free(s);
    return NULL;
  }
  if (c->verify_peer) {
    gnutls_certificate_server_set_request(s->gs, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(s->gs, NULL, 0);
  }
  gnutls_handshake_set_timeout(s->gs, 0); /* the loop's handshake deadline rules */
  gnutls_session_set_ptr(s->gs, s);
  gnutls_transport_set_ptr(s->gs, s);
  gnutls_transport_set_pull_function(s->gs, pull);
  gnutls_transport_set_pull_timeout_function(s->gs, pull_timeout);
  gnutls_transport_set_vec_push_function(s->gs, push);
  return s;
}

enum rnull_tls_step rnull_tls_handshake(struct rnull_tls_session *s) {
  for (;;) {
    int r = gnutls_handshake(s->gs);
    if (r == 0)
      return RNULL_TLS_DONE;
    if (r == GNUTLS_E_AGAIN) {
      s->want_write = gnutls_record_get_direction(s->gs) == 1;
      return s->want_write ? RNULL_TLS_WANT_WRITE : RNULL_TLS_WANT_READ;
    }
    if (r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(r))
      continue; /* a warning alert: carry on */
    fprintf(stderr, "rnull-server: TLS handshake failed: %s\n", gnutls_strerror(r));
    return RNULL_TLS_FAILED;
  }
}

ssize_t rnull_tls_recv(struct rnull_tls_session *s, void *buf, size_t len) {
  for (;;) {
    ssize_t r = gnutls_record_recv(s->gs, buf, len);
    if (r >= 0) {
      s->want_write = false;
      return r;
    }
    if (r == GNUTLS_E_AGAIN) {
      s->want_write = gnutls_record_get_direction(s->gs) == 1;
      return -EAGAIN;
    }
    if (r == GNUTLS_E_PREMATURE_TERMINATION)
      return 0; /* closed without close_notify: an end all the same */
    if (r == GNUTLS_E_INTERRUPTED || (r != GNUTLS_E_REHANDSHAKE && !gnutls_error_is_fatal(r)))
      continue;
    return -EIO; /* renegotiation is refused, anything else is fatal */
  }
}

/* Send the gathered ciphertext: 0 all sent, -EAGAIN socket full, -EIO. */
static int wire_flush(struct rnull_tls_session *s) {
  while (s->wpos < s->wend) {
    ssize_t w = send(s->fd, s->wire + s->wpos, s->wend - s->wpos, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -EIO;
    }
    s->wpos += (size_t)w;
  }
  s->wpos = s->wend = 0;
  return 0;
}

int rnull_tls_flush(struct rnull_tls_session *s) {
  int r = wire_flush(s);
  s->want_write = r == -EAGAIN;
  return r;
}

/* One record of plaintext from iov after skip bytes: a pointer into iov when
 * one piece holds a whole record, else gathered into stage. */
static const void *record_at(struct rnull_tls_session *s, const struct iovec *iov, int n,
                             size_t skip, size_t *len) {
  int i = 0;
  while (i < n && skip >= iov[i].iov_len)
    skip -= iov[i++].iov_len;
  if (i < n && iov[i].iov_len - skip >= TLS_RECORD) {
    *len = TLS_RECORD;
    return (const uint8_t *)iov[i].iov_base + skip; /* no copy */
  }
  size_t got = 0;
  for (; i < n && got < TLS_RECORD; i++, skip = 0) {
    size_t k = iov[i].iov_len - skip;
    k = k < TLS_RECORD - got ? k : TLS_RECORD - got;
    memcpy(s->stage + got, (const uint8_t *)iov[i].iov_base + skip, k);
    got += k;
  }
  *len = got;
  return s->stage;
}

ssize_t rnull_tls_send(struct rnull_tls_session *s, const struct iovec *iov, int n) {
  if (!s->wire && !(s->wire = malloc(TLS_WIRE)))
    return -EIO;
  int f = wire_flush(s); /* what an earlier batch left */
  if (f < 0) {
    s->want_write = f == -EAGAIN;
    return f;
  }
  size_t total = 0, taken = 0;
  for (int i = 0; i < n; i++)
    total += iov[i].iov_len;
  /* Encrypt records into wire while they fit, then one sendmsg for all. */
  s->gather = true;
  ssize_t r = 0;
  while (taken < total && s->wend + TLS_RECORD_WIRE <= TLS_WIRE) {
    size_t len;
    if (s->send_pending) {
      r = gnutls_record_send(s->gs, NULL, 0); /* the record under way */
    } else {
      const void *p = record_at(s, iov, n, taken, &len);
      r = gnutls_record_send(s->gs, p, len);
    }
    if (r < 0)
      break;
    s->send_pending = false;
    taken += (size_t)r;
  }
  s->gather = false;
  if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
    s->send_pending = true; /* (wire full: finished by the next call) */
  else if (r < 0)
    return -EIO;
  f = wire_flush(s);
  if (f == -EIO)
    return -EIO;
  s->want_write = f == -EAGAIN || s->send_pending;
  return taken ? (ssize_t)taken : -EAGAIN;
}

bool rnull_tls_pending(const struct rnull_tls_session *s) {
  return s->rpos < s->rend || gnutls_record_check_pending(s->gs) > 0;
}

bool rnull_tls_want_write(const struct rnull_tls_session *s) { return s->want_write; }

bool rnull_tls_unsent(const struct rnull_tls_session *s) {
  return s->send_pending || s->wpos < s->wend;
}

void rnull_tls_bye(struct rnull_tls_session *s) {
  if (rnull_tls_unsent(s))
    return;                          /* records not all sent: close_notify cannot follow them */
  gnutls_bye(s->gs, GNUTLS_SHUT_WR); /* one try: the socket is non-blocking */
}

void rnull_tls_session_free(struct rnull_tls_session *s) {
  if (!s)
    return;
  if (s->gs)
    gnutls_deinit(s->gs);
  creds_put(s->creds);
  free(s->wire);
  free(s);
}
