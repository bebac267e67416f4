/* Start nbdkit with rnull.so: see plugin_server.h. */
#include "plugin_server.h"

#include "expect.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef RNULL_PLUGIN_PATH
#error "RNULL_PLUGIN_PATH must be defined by the build"
#endif
#ifndef NBDKIT_PROGRAM
#define NBDKIT_PROGRAM "nbdkit"
#endif

static const char *const *wrapper;

const char *plugin_path(void) {
  const char *p = getenv("RNULL_PLUGIN");

  return p && *p ? p : RNULL_PLUGIN_PATH;
}

const char *nbdkit_program(void) {
  const char *p = getenv("NBDKIT");

  return p && *p ? p : NBDKIT_PROGRAM;
}

void plugin_set_wrapper(const char *const *w) { wrapper = w; }

int plugin_argv(const char **argv, const char *sock, const char *const *args) {
  int n = 0;

  for (int i = 0; wrapper && wrapper[i] && n < PLUGIN_MAX_ARGS - 8; i++)
    argv[n++] = wrapper[i];
  argv[n++] = nbdkit_program();
  argv[n++] = "-f";
  if (sock) {
    argv[n++] = "-U";
    argv[n++] = sock;
  }
  for (int i = 0; args[i] && n < PLUGIN_MAX_ARGS - 3; i++)
    if (args[i][0] == '-')
      argv[n++] = args[i];
  argv[n++] = plugin_path();
  for (int i = 0; args[i] && n < PLUGIN_MAX_ARGS - 1; i++)
    if (args[i][0] != '-')
      argv[n++] = args[i];
  argv[n] = NULL;
  return n;
}

int plugin_startv(struct harness *h, const char *const *args) {
  const char *argv[PLUGIN_MAX_ARGS];

  plugin_argv(argv, h->sock, args);
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
