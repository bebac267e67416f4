/* libFuzzer target: the control protocol's line parser and commands
 * (rnull_ctl_exec, and the control socket's line check for bytes with NULs
 * in them). The input is a session: lines split at '\n', run in order
 * against one registry (made afresh per input, with a small memory budget).
 * Invariants: every reply ends with exactly one "ok" or "error: " line, the
 * return value agrees with it, and a line with a NUL or a control character
 * is refused before anything runs. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/preload.h"
#include "rnull/ctl.h"

static void no_end_io(void *cookie, int status, uint32_t flags) {
  (void)cookie;
  (void)status;
  (void)flags;
}

static void run_line(struct rnull_ctl *ctl, const char *line, size_t len) {
  char err[160], *out = NULL;
  size_t olen = 0;
  bool refused = ctl_check_line(line, len, err, sizeof err) < 0;
  if (refused || len >= RNULL_CTL_LINE_MAX)
    return; /* the socket answers these itself */
  char *copy = strndup(line, len);
  FILE *m = open_memstream(&out, &olen);
  int r = rnull_ctl_exec(ctl, copy, m);
  fclose(m);
  assert(olen > 0 && out[olen - 1] == '\n');
  char *last = out + olen - 1;
  while (last > out && last[-1] != '\n')
    last--;
  if (r == 0)
    assert(!strcmp(last, "ok\n"));
  else
    assert(!strncmp(last, "error: ", 7) && !memchr(last, '\n', (size_t)(out + olen - 1 - last)));
  free(out);
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rnull_ctl *ctl;
  struct rnull_ctl_hooks h = {.end_io = no_end_io};
  if (rnull_ctl_new(&ctl, &h) < 0)
    return 0;
  rnull_ctl_set_memory_budget(ctl, 64 << 20);
  const char *p = (const char *)data, *end = p + size;
  for (int lines = 0; p < end && lines < 16; lines++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    run_line(ctl, p, len);
    p += len + 1;
  }
  rnull_ctl_free(ctl);
  return 0;
}
