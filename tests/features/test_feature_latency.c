/* Realistic devices through a front end, measured by fio (nbd engine):
 *  - read_latency=lognormal:200us,2ms at QD1: fio's p50 and p99 completion
 *    latencies land near the configured 200 us and 2 ms;
 *  - channels=4 latency=fixed:1ms at QD16: about 4000 IOPS (4 channels of
 *    1 ms each), not the 16000 sixteen unlimited channels would give.
 * Sanity bounds only, generous both ways (a shared CI machine, sanitizers):
 * they catch a unit error, a missing channel limit or latencies ignored,
 * never a few percent. argv[1]: the fio binary. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "feature_server.h"

#define FIO_TIMEOUT_S 90 /* hang guard */

/* fio's JSON: the number after the first "key" : from `from` on, or -1
 * (also when from is NULL). */
static double fio_number_after(const char *from, const char *key) {
  char pat[64];
  if (!from)
    return -1;
  snprintf(pat, sizeof pat, "\"%s\" : ", key);
  const char *p = strstr(from, pat);
  return p ? strtod(p + strlen(pat), NULL) : -1;
}

/* The number after "key" : in the "read" object, or -1. */
static double fio_read_value(const char *json, const char *key) {
  return fio_number_after(strstr(json, "\"read\" : {"), key);
}

/* A completion-latency percentile of the reads, ns: "clat_ns" ...
 * "percentile" : { "50.000000" : N. */
static double fio_clat_pct(const char *json, const char *pct) {
  const char *r = strstr(json, "\"read\" : {");
  return fio_number_after(r ? strstr(r, "\"clat_ns\" : {") : NULL, pct);
}

/* Serve args, run fio's 4k random reads at depth qd (extra: its stop rule),
 * return its JSON (malloc'd) or NULL. */
static char *run(const char *fio, const char *const *args, const char *qd, const char *extra) {
  struct harness h;
  char uri[400], out[400], depth[32];
  if (harness_init(&h) < 0)
    return NULL;
  if (!EXPECT(feature_serve(&h, args, NULL) == 0)) {
    harness_cleanup(&h);
    return NULL;
  }
  snprintf(uri, sizeof uri, "--uri=nbd+unix:///?socket=%s", h.sock);
  snprintf(out, sizeof out, "%s/fio.json", h.dir);
  snprintf(depth, sizeof depth, "--iodepth=%s", qd);
  const char *argv[] = {fio,
                        "--name=latency",
                        "--ioengine=nbd",
                        uri,
                        "--rw=randread",
                        "--bs=4k",
                        depth,
                        "--size=64m",
                        extra,
                        "--randrepeat=1",
                        "--output-format=json",
                        NULL};
  int st = harness_run((char *const *)argv, out, FIO_TIMEOUT_S);
  char *text = harness_read_file(out);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fio runs (status 0x%x):\n%s", st, text);
  EXPECT_MSG(harness_stop(&h) == 0, "%s exits cleanly (status 0x%x)", feature_frontend(), h.status);
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
  return text;
}

static void lognormal_qd1(const char *fio) {
  const char *args[] = {"read_latency=lognormal:200us,2ms", "seed=11", "size=64M", NULL};
  char *json = run(fio, args, "1", "--number_ios=3000");
  if (!json)
    return;
  double p50 = fio_clat_pct(json, "50.000000"), p99 = fio_clat_pct(json, "99.000000");
  fprintf(stderr, "lognormal:200us,2ms at QD1 through %s: fio p50 %.0f us, p99 %.0f us\n",
          feature_frontend(), p50 / 1000, p99 / 1000);
  /* the lower bounds catch latencies ignored, the upper ones a unit error;
   * between them a sanitizer build on a loaded machine fits (ASan: p99 7 ms) */
  EXPECT_MSG(p50 >= 150e3 && p50 <= 1e6, "p50 %.0f ns within [150 us, 1 ms]", p50);
  EXPECT_MSG(p99 >= 1.4e6 && p99 <= 20e6, "p99 %.0f ns within [1.4 ms, 20 ms]", p99);
  free(json);
}

static void channels_qd16(const char *fio) {
  const char *args[] = {"channels=4", "latency=fixed:1ms", "size=64M", "--threads=32", NULL};
  char *json = run(fio, args, "16", "--runtime=2");
  if (!json)
    return;
  double iops = fio_read_value(json, "iops"), p50 = fio_clat_pct(json, "50.000000");
  fprintf(stderr, "channels=4 latency=fixed:1ms at QD16 through %s: %.0f IOPS, p50 %.0f us\n",
          feature_frontend(), iops, p50 / 1000);
  /* not 16000 (channels ignored), not 1000 (one channel) */
  EXPECT_MSG(iops >= 1500 && iops <= 4400, "%.0f IOPS within [1500, 4400] (4 x 1 ms channels)",
             iops);
  /* 16 in flight, 4 served at a time: each waits about 4 ms */
  EXPECT_MSG(p50 >= 3e6 && p50 <= 20e6, "p50 %.0f ns within [3 ms, 20 ms]", p50);
  free(json);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FIO\n", argv[0]);
    return 2;
  }
  lognormal_qd1(argv[1]);
  channels_qd16(argv[1]);
  fprintf(stderr, "(served by %s)\n", feature_frontend());
  return expect_result("feature latency");
}
