/* The line protocol: one command a line, words separated by blanks; the
 * reply is zero or more lines of output, then "ok" or "error: MESSAGE". An
 * error names the disk, the key, the value and why. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"
#include "registry.h"
#include "rnull/disk.h"
#include "rnull/null.h"
#include "rnull/stats.h"

#define MAX_WORDS 80
#define CTL_LINE_MAX RNULL_CTL_LINE_MAX

struct cmd {
  struct rnull_ctl *ctl;
  FILE *out;
  int argc;
  char **argv;
  char err[2 * RNULL_ERR_LEN];
};

static int fail(struct cmd *c, int r, const char *fmt, const char *a, const char *b) {
  snprintf(c->err, sizeof c->err, fmt, a, b);
  return r;
}

static bool is_fault_key(const char *k) {
  const struct rnull_option *o = rnull_option_table_find(rnull_null_options(), k);
  return o && o->type == RNULL_OPT_FAULT;
}

/* "off" turns a fault off (never fails: times 0). */
static const char *fault_value(const char *key, const char *v) {
  return is_fault_key(key) && !strcmp(v, "off") ? "1,0,0,0" : v;
}

static int split_kv(char *kv, char **k, char **v) {
  char *eq = strchr(kv, '=');
  if (!eq || eq == kv)
    return -EINVAL;
  *eq = 0;
  *k = kv;
  *v = eq + 1;
  return 0;
}

/* Apply key=value words to cfg (a powered-off disk's or a new one). power=
 * is no key of the table: *power reports it. */
static int apply_kvs(struct cmd *c, const char *disk, struct rnull_config *cfg, int from,
                     int *power) {
  for (int i = from; i < c->argc; i++) {
    char *k, *v, e[RNULL_ERR_LEN];
    if (split_kv(c->argv[i], &k, &v) < 0)
      return fail(c, -EINVAL, "%s: '%s': expected key=value", disk, c->argv[i]);
    if (!strcmp(k, "power")) {
      bool on = !strcmp(v, "1") || !strcmp(v, "on");
      if (!on && strcmp(v, "0") && strcmp(v, "off"))
        return fail(c, -EINVAL, "%s: power=%s: invalid value: expected 0/1 or on/off", disk, v);
      *power = on;
      continue;
    }
    if (!strcmp(k, "name"))
      return fail(c, -EINVAL, "%s: name: cannot be set: the name is given by create (%s)", disk,
                  "create NAME");
    if (rnull_config_set(cfg, k, fault_value(k, v), e, sizeof e) < 0)
      return fail(c, -EINVAL, "%s: %s", disk, e);
  }
  return 0;
}

static struct rnull_ctl_disk *need_disk(struct cmd *c, int argi) {
  if (c->argc <= argi) {
    fail(c, -EINVAL, "%s: missing disk name%s", c->argv[0], "");
    return NULL;
  }
  struct rnull_ctl_disk *cd;
  if (!ctl_wait_idle(c->ctl, c->argv[argi], &cd))
    fail(c, -ENOENT, "%s: unknown disk (see 'list')%s", c->argv[argi], "");
  return cd;
}

static int cmd_create(struct cmd *c) {
  if (c->argc < 2)
    return fail(c, -EINVAL, "create: missing disk name%s%s", "", "");
  char e[RNULL_ERR_LEN];
  if (ctl_check_name(c->argv[1], e, sizeof e) < 0)
    return fail(c, -EINVAL, "%s%s", e, "");
  if (ctl_find(c->ctl, c->argv[1]))
    return fail(c, -EEXIST, "%s: name taken: a disk of that name exists%s", c->argv[1], "");
  struct rnull_config cfg;
  rnull_config_init(&cfg);
  snprintf(cfg.core.name, sizeof cfg.core.name, "%s", c->argv[1]);
  int power = 1; /* a created disk serves unless power=0 */
  int r = apply_kvs(c, c->argv[1], &cfg, 2, &power);
  if (r)
    return r;
  struct rnull_ctl_disk *cd;
  if ((r = ctl_add(c->ctl, &cfg, &cd, c->err, sizeof c->err)) < 0)
    return r;
  if (power && (r = ctl_power_on(cd, c->err, sizeof c->err)) < 0)
    ctl_remove(cd, e, sizeof e);
  return r;
}

