/* The TLS options on the command line: each one in --help, each mistake
 * stops the server at start-up with a message naming the option or the
 * file (missing, unreadable, a key not matching its certificate, a bad PSK
 * line, a bad priority string), and a non-loopback --bind without TLS
 * warns in one line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tls_support.h"

static struct harness h;
static char out[400], certs[400];

/* rnull-server -f --unix SOCK args... (NULL-terminated): its exit code. */
static int run(const char *a1, ...) {
  const char *argv[32] = {srv_path(), "-f", "--unix", h.sock, a1};
  int n = 5;
  va_list ap;
  va_start(ap, a1);
  const char *a;
  while (n < 31 && (a = va_arg(ap, const char *)))
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  int st = harness_run((char *const *)argv, out, 10);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool said(const char *what) {
  char *o = harness_read_file(out);
  bool r = strstr(o, what) != NULL;
  if (!r)
    fprintf(stderr, "output lacks \"%s\":\n%s\n", what, o);
  free(o);
  return r;
}

static const char *p(const char *name) { return tls_path(certs, name); }

int main(void) {
  if (harness_init(&h) < 0 || tls_make_certs(&h, certs, sizeof(certs)) < 0)
    return 1;
  snprintf(out, sizeof(out), "%s/out", h.dir);

  EXPECT_EQ_INT(run("--help", NULL), 0);
  const char *flags[] = {"--tls=off|on|require",
                         "--tls-certificates",
                         "ca-cert.pem",
                         "server-cert.pem",
                         "server-key.pem",
                         "ca-crl.pem",
                         "--tls-psk",
                         "--tls-verify-peer",
                         "--tls-priority",
                         "SIGHUP"};
  for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++)
    EXPECT_MSG(said(flags[i]), "--help mentions %s", flags[i]);

  EXPECT_EQ_INT(run("--tls=maybe", NULL), 1);
  EXPECT(said("--tls=maybe: expected off, on or require"));
  EXPECT_EQ_INT(run("--tls=require", NULL), 1);
  EXPECT(said("--tls=require needs --tls-certificates DIR or --tls-psk FILE"));
  EXPECT_EQ_INT(run("--tls-certificates", p("server"), NULL), 1);
  EXPECT(said("--tls-certificates needs --tls=on or --tls=require"));
  EXPECT_EQ_INT(run("--tls=off", "--tls-psk", p("keys.psk"), NULL), 1);
  EXPECT(said("--tls-psk needs --tls=on or --tls=require"));
  EXPECT_EQ_INT(run("--tls=on", "--tls-psk", p("keys.psk"), "--tls-verify-peer", NULL), 1);
  EXPECT(said("--tls-verify-peer needs --tls-certificates"));

  /* Files: each message names the file. */
  EXPECT_EQ_INT(run("--tls=on", "--tls-certificates", p("nosuchdir"), NULL), 1);
  EXPECT(said("nosuchdir/server-cert.pem: No such file or directory"));
  EXPECT_EQ_INT(run("--tls=on", "--tls-certificates", p("client"), NULL), 1);
  EXPECT(said("client/server-cert.pem"));
  EXPECT_EQ_INT(run("--tls=on", "--tls-certificates", p("mismatch"), NULL), 1);
  EXPECT(said("mismatch/server-key.pem does not match"));
  EXPECT(said("mismatch/server-cert.pem"));
  EXPECT_EQ_INT(run("--tls=on", "--tls-certificates", p("wrongca"), "--tls-verify-peer", NULL), 1);
  EXPECT(said("wrongca/server-cert.pem"));
  /* ca-cert.pem: optional, but required to check clients. */
  char dir[450], cmd[1400];
  snprintf(dir, sizeof(dir), "%s/noca", certs);
  snprintf(cmd, sizeof(cmd), "mkdir %s && cp %s/server-*.pem %s/", dir, p("server"), dir);
  EXPECT_EQ_INT(system(cmd), 0);
  EXPECT_EQ_INT(run("--tls=on", "--tls-certificates", dir, "--tls-verify-peer", NULL), 1);
  EXPECT(said("noca/ca-cert.pem: No such file or directory"));
  /* unreadable (root reads everything: only checked as a normal user) */
  if (geteuid() != 0) {
    snprintf(cmd, sizeof(cmd), "%s/server-key.pem", dir);
    chmod(cmd, 0);
    EXPECT_EQ_INT(run("--tls=on", "--tls-certificates", dir, NULL), 1);
    EXPECT(said("noca/server-key.pem: Permission denied"));
    chmod(cmd, 0600);
  }
  /* a certificate that is not one */
  snprintf(cmd, sizeof(cmd), "echo garbage > %s/server-cert.pem", dir);
  EXPECT_EQ_INT(system(cmd), 0);
  EXPECT_EQ_INT(run("--tls=on", "--tls-certificates", dir, NULL), 1);
  EXPECT(said("noca/server-cert.pem: "));

  EXPECT_EQ_INT(run("--tls=on", "--tls-psk", p("nosuch.psk"), NULL), 1);
  EXPECT(said("--tls-psk: "));
  EXPECT(said("nosuch.psk: No such file or directory"));
  FILE *f = fopen(p("bad.psk"), "w");
  if (EXPECT(f)) {
    fputs("alice:00112233\nbob-without-key\n", f);
    fclose(f);
  }
  EXPECT_EQ_INT(run("--tls=on", "--tls-psk", p("bad.psk"), NULL), 1);
  EXPECT(said("bad.psk:2: expected identity:hexkey"));
  f = fopen(p("badhex.psk"), "w");
  if (EXPECT(f)) {
    fputs("alice:zz\n", f);
    fclose(f);
  }
  EXPECT_EQ_INT(run("--tls=on", "--tls-psk", p("badhex.psk"), NULL), 1);
  EXPECT(said("badhex.psk:1: expected identity:hexkey"));
  f = fopen(p("empty.psk"), "w");
  if (EXPECT(f))
    fclose(f);
  EXPECT_EQ_INT(run("--tls=on", "--tls-psk", p("empty.psk"), NULL), 1);
  EXPECT(said("empty.psk: no keys in the file"));

  EXPECT_EQ_INT(run("--tls=on", "--tls-psk", p("keys.psk"), "--tls-priority", "NORMAL:+NOPE", NULL),
                1);
  EXPECT(said("--tls-priority NORMAL:+NOPE: "));
  EXPECT(said("+NOPE"));

  /* Non-loopback bind without TLS: one warning line (the server runs). */
  const char *wide[] = {srv_path(), "-f", "--bind", "0.0.0.0", "--port", "0", NULL};
  if (EXPECT(harness_start_wait_for(&h, (char *const *)wide, NULL) == 0)) {
    usleep(300000);
    harness_stop(&h);
    char *log = harness_read_file(h.log);
    EXPECT_MSG(strstr(log, "rnull-server: warning: --bind 0.0.0.0 is not loopback and TLS is "
                           "off") != NULL,
               "warning in:\n%s", log);
    free(log);
  }
  unlink(h.log);
  const char *lo[] = {srv_path(), "-f", "--bind", "::1", "--port", "0", NULL};
  if (EXPECT(harness_start_wait_for(&h, (char *const *)lo, NULL) == 0)) {
    usleep(300000);
    harness_stop(&h);
    char *log = harness_read_file(h.log);
    EXPECT_MSG(strstr(log, "warning") == NULL, "no warning on loopback:\n%s", log);
    free(log);
  }
  harness_cleanup(&h);
  return expect_result("tls_cli");
}
