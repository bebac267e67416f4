/* Option tables, whoever owns them: their parsers, --help and dump. Each
 * key is one RNULL_OPT() line of its owner's table (the core's in
 * lib/mq/params.c, the null driver's in lib/null/options.c, the front
 * ends' in lib/frontend_options.c, a driver's in its own file); everything
 * here walks a table and knows none of them. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnull/config.h"

/* Decimal digits only: no sign, no blanks, no 0x or octal (strtoull's base 0
 * read "010" as 8). Sets *end past the digits. 0 or -EINVAL (none, overflow). */
static int parse_decimal(const char *s, const char **end, uint64_t *out) {
  uint64_t v = 0;
  const char *p = s;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      return -EINVAL;
    v = v * 10 + d;
  }
  if (p == s)
    return -EINVAL;
  *end = p;
  *out = v;
  return 0;
}

int rnull_parse_size(const char *s, uint64_t *out) {
  const char *end;
  uint64_t v;
  if (parse_decimal(s, &end, &v) < 0)
    return -EINVAL;
  unsigned shift = 0;
  if (*end) {
    const char *units = "KMGTPE";
    const char *u = strchr(units, toupper((unsigned char)*end));
    if (!u)
      return -EINVAL;
    shift = 10 * (unsigned)(u - units + 1);
    end++;
    if (end[0] == 'i' && end[1] == 'B')
      end += 2;
    else if (end[0] == 'B')
      end++;
    if (*end)
      return -EINVAL;
  }
  if (shift && v > (UINT64_MAX >> shift))
    return -EINVAL;
  *out = v << shift;
  return 0;
}

static int parse_uint(const char *s, uint64_t *out) {
  const char *end;
  if (parse_decimal(s, &end, out) < 0 || *end)
    return -EINVAL;
  return 0;
}

static int parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
                                                                              "off"};
  for (unsigned i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0)
      return *out = true, 0;
    if (strcasecmp(s, no[i]) == 0)
      return *out = false, 0;
  }
  return -EINVAL;
}

static int parse_irqmode(const char *s, enum rnull_irqmode *out) {
  static const char *const names[] = {"none", "softirq", "timer"};
  for (unsigned i = 0; i < 3; i++) {
    char num[2] = {(char)('0' + i), 0};
    if (strcasecmp(s, names[i]) == 0 || strcmp(s, num) == 0)
      return *out = (enum rnull_irqmode)i, 0;
  }
  return -EINVAL;
}

static int parse_ranges(const char *s, struct rnull_ranges *out) {
  struct rnull_ranges got;
  unsigned n = 0;
  const char *p = s;
  while (*p) {
    uint64_t a, b;
    if (n == RNULL_MAX_BADBLOCK_RANGES || parse_decimal(p, &p, &a) < 0 || *p++ != '-' ||
        parse_decimal(p, &p, &b) < 0 || a > b)
      return -EINVAL;
    if (*p == ',' && p[1])
      p++;
    else if (*p)
      return -EINVAL;
    got.r[n++] = (struct rnull_range){a, b};
  }
  if (n == 0)
    return -EINVAL;
  got.n = n;
  *out = got;
  return 0;
}

/* Describe the allowed values of an option, for error messages and help. */
void rnull_option_describe(const struct rnull_option *o, char *buf, size_t len) {
  switch (o->type) {
  case RNULL_OPT_SIZE:
    snprintf(buf, len, "a size from %" PRIu64 " to %" PRIu64 " bytes (K/M/G/T/P/E suffixes)",
             o->min, o->max);
    break;
  case RNULL_OPT_UINT:
    snprintf(buf, len, "a decimal integer from %" PRIu64 " to %" PRIu64, o->min, o->max);
    break;
  case RNULL_OPT_POW2:
    snprintf(buf, len, "%sa power of two from %" PRIu64 " to %" PRIu64, o->zero_is ? "0 or " : "",
             o->min, o->max);
    break;
  case RNULL_OPT_BOOL:
    snprintf(buf, len, "a boolean: 0/1, false/true, no/yes, off/on");
    break;
  case RNULL_OPT_NAME:
    snprintf(buf, len, "a string of 1 to %" PRIu64 " bytes, no blank, '=' or control character",
             o->max);
    break;
  case RNULL_OPT_IRQ:
    snprintf(buf, len, "none|softirq|timer or 0|1|2");
    break;
  case RNULL_OPT_FAULT:
    snprintf(buf, len,
             "<interval>,<probability 0..100>,<space>,<times (-1 = "
             "unlimited)>[,<errno: " RNULL_FAULT_ERRNOS ">][@<start>-<end> sectors]");
    break;
  case RNULL_OPT_RANGES:
    snprintf(buf, len, "START-END[,START-END...] in sectors, START <= END, at most %d ranges",
             RNULL_MAX_BADBLOCK_RANGES);
    break;
  case RNULL_OPT_PATH:
    snprintf(buf, len, "a path of 1 to %" PRIu64 " bytes", o->max);
    break;
  case RNULL_OPT_LATENCY:
    snprintf(buf, len, "%s", RNULL_LATENCY_FORMS);
    break;
  case RNULL_OPT_DURATION:
    snprintf(buf, len, "a duration, decimal with ns/us/ms/s suffix (ns if none), at most 3600s");
    break;
  case RNULL_OPT_REJECT:
    snprintf(buf, len, "%s", o->help);
    break;
  }
}

