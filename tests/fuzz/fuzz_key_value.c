/* libFuzzer target: every key's value parser (the option tables of a null
 * disk: core, null driver, front ends), hist:FILE files included (the
 * input's tail is written to a file the value may name). The first byte
 * picks the key, the rest is the value. Invariants: a value is accepted or
 * refused with a message that names the key; an accepted value dumps as a
 * key=value line that parses back to the same dump (the configuration is a
 * fixed point of parse and dump). */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnull/null.h"

static const struct rnull_option *pick(uint8_t b) {
  size_t nt, total = 0;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);
  for (size_t i = 0; i < nt; i++)
    total += t[i]->n;
  size_t k = b % total;
  for (size_t i = 0; i < nt; i++) {
    if (k < t[i]->n)
      return &t[i]->opts[k];
    k -= t[i]->n;
  }
  return NULL;
}

static char *dump(const struct rnull_config *cfg) {
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  rnull_config_dump(cfg, m);
  fclose(m);
  return buf;
}

/* The dumped line of key (without "key="), or NULL. */
static char *dumped_value(const char *d, const char *key) {
  size_t kl = strlen(key);
  for (const char *l = d; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (!strncmp(l, key, kl) && l[kl] == '=')
      return strndup(l + kl + 1, strcspn(l + kl + 1, "\n"));
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096)
    return 0;
  const struct rnull_option *o = pick(data[0]);
  char *value = strndup((const char *)data + 1, size - 1);
  static char hist[] = "/tmp/rnull-fuzz-hist.XXXXXX";
  static int fd = -1;
  if (fd < 0)
    fd = mkstemp(hist); /* hist:/tmp/rnull-fuzz-hist.* names it (dictionary) */
  if (fd >= 0 && ftruncate(fd, 0) == 0)
    (void)pwrite(fd, data + 1, size - 1, 0);
  struct rnull_config cfg;
  rnull_config_init(&cfg);
  char err[RNULL_ERR_LEN] = "";
  int r = rnull_config_set(&cfg, o->key, value, err, sizeof err);
  if (r < 0) {
    assert(strstr(err, o->key) != NULL);
  } else if (o->type != RNULL_OPT_REJECT) {
    char *d1 = dump(&cfg), *v = dumped_value(d1, o->key);
    if (v) { /* unset values (faults, empty paths) are not dumped */
      struct rnull_config again;
      rnull_config_init(&again);
      int r2 = rnull_config_set(&again, o->key, v, err, sizeof err);
      assert(r2 == 0);
      char *d2 = dump(&again);
      assert(!strcmp(d1, d2));
      free(d2);
    }
    free(v);
    free(d1);
  }
  free(value);
  return 0;
}
