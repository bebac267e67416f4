/* Where the server listens: --bind 127.0.0.1 and ::1 with --port, and
 * (port 0: the kernel picks a free one and the start-up banner names it),
 * systemd socket activation (a listening socket passed as fd 3 with
 * LISTEN_FDS=1 and LISTEN_PID set by a small exec wrapper). Bad addresses
 * stop it at start-up. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srv.h"

/* Can this host bind addr at all (no IPv6 in some containers)? */
static bool can_bind(int family, const char *addr) {
  struct sockaddr_storage ss = {0};
  socklen_t sl;
  if (family == AF_INET) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    inet_pton(AF_INET, addr, &s4->sin_addr);
    sl = sizeof(*s4);
  } else {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, addr, &s6->sin6_addr);
    sl = sizeof(*s6);
  }
  int fd = socket(family, SOCK_STREAM, 0);
  bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&ss, sl) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

/* --port 0: the kernel picks a free port, the server's banner names it. */
static int port_from_log(struct harness *h) {
  long long end = harness_now_ms() + 10000;
  while (harness_now_ms() < end && !harness_exited(h)) {
    char *log = harness_read_file(h->log);
    char *p = log ? strstr(log, " port ") : NULL;
    int port = p ? atoi(p + 6) : 0;
    free(log);
    if (port > 0)
      return port;
    usleep(20000);
  }
  return -1;
}

static void test_tcp(int family, const char *addr) {
  if (!can_bind(family, addr)) {
    printf("SKIP tcp %s: cannot bind here\n", addr);
    return;
  }
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  const char *argv[] = {srv_path(), "-f", "--bind", addr, "--port", "0", "size=1M", NULL};
  if (!EXPECT(harness_start_wait_for(&h, (char *const *)argv, NULL) == 0)) {
    harness_cleanup(&h);
    return;
  }
  int port = port_from_log(&h);
  char ps[16];
  snprintf(ps, sizeof(ps), "%d", port);
  EXPECT_MSG(port > 0, "the banner names the port");
  struct nbd_handle *nbd = NULL;
  long long end = harness_now_ms() + 10000;
  while (harness_now_ms() < end && !harness_exited(&h)) {
    nbd = nbd_create();
    if (nbd_connect_tcp(nbd, addr, ps) == 0)
      break;
    nbd_close(nbd);
    nbd = NULL;
    usleep(20000);
  }
  if (EXPECT_MSG(nbd != NULL, "connect to %s port %s", addr, ps)) {
    char b[4096];
    EXPECT_EQ_U64(nbd_get_size(nbd), 1u << 20);
    EXPECT_NBD_OK(nbd_pread(nbd, b, sizeof(b), 0, 0));
    EXPECT_NBD_OK(nbd_pwrite(nbd, b, sizeof(b), 4096, 0));
    /* Large dropped payloads (discarded in the kernel on TCP), then the
     * stream is still in step. */
    static char big[1u << 20];
    for (int i = 0; i < 8; i++)
      EXPECT_NBD_OK(nbd_pwrite(nbd, big, sizeof(big), 0, 0));
    EXPECT_NBD_ERRNO(nbd_pwrite(nbd, big, sizeof(big), 1u << 20, 0), ENOSPC);
    memset(b, 1, sizeof(b));
    if (EXPECT_NBD_OK(nbd_pread(nbd, b, sizeof(b), 0, 0)))
      EXPECT(b[0] == 0 && b[sizeof(b) - 1] == 0);
  }
  nbd_close(nbd);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

static pid_t child;

static void kill_child(void) {
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    child = 0;
  }
}