/* Integer fields are as wide as the table says. */
static void store_uint(const struct rnull_option *o, char *field, uint64_t n) {
  if (o->size == sizeof(uint32_t))
    *(uint32_t *)field = (uint32_t)n;
  else
    *(uint64_t *)field = n;
}

static uint64_t load_uint(const struct rnull_option *o, const char *field) {
  return o->size == sizeof(uint32_t) ? *(const uint32_t *)field : *(const uint64_t *)field;
}

/* A name or a path is one line of text (the dump is key=value lines; a
 * name is also an export name and a word of the control protocol): no
 * control character, and for a name no blank or '=' either. */
static bool text_ok(const char *v, bool name) {
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p < 0x20 || *p == 0x7f || (name && (*p == ' ' || *p == '=')))
      return false;
  return true;
}

int rnull_option_set(const struct rnull_option *o, void *params, const char *v, char *err,
                     size_t errlen) {
  char *field = (char *)params + o->offset;
  uint64_t n = 0;
  int r = 0;
  switch (o->type) {
  case RNULL_OPT_SIZE:
  case RNULL_OPT_UINT:
  case RNULL_OPT_POW2:
    r = o->type == RNULL_OPT_SIZE ? rnull_parse_size(v, &n) : parse_uint(v, &n);
    if (r == 0 && n == 0 && o->zero_is)
      ; /* 0: the other key's value */
    else if (r == 0 && o->type == RNULL_OPT_POW2 && (n & (n - 1)))
      r = -EINVAL;
    else if (r == 0 && (n < o->min || n > o->max))
      r = -ERANGE;
    if (r == 0)
      store_uint(o, field, n);
    break;
  case RNULL_OPT_BOOL:
    r = parse_bool(v, (bool *)field);
    break;
  case RNULL_OPT_NAME:
  case RNULL_OPT_PATH:
    if (v[0] == '\0' || strlen(v) > o->max || !text_ok(v, o->type == RNULL_OPT_NAME))
      r = -EINVAL;
    else
      strcpy(field, v);
    break;
  case RNULL_OPT_IRQ:
    r = parse_irqmode(v, (enum rnull_irqmode *)field);
    break;
  case RNULL_OPT_FAULT: {
    char detail[RNULL_ERR_LEN];
    r = rnull_fault_parse(v, (struct rnull_fault_attr *)field, detail, sizeof detail);
    if (r) {
      snprintf(err, errlen, "%s=%s: invalid value: %s", o->key, v, detail);
      return -EINVAL;
    }
    break;
  }
  case RNULL_OPT_RANGES:
    r = parse_ranges(v, (struct rnull_ranges *)field);
    break;
  case RNULL_OPT_LATENCY: {
    char detail[RNULL_ERR_LEN];
    r = rnull_latency_parse(v, (struct rnull_latency_attr *)field, detail, sizeof detail);
    if (r && detail[0]) {
      snprintf(err, errlen, "%s=%s: invalid value: %s; expected %s", o->key, v, detail,
               RNULL_LATENCY_FORMS);
      return -EINVAL;
    }
    break;
  }
  case RNULL_OPT_DURATION:
    r = rnull_duration_parse(v, (uint64_t *)field);
    break;
  case RNULL_OPT_REJECT:
    snprintf(err, errlen, "%s=%s: %s", o->key, v, o->help);
    return -EINVAL;
  }
  if (r) {
    char range[320];
    rnull_option_describe(o, range, sizeof range);
    snprintf(err, errlen, "%s=%s: invalid value: expected %s", o->key, v, range);
    return -EINVAL;
  }
  return 0;
}

const struct rnull_option *rnull_option_table_find(const struct rnull_option_table *t,
                                                   const char *key) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->opts[i].key, key) == 0)
      return &t->opts[i];
  return NULL;
}

