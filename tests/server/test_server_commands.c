/* Every command through libnbd, with and without structured replies, on a
 * null disk and a memory-backed one: export flags and block sizes, zeros
 * (a single OFFSET_HOLE chunk when structured, also with DF; data from the
 * zero page otherwise), writes, flush, trim, cache, write zeroes (NO_HOLE,
 * FAST_ZERO), FUA, block status (REQ_ONE too), reads of written data
 * (OFFSET_DATA), and the export name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"

#include "geometry.h"

static char buf[32u << 20];

struct chunks {
  unsigned data, hole, other;
  uint64_t bytes;
};

static int chunk_cb(void *ud, const void *sub, size_t count, uint64_t off, unsigned status,
                    int *error) {
  (void)sub;
  (void)off;
  (void)error;
  struct chunks *c = ud;
  if (status == LIBNBD_READ_DATA)
    c->data++;
  else if (status == LIBNBD_READ_HOLE)
    c->hole++;
  else
    c->other++;
  c->bytes += count;
  return 0;
}

struct extents {
  unsigned n;
  uint32_t len[64], flags[64];
};

static int extent_cb(void *ud, const char *ctx, uint64_t off, uint32_t *e, size_t n, int *error) {
  (void)off;
  (void)error;
  struct extents *x = ud;
  if (strcmp(ctx, "base:allocation") != 0)
    return 0;
  for (size_t i = 0; i + 1 < n && x->n < 64; i += 2, x->n++) {
    x->len[x->n] = e[i];
    x->flags[x->n] = e[i + 1];
  }
  return 0;
}

static bool all_bytes(const char *b, size_t n, char v) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != v)
      return false;
  return true;
}

static void read_zeros(struct nbd_handle *nbd, size_t n, uint64_t off) {
  memset(buf, 0x5a, n);
  if (EXPECT_NBD_OK(nbd_pread(nbd, buf, n, off, 0)))
    EXPECT_MSG(all_bytes(buf, n, 0), "zeros: %zu bytes at %llu", n, (unsigned long long)off);
}

static void test_null_disk_structured(struct harness *h) {
  struct nbd_handle *nbd = nbd_create();
  if (!EXPECT(nbd != NULL))
    return;
  nbd_set_full_info(nbd, true);
  nbd_add_meta_context(nbd, "base:allocation");
  if (!EXPECT(harness_connect_handle(h, nbd) == 0)) {
    nbd_close(nbd);
    return;
  }
  EXPECT_EQ_U64(nbd_get_size(nbd), DISK);
  EXPECT_EQ_INT(nbd_get_structured_replies_negotiated(nbd), 1);
  EXPECT_EQ_INT(nbd_can_flush(nbd), 1);
  EXPECT_EQ_INT(nbd_can_fua(nbd), 1);
  EXPECT_EQ_INT(nbd_can_trim(nbd), 1);
  EXPECT_EQ_INT(nbd_can_zero(nbd), 1);
  EXPECT_EQ_INT(nbd_can_fast_zero(nbd), 1);
  EXPECT_EQ_INT(nbd_can_df(nbd), 1);
  EXPECT_EQ_INT(nbd_can_multi_conn(nbd), 1);
  EXPECT_EQ_INT(nbd_can_cache(nbd), 1);
  EXPECT_EQ_INT(nbd_can_meta_context(nbd, "base:allocation"), 1);
  EXPECT_EQ_INT(nbd_is_rotational(nbd), 0);
  EXPECT_EQ_INT(nbd_is_read_only(nbd), 0);
  EXPECT_EQ_INT(nbd_get_block_size(nbd, LIBNBD_SIZE_MINIMUM), 4096);
  EXPECT_EQ_INT(nbd_get_block_size(nbd, LIBNBD_SIZE_PREFERRED), 4096);
  EXPECT_EQ_INT(nbd_get_block_size(nbd, LIBNBD_SIZE_MAXIMUM), 32u << 20);
  char *desc = nbd_get_export_description(nbd);
  EXPECT_MSG(desc && strstr(desc, "rnull"), "description: %s", desc ? desc : "(none)");
  free(desc);

  read_zeros(nbd, BLOCK, 0);
  read_zeros(nbd, BLOCK, DISK - BLOCK);
  read_zeros(nbd, 1u << 20, 12 * BLOCK);
  read_zeros(nbd, 32u << 20, DISK - (32u << 20));

  /* Zero reads come back as one hole chunk, with or without DF. */
  struct chunks c = {0};
  EXPECT_NBD_OK(nbd_pread_structured(
      nbd, buf, 1u << 20, 0, (nbd_chunk_callback){.callback = chunk_cb, .user_data = &c}, 0));
  EXPECT_EQ_INT(c.hole, 1);
  EXPECT_EQ_INT(c.data + c.other, 0);
  EXPECT_EQ_U64(c.bytes, 1u << 20);
  memset(&c, 0, sizeof(c));
  EXPECT_NBD_OK(nbd_pread_structured(nbd, buf, 64 * 1024, BLOCK,
                                     (nbd_chunk_callback){.callback = chunk_cb, .user_data = &c},
                                     LIBNBD_CMD_FLAG_DF));
  EXPECT_EQ_INT(c.hole, 1);
  EXPECT_EQ_INT(c.data + c.other, 0);

  memset(buf, 0x33, 1u << 20);
  EXPECT_NBD_OK(nbd_pwrite(nbd, buf, 1u << 20, 0, 0));
  EXPECT_NBD_OK(nbd_pwrite(nbd, buf, BLOCK, DISK - BLOCK, LIBNBD_CMD_FLAG_FUA));
  read_zeros(nbd, BLOCK, 0); /* a null disk drops writes */
  EXPECT_NBD_OK(nbd_flush(nbd, 0));
  EXPECT_NBD_OK(nbd_trim(nbd, 1u << 20, 0, 0));
  EXPECT_NBD_OK(nbd_trim(nbd, BLOCK, 0, LIBNBD_CMD_FLAG_FUA));
  EXPECT_NBD_OK(nbd_cache(nbd, 1u << 20, 0, 0));
  EXPECT_NBD_OK(nbd_zero(nbd, 1u << 20, 0, 0));
  EXPECT_NBD_OK(nbd_zero(nbd, 1u << 20, 0, LIBNBD_CMD_FLAG_NO_HOLE));
  EXPECT_NBD_OK(nbd_zero(nbd, DISK, 0, LIBNBD_CMD_FLAG_FAST_ZERO)); /* past max_transfer: ok */
  EXPECT_NBD_OK(nbd_zero(nbd, 64 * 1024, 0, LIBNBD_CMD_FLAG_FUA | LIBNBD_CMD_FLAG_NO_HOLE));

  struct extents x = {0};
  EXPECT_NBD_OK(nbd_block_status(nbd, DISK, 0,
                                 (nbd_extent_callback){.callback = extent_cb, .user_data = &x}, 0));
  if (EXPECT_EQ_INT(x.n, 1)) {
    EXPECT_EQ_U64(x.len[0], DISK);
    EXPECT_EQ_INT(x.flags[0], LIBNBD_STATE_HOLE | LIBNBD_STATE_ZERO);
  }
  memset(&x, 0, sizeof(x));
  EXPECT_NBD_OK(nbd_block_status(nbd, 8 * BLOCK, BLOCK,
                                 (nbd_extent_callback){.callback = extent_cb, .user_data = &x},
                                 LIBNBD_CMD_FLAG_REQ_ONE));
  if (EXPECT_EQ_INT(x.n, 1))
    EXPECT_EQ_U64(x.len[0], 8 * BLOCK);
  EXPECT_NBD_OK(nbd_shutdown(nbd, 0));
  nbd_close(nbd);
}

