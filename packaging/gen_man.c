/* Build-time man page generator: copies a roff template and replaces
 *   @NAME@               with VALUE, for each NAME=VALUE on the command line;
 *   a line "@RNULL_KEYS@" with one .TP entry per key of the engine's table;
 *   a line "@RNULL_REFUSED_KEYS@" with the keys the table accepts by name
 *                        and always refuses (zoned, cache_size, ...).
 * The key text is rnull_config_help()'s, so the man pages say exactly what
 * --help says and cannot drift from the table.
 * Usage: gen_man TEMPLATE OUT [NAME=VALUE...] */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnull/config.h"

/* Write text as roff body text: a backslash becomes \e, a minus sign \-
 * (so it is not hyphenated away or rendered as a dash in copy-paste). */
static void put_roff(FILE *out, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\')
      fputs("\\e", out);
    else if (s[i] == '-')
      fputs("\\-", out);
    else
      fputc(s[i], out);
  }
}

/* One help entry: "key=  help" then, unless refused, "    default: D; allowed: A". */
struct entry {
  const char *key;
  size_t keylen;
  const char *help;
  size_t helplen;
  const char *def; /* NULL for a refused key */
  size_t deflen;
  const char *allowed;
  size_t allowedlen;
};

/* Parse the next entry of rnull_config_help()'s text at *p: 1, or 0 at the
 * end, or -1 on an unexpected line (checked before any output is written,
 * so the generator never emits half a list). */
static int next_entry(const char **p, struct entry *e) {
  const char *line = *p;
  if (*line == '\0')
    return 0;
  const char *eol = strchr(line, '\n');
  const char *sep = strstr(line, "=  ");
  if (!eol || !sep || sep + 3 >= eol || sep == line) { /* key and help both non-empty */
    fprintf(stderr, "gen_man: unexpected help line: %.*s\n", (int)(eol ? eol - line : 80), line);
    return -1;
  }
  memset(e, 0, sizeof(*e));
  e->key = line;
  e->keylen = (size_t)(sep - line);
  e->help = sep + 3;
  e->helplen = (size_t)(eol - e->help);
  *p = eol + 1;
  if (strncmp(*p, "    default: ", 13) != 0)
    return 1; /* a refused key: no default line */
  const char *d = *p + 13;
  eol = strchr(d, '\n');
  const char *semi = strstr(d, "; allowed: ");
  if (!eol || !semi || semi > eol) {
    fprintf(stderr, "gen_man: unexpected default line: %.*s\n", (int)(eol ? eol - d : 80), d);
    return -1;
  }
  e->def = d;
  e->deflen = (size_t)(semi - d);
  e->allowed = semi + 11;
  e->allowedlen = (size_t)(eol - e->allowed);
  *p = eol + 1;
  return 1;
}

/* The whole help text parses, with at least one key. */
static bool help_parses(const char *help) {
  struct entry e;
  const char *p = help;
  int r, n = 0;
  while ((r = next_entry(&p, &e)) == 1)
    n++;
  return r == 0 && n > 0;
}

static void emit_keys(FILE *out, const char *help, bool refused) {
  struct entry e;
  const char *p = help;
  while (next_entry(&p, &e) == 1) {
    if ((e.def == NULL) != refused)
      continue;
    fputs(".TP\n\\fB", out);
    put_roff(out, e.key, e.keylen);
    fputs("=\\fP", out);
    if (!refused) {
      /* \& : the text never starts a request; capitalized as a sentence. */
      fprintf(out, "\\fIvalue\\fP\n\\&%c", toupper((unsigned char)e.help[0]));
      put_roff(out, e.help + 1, e.helplen - 1);
      fputs("\n.br\nDefault: \\fB", out);
      put_roff(out, e.def, e.deflen);
      fputs("\\fP; allowed: ", out);
      put_roff(out, e.allowed, e.allowedlen);
      fputs(".\n", out);
    } else {
      fputc('\n', out);
      /* "(refused: reason)" -> "Refused: reason." */
      const char *r = e.help;
      size_t n = e.helplen;
      if (n > 10 && strncmp(r, "(refused: ", 10) == 0 && r[n - 1] == ')') {
        r += 10;
        n -= 11;
      }
      fputs("Refused: ", out);
      put_roff(out, r, n);
      fputs(".\n", out);
    }
  }
}

/* Copy one template line, replacing each @NAME@ given as NAME=VALUE. An
 * @WORD@ with no value is left as it is (the tests look for leftovers). */
static void substitute(FILE *out, const char *s, char **vars, int nvars) {
  while (*s) {
    const char *at = strchr(s, '@');
    int i;
    if (!at) {
      fputs(s, out);
      return;
    }
    fwrite(s, 1, (size_t)(at - s), out);
    for (i = 0; i < nvars; i++) {
      size_t n = (size_t)(strchr(vars[i], '=') - vars[i]);
      if (strncmp(at + 1, vars[i], n) == 0 && at[n + 1] == '@') {
        const char *v = vars[i] + n + 1;
        put_roff(out, v, strlen(v));
        s = at + n + 2;
        break;
      }
    }
    if (i == nvars) {
      fputc('@', out);
      s = at + 1;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s TEMPLATE OUT [NAME=VALUE...]\n", argv[0]);
    return 2;
  }
  for (int i = 3; i < argc; i++) {
    if (strchr(argv[i], '=') == NULL || argv[i][0] == '=') {
      fprintf(stderr, "gen_man: %s: expected NAME=VALUE\n", argv[i]);
      return 2;
    }
  }
  char *help = NULL;
  size_t helplen = 0;
  FILE *m = open_memstream(&help, &helplen);
  if (!m)
    return 1;
  rnull_config_help(m);
  if (fclose(m) != 0 || !help_parses(help))
    return 1;

  FILE *in = fopen(argv[1], "r");
  if (!in) {
    perror(argv[1]);
    return 1;
  }
  FILE *out = fopen(argv[2], "w");
  if (!out) {
    perror(argv[2]);
    return 1;
  }
  char line[4096];
  while (fgets(line, sizeof(line), in)) {
    if (strcmp(line, "@RNULL_KEYS@\n") == 0)
      emit_keys(out, help, false);
    else if (strcmp(line, "@RNULL_REFUSED_KEYS@\n") == 0)
      emit_keys(out, help, true);
    else
      substitute(out, line, argv + 3, argc - 3);
  }
  free(help);
  bool bad = ferror(in);
  fclose(in);
  if (fclose(out) != 0 || bad) {
    fprintf(stderr, "gen_man: cannot write %s\n", argv[2]);
    return 1;
  }
  return 0;
}
