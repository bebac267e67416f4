/* The fault attribute's text form, null_blk's "<interval>,<probability>,
 * <space>,<times>": a type of the option table (the live fault state that
 * uses it is the null driver's, lib/null/fault.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

int rnull_fault_parse(const char *s, struct rnull_fault_attr *out, char *err, size_t errlen) {
  long long interval, prob, space, times;
  const char *p = s;
  if (!parse_field(&p, false, false, 0, INT64_MAX, &interval) ||
      !parse_field(&p, false, false, 0, 100, &prob) ||
      !parse_field(&p, false, false, 0, INT64_MAX, &space) ||
      !parse_field(&p, true, true, -1, INT64_MAX, &times)) {
    snprintf(err, errlen,
             "'%s': expected <interval>,<probability>,<space>,<times> with interval >= 0, "
             "probability 0..100, space >= 0, times >= -1 (-1 = unlimited)",
             s);
    return -EINVAL;
  }
  out->enabled = true;
  out->interval = (uint64_t)interval;
  out->probability = (unsigned)prob;
  out->space = space;
  out->times = times;
  return 0;
}
