/* Statistics through nbdkit: SIGUSR1 prints the per-queue table on nbdkit's
 * stderr; stats_file=PATH is rewritten while serving with JSON whose counts
 * match the traffic sent (per hw queue with submit_queues=4 and one
 * connection per queue, and in total); unload prints the table again. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expect.h"
#include "plugin_server.h"
#include "stats_json.h"

#define QUEUES 4
#define WAIT_MS 15000 /* hang guard for the file / the signal's output */

/* Conn i (on queue i) sends i+1 reads of 4 KiB and 2*i writes of 8 KiB. */
static void send_traffic(struct nbd_handle **nbd) {
  static char buf[8192];

  for (int i = 0; i < QUEUES; i++) {
    for (int r = 0; r <= i; r++)
      EXPECT_NBD_OK(nbd_pread(nbd[i], buf, 4096, (uint64_t)r * 4096, 0));
    for (int w = 0; w < 2 * i; w++)
      EXPECT_NBD_OK(nbd_pwrite(nbd[i], buf, 8192, (uint64_t)w * 8192, 0));
  }
}

static void check_stats_file(const char *path) {
  long long deadline = harness_now_ms() + WAIT_MS;
  struct stats_counts total = {0}, q[QUEUES + 1];
  int nq = -1;

  /* Rewritten every second: wait for a snapshot taken after the traffic. */
  while (harness_now_ms() < deadline) {
    char *text = harness_read_file(path);

    nq = stats_json_parse(text, &total, q, QUEUES + 1);
    free(text);
    if (nq == QUEUES && total.submitted == 10 + 12)
      break;
    harness_sleep_ms(100);
  }
  if (!EXPECT_EQ_INT(nq, QUEUES))
    return;
  EXPECT_EQ_INT(total.submitted, 22); /* 1+2+3+4 reads, 0+2+4+6 writes */
  EXPECT_EQ_INT(total.completed, 22);
  EXPECT_EQ_INT(total.errors, 0);
  EXPECT_EQ_INT(total.bytes_read, 10 * 4096);
  EXPECT_EQ_INT(total.bytes_written, 12 * 8192);
  for (int i = 0; i < QUEUES; i++) {
    EXPECT_MSG(q[i].submitted == 3 * i + 1, "queue %d submitted %lld", i, q[i].submitted);
    EXPECT_MSG(q[i].bytes_read == (i + 1) * 4096, "queue %d bytes_read %lld", i, q[i].bytes_read);
    EXPECT_MSG(q[i].bytes_written == 2 * i * 8192, "queue %d bytes_written %lld", i,
               q[i].bytes_written);
  }
}

static int count_tables(const char *log_path) {
  char *text = harness_read_file(log_path);
  int n = 0;

  for (const char *p = text; (p = strstr(p, "statistics (")) != NULL; p++)
    n++;
  free(text);
  return n;
}

static void check_sigusr1(struct harness *h) {
  long long deadline = harness_now_ms() + WAIT_MS;

  EXPECT_EQ_INT(count_tables(h->log), 0);
  EXPECT(harness_signal(h, SIGUSR1) == 0);
  while (count_tables(h->log) < 1 && harness_now_ms() < deadline)
    harness_sleep_ms(20);
  EXPECT_MSG(count_tables(h->log) == 1, "SIGUSR1 printed one table");
  if (EXPECT(harness_signal(h, SIGUSR1) == 0)) {
    while (count_tables(h->log) < 2 && harness_now_ms() < deadline)
      harness_sleep_ms(20);
    EXPECT_MSG(count_tables(h->log) == 2, "a second SIGUSR1 printed a second table");
  }
  EXPECT_MSG(!harness_exited(h), "nbdkit survives SIGUSR1");
}

int main(void) {
  struct harness h;
  struct nbd_handle *nbd[QUEUES] = {0};
  char stats_path[300], stats_arg[320];
  char *log;
  bool ok = true;

  if (harness_init(&h) < 0)
    return 1;
  snprintf(stats_path, sizeof stats_path, "%s/stats.json", h.dir);
  snprintf(stats_arg, sizeof stats_arg, "stats_file=%s", stats_path);
  if (plugin_start(&h, "size=64M", "submit_queues=4", stats_arg, (const char *)NULL) < 0)
    return 1;
  for (int i = 0; i < QUEUES; i++)
    ok &= (nbd[i] = harness_connect(&h)) != NULL;
  if (EXPECT(ok)) {
    send_traffic(nbd);
    check_stats_file(stats_path);
    check_sigusr1(&h);
  }
  for (int i = 0; i < QUEUES; i++)
    if (nbd[i]) {
      nbd_shutdown(nbd[i], 0);
      nbd_close(nbd[i]);
    }
  plugin_stop_clean(&h, "stats");
  log = harness_read_file(h.log);
  EXPECT_MSG(count_tables(h.log) == 3, "unload printed the table too:\n%s", log);
  EXPECT(strstr(log, "total") != NULL);
  free(log);
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
  return expect_result("plugin statistics");
}
