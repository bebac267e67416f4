/* rnull-server's flag table (server/flags.c) is the one list of flags:
 * --help and the built man page (SYNOPSIS and OPTIONS) show every flag of
 * it and the page no other; each default the table shows is the library's
 * real default; a bad value is refused naming the flag, the value and the
 * range; --poll takes what it always took (parsed once, by the server);
 * --stats-file and the disk key stats_file= both keep a JSON file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "flags.h"
#include "srv.h"

static struct harness h;
static char out[400];

static int run(const char *const *args) {
  const char *argv[SRV_MAX_ARGS] = {srv_path(), "-f"};
  size_t n = 2;
  for (; args[n - 2] && n < SRV_MAX_ARGS - 1; n++)
    argv[n] = args[n - 2];
  argv[n] = NULL;
  int st = harness_run((char *const *)argv, out, 10);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* "-e, --export-name", "--port": how --help starts a flag's line. */
static void help_name(const struct server_flag *f, char *buf, size_t len) {
  if (f->letter)
    snprintf(buf, len, "  -%c, --%s", f->letter, f->name);
  else
    snprintf(buf, len, "  --%s", f->name);
}

/* "\-\-export\-name": a name as the man page spells it. */
static void roff_name(const char *name, char *buf, size_t len) {
  size_t j = 0;
  for (size_t i = 0; name[i] && j + 3 < len; i++) {
    if (name[i] == '-')
      buf[j++] = '\\';
    buf[j++] = name[i];
  }
  buf[j] = 0;
}

static void test_help_lists_every_flag(void) {
  const char *args[] = {"--help", NULL};
  EXPECT_EQ_INT(run(args), 0);
  char *help = harness_read_file(out);
  size_t n;
  const struct server_flag *f = server_flags(&n);
  EXPECT_MSG(n >= 25, "the table has every flag (%zu)", n);
  for (size_t i = 0; help && i < n; i++) {
    char want[80];
    help_name(&f[i], want, sizeof want);
    EXPECT_MSG(strstr(help, want) != NULL, "--help lists %s", want);
    EXPECT_MSG(strstr(help, f[i].help) || f[i].help[0] == 0 || strchr(f[i].help, ' '),
               "--help has %s's text", f[i].name);
  }
  free(help);
}

/* The section of the page between ".SH name" and the next ".SH". */
static char *section(char *page, const char *name) {
  char head[64];
  snprintf(head, sizeof head, "\n.SH %s\n", name);
  char *s = page ? strstr(page, head) : NULL;
  if (!s)
    return NULL;
  s += strlen(head);
  char *e = strstr(s, "\n.SH ");
  if (e)
    e[1] = 0;
  return s;
}