static void test_socket_activation(void) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(h.sock) >= sizeof(sa.sun_path)) {
    harness_cleanup(&h);
    return;
  }
  memcpy(sa.sun_path, h.sock, strlen(h.sock) + 1);
  int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (!EXPECT(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
              listen(lfd, 16) == 0)) {
    harness_cleanup(&h);
    return;
  }
  child = fork();
  if (child == 0) {
    /* The exec wrapper: fd 3 and LISTEN_PID of the process that execs. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int log = open(h.log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    if (lfd != 3) {
      dup2(lfd, 3);
      close(lfd);
    }
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("LISTEN_FDS", "1", 1);
    setenv("LISTEN_PID", pid, 1);
    execl(srv_path(), srv_path(), "-f", "size=2M", (char *)NULL);
    _exit(127);
  }
  atexit(kill_child);
  close(lfd);
  struct nbd_handle *nbd = nbd_create();
  if (EXPECT_MSG(nbd_connect_unix(nbd, h.sock) == 0, "connect: %s", nbd_get_error())) {
    char b[4096];
    EXPECT_EQ_U64(nbd_get_size(nbd), 2u << 20);
    EXPECT_NBD_OK(nbd_pread(nbd, b, sizeof(b), 0, 0));
  }
  nbd_close(nbd);
  /* A second client on the same inherited socket. */
  nbd = nbd_create();
  EXPECT_MSG(nbd_connect_unix(nbd, h.sock) == 0, "second connect: %s", nbd_get_error());
  nbd_close(nbd);
  kill(child, SIGTERM);
  int st = -1;
  long long end = harness_now_ms() + 10000;
  while (harness_now_ms() < end && waitpid(child, &st, WNOHANG) == 0)
    usleep(20000);
  if (EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "activated server exits 0 (0x%x)", st))
    child = 0;
  else
    harness_dump_log(&h);
  kill_child();
  harness_cleanup(&h);
}

static void test_bad_addresses(void) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  char out[400];
  snprintf(out, sizeof(out), "%s/out", h.dir);
  const char *bad_addr[] = {srv_path(), "-f", "--bind", "localhost", "--port", "1", NULL};
  int st = harness_run((char *const *)bad_addr, out, 10);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "--bind localhost: exit 1 (0x%x)", st);
  char *o = harness_read_file(out);
  EXPECT_MSG(o && strstr(o, "numeric"), "message: %s", o ? o : "");
  free(o);
  const char *both[] = {srv_path(), "-f", "--unix", h.sock, "--port", "1", NULL};
  st = harness_run((char *const *)both, out, 10);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "--unix with --port: exit 1 (0x%x)", st);
  char longpath[200];
  memset(longpath, 'x', sizeof(longpath) - 1);
  longpath[sizeof(longpath) - 1] = 0;
  const char *too_long[] = {srv_path(), "-f", "--unix", longpath, NULL};
  st = harness_run((char *const *)too_long, out, 10);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "--unix too long: exit 1 (0x%x)", st);
  harness_cleanup(&h);
}

/* Out of file descriptors: the server pauses accepting (no busy loop on the
 * readable listener), keeps serving the clients it has, and accepts again
 * once descriptors are free. */
static void test_fd_exhaustion(void) {
  const char *wrapper[] = {"prlimit", "--nofile=24", NULL};
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  srv_set_wrapper(wrapper);
  int r = srv_start(&h, "size=1M", (const char *)NULL);
  srv_set_wrapper(NULL);
  if (!EXPECT(r == 0)) {
    harness_cleanup(&h);
    return;
  }
  struct nbd_handle *first = harness_connect(&h);
  EXPECT(first != NULL);
  enum { N = 40 };
  int fds[N];
  for (int i = 0; i < N; i++)
    fds[i] = raw_connect(h.sock); /* queued in the backlog at least */
  char b[4096];
  if (first)
    EXPECT_NBD_OK(nbd_pread(first, b, sizeof(b), 0, 0));
  for (int i = 0; i < N; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  char *log = NULL;
  long long end = harness_now_ms() + 10000;
  while (harness_now_ms() < end) {
    free(log);
    log = harness_read_file(h.log);
    if (log && strstr(log, "pausing"))
      break;
    usleep(20000);
  }
  EXPECT_MSG(log && strstr(log, "pausing"), "server says it pauses accepting");
  free(log);
  /* Descriptors come back as the closed clients are reaped. */
  struct nbd_handle *nbd = NULL;
  end = harness_now_ms() + 10000;
  while (!nbd && harness_now_ms() < end) {
    nbd = nbd_create();
    if (nbd_connect_unix(nbd, h.sock) < 0) {
      nbd_close(nbd);
      nbd = NULL;
      usleep(50000);
    }
  }
  if (EXPECT_MSG(nbd != NULL, "accepting again"))
    EXPECT_NBD_OK(nbd_pread(nbd, b, sizeof(b), 0, 0));
  nbd_close(nbd);
  nbd_close(first);
  EXPECT(!harness_exited(&h));
  {
    long long st = harness_stop(&h);
    EXPECT_EQ_INT(st, 0);
  }
  harness_cleanup(&h);
}

int main(void) {
  test_tcp(AF_INET, "127.0.0.1");
  test_tcp(AF_INET6, "::1");
  test_socket_activation();
  test_bad_addresses();
  test_fd_exhaustion();
  return expect_result("server_sockets");
}
