/* nbdkit's default background mode (no -f): nbdkit forks after get_ready,
 * so the plugin starts its stats reporter thread in after_fork. The daemon
 * must serve, keep its stats_file up to date, and exit on SIGTERM. It is not
 * our child: it is stopped by the PID in its pidfile (bounded wait). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"
#include "plugin_server.h"
#include "stats_json.h"

#define WAIT_MS 15000

/* The daemon writes its pidfile after the fork, maybe after its parent
 * exited: wait for it (bounded). */
static pid_t read_pid(const char *path) {
  long long deadline = harness_now_ms() + WAIT_MS;
  long pid = 0;

  while (pid <= 1 && harness_now_ms() < deadline) {
    char *text = harness_read_file(path);

    pid = strtol(text, NULL, 10);
    free(text);
    if (pid <= 1)
      harness_sleep_ms(10);
  }
  return pid > 1 ? (pid_t)pid : 0;
}

/* SIGTERM, then SIGKILL if it is still there after the bound. */
static bool stop_daemon(pid_t pid) {
  long long deadline = harness_now_ms() + WAIT_MS;

  if (kill(pid, SIGTERM) != 0)
    return false;
  while (kill(pid, 0) == 0 && harness_now_ms() < deadline)
    harness_sleep_ms(20);
  if (kill(pid, 0) == 0) {
    kill(pid, SIGKILL);
    return false;
  }
  return true;
}

int main(void) {
  struct harness h;
  char pidfile[300], pid_arg[320], stats[300], stats_arg[320], out[300];
  const char *args[] = {pid_arg, "size=16M", stats_arg, NULL};
  const char *argv[PLUGIN_MAX_ARGS];
  struct nbd_handle *nbd = NULL;
  pid_t pid = 0;
  int st;

  if (harness_init(&h) < 0)
    return 1;
  snprintf(pidfile, sizeof pidfile, "%s/nbdkit.pid", h.dir);
  snprintf(pid_arg, sizeof pid_arg, "--pidfile=%s", pidfile);
  snprintf(stats, sizeof stats, "%s/stats.json", h.dir);
  snprintf(stats_arg, sizeof stats_arg, "stats_file=%s", stats);
  snprintf(out, sizeof out, "%s/start.out", h.dir);
  plugin_argv(argv, h.sock, args);
  /* plugin_argv adds -f: drop it, this test is about the background mode */
  for (int i = 0; argv[i]; i++)
    if (strcmp(argv[i], "-f") == 0)
      for (int j = i; argv[j]; j++)
        argv[j] = argv[j + 1];
  st = harness_run((char *const *)argv, out, 30);
  if (!EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nbdkit forks and its parent exits 0")) {
    char *text = harness_read_file(out);

    fprintf(stderr, "%s", text);
    free(text);
  }
  pid = read_pid(pidfile);
  if (!EXPECT_MSG(pid > 0, "pidfile %s written", pidfile)) {
    harness_cleanup(&h);
    return expect_result("plugin in nbdkit's background mode");
  }
  nbd = harness_connect(&h);
  if (EXPECT(nbd != NULL)) {
    static char buf[4096];
    long long deadline = harness_now_ms() + WAIT_MS;
    struct stats_counts total = {0}, q[1];

    for (int i = 0; i < 3; i++)
      EXPECT_NBD_OK(nbd_pread(nbd, buf, sizeof buf, (uint64_t)i * 4096, 0));
    /* The reporter thread runs in the daemon: the file follows the traffic. */
    for (;;) {
      char *text = harness_read_file(stats);
      int nq = stats_json_parse(text, &total, q, 1);

      free(text);
      if ((nq == 1 && total.submitted == 3) || harness_now_ms() > deadline)
        break;
      harness_sleep_ms(100);
    }
    EXPECT_EQ_INT(total.submitted, 3);
    EXPECT_EQ_INT(total.bytes_read, 3 * 4096);
    nbd_shutdown(nbd, 0);
    nbd_close(nbd);
  }
  EXPECT_MSG(stop_daemon(pid), "daemon %d exits on SIGTERM", (int)pid);
  harness_cleanup(&h);
  return expect_result("plugin in nbdkit's background mode");
}
