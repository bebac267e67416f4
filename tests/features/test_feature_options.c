/* Feature options at the nbdkit level: discard=0 takes trim away (the flag
 * is not advertised and a trim sent anyway fails), zone keys are refused
 * at start-up with a message saying zones are out of scope, cache_size is
 * refused without memory_backed=1 (and below 1 MiB: sizes are bytes), and the
 * feature keys appear in --help. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "feature_server.h"

static void check_discard_off(void) {
  const char *args[] = {"discard=0", "memory_backed=1", "size=16M", NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);
  unsigned char in[4096], out[4096];

  if (!nbd)
    return;
  FEXPECT_EQ(nbd_can_trim(nbd), 0);
  FEXPECT_EQ(nbd_can_zero(nbd), 1);
  feature_pattern(in, sizeof in, 1);
  EXPECT_NBD_OK(nbd_pwrite(nbd, in, sizeof in, 0, 0));
  /* strict mode is off: the trim reaches the server, which refuses it */
  EXPECT_MSG(nbd_trim(nbd, sizeof in, 0, 0) == -1, "trim refused with discard=0");
  int e = nbd_get_errno();
  EXPECT_MSG(e == EINVAL || e == ENOTSUP, "trim errno %d", e);
  /* and the data is untouched */
  if (EXPECT_NBD_OK(nbd_pread(nbd, out, sizeof out, 0, 0)))
    EXPECT(memcmp(in, out, sizeof in) == 0);
  feature_close(&h, nbd);
}

static void check_discard_on_by_default(void) {
  const char *args[] = {"size=16M", NULL};
  struct harness h;
  struct nbd_handle *nbd = feature_open(&h, args);

  if (!nbd)
    return;
  FEXPECT_EQ(nbd_can_trim(nbd), 1);
  EXPECT_NBD_OK(nbd_trim(nbd, 4096, 0, 0));
  feature_close(&h, nbd);
}

static void check_zone_keys_refused(void) {
  static const char *const kv[] = {"zoned=1",        "zone_size=256",   "zone_capacity=128",
                                   "zone_nr_conv=1", "zone_max_open=4", "zone_max_active=4"};

  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
    const char *args[] = {kv[i], NULL};
    char key[32], *text;
    int st = feature_run(args, &text);

    snprintf(key, sizeof key, "%.*s", (int)(strchr(kv[i], '=') - kv[i]), kv[i]);
    EXPECT_MSG(st != 0, "%s refuses %s (status %d)", feature_frontend(), kv[i], st);
    EXPECT_MSG(text && strstr(text, key) && strstr(text, "zone"),
               "the message names %s and says zones are out of scope:\n%s", key, text);
    free(text);
  }
}

/* null_blk's cache_size (a write-back cache in front of the memory store)
 * needs memory_backed=1, and is bytes (a bare 64 is refused, pointing at
 * 64M): refused at start-up, naming both keys. */
static void check_cache_size_refused(void) {
  const char *const cases[][3] = {{"cache_size=64M", NULL, "needs memory_backed=1"},
                                  {"memory_backed=1", "cache_size=64", "below 1 MiB"}};
  for (int i = 0; i < 2; i++) {
    const char *args[] = {cases[i][0], cases[i][1], NULL};
    char *text;
    int st = feature_run(args, &text);
    EXPECT_MSG(st != 0, "%s refuses %s (status %d)", feature_frontend(), cases[i][0], st);
    EXPECT_MSG(text && strstr(text, "cache_size") && strstr(text, cases[i][2]),
               "the message names cache_size and says '%s':\n%s", cases[i][2], text);
    free(text);
  }
}

static void check_help_lists_feature_keys(void) {
  static const char *const keys[] = {
      "memory_backed=", "discard=",    "mbps=",      "timeout_ms=",     "timeout=",   "requeue=",
      "error=",         "fault_seed=", "badblocks=", "badblocks_once=", "stats_file="};
  const char *args[] = {"--help", NULL};
  char *text;
  int st = feature_run(args, &text);

  EXPECT_MSG(st == 0, "%s --help exits 0 (status %d)", feature_frontend(), st);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    EXPECT_MSG(text && strstr(text, keys[i]), "--help lists %s", keys[i]);
  free(text);
}

int main(void) {
  check_discard_off();
  check_discard_on_by_default();
  check_zone_keys_refused();
  check_cache_size_refused();
  check_help_lists_feature_keys();
  fprintf(stderr, "(served by %s)\n", feature_frontend());
  return expect_result("feature options");
}
