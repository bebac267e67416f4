/* Hostile plaintext clients against --tls=require: all a client can do
 * before TLS is NBD_OPT_ABORT and NBD_OPT_STARTTLS. Every other option
 * (known, unknown, malformed, oversized) gets NBD_REP_ERR_TLS_REQD or the
 * connection ends; transmission requests, bad magic and bad client flags
 * end it; thousands of random option streams never reveal the export name
 * or size and never reach transmission; the server serves TLS clients
 * throughout and exits cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "tls_support.h"

#define EXPORT "hostile-export-name"
#define SIZE (48ull << 20)

static struct harness h;
static char psk[450];
static uint8_t size_be[8];

static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

/* Read every reply until EOF or silence; check none is a success other than
 * ABORT's ACK and none carries the export's name or size. */
static void expect_nothing_leaks(int fd, const char *what) {
  static uint8_t all[1 << 16];
  size_t n = 0;
  for (;;) {
    uint8_t hdr[20];
    long r = raw_recv(fd, hdr, 20);
    if (r <= 0)
      break;
    if (!EXPECT_MSG(r == 20 && nbd_get64(hdr) == NBD_REP_MAGIC, "%s: reply magic", what))
      break;
    uint32_t opt = nbd_get32(hdr + 8), type = nbd_get32(hdr + 12), len = nbd_get32(hdr + 16);
    EXPECT_MSG(type == NBD_REP_ERR_TLS_REQD || type == NBD_REP_ERR_TOO_BIG ||
                   type == NBD_REP_ERR_INVALID ||
                   (type == NBD_REP_ACK && (opt == NBD_OPT_ABORT || opt == NBD_OPT_STARTTLS)),
               "%s: option %u answered 0x%x", what, opt, type);
    if (!EXPECT_MSG(len <= 4096, "%s: reply length %u", what, len))
      break;
    if (n + len > sizeof(all) || raw_recv(fd, all + n, len) != (long)len)
      break;
    n += len;
    if (type == NBD_REP_ACK && opt == NBD_OPT_STARTTLS)
      break; /* (a random stream asked for TLS and cannot do it: done) */
  }
  EXPECT_MSG(!memmem(all, n, EXPORT, strlen(EXPORT)), "%s: export name leaked", what);
  EXPECT_MSG(!memmem(all, n, size_be, 8), "%s: size leaked", what);
}

static void one_option(uint32_t opt, uint32_t len, const char *what) {
  int fd = raw_connect(h.sock);
  if (!EXPECT(fd >= 0) || !EXPECT(raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE) == 0)) {
    if (fd >= 0)
      close(fd);
    return;
  }
  static uint8_t data[70000];
  memset(data, 0, sizeof(data));
  if (len >= 4 && len < sizeof(data)) {
    nbd_put32(data, strlen(EXPORT)); /* a plausible export name inside */
    memcpy(data + 4, EXPORT, len - 4 < strlen(EXPORT) ? len - 4 : strlen(EXPORT));
  }
  raw_opt(fd, opt, data, len < sizeof(data) ? len : 0);
  raw_opt(fd, NBD_OPT_ABORT, NULL, 0); /* then the server hangs up */
  expect_nothing_leaks(fd, what);
  close(fd);
}

static void random_streams(int rounds) {
  uint64_t seed = 0x7e57;
  for (int i = 0; i < rounds; i++) {
    int fd = raw_connect(h.sock);
    if (fd < 0 || raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES) < 0) {
      EXPECT_MSG(false, "round %d: connect", i);
      if (fd >= 0)
        close(fd);
      continue;
    }
    uint8_t buf[2048];
    size_t n = 0;
    int nopt = 1 + (int)(rnd(&seed) % 6);
    for (int k = 0; k < nopt && n + 16 + 64 < sizeof(buf); k++) {
      uint32_t opt = rnd(&seed) % 16, len = rnd(&seed) % 64;
      if (opt == NBD_OPT_ABORT || opt == NBD_OPT_EXPORT_NAME)
        opt = NBD_OPT_GO; /* keep the stream going */
      nbd_put64(buf + n, rnd(&seed) % 50 ? NBD_IHAVEOPT : 0x1122334455667788ull);
      nbd_put32(buf + n + 8, opt);
      nbd_put32(buf + n + 12, len);
      for (uint32_t j = 0; j < len; j++)
        buf[n + 16 + j] = (uint8_t)rnd(&seed);
      n += 16 + len;
    }
    raw_send(fd, buf, n);
    shutdown(fd, SHUT_WR);
    expect_nothing_leaks(fd, "random stream");
    close(fd);
  }
}

int main(void) {
  char certs[400];
  if (harness_init(&h) < 0 || tls_make_certs(&h, certs, sizeof(certs)) < 0)
    return 1;
  snprintf(psk, sizeof(psk), "%s/keys.psk", certs);
  nbd_put64(size_be, SIZE);
  if (!EXPECT(srv_start(&h, "--tls=require", "--tls-psk", psk, "--export-name", EXPORT, "size=48M",
                        (char *)NULL) == 0))
    return expect_result("tls_hostile");

  for (uint32_t opt = 0; opt <= 12; opt++) {
    if (opt == NBD_OPT_ABORT || opt == NBD_OPT_EXPORT_NAME || opt == NBD_OPT_STARTTLS)
      continue;
    char what[64];
    uint32_t lens[] = {0, 3, 6, 40, 4096, 65537};
    for (size_t i = 0; i < sizeof(lens) / sizeof(*lens); i++) {
      snprintf(what, sizeof(what), "option %u length %u", opt, lens[i]);
      one_option(opt, lens[i], what);
    }
  }
  one_option(0xdeadbeef, 8, "unknown option");
  one_option(NBD_OPT_EXPORT_NAME, strlen(EXPORT), "EXPORT_NAME");

  /* A transmission request instead of an option; bad client flags. */
  int fd = raw_connect(h.sock);
  if (EXPECT(fd >= 0) && EXPECT(raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE) == 0)) {
    EXPECT(raw_request(fd, 0, NBD_CMD_READ, 1, 0, 4096) == 0);
    uint8_t b[64];
    EXPECT_MSG(raw_recv(fd, b, sizeof(b)) <= 0, "a request before TLS: dropped, no data");
    close(fd);
  }
  fd = raw_connect(h.sock);
  if (EXPECT(fd >= 0) && EXPECT(raw_greet(fd, 0xffffffffu) == 0)) {
    EXPECT(raw_wait_eof(fd));
    close(fd);
  }
  random_streams(400);

  /* Still serving, through TLS only. */
  struct nbd_handle *nbd = tls_client(NULL, psk, "alice");
  if (EXPECT(nbd) && EXPECT(nbd_set_export_name(nbd, EXPORT) == 0) &&
      EXPECT_NBD_OK(tls_connect(nbd, &h, 0)))
    EXPECT_EQ_U64(nbd_get_size(nbd), SIZE);
  nbd_close(nbd);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
  return expect_result("tls_hostile");
}