static void test_null_disk_simple(struct harness *h) {
  struct nbd_handle *nbd = nbd_create();
  if (!EXPECT(nbd != NULL))
    return;
  nbd_set_request_structured_replies(nbd, false);
  if (!EXPECT(harness_connect_handle(h, nbd) == 0)) {
    nbd_close(nbd);
    return;
  }
  EXPECT_EQ_INT(nbd_get_structured_replies_negotiated(nbd), 0);
  EXPECT_EQ_INT(nbd_can_df(nbd), 0);
  read_zeros(nbd, BLOCK, 0);
  read_zeros(nbd, 32u << 20, 0); /* 32 iovecs of the shared zero area */
  read_zeros(nbd, BLOCK, DISK - BLOCK);
  EXPECT_NBD_OK(nbd_pwrite(nbd, buf, 4u << 20, 0, 0));
  EXPECT_NBD_OK(nbd_flush(nbd, 0));
  EXPECT_NBD_OK(nbd_trim(nbd, BLOCK, 0, 0));
  EXPECT_NBD_OK(nbd_zero(nbd, BLOCK, 0, 0));
  EXPECT_NBD_OK(nbd_cache(nbd, BLOCK, 0, 0));
  nbd_close(nbd); /* no NBD_CMD_DISC: a plain hang-up */
}

