/* See feature_server.h. */
#include "feature_server.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *server_path(void) {
  const char *p = getenv("RNULL_FEATURE_SERVER");

  return p && *p ? p : NULL;
}

const char *feature_frontend(void) { return server_path() ? "rnull-server" : "nbdkit"; }

int feature_argv(const char **argv, const char *sock, const char *const *args,
                 const char *const *wrapper) {
  const char *keys[PLUGIN_MAX_ARGS];
  int n = 0;

  if (!server_path())
    return frontend_argv(FRONTEND_PLUGIN, argv, PLUGIN_MAX_ARGS, sock, args, wrapper);
  /* The same keys; nbdkit's options left out (but --help). */
  for (int i = 0; args[i] && n < PLUGIN_MAX_ARGS - 1; i++)
    if (args[i][0] != '-' || strcmp(args[i], "--help") == 0)
      keys[n++] = args[i];
  keys[n] = NULL;
  return frontend_argv(FRONTEND_SERVER, argv, PLUGIN_MAX_ARGS, sock, keys, wrapper);
}

int feature_serve(struct harness *h, const char *const *args, const char *const *wrapper) {
  const char *argv[PLUGIN_MAX_ARGS];

  if (feature_argv(argv, h->sock, args, wrapper) < 0)
    return -1;
  return harness_start(h, (char *const *)argv);
}

int feature_run(const char *const *args, char **out) {
  const char *argv[PLUGIN_MAX_ARGS];
  struct harness h;
  char path[400];
  int st;

  *out = NULL;
  if (harness_init(&h) < 0)
    return -1;
  snprintf(path, sizeof path, "%s/out.txt", h.dir);
  st = -1;
  if (feature_argv(argv, h.sock, args, NULL) >= 0)
    st = harness_run((char *const *)argv, path, 30);
  *out = harness_read_file(path);
  harness_cleanup(&h);
  return st;
}

struct nbd_handle *feature_open(struct harness *h, const char *const *args) {
  if (harness_init(h) < 0) {
    EXPECT_MSG(0, "harness_init");
    return NULL;
  }
  return feature_start(h, args);
}

struct nbd_handle *feature_start(struct harness *h, const char *const *args) {
  struct nbd_handle *nbd;

  if (feature_serve(h, args, NULL) < 0) {
    EXPECT_MSG(0, "%s starts", feature_frontend());
    harness_cleanup(h);
    return NULL;
  }
  nbd = nbd_create();
  if (nbd == NULL || nbd_add_meta_context(nbd, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1 ||
      nbd_set_strict_mode(nbd, 0) == -1 || harness_connect_handle(h, nbd) < 0) {
    EXPECT_MSG(0, "connect: %s", nbd_get_error());
    nbd_close(nbd);
    harness_dump_log(h);
    harness_cleanup(h);
    return NULL;
  }
  return nbd;
}

void feature_close(struct harness *h, struct nbd_handle *nbd) {
  if (nbd) {
    EXPECT_NBD_OK(nbd_shutdown(nbd, 0));
    nbd_close(nbd);
  }
  EXPECT_MSG(harness_stop(h) == 0, "%s exits cleanly on SIGTERM (status 0x%x)", feature_frontend(),
             h->status);
  if (expect_failures)
    harness_dump_log(h);
  harness_cleanup(h);
}

struct extents_acc {
  struct extent *out;
  int max, n;
};

static void on_extent(void *user, uint32_t len, uint32_t flags) {
  struct extents_acc *a = user;

  if (a->n < a->max)
    a->out[a->n++] = (struct extent){len, flags};
}

int feature_extents(struct nbd_handle *nbd, uint64_t offset, uint64_t count, struct extent *out,
                    int max) {
  struct extents_acc a = {out, max, 0};
  struct harness_extent_walk w = {on_extent, &a};
  nbd_extent_callback cb = harness_extent_callback(&w);

  if (nbd_block_status(nbd, count, offset, cb, 0) == -1) {
    EXPECT_MSG(0, "block_status(%" PRIu64 ", %" PRIu64 "): %s", offset, count, nbd_get_error());
    return -1;
  }
  return a.n;
}

void feature_pattern(void *buf, size_t len, unsigned seed) {
  unsigned char *b = buf;

  for (size_t i = 0; i < len; i++)
    b[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 9) + 1);
}

int feature_all_zero(const void *buf, size_t len) {
  const unsigned char *b = buf;

  for (size_t i = 0; i < len; i++)
    if (b[i])
      return 0;
  return 1;
}

long long feature_stats_total(const char *path, const char *key) {
  char *text = harness_read_file(path);
  const char *t = strstr(text, "\"total\":");
  char pat[64];
  long long v = -1;

  snprintf(pat, sizeof pat, "\"%s\":", key);
  if (t && (t = strstr(t, pat)) != NULL)
    v = strtoll(t + strlen(pat), NULL, 10);
  free(text);
  return v;
}

long long feature_wait_stats(const char *path, const char *key, long long want, int wait_ms) {
  long long deadline = harness_now_ms() + wait_ms, v;
  struct timespec ts = {0, 50 * 1000000L};

  while ((v = feature_stats_total(path, key)) != want && harness_now_ms() < deadline)
    nanosleep(&ts, NULL);
  return v;
}

bool feature_expect_eq(long long a, long long b, const char *file, int line, const char *sa,
                       const char *sb) {
  return expect_report(a == b, file, line, "%s == %s (%lld vs %lld)", sa, sb, a, b);
}
