/* The fault attribute's text form, null_blk's "<interval>,<probability>,
 * <space>,<times>": a type of the option table (the live fault state that
 * uses it is the null driver's, lib/null/fault.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnull/config.h"

/* One decimal field ending at ',' (or at the end for the last one): digits
 * only, an optional '-' where allowed, no blanks, no overflow. */
static bool parse_field(const char **p, bool last, bool allow_minus, long long min,
                        unsigned long long max, long long *out) {
  const char *s = *p;
  bool neg = allow_minus && *s == '-';
  if (neg)
    s++;
  if (*s < '0' || *s > '9')
    return false;
  unsigned long long v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (max - (unsigned long long)(*s - '0')) / 10)
      return false; /* too big even before the sign */
    v = v * 10 + (unsigned long long)(*s - '0');
  }
  if (*s != (last ? '\0' : ','))
    return false;
  long long val = neg ? -(long long)v : (long long)v;
  if (val < min)
    return false;
  *out = val;
  *p = last ? s : s + 1;
  return true;
}

static const struct {
  const char *name;
  int error;
} fault_errnos[] = {
    {"EPERM", EPERM},     {"EIO", EIO},
    {"ENOMEM", ENOMEM},   {"EINVAL", EINVAL},
    {"ENOSPC", ENOSPC},   {"EOVERFLOW", EOVERFLOW},
    {"ENOTSUP", ENOTSUP}, {"ESHUTDOWN", ESHUTDOWN},
};

const char *rnull_fault_errno_name(int error) {
  for (size_t i = 0; i < sizeof fault_errnos / sizeof fault_errnos[0]; i++)
    if (fault_errnos[i].error == error)
      return fault_errnos[i].name;
  return NULL;
}

/* The errno named by s (n bytes), 0 if none of fault_errnos. */
static int errno_by_name(const char *s, size_t n) {
  for (size_t i = 0; i < sizeof fault_errnos / sizeof fault_errnos[0]; i++)
    if (strlen(fault_errnos[i].name) == n && strncmp(fault_errnos[i].name, s, n) == 0)
      return fault_errnos[i].error;
  return 0;
}

int rnull_fault_errno_parse(const char *name) { return errno_by_name(name, strlen(name)); }

/* "<start>-<end>" in sectors, start <= end, the whole of s. */
static bool parse_range(const char *s, uint64_t *start, uint64_t *end) {
  char *e;
  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  unsigned long long a = strtoull(s, &e, 10);
  if (errno || *e != '-' || e[1] < '0' || e[1] > '9')
    return false;
  unsigned long long b = strtoull(e + 1, &e, 10);
  if (errno || *e || a > b)
    return false;
  *start = a;
  *end = b;
  return true;
}

int rnull_fault_parse(const char *s, struct rnull_fault_attr *out, char *err, size_t errlen) {
  long long interval, prob, space, times;
  char body[128];
  const char *at = strchr(s, '@');
  size_t n = at ? (size_t)(at - s) : strlen(s);
  struct rnull_fault_attr a = {.enabled = true, .error = EIO};
  if (at && !parse_range(at + 1, &a.start, &a.end)) {
    snprintf(err, errlen,
             "'%s': expected @<start>-<end> after the fault, in 512-byte sectors, start <= end", s);
    return -EINVAL;
  }
  a.ranged = at != NULL;
  if (n >= sizeof body)
    n = sizeof body - 1;
  memcpy(body, s, n);
  body[n] = '\0';
  /* the optional fifth field: a name, after the fourth comma */
  char *name = NULL, *c = body;
  for (int commas = 0; (c = strchr(c, ',')) != NULL; c++)
    if (++commas == 4) {
      *c = '\0';
      name = c + 1;
      break;
    }
  const char *p = body;
  if (!parse_field(&p, false, false, 0, INT64_MAX, &interval) ||
      !parse_field(&p, false, false, 0, 100, &prob) ||
      !parse_field(&p, false, false, 0, INT64_MAX, &space) ||
      !parse_field(&p, true, true, -1, INT64_MAX, &times)) {
    snprintf(err, errlen,
             "'%s': expected <interval>,<probability>,<space>,<times>[,<errno>][@<start>-<end>] "
             "with interval >= 0, probability 0..100, space >= 0, times >= -1 (-1 = unlimited)",
             s);
    return -EINVAL;
  }
  if (name && !(a.error = errno_by_name(name, strlen(name)))) {
    snprintf(err, errlen,
             "'%s': unknown error '%s' in <interval>,<probability>,<space>,<times>,<errno>: "
             "expected one of " RNULL_FAULT_ERRNOS,
             s, name);
    return -EINVAL;
  }
  a.interval = (uint64_t)interval;
  a.probability = (unsigned)prob;
  a.space = space;
  a.times = times;
  *out = a;
  return 0;
}
