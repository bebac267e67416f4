/* Keys that shape the disk, seen by a libnbd client: size with suffixes (and
 * the magic key), blocksize 512..4096 with physical_blocksize (the block
 * size constraints and alignment follow), rotational, and name (the export
 * description, and the title of the statistics printed at unload). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "plugin_server.h"

static char buf[1u << 20];

/* Start nbdkit with args (NULL-terminated), connect with full info. */
static struct nbd_handle *start(struct harness *h, const char *const *args) {
  struct nbd_handle *nbd;

  if (harness_init(h) < 0 || plugin_startv(h, args) < 0) {
    EXPECT_MSG(false, "start nbdkit %s", args[0]);
    return NULL;
  }
  nbd = nbd_create();
  if (nbd == NULL || nbd_set_full_info(nbd, 1) == -1 || nbd_set_strict_mode(nbd, 0) == -1 ||
      harness_connect_handle(h, nbd) < 0) {
    EXPECT_MSG(false, "connect %s", args[0]);
    nbd_close(nbd);
    return NULL;
  }
  return nbd;
}

/* Disconnect, stop, return the server's log (caller frees). */
static char *finish(struct harness *h, struct nbd_handle *nbd) {
  char *log;

  if (nbd) {
    nbd_shutdown(nbd, 0);
    nbd_close(nbd);
  }
  plugin_stop_clean(h, "options");
  log = harness_read_file(h->log);
  if (expect_failures)
    harness_dump_log(h);
  harness_cleanup(h);
  return log;
}

static void test_size(const char *arg, uint64_t expect) {
  const char *args[] = {arg, NULL};
  struct harness h;
  struct nbd_handle *nbd = start(&h, args);

  if (nbd) {
    EXPECT_MSG(nbd_get_size(nbd) == (int64_t)expect, "%s: size %" PRId64 ", expected %" PRIu64, arg,
               nbd_get_size(nbd), expect);
    memset(buf, 1, 4096);
    /* The last block reads as zeros; one past it is out of range. */
    if (EXPECT_NBD_OK(nbd_pread(nbd, buf, 4096, expect - 4096, 0)))
      EXPECT(buf[0] == 0 && buf[4095] == 0);
    EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, 4096, expect, 0), EINVAL);
  }
  free(finish(&h, nbd));
}

static void test_blocksize(uint32_t logical, uint32_t physical) {
  char lb[32], pb[40];
  const char *args[] = {"size=16M", lb, pb, NULL};
  struct harness h;
  struct nbd_handle *nbd;

  snprintf(lb, sizeof lb, "blocksize=%u", logical);
  snprintf(pb, sizeof pb, "physical_blocksize=%u", physical);
  nbd = start(&h, args);
  if (nbd) {
    EXPECT_EQ_INT(nbd_get_block_size(nbd, LIBNBD_SIZE_MINIMUM), logical);
    EXPECT_EQ_INT(nbd_get_block_size(nbd, LIBNBD_SIZE_PREFERRED), physical);
    EXPECT_EQ_INT(nbd_get_block_size(nbd, LIBNBD_SIZE_MAXIMUM), 32u << 20);
    /* One logical block anywhere aligned, including the last one. */
    EXPECT_NBD_OK(nbd_pread(nbd, buf, logical, logical, 0));
    EXPECT_NBD_OK(nbd_pread(nbd, buf, logical, (16u << 20) - logical, 0));
    EXPECT_NBD_OK(nbd_pwrite(nbd, buf, logical, 3 * logical, 0));
    EXPECT_NBD_OK(nbd_trim(nbd, logical, 5 * logical, 0));
    /* Half a logical block (or less than 512 bytes) is refused. */
    EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, logical / 2, 0, 0), EINVAL);
    EXPECT_NBD_ERRNO(nbd_pwrite(nbd, buf, logical, logical / 2, 0), EINVAL);
    EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, 256, 0, 0), EINVAL);
  }
  free(finish(&h, nbd));
}

static void test_rotational(void) {
  const char *args[] = {"size=16M", "rotational=1", NULL};
  struct harness h;
  struct nbd_handle *nbd = start(&h, args);

  if (nbd)
    EXPECT_EQ_INT(nbd_is_rotational(nbd), 1);
  free(finish(&h, nbd));
}

static void test_name(void) {
  const char *args[] = {"size=16M", "name=scratch_disk7", NULL};
  struct harness h;
  struct nbd_handle *nbd = start(&h, args);
  char *log;

  if (nbd) {
    char *desc = nbd_get_export_description(nbd);

    EXPECT_MSG(desc && strcmp(desc, "scratch_disk7") == 0, "export description \"%s\"",
               desc ? desc : nbd_get_error());
    free(desc);
    EXPECT_NBD_OK(nbd_pread(nbd, buf, 4096, 0, 0));
  }
  log = finish(&h, nbd);
  /* unload prints the statistics table, titled with the disk's name */
  EXPECT_MSG(strstr(log, "rnull scratch_disk7 statistics") != NULL, "stats at unload:\n%s", log);
  EXPECT_MSG(strstr(log, "total") != NULL, "stats total row:\n%s", log);
  free(log);
}

/* discard=0: trim is not offered (null_blk's discard attribute). */
static void test_discard_off(void) {
  const char *args[] = {"size=16M", "discard=0", NULL};
  struct harness h;
  struct nbd_handle *nbd = start(&h, args);

  if (nbd) {
    EXPECT_EQ_INT(nbd_can_trim(nbd), 0);
    EXPECT_EQ_INT(nbd_can_zero(nbd), 1);
  }
  free(finish(&h, nbd));
}

/* DISK_NAME_LEN is 32 with the NUL: 31 bytes is the longest name. */
static void test_name_31_bytes(void) {
  const char *args[] = {"size=16M", "name=abcdefghijklmnopqrstuvwxyz01234", NULL};
  struct harness h;
  struct nbd_handle *nbd = start(&h, args);

  if (nbd) {
    char *desc = nbd_get_export_description(nbd);

    EXPECT_MSG(desc && strcmp(desc, "abcdefghijklmnopqrstuvwxyz01234") == 0,
               "31-byte name kept whole: \"%s\"", desc ? desc : nbd_get_error());
    free(desc);
  }
  free(finish(&h, nbd));
}

int main(void) {
  test_size("size=1M", 1ull << 20);
  test_size("size=3G", 3ull << 30);
  test_size("size=1T", 1ull << 40);
  test_size("size=5MiB", 5ull << 20);
  test_size("size=2048k", 2ull << 20);
  test_size("1E", 1ull << 60);
  test_size("7G", 7ull << 30); /* the magic key is size */
  test_size("size=4194304", 4ull << 20);
  test_blocksize(512, 512);
  test_blocksize(512, 4096);
  test_blocksize(1024, 1024);
  test_blocksize(2048, 8192);
  test_blocksize(4096, 4096);
  test_blocksize(4096, 65536);
  test_rotational();
  test_name();
  test_name_31_bytes();
  test_discard_off();
  return expect_result("plugin disk options");
}
