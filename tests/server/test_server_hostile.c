/* Hostile clients and careless operators (issue 8): handshake and idle
 * deadlines, refused clients always answered, SIGTERM during the handshake,
 * EMFILE pauses that really pause, a FIFO at the stats file's temp path,
 * -r beating readonly=0 in any order, a symlink planted at the pidfile's
 * temp path, and the new flags' errors. Raw sockets on Unix sockets in a
 * temp dir; every wait bounded. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "srv.h"

static int count_in_log(struct harness *h, const char *what) {
  char *o = harness_read_file(h->log);
  int n = 0;
  for (char *p = o; p && (p = strstr(p, what)); p += strlen(what))
    n++;
  free(o);
  return n;
}

/* The stopped server's exit: 0 after SIGTERM means a clean drain. */
static bool stopped_cleanly(struct harness *h) {
  int st = harness_stop(h);
  bool ok = st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  if (!ok)
    harness_dump_log(h);
  return ok;
}

/* --- item 6: deadlines and refusals -------------------------------------- */

static void test_handshake_deadline(void) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  if (EXPECT(srv_start(&h, "--handshake-timeout", "1", "size=1M", (const char *)NULL) == 0)) {
    int fd = raw_connect(h.sock); /* greeting read, nothing sent */
    EXPECT(fd >= 0);
    long long t0 = harness_now_ms();
    EXPECT_MSG(fd >= 0 && raw_wait_eof(fd), "a silent client is dropped after the deadline");
    EXPECT_MSG(harness_now_ms() - t0 >= 500, "not before it");
    if (fd >= 0)
      close(fd);
    EXPECT(stopped_cleanly(&h));
  }
  harness_cleanup(&h);
}

static void test_idle_timeout(void) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  if (EXPECT(srv_start(&h, "--idle-timeout", "1", "size=1M", (const char *)NULL) == 0)) {
    int idle = raw_connect(h.sock), busy = raw_connect(h.sock);
    EXPECT(idle >= 0 && raw_go(idle, false, false) >= 0);
    EXPECT(busy >= 0 && raw_go(busy, false, false) >= 0);
    /* A client that keeps asking is never idle. */
    bool served = true;
    for (int i = 0; i < 12 && served; i++) {
      uint32_t err;
      uint64_t handle;
      served = raw_request(busy, 0, NBD_CMD_FLUSH, (uint64_t)i, 0, 0) == 0 &&
               raw_simple_reply(busy, &err, &handle) == 0 && err == 0 && handle == (uint64_t)i;
      harness_sleep_ms(250);
    }
    EXPECT_MSG(served, "an active client is served past the idle timeout");
    EXPECT_MSG(raw_wait_eof(idle), "a silent established client is closed");
    EXPECT(harness_log_has(&h, "--idle-timeout"));
    close(idle);
    close(busy);
    EXPECT(stopped_cleanly(&h));
  }
  harness_cleanup(&h);
}

/* Beyond --max-connections every client gets NBD_REP_ERR_POLICY, even far
 * beyond (it was a bare close after 64 refusals at once). */
static void test_refused_always_answered(void) {
  struct harness h;
  enum { NREFUSED = 100 };
  int fds[NREFUSED];
  if (harness_init(&h) < 0)
    return;
  if (EXPECT(srv_start(&h, "--max-connections", "1", "size=1M", (const char *)NULL) == 0)) {
    int holder = raw_connect(h.sock);
    EXPECT(holder >= 0 && raw_go(holder, false, false) >= 0);
    for (int i = 0; i < NREFUSED; i++)
      fds[i] = raw_connect(h.sock);
    int answered = 0;
    for (int i = 0; i < NREFUSED; i++) {
      uint32_t type, len;
      uint8_t go[6] = {0};
      if (fds[i] >= 0 && raw_greet(fds[i], NBD_FLAG_C_FIXED_NEWSTYLE) == 0 &&
          raw_opt(fds[i], NBD_OPT_GO, go, sizeof go) == 0 &&
          raw_opt_reply(fds[i], NBD_OPT_GO, &type, &len) == 0 && type == NBD_REP_ERR_POLICY)
        answered++;
      if (fds[i] >= 0)
        close(fds[i]);
    }
    EXPECT_EQ_INT(answered, NREFUSED);
    close(holder);
    EXPECT(stopped_cleanly(&h));
  }
  harness_cleanup(&h);
}

/* --- item 7: SIGTERM during option haggling ------------------------------ */

