/* rnull-server with TLS (proto.md "TLS support"), driven by libnbd and by
 * raw sockets: X.509 and PSK round trips in memory mode; --tls=require
 * answers every option before STARTTLS with NBD_REP_ERR_TLS_REQD and leaks
 * neither the export name nor its size; STARTTLS twice, with data, or
 * followed by bytes sent before the ACK is an error; after STARTTLS the
 * negotiation and transmission go through TLS; wrong CA, expired or
 * wrong-host certificate, wrong PSK identity or key, a missing or foreign
 * client certificate under --tls-verify-peer all fail the handshake and the
 * server keeps serving; a client that starts TLS and sends garbage is
 * dropped at once; --tls=on serves plaintext and TLS clients alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "tls_support.h"

#define EXPORT "secretexport"
#define SIZE_ARG "size=64M"
#define SIZE (64ull << 20)

static char certs[400], srvdir[450], clidir[450], psk[450];

static void path(char *out, const char *name) { snprintf(out, 450, "%s/%s", certs, name); }

/* Write a pattern and read it back over the handle. */
static void round_trip(struct nbd_handle *nbd, uint8_t seed) {
  static uint8_t w[65536], r[65536];
  for (size_t i = 0; i < sizeof(w); i++)
    w[i] = (uint8_t)(i * 7 + seed);
  EXPECT_EQ_INT(nbd_get_tls_negotiated(nbd), 1);
  EXPECT_EQ_U64(nbd_get_size(nbd), SIZE);
  EXPECT_NBD_OK(nbd_pwrite(nbd, w, sizeof(w), 1 << 20, 0));
  EXPECT_NBD_OK(nbd_pread(nbd, r, sizeof(r), 1 << 20, 0));
  EXPECT(memcmp(w, r, sizeof(w)) == 0);
  EXPECT_NBD_OK(nbd_pread(nbd, r, 4096, 32 << 20, 0)); /* never written: zeros */
  EXPECT(r[0] == 0 && memcmp(r, r + 1, 4095) == 0);
}

static bool serves(struct harness *h, int port) {
  struct nbd_handle *nbd = tls_try(h, port, clidir, NULL, NULL);
  bool ok = nbd && nbd_get_size(nbd) == (int64_t)SIZE;
  if (nbd) {
    nbd_shutdown(nbd, 0);
    nbd_close(nbd);
  }
  return ok;
}

static bool fails(struct harness *h, int port, const char *cdir, const char *pskf,
                  const char *user) {
  struct nbd_handle *nbd = tls_try(h, port, cdir, pskf, user);
  if (nbd)
    nbd_close(nbd);
  return nbd == NULL;
}

