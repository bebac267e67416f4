/* The NBD server library's contract (include/rnull/nbd_server.h), through
 * librnull-nbd.so.1 as a user program links it: a disk served on a kernel-
 * picked TCP port and reached by libnbd, stop from another thread, stop
 * before run, errors named in err, the Unix socket unlinked at destroy. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnbd.h>

#include "rnull/nbd_server.h"
#include "rnull/rnull.h"

static int failures;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (cond) {                                                                                    \
      printf("ok: " __VA_ARGS__);                                                                  \
    } else {                                                                                       \
      printf("FAIL: " __VA_ARGS__);                                                                \
      failures++;                                                                                  \
    }                                                                                              \
    putchar('\n');                                                                                 \
  } while (0)

static struct rnull_disk *null_disk(const char *keys) {
  struct rnull_config cfg;
  struct rnull_disk *d = NULL;
  char err[RNULL_ERR_LEN], kv[64];
  rnull_config_init(&cfg);
  for (const char *p = keys; p && *p;) {
    size_t n = strcspn(p, " ");
    snprintf(kv, sizeof kv, "%.*s", (int)n, p);
    if (rnull_config_set_kv(&cfg, kv, err, sizeof err) < 0)
      return NULL;
    p += n + (p[n] == ' ');
  }
  return rnull_null_disk_create(&d, &cfg, err, sizeof err) == 0 ? d : NULL;
}

struct client {
  struct rnull_nbd_server *srv;
  unsigned port;
  int64_t size;
  char *desc;
  int rw_ok;
};

/* on_ready: a client thread does one write and one read, then stops the
 * server from its own thread. */
static void *client_main(void *arg) {
  struct client *c = arg;
  struct nbd_handle *h = nbd_create();
  char port[16], buf[4096], back[4096];
  snprintf(port, sizeof port, "%u", c->port);
  memset(buf, 0x6b, sizeof buf);
  nbd_set_full_info(h, true);
  if (nbd_connect_tcp(h, "127.0.0.1", port) == 0) {
    c->size = nbd_get_size(h);
    c->desc = nbd_get_export_description(h);
    c->rw_ok = nbd_pwrite(h, buf, sizeof buf, 8192, 0) == 0 &&
               nbd_pread(h, back, sizeof back, 8192, 0) == 0 && !memcmp(buf, back, sizeof buf);
    nbd_shutdown(h, 0);
  } else {
    fprintf(stderr, "connect: %s\n", nbd_get_error());
  }
  nbd_close(h);
  rnull_nbd_server_stop(c->srv);
  return NULL;
}

static pthread_t client_thread;
static void on_ready(void *arg) { pthread_create(&client_thread, NULL, client_main, arg); }

static void test_serve_and_stop_from_a_thread(const char *dir) {
  struct rnull_disk *d = null_disk("size=16M memory_backed=1 submit_queues=2");
  struct rnull_nbd_server_opts o;
  struct client c = {0};
  char err[RNULL_ERR_LEN], desc[64] = "library test disk", stats[256], stats_arg[256];
  snprintf(stats, sizeof stats, "%s/stats.json", dir);
  snprintf(stats_arg, sizeof stats_arg, "%s", stats);
  rnull_nbd_server_opts_init(&o);
  o.port = 0; /* the kernel picks */
  o.handle_signals = false;
  o.description = desc;
  o.stats_file = stats_arg;
  o.on_ready = on_ready;
  o.on_ready_arg = &c;
  int r = rnull_nbd_server_create(&c.srv, d, &o, err, sizeof err);
  CHECK(r == 0, "create on 127.0.0.1 port 0 (%s)", r ? err : "");
  if (r)
    return;
  /* create copied the options and their strings */
  memset(desc, 'x', sizeof desc - 1);
  memset(stats_arg, 0, sizeof stats_arg);
  memset(&o, 0, sizeof o);
  c.port = rnull_nbd_server_port(c.srv);
  CHECK(c.port > 0, "rnull_nbd_server_port says the kernel's pick (%u)", c.port);
  CHECK(rnull_disk_state(d) == RNULL_DISK_ADDED, "create added the disk");
  r = rnull_nbd_server_run(c.srv, err, sizeof err);
  pthread_join(client_thread, NULL);
  CHECK(r == 0, "run returns 0 after a stop from the client's thread");
  CHECK(c.size == 16 << 20, "the client sees the disk's size (%lld)", (long long)c.size);
  CHECK(c.desc && !strcmp(c.desc, "library test disk"), "the description is the caller's (%s)",
        c.desc ? c.desc : "none");
  CHECK(c.rw_ok, "a write reads back");
  struct rnull_stats st;
  rnull_disk_stats(d, &st);
  CHECK(st.completed == 2 && st.inflight == 0, "the engine ended both requests");
  FILE *f = fopen(stats, "r");
  char json[256] = "";
  if (f) {
    CHECK(fread(json, 1, sizeof json - 1, f) > 0, "the stats file has something");
    fclose(f);
  }
  CHECK(strstr(json, "\"disk\"") != NULL, "the stats_file option wrote JSON (%.60s)", json);
  unlink(stats);
  free(c.desc);
  rnull_nbd_server_destroy(c.srv);
  rnull_disk_destroy(d);
}