static void test_sigterm_during_handshake(void) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  if (EXPECT(srv_start(&h, "size=1M", (const char *)NULL) == 0)) {
    int fd = raw_connect(h.sock);
    EXPECT(fd >= 0 && raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE) == 0);
    EXPECT(harness_signal(&h, SIGTERM) == 0);
    /* The listener goes first; then give the loop a moment to see it. */
    struct stat st;
    for (int i = 0; i < 100 && stat(h.sock, &st) == 0; i++)
      harness_sleep_ms(20);
    harness_sleep_ms(300);
    uint32_t type = 0, len = 0;
    EXPECT(raw_opt(fd, NBD_OPT_LIST, NULL, 0) == 0);
    EXPECT(raw_opt_reply(fd, NBD_OPT_LIST, &type, &len) == 0 && raw_skip(fd, len) == 0);
    EXPECT_EQ_U64(type, NBD_REP_ERR_SHUTDOWN);
    /* The client then soft-disconnects, as proto.md requires. */
    EXPECT(raw_opt(fd, NBD_OPT_ABORT, NULL, 0) == 0);
    EXPECT(raw_opt_reply(fd, NBD_OPT_ABORT, &type, &len) == 0 && type == NBD_REP_ACK);
    EXPECT(raw_wait_eof(fd));
    close(fd);
    for (int i = 0; i < 250 && !harness_exited(&h); i++)
      harness_sleep_ms(20);
    EXPECT_MSG(harness_exited(&h), "the server exits by itself once the client left");
    EXPECT(stopped_cleanly(&h));
  }
  harness_cleanup(&h);
}

/* --- item 4: out of descriptors ------------------------------------------ */

static void test_emfile_pause_pauses(void) {
  struct harness h;
  enum { NCLIENTS = 50 };
  int fds[NCLIENTS];
  if (harness_init(&h) < 0)
    return;
  if (EXPECT(srv_start(&h, "--max-connections", "0", "size=1M", (const char *)NULL) == 0)) {
    struct rlimit rl = {48, 48};
    EXPECT(prlimit(h.pid, RLIMIT_NOFILE, &rl, NULL) == 0);
    for (int i = 0; i < NCLIENTS; i++)
      fds[i] = raw_connect(h.sock); /* greeting only: most stay in the backlog */
    long t0 = harness_cpu_ticks(h.pid);
    harness_sleep_ms(2000);
    long used = harness_cpu_ticks(h.pid) - t0;
    long hz = sysconf(_SC_CLK_TCK);
    EXPECT_MSG(t0 >= 0 && used < hz, "paused, not spinning: %ld ticks of CPU in 2 s", used);
    int lines = count_in_log(&h, "accept:");
    EXPECT_MSG(lines >= 1 && lines <= 40, "one log line per pause: %d lines", lines);
    for (int i = 0; i < NCLIENTS; i++)
      if (fds[i] >= 0)
        close(fds[i]);
    EXPECT(stopped_cleanly(&h));
  }
  harness_cleanup(&h);
}

/* --- item 8: a FIFO at <stats_file>.tmp ---------------------------------- */

