/* One argv builder for both front ends: see frontend.h. */
#include "frontend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NBDKIT_PROGRAM
#define NBDKIT_PROGRAM "nbdkit"
#endif

const char *frontend_name(enum frontend fe) {
  return fe == FRONTEND_SERVER ? "rnull-server" : "nbdkit";
}

int frontend_parse(const char *word, enum frontend *fe) {
  if (word && strcmp(word, "plugin") == 0)
    *fe = FRONTEND_PLUGIN;
  else if (word && strcmp(word, "server") == 0)
    *fe = FRONTEND_SERVER;
  else
    return -1;
  return 0;
}

const char *plugin_path(void) {
  const char *p = getenv("RNULL_PLUGIN");

#ifdef RNULL_PLUGIN_PATH
  return p && *p ? p : RNULL_PLUGIN_PATH;
#else
  return p && *p ? p : NULL;
#endif
}

const char *nbdkit_program(void) {
  const char *p = getenv("NBDKIT");

  return p && *p ? p : NBDKIT_PROGRAM;
}

const char *srv_path(void) {
#ifdef RNULL_SERVER_PATH
  return RNULL_SERVER_PATH;
#else
  return NULL;
#endif
}

const char *frontend_program(enum frontend fe) {
  if (fe == FRONTEND_SERVER)
    return srv_path();
  return plugin_path() ? nbdkit_program() : NULL;
}

struct argv_out {
  const char **argv;
  int n, max;
  bool full;
};

static void push(struct argv_out *o, const char *word) {
  if (o->n < o->max - 1)
    o->argv[o->n++] = word;
  else
    o->full = true;
}

/* args whose option-ness (a leading '-') is want, in order. */
static void push_args(struct argv_out *o, const char *const *args, bool want) {
  for (int i = 0; args && args[i]; i++)
    if ((args[i][0] == '-') == want)
      push(o, args[i]);
}

int frontend_argv(enum frontend fe, const char **argv, int max, const char *sock,
                  const char *const *args, const char *const *wrapper) {
  struct argv_out o = {argv, 0, max, false};
  const char *prog = frontend_program(fe);

  if (prog == NULL || max < 1) {
    fprintf(stderr, "frontend: %s is not built\n", frontend_name(fe));
    return -1;
  }
  for (int i = 0; wrapper && wrapper[i]; i++)
    push(&o, wrapper[i]);
  push(&o, prog);
  push(&o, "-f");
  if (sock) {
    push(&o, fe == FRONTEND_SERVER ? "--unix" : "-U");
    push(&o, sock);
  }
  if (fe == FRONTEND_SERVER) {
    for (int i = 0; args && args[i]; i++)
      push(&o, args[i]);
  } else {
    push_args(&o, args, true);
    push(&o, plugin_path());
    push_args(&o, args, false);
  }
  argv[o.n] = NULL;
  if (o.full) {
    fprintf(stderr, "frontend: more than %d arguments\n", max - 1);
    return -1;
  }
  return o.n;
}

int frontend_start(enum frontend fe, struct harness *h, const char *const *args) {
  const char *argv[FRONTEND_MAX_ARGS];

  if (frontend_argv(fe, argv, FRONTEND_MAX_ARGS, h->sock, args, NULL) < 0)
    return -1;
  return harness_start(h, (char *const *)argv);
}