static void test_stop_before_run(const char *dir) {
  struct rnull_disk *d = null_disk("size=1M");
  struct rnull_nbd_server_opts o;
  struct rnull_nbd_server *s;
  char err[RNULL_ERR_LEN], sock[256];
  snprintf(sock, sizeof sock, "%s/s.sock", dir);
  rnull_nbd_server_opts_init(&o);
  o.unix_path = sock;
  o.handle_signals = false;
  int r = rnull_nbd_server_create(&s, d, &o, err, sizeof err);
  CHECK(r == 0, "create on a Unix socket (%s)", r ? err : "");
  if (r)
    return;
  CHECK(access(sock, F_OK) == 0, "the socket exists");
  rnull_nbd_server_stop(s);
  CHECK(rnull_nbd_server_run(s, err, sizeof err) == 0, "stopped before run: run returns at once");
  CHECK(rnull_nbd_server_run(s, err, sizeof err) == -EINVAL, "run twice: -EINVAL (%s)", err);
  rnull_nbd_server_destroy(s);
  CHECK(access(sock, F_OK) < 0, "destroy unlinks the socket");
  rnull_disk_destroy(d);
}

static void no_end_io(void *cookie, int status, uint32_t done_flags) {
  (void)cookie;
  (void)status;
  (void)done_flags;
}

static void test_errors(const char *dir) {
  struct rnull_nbd_server_opts o;
  struct rnull_nbd_server *s = (void *)1;
  char err[RNULL_ERR_LEN];
  struct rnull_disk *d = null_disk("size=1M");
  rnull_nbd_server_opts_init(&o);
  o.port = 0;
  o.poll = "sometimes";
  int r = rnull_nbd_server_create(&s, d, &o, err, sizeof err);
  CHECK(r == -EINVAL && s == NULL && strstr(err, "sometimes"), "a bad poll mode is named (%s)",
        err);
  o.poll = NULL;
  o.stats_file = dir;
  r = rnull_nbd_server_create(&s, d, &o, err, sizeof err);
  CHECK(r == -EINVAL && strstr(err, dir) && strstr(err, "not a regular file"),
        "a stats_file that is no regular file is refused (%s)", err);
  o.stats_file = NULL;
  rnull_disk_add(d, no_end_io, err, sizeof err);
  r = rnull_nbd_server_create(&s, d, &o, err, sizeof err);
  CHECK(r == -EBUSY && err[0], "an ADDED disk is refused: the server adds it (%s)", err);
  rnull_disk_destroy(d);
  d = null_disk("size=1M");
  o.unix_path = "/nonexistent-dir/s.sock";
  r = rnull_nbd_server_create(&s, d, &o, err, sizeof err);
  CHECK(r < 0 && err[0], "a socket that cannot be made is an error (%s)", err);
  rnull_disk_destroy(d);
}

int main(void) {
  char dir[] = "/tmp/rnull-nbdlib.XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  test_serve_and_stop_from_a_thread(dir);
  test_stop_before_run(dir);
  test_errors(dir);
  rmdir(dir);
  printf("%d failure(s)\n", failures);
  return failures != 0;
}
