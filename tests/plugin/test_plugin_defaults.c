/* The default disk through nbdkit: `nbdkit rnull.so` with no keys serves
 * rnull v4's disk (4 GiB, 4096-byte blocks, non-rotational), advertises
 * every flag the engine can do, reads zeros everywhere, accepts writes,
 * trims, zeroes, flushes and cache requests, and reports one big hole. */
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "plugin_server.h"

#define GiB (1024ull * 1024 * 1024)
#include "geometry.h"

static void check_size_and_limits(struct nbd_handle *nbd) {
  EXPECT_EQ_U64(nbd_get_size(nbd), 4 * GiB);
  EXPECT_EQ_INT(nbd_get_block_size(nbd, LIBNBD_SIZE_MINIMUM), BLOCK);
  EXPECT_EQ_INT(nbd_get_block_size(nbd, LIBNBD_SIZE_PREFERRED), BLOCK);
  EXPECT_EQ_INT(nbd_get_block_size(nbd, LIBNBD_SIZE_MAXIMUM), 32u << 20);
}

static void check_flags(struct nbd_handle *nbd) {
  EXPECT_EQ_INT(nbd_can_flush(nbd), 1);
  EXPECT_EQ_INT(nbd_can_fua(nbd), 1);
  EXPECT_EQ_INT(nbd_can_trim(nbd), 1);
  EXPECT_EQ_INT(nbd_can_zero(nbd), 1);
  EXPECT_EQ_INT(nbd_can_fast_zero(nbd), 1);
  EXPECT_EQ_INT(nbd_can_cache(nbd), 1);
  EXPECT_EQ_INT(nbd_can_multi_conn(nbd), 1);
  EXPECT_EQ_INT(nbd_can_meta_context(nbd, LIBNBD_CONTEXT_BASE_ALLOCATION), 1);
  EXPECT_EQ_INT(nbd_is_rotational(nbd), 0);
  EXPECT_EQ_INT(nbd_is_read_only(nbd), 0);
  EXPECT_EQ_INT(nbd_can_df(nbd), 1); /* structured replies */
}

/* Zeros come back even into a buffer full of garbage. */
static void check_reads_zero(struct nbd_handle *nbd) {
  static const uint64_t offsets[] = {0,
                                     BLOCK,
                                     8 * BLOCK,
                                     1u << 20,
                                     GiB - BLOCK,
                                     GiB,
                                     2 * GiB + 3 * BLOCK,
                                     3 * GiB,
                                     4 * GiB - 2 * BLOCK,
                                     4 * GiB - BLOCK};
  static char buf[64 * BLOCK], zero[64 * BLOCK];

  for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
    memset(buf, 0xa5, BLOCK);
    if (EXPECT_NBD_OK(nbd_pread(nbd, buf, BLOCK, offsets[i], 0)))
      EXPECT_MSG(memcmp(buf, zero, BLOCK) == 0, "zeros at offset %" PRIu64, offsets[i]);
  }
  /* A large read, and one ending exactly at the end of the disk. */
  memset(buf, 0x5a, sizeof buf);
  if (EXPECT_NBD_OK(nbd_pread(nbd, buf, sizeof buf, 4 * GiB - sizeof buf, 0)))
    EXPECT(memcmp(buf, zero, sizeof buf) == 0);
}

/* The null store drops writes: accepted, and reads stay zero. */
static void check_writes_dropped(struct nbd_handle *nbd) {
  static char buf[4 * BLOCK], zero[4 * BLOCK];

  memset(buf, 0x77, sizeof buf);
  EXPECT_NBD_OK(nbd_pwrite(nbd, buf, sizeof buf, 0, 0));
  EXPECT_NBD_OK(nbd_pwrite(nbd, buf, sizeof buf, 4 * GiB - sizeof buf, LIBNBD_CMD_FLAG_FUA));
  EXPECT_NBD_OK(nbd_flush(nbd, 0));
  if (EXPECT_NBD_OK(nbd_pread(nbd, buf, sizeof buf, 0, 0)))
    EXPECT(memcmp(buf, zero, sizeof buf) == 0);
}

static void check_trim_zero_cache(struct nbd_handle *nbd) {
  EXPECT_NBD_OK(nbd_trim(nbd, 1u << 20, 0, 0));
  EXPECT_NBD_OK(nbd_trim(nbd, BLOCK, 4 * GiB - BLOCK, LIBNBD_CMD_FLAG_FUA));
  EXPECT_NBD_OK(nbd_zero(nbd, 1u << 20, BLOCK, 0));
  EXPECT_NBD_OK(nbd_zero(nbd, BLOCK, 0, LIBNBD_CMD_FLAG_NO_HOLE));
  EXPECT_NBD_OK(nbd_zero(nbd, BLOCK, 0, LIBNBD_CMD_FLAG_FAST_ZERO));
  EXPECT_NBD_OK(nbd_zero(nbd, 2 * BLOCK, 4 * GiB - 2 * BLOCK, LIBNBD_CMD_FLAG_FUA));
  EXPECT_NBD_OK(nbd_cache(nbd, 1u << 20, 0, 0));
}

struct extents_seen {
  uint64_t covered;
  unsigned entries;
  bool all_hole_zero;
};

static void on_extent(void *user, uint32_t len, uint32_t flags) {
  struct extents_seen *s = user;

  s->covered += len;
  s->entries++;
  if (flags != (LIBNBD_STATE_HOLE | LIBNBD_STATE_ZERO))
    s->all_hole_zero = false;
}

/* The null disk is one hole that reads as zeros, and REQ_ONE is honoured. */
static void check_extents(struct nbd_handle *nbd) {
  struct extents_seen s = {.all_hole_zero = true};
  struct harness_extent_walk w = {on_extent, &s};
  nbd_extent_callback cb = harness_extent_callback(&w);

  if (EXPECT_NBD_OK(nbd_block_status(nbd, 1u << 20, 1u << 20, cb, 0))) {
    EXPECT(s.entries >= 1);
    EXPECT(s.covered >= 1u << 20);
    EXPECT(s.all_hole_zero);
  }
  s = (struct extents_seen){.all_hole_zero = true};
  if (EXPECT_NBD_OK(nbd_block_status(nbd, 1u << 20, 0, cb, LIBNBD_CMD_FLAG_REQ_ONE))) {
    EXPECT_EQ_INT(s.entries, 1);
    EXPECT(s.all_hole_zero);
  }
}

int main(void) {
  struct harness h;
  struct nbd_handle *nbd;

  if (harness_init(&h) < 0 || plugin_start(&h, (const char *)NULL) < 0)
    return 1;
  nbd = nbd_create();
  if (nbd && EXPECT_NBD_OK(nbd_add_meta_context(nbd, LIBNBD_CONTEXT_BASE_ALLOCATION)) &&
      harness_connect_handle(&h, nbd) == 0) {
    check_size_and_limits(nbd);
    check_flags(nbd);
    check_reads_zero(nbd);
    check_writes_dropped(nbd);
    check_trim_zero_cache(nbd);
    check_extents(nbd);
    EXPECT_NBD_OK(nbd_shutdown(nbd, 0));
  } else {
    EXPECT_MSG(false, "connect with base:allocation");
  }
  nbd_close(nbd);
  plugin_stop_clean(&h, "defaults");
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
  return expect_result("plugin defaults");
}
