/* Many requests and many clients: 256 requests in flight on one connection
 * (timer completions), tag exhaustion (hw_queue_depth below the client's
 * queue: back-pressure, nothing lost), 100 concurrent connections doing I/O
 * on 2 hw queues, replies leaving in completion order (an error answered at
 * once overtakes a read still on its timer), and a client that never reads
 * its replies while others are served. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "srv.h"

#include "geometry.h"

/* Issue n aio reads of len at spread offsets, wait for all; returns how many
 * completed without error. */
static int aio_reads(struct nbd_handle *nbd, int n, size_t len, uint64_t disk) {
  char *b = malloc((size_t)n * len);
  int64_t *cookie = calloc((size_t)n, sizeof(*cookie));
  int ok = 0;
  if (!b || !cookie) {
    free(b);
    free(cookie);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    uint64_t off = ((uint64_t)i * 7919 * BLOCK) % (disk - len);
    off -= off % BLOCK;
    cookie[i] = nbd_aio_pread(nbd, b + (size_t)i * len, len, off, NBD_NULL_COMPLETION, 0);
    if (cookie[i] < 0)
      fprintf(stderr, "aio_pread: %s\n", nbd_get_error());
  }
  long long end = harness_now_ms() + 60000;
  while (nbd_aio_in_flight(nbd) > 0 && harness_now_ms() < end)
    if (nbd_poll(nbd, 1000) < 0)
      break;
  for (int i = 0; i < n; i++)
    if (cookie[i] >= 0 && nbd_aio_command_completed(nbd, cookie[i]) == 1)
      ok++;
  free(b);
  free(cookie);
  return ok;
}

