/* Misbehaving clients all at once, with fixed seeds: half-done handshakes,
 * random valid and invalid requests, garbage, write payloads cut short,
 * replies left unread, abrupt hang-ups; on 2 hw queues with timer
 * completions and few tags. Meanwhile well-behaved clients write and read
 * back their own data. The server must keep every good client's data
 * intact, stay up, and exit 0 (under ASan/TSan/valgrind builds too). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbd_proto.h"
#include "srv.h"

#include "geometry.h"
#define CHAOS_THREADS 12
#define CHAOS_ROUNDS 60
#define GOOD_THREADS 2

static struct harness h;
static _Atomic int reached_transmission, requests_sent;

static uint32_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (uint32_t)(*s >> 11);
}

/* Send without waiting long: a chaos client that reads no replies gets
 * stopped by back-pressure (as it should), and then just gives up. */
static bool try_send(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len) {
    struct pollfd pf = {.fd = fd, .events = POLLOUT};
    if (poll(&pf, 1, 50) <= 0)
      return false;
    ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0 && !(n < 0 && errno == EAGAIN))
      return false;
    if (n <= 0)
      continue;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

static bool try_request(int fd, uint16_t flags, uint16_t type, uint64_t handle, uint64_t offset,
                        uint32_t len) {
  uint8_t r[NBD_REQUEST_SIZE];
  raw_put_request(r, flags, type, handle, offset, len);
  return try_send(fd, r, sizeof(r));
}

static void chaos_round(uint64_t *seed) {
  int fd = raw_connect(h.sock);
  if (fd < 0)
    return;
  uint32_t mode = rnd(seed) % 8;
  if (mode == 0) { /* gone during the greeting */
    close(fd);
    return;
  }
  if (mode == 1) { /* garbage options */
    uint8_t g[256];
    for (size_t i = 0; i < sizeof(g); i++)
      g[i] = (uint8_t)rnd(seed);
    raw_greet(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
    send(fd, g, rnd(seed) % sizeof(g), MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
    return;
  }
  bool sr = rnd(seed) % 2, meta = sr && rnd(seed) % 2;
  if (raw_go(fd, sr, meta) < 0) {
    close(fd);
    return;
  }
  reached_transmission++;
  static __thread uint8_t payload[1u << 20];
  int n = 1 + (int)(rnd(seed) % 64);
  for (int i = 0; i < n; i++) {
    uint32_t kind = rnd(seed) % 10;
    uint16_t type = (uint16_t)(rnd(seed) % 9);
    uint16_t flags = (uint16_t)(rnd(seed) % 4 == 0 ? rnd(seed) & 0x1f : 0);
    uint64_t off = (uint64_t)(rnd(seed) % (DISK / BLOCK / 2) + DISK / BLOCK / 2) * BLOCK;
    uint32_t len = (1 + rnd(seed) % 64) * BLOCK;
    if (kind == 0)
      off += rnd(seed) % BLOCK; /* unaligned */
    if (kind == 1)
      off = DISK - BLOCK; /* crosses the end */
    if (kind == 2) {      /* garbage where a request should be */
      uint8_t g[28];
      for (size_t j = 0; j < sizeof(g); j++)
        g[j] = (uint8_t)rnd(seed);
      send(fd, g, sizeof(g), MSG_NOSIGNAL | MSG_DONTWAIT);
      break;
    }
    if (!try_request(fd, flags, type, (uint64_t)i, off, len))
      break;
    requests_sent++;
    if (type == NBD_CMD_WRITE) {
      uint32_t cut = kind == 3 ? rnd(seed) % len : len; /* payload cut short */
      if (!try_send(fd, payload, cut) || cut < len)
        break;
    }
  }
  if (rnd(seed) % 2) { /* read a little of the replies */
    uint8_t b[4096];
    recv(fd, b, sizeof(b), MSG_DONTWAIT);
  }
  if (rnd(seed) % 3 == 0)
    try_request(fd, 0, NBD_CMD_DISC, 0, 0, 0);
  close(fd);
}

static void *chaos(void *arg) {
  uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)((uintptr_t)arg + 1);
  for (int r = 0; r < CHAOS_ROUNDS; r++)
    chaos_round(&seed);
  return NULL;
}

struct good {
  int id;
  bool ok;
};

/* Each good client owns [id * 4 MiB, +4 MiB) in the first half of the disk. */
static void *good(void *arg) {
  struct good *g = arg;
  static __thread char w[256 * 1024], r[256 * 1024];
  struct nbd_handle *nbd = harness_connect(&h);
  g->ok = nbd != NULL;
  for (int i = 0; g->ok && i < 40; i++) {
    uint64_t off = ((uint64_t)g->id << 22) + (uint64_t)(i % 16) * sizeof(w);
    memset(w, (char)(g->id * 40 + i), sizeof(w));
    g->ok = nbd_pwrite(nbd, w, sizeof(w), off, 0) == 0 &&
            nbd_pread(nbd, r, sizeof(r), off, 0) == 0 && memcmp(w, r, sizeof(w)) == 0;
  }
  nbd_close(nbd);
  return NULL;
}

int main(void) {
  if (harness_init(&h) < 0 ||
      srv_start(&h, "size=64M", "memory_backed=1", "submit_queues=2", "hw_queue_depth=16",
                "irqmode=timer", "completion_nsec=100000", (const char *)NULL) < 0)
    return 1;
  pthread_t ct[CHAOS_THREADS], gt[GOOD_THREADS];
  struct good g[GOOD_THREADS];
  for (int i = 0; i < CHAOS_THREADS; i++)
    pthread_create(&ct[i], NULL, chaos, (void *)(uintptr_t)i);
  for (int i = 0; i < GOOD_THREADS; i++) {
    g[i] = (struct good){.id = i};
    pthread_create(&gt[i], NULL, good, &g[i]);
  }
  for (int i = 0; i < GOOD_THREADS; i++) {
    pthread_join(gt[i], NULL);
    EXPECT_MSG(g[i].ok, "good client %d kept its data", i);
  }
  for (int i = 0; i < CHAOS_THREADS; i++)
    pthread_join(ct[i], NULL);
  printf("chaos: %d sessions reached transmission, %d requests sent\n", (int)reached_transmission,
         (int)requests_sent);
  EXPECT(reached_transmission > CHAOS_THREADS * CHAOS_ROUNDS * 2 / 3);
  struct nbd_handle *nbd = harness_connect(&h);
  char b[BLOCK];
  if (EXPECT(nbd != NULL))
    EXPECT_NBD_OK(nbd_pread(nbd, b, BLOCK, 0, 0));
  nbd_close(nbd);
  EXPECT(!harness_exited(&h));
  long long st = harness_stop(&h);
  EXPECT_EQ_INT(st, 0);
  if (st != 0)
    harness_dump_log(&h);
  harness_cleanup(&h);
  return expect_result("server_chaos");
}