/* Everything a plaintext client can get out of --tls=require. */
static void require_refuses_plaintext(struct harness *h) {
  struct nbd_handle *nbd = nbd_create();
  EXPECT(nbd_set_tls(nbd, LIBNBD_TLS_DISABLE) == 0);
  EXPECT_MSG(nbd_connect_unix(nbd, h->sock) == -1, "a plaintext libnbd client is refused");
  nbd_close(nbd);

  int fd = raw_connect(h->sock);
  if (!EXPECT(fd >= 0) || !EXPECT(raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE) == 0))
    return;
  uint8_t go[4 + sizeof(EXPORT) - 1 + 2 + 2];
  nbd_put32(go, sizeof(EXPORT) - 1);
  memcpy(go + 4, EXPORT, sizeof(EXPORT) - 1);
  nbd_put16(go + 4 + sizeof(EXPORT) - 1, 1);
  nbd_put16(go + 4 + sizeof(EXPORT) + 1, NBD_INFO_NAME);
  uint8_t meta[] = {0, 0, 0, 0, 0, 0, 0, 0};
  struct {
    uint32_t opt;
    const void *data;
    uint32_t len;
  } opts[] = {
      {NBD_OPT_LIST, NULL, 0},
      {NBD_OPT_INFO, go, sizeof(go)},
      {NBD_OPT_GO, go, sizeof(go)},
      {NBD_OPT_STRUCTURED_REPLY, NULL, 0},
      {NBD_OPT_LIST_META_CONTEXT, meta, sizeof(meta)},
      {NBD_OPT_SET_META_CONTEXT, meta, sizeof(meta)},
      {42, NULL, 0},
  };
  char seen[8192] = "";
  size_t nseen = 0;
  uint8_t size_be[8];
  nbd_put64(size_be, SIZE);
  for (size_t i = 0; i < sizeof(opts) / sizeof(*opts); i++) {
    uint32_t type = 0, len = 0;
    EXPECT(raw_opt(fd, opts[i].opt, opts[i].data, opts[i].len) == 0);
    if (!EXPECT(raw_opt_reply(fd, opts[i].opt, &type, &len) == 0))
      break;
    EXPECT_MSG(type == NBD_REP_ERR_TLS_REQD, "option %u: reply 0x%x", opts[i].opt, type);
    if (EXPECT(len < 1024) && raw_recv(fd, seen + nseen, len) == (long)len)
      nseen += len;
  }
  EXPECT_MSG(memmem(seen, nseen, EXPORT, strlen(EXPORT)) == NULL, "export name leaked");
  EXPECT_MSG(memmem(seen, nseen, size_be, 8) == NULL, "export size leaked");
  /* STARTTLS with data is invalid; ABORT is still answered. */
  uint32_t type, len;
  EXPECT(raw_opt(fd, NBD_OPT_STARTTLS, "x", 1) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_STARTTLS, &type, &len) == 0))
    EXPECT_EQ_INT(type, NBD_REP_ERR_INVALID);
  raw_skip(fd, len);
  EXPECT(raw_opt(fd, NBD_OPT_ABORT, NULL, 0) == 0);
  if (EXPECT(raw_opt_reply(fd, NBD_OPT_ABORT, &type, &len) == 0))
    EXPECT_EQ_INT(type, NBD_REP_ACK);
  EXPECT(raw_wait_eof(fd));
  close(fd);

  /* NBD_OPT_EXPORT_NAME cannot carry an error: the connection just ends. */
  fd = raw_connect(h->sock);
  if (EXPECT(fd >= 0) && EXPECT(raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE) == 0)) {
    EXPECT(raw_opt(fd, NBD_OPT_EXPORT_NAME, EXPORT, strlen(EXPORT)) == 0);
    uint8_t b[16];
    EXPECT_MSG(raw_recv(fd, b, sizeof(b)) <= 0, "nothing after EXPORT_NAME before TLS");
    close(fd);
  }
}

/* Raw STARTTLS, then the rest over TLS: a second STARTTLS is invalid, GO
 * reveals the export, and a request is answered through TLS. */