static void test_man_page_is_the_table(void) {
  char *page = harness_read_file(RNULL_SERVER_MAN);
  if (!EXPECT_MSG(page != NULL, "man page %s built", RNULL_SERVER_MAN))
    return;
  EXPECT_MSG(!strstr(page, "@RNULL_SERVER"), "no placeholder left in the page");
  char *copy = strdup(page);
  char *options = section(page, "OPTIONS"), *synopsis = section(copy, "SYNOPSIS");
  EXPECT(options && synopsis);
  size_t n, entries = 0;
  const struct server_flag *f = server_flags(&n);
  for (size_t i = 0; options && synopsis && i < n; i++) {
    char name[80], tag[120];
    roff_name(f[i].name, name, sizeof name);
    snprintf(tag, sizeof tag, "\\-\\-%s", name);
    /* the entry: a .TP line, then the line naming the flag */
    bool found = false;
    for (char *p = options; (p = strstr(p, ".TP\n")) != NULL; p += 4) {
      char *line = p + 4, *end = strchr(line, '\n');
      if (end && (size_t)(end - line) < 200) {
        char l[200];
        memcpy(l, line, (size_t)(end - line));
        l[end - line] = 0;
        char *hit = strstr(l, tag);
        if (hit && (hit[strlen(tag)] == 0 || hit[strlen(tag)] == ' ' || hit[strlen(tag)] == '"'))
          found = true;
      }
    }
    EXPECT_MSG(found, "man OPTIONS has an entry for --%s", f[i].name);
    EXPECT_MSG(strstr(options, f[i].man) != NULL, "man OPTIONS has --%s's text", f[i].name);
    /* the prose says the table's default and largest value */
    if (f[i].def && !f[i].def_doc && f[i].kind != FLAG_STRING)
      EXPECT_MSG(strstr(f[i].man, f[i].def) != NULL, "man --%s says its default %s", f[i].name,
                 f[i].def);
    if (f[i].kind == FLAG_UINT || f[i].kind == FLAG_POLL) {
      char max[32];
      snprintf(max, sizeof max, "%llu", (unsigned long long)f[i].max);
      EXPECT_MSG(strstr(f[i].man, max) != NULL, "man --%s says its largest value %s", f[i].name,
                 max);
    }
    if (f[i].kind != FLAG_ACTION || f[i].metavar) {
      char op[200];
      if (f[i].letter)
        snprintf(op, sizeof op, ".OP \\-%c", f[i].letter);
      else
        snprintf(op, sizeof op, ".OP %s", tag);
      EXPECT_MSG(strstr(synopsis, op) != NULL, "man SYNOPSIS has %s", op);
    }
  }
  /* and no entry the table does not have */
  for (char *p = options; options && (p = strstr(p, ".TP\n")) != NULL; p += 4)
    entries++;
  EXPECT_MSG(entries == n, "man OPTIONS has %zu entries, the table %zu flags", entries, n);
  free(copy);
  free(page);
}

/* Each default --help and man show is what the server really starts with. */
static void test_defaults_are_the_libraries(void) {
  size_t n;
  const struct server_flag *f = server_flags(&n);
  for (size_t i = 0; i < n; i++) {
    if (!f[i].def || f[i].def_doc || f[i].kind == FLAG_ACTION)
      continue;
    struct server_cli init, set;
    server_cli_init(&init);
    server_cli_init(&set);
    char err[300];
    memset((char *)&set + f[i].offset, 0xa5, f[i].kind == FLAG_BYTES ? 8 : sizeof(unsigned));
    if (!EXPECT_MSG(server_flag_set(&set, &f[i], f[i].def, err, sizeof err) == 0,
                    "--%s's default %s is accepted (%s)", f[i].name, f[i].def, err))
      continue;
    const char *a = (char *)&init + f[i].offset, *b = (char *)&set + f[i].offset;
    if (f[i].kind == FLAG_STRING || f[i].kind == FLAG_POLL || f[i].kind == FLAG_PATH)
      EXPECT_MSG(*(char **)a && !strcmp(*(char **)a, *(char **)b), "--%s default %s", f[i].name,
                 f[i].def);
    else
      EXPECT_MSG(!memcmp(a, b, f[i].kind == FLAG_BYTES ? 8 : sizeof(unsigned)),
                 "--%s default %s is rnull_nbd_server_opts_init's", f[i].name, f[i].def);
  }
}

/* A value out of range: exit 1, the message names flag, value and range. */
static void expect_refused(const char *flag, const char *value, const char *range) {
  const char *args[] = {"--unix", h.sock, flag, value, NULL};
  EXPECT_MSG(run(args) == 1, "%s %s: exit 1", flag, value);
  char want[200];
  snprintf(want, sizeof want, "%s%s%s: expected", flag, strcmp(flag, "--tls") ? " " : "=", value);
  EXPECT_MSG(harness_file_has_or_show(out, want), "%s %s: named", flag, value);
  EXPECT_MSG(harness_file_has_or_show(out, range), "%s %s: range %s given", flag, value, range);
}

