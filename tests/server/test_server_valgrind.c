/* rnull-server under valgrind (memcheck): a session of every command on a
 * memory-backed disk with 2 hw queues and deferred completions, bad
 * requests, a client vanishing with requests in flight, then SIGTERM. The
 * server must exit 0: valgrind's --error-exitcode (99) flags any invalid
 * access, uninitialised use or definite leak. */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "srv.h"

#include "geometry.h"

static char buf[1u << 20];

static int extent_cb(void *ud, const char *ctx, uint64_t off, uint32_t *e, size_t n, int *err) {
  (void)ud;
  (void)ctx;
  (void)off;
  (void)e;
  (void)n;
  (void)err;
  return 0;
}

int main(void) {
  const char *wrapper[] = {RNULL_VALGRIND,
                           "-q",
                           "--error-exitcode=99",
                           "--leak-check=full",
                           "--errors-for-leak-kinds=definite",
                           NULL};
  struct harness h;
  srv_set_wrapper(wrapper);
  if (harness_init(&h) < 0 || srv_start(&h, "size=64M", "memory_backed=1", "submit_queues=2",
                                        "irqmode=softirq", (const char *)NULL) < 0)
    return 1;
  for (int c = 0; c < 2; c++) {
    struct nbd_handle *nbd = nbd_create();
    nbd_add_meta_context(nbd, "base:allocation");
    nbd_set_strict_mode(nbd, 0);
    nbd_set_request_structured_replies(nbd, c == 0);
    if (!EXPECT(harness_connect_handle(&h, nbd) == 0)) {
      nbd_close(nbd);
      continue;
    }
    memset(buf, 0x42, sizeof(buf));
    EXPECT_NBD_OK(nbd_pwrite(nbd, buf, sizeof(buf), 0, 0));
    EXPECT_NBD_OK(nbd_pread(nbd, buf, sizeof(buf), 0, 0));
    EXPECT(buf[0] == 0x42 && buf[sizeof(buf) - 1] == 0x42);
    EXPECT_NBD_OK(nbd_pread(nbd, buf, BLOCK, 32u << 20, 0));
    EXPECT_NBD_OK(nbd_flush(nbd, 0));
    EXPECT_NBD_OK(nbd_trim(nbd, BLOCK, 0, 0));
    EXPECT_NBD_OK(nbd_zero(nbd, BLOCK, BLOCK, LIBNBD_CMD_FLAG_NO_HOLE));
    EXPECT_NBD_OK(nbd_cache(nbd, BLOCK, 0, 0));
    if (c == 0)
      EXPECT_NBD_OK(
          nbd_block_status(nbd, 1u << 20, 0, (nbd_extent_callback){.callback = extent_cb}, 0));
    EXPECT_NBD_ERRNO(nbd_pread(nbd, buf, BLOCK, 1, 0), EINVAL);
    EXPECT_NBD_ERRNO(nbd_pwrite(nbd, buf, BLOCK, 64u << 20, 0), ENOSPC);
    for (int i = 0; i < 32; i++)
      nbd_aio_pread(nbd, buf + (i % 8) * BLOCK, BLOCK, (uint64_t)i * BLOCK, NBD_NULL_COMPLETION, 0);
    while (nbd_aio_in_flight(nbd) > 0)
      if (nbd_poll(nbd, 5000) <= 0)
        break;
    EXPECT_NBD_OK(nbd_shutdown(nbd, 0));
    nbd_close(nbd);
  }
  /* A raw client: bad option, then gone with reads in flight. */
  int fd = raw_connect(h.sock);
  if (EXPECT(fd >= 0) && EXPECT(raw_go(fd, true, false) >= 0))
    for (int i = 0; i < 16; i++)
      raw_request(fd, 0, NBD_CMD_READ, (uint64_t)i, 0, 64 * 1024);
  if (fd >= 0)
    close(fd);
  int st = harness_stop(&h);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "valgrind exit status 0x%x", st);
  if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
    harness_dump_log(&h);
  harness_cleanup(&h);
  return expect_result("server_valgrind");
}
