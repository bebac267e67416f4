/* Start `nbdkit -f -U SOCK [nbdkit options] rnull.so [key=value...]` under
 * the harness (the argv of frontend.h; plugin_path() and nbdkit_program()
 * there too). */
#ifndef RNULL_TEST_PLUGIN_SERVER_H
#define RNULL_TEST_PLUGIN_SERVER_H

#include <stdbool.h>

#include "frontend.h"
#include "harness.h"

#define PLUGIN_MAX_ARGS 64

/* args: NULL-terminated; those starting with '-' are nbdkit options (placed
 * before the plugin), the rest plugin keys (after it). 0 or -1. */
int plugin_start(struct harness *h, ...);
int plugin_startv(struct harness *h, const char *const *args);

/* Build the argv plugin_start would run (for harness_run): sock may be NULL
 * (no -U, e.g. for --help). Returns argc (-1 if it does not fit); argv has
 * room for PLUGIN_MAX_ARGS. */
int plugin_argv(const char **argv, const char *sock, const char *const *args);

/* Command words put in front of nbdkit (e.g. valgrind ...), NULL-terminated;
 * NULL to clear. */
void plugin_set_wrapper(const char *const *wrapper);

/* Stop the server and expect a clean exit (status 0) after SIGTERM; the
 * failure names what and the real wait status. Returns whether it was. */
bool plugin_stop_clean(struct harness *h, const char *what);

#endif
