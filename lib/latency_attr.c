/* The latency keys' text form: durations ("200us", "1.5ms") and
 * distributions ("lognormal:200us,2ms", "hist:FILE"): a type of the option
 * table. Pure parsers; the draws are the null driver's (lib/null/latency.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key_files.h"
#include "rnull/config.h"

/* The unit suffix at s: its ns multiplier and length, or 0 if none fits. */
static uint64_t unit_of(const char *s, size_t *len) {
  static const struct {
    const char *name;
    uint64_t mult;
  } units[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}, {"", 1}};
  for (unsigned i = 0; i < sizeof units / sizeof units[0]; i++) {
    size_t n = strlen(units[i].name);
    if (strncmp(s, units[i].name, n) == 0) {
      *len = n;
      return units[i].mult;
    }
  }
  return 0;
}

/* A duration from s up to (not including) stop chars or the end; *end past it. */
static int duration_at(const char *s, const char **end, uint64_t *ns) {
  uint64_t whole = 0, frac = 0, scale = 1;
  const char *p = s;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (whole > RNULL_LATENCY_MAX_NS)
      return -EINVAL;
    whole = whole * 10 + (uint64_t)(*p - '0');
  }
  if (p == s)
    return -EINVAL;
  if (*p == '.') {
    const char *f = ++p;
    for (; *p >= '0' && *p <= '9'; p++)
      if (scale < 1000000000ull) {
        frac = frac * 10 + (uint64_t)(*p - '0');
        scale *= 10;
      }
    if (p == f)
      return -EINVAL;
  }
  size_t ulen;
  uint64_t mult = unit_of(p, &ulen);
  if (whole > RNULL_LATENCY_MAX_NS / mult)
    return -EINVAL;
  uint64_t v = whole * mult + frac * mult / scale;
  if (v > RNULL_LATENCY_MAX_NS)
    return -EINVAL;
  *end = p + ulen;
  *ns = v;
  return 0;
}

int rnull_duration_parse(const char *s, uint64_t *ns) {
  const char *end;
  if (duration_at(s, &end, ns) < 0 || *end)
    return -EINVAL;
  return 0;
}

/* "A<sep>B": two durations. */
static int two_durations(const char *s, char sep, uint64_t *a, uint64_t *b) {
  const char *p;
  if (duration_at(s, &p, a) < 0 || *p != sep || duration_at(p + 1, &p, b) < 0 || *p)
    return -EINVAL;
  return 0;
}

/* ALPHA of pareto: a positive decimal, digits with an optional fraction. */
static int parse_alpha(const char *s, double *out) {
  const char *p = s;
  while (*p >= '0' && *p <= '9')
    p++;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++)
      ;
  if (p == s || *p || s[0] == '.')
    return -EINVAL;
  *out = strtod(s, NULL);
  return *out > 0 && *out <= 1000 ? 0 : -EINVAL;
}

/* One "latency_ns weight" line (blank lines and # comments are skipped by
 * the caller). */
static int hist_line(const char *line, uint64_t *ns, double *w) {
  char *end;
  const char *p = line;
  if (*p < '0' || *p > '9')
    return -EINVAL;
  unsigned long long v = strtoull(p, &end, 10);
  if (end == p || (*end != ' ' && *end != '\t') || v > RNULL_LATENCY_MAX_NS)
    return -EINVAL;
  p = end;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p < '0' || *p > '9')
    return -EINVAL;
  double wt = strtod(p, &end);
  while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
    end++;
  if (*end || !(wt >= 0) || wt > 1e18)
    return -EINVAL;
  *ns = v;
  *w = wt;
  return 0;
}

static int hist_grow(uint64_t **values, double **cum, size_t *cap) {
  size_t ncap = *cap ? *cap * 2 : 64;
  uint64_t *v = realloc(*values, ncap * sizeof *v);
  if (v)
    *values = v;
  double *c = v ? realloc(*cum, ncap * sizeof *c) : NULL;
  if (!c)
    return -ENOMEM;
  *cum = c;
  *cap = ncap;
  return 0;
}

/* The next line of text at *p (without its newline) into line; false at
 * the end. A line longer than the buffer is an error (*toolong). */
static bool next_line(const char **p, const char *end, char *line, size_t len, bool *toolong) {
  if (*p >= end)
    return false;
  const char *nl = memchr(*p, '\n', (size_t)(end - *p));
  size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
  *toolong = n >= len;
  if (!*toolong) {
    memcpy(line, *p, n);
    line[n] = 0;
  }
  *p += n + (nl ? 1 : 0);
  return true;
}

