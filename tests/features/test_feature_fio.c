/* fio with data verification through its nbd engine (libnbd) against
 * memory_backed=1: random writes with crc32c headers, then verified reads.
 * The same job against the null store (writes dropped) must fail its
 * verification: proof that the check can fail. argv[1]: the fio binary. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "feature_server.h"

#define FIO_TIMEOUT_S 90 /* hang guard */

/* Run the verify job on h's socket; the wait status. out gets fio's output. */
static int run_fio(const char *fio, struct harness *h, const char *rw, const char *out) {
  char uri[400], rwopt[64];
  const char *argv[] = {fio,
                        "--name=verify",
                        "--ioengine=nbd",
                        uri,
                        rwopt,
                        "--bsrange=4k-64k",
                        "--size=8m",
                        "--iodepth=16",
                        "--verify=crc32c",
                        "--do_verify=1",
                        "--verify_fatal=1",
                        "--verify_state_save=0", /* no state file left in the cwd */
                        "--randrepeat=1",
                        "--output-format=terse",
                        NULL};

  snprintf(uri, sizeof uri, "--uri=nbd+unix:///?socket=%s", h->sock);
  snprintf(rwopt, sizeof rwopt, "--rw=%s", rw);
  return harness_run((char *const *)argv, out, FIO_TIMEOUT_S);
}

static void check(const char *fio, bool memory, const char *rw) {
  const char *args_mem[] = {"memory_backed=1", "size=64M", "--threads=16", NULL};
  /* verify_fatal makes fio hang up with replies queued: nbdkit 1.32 may
   * abort on that unless it runs one thread. */
  const char *args_null[] = {"size=64M", "--threads=1", NULL};
  struct harness h;
  char out[400];

  if (harness_init(&h) < 0)
    return;
  snprintf(out, sizeof out, "%s/fio.txt", h.dir);
  if (!EXPECT(feature_serve(&h, memory ? args_mem : args_null, NULL) == 0)) {
    harness_cleanup(&h);
    return;
  }
  int st = run_fio(fio, &h, rw, out);
  char *text = harness_read_file(out);
  if (memory)
    EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0,
               "fio %s with crc32c verify passes on memory_backed=1 (status 0x%x):\n%s", rw, st,
               text);
  else
    EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) != 0 && strstr(text, "bad magic header"),
               "fio %s verify fails on the null store (status 0x%x):\n%s", rw, st, text);
  free(text);
  EXPECT_MSG(harness_stop(&h) == 0, "%s exits cleanly (status 0x%x)", feature_frontend(), h.status);
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FIO\n", argv[0]);
    return 2;
  }
  check(argv[1], true, "randwrite");
  check(argv[1], true, "write");
  check(argv[1], false, "randwrite");
  fprintf(stderr, "(served by %s)\n", feature_frontend());
  return expect_result("feature fio verify");
}