static void test_bad_values_name_flag_and_range(void) {
  size_t n;
  const struct server_flag *f = server_flags(&n);
  for (size_t i = 0; i < n; i++) {
    char flag[80], v[40], range[80];
    snprintf(flag, sizeof flag, "--%s", f[i].name);
    if (f[i].kind == FLAG_UINT) {
      snprintf(v, sizeof v, "%llu", (unsigned long long)f[i].max + 1);
      snprintf(range, sizeof range, "%llu..%llu", (unsigned long long)f[i].min,
               (unsigned long long)f[i].max);
      expect_refused(flag, v, range);
      expect_refused(flag, "-1", range);
      expect_refused(flag, "12x", range);
    } else if (f[i].kind == FLAG_BYTES) {
      if (f[i].min) /* (--disk-memory takes 0: no limit) */
        expect_refused(flag, "0", "at least 1");
      expect_refused(flag, "lots", "K/M/G/T");
    }
  }
  expect_refused("--tls", "maybe", "off, on or require");
  expect_refused("--poll", "2000000",
                 "adaptive, off or a window in microseconds from 0 to 1000000");
  expect_refused("--poll", "sometimes", "0 to 1000000");
  expect_refused("--poll", "-5", "0 to 1000000");
  /* --stats-file over a directory: named, and why */
  const char *args[] = {"--unix", h.sock, "--stats-file", h.dir, NULL};
  EXPECT_EQ_INT(run(args), 1);
  EXPECT(harness_file_has_or_show(out, "--stats-file"));
  EXPECT(harness_file_has_or_show(out, "not a regular file"));
}

/* --poll: the values it always took, as the server then says it polls. */
static void test_poll_values(void) {
  static const struct {
    const char *value, *says;
  } modes[] = {{"adaptive", "polling adaptive (up to 50 µs)"},
               {"off", "polling off"},
               {"0", "polling off"},
               {"50", "polling 50 µs"},
               {"1000000", "polling 1000000 µs"}};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    struct harness p;
    if (harness_init(&p) < 0)
      continue;
    if (EXPECT_MSG(srv_start(&p, "--poll", modes[i].value, "size=1M", (const char *)NULL) == 0,
                   "--poll %s starts", modes[i].value)) {
      /* the line comes just after the socket listens */
      bool says = false;
      for (int t = 0; t < 100 && !(says = harness_log_has(&p, modes[i].says)); t++)
        harness_sleep_ms(50);
      EXPECT_MSG(says, "--poll %s: \"%s\"", modes[i].value, modes[i].says);
      EXPECT_EQ_INT(harness_stop(&p), 0);
    }
    harness_cleanup(&p);
  }
}

static bool wait_for_json(const char *path) {
  for (int i = 0; i < 50; i++) {
    if (harness_file_has(path, "\"disk\"") && harness_file_has(path, "\"total\""))
      return true;
    harness_sleep_ms(100);
  }
  return false;
}

/* --stats-file PATH and the key stats_file=PATH (users pass both). */
static void test_stats_file_flag_and_key(void) {
  const char *ways[] = {"--stats-file", "stats_file="};
  for (size_t i = 0; i < 2; i++) {
    struct harness s;
    if (harness_init(&s) < 0)
      continue;
    char path[400], kv[420];
    snprintf(path, sizeof path, "%s/stats.json", s.dir);
    snprintf(kv, sizeof kv, "stats_file=%s", path);
    int r = i == 0 ? srv_start(&s, "--stats-file", path, "size=1M", (const char *)NULL)
                   : srv_start(&s, kv, "size=1M", (const char *)NULL);
    if (EXPECT_MSG(r == 0, "%s starts", ways[i])) {
      EXPECT_MSG(wait_for_json(path), "%s: the JSON file is written", ways[i]);
      unlink(path);
      EXPECT_EQ_INT(harness_stop(&s), 0);
      EXPECT_MSG(harness_file_has(path, "\"disk\""), "%s: written once more at exit", ways[i]);
    }
    harness_cleanup(&s);
  }
}

int main(void) {
  if (harness_init(&h) < 0)
    return 1;
  snprintf(out, sizeof(out), "%s/out", h.dir);
  test_help_lists_every_flag();
  test_man_page_is_the_table();
  test_defaults_are_the_libraries();
  test_bad_values_name_flag_and_range();
  test_poll_values();
  test_stats_file_flag_and_key();
  harness_cleanup(&h);
  return expect_result("server_flags");
}