static void test_memory_disk(void) {
  struct harness h;
  if (harness_init(&h) < 0 ||
      srv_start(&h, "size=64M", "memory_backed=1", "rotational=1", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start memory-backed server");
    harness_cleanup(&h);
    return;
  }
  struct nbd_handle *nbd = nbd_create();
  nbd_add_meta_context(nbd, "base:allocation");
  if (EXPECT(harness_connect_handle(&h, nbd) == 0)) {
    EXPECT_EQ_INT(nbd_is_rotational(nbd), 1);
    for (unsigned i = 0; i < 16 * BLOCK; i++)
      buf[i] = (char)(i * 7 + 3);
    EXPECT_NBD_OK(nbd_pwrite(nbd, buf, 16 * BLOCK, 1u << 20, 0));
    static char back[16 * BLOCK];
    if (EXPECT_NBD_OK(nbd_pread(nbd, back, sizeof(back), 1u << 20, 0)))
      EXPECT(memcmp(back, buf, sizeof(back)) == 0);
    struct chunks c = {0};
    EXPECT_NBD_OK(nbd_pread_structured(nbd, back, BLOCK, 1u << 20,
                                       (nbd_chunk_callback){.callback = chunk_cb, .user_data = &c},
                                       0));
    EXPECT_EQ_INT(c.data, 1);
    EXPECT_EQ_INT(c.hole, 0);
    EXPECT(memcmp(back, buf, BLOCK) == 0);
    memset(&c, 0, sizeof(c));
    EXPECT_NBD_OK(nbd_pread_structured(
        nbd, back, BLOCK, 0, (nbd_chunk_callback){.callback = chunk_cb, .user_data = &c}, 0));
    EXPECT_EQ_INT(c.hole, 1);

    struct extents x = {0};
    EXPECT_NBD_OK(nbd_block_status(
        nbd, 2u << 20, 0, (nbd_extent_callback){.callback = extent_cb, .user_data = &x}, 0));
    if (EXPECT_EQ_INT(x.n, 3)) {
      EXPECT_EQ_U64(x.len[0], 1u << 20);
      EXPECT_EQ_INT(x.flags[0], LIBNBD_STATE_HOLE | LIBNBD_STATE_ZERO);
      EXPECT_EQ_U64(x.len[1], 16 * BLOCK);
      EXPECT_EQ_INT(x.flags[1], 0);
      EXPECT_EQ_INT(x.flags[2], LIBNBD_STATE_HOLE | LIBNBD_STATE_ZERO);
    }
    /* Write zeroes and trim make the data read as zeros again. */
    EXPECT_NBD_OK(nbd_zero(nbd, BLOCK, 1u << 20, LIBNBD_CMD_FLAG_NO_HOLE));
    EXPECT_NBD_OK(nbd_trim(nbd, BLOCK, (1u << 20) + BLOCK, 0));
    if (EXPECT_NBD_OK(nbd_pread(nbd, back, 3 * BLOCK, 1u << 20, 0))) {
      EXPECT(all_bytes(back, 2 * BLOCK, 0));
      EXPECT(memcmp(back + 2 * BLOCK, buf + 2 * BLOCK, BLOCK) == 0);
    }
    /* A large write and read back, straight into the request buffers. */
    for (unsigned i = 0; i < (8u << 20); i++)
      buf[i] = (char)(i >> 12);
    EXPECT_NBD_OK(nbd_pwrite(nbd, buf, 8u << 20, 16u << 20, 0));
    static char big[8u << 20];
    if (EXPECT_NBD_OK(nbd_pread(nbd, big, sizeof(big), 16u << 20, 0)))
      EXPECT(memcmp(big, buf, sizeof(big)) == 0);
  }
  nbd_close(nbd);
  /* Simple replies carry the data too. */
  nbd = nbd_create();
  nbd_set_request_structured_replies(nbd, false);
  if (EXPECT(harness_connect_handle(&h, nbd) == 0)) {
    static char back[BLOCK];
    if (EXPECT_NBD_OK(nbd_pread(nbd, back, BLOCK, (1u << 20) + 2 * BLOCK, 0))) {
      bool same = true;
      for (unsigned i = 0; i < BLOCK; i++)
        same &= back[i] == (char)((2 * BLOCK + i) * 7 + 3);
      EXPECT(same);
    }
  }
  nbd_close(nbd);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

static void test_export_name(void) {
  struct harness h;
  if (harness_init(&h) < 0 ||
      srv_start(&h, "--export-name", "foo", "size=1M", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start server with --export-name");
    harness_cleanup(&h);
    return;
  }
  struct nbd_handle *nbd = nbd_create();
  EXPECT_MSG(harness_connect_handle(&h, nbd) < 0, "export \"\" must be refused");
  nbd_close(nbd);
  nbd = nbd_create();
  nbd_set_export_name(nbd, "foo");
  nbd_set_full_info(nbd, true);
  if (EXPECT(harness_connect_handle(&h, nbd) == 0)) {
    EXPECT_EQ_U64(nbd_get_size(nbd), 1u << 20);
    char *name = nbd_get_canonical_export_name(nbd);
    EXPECT(name && strcmp(name, "foo") == 0);
    free(name);
  }
  nbd_close(nbd);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

int main(void) {
  struct harness h;
  if (harness_init(&h) < 0 || srv_start(&h, "size=64M", (const char *)NULL) < 0)
    return 1;
  test_null_disk_structured(&h);
  test_null_disk_simple(&h);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
  test_memory_disk();
  test_export_name();
  return expect_result("server_commands");
}
