/* memory_backed=1 through nbdkit and libnbd: data round trips at many
 * offsets (first and last block, page-straddling, 512-byte blocks), a
 * 1 TiB disk with sparse writes, trim and write zeroes read back zeros, and
 * block status reports data and holes truthfully. */
#include <stdlib.h>
#include <string.h>

#include "feature_server.h"

/* Write a pattern, read it back into a poisoned buffer, compare. */
static void round_trip(struct nbd_handle *nbd, uint64_t off, size_t len, unsigned seed) {
  static unsigned char in[1 << 20], out[1 << 20];

  feature_pattern(in, len, seed);
  memset(out, 0xEE, len);
  if (EXPECT_NBD_OK(nbd_pwrite(nbd, in, len, off, 0)) &&
      EXPECT_NBD_OK(nbd_pread(nbd, out, len, off, 0)))
    EXPECT_MSG(memcmp(in, out, len) == 0, "data read back at %" PRIu64 " (+%zu)", off, len);
}

static void check_offsets_512(void) {
  const char *args[] = {"memory_backed=1", "size=64M", "blocksize=512", NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);

  if (!nbd)
    return;
  FEXPECT_EQ(nbd_get_size(nbd), 64 * MiB);
  static const struct {
    uint64_t off;
    size_t len;
  } cases[] = {
      {0, 512},                         /* first block */
      {64 * MiB - 512, 512},            /* last block */
      {512, 1024},                      /* inside the first page */
      {4096 - 512, 1024},               /* straddles pages 0 and 1 */
      {3 * 4096 - 1536, 3 * 4096},      /* unaligned to pages on both ends */
      {MiB + 512, 64 * KiB},            /* several pages, unaligned start */
      {32 * MiB - 4096, 8192},          /* middle */
      {64 * MiB - 1024 * KiB, 1 << 20}, /* 1 MiB ending at the last byte */
  };
  for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++)
    round_trip(nbd, cases[i].off, cases[i].len, i + 1);
  /* An overwrite of part of earlier data leaves the rest intact. */
  static unsigned char a[8192], b[512], out[8192];
  feature_pattern(a, sizeof a, 50);
  feature_pattern(b, sizeof b, 51);
  EXPECT_NBD_OK(nbd_pwrite(nbd, a, sizeof a, 8 * MiB, 0));
  EXPECT_NBD_OK(nbd_pwrite(nbd, b, sizeof b, 8 * MiB + 4096, 0));
  memcpy(a + 4096, b, sizeof b);
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, 8 * MiB, 0)))
    EXPECT(memcmp(a, out, sizeof out) == 0);
  /* Unwritten places still read zeros. */
  memset(out, 0xEE, sizeof out);
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, 40 * MiB, 0)))
    EXPECT(feature_all_zero(out, sizeof out));
  feature_close(&h, nbd);
}

/* 1 TiB disk: sparse writes far apart round trip, and the gaps between
 * them are reported as holes that read zeros. */
static void check_one_tib(void) {
  const char *args[] = {"memory_backed=1", "size=1T", NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);
  static const uint64_t offs[] = {0, 3 * GiB + 4096, 500 * GiB, 1 * TiB - 64 * KiB};
  struct extent e[8];

  if (!nbd)
    return;
  FEXPECT_EQ(nbd_get_size(nbd), TiB);
  for (unsigned i = 0; i < 4; i++)
    round_trip(nbd, offs[i], 64 * KiB, 10 + i);
  /* [64 KiB, 3 GiB + 4 KiB) is a hole; the request may be cut short by the
   * server, but the first extent must be that hole, not data. */
  int n = feature_extents(nbd, 64 * KiB, 4 * GiB - 64 * KiB, e, 8);
  if (EXPECT(n >= 2)) {
    FEXPECT_EQ(e[0].len, 3 * GiB + 4096 - 64 * KiB);
    EXPECT(e[0].flags & LIBNBD_STATE_HOLE);
    EXPECT(e[0].flags & LIBNBD_STATE_ZERO);
    FEXPECT_EQ(e[1].len, 64 * KiB);
    FEXPECT_EQ(e[1].flags & LIBNBD_STATE_HOLE, 0);
  }
  static unsigned char out[64 * KiB];
  memset(out, 0xEE, sizeof out);
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, 700 * GiB, 0)))
    EXPECT(feature_all_zero(out, sizeof out));
  feature_close(&h, nbd);
}

