/* Shared by the unit tests that drive a registry through its line
 * protocol (rnull_ctl_exec): one registry per test, a command's whole reply. */
#ifndef RNULL_TEST_CTL_FIXTURE_H
#define RNULL_TEST_CTL_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "rnull/ctl.h"

static struct rnull_ctl *ctl;

/* One command; its whole reply (valid until the next call). */
static inline char *exec(const char *line) {
  static char *buf;
  size_t len = 0;
  free(buf);
  buf = NULL;
  FILE *m = open_memstream(&buf, &len);
  rnull_ctl_exec(ctl, line, m);
  fclose(m);
  return buf;
}

#define EXPECT_REPLY(line, want) ck_assert_str_eq(exec(line), want)
#define EXPECT_HAS(line, part)                                                                     \
  do {                                                                                             \
    const char *r_ = exec(line);                                                                   \
    ck_assert_msg(strstr(r_, part) != NULL, "%s -> %s (wanted %s)", line, r_, part);               \
  } while (0)

/* A registry whose disks end requests into fixture.h's record. */
static inline void ctl_setup(void) {
  struct rnull_ctl_hooks h = {.end_io = record_end_io};
  ck_assert_int_eq(rnull_ctl_new(&ctl, &h), 0);
}
static inline void ctl_teardown(void) { rnull_ctl_free(ctl); }

#endif
