/* payload_discard: what it costs a null-disk server to throw away a write
 * payload arriving on a Unix stream socket, three ways:
 *   recv    recv() into a 256 KiB scratch buffer (what rnull-server does);
 *   trunc   recv(MSG_TRUNC), which discards without copying on TCP;
 *   splice  splice() socket -> pipe -> /dev/null, no copy to user space.
 * A writer thread sends 1 MiB messages (as fio/libnbd send a 1 MiB WRITE);
 * the reader's own CPU time per MiB is printed. A micro-benchmark for
 * bench/PROFILE.md, not a test: run `build/payload_discard [MiB]`.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG_LEN (1u << 20)
#define SCRATCH_LEN (256u * 1024)

struct writer {
  int fd;
  size_t mib;
};

static void *writer_main(void *arg) {
  struct writer *w = arg;
  char *buf = calloc(1, MSG_LEN);
  if (!buf)
    abort();
  for (size_t i = 0; i < w->mib; i++) {
    for (size_t off = 0; off < MSG_LEN;) {
      ssize_t n = send(w->fd, buf + off, MSG_LEN - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        goto out; /* the reader gave up (method not usable): stop quietly */
      }
      off += (size_t)n;
    }
  }
out:
  free(buf);
  shutdown(w->fd, SHUT_WR);
  return NULL;
}

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns bytes discarded, or -1 if the method does not work here. */
static long long discard_all(int fd, const char *how, size_t *calls) {
  long long total = 0;
  static char scratch[SCRATCH_LEN];
  int p[2] = {-1, -1}, devnull = -1;
  if (!strcmp(how, "splice")) {
    if (pipe(p) < 0 || (devnull = open("/dev/null", O_WRONLY)) < 0)
      return -1;
    fcntl(p[1], F_SETPIPE_SZ, MSG_LEN); /* best effort: default is 64 KiB */
  }
  for (;;) {
    ssize_t n;
    if (!strcmp(how, "recv")) {
      n = recv(fd, scratch, SCRATCH_LEN, 0);
    } else if (!strcmp(how, "trunc")) {
      n = recv(fd, NULL, MSG_LEN, MSG_TRUNC);
    } else {
      n = splice(fd, NULL, p[1], NULL, MSG_LEN, SPLICE_F_MOVE);
      for (ssize_t left = n; left > 0;) {
        ssize_t m = splice(p[0], NULL, devnull, NULL, (size_t)left, SPLICE_F_MOVE);
        if (m <= 0)
          return -1;
        left -= m;
        (*calls)++;
      }
    }
    (*calls)++;
    if (n == 0)
      break;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    total += n;
  }
  if (p[0] >= 0) {
    close(p[0]);
    close(p[1]);
    close(devnull);
  }
  return total;
}

static int run(const char *how, size_t mib) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
    perror("socketpair");
    return 1;
  }
  struct writer w = {.fd = sv[1], .mib = mib};
  pthread_t t;
  if (pthread_create(&t, NULL, writer_main, &w) != 0)
    return 1;
  size_t calls = 0;
  double t0 = thread_cpu_s();
  long long got = discard_all(sv[0], how, &calls);
  double cpu = thread_cpu_s() - t0;
  int err = errno;
  if (got < 0)
    shutdown(sv[0], SHUT_RDWR); /* unblock the writer: its send fails */
  pthread_join(t, NULL);
  close(sv[0]);
  close(sv[1]);
  if (got < 0) {
    printf("%-7s not usable here: %s\n", how, strerror(err));
    return 0;
  }
  if (got != (long long)(mib * MSG_LEN)) {
    printf("%-7s discarded %lld bytes, expected %zu: not usable\n", how, got, mib * MSG_LEN);
    return 0;
  }
  printf("%-7s %8.1f us reader CPU per MiB, %6.2f syscalls per MiB\n", how, cpu * 1e6 / (double)mib,
         (double)calls / (double)mib);
  return 0;
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 2048;
  if (mib == 0) {
    fprintf(stderr, "usage: payload_discard [MiB > 0]\n");
    return 2;
  }
  int rc = 0;
  rc |= run("recv", mib);
  rc |= run("trunc", mib);
  rc |= run("splice", mib);
  return rc;
}
