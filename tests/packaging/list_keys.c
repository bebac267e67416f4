/* Prints every key of the engine's option table, one a line, straight from
 * rnull_options(): the man page test compares it with what --help prints, so
 * a key missing from the help text (and so from the man pages) is caught. */
#include <stdio.h>

#include "rnull/config.h"

int main(void) {
  size_t n = 0;
  const struct rnull_option *o = rnull_options(&n);

  for (size_t i = 0; i < n; i++)
    printf("%s\n", o[i].key);
  return n > 0 && fflush(stdout) == 0 ? 0 : 1;
}
