/* nbdkit with rnull.so under valgrind (memcheck): a short libnbd session in
 * direct mode and in timer mode with two hw queues and a stats file (so the
 * submit-and-wait loop and the reporter thread run) must produce no memory
 * errors and no definite leaks; valgrind's exit code says so. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "expect.h"
#include "plugin_server.h"

#define VALGRIND_ERROR_EXIT 99

static const char *const valgrind_argv[] = {VALGRIND_PROGRAM,
                                            "-q",
                                            "--error-exitcode=99",
                                            "--leak-check=full",
                                            "--errors-for-leak-kinds=definite",
                                            "--show-leak-kinds=definite",
                                            NULL};

static void session(struct nbd_handle *nbd) {
  static char buf[65536];

  for (int i = 0; i < 8; i++)
    EXPECT_NBD_OK(nbd_pread(nbd, buf, sizeof buf, (uint64_t)i * (1u << 20), 0));
  EXPECT(buf[0] == 0 && buf[sizeof buf - 1] == 0);
  EXPECT_NBD_OK(nbd_pwrite(nbd, buf, 8192, 4096, LIBNBD_CMD_FLAG_FUA));
  EXPECT_NBD_OK(nbd_trim(nbd, 1u << 20, 0, 0));
  EXPECT_NBD_OK(nbd_zero(nbd, 1u << 20, 0, LIBNBD_CMD_FLAG_FAST_ZERO));
  EXPECT_NBD_OK(nbd_flush(nbd, 0));
  EXPECT_NBD_OK(nbd_cache(nbd, 4096, 0, 0));
}

/* Keys may name a file in the test's temp dir as @DIR@/file. */
static void run(const char *what, const char *const *keys) {
  struct harness h;
  struct nbd_handle *a, *b;
  char expanded[8][320];
  const char *args[9];
  int st, n = 0;

  printf("-- %s\n", what);
  if (harness_init(&h) < 0)
    return (void)EXPECT_MSG(false, "temp dir");
  for (; keys[n] && n < 8; n++) {
    const char *at = strstr(keys[n], "@DIR@");

    if (at)
      snprintf(expanded[n], sizeof expanded[n], "%.*s%s%s", (int)(at - keys[n]), keys[n], h.dir,
               at + 5);
    else
      snprintf(expanded[n], sizeof expanded[n], "%s", keys[n]);
    args[n] = expanded[n];
  }
  args[n] = NULL;
  if (plugin_startv(&h, args) < 0) {
    EXPECT_MSG(false, "%s: start nbdkit under valgrind", what);
    harness_cleanup(&h);
    return;
  }
  a = harness_connect(&h);
  b = harness_connect(&h);
  if (EXPECT(a != NULL && b != NULL)) {
    session(a);
    session(b);
  }
  if (a)
    nbd_shutdown(a, 0);
  if (b)
    nbd_shutdown(b, 0);
  nbd_close(a);
  nbd_close(b);
  st = harness_stop(&h);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) != VALGRIND_ERROR_EXIT,
             "%s: valgrind found no errors (status 0x%x)", what, st);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: clean exit (status 0x%x)", what, st);
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
}

int main(void) {
  static const char *const direct[] = {"size=64M", NULL};
  static const char *const timer[] = {"size=64M",
                                      "irqmode=timer",
                                      "completion_nsec=50000",
                                      "submit_queues=2",
                                      "stats_file=@DIR@/stats.json",
                                      NULL};

  plugin_set_wrapper(valgrind_argv);
  run("direct", direct);
  run("timer, 2 queues, stats_file", timer);
  return expect_result("plugin under valgrind");
}
