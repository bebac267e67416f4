/* Build-time man page generator: copies a roff template and replaces
 *   @NAME@               with VALUE, for each NAME=VALUE on the command line;
 *   a line "@RNULL_KEYS@" with one .TP entry per key of a null disk's
 *                        tables (the core's, the null driver's, the front
 *                        ends'), each saying its owner and whether it is live;
 *   a line "@RNULL_REFUSED_KEYS@" with the keys the table accepts by name
 *                        and always refuses (zoned, zone_size, ...).
 * The entries come from walking the option tables (rnull_config_tables), with
 * the words --help uses (rnull_option_describe), so the man pages say what
 * --help says and cannot drift from the table.
 * Usage: gen_man TEMPLATE OUT [NAME=VALUE...] */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnull/null.h"

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

/* One .TP entry per key of the tables (refused ones, or the others): the
 * same help text, default, allowed values, owner and liveness that --help
 * prints, taken from the table itself. */
static void emit_key(FILE *out, const struct rnull_option_table *t, const struct rnull_option *o,
                     bool refused) {
  if ((o->type == RNULL_OPT_REJECT) != refused)
    return;
  fputs(".TP\n\\fB", out);
  put_roff(out, o->key, strlen(o->key));
  fputs("=\\fP", out);
  if (refused) {
    fputs("\nRefused: ", out);
    put_roff(out, o->help, strlen(o->help));
    fputs(".\n", out);
    return;
  }
  char allowed[160];
  const char *def = o->def ? o->def : o->def_doc ? o->def_doc : "unset";
  rnull_option_describe(o, allowed, sizeof allowed);
  /* \& : the text never starts a request; capitalized as a sentence. */
  fprintf(out, "\\fIvalue\\fP\n\\&%c", toupper((unsigned char)o->help[0]));
  put_roff(out, o->help + 1, strlen(o->help + 1));
  fputs(".\n.br\nDefault: \\fB", out);
  put_roff(out, def, strlen(def));
  fputs("\\fP; allowed: ", out);
  put_roff(out, allowed, strlen(allowed));
  fprintf(out, "; the %s's key%s.\n", t->owner,
          o->apply ? ", live (changes while the disk serves)" : "");
}

static void emit_keys(FILE *out, bool refused) {
  size_t nt = 0;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);
  for (size_t k = 0; k < nt; k++)
    for (size_t i = 0; i < t[k]->n; i++)
      emit_key(out, t[k], &t[k]->opts[i], refused);
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
      emit_keys(out, false);
    else if (strcmp(line, "@RNULL_REFUSED_KEYS@\n") == 0)
      emit_keys(out, true);
    else
      substitute(out, line, argv + 3, argc - 3);
  }
  bool bad = ferror(in);
  fclose(in);
  if (fclose(out) != 0 || bad) {
    fprintf(stderr, "gen_man: cannot write %s\n", argv[2]);
    return 1;
  }
  return 0;
}