static void test_stats_fifo_blocks_nothing(void) {
  struct harness h;
  char stats[400], tmp[420];
  if (harness_init(&h) < 0)
    return;
  snprintf(stats, sizeof stats, "%s/stats.json", h.dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", stats);
  EXPECT(mkfifo(tmp, 0600) == 0);
  if (EXPECT(srv_start(&h, "--stats-file", stats, "size=1M", (const char *)NULL) == 0)) {
    int fd = raw_connect(h.sock);
    EXPECT_MSG(fd >= 0 && raw_go(fd, false, false) >= 0, "clients are served");
    uint32_t err = 1;
    uint64_t handle = 0;
    EXPECT(fd >= 0 && raw_request(fd, 0, NBD_CMD_FLUSH, 7, 0, 0) == 0 &&
           raw_simple_reply(fd, &err, &handle) == 0 && err == 0);
    if (fd >= 0)
      close(fd);
    struct stat st;
    EXPECT_MSG(lstat(tmp, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO is left alone");
    EXPECT_MSG(stopped_cleanly(&h), "SIGTERM is obeyed");
  }
  harness_cleanup(&h);
}

/* --- item 9: -r wins ----------------------------------------------------- */

static void expect_readonly(const char *what, const char *const *args) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  if (EXPECT_MSG(srv_startv(&h, args) == 0, "%s: starts", what)) {
    int fd = raw_connect(h.sock);
    int flags = fd >= 0 ? raw_go(fd, false, false) : -1;
    EXPECT_MSG(flags >= 0 && (flags & NBD_FLAG_READ_ONLY), "%s: NBD_FLAG_READ_ONLY (flags %#x)",
               what, flags);
    EXPECT_MSG(flags >= 0 && !(flags & NBD_FLAG_SEND_TRIM) && !(flags & NBD_FLAG_SEND_WRITE_ZEROES),
               "%s: no trim/zero offered", what);
    uint8_t payload[4096] = {1};
    uint32_t err = 0;
    uint64_t handle = 0;
    EXPECT_MSG(fd >= 0 && raw_request(fd, 0, NBD_CMD_WRITE, 9, 0, sizeof payload) == 0 &&
                   raw_send(fd, payload, sizeof payload) == 0 &&
                   raw_simple_reply(fd, &err, &handle) == 0 && err == NBD_EPERM && handle == 9,
               "%s: a write gets EPERM (got %u)", what, err);
    if (fd >= 0)
      close(fd);
    EXPECT(stopped_cleanly(&h));
  }
  harness_cleanup(&h);
}

static void test_readonly_wins(void) {
  char conf[300];
  snprintf(conf, sizeof conf, "/tmp/rnull-ro-%d.conf", (int)getpid());
  FILE *f = fopen(conf, "w");
  if (!EXPECT(f != NULL))
    return;
  fputs("readonly=0\nsize=1M\n", f);
  fclose(f);
  const char *a[] = {"-r", "readonly=0", "size=1M", NULL};
  const char *b[] = {"readonly=0", "-r", "size=1M", NULL};
  const char *c[] = {"--config", conf, "--readonly", NULL};
  const char *d[] = {"--readonly", "--config", conf, NULL};
  const char *e[] = {"-r", "--config", conf, "readonly=no", NULL};
  const char *g[] = {"readonly=1", "--config", conf, "-r", "readonly=off", NULL};
  expect_readonly("-r readonly=0", a);
  expect_readonly("readonly=0 -r", b);
  expect_readonly("--config(readonly=0) --readonly", c);
  expect_readonly("--readonly --config(readonly=0)", d);
  expect_readonly("-r --config readonly=no", e);
  expect_readonly("readonly=1 --config -r readonly=off", g);
  unlink(conf);
}

/* --- item 10: a symlink planted at <pidfile>.tmp ------------------------- */

static void test_pidfile_symlink(void) {
  struct harness h;
  char pidfile[400], tmp[420], victim[400];
  if (harness_init(&h) < 0)
    return;
  snprintf(pidfile, sizeof pidfile, "%s/server.pid", h.dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", pidfile);
  snprintf(victim, sizeof victim, "%s/victim", h.dir);
  FILE *f = fopen(victim, "w");
  if (!EXPECT(f != NULL))
    return;
  fputs("precious\n", f);
  fclose(f);
  EXPECT(symlink(victim, tmp) == 0);
  if (EXPECT(srv_start(&h, "--pidfile", pidfile, "size=1M", (const char *)NULL) == 0)) {
    /* once a client is served, the pidfile is written and SIGTERM handled */
    int fd = raw_connect(h.sock);
    EXPECT(fd >= 0 && raw_go(fd, false, false) >= 0);
    if (fd >= 0)
      close(fd);
    char *v = harness_read_file(victim);
    EXPECT_MSG(v && strcmp(v, "precious\n") == 0, "the symlink's target is untouched: '%s'",
               v ? v : "");
    free(v);
    struct stat st;
    EXPECT_MSG(lstat(pidfile, &st) == 0 && S_ISREG(st.st_mode), "the pidfile is a regular file");
    EXPECT_MSG((st.st_mode & 0777) == 0644, "mode 0644 (%o)", st.st_mode & 0777);
    char *p = harness_read_file(pidfile);
    EXPECT_MSG(p && atoi(p) == (int)h.pid, "the pidfile names the server: '%s'", p ? p : "");
    free(p);
    EXPECT(stopped_cleanly(&h));
  }
  harness_cleanup(&h);
}

/* --- the new flags: --help and their errors ------------------------------ */

static void test_new_flags(void) {
  struct harness h;
  char out[400];
  if (harness_init(&h) < 0)
    return;
  snprintf(out, sizeof out, "%s/out", h.dir);
  const char *help[] = {srv_path(), "--help", NULL};
  EXPECT(harness_run((char *const *)help, out, 10) == 0);
  char *o = harness_read_file(out);
  const char *flags[] = {"--handshake-timeout", "--idle-timeout", "--shutdown-timeout",
                         "--buffer-memory", "--conn-buffer-memory"};
  for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
    EXPECT_MSG(o && strstr(o, flags[i]), "--help mentions %s", flags[i]);
  free(o);
  const char *bad[][2] = {{"--handshake-timeout", "ten"},  {"--idle-timeout", "-1"},
                          {"--handshake-timeout", "0x10"}, {"--idle-timeout", "86401"},
                          {"--shutdown-timeout", "0x10"},  {"--buffer-memory", "lots"},
                          {"--buffer-memory", "0"},        {"--conn-buffer-memory", "1X"},
                          {"--buffer-memory", "1M"},       {"--conn-buffer-memory", "4M"},
                          {"--idle-timeout", " 5"},        {"--shutdown-timeout", "+5"},
                          {"--max-connections", "0x10"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *argv[] = {srv_path(), "-f", "--unix", h.sock, bad[i][0], bad[i][1], NULL};
    int st = harness_run((char *const *)argv, out, 10);
    EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s %s refused", bad[i][0], bad[i][1]);
    o = harness_read_file(out);
    EXPECT_MSG(o && strstr(o, bad[i][0]), "the error names %s: %s", bad[i][0], o ? o : "");
    free(o);
  }
  harness_cleanup(&h);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  test_new_flags();
  test_readonly_wins();
  test_pidfile_symlink();
  test_stats_fifo_blocks_nothing();
  test_sigterm_during_handshake();
  test_handshake_deadline();
  test_idle_timeout();
  test_refused_always_answered();
  test_emfile_pause_pauses();
  return expect_result("server_hostile");
}
