/* Issue 8 through nbdkit: BLOCK_STATUS extents are whole blocks even for an
 * unaligned request, and a FIFO at <stats_file>.tmp blocks neither serving
 * nor nbdkit's exit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expect.h"
#include "harness.h"
#include "plugin_server.h"

struct extents_seen {
  unsigned entries, unaligned;
  uint64_t covered;
};

static int on_extent(void *user_data, const char *metacontext, uint64_t offset, uint32_t *entries,
                     size_t nr_entries, int *error) {
  struct extents_seen *s = user_data;

  (void)offset;
  (void)error;
  if (strcmp(metacontext, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0)
    return 0;
  for (size_t i = 0; i + 1 < nr_entries; i += 2) {
    s->entries++;
    s->covered += entries[i];
    if (entries[i] % 4096)
      s->unaligned++;
  }
  return 0;
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
        nbd_extent_callback cb = {.callback = on_extent, .user_data = &s};

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
      nbd_extent_callback cb = {.callback = on_extent, .user_data = &s};
      EXPECT_NBD_ERRNO(nbd_block_status(nbd, 100, 0, cb, LIBNBD_CMD_FLAG_REQ_ONE), EINVAL);
    }
    if (nbd)
      nbd_close(nbd);
    EXPECT(plugin_stop_clean(&h, "block status"));
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
    EXPECT(plugin_stop_clean(&h, "nbdkit exits with a FIFO at the stats temp path"));
  }
  harness_cleanup(&h);
}

int main(void) {
  test_block_status_whole_blocks();
  test_stats_fifo();
  return expect_result("plugin_hostile");
}
