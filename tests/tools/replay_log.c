/* rnull-test-replay-log: replay a dm-log-writes log to an image, as
 * xfstests' replay-log --log LOG --replay IMG [--end-mark TEXT] does (its
 * options, a subset): for tests where replay-log is not packaged.
 *   rnull-test-replay-log --log LOG --replay IMG [--end-mark TEXT | --end-flush K]
 * Prints the entries replayed; exit 0, 1 on error, 2 mark/flush not found. */
#include <stdlib.h>
#include <string.h>

#include "log_reader.h"

int main(int argc, char **argv) {
  const char *log = NULL, *img = NULL, *mark = NULL;
  long flush = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--log"))
      log = argv[i + 1];
    else if (!strcmp(argv[i], "--replay"))
      img = argv[i + 1];
    else if (!strcmp(argv[i], "--end-mark"))
      mark = argv[i + 1];
    else if (!strcmp(argv[i], "--end-flush"))
      flush = atol(argv[i + 1]);
  }
  if (!log || !img) {
    fprintf(stderr, "usage: %s --log LOG --replay IMG [--end-mark TEXT | --end-flush K]\n",
            argv[0]);
    return 1;
  }
  char err[512];
  long n = lr_replay(log, img, mark, flush, err, sizeof err);
  if (n < 0) {
    fprintf(stderr, "%s\n", err);
    return n == -2 ? 2 : 1;
  }
  printf("%ld\n", n);
  return 0;
}
