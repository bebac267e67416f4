/* The control socket (lib/ctl/control.c) as a network protocol, and the
 * line and word checks (issue 22): the client cap answered with one line,
 * idle clients closed, a line's length bounded, NUL and control characters
 * refused, pipelined commands answered in order, files a key names read
 * without blocking (a FIFO, /dev/zero, a file too large), words checked on
 * their own (rnull_ctl_execv), a stop with idle clients prompt. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "key_files.h"
#include "rnull/ctl.h"
#include "rnull/null.h"

static struct rnull_ctl *ctl;
static char dir[64], path[128];

static void setup(void) {
  struct rnull_ctl_hooks h = {.end_io = record_end_io};
  ck_assert_int_eq(rnull_ctl_new(&ctl, &h), 0);
  snprintf(dir, sizeof dir, "/tmp/rnull-ctlsock.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/ctl", dir);
  char err[RNULL_ERR_LEN];
  struct rnull_ctl_limits lim = {.max_clients = 4, .idle_timeout_ms = 300};
  ck_assert_msg(rnull_ctl_listen_limits(ctl, path, &lim, err, sizeof err) == 0, "%s", err);
}
static void teardown(void) {
  rnull_ctl_free(ctl);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
}

static int dial(void) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

/* What the server sends until it has sent want (or EOF, or 3 s). */
static const char *answer(int fd, const char *want) {
  static char buf[8192];
  size_t have = 0;
  buf[0] = 0;
  while (have + 1 < sizeof buf && !strstr(buf, want)) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 3000) <= 0)
      break;
    ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
    if (n <= 0)
      break;
    have += (size_t)n;
    buf[have] = 0;
  }
  return buf;
}

static bool at_eof(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char c;
  return poll(&p, 1, 3000) == 1 && recv(fd, &c, 1, 0) <= 0; /* EOF, or reset if never accepted */
}

static char *exec(const char *line) {
  static char *buf;
  size_t len = 0;
  free(buf);
  buf = NULL;
  FILE *m = open_memstream(&buf, &len);
  rnull_ctl_exec(ctl, line, m);
  fclose(m);
  return buf;
}

START_TEST(cap_refuses_with_one_line) {
  int fd[5];
  for (int i = 0; i < 4; i++)
    fd[i] = dial();
  fd[4] = dial();
  ck_assert_str_eq(answer(fd[4], "\n"),
                   "error: too many control clients (at most 4): try again later\n");
  ck_assert(at_eof(fd[4]));
  ck_assert_int_eq(send(fd[0], "list\n", 5, 0), 5);
  ck_assert_ptr_nonnull(strstr(answer(fd[0], "ok\n"), "NAME"));
  for (int i = 0; i < 5; i++)
    close(fd[i]);
}
END_TEST

START_TEST(idle_client_closed) {
  int fd = dial();
  ck_assert_int_eq(send(fd, "li", 2, 0), 2); /* half a line: idle too */
  ck_assert_str_eq(answer(fd, "\n"), "error: idle for 300 ms: closed\n");
  ck_assert(at_eof(fd));
  close(fd);
}
END_TEST

START_TEST(line_length_bounded) {
  int fd = dial();
  char big[RNULL_CTL_LINE_MAX];
  memset(big, 'a', sizeof big);
  ck_assert_int_eq(send(fd, big, sizeof big, 0), (ssize_t)sizeof big);
  ck_assert_str_eq(answer(fd, "\n"), "error: line longer than 4095 bytes\n");
  ck_assert(at_eof(fd));
  close(fd);
}
END_TEST

START_TEST(nul_and_control_characters_refused) {
  int fd = dial();
  const char line[] = "create a\0 power=0\ncreate b\x1b power=0\nget a power\n";
  ck_assert_int_eq(send(fd, line, sizeof line - 1, 0), (ssize_t)sizeof line - 1);
  const char *r = answer(fd, "unknown disk");
  ck_assert_msg(strstr(r, "error: a NUL byte at offset 8: commands are text\n") &&
                    strstr(r, "error: control character 0x1b at offset 8") &&
                    strstr(r, "a: unknown disk"),
                "%s", r);
  close(fd);
  ck_assert_ptr_nonnull(strstr(exec("create c\r power=0"), "control character 0x0d"));
  ck_assert_str_eq(exec("create c power=0\r\n"), "ok\n"); /* a final CR LF is fine */
}
END_TEST