static void raw_over_tls(struct harness *h) {
  int fd = raw_connect(h->sock);
  if (!EXPECT(fd >= 0) ||
      !EXPECT(raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES) == 0))
    return;
  gnutls_session_t s = tls_raw_starttls(fd, psk, "alice");
  if (!EXPECT(s != NULL)) {
    close(fd);
    return;
  }
  uint32_t type, len;
  EXPECT(tls_raw_opt(s, NBD_OPT_STARTTLS, NULL, 0) == 0);
  if (EXPECT(tls_raw_opt_reply(s, NBD_OPT_STARTTLS, &type, &len) == 0))
    EXPECT_EQ_INT(type, NBD_REP_ERR_INVALID);
  uint8_t skip[1024];
  EXPECT(len < sizeof(skip) && tls_raw_recv(s, skip, len) == (long)len);
  uint8_t go[4 + sizeof(EXPORT) - 1 + 2];
  nbd_put32(go, sizeof(EXPORT) - 1);
  memcpy(go + 4, EXPORT, sizeof(EXPORT) - 1);
  nbd_put16(go + 4 + sizeof(EXPORT) - 1, 0);
  EXPECT(tls_raw_opt(s, NBD_OPT_GO, go, sizeof(go)) == 0);
  uint64_t size = 0;
  for (int i = 0; i < 8; i++) {
    if (!EXPECT(tls_raw_opt_reply(s, NBD_OPT_GO, &type, &len) == 0) || !EXPECT(len < 1024))
      break;
    EXPECT(tls_raw_recv(s, skip, len) == (long)len);
    if (type == NBD_REP_INFO && len == 12 && nbd_get16(skip) == NBD_INFO_EXPORT)
      size = nbd_get64(skip + 2);
    if (type != NBD_REP_INFO) {
      EXPECT_EQ_INT(type, NBD_REP_ACK);
      break;
    }
  }
  EXPECT_EQ_U64(size, SIZE);
  uint8_t req[NBD_REQUEST_SIZE], rep[16 + 4096];
  raw_put_request(req, 0, NBD_CMD_READ, 77, 0, 4096);
  EXPECT(tls_raw_send(s, req, sizeof(req)) == 0);
  if (EXPECT(tls_raw_recv(s, rep, sizeof(rep)) == (long)sizeof(rep))) {
    EXPECT_EQ_INT(nbd_get32(rep), NBD_SIMPLE_REPLY_MAGIC);
    EXPECT_EQ_INT(nbd_get32(rep + 4), 0);
    EXPECT_EQ_U64(nbd_get64(rep + 8), 77);
  }
  raw_put_request(req, 0, NBD_CMD_DISC, 78, 0, 0);
  EXPECT(tls_raw_send(s, req, sizeof(req)) == 0);
  EXPECT(tls_raw_recv(s, rep, 1) <= 0);
  tls_raw_close(s);
  close(fd);
}

/* STARTTLS acknowledged, then garbage instead of a ClientHello; and bytes
 * pipelined right behind STARTTLS, before its ACK could be read. */
static void hostile_starttls(struct harness *h) {
  int fd = raw_connect(h->sock);
  uint32_t type, len;
  if (EXPECT(fd >= 0) && EXPECT(raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE) == 0)) {
    EXPECT(raw_opt(fd, NBD_OPT_STARTTLS, NULL, 0) == 0);
    if (EXPECT(raw_opt_reply(fd, NBD_OPT_STARTTLS, &type, &len) == 0))
      EXPECT_EQ_INT(type, NBD_REP_ACK);
    char junk[512];
    memset(junk, 'A', sizeof(junk));
    EXPECT(raw_send(fd, junk, sizeof(junk)) == 0);
    EXPECT_MSG(raw_wait_eof(fd), "garbage instead of a TLS handshake: dropped");
    close(fd);
  }
  fd = raw_connect(h->sock);
  if (EXPECT(fd >= 0) && EXPECT(raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE) == 0)) {
    uint8_t two[32];
    nbd_put64(two, NBD_IHAVEOPT);
    nbd_put32(two + 8, NBD_OPT_STARTTLS);
    nbd_put32(two + 12, 0);
    nbd_put64(two + 16, NBD_IHAVEOPT);
    nbd_put32(two + 24, NBD_OPT_LIST);
    nbd_put32(two + 28, 0);
    EXPECT(raw_send(fd, two, sizeof(two)) == 0);
    EXPECT_MSG(raw_wait_eof(fd), "plaintext after STARTTLS: dropped");
    close(fd);
  }
}

