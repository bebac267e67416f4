/* Issue 8 through nbdkit: BLOCK_STATUS extents are whole blocks even for an
 * unaligned request, and a FIFO at <stats_file>.tmp blocks neither serving
 * nor nbdkit's exit. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"
#include "harness.h"
#include "plugin_server.h"

/* nbdkit stopped after unloading the plugin. In sanitizer builds nbdkit
 * itself can hang in exit() (libp11-kit's destructor, see README's known
 * issues): there the statistics printed at unload are the proof. */
static bool unloaded_and_exited(struct harness *h, const char *what) {
#ifdef RNULL_SANITIZED
  h->stop_timeout_ms = 5000;
  harness_stop(h);
  char *log = harness_read_file(h->log);
  bool ok = EXPECT_MSG(log && strstr(log, "statistics"), "%s: the plugin was unloaded", what);
  free(log);
  return ok;
#else
  return plugin_stop_clean(h, what);
#endif
}

struct extents_seen {
  unsigned entries, unaligned;
  uint64_t covered;
};

static void on_extent(void *user, uint32_t len, uint32_t flags) {
  struct extents_seen *s = user;

  (void)flags;
  s->entries++;
  s->covered += len;
  if (len % 4096)
    s->unaligned++;
}

/* proto.md: extent lengths MUST be multiples of the minimum block size. */
static void test_block_status_whole_blocks(void) {
  struct harness h;
  struct nbd_handle *nbd;
  static char block[4096];

  if (harness_init(&h) < 0)
    return;
  if (EXPECT(plugin_start(&h, "size=1M", "memory_backed=1", (const char *)NULL) == 0)) {
    nbd = nbd_create();
    if (nbd && EXPECT_NBD_OK(nbd_add_meta_context(nbd, LIBNBD_CONTEXT_BASE_ALLOCATION)) &&
        EXPECT_NBD_OK(nbd_set_strict_mode(nbd, 0)) && harness_connect_handle(&h, nbd) == 0) {
      memset(block, 0xab, sizeof block);
      EXPECT_NBD_OK(nbd_pwrite(nbd, block, sizeof block, 8192, 0));
      /* Lengths ending inside a hole, inside data, and REQ_ONE. */
      const struct {
        uint64_t off;
        uint32_t len, flags;
      } q[] = {{0, 4096 + 100, 0},
               {0, 8192 + 1, 0},
               {4096, 3 * 4096 - 1, 0},
               {0, 12288 + 7, 0},
               {0, 4096 + 100, LIBNBD_CMD_FLAG_REQ_ONE},
               {8192, 4096 + 1, LIBNBD_CMD_FLAG_REQ_ONE}};
      for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
        struct extents_seen s = {0};
        struct harness_extent_walk w = {on_extent, &s};
        nbd_extent_callback cb = harness_extent_callback(&w);

        if (EXPECT_NBD_OK(nbd_block_status(nbd, q[i].len, q[i].off, cb, q[i].flags))) {
          EXPECT(s.entries >= 1);
          EXPECT_MSG(s.unaligned == 0,
                     "request %zu (%u bytes at %llu): %u extent(s) not whole "
                     "blocks",
                     i, q[i].len, (unsigned long long)q[i].off, s.unaligned);
        }
      }
      /* REQ_ONE below one block has no whole-block answer: an error. */
      struct extents_seen s = {0};
      struct harness_extent_walk w = {on_extent, &s};
      nbd_extent_callback cb = harness_extent_callback(&w);
      EXPECT_NBD_ERRNO(nbd_block_status(nbd, 100, 0, cb, LIBNBD_CMD_FLAG_REQ_ONE), EINVAL);
    }
    if (nbd)
      nbd_close(nbd);
    EXPECT(unloaded_and_exited(&h, "block status"));
  }
  harness_cleanup(&h);
}

static void test_stats_fifo(void) {
  struct harness h;
  struct nbd_handle *nbd;
  char stats[400], kv[420], tmp[420];
  static char buf[4096];

  if (harness_init(&h) < 0)
    return;
  snprintf(stats, sizeof stats, "%s/stats.json", h.dir);
  snprintf(kv, sizeof kv, "stats_file=%s", stats);
  snprintf(tmp, sizeof tmp, "%s.tmp", stats);
  EXPECT(mkfifo(tmp, 0600) == 0);
  if (EXPECT(plugin_start(&h, "size=1M", kv, (const char *)NULL) == 0)) {
    nbd = harness_connect(&h);
    if (EXPECT(nbd != NULL))
      EXPECT_NBD_OK(nbd_pread(nbd, buf, sizeof buf, 0, 0));
    if (nbd) {
      nbd_shutdown(nbd, 0);
      nbd_close(nbd);
    }
    struct stat st;
    EXPECT_MSG(lstat(tmp, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO is left alone");
    EXPECT(unloaded_and_exited(&h, "nbdkit exits with a FIFO at the stats temp path"));
  }
  harness_cleanup(&h);
}

/* nbdkit waits for every request in progress before it unloads the plugin:
 * at mbps=1, four 32 MiB reads are two minutes. SIGTERM must not wait more
 * than the plugin's shutdown bound (10 s). */
static void test_unload_bounded(void) {
  struct harness h;
  struct nbd_handle *nbd;
  static char bufs[4][32 << 20];

  if (harness_init(&h) < 0)
    return;
  if (EXPECT(plugin_start(&h, "mbps=1", "size=1G", (const char *)NULL) == 0)) {
    nbd = harness_connect(&h);
    for (int i = 0; nbd && i < 4; i++)
      EXPECT(nbd_aio_pread(nbd, bufs[i], sizeof bufs[i], 0, NBD_NULL_COMPLETION, 0) >= 0);
    if (nbd)
      nbd_poll(nbd, 300); /* send them */
    long long t0 = harness_now_ms();
    EXPECT(harness_signal(&h, SIGTERM) == 0);
    /* the replies come (errors) within the bound; then the client leaves,
     * as nbdkit waits for its clients to hang up */
    while (nbd && nbd_aio_in_flight(nbd) > 0 && harness_now_ms() - t0 < 60000)
      if (nbd_poll(nbd, 100) < 0)
        break;
    EXPECT_MSG(nbd && nbd_aio_in_flight(nbd) == 0, "the reads are answered %lld ms after SIGTERM",
               harness_now_ms() - t0);
    if (nbd) {
      nbd_close(nbd);
      nbd = NULL;
    }
#ifdef RNULL_SANITIZED
    long long took = harness_now_ms() - t0;
    EXPECT_MSG(took < 30000, "requests end %lld ms after SIGTERM", took);
    EXPECT(unloaded_and_exited(&h, "mbps=1 backlog"));
#else
    while (!harness_exited(&h) && harness_now_ms() - t0 < 60000)
      usleep(100000);
    long long took = harness_now_ms() - t0;
    EXPECT_MSG(harness_exited(&h) && took < 30000, "nbdkit exits %lld ms after SIGTERM", took);
    EXPECT_MSG(WIFEXITED(h.status) && WEXITSTATUS(h.status) == 0, "exit status 0 (%#x)", h.status);
#endif
    if (nbd)
      nbd_close(nbd);
  }
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
}

int main(void) {
  test_unload_bounded();
  test_block_status_whole_blocks();
  test_stats_fifo();
  return expect_result("plugin_hostile");
}
