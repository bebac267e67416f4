/* Soft assertions: see expect.h. */
#include "expect.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <libnbd.h>

int expect_failures;
int expect_checks;

bool expect_report(bool ok, const char *file, int line, const char *fmt, ...) {
  va_list ap;

  expect_checks++;
  if (ok)
    return true;
  expect_failures++;
  fprintf(stderr, "%s:%d: FAILED: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return false;
}

bool expect_nbd_ok(int64_t r, const char *file, int line, const char *what) {
  if (r != -1)
    return expect_report(true, file, line, "%s", what);
  return expect_report(false, file, line, "%s: %s", what, nbd_get_error());
}

bool expect_nbd_errno(int64_t r, int err, const char *file, int line, const char *what) {
  int got = r == -1 ? nbd_get_errno() : 0;

  if (r != -1)
    return expect_report(false, file, line, "%s succeeded, expected %s", what, strerror(err));
  return expect_report(got == err, file, line, "%s: errno %s, expected %s (%s)", what,
                       strerror(got), strerror(err), nbd_get_error());
}

int expect_result(const char *name) {
  if (expect_checks == 0) {
    fprintf(stderr, "FAIL %s: no checks ran\n", name);
    return 1;
  }
  if (expect_failures) {
    fprintf(stderr, "FAIL %s (%d of %d checks)\n", name, expect_failures, expect_checks);
    return 1;
  }
  printf("PASS %s (%d checks)\n", name, expect_checks);
  return 0;
}