/* A powered disk: live keys only, each through the driver, then recorded. */
static int set_live(struct cmd *c, struct rnull_ctl_disk *cd) {
  const char *disk = cd->cfg.core.name;
  for (int i = 2; i < c->argc; i++) {
    char *k, *v, e[RNULL_ERR_LEN];
    if (split_kv(c->argv[i], &k, &v) < 0)
      return fail(c, -EINVAL, "%s: '%s': expected key=value", disk, c->argv[i]);
    if (!strcmp(k, "power"))
      return fail(c, -EINVAL, "%s: power: use 'power %s on|off'", disk, disk);
    if (!rnull_config_find(k, NULL))
      return fail(c, -ENOENT, "%s: %s: unknown key (see 'features')", disk, k);
    if (!strcmp(k, "name"))
      return fail(c, -EINVAL, "%s: name: cannot be set: the name is given by create (%s)", disk,
                  "create NAME");
    if (!rnull_null_key_is_live(k))
      return fail(c, -EBUSY, "%s: %s: can only change while the disk is powered off", disk, k);
    struct rnull_config next = cd->cfg;
    const char *val = fault_value(k, v);
    if (rnull_config_set(&next, k, val, e, sizeof e) < 0 ||
        rnull_config_check(&next, e, sizeof e) < 0)
      return fail(c, -EINVAL, "%s: %s", disk, e);
    if (rnull_null_disk_set_live(cd->disk, k, val, e, sizeof e) < 0)
      return fail(c, -EINVAL, "%s: %s", disk, e);
    cd->cfg = next;
  }
  return 0;
}

static int cmd_set(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  if (c->argc < 3)
    return fail(c, -EINVAL, "%s: set: expected key=value...%s", cd->cfg.core.name, "");
  if (atomic_load(&cd->powered))
    return set_live(c, cd);
  struct rnull_config next = cd->cfg;
  int power = -1, r = apply_kvs(c, cd->cfg.core.name, &next, 2, &power);
  char e[RNULL_ERR_LEN];
  if (r)
    return r;
  if (rnull_config_check(&next, e, sizeof e) < 0)
    return fail(c, -EINVAL, "%s: %s", cd->cfg.core.name, e);
  cd->cfg = next;
  return power == 1 ? ctl_power_on(cd, c->err, sizeof c->err) : 0;
}

static int cmd_get(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  const char *key = c->argc > 2 ? c->argv[2] : NULL;
  if (key && strcmp(key, "power") && !rnull_config_find(key, NULL))
    return fail(c, -ENOENT, "%s: %s: unknown key (see 'features')", cd->cfg.core.name, key);
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m)
    return fail(c, -ENOMEM, "%s: out of memory%s", cd->cfg.core.name, "");
  rnull_config_dump(&cd->cfg, m);
  fprintf(m, "power=%d\n", atomic_load(&cd->powered) ? 1 : 0);
  fclose(m);
  size_t kl = key ? strlen(key) : 0;
  bool shown = false;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (!key || (!strncmp(line, key, kl) && line[kl] == '=')) {
      fprintf(c->out, "%s\n", line);
      shown = true;
    }
  }
  if (key && !shown) /* unset keys (faults, badblocks) are not dumped */
    fprintf(c->out, "%s=\n", key);
  free(buf);
  return 0;
}

static int cmd_power(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  const char *v = c->argc > 2 ? c->argv[2] : "";
  if (c->argc != 3 || (strcmp(v, "on") && strcmp(v, "off") && strcmp(v, "1") && strcmp(v, "0")))
    return fail(c, -EINVAL, "%s: power '%s': expected on or off", cd->cfg.core.name, v);
  if (!strcmp(v, "on") || !strcmp(v, "1"))
    return ctl_power_on(cd, c->err, sizeof c->err);
  return ctl_power_off(cd, c->err, sizeof c->err);
}

