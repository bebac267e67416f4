/* Before the registry lock (see preload.h): the files a command's keys
 * name, read or checked here, and the checks of the line itself. */
#include "preload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rnull/null.h"

/* One key=value's file, if its key names one: hist:FILE for a latency key,
 * the path of a PATH key. */
static int preload_kv(const char *disk, const char *kv, struct rnull_key_files *kf, char *err,
                      size_t errlen) {
  const char *eq = strchr(kv, '=');
  char key[64], e[RNULL_ERR_LEN];
  if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key)
    return 0; /* the command says what is wrong with it */
  memcpy(key, kv, (size_t)(eq - kv));
  key[eq - kv] = 0;
  const char *v = eq + 1;
  const struct rnull_option *o = rnull_config_find(key, NULL);
  int r = 0;
  if (o && o->type == RNULL_OPT_LATENCY && !strncmp(v, "hist:", 5) && v[5])
    r = rnull_key_files_add_read(kf, v + 5, e, sizeof e);
  else if (o && o->type == RNULL_OPT_PATH && *v)
    r = rnull_key_files_add_check(kf, v, e, sizeof e);
  if (r < 0)
    snprintf(err, errlen, "%s: %s=%s: %s", disk, key, v, e);
  return r;
}

void ctl_preload_config(const struct rnull_config *cfg, struct rnull_key_files *kf) {
  size_t nt;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);
  char e[RNULL_ERR_LEN];
  for (size_t k = 0; k < nt; k++) {
    const char *params = rnull_config_params((struct rnull_config *)cfg, t[k]);
    for (size_t i = 0; i < t[k]->n; i++) {
      const struct rnull_option *o = &t[k]->opts[i];
      const char *field = params + o->offset;
      if (o->type == RNULL_OPT_LATENCY) {
        const struct rnull_latency_attr *a = (const struct rnull_latency_attr *)field;
        if (a->kind == RNULL_DIST_HIST)
          rnull_key_files_add_read(kf, a->file, e, sizeof e);
      } else if (o->type == RNULL_OPT_PATH && field[0]) {
        rnull_key_files_add_check(kf, field, e, sizeof e);
      }
    }
  }
}

int ctl_preload_words(int argc, char **argv, struct rnull_key_files *kf, char *err, size_t errlen) {
  const char *disk = argc > 1 ? argv[1] : "";
  for (int i = 2; i < argc; i++) {
    int r = preload_kv(disk, argv[i], kf, err, errlen);
    if (r < 0)
      return r;
  }
  return 0;
}

int ctl_check_line(const char *line, size_t len, char *err, size_t errlen) {
  if (memchr(line, 0, len)) {
    snprintf(err, errlen, "a NUL byte at offset %zu: commands are text",
             (size_t)((const char *)memchr(line, 0, len) - line));
    return -EINVAL;
  }
  size_t end = len;
  if (end && line[end - 1] == '\n')
    end--;
  if (end && line[end - 1] == '\r')
    end--;
  for (size_t i = 0; i < end; i++) {
    unsigned char c = (unsigned char)line[i];
    if ((c < 0x20 && c != ' ' && c != '\t') || c == 0x7f) {
      snprintf(err, errlen, "control character 0x%02x at offset %zu: commands are text", c, i);
      return -EINVAL;
    }
  }
  return 0;
}
