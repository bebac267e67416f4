/* Fault injection seen by an NBD client (libnbd, one connection, requests
 * sent one at a time so the server sees them in order):
 *  - error=1,100,0,5: exactly the first 5 requests fail with EIO;
 *  - error=1,30,0,-1 with fault_seed: two servers give the same pattern;
 *  - timeout=1,100,0,1 with timeout_ms=200: the request ends with EIO (no
 *    hang; generous upper bound only), the next one succeeds;
 *  - requeue: every request is requeued once and still succeeds;
 * and the stats_file counts errors, timeouts and requeues. argv[1] is the
 * irqmode=... every server runs with (each completion mode ends faults the
 * same way). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "feature_server.h"

#define STATS_WAIT_MS 10000 /* hang guard: the file is rewritten every second */

/* The completion mode every server of this run uses (argv[1]). */
static const char *irqmode = "irqmode=none";

/* Start with args plus stats_file=<dir>/stats.json; path receives it. */
static struct nbd_handle *open_with_stats(struct harness *h, const char *const *args, char *path,
                                          size_t pathlen) {
  static char kv[400];
  const char *all[PLUGIN_MAX_ARGS];
  int n = 0;

  if (harness_init(h) < 0)
    return NULL;
  snprintf(path, pathlen, "%s/stats.json", h->dir);
  snprintf(kv, sizeof kv, "stats_file=%s", path);
  for (; args[n] && n < PLUGIN_MAX_ARGS - 2; n++)
    all[n] = args[n];
  all[n++] = kv;
  all[n] = NULL;
  return feature_start(h, all);
}

/* 0 on success, else the errno the client got. */
static int read_errno(struct nbd_handle *nbd, uint64_t off) {
  static char buf[4096];

  if (nbd_pread(nbd, buf, sizeof buf, off, 0) == 0)
    return 0;
  return nbd_get_errno();
}

static void check_error_exact(void) {
  const char *args[] = {"error=1,100,0,5", "size=16M", irqmode, NULL};
  char stats[300];
  struct harness h;
  struct nbd_handle *nbd = open_with_stats(&h, args, stats, sizeof stats);
  int fails = 0;

  if (!nbd)
    return;
  for (int i = 0; i < 20; i++) {
    int e = read_errno(nbd, (uint64_t)i * 4096);
    EXPECT_MSG(e == (i < 5 ? EIO : 0), "read %d: errno %d", i, e);
    fails += e != 0;
  }
  FEXPECT_EQ(fails, 5);
  FEXPECT_EQ(feature_wait_stats(stats, "submitted", 20, STATS_WAIT_MS), 20);
  FEXPECT_EQ(feature_wait_stats(stats, "errors", 5, STATS_WAIT_MS), 5);
  FEXPECT_EQ(feature_stats_total(stats, "bytes_read"), 15 * 4096);
  FEXPECT_EQ(feature_stats_total(stats, "timeouts"), 0);
  feature_close(&h, nbd);
}

/* One server run: 300 reads with error=1,30,0,-1 and a fixed seed. */
static int error_pattern(char *pattern, int n) {
  const char *args[] = {"error=1,30,0,-1", "fault_seed=20261125", "size=16M", irqmode, NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);
  int fails = 0;

  if (!nbd)
    return -1;
  for (int i = 0; i < n; i++) {
    int e = read_errno(nbd, 0);
    EXPECT_MSG(e == 0 || e == EIO, "read %d: errno %d", i, e);
    pattern[i] = e ? 'x' : '.';
    fails += e != 0;
  }
  pattern[n] = '\0';
  feature_close(&h, nbd);
  return fails;
}

static void check_error_seeded(void) {
  static char p1[301], p2[301];
  int n1 = error_pattern(p1, 300);
  int n2 = error_pattern(p2, 300);

  EXPECT_MSG(n1 == n2 && n1 >= 0, "same failure count with the same seed: %d vs %d", n1, n2);
  EXPECT_MSG(strcmp(p1, p2) == 0, "same failure pattern:\n%s\n%s", p1, p2);
  EXPECT_MSG(n1 >= 45 && n1 <= 135, "30%% of 300, generously: %d", n1);
}

static void check_timeout(void) {
  const char *args[] = {"timeout=1,100,0,1", "timeout_ms=200", "size=16M", irqmode, NULL};
  char stats[300];
  struct harness h;
  struct nbd_handle *nbd = open_with_stats(&h, args, stats, sizeof stats);

  if (!nbd)
    return;
  long long t0 = harness_now_ms();
  int e = read_errno(nbd, 0);
  long long took = harness_now_ms() - t0;
  EXPECT_MSG(e == EIO, "the lost request ends with EIO, got errno %d", e);
  EXPECT_MSG(took < 20000, "and does not hang (%lld ms)", took); /* hang guard only */
  /* times=1: the next requests are served */
  FEXPECT_EQ(read_errno(nbd, 4096), 0);
  FEXPECT_EQ(read_errno(nbd, 8192), 0);
  FEXPECT_EQ(feature_wait_stats(stats, "timeouts", 1, STATS_WAIT_MS), 1);
  FEXPECT_EQ(feature_wait_stats(stats, "completed", 3, STATS_WAIT_MS), 3);
  FEXPECT_EQ(feature_stats_total(stats, "errors"), 1);
  feature_close(&h, nbd);
}

static void check_requeue(void) {
  const char *args[] = {"requeue=1,100,0,-1", "memory_backed=1", "size=16M", irqmode, NULL};
  char stats[300];
  struct harness h;
  struct nbd_handle *nbd = open_with_stats(&h, args, stats, sizeof stats);
  static unsigned char in[64 * 1024], out[64 * 1024];

  if (!nbd)
    return;
  for (int i = 0; i < 10; i++) {
    feature_pattern(in, sizeof in, i);
    EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, (uint64_t)i * MiB, 0));
  }
  for (int i = 0; i < 10; i++) {
    feature_pattern(in, sizeof in, i);
    if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, (uint64_t)i * MiB, 0)))
      EXPECT_MSG(memcmp(in, out, sizeof in) == 0, "data %d survives its requeue", i);
  }
  FEXPECT_EQ(feature_wait_stats(stats, "requeues", 20, STATS_WAIT_MS), 20);
  FEXPECT_EQ(feature_stats_total(stats, "errors"), 0);
  FEXPECT_EQ(feature_stats_total(stats, "bytes_written"), 10 * sizeof in);
  FEXPECT_EQ(feature_stats_total(stats, "bytes_read"), 10 * sizeof in);
  feature_close(&h, nbd);
}

/* Bad fault strings stop nbdkit at start-up naming the key and value. */
static void check_bad_fault_string(void) {
  const char *args[] = {"error=1,200,0,1", NULL};
  char *text;
  int st = feature_run(args, &text);

  EXPECT_MSG(st != 0, "%s refuses error=1,200,0,1 (status %d)", feature_frontend(), st);
  EXPECT_MSG(text && strstr(text, "error") && strstr(text, "1,200,0,1") &&
                 strstr(text, "probability"),
             "message names key, value and format:\n%s", text);
  free(text);
}

int main(int argc, char **argv) {
  if (argc > 1)
    irqmode = argv[1];
  check_error_exact();
  check_error_seeded();
  check_timeout();
  check_requeue();
  check_bad_fault_string();
  fprintf(stderr, "(served by %s with %s)\n", feature_frontend(), irqmode);
  return expect_result("feature fault injection");
}