static void test_256_in_flight(void) {
  struct harness h;
  if (harness_init(&h) < 0 || srv_start(&h, "size=256M", "irqmode=timer", "completion_nsec=5000000",
                                        (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start timer-mode server");
    harness_cleanup(&h);
    return;
  }
  struct nbd_handle *nbd = harness_connect(&h);
  if (EXPECT(nbd != NULL))
    EXPECT_EQ_INT(aio_reads(nbd, 256, BLOCK, 256u << 20), 256);
  nbd_close(nbd);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

struct shared_tags_arg {
  struct harness *h;
  int ok;
};

static void *shared_tags_client(void *p) {
  struct shared_tags_arg *a = p;
  struct nbd_handle *nbd = harness_connect(a->h);
  if (nbd)
    a->ok = aio_reads(nbd, 64, 64 * 1024, 64u << 20);
  nbd_close(nbd);
  return NULL;
}

static void test_tag_exhaustion(void) {
  struct harness h;
  /* 4 tags, 4 clients with 64 requests each: most wait for a tag. */
  if (harness_init(&h) < 0 || srv_start(&h, "size=64M", "hw_queue_depth=4", "irqmode=timer",
                                        "completion_nsec=200000", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start hw_queue_depth=4 server");
    harness_cleanup(&h);
    return;
  }
  pthread_t t[4];
  struct shared_tags_arg a[4];
  for (int i = 0; i < 4; i++) {
    a[i] = (struct shared_tags_arg){.h = &h};
    pthread_create(&t[i], NULL, shared_tags_client, &a[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    EXPECT_EQ_INT(a[i].ok, 64);
  }
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

struct many_arg {
  struct harness *h;
  int id;
  bool ok;
};

static void *many_client(void *p) {
  struct many_arg *a = p;
  static __thread char b[64 * 1024];
  struct nbd_handle *nbd = harness_connect(a->h);
  a->ok = nbd != NULL;
  for (int i = 0; nbd && i < 20 && a->ok; i++) {
    uint64_t off = (uint64_t)((a->id * 20 + i) % 1024) * 64 * 1024;
    if (i % 2) {
      memset(b, a->id, sizeof(b));
      a->ok = nbd_pwrite(nbd, b, sizeof(b), off, 0) == 0;
    } else {
      memset(b, 0x77, sizeof(b));
      a->ok = nbd_pread(nbd, b, sizeof(b), off, 0) == 0 && b[0] == 0 && b[sizeof(b) - 1] == 0;
    }
  }
  if (nbd && a->ok)
    a->ok = nbd_shutdown(nbd, 0) == 0;
  nbd_close(nbd);
  return NULL;
}

static void test_100_connections(void) {
  struct harness h;
  if (harness_init(&h) < 0 ||
      srv_start(&h, "size=64M", "submit_queues=2", "irqmode=softirq", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start 2-queue server");
    harness_cleanup(&h);
    return;
  }
  enum { N = 100 };
  pthread_t t[N];
  struct many_arg a[N];
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (int i = 0; i < N; i++) {
    a[i] = (struct many_arg){.h = &h, .id = i};
    pthread_create(&t[i], &attr, many_client, &a[i]);
  }
  int ok = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    ok += a[i].ok;
  }
  EXPECT_EQ_INT(ok, N);
  EXPECT(!harness_exited(&h));
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

static void test_completion_order(void) {
  struct harness h;
  if (harness_init(&h) < 0 || srv_start(&h, "size=64M", "irqmode=timer",
                                        "completion_nsec=300000000", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start slow timer server");
    harness_cleanup(&h);
    return;
  }
  int fd = raw_connect(h.sock);
  if (EXPECT(fd >= 0) && EXPECT(raw_go(fd, false, false) >= 0)) {
    /* 1: a read completing in 300 ms; 2: refused at once (unaligned). */
    raw_request(fd, 0, NBD_CMD_READ, 1, 0, BLOCK);
    raw_request(fd, 0, NBD_CMD_READ, 2, 100, BLOCK);
    uint32_t err;
    uint64_t handle;
    if (EXPECT(raw_simple_reply(fd, &err, &handle) == 0)) {
      EXPECT_EQ_U64(handle, 2);
      EXPECT_EQ_U64(err, NBD_EINVAL);
    }
    if (EXPECT(raw_simple_reply(fd, &err, &handle) == 0)) {
      EXPECT_EQ_U64(handle, 1);
      EXPECT_EQ_U64(err, 0);
      raw_skip(fd, BLOCK);
    }
    close(fd);
  }
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

static void test_client_never_reads(void) {
  struct harness h;
  if (harness_init(&h) < 0 || srv_start(&h, "size=1G", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start server");
    harness_cleanup(&h);
    return;
  }
  /* 1000 reads of 32 MiB, simple replies: 32 GB of replies nobody reads. */
  int fd = raw_connect(h.sock);
  if (EXPECT(fd >= 0) && EXPECT(raw_go(fd, false, false) >= 0)) {
    static uint8_t reqs[1000 * NBD_REQUEST_SIZE];
    for (int i = 0; i < 1000; i++)
      raw_put_request(reqs + i * NBD_REQUEST_SIZE, 0, NBD_CMD_READ, (uint64_t)i, 0, 32u << 20);
    EXPECT(raw_send(fd, reqs, sizeof(reqs)) == 0);
    /* Meanwhile everyone else is served. */
    for (int i = 0; i < 3; i++) {
      struct nbd_handle *nbd = harness_connect(&h);
      char b[BLOCK];
      if (EXPECT(nbd != NULL))
        EXPECT_NBD_OK(nbd_pread(nbd, b, BLOCK, 0, 0));
      nbd_close(nbd);
    }
    /* And the server holds no reply data of its own: the zero area. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)h.pid);
    char *st = harness_read_file(path);
    char *rss = st ? strstr(st, "VmRSS:") : NULL;
    long kb = rss ? strtol(rss + 6, NULL, 10) : -1;
    EXPECT_MSG(kb > 0 && kb < 256 * 1024, "server RSS %ld kB", kb);
    free(st);
    close(fd);
  }
  struct nbd_handle *nbd = harness_connect(&h);
  EXPECT(nbd != NULL);
  nbd_close(nbd);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

static long server_rss_kb(struct harness *h) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)h->pid);
  char *st = harness_read_file(path);
  char *rss = st ? strstr(st, "VmRSS:") : NULL;
  long kb = rss ? strtol(rss + 6, NULL, 10) : -1;
  free(st);
  return kb;
}

/* Memory-backed reads need real buffers: a client asking for 1000 reads of
 * 32 MiB of written data and reading none of it costs the server a bounded
 * amount of memory (the per-connection buffer cap), not 1000 x 32 MiB. */
static void test_buffer_cap(void) {
  struct harness h;
  if (harness_init(&h) < 0 ||
      srv_start(&h, "size=64M", "memory_backed=1", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start memory-backed server");
    harness_cleanup(&h);
    return;
  }
  struct nbd_handle *nbd = harness_connect(&h);
  static char data[32u << 20];
  memset(data, 0x6b, sizeof(data));
  if (EXPECT(nbd != NULL))
    EXPECT_NBD_OK(nbd_pwrite(nbd, data, sizeof(data), 0, 0));
  nbd_close(nbd);
  long before = server_rss_kb(&h);
  int fd = raw_connect(h.sock);
  if (EXPECT(fd >= 0) && EXPECT(raw_go(fd, false, false) >= 0)) {
    static uint8_t reqs[1000 * NBD_REQUEST_SIZE];
    for (int i = 0; i < 1000; i++)
      raw_put_request(reqs + i * NBD_REQUEST_SIZE, 0, NBD_CMD_READ, (uint64_t)i, 0, 32u << 20);
    EXPECT(raw_send(fd, reqs, sizeof(reqs)) == 0);
    /* Others are served meanwhile (and prove the server got that far). */
    nbd = harness_connect(&h);
    if (EXPECT(nbd != NULL))
      EXPECT_NBD_OK(nbd_pread(nbd, data, BLOCK, 0, 0));
    nbd_close(nbd);
    /* The cap is 64 MiB of buffers; without it this would be gigabytes.
     * (Growth, not the total: sanitizer builds add shadow memory.) */
    long kb = server_rss_kb(&h);
    EXPECT_MSG(before > 0 && kb > 0 && kb - before < 512 * 1024, "server RSS %ld -> %ld kB", before,
               kb);
    close(fd);
  }
  EXPECT(!harness_exited(&h));
  {
    long long st = harness_stop(&h);
    EXPECT_EQ_INT(st, 0);
  }
  harness_cleanup(&h);
}

int main(void) {
  test_256_in_flight();
  test_tag_exhaustion();
  test_100_connections();
  test_completion_order();
  test_client_never_reads();
  test_buffer_cap();
  return expect_result("server_concurrency");
}