int main(void) {
  struct harness h;
  if (harness_init(&h) < 0 || tls_make_certs(&h, certs, sizeof(certs)) < 0)
    return 1;
  path(srvdir, "server");
  path(clidir, "client");
  path(psk, "keys.psk");
  char other[450], wrongca[450], noclient[450], wrongpsk[450], bob[450], dir[450];
  path(other, "other-client");
  path(wrongca, "wrongca");
  path(noclient, "noclient");
  path(wrongpsk, "wrong.psk");
  path(bob, "bob.psk");

  /* require, X.509 and PSK, on a Unix socket. */
  if (EXPECT(srv_start(&h, "--tls=require", "--tls-certificates", srvdir, "--tls-psk", psk,
                       "--export-name", EXPORT, SIZE_ARG, "memory_backed=1", (char *)NULL) == 0)) {
    struct nbd_handle *nbd = tls_client(clidir, NULL, NULL);
    if (EXPECT(nbd) && EXPECT(nbd_set_export_name(nbd, EXPORT) == 0) &&
        EXPECT_NBD_OK(tls_connect(nbd, &h, 0)))
      round_trip(nbd, 1);
    nbd_close(nbd);
    nbd = tls_client(NULL, psk, "alice");
    if (EXPECT(nbd) && EXPECT(nbd_set_export_name(nbd, EXPORT) == 0) &&
        EXPECT_NBD_OK(tls_connect(nbd, &h, 0)))
      round_trip(nbd, 2);
    nbd_close(nbd);
    require_refuses_plaintext(&h);
    raw_over_tls(&h);
    hostile_starttls(&h);
    EXPECT_MSG(fails(&h, 0, NULL, wrongpsk, "alice"), "wrong PSK key fails");
    EXPECT_MSG(fails(&h, 0, NULL, bob, "bob"), "unknown PSK identity fails");
    nbd = tls_client(NULL, psk, "alice");
    EXPECT(nbd_set_export_name(nbd, EXPORT) == 0);
    EXPECT_MSG(tls_connect(nbd, &h, 0) == 0, "still serving after the failures: %s",
               nbd_get_error());
    nbd_close(nbd);
    EXPECT_EQ_INT(harness_stop(&h), 0);
  }

  /* X.509 over TCP (libnbd checks the server only with a host name). */
  int port =
      tls_srv_start_tcp(&h, "--tls=require", "--tls-certificates", srvdir, SIZE_ARG, (char *)NULL);
  if (EXPECT(port > 0)) {
    EXPECT(serves(&h, port));
    EXPECT_MSG(fails(&h, port, wrongca, NULL, NULL), "a client not trusting our CA fails");
    EXPECT(serves(&h, port));
    harness_stop(&h);
  }
  /* --tls-verify-peer: a client certificate signed by our CA is required. */
  port = tls_srv_start_tcp(&h, "--tls=require", "--tls-certificates", srvdir, "--tls-verify-peer",
                           SIZE_ARG, (char *)NULL);
  if (EXPECT(port > 0)) {
    EXPECT(serves(&h, port));
    EXPECT_MSG(fails(&h, port, noclient, NULL, NULL), "no client certificate: refused");
    EXPECT_MSG(fails(&h, port, other, NULL, NULL), "another CA's client certificate: refused");
    EXPECT(serves(&h, port));
    harness_stop(&h);
  }
  /* Expired and wrong-host server certificates: clients refuse them. */
  const char *bad[] = {"expired", "wronghost"};
  for (int i = 0; i < 2; i++) {
    path(dir, bad[i]);
    port =
        tls_srv_start_tcp(&h, "--tls=require", "--tls-certificates", dir, SIZE_ARG, (char *)NULL);
    if (EXPECT(port > 0)) {
      EXPECT_MSG(fails(&h, port, clidir, NULL, NULL), "%s server certificate refused", bad[i]);
      harness_stop(&h);
    }
  }
  /* on: plaintext and TLS clients both served. */
  if (EXPECT(srv_start(&h, "--tls=on", "--tls-psk", psk, SIZE_ARG, (char *)NULL) == 0)) {
    struct nbd_handle *nbd = nbd_create();
    nbd_set_tls(nbd, LIBNBD_TLS_DISABLE);
    if (EXPECT_NBD_OK(nbd_connect_unix(nbd, h.sock)))
      EXPECT_EQ_INT(nbd_get_tls_negotiated(nbd), 0);
    nbd_close(nbd);
    nbd = tls_try(&h, 0, NULL, psk, "alice");
    if (EXPECT(nbd))
      EXPECT_EQ_INT(nbd_get_tls_negotiated(nbd), 1);
    nbd_close(nbd);
    harness_stop(&h);
  }
  harness_cleanup(&h);
  return expect_result("tls_server");
}
