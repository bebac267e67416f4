/* The server's life: SIGTERM with requests in flight loses none (all are
 * answered, then exit 0); SIGUSR1 prints per-queue statistics; --stats-file
 * is rewritten as JSON; --max-connections refuses the extra client politely;
 * daemon mode writes --pidfile, serves, and exits on SIGTERM; a SIGTERM
 * before the signal watchers exist is a graceful stop too. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv.h"

#include "geometry.h"

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

/* Poll until pred(arg) or the bound passes. */
static bool eventually(bool (*pred)(void *), void *arg, int ms) {
  long long end = harness_now_ms() + ms;
  while (!pred(arg)) {
    if (harness_now_ms() > end)
      return false;
    sleep_ms(20);
  }
  return true;
}

static bool exited(void *h) { return harness_exited(h); }

static void test_graceful_shutdown(void) {
  struct harness h;
  if (harness_init(&h) < 0 || srv_start(&h, "size=64M", "irqmode=timer",
                                        "completion_nsec=500000000", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start timer server");
    harness_cleanup(&h);
    return;
  }
  struct nbd_handle *nbd = harness_connect(&h);
  if (EXPECT(nbd != NULL)) {
    enum { N = 64 };
    static char b[N][64 * 1024];
    int64_t ck[N];
    for (int i = 0; i < N; i++)
      ck[i] =
          i % 2 ? nbd_aio_pwrite(nbd, b[i], sizeof(b[i]), (uint64_t)i << 16, NBD_NULL_COMPLETION, 0)
                : nbd_aio_pread(nbd, b[i], sizeof(b[i]), (uint64_t)i << 16, NBD_NULL_COMPLETION, 0);
    /* Let them reach the server (they'd be read at drain anyway). */
    for (int i = 0; i < 5; i++)
      nbd_poll(nbd, 20);
    EXPECT(harness_signal(&h, SIGTERM) == 0);
    long long end = harness_now_ms() + 20000;
    while (nbd_aio_in_flight(nbd) > 0 && harness_now_ms() < end)
      if (nbd_poll(nbd, 1000) < 0)
        break;
    int ok = 0;
    for (int i = 0; i < N; i++)
      ok += ck[i] >= 0 && nbd_aio_command_completed(nbd, ck[i]) == 1;
    EXPECT_EQ_INT(ok, N);
  }
  nbd_close(nbd);
  if (EXPECT_MSG(eventually(exited, &h, 15000), "server exits after SIGTERM"))
    EXPECT_MSG(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 0, "exit status 0x%x", h.status);
  struct stat st;
  EXPECT_MSG(stat(h.sock, &st) < 0, "socket removed at exit");
  harness_cleanup(&h);
}

struct file_has {
  const char *path, *what;
};

static bool file_has(void *p) {
  struct file_has *f = p;
  char *s = harness_read_file(f->path);
  bool r = s && strstr(s, f->what);
  free(s);
  return r;
}

/* A client that keeps requests coming after SIGTERM does not keep the
 * server alive: it is served for a grace period, then its requests get
 * ESHUTDOWN or, once nothing of it is in flight, it is disconnected; the
 * server exits 0 by itself (not by the drain guard's forced close). */
struct busy {
  int ok, shutdown, other;
};

static int busy_done(void *ud, int *error) {
  struct busy *b = ud;
  if (*error == 0)
    b->ok++;
  else if (*error == ESHUTDOWN)
    b->shutdown++;
  else
    b->other++;
  return 1; /* retire the command */
}

static void test_busy_client_shutdown(void) {
  struct harness h;
  if (harness_init(&h) < 0 || srv_start(&h, "size=64M", "irqmode=timer", "completion_nsec=1000000",
                                        (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start server");
    harness_cleanup(&h);
    return;
  }
  struct nbd_handle *nbd = harness_connect(&h);
  struct busy b = {0};
  if (EXPECT(nbd != NULL)) {
    static char buf[8][BLOCK];
    bool signalled = false;
    long long end = harness_now_ms() + 20000;
    while (harness_now_ms() < end && b.shutdown == 0 && b.other == 0) {
      while (nbd_aio_in_flight(nbd) < 8)
        if (nbd_aio_pread(nbd, buf[nbd_aio_in_flight(nbd)], BLOCK, 0,
                          (nbd_completion_callback){.callback = busy_done, .user_data = &b}, 0) < 0)
          break;
      if (nbd_poll(nbd, 1000) < 0)
        break;
      if (!signalled && b.ok >= 8)
        signalled = EXPECT(harness_signal(&h, SIGTERM) == 0);
    }
    EXPECT_MSG(b.shutdown + b.other > 0, "the client was stopped (%d reads ok)", b.ok);
  }
  nbd_close(nbd);
  if (EXPECT_MSG(eventually(exited, &h, 15000), "server exits"))
    EXPECT_MSG(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 0, "exit 0x%x", h.status);
  struct file_has forced = {h.log, "drain took too long"};
  EXPECT_MSG(!file_has(&forced), "closed without the drain guard");
  harness_cleanup(&h);
}

static void test_stats(void) {
  struct harness h;
  char sf[400];
  if (harness_init(&h) < 0)
    return;
  snprintf(sf, sizeof(sf), "%s/stats.json", h.dir);
  if (srv_start(&h, "--stats-file", sf, "size=64M", "submit_queues=2", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start server with --stats-file");
    harness_cleanup(&h);
    return;
  }
  struct file_has first = {sf, "\"queues\":["};
  EXPECT_MSG(eventually(file_has, &first, 5000), "stats file appears");
  struct nbd_handle *nbd = harness_connect(&h);
  char b[BLOCK];
  if (EXPECT(nbd != NULL))
    for (int i = 0; i < 37; i++)
      EXPECT_NBD_OK(nbd_pread(nbd, b, BLOCK, 0, 0));
  nbd_close(nbd);
  /* The file is rewritten: the total shows the 37 reads. */
  struct file_has later = {sf, "\"total\":{\"submitted\":37,"};
  EXPECT_MSG(eventually(file_has, &later, 5000), "stats file shows 37 submitted");
  EXPECT(harness_signal(&h, SIGUSR1) == 0);
  struct file_has printed = {h.log, "statistics (2 hw queues)"};
  if (EXPECT_MSG(eventually(file_has, &printed, 5000), "SIGUSR1 prints statistics")) {
    struct file_has total = {h.log, "total "};
    EXPECT(eventually(file_has, &total, 5000));
  }
  EXPECT(!harness_exited(&h));
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

static bool can_connect(void *h) {
  struct nbd_handle *nbd = nbd_create();
  bool ok = nbd && nbd_connect_unix(nbd, ((struct harness *)h)->sock) == 0;
  nbd_close(nbd);
  return ok;
}

static void test_max_connections(void) {
  struct harness h;
  if (harness_init(&h) < 0 ||
      srv_start(&h, "--max-connections", "2", "size=1M", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start --max-connections 2");
    harness_cleanup(&h);
    return;
  }
  struct nbd_handle *a = harness_connect(&h), *b = harness_connect(&h);
  EXPECT(a && b);
  struct nbd_handle *c = nbd_create();
  EXPECT_MSG(nbd_connect_unix(c, h.sock) < 0, "third client refused");
  const char *e = nbd_get_error();
  EXPECT_MSG(e && strstr(e, "policy"), "refused by policy: %s", e ? e : "(none)");
  nbd_close(c);
  char buf[BLOCK];
  if (a)
    EXPECT_NBD_OK(nbd_pread(a, buf, sizeof(buf), 0, 0)); /* the first two still work */
  nbd_close(a);
  EXPECT_MSG(eventually(can_connect, &h, 5000), "a slot frees when a client leaves");
  nbd_close(b);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

static pid_t daemon_pid;

static void kill_daemon(void) {
  if (daemon_pid > 0 && kill(daemon_pid, 0) == 0)
    kill(daemon_pid, SIGKILL);
}

static bool daemon_gone(void *p) {
  (void)p;
  return kill(daemon_pid, 0) < 0 && errno == ESRCH;
}

static void test_daemon_pidfile(void) {
  struct harness h;
  char pidfile[400], out[400];
  if (harness_init(&h) < 0)
    return;
  snprintf(pidfile, sizeof(pidfile), "%s/server.pid", h.dir);
  snprintf(out, sizeof(out), "%s/daemon.out", h.dir);
  const char *argv[] = {srv_path(), "--unix", h.sock, "--pidfile", pidfile, "size=1M", NULL};
  int st = harness_run((char *const *)argv, out, 20);
  if (!EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon parent exits 0 (0x%x)", st)) {
    harness_cleanup(&h);
    return;
  }
  char *pid = harness_read_file(pidfile);
  daemon_pid = pid ? (pid_t)atoi(pid) : 0;
  free(pid);
  atexit(kill_daemon);
  if (EXPECT_MSG(daemon_pid > 1 && kill(daemon_pid, 0) == 0, "pidfile names a live process")) {
    struct nbd_handle *nbd = harness_connect(&h);
    char b[BLOCK];
    if (EXPECT(nbd != NULL))
      EXPECT_NBD_OK(nbd_pread(nbd, b, sizeof(b), 0, 0));
    nbd_close(nbd);
    kill(daemon_pid, SIGTERM);
    EXPECT_MSG(eventually(daemon_gone, NULL, 10000), "daemon exits on SIGTERM");
    struct stat sb;
    EXPECT_MSG(stat(pidfile, &sb) < 0, "pidfile removed at exit");
    EXPECT_MSG(stat(h.sock, &sb) < 0, "socket removed at exit");
  }
  kill_daemon();
  harness_cleanup(&h);
}

/* A SIGTERM that comes before the signal watchers exist (it is pending when
 * the server starts: the shell makes it so, blocked, and execs the server)
 * is held, then handled as a graceful stop: exit 0, not death or a hang. */
static void test_early_sigterm(void) {
  struct harness h;
  char out[400];
  if (harness_init(&h) < 0)
    return;
  snprintf(out, sizeof(out), "%s/early.out", h.dir);
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &old);
  const char *argv[] = {"/bin/sh",  "-c",           "kill -TERM $$; exec \"$0\" \"$@\"",
                        srv_path(), "--foreground", "--unix",
                        h.sock,     "size=1M",      NULL};
  int st = harness_run((char *const *)argv, out, 20);
  sigprocmask(SIG_SETMASK, &old, NULL);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0,
             "a SIGTERM pending at start-up stops the server cleanly (status 0x%x)", st);
  harness_cleanup(&h);
}

int main(void) {
  test_graceful_shutdown();
  test_busy_client_shutdown();
  test_stats();
  test_max_connections();
  test_daemon_pidfile();
  test_early_sigterm();
  return expect_result("server_lifecycle");
}
