/* Soft assertions for integration tests: a failed EXPECT prints where and
 * why and the test goes on (so its servers are still stopped and its temp
 * dirs removed); expect_result() is main's exit code. */
#ifndef RNULL_TEST_EXPECT_H
#define RNULL_TEST_EXPECT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

extern int expect_failures;
extern int expect_checks;

bool expect_report(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Returns cond, so a test can skip what depends on it. */
#define EXPECT(cond) expect_report(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define EXPECT_MSG(cond, ...) expect_report(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
/* Each argument is evaluated once (a call inside runs once). */
#define EXPECT_EQ_U64(a, b) expect_eq_u64((uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__, #a, #b)
#define EXPECT_EQ_INT(a, b)                                                                        \
  expect_eq_int((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)

static inline bool expect_eq_u64(uint64_t a, uint64_t b, const char *file, int line, const char *sa,
                                 const char *sb) {
  return expect_report(a == b, file, line, "%s == %s (%" PRIu64 " vs %" PRIu64 ")", sa, sb, a, b);
}

static inline bool expect_eq_int(long long a, long long b, const char *file, int line,
                                 const char *sa, const char *sb) {
  return expect_report(a == b, file, line, "%s == %s (%lld vs %lld)", sa, sb, a, b);
}

/* A libnbd call that must succeed (its error printed if not). */
#define EXPECT_NBD_OK(call) expect_nbd_ok((call), __FILE__, __LINE__, #call)
/* A libnbd call that must fail with errno err as sent by the server. */
#define EXPECT_NBD_ERRNO(call, err) expect_nbd_errno((call), (err), __FILE__, __LINE__, #call)

bool expect_nbd_ok(int64_t r, const char *file, int line, const char *what);
bool expect_nbd_errno(int64_t r, int err, const char *file, int line, const char *what);

/* "PASS name (N checks)" or "FAIL name (F of N checks)"; 0 or 1 for main. */
int expect_result(const char *name);

#endif
