/* Start nbdkit with rnull.so: see plugin_server.h. */
#include "plugin_server.h"

#include "expect.h"

#include <stdarg.h>

static const char *const *wrapper;

void plugin_set_wrapper(const char *const *w) { wrapper = w; }

int plugin_argv(const char **argv, const char *sock, const char *const *args) {
  return frontend_argv(FRONTEND_PLUGIN, argv, PLUGIN_MAX_ARGS, sock, args, wrapper);
}

int plugin_startv(struct harness *h, const char *const *args) {
  const char *argv[PLUGIN_MAX_ARGS];

  if (plugin_argv(argv, h->sock, args) < 0)
    return -1;
  return harness_start(h, (char *const *)argv);
}

int plugin_start(struct harness *h, ...) {
  const char *args[PLUGIN_MAX_ARGS];
  int n = 0;
  va_list ap;

  va_start(ap, h);
  while (n < PLUGIN_MAX_ARGS - 1 && (args[n] = va_arg(ap, const char *)) != NULL)
    n++;
  va_end(ap);
  args[n] = NULL;
  return plugin_startv(h, args);
}

bool plugin_stop_clean(struct harness *h, const char *what) {
  int st = harness_stop(h);

  return EXPECT_MSG(st == 0, "%s: nbdkit exits cleanly on SIGTERM (wait status 0x%x)", what, st);
}