START_TEST(pipelined_commands_in_order) {
  int fd = dial();
  const char line[] = "create p1 power=0\ncreate p2 power=0\nlist\n";
  ck_assert_int_eq(send(fd, line, sizeof line - 1, 0), (ssize_t)sizeof line - 1);
  const char *r = answer(fd, "p2 ");
  ck_assert_msg(!strncmp(r, "ok\nok\nNAME", 10), "%s", r);
  close(fd);
}
END_TEST

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(key_files_never_block) {
  char fifo[160], big[160], line[400], err[RNULL_ERR_LEN];
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  char *data;
  size_t len;
  double t0 = seconds();
  ck_assert_int_lt(rnull_key_file_read(fifo, &data, &len, err, sizeof err), 0);
  ck_assert_ptr_nonnull(strstr(err, "a FIFO, not a regular file"));
  ck_assert_int_lt(rnull_key_file_read("/dev/zero", &data, &len, err, sizeof err), 0);
  ck_assert_ptr_nonnull(strstr(err, "a character device"));
  snprintf(big, sizeof big, "%s/big", dir);
  int fd = open(big, O_CREAT | O_WRONLY, 0600);
  ck_assert_int_eq(ftruncate(fd, RNULL_KEY_FILE_MAX + 1), 0);
  close(fd);
  ck_assert_int_eq(rnull_key_file_read(big, &data, &len, err, sizeof err), -EFBIG);
  ck_assert_str_eq(exec("create d power=0"), "ok\n");
  snprintf(line, sizeof line, "set d read_latency=hist:%s", fifo);
  ck_assert_ptr_nonnull(strstr(exec(line), "read_latency=hist:"));
  ck_assert_ptr_nonnull(strstr(exec(line), "a FIFO"));
  ck_assert_msg(seconds() - t0 < 2, "took %.1f s", seconds() - t0);
}
END_TEST

START_TEST(words_checked_on_their_own) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  const char *bad[] = {"create", "v size=8192", "power=0"};
  ck_assert_int_eq(rnull_ctl_execv(ctl, 3, bad, m), -EINVAL);
  const char *cr[] = {"create", "w", "blocksize=512\rsubmit_queues=8"};
  ck_assert_int_eq(rnull_ctl_execv(ctl, 3, cr, m), -EINVAL);
  const char *good[] = {"create", "w", "blocksize=512", "power=0"};
  ck_assert_int_eq(rnull_ctl_execv(ctl, 4, good, m), 0);
  fclose(m);
  ck_assert_msg(strstr(buf, "word 2: blank 0x20 at offset 1") &&
                    strstr(buf, "word 3: control character 0x0d at offset 13"),
                "%s", buf);
  free(buf);
  ck_assert_ptr_nonnull(strstr(exec("get v power"), "unknown disk"));
  ck_assert_str_eq(exec("get w submit_queues"), "submit_queues=1\nok\n");
}
END_TEST

START_TEST(name_and_path_keys_are_one_line_of_text) {
  struct rnull_config cfg;
  rnull_config_init(&cfg);
  char err[RNULL_ERR_LEN];
  const char *bad_names[] = {"a\nb", "a b", "a=b", "a\tb", "a\x7f"};
  for (unsigned i = 0; i < 5; i++)
    ck_assert_int_eq(rnull_config_set(&cfg, "name", bad_names[i], err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_config_set(&cfg, "stats_file", "/tmp/a\nb", err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_config_set(&cfg, "stats_file", "/tmp/a b=c", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "name", "d-1.x_y", err, sizeof err), 0);
}
END_TEST

START_TEST(stop_with_idle_clients_is_prompt) {
  int fd[3];
  for (int i = 0; i < 3; i++)
    fd[i] = dial();
  double t0 = seconds();
  rnull_ctl_free(ctl);
  ck_assert_msg(seconds() - t0 < 1, "took %.1f s", seconds() - t0);
  for (int i = 0; i < 3; i++) {
    ck_assert(at_eof(fd[i]));
    close(fd[i]);
  }
  struct rnull_ctl_hooks h = {.end_io = record_end_io};
  ck_assert_int_eq(rnull_ctl_new(&ctl, &h), 0); /* for teardown */
}
END_TEST

int main(void) {
  Suite *s = suite_create("ctl_socket");
  TCase *tc = new_tcase("ctl_socket");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, cap_refuses_with_one_line);
  tcase_add_test(tc, idle_client_closed);
  tcase_add_test(tc, line_length_bounded);
  tcase_add_test(tc, nul_and_control_characters_refused);
  tcase_add_test(tc, pipelined_commands_in_order);
  tcase_add_test(tc, key_files_never_block);
  tcase_add_test(tc, words_checked_on_their_own);
  tcase_add_test(tc, name_and_path_keys_are_one_line_of_text);
  tcase_add_test(tc, stop_with_idle_clients_is_prompt);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
