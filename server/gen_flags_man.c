/* Build-time generator of rnull-server(1)'s flag sections: copies a man
 * page, replacing
 *   a line "@RNULL_SERVER_SYNOPSIS@" with one .OP line per flag,
 *   a line "@RNULL_SERVER_FLAGS@"    with one .TP entry per flag,
 * both walked from the flag table (flags.c) that getopt and --help use, so
 * the page cannot list a flag the server lacks or miss one it has. Runs
 * after packaging/gen_man.c (which fills the key sections); IN may be OUT.
 * Usage: gen_flags_man IN OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
    n += got;
    if (n + 1 == cap) {
      char *b = realloc(buf, cap *= 2);
      if (!b)
        free(buf);
      buf = b;
    }
  }
  if (buf)
    buf[n] = 0;
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IN OUT\n", argv[0]);
    return 2;
  }
  char *text = slurp(argv[1]);
  if (!text) {
    perror(argv[1]);
    return 1;
  }
  FILE *out = fopen(argv[2], "w");
  if (!out) {
    perror(argv[2]);
    return 1;
  }
  int found = 0;
  for (char *line = text, *nl; *line; line = nl) {
    nl = strchr(line, '\n');
    nl = nl ? nl + 1 : line + strlen(line);
    size_t len = (size_t)(nl - line);
    if (len == 24 && strncmp(line, "@RNULL_SERVER_SYNOPSIS@\n", len) == 0) {
      server_flags_man_synopsis(out);
      found |= 1;
    } else if (len == 21 && strncmp(line, "@RNULL_SERVER_FLAGS@\n", len) == 0) {
      server_flags_man_options(out);
      found |= 2;
    } else {
      fwrite(line, 1, len, out);
    }
  }
  free(text);
  if (fclose(out) != 0) {
    fprintf(stderr, "gen_flags_man: cannot write %s\n", argv[2]);
    return 1;
  }
  if (found != 3) {
    fprintf(stderr, "gen_flags_man: %s: no @RNULL_SERVER_SYNOPSIS@ or @RNULL_SERVER_FLAGS@ line\n",
            argv[1]);
    return 1;
  }
  return 0;
}
