/* One argv builder for both front ends: the same key=value list served by
 *   nbdkit -f -U SOCK [nbdkit options] rnull.so key=value...
 *   rnull-server -f --unix SOCK [options] key=value...
 * so a test written once runs against either (`test_x plugin|server`).
 * Programs: the build's rnull.so and rnull-server (RNULL_PLUGIN_PATH,
 * RNULL_SERVER_PATH); RNULL_PLUGIN and NBDKIT in the environment override
 * the plugin and nbdkit. */
#ifndef RNULL_TEST_FRONTEND_H
#define RNULL_TEST_FRONTEND_H

#include "harness.h"

enum frontend { FRONTEND_PLUGIN, FRONTEND_SERVER };

#define FRONTEND_MAX_ARGS 64

/* "nbdkit" or "rnull-server", for messages. */
const char *frontend_name(enum frontend fe);

/* "plugin" or "server" (a test's argv[1]) into *fe. 0, or -1 if neither. */
int frontend_parse(const char *word, enum frontend *fe);

/* The program that serves: rnull-server, or nbdkit (which loads plugin_path()).
 * NULL if that front end is not built. */
const char *frontend_program(enum frontend fe);
const char *plugin_path(void);
const char *nbdkit_program(void);
const char *srv_path(void);

/* Fill argv (room for max entries, NULL-terminated): the wrapper words
 * (NULL: none), the program, -f, the socket (sock NULL: none, e.g. for
 * --help), then args (NULL-terminated): key=value words for either front
 * end; words starting with '-' are the front end's own options (nbdkit's are
 * put before rnull.so). Returns argc, or -1 (message printed) if that front
 * end is not built or argv has no room. */
int frontend_argv(enum frontend fe, const char **argv, int max, const char *sock,
                  const char *const *args, const char *const *wrapper);

/* Start fe serving args on h->sock (h initialized) and wait for the socket.
 * 0 or -1. */
int frontend_start(enum frontend fe, struct harness *h, const char *const *args);

#endif