static int cmd_remove(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  return cd ? ctl_remove(cd, c->err, sizeof c->err) : -ENOENT;
}

static void human(uint64_t v, char *buf, size_t len) {
  static const char units[] = "KMGTPE";
  int u = -1;
  while (v >= 1024 && v % 1024 == 0 && u < 5) {
    v /= 1024;
    u++;
  }
  if (u < 0)
    snprintf(buf, len, "%" PRIu64, v);
  else
    snprintf(buf, len, "%" PRIu64 "%c", v, units[u]);
}

static int cmd_list(struct cmd *c) {
  fprintf(c->out, "%-31s %-5s %8s %9s %7s %8s\n", "NAME", "STATE", "SIZE", "BLOCKSIZE", "CLIENTS",
          "INFLIGHT");
  for (unsigned i = 0; i < c->ctl->n; i++) {
    struct rnull_ctl_disk *cd = c->ctl->disks[i];
    bool on = atomic_load(&cd->powered);
    uint64_t inflight = 0;
    if (cd->disk) {
      struct rnull_stats s;
      rnull_disk_stats(cd->disk, &s);
      inflight = s.inflight;
    }
    char size[32];
    human(cd->cfg.core.size, size, sizeof size);
    fprintf(c->out, "%-31s %-5s %8s %9" PRIu32 " %7u %8" PRIu64 "\n", cd->cfg.core.name,
            on         ? "on"
            : cd->busy ? "going"
                       : "off",
            size, cd->cfg.core.blocksize, cd->users, inflight);
  }
  return 0;
}

static int cmd_stats(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  bool json = c->argc > 2 && !strcmp(c->argv[2], "--json");
  bool hist = c->argc > 2 && !strcmp(c->argv[2], "--hist");
  if (c->argc > 3 || (c->argc == 3 && !json && !hist))
    return fail(c, -EINVAL, "%s: stats: unexpected '%s' (only --json or --hist)", cd->cfg.core.name,
                c->argv[2]);
  if (!cd->disk)
    return fail(c, -ENODEV, "%s: powered off: no statistics%s", cd->cfg.core.name, "");
  if (hist) {
    rnull_stats_hist_print(cd->disk, c->out);
  } else if (json) {
    rnull_stats_json(cd->disk, c->out);
    fputc('\n', c->out);
  } else {
    rnull_stats_print(cd->disk, c->out);
  }
  return 0;
}

static int cmd_badblocks(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  if (c->argc != 3)
    return fail(c, -EINVAL, "%s: badblocks: expected +START-END or -START-END%s", cd->cfg.core.name,
                "");
  struct rnull_config next = cd->cfg;
  char e[RNULL_ERR_LEN];
  int r = rnull_null_badblocks_edit(NULL, &next.null, c->argv[2], e, sizeof e);
  if (r == 0 && rnull_config_check(&next, e, sizeof e) < 0)
    r = -EINVAL;
  if (r == 0 && cd->disk)
    r = rnull_null_badblocks_edit(cd->disk, NULL, c->argv[2], e, sizeof e);
  if (r < 0)
    return fail(c, r, "%s: %s", cd->cfg.core.name, e);
  cd->cfg = next;
  return 0;
}

/* power-cut NAME [lose=all|some|prefix] [keep=PERCENT] [torn=0|1] [seed=N]
 * [--json]: the crash report, then the disk is off. */
static int cmd_power_cut(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  struct rnull_power_cut pc;
  struct ctl_cut cut = {.pc = &pc, .out = c->out};
  char e[RNULL_ERR_LEN];
  rnull_power_cut_init(&pc);
  for (int i = 2; i < c->argc; i++) {
    if (!strcmp(c->argv[i], "--json"))
      cut.json = true;
    else if (rnull_power_cut_set(&pc, c->argv[i], e, sizeof e) < 0)
      return fail(c, -EINVAL, "%s: power-cut: %s", cd->cfg.core.name, e);
  }
  return ctl_power_cut(cd, &cut, c->err, sizeof c->err);
}

