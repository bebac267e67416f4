/* SIGHUP reloads the TLS credentials for new connections: a PSK file and a
 * certificate directory replaced under a running server take effect after
 * SIGHUP, connections already up keep working, and bad new files are
 * reported (naming the file) while the old credentials stay in use. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls_support.h"

static struct harness h;
static char certs[400];

static const char *p(const char *name) { return tls_path(certs, name); }

static void sh(const char *fmt, const char *a, const char *b) {
  char cmd[2000];
  snprintf(cmd, sizeof(cmd), fmt, a, b);
  EXPECT_MSG(system(cmd) == 0, "%s", cmd);
}

static int count_in_log(const char *what) {
  char *o = harness_read_file(h.log);
  int n = 0;
  for (char *q = o; (q = strstr(q, what)); q += strlen(what))
    n++;
  free(o);
  return n;
}

/* SIGHUP, then wait until the log has one more line containing what. */
static bool hup(const char *what) {
  int before = count_in_log(what);
  harness_signal(&h, SIGHUP);
  for (int i = 0; i < 200; i++) {
    if (count_in_log(what) > before)
      return true;
    usleep(10000);
  }
  harness_dump_log(&h);
  return false;
}

static bool ok(int port, const char *cdir, const char *psk) {
  struct nbd_handle *nbd = tls_try(&h, port, cdir, psk, psk ? "alice" : NULL);
  bool r = nbd && nbd_get_size(nbd) == 1 << 20;
  nbd_close(nbd);
  return r;
}

int main(void) {
  if (harness_init(&h) < 0 || tls_make_certs(&h, certs, sizeof(certs)) < 0)
    return 1;
  const char *live = p("live.psk");
  sh("cp %s %s", p("keys.psk"), live);
  if (EXPECT(srv_start(&h, "--tls=require", "--tls-psk", live, "size=1M", (char *)NULL) == 0)) {
    struct nbd_handle *old = tls_try(&h, 0, NULL, p("keys.psk"), "alice");
    EXPECT_MSG(old != NULL, "alice's first key works");
    sh("cp %s %s", p("wrong.psk"), live);
    EXPECT(ok(0, NULL, p("keys.psk"))); /* not reloaded yet */
    EXPECT(hup("SIGHUP: TLS credentials reloaded"));
    EXPECT_MSG(!ok(0, NULL, p("keys.psk")), "the old key fails after SIGHUP");
    EXPECT_MSG(ok(0, NULL, p("wrong.psk")), "the new key works after SIGHUP");
    char buf[4096];
    EXPECT_MSG(old && nbd_pread(old, buf, sizeof(buf), 0, 0) == 0,
               "a connection made before SIGHUP keeps working");
    nbd_close(old);
    sh("echo 'alice:nothex' > %s%s", live, "");
    EXPECT(hup("(keeping the credentials in use)"));
    EXPECT(count_in_log("live.psk:1: expected identity:hexkey") == 1);
    EXPECT_MSG(ok(0, NULL, p("wrong.psk")), "a bad file keeps the credentials in use");
    EXPECT_EQ_INT(harness_stop(&h), 0);
  }
  /* Certificates: swap in one for another host name, then back. */
  sh("cp -r %s %s", p("server"), p("livecerts"));
  unlink(h.log);
  int port = tls_srv_start_tcp(&h, "--tls=require", "--tls-certificates", p("livecerts"), "size=1M",
                               (char *)NULL);
  if (EXPECT(port > 0)) {
    EXPECT(ok(port, p("client"), NULL));
    sh("cp %s/server-*.pem %s/", p("wronghost"), p("livecerts"));
    EXPECT(hup("SIGHUP: TLS credentials reloaded"));
    EXPECT_MSG(!ok(port, p("client"), NULL), "a certificate for another host after SIGHUP");
    sh("cp %s/server-key.pem %s/", p("mismatch"), p("livecerts"));
    EXPECT(hup("(keeping the credentials in use)"));
    EXPECT(count_in_log("livecerts/server-key.pem does not match") == 1);
    sh("cp %s/server-*.pem %s/", p("server"), p("livecerts"));
    EXPECT(hup("SIGHUP: TLS credentials reloaded"));
    EXPECT_MSG(ok(port, p("client"), NULL), "the right certificate again");
    EXPECT_EQ_INT(harness_stop(&h), 0);
  }
  harness_cleanup(&h);
  return expect_result("tls_reload");
}
