/* rnull-server's flags: one table (flags.c), one FLAG() line per flag with
 * its name, short letter, kind of argument, default, range, the field it
 * sets, the --help text and the man page's text. getopt's longopts, --help,
 * the man page's SYNOPSIS and OPTIONS (gen_flags_man.c, at build time) and
 * the error messages are all made from it: no second list of flags exists.
 * The disk's key=value arguments are the engine's table (rnull/config.h). */
#ifndef RNULL_SERVER_FLAGS_H
#define RNULL_SERVER_FLAGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rnull/nbd_server.h"

/* What the flags set: the server library's options and what only the
 * program does. Strings point into argv (or the config file's copy). */
struct server_cli {
  struct rnull_nbd_server_opts o;
  bool foreground;
  bool readonly;                 /* -r: wins over every readonly= key */
  const char *pidfile;           /* --pidfile */
  const char *control_path;      /* --control */
  const char *configfs_dir;      /* --configfs */
  unsigned control_clients;      /* --control-clients */
  unsigned control_idle_timeout; /* --control-idle-timeout, seconds */
  uint64_t disk_memory;          /* --disk-memory; UINT64_MAX: the registry's default */
};

enum flag_kind {
  FLAG_SWITCH, /* no argument: sets a bool */
  FLAG_UINT,   /* decimal unsigned, min..max */
  FLAG_BYTES,  /* a size with K/M/G/T suffixes, min..max */
  FLAG_STRING, /* at most max bytes */
  FLAG_PATH,   /* a file name; made absolute before daemonizing */
  FLAG_TLS,    /* off|on|require */
  FLAG_POLL,   /* the string, parsed once, by the server library (pw_parse) */
  FLAG_STATS,  /* a path where the statistics file may be (re)written */
  FLAG_ACTION, /* handled by main: --config, --help, --version */
};

struct server_flag {
  const char *name; /* long name, without "--" */
  char letter;      /* short option, 0 if none */
  enum flag_kind kind;
  const char *metavar; /* the argument in --help and man ("PATH"), NULL for none */
  const char *def;     /* default as --help shows it, NULL if none */
  bool def_doc;        /* def describes a default computed later ("2 x max_transfer") */
  uint64_t min, max;   /* range (FLAG_UINT, FLAG_BYTES), longest (STRING, PATH, STATS) */
  size_t offset;       /* of the field in struct server_cli (not FLAG_ACTION) */
  const char *help;    /* one line for --help (wrapped there) */
  const char *man;     /* the man page's paragraph (roff) */
};

const struct server_flag *server_flags(size_t *count);
const struct server_flag *server_flag_find(const char *name);

/* Defaults: rnull_nbd_server_opts_init and progname "rnull-server". */
void server_cli_init(struct server_cli *c);

/* Set f's field from v. 0, or -1 with err naming the flag, the value and
 * what is allowed. */
int server_flag_set(struct server_cli *c, const struct server_flag *f, const char *v, char *err,
                    size_t errlen);

/* What f accepts, as --help, man and the errors say it ("0..65535"). */
void server_flag_describe(const struct server_flag *f, char *buf, size_t len);

/* getopt_long's arrays, built from the table once (not thread-safe: call
 * from main): longopts (each .val is the flag's letter or 256 + its index)
 * and the short option string. */
const struct option *server_flags_getopt(const char **shortopts);
/* The table entry of getopt_long's return value, NULL if none. */
const struct server_flag *server_flag_of_getopt(int c);

/* --help's "Server options:" lines, and the man page's parts (roff). */
void server_flags_help(FILE *out);
void server_flags_man_synopsis(FILE *out);
void server_flags_man_options(FILE *out);

#endif