/* cache NAME [--json]: the volatile cache's statistics (cache_size). */
static int cmd_cache(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  bool json = c->argc == 3 && !strcmp(c->argv[2], "--json");
  if (c->argc > 3 || (c->argc == 3 && !json))
    return fail(c, -EINVAL, "%s: cache: unexpected '%s' (only --json)", cd->cfg.core.name,
                c->argv[2]);
  struct rnull_null_cache_stats st;
  if (!cd->disk || rnull_null_disk_cache_stats(cd->disk, &st) < 0)
    return fail(c, -ENODEV, "%s: powered off: no cache%s", cd->cfg.core.name, "");
  fprintf(c->out,
          json ? "{\"dirty_bytes\":%" PRIu64 ",\"records\":%" PRIu64 ",\"writebacks\":%" PRIu64
                 ",\"flushes\":%" PRIu64 "}\n"
               : "dirty_bytes=%" PRIu64 "\nrecords=%" PRIu64 "\nwritebacks=%" PRIu64
                 "\nflushes=%" PRIu64 "\n",
          st.dirty_bytes, st.records, st.writebacks, st.flushes);
  return 0;
}

/* "read,write,..." -> 1 << RNULL_OP_* bits; 0 with *bad the word refused. */
static unsigned parse_ops(char *list, const char **bad) {
  static const char *const names[RNULL_OP_MAX] = {"read", "write", "flush",
                                                  "trim", "zero",  "cache"};
  unsigned mask = 0;
  for (char *save = NULL, *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    unsigned op = 0;
    while (op < RNULL_OP_MAX && strcmp(names[op], w))
      op++;
    if (op == RNULL_OP_MAX) {
      *bad = w;
      return 0;
    }
    mask |= 1u << op;
  }
  if (!mask)
    *bad = "";
  return mask;
}

/* hold NAME [ops=read,write,flush,trim,zero,cache]: keep arriving requests
 * (of those operations; every one by default) until release. */
static int cmd_hold(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  unsigned mask = ~0u;
  const char *bad = NULL;
  if (c->argc > 3 || (c->argc == 3 && strncmp(c->argv[2], "ops=", 4)))
    return fail(c, -EINVAL, "%s: hold: '%s': expected ops=read,write,flush,trim,zero,cache",
                cd->cfg.core.name, c->argv[c->argc - 1]);
  if (c->argc == 3 && !(mask = parse_ops(c->argv[2] + 4, &bad)))
    return fail(c, -EINVAL,
                "%s: hold: unknown operation '%s': expected ops= one or more of "
                "read,write,flush,trim,zero,cache",
                cd->cfg.core.name, bad);
  if (!cd->disk || rnull_null_disk_hold(cd->disk, mask) < 0)
    return fail(c, -ENODEV, "%s: powered off: nothing to hold%s", cd->cfg.core.name, "");
  return 0;
}

/* release NAME [errno=E]: stop holding; the held requests are served, or
 * failed with E; prints released=N. */
static int cmd_release(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  int error = 0;
  if (c->argc > 3 || (c->argc == 3 && strncmp(c->argv[2], "errno=", 6)))
    return fail(c, -EINVAL, "%s: release: '%s': expected errno=E", cd->cfg.core.name,
                c->argv[c->argc - 1]);
  if (c->argc == 3 && !(error = rnull_fault_errno_parse(c->argv[2] + 6)))
    return fail(c, -EINVAL, "%s: release: unknown error '%s': expected one of " RNULL_FAULT_ERRNOS,
                cd->cfg.core.name, c->argv[2] + 6);
  int n = cd->disk ? rnull_null_disk_release(cd->disk, error) : -ENODEV;
  if (n < 0)
    return fail(c, -ENODEV, "%s: powered off: nothing held%s", cd->cfg.core.name, "");
  fprintf(c->out, "released=%d\n", n);
  return 0;
}

