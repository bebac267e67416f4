/* badblocks through nbdkit with 512-byte blocks: reads and writes fail with
 * EIO exactly on the bad sectors (first/last sector of a range, the sectors
 * around it, I/O straddling an edge); trims and zeroes are not checked;
 * badblocks_once fails one I/O per range; with memory_backed=1 a write that
 * covers a whole bad range remaps it (the data then reads back). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "feature_server.h"

#define SECTOR 512u

static int io_errno(struct nbd_handle *nbd, bool write, uint64_t sector, uint32_t nr) {
  static unsigned char buf[64 * 1024];
  int r;

  if (write)
    r = nbd_pwrite(nbd, buf, (size_t)nr * SECTOR, sector * SECTOR, 0);
  else
    r = nbd_pread(nbd, buf, (size_t)nr * SECTOR, sector * SECTOR, 0);
  return r == 0 ? 0 : nbd_get_errno();
}

#define EXPECT_IO(nbd, write, sector, nr, err)                                                     \
  do {                                                                                             \
    int e_ = io_errno((nbd), (write), (sector), (nr));                                             \
    EXPECT_MSG(e_ == (err), "%s sectors %llu..%llu: errno %d, expected %d",                        \
               (write) ? "write" : "read", (unsigned long long)(sector),                           \
               (unsigned long long)((sector) + (nr)-1), e_, (err));                                \
  } while (0)

static void check_exact_ranges(void) {
  const char *args[] = {"blocksize=512", "size=1M", "badblocks=100-199,1000-1000,2047-2047", NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);

  if (!nbd)
    return;
  FEXPECT_EQ(nbd_get_block_size(nbd, LIBNBD_SIZE_MINIMUM), 512);
  for (int w = 0; w < 2; w++) {
    EXPECT_IO(nbd, w, 99, 1, 0);    /* just before */
    EXPECT_IO(nbd, w, 100, 1, EIO); /* first bad */
    EXPECT_IO(nbd, w, 150, 1, EIO); /* inside */
    EXPECT_IO(nbd, w, 199, 1, EIO); /* last bad */
    EXPECT_IO(nbd, w, 200, 1, 0);   /* just after */
    EXPECT_IO(nbd, w, 92, 8, 0);    /* 92..99 ends right before */
    EXPECT_IO(nbd, w, 93, 8, EIO);  /* 93..100 straddles the start */
    EXPECT_IO(nbd, w, 199, 8, EIO); /* straddles the end */
    EXPECT_IO(nbd, w, 200, 100, 0); /* 200..299 */
    EXPECT_IO(nbd, w, 0, 128, EIO); /* covers the start */
    EXPECT_IO(nbd, w, 999, 1, 0);   /* single-sector range */
    EXPECT_IO(nbd, w, 1000, 1, EIO);
    EXPECT_IO(nbd, w, 1001, 1, 0);
    EXPECT_IO(nbd, w, 2046, 1, 0); /* the last sector of the disk */
    EXPECT_IO(nbd, w, 2047, 1, EIO);
  }
  /* not reads or writes: trims and zeroes of bad sectors succeed */
  EXPECT_NBD_OK(nbd_trim(nbd, 100 * SECTOR, 100 * SECTOR, 0));
  EXPECT_NBD_OK(nbd_zero(nbd, 100 * SECTOR, 100 * SECTOR, 0));
  EXPECT_NBD_OK(nbd_flush(nbd, 0));
  /* and nothing was cleared by any of it */
  EXPECT_IO(nbd, 0, 100, 1, EIO);
  feature_close(&h, nbd);
}

static void check_once(void) {
  const char *args[] = {"blocksize=512", "size=1M", "badblocks=100-199,300-309", "badblocks_once=1",
                        NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);

  if (!nbd)
    return;
  EXPECT_IO(nbd, 0, 150, 1, EIO); /* the first I/O hitting 100-199 fails */
  EXPECT_IO(nbd, 0, 150, 1, 0);   /* then the whole range is good */
  EXPECT_IO(nbd, 0, 100, 100, 0);
  EXPECT_IO(nbd, 1, 309, 1, EIO); /* the other range is still there, once */
  EXPECT_IO(nbd, 1, 300, 10, 0);
  feature_close(&h, nbd);
}

static void check_memory_remap(void) {
  const char *args[] = {"blocksize=512", "size=1M", "memory_backed=1", "badblocks=100-107", NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);
  unsigned char in[16 * SECTOR], out[16 * SECTOR];

  if (!nbd)
    return;
  EXPECT_IO(nbd, 0, 104, 1, EIO);
  EXPECT_IO(nbd, 1, 104, 4, EIO); /* covers only part of 100-107 */
  feature_pattern(in, sizeof in, 3);
  /* 96..111 covers all of 100-107: succeeds and clears the range */
  EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, 96 * SECTOR, 0));
  memset(out, 0, sizeof out);
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, 96 * SECTOR, 0)))
    EXPECT(memcmp(in, out, sizeof in) == 0);
  EXPECT_IO(nbd, 0, 100, 8, 0);
  feature_close(&h, nbd);
}

/* Bad values stop nbdkit at start-up with the key named. */
static void check_refused(const char *kv, const char *must_mention) {
  const char *args[] = {"blocksize=512", "size=1M", kv, NULL};
  char *text;
  int st = feature_run(args, &text);

  EXPECT_MSG(st != 0, "%s refuses %s (status %d)", feature_frontend(), kv, st);
  EXPECT_MSG(text && strstr(text, "badblocks") && strstr(text, must_mention), "message for %s:\n%s",
             kv, text);
  free(text);
}

int main(void) {
  check_exact_ranges();
  check_once();
  check_memory_remap();
  check_refused("badblocks=2000-2048", "2048"); /* past the last sector (2047) */
  check_refused("badblocks=20-10", "20-10");
  check_refused("badblocks=x", "x");
  fprintf(stderr, "(served by %s)\n", feature_frontend());
  return expect_result("feature badblocks");
}
