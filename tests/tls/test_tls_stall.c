/* A client that sends NBD_OPT_STARTTLS and then nothing (or half a
 * ClientHello) holds no thread and is dropped at the handshake deadline,
 * while other clients are served meanwhile. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "tls_support.h"

/* The deadline for the handshake (--handshake-timeout). */
#define DEADLINE_S 3

int main(void) {
  struct harness h;
  char certs[400], srvdir[450], psk[450];
  if (harness_init(&h) < 0 || tls_make_certs(&h, certs, sizeof(certs)) < 0)
    return 1;
  snprintf(srvdir, sizeof(srvdir), "%s/server", certs);
  snprintf(psk, sizeof(psk), "%s/keys.psk", certs);
  if (!EXPECT(srv_start(&h, "--tls=require", "--tls-certificates", srvdir, "--tls-psk", psk,
                        "--handshake-timeout", "3", (char *)NULL) == 0))
    return expect_result("tls_stall");
  int fd[2];
  for (int i = 0; i < 2; i++) {
    uint32_t type, len;
    fd[i] = raw_connect(h.sock);
    EXPECT(fd[i] >= 0 && raw_greet(fd[i], NBD_FLAG_C_FIXED_NEWSTYLE) == 0);
    EXPECT(raw_opt(fd[i], NBD_OPT_STARTTLS, NULL, 0) == 0);
    EXPECT(raw_opt_reply(fd[i], NBD_OPT_STARTTLS, &type, &len) == 0 && type == NBD_REP_ACK);
  }
  /* the second sends the first bytes of a TLS record header only */
  EXPECT(raw_send(fd[1], "\x16\x03\x01", 3) == 0);
  long long t0 = harness_now_ms();
  struct nbd_handle *nbd = tls_try(&h, 0, NULL, psk, "alice");
  EXPECT_MSG(nbd != NULL, "served while two handshakes stall");
  nbd_close(nbd);
  for (int i = 0; i < 2; i++) {
    bool eof = false;
    while (!eof && harness_now_ms() - t0 < (DEADLINE_S + 10) * 1000LL)
      eof = raw_wait_eof(fd[i]);
    long long s = (harness_now_ms() - t0) / 1000;
    EXPECT_MSG(eof, "stalled client %d dropped", i);
    EXPECT_MSG(s >= DEADLINE_S - 1 && s <= DEADLINE_S + 3, "dropped after %lld s", s);
    close(fd[i]);
  }
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
  return expect_result("tls_stall");
}