int rnull_option_table_set(const struct rnull_option_table *t, void *params, const char *key,
                           const char *value, char *err, size_t errlen) {
  const struct rnull_option *o = rnull_option_table_find(t, key);
  if (!o) {
    snprintf(err, errlen, "%s=%s: not a key of the %s (see --help for the list of keys)", key,
             value, t->owner);
    return -ENOENT;
  }
  return rnull_option_set(o, params, value, err, errlen);
}

uint64_t rnull_default_memory_limit(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0)
    return 0; /* unknown: no limit rather than a wrong one */
  return (uint64_t)pages * (uint64_t)page / 2;
}

void rnull_option_table_defaults(const struct rnull_option_table *t, void *params) {
  char err[RNULL_ERR_LEN];
  memset(params, 0, t->params_size);
  for (size_t i = 0; i < t->n; i++) {
    const struct rnull_option *o = &t->opts[i];
    if (o->def)
      rnull_option_set(o, params, o->def, err, sizeof err);
    else if (o->def_fn)
      store_uint(o, (char *)params + o->offset, o->def_fn());
  }
}

void rnull_option_table_help(const struct rnull_option_table *t, FILE *out) {
  for (size_t i = 0; i < t->n; i++) {
    const struct rnull_option *o = &t->opts[i];
    char range[320];
    if (o->type == RNULL_OPT_REJECT) {
      fprintf(out, "%s=  (refused: %s)\n", o->key, o->help);
      continue;
    }
    rnull_option_describe(o, range, sizeof range);
    fprintf(out, "%s=  %s.\n    default: %s; allowed: %s; %s key%s\n", o->key, o->help,
            o->def       ? o->def
            : o->def_doc ? o->def_doc
                         : "unset",
            range, t->owner, o->apply ? ", live" : "");
  }
}

/* One key=value line of the dump, from the field the table describes;
 * nothing for a key that is unset. */
static void dump_option(const struct rnull_option_table *t, const void *params,
                        const struct rnull_option *o, FILE *out) {
  static const char *const irq[] = {"none", "softirq", "timer"};
  const char *field = (const char *)params + o->offset;
  const struct rnull_fault_attr *fa = (const void *)field;
  const struct rnull_ranges *rg = (const void *)field;
  switch (o->type) {
  case RNULL_OPT_SIZE:
  case RNULL_OPT_UINT:
  case RNULL_OPT_POW2: {
    uint64_t n = load_uint(o, field);
    if (n == 0 && o->zero_is) /* the effective value */
      n = load_uint(o, (const char *)params + rnull_option_table_find(t, o->zero_is)->offset);
    fprintf(out, "%s=%" PRIu64 "\n", o->key, n);
    return;
  }
  case RNULL_OPT_BOOL:
    fprintf(out, "%s=%d\n", o->key, *(const bool *)field);
    return;
  case RNULL_OPT_NAME:
  case RNULL_OPT_PATH:
    if (*field)
      fprintf(out, "%s=%s\n", o->key, field);
    return;
  case RNULL_OPT_IRQ:
    fprintf(out, "%s=%s\n", o->key, irq[*(const enum rnull_irqmode *)field]);
    return;
  case RNULL_OPT_FAULT:
    if (!fa->enabled)
      return;
    fprintf(out, "%s=%" PRIu64 ",%u,%" PRId64 ",%" PRId64, o->key, fa->interval, fa->probability,
            fa->space, fa->times);
    if (fa->error && fa->error != EIO && rnull_fault_errno_name(fa->error))
      fprintf(out, ",%s", rnull_fault_errno_name(fa->error));
    if (fa->ranged)
      fprintf(out, "@%" PRIu64 "-%" PRIu64, fa->start, fa->end);
    fputc('\n', out);
    return;
  case RNULL_OPT_RANGES:
    for (unsigned i = 0; i < rg->n; i++)
      fprintf(out, "%s%s%" PRIu64 "-%" PRIu64 "%s", i ? "," : o->key, i ? "" : "=", rg->r[i].start,
              rg->r[i].end, i + 1 == rg->n ? "\n" : "");
    return;
  case RNULL_OPT_LATENCY: {
    char buf[300];
    if (((const struct rnull_latency_attr *)field)->kind == RNULL_DIST_NONE)
      return;
    rnull_latency_format((const struct rnull_latency_attr *)field, buf, sizeof buf);
    fprintf(out, "%s=%s\n", o->key, buf);
    return;
  }
  case RNULL_OPT_DURATION:
    fprintf(out, "%s=%" PRIu64 "ns\n", o->key, *(const uint64_t *)field);
    return;
  case RNULL_OPT_REJECT:
    return;
  }
}

void rnull_option_table_dump(const struct rnull_option_table *t, const void *params, FILE *out) {
  for (size_t i = 0; i < t->n; i++)
    dump_option(t, params, &t->opts[i], out);
}
