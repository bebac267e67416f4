/* Prints every key of a null disk's option tables (core, null driver, front
 * ends), one a line, straight from rnull_config_tables(): the man page test compares it with what
 * --help prints, so a key missing from the help text (and so from the man pages) is caught. */
#include <stdio.h>

#include "rnull/null.h"

int main(void) {
  size_t nt = 0, n = 0;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);

  for (size_t k = 0; k < nt; k++)
    for (size_t i = 0; i < t[k]->n; i++, n++)
      printf("%s\n", t[k]->opts[i].key);
  return n > 0 && fflush(stdout) == 0 ? 0 : 1;
}