/* Trim and write zeroes (with and without NO_HOLE) read back zeros; trim
 * and zero (may trim) make holes again, NO_HOLE keeps data pages. */
static void check_trim_zero_extents(void) {
  const char *args[] = {"memory_backed=1", "size=16M", NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);
  static unsigned char in[1 << 20], out[1 << 20];
  struct extent e[16];

  if (!nbd)
    return;
  FEXPECT_EQ(nbd_can_trim(nbd), 1);
  FEXPECT_EQ(nbd_can_zero(nbd), 1);
  /* Fresh disk: one hole. */
  int n = feature_extents(nbd, 0, 16 * MiB, e, 16);
  if (EXPECT(n >= 1))
    EXPECT(e[0].flags & LIBNBD_STATE_HOLE);
  feature_pattern(in, sizeof in, 7);
  EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, 4 * MiB, 0));
  /* hole [0,4M) data [4M,5M) hole [5M,16M) */
  n = feature_extents(nbd, 0, 16 * MiB, e, 16);
  if (EXPECT(n >= 3)) {
    FEXPECT_EQ(e[0].len, 4 * MiB);
    EXPECT(e[0].flags & LIBNBD_STATE_HOLE);
    FEXPECT_EQ(e[1].len, MiB);
    FEXPECT_EQ(e[1].flags, 0);
    EXPECT(e[2].flags & LIBNBD_STATE_HOLE);
  }
  /* trim [4M, 4M+64K), zero may-trim [4M+64K, 4M+128K), zero NO_HOLE
   * [4M+128K, 4M+192K), partial-page trim [4M+192K+1K, +2K) */
  EXPECT_NBD_OK(nbd_trim(nbd, 64 * KiB, 4 * MiB, 0));
  EXPECT_NBD_OK(nbd_zero(nbd, 64 * KiB, 4 * MiB + 64 * KiB, 0));
  EXPECT_NBD_OK(nbd_zero(nbd, 64 * KiB, 4 * MiB + 128 * KiB, LIBNBD_CMD_FLAG_NO_HOLE));
  memset(out, 0xEE, sizeof out);
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, 4 * MiB, 0))) {
    EXPECT(feature_all_zero(out, 192 * KiB));
    EXPECT(memcmp(out + 192 * KiB, in + 192 * KiB, sizeof out - 192 * KiB) == 0);
  }
  n = feature_extents(nbd, 4 * MiB, 12 * MiB, e, 16);
  if (EXPECT(n >= 2)) {
    FEXPECT_EQ(e[0].len, 128 * KiB); /* trimmed + zeroed: hole */
    EXPECT(e[0].flags & LIBNBD_STATE_HOLE);
    FEXPECT_EQ(e[1].len, MiB - 128 * KiB); /* NO_HOLE zeroes kept + data */
    FEXPECT_EQ(e[1].flags & LIBNBD_STATE_HOLE, 0);
  }
  /* Trim of every block is fine and leaves one hole. */
  EXPECT_NBD_OK(nbd_trim(nbd, 16 * MiB, 0, 0));
  n = feature_extents(nbd, 0, 16 * MiB, e, 16);
  if (EXPECT(n >= 1)) {
    FEXPECT_EQ(e[0].len, 16 * MiB);
    EXPECT(e[0].flags & LIBNBD_STATE_HOLE);
  }
  memset(out, 0xEE, sizeof out);
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, 4 * MiB, 0)))
    EXPECT(feature_all_zero(out, sizeof out));
  feature_close(&h, nbd);
}