/* mark NAME TEXT...: a mark entry in the write log (log_writes), the words
 * joined by one blank; written to the file when ok comes back. */
static int cmd_mark(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  if (c->argc < 3)
    return fail(c, -EINVAL, "%s: mark: expected the mark's text%s", cd->cfg.core.name, "");
  char text[4096] = "";
  for (int i = 2; i < c->argc; i++)
    snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", i > 2 ? " " : "", c->argv[i]);
  if (!cd->disk)
    return fail(c, -ENODEV, "%s: powered off: no write log%s", cd->cfg.core.name, "");
  return rnull_null_disk_log_mark(cd->disk, text, c->err, sizeof c->err);
}

/* log NAME: the write log's entries, bytes and error (0: none). */
static int cmd_log(struct cmd *c) {
  struct rnull_ctl_disk *cd = need_disk(c, 1);
  if (!cd)
    return -ENOENT;
  struct rnull_null_log_stats st;
  if (!cd->disk || rnull_null_disk_log_stats(cd->disk, &st) < 0)
    return fail(c, -ENODEV, "%s: no write log (powered off, or no log_writes)%s", cd->cfg.core.name,
                "");
  fprintf(c->out, "entries=%" PRIu64 "\nbytes=%" PRIu64 "\nerror=%s\n", st.entries, st.bytes,
          st.error ? strerror(st.error) : "none");
  return 0;
}

static int cmd_features(struct cmd *c) {
  rnull_config_features(c->out);
  fprintf(c->out, ",power\n");
  return 0;
}

static int cmd_help(struct cmd *c) {
  fputs("create NAME [key=value...] [power=0]\n"
        "set NAME key=value...\n"
        "get NAME [key]\n"
        "power NAME on|off\n"
        "remove NAME\n"
        "list\n"
        "stats NAME [--json|--hist]\n"
        "badblocks NAME +START-END|-START-END\n"
        "power-cut NAME [lose=all|some|prefix] [keep=PERCENT] [torn=0|1] [seed=N] [--json]\n"
        "cache NAME [--json]\n"
        "hold NAME [ops=read,write,flush,trim,zero,cache]\n"
        "release NAME [errno=E]\n"
        "mark NAME TEXT\n"
        "log NAME\n"
        "features\n",
        c->out);
  return 0;
}

static const struct {
  const char *name;
  int (*fn)(struct cmd *c);
} commands[] = {
    {"create", cmd_create},
    {"set", cmd_set},
    {"get", cmd_get},
    {"power", cmd_power},
    {"remove", cmd_remove},
    {"list", cmd_list},
    {"stats", cmd_stats},
    {"badblocks", cmd_badblocks},
    {"features", cmd_features},
    {"help", cmd_help},
    {"power-cut", cmd_power_cut},
    {"cache", cmd_cache},
    {"hold", cmd_hold},
    {"release", cmd_release},

    {"mark", cmd_mark},
    {"log", cmd_log},
};

/* Each word of a command on its own: bounded, no blank, no control
 * character (a word is never split or joined: rnull_ctl_execv). */
static int check_word(const char *w, int i, char *err, size_t errlen) {
  size_t n = strlen(w);
  if (n == 0 || n >= CTL_LINE_MAX) {
    snprintf(err, errlen, "word %d: must be 1 to %d bytes", i + 1, CTL_LINE_MAX - 1);
    return n ? -E2BIG : -EINVAL;
  }
  for (size_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)w[k];
    if (c <= ' ' || c == 0x7f) {
      snprintf(err, errlen, "word %d: %s 0x%02x at offset %zu", i + 1,
               c == ' ' || c == '\t' ? "blank" : "control character", c, k);
      return -EINVAL;
    }
  }
  return 0;
}

/* The files the existing disk name's keys name (a power on reads them
 * again): its keys copied under the lock, read without it. */
