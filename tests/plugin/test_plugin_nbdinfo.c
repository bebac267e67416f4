/* What a user sees with `nbdinfo` on `nbdkit rnull.so` with no keys: the
 * 4 GiB size, the block size constraints, not rotational, and every flag
 * the plugin offers (flush, FUA, trim, zero, fast zero, cache, multi-conn,
 * base:allocation extents), plus the disk name as the description. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "expect.h"
#include "plugin_server.h"

#ifndef NBDINFO_PROGRAM
#define NBDINFO_PROGRAM "nbdinfo"
#endif

int main(void) {
  static const char *const fields[] = {
      "\"export-size\": 4294967296",
      "\"block_size_minimum\": 4096",
      "\"block_size_preferred\": 4096",
      "\"block_size_maximum\": 33554432",
      "\"is_rotational\": false",
      "\"is_read_only\": false",
      "\"can_cache\": true",
      "\"can_fast_zero\": true",
      "\"can_flush\": true",
      "\"can_fua\": true",
      "\"can_multi_conn\": true",
      "\"can_trim\": true",
      "\"can_zero\": true",
      "\"base:allocation\"",
      "\"description\": \"rnullb0\"",
  };
  struct harness h;
  char uri[400], out[300];
  char *argv[] = {NBDINFO_PROGRAM, "--json", uri, NULL};
  char *text;
  int st;

  if (harness_init(&h) < 0 || plugin_start(&h, (const char *)NULL) < 0)
    return 1;
  snprintf(uri, sizeof uri, "nbd+unix:///?socket=%s", h.sock);
  snprintf(out, sizeof out, "%s/nbdinfo.json", h.dir);
  st = harness_run(argv, out, 30);
  text = harness_read_file(out);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nbdinfo exits 0 (0x%x):\n%s", st, text);
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    EXPECT_MSG(strstr(text, fields[i]) != NULL, "nbdinfo shows %s:\n%s", fields[i], text);
  free(text);
  plugin_stop_clean(&h, "nbdinfo");
  if (expect_failures)
    harness_dump_log(&h);
  harness_cleanup(&h);
  return expect_result("plugin seen by nbdinfo");
}