static int hist_parse(const char *data, size_t size, const char *path, uint64_t **values,
                      double **cum, size_t *n, char *err, size_t errlen) {
  char line[256];
  size_t cap = 0;
  double total = 0;
  bool toolong;
  const char *at = data, *end = data + size;
  if (memchr(data, 0, size)) {
    snprintf(err, errlen, "%s: a NUL byte: not a text file", path);
    return -EINVAL;
  }
  for (unsigned lineno = 1; next_line(&at, end, line, sizeof line, &toolong); lineno++) {
    const char *p = line;
    uint64_t ns;
    double w;
    while (!toolong && (*p == ' ' || *p == '\t'))
      p++;
    if (!toolong && (*p == '#' || *p == '\r' || !*p))
      continue;
    if (toolong || hist_line(p, &ns, &w) < 0) {
      snprintf(err, errlen, "%s line %u: expected 'latency_ns weight' (ns up to %llu)", path,
               lineno, (unsigned long long)RNULL_LATENCY_MAX_NS);
      return -EINVAL;
    }
    if (w == 0)
      continue;
    if (*n == cap && hist_grow(values, cum, &cap) < 0) {
      snprintf(err, errlen, "%s: out of memory", path);
      return -ENOMEM;
    }
    total += w;
    (*values)[*n] = ns;
    (*cum)[(*n)++] = total;
  }
  if (*n == 0) {
    snprintf(err, errlen, "%s: no line with a positive weight", path);
    return -EINVAL;
  }
  return 0;
}

/* path's bytes: under the registry lock (a set armed for this thread) the
 * ones read before it, else read now (bounded, never blocking: key_files.h).
 * abs (may be NULL) gets the absolute path. */
static int hist_bytes(const char *path, char **data, size_t *len, char abs[256], char *err,
                      size_t errlen) {
  const struct rnull_key_files *armed = rnull_key_files_armed();
  if (armed) {
    const struct rnull_key_file *f = rnull_key_files_find(armed, path);
    if (f && !f->data && f->why[0]) {
      snprintf(err, errlen, "%s", f->why);
      return -EINVAL;
    }
    if (!f || !f->data || !(*data = malloc(f->len + 1))) {
      snprintf(err, errlen, "%s: not read before the command (changed meanwhile?): try again",
               path);
      return -EAGAIN;
    }
    memcpy(*data, f->data, f->len + 1);
    *len = f->len;
    if (abs)
      strcpy(abs, f->abs);
    return 0;
  }
  int r = rnull_key_file_read(path, data, len, err, errlen);
  if (r < 0 || !abs)
    return r;
  char *a = realpath(path, NULL);
  if (!a || strlen(a) >= 256) {
    snprintf(err, errlen, "%s: its absolute path is longer than 255 bytes", path);
    free(a);
    free(*data);
    return -ENAMETOOLONG;
  }
  strcpy(abs, a);
  free(a);
  return 0;
}

static int hist_load(const char *path, uint64_t **values, double **cum, size_t *n, char abs[256],
                     char *err, size_t errlen) {
  char *data;
  size_t len;
  int r = hist_bytes(path, &data, &len, abs, err, errlen);
  if (r < 0)
    return r;
  *values = NULL;
  *cum = NULL;
  *n = 0;
  r = hist_parse(data, len, path, values, cum, n, err, errlen);
  free(data);
  if (r < 0) {
    free(*values);
    free(*cum);
    *values = NULL;
    *cum = NULL;
  }
  return r;
}

int rnull_latency_hist_load(const char *path, uint64_t **values, double **cum, size_t *n, char *err,
                            size_t errlen) {
  return hist_load(path, values, cum, n, NULL, err, errlen);
}

static int parse_hist(const char *file, struct rnull_latency_attr *a, char *err, size_t errlen) {
  if (!*file || strlen(file) >= sizeof a->file) {
    snprintf(err, errlen, "hist:FILE: a path of 1 to %zu bytes", sizeof a->file - 1);
    return -EINVAL;
  }
  uint64_t *values;
  double *cum;
  size_t n;
  /* kept absolute: the driver reads it again when the disk is added, maybe
   * after a daemon's chdir("/") */
  char abs[256];
  int r = hist_load(file, &values, &cum, &n, abs, err, errlen);
  if (r < 0)
    return -EINVAL;
  free(values);
  free(cum);
  strcpy(a->file, abs);
  return 0;
}