static void preload_disk(struct rnull_ctl *ctl, const char *name, struct rnull_key_files *kf) {
  struct rnull_config *cfg = malloc(sizeof *cfg);
  if (!cfg)
    return;
  pthread_mutex_lock(&ctl->lock);
  struct rnull_ctl_disk *cd = ctl_find(ctl, name);
  if (cd)
    *cfg = cd->cfg;
  pthread_mutex_unlock(&ctl->lock);
  if (cd)
    ctl_preload_config(cfg, kf);
  free(cfg);
}

/* Run argv: the files its keys name read first, then the command under the
 * registry lock (armed with what was read: no I/O under the lock). */
static int exec_words(struct rnull_ctl *ctl, int argc, char **argv, FILE *out) {
  struct cmd c = {.ctl = ctl, .out = out, .argc = argc, .argv = argv};
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
    if (strcmp(argv[0], commands[i].name))
      continue;
    struct rnull_key_files *kf = calloc(1, sizeof *kf);
    if (!kf) {
      fprintf(out, "error: out of memory\n");
      return -ENOMEM;
    }
    int r = ctl_preload_words(argc, argv, kf, c.err, sizeof c.err);
    if (r == 0 && argc > 1 && (!strcmp(argv[0], "set") || !strcmp(argv[0], "power")))
      preload_disk(ctl, argv[1], kf); /* those may power on or rebuild the latency model */
    if (r == 0) {
      rnull_key_files_arm(kf);
      pthread_mutex_lock(&ctl->lock);
      r = commands[i].fn(&c);
      pthread_mutex_unlock(&ctl->lock);
      rnull_key_files_arm(NULL);
    }
    rnull_key_files_free(kf);
    free(kf);
    if (r < 0)
      fprintf(out, "error: %s\n", c.err[0] ? c.err : strerror(-r));
    else
      fprintf(out, "ok\n");
    return r < 0 ? r : 0;
  }
  fprintf(out, "error: %s: unknown command (try 'help')\n", argv[0]);
  return -EINVAL;
}

int rnull_ctl_execv(struct rnull_ctl *ctl, int argc, const char *const *argv, FILE *out) {
  char err[160];
  if (argc < 1 || argc > MAX_WORDS) {
    fprintf(out, "error: 1 to %d words\n", MAX_WORDS);
    return argc < 1 ? -EINVAL : -E2BIG;
  }
  size_t total = 0;
  for (int i = 0; i < argc; i++) {
    int r = check_word(argv[i], i, err, sizeof err);
    if (r < 0) {
      fprintf(out, "error: %s\n", err);
      return r;
    }
    total += strlen(argv[i]) + 1;
  }
  char *words = malloc(total), *copy[MAX_WORDS]; /* the commands write into their words */
  if (!words) {
    fprintf(out, "error: out of memory\n");
    return -ENOMEM;
  }
  for (int i = 0, at = 0; i < argc; i++) {
    copy[i] = strcpy(words + at, argv[i]);
    at += (int)strlen(argv[i]) + 1;
  }
  int r = exec_words(ctl, argc, copy, out);
  free(words);
  return r;
}

int rnull_ctl_exec(struct rnull_ctl *ctl, const char *line, FILE *out) {
  char copy[CTL_LINE_MAX];
  char *argv[MAX_WORDS], err[160];
  int argc = 0;
  if (strlen(line) >= sizeof copy) {
    fprintf(out, "error: command line longer than %zu bytes\n", sizeof copy - 1);
    return -E2BIG;
  }
  if (ctl_check_line(line, strlen(line), err, sizeof err) < 0) {
    fprintf(out, "error: %s\n", err);
    return -EINVAL;
  }
  strcpy(copy, line);
  char *save = NULL;
  for (char *w = strtok_r(copy, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
    if (argc == MAX_WORDS) {
      fprintf(out, "error: more than %d words\n", MAX_WORDS);
      return -E2BIG;
    }
    argv[argc++] = w;
  }
  if (argc == 0) {
    fprintf(out, "error: empty command (try 'help')\n");
    return -EINVAL;
  }
  return exec_words(ctl, argc, argv, out);
}