/* Two connections see each other's writes (one store per disk). */
static void check_shared_between_connections(void) {
  const char *args[] = {"memory_backed=1", "size=16M", "submit_queues=2", NULL};
  struct harness h;
  struct nbd_handle *a = feature_open(&h, args), *b;
  unsigned char in[4096], out[4096];

  if (!a)
    return;
  b = harness_connect(&h);
  if (EXPECT(b != NULL)) {
    feature_pattern(in, sizeof in, 99);
    EXPECT_NBD_OK(nbd_pwrite(a, in, sizeof in, 12 * MiB, 0));
    if (EXPECT_NBD_OK(nbd_pread(b, out, sizeof out, 12 * MiB, 0)))
      EXPECT(memcmp(in, out, sizeof in) == 0);
    EXPECT_NBD_OK(nbd_shutdown(b, 0));
    nbd_close(b);
  }
  feature_close(&h, a);
}

/* Four connections on two hw queues, 32 requests in flight each, write
 * interleaved 16 KiB blocks (neighbours share 64 KiB of pages), then read
 * everything back: the store is safe under nbdkit's parallel threads. */
#define CONNS 4
#define PER_CONN 32
#define BLK (16 * 1024)

static bool drain(struct nbd_handle *const *nbd) {
  long long deadline = harness_now_ms() + 60000; /* hang guard */

  for (;;) {
    unsigned busy = 0;
    for (int c = 0; c < CONNS; c++)
      if (nbd_aio_in_flight(nbd[c]) > 0) {
        busy++;
        if (nbd_poll(nbd[c], 5) == -1)
          return false;
      }
    if (!busy)
      return true;
    if (harness_now_ms() > deadline)
      return false;
  }
}

static void check_concurrent_connections(void) {
  const char *args[] = {"memory_backed=1", "size=64M", "submit_queues=2", "--threads=16", NULL};
  static unsigned char in[CONNS][PER_CONN][BLK], out[CONNS][PER_CONN][BLK];
  static int64_t wr[CONNS][PER_CONN], rd[CONNS][PER_CONN];
  struct nbd_handle *nbd[CONNS] = {0};
  struct harness h;
  int ok = 1;

  nbd[0] = feature_open(&h, args);
  if (!nbd[0])
    return;
  for (int c = 1; c < CONNS; c++)
    ok &= (nbd[c] = harness_connect(&h)) != NULL;
  if (EXPECT(ok)) {
    /* block i of connection c lives at (i * CONNS + c) * BLK */
    for (int i = 0; i < PER_CONN; i++)
      for (int c = 0; c < CONNS; c++) {
        feature_pattern(in[c][i], BLK, (unsigned)(c * 1000 + i));
        wr[c][i] = nbd_aio_pwrite(nbd[c], in[c][i], BLK, (uint64_t)(i * CONNS + c) * BLK,
                                  NBD_NULL_COMPLETION, 0);
      }
    EXPECT_MSG(drain(nbd), "writes complete");
    for (int c = 0; c < CONNS; c++)
      for (int i = 0; i < PER_CONN; i++)
        EXPECT_MSG(wr[c][i] > 0 && nbd_aio_command_completed(nbd[c], wr[c][i]) == 1,
                   "write %d/%d succeeded", c, i);
    for (int c = 0; c < CONNS; c++)
      for (int i = 0; i < PER_CONN; i++)
        rd[c][i] = nbd_aio_pread(nbd[(c + 1) % CONNS], out[c][i], BLK,
                                 (uint64_t)(i * CONNS + c) * BLK, NBD_NULL_COMPLETION, 0);
    EXPECT_MSG(drain(nbd), "reads complete");
    for (int c = 0; c < CONNS; c++)
      for (int i = 0; i < PER_CONN; i++)
        EXPECT_MSG(rd[c][i] > 0 && nbd_aio_command_completed(nbd[(c + 1) % CONNS], rd[c][i]) == 1,
                   "read %d/%d succeeded", c, i);
    EXPECT_MSG(memcmp(in, out, sizeof in) == 0, "every block reads back what was written");
  }
  for (int c = 1; c < CONNS; c++)
    if (nbd[c]) {
      nbd_shutdown(nbd[c], 0);
      nbd_close(nbd[c]);
    }
  feature_close(&h, nbd[0]);
}

int main(void) {
  check_offsets_512();
  check_one_tib();
  check_trim_zero_extents();
  check_shared_between_connections();
  check_concurrent_connections();
  fprintf(stderr, "(served by %s)\n", feature_frontend());
  return expect_result("feature memory_backed");
}