/* The parameters after "name:", for one kind. */
static int parse_params(struct rnull_latency_attr *a, const char *p, char *err, size_t errlen) {
  switch (a->kind) {
  case RNULL_DIST_FIXED:
  case RNULL_DIST_EXP:
    return rnull_duration_parse(p, &a->a);
  case RNULL_DIST_UNIFORM:
    return two_durations(p, '-', &a->a, &a->b) < 0 || a->a > a->b ? -EINVAL : 0;
  case RNULL_DIST_NORMAL:
    return two_durations(p, ',', &a->a, &a->b);
  case RNULL_DIST_LOGNORMAL:
    return two_durations(p, ',', &a->a, &a->b) < 0 || a->a == 0 || a->b <= a->a ? -EINVAL : 0;
  case RNULL_DIST_PARETO: {
    const char *comma;
    if (duration_at(p, &comma, &a->a) < 0 || *comma != ',' || a->a == 0)
      return -EINVAL;
    return parse_alpha(comma + 1, &a->alpha);
  }
  case RNULL_DIST_HIST:
    return parse_hist(p, a, err, errlen);
  case RNULL_DIST_NONE:
    break;
  }
  return -EINVAL;
}

static const char *const kind_names[] = {
    [RNULL_DIST_FIXED] = "fixed",         [RNULL_DIST_UNIFORM] = "uniform",
    [RNULL_DIST_NORMAL] = "normal",       [RNULL_DIST_EXP] = "exp",
    [RNULL_DIST_LOGNORMAL] = "lognormal", [RNULL_DIST_PARETO] = "pareto",
    [RNULL_DIST_HIST] = "hist",
};

int rnull_latency_parse(const char *s, struct rnull_latency_attr *out, char *err, size_t errlen) {
  struct rnull_latency_attr a = {0};
  const char *colon = strchr(s, ':');
  if (err && errlen)
    err[0] = '\0';
  if (strcmp(s, "none") == 0) {
    *out = a;
    return 0;
  }
  for (unsigned k = RNULL_DIST_FIXED; colon && k <= RNULL_DIST_HIST; k++)
    if ((size_t)(colon - s) == strlen(kind_names[k]) &&
        strncmp(s, kind_names[k], (size_t)(colon - s)) == 0)
      a.kind = (enum rnull_dist_kind)k;
  if (a.kind == RNULL_DIST_NONE || parse_params(&a, colon + 1, err, errlen) < 0)
    return -EINVAL;
  *out = a;
  return 0;
}

/* A duration with the largest unit that keeps it whole. */
static void format_duration(uint64_t ns, char *buf, size_t len) {
  if (ns && ns % 1000000000 == 0)
    snprintf(buf, len, "%" PRIu64 "s", ns / (uint64_t)1000000000);
  else if (ns && ns % 1000000 == 0)
    snprintf(buf, len, "%" PRIu64 "ms", ns / 1000000);
  else if (ns && ns % 1000 == 0)
    snprintf(buf, len, "%" PRIu64 "us", ns / 1000);
  else
    snprintf(buf, len, "%" PRIu64 "ns", ns);
}

void rnull_latency_format(const struct rnull_latency_attr *a, char *buf, size_t len) {
  char x[32], y[32];
  format_duration(a->a, x, sizeof x);
  format_duration(a->b, y, sizeof y);
  switch (a->kind) {
  case RNULL_DIST_NONE:
    snprintf(buf, len, "unset");
    return;
  case RNULL_DIST_FIXED:
  case RNULL_DIST_EXP:
    snprintf(buf, len, "%s:%s", kind_names[a->kind], x);
    return;
  case RNULL_DIST_UNIFORM:
    snprintf(buf, len, "uniform:%s-%s", x, y);
    return;
  case RNULL_DIST_NORMAL:
  case RNULL_DIST_LOGNORMAL:
    snprintf(buf, len, "%s:%s,%s", kind_names[a->kind], x, y);
    return;
  case RNULL_DIST_PARETO:
    snprintf(buf, len, "pareto:%s,%g", x, a->alpha);
    return;
  case RNULL_DIST_HIST:
    snprintf(buf, len, "hist:%s", a->file);
    return;
  }
}
