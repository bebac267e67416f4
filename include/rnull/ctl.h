/* Front-end API: disks created, changed and powered at run time (null_blk's
 * configfs, in user space). One model, several faces: a registry of named
 * disks, each with the option table as its attributes and a power switch;
 * the control socket (rnull_ctl_listen, spoken by rnull-ctl and socat), and
 * whatever else a front end adds, are thin layers over it.
 *
 * A disk is INITIALIZED-only while powered off: its keys change freely. Power
 * on builds the engine disk (rnull_null_disk_create + rnull_disk_add) and the
 * front end serves it under its name. While powered, only the live keys
 * (rnull_null_key_is_live) change, taking effect for the next request. Power
 * off refuses new users, asks the front end to disconnect the current ones
 * (new requests get ESHUTDOWN, in-flight ones complete), waits for them, and
 * frees the engine disk. */
#ifndef RNULL_CTL_H
#define RNULL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rnull/export.h"
#include "rnull/io.h"
#include "rnull/null.h"

struct rnull_ctl;
struct rnull_ctl_disk;
struct rnull_disk;

#define RNULL_CTL_MAX_DISKS 128
#define RNULL_CTL_DESC_LEN 96

/* What the front end serving the disks provides. */
struct rnull_ctl_hooks {
  void *fe;
  rnull_end_io_fn end_io; /* given to rnull_disk_add */
  /* the engine disk gets max(submit_queues, min_queues) hw queues (a front
   * end with that many threads gives each its own) */
  unsigned min_queues;
  /* cd is being powered off: make its users let go soon (rnull_ctl_put).
   * Called without the registry lock, from the control thread. */
  void (*disconnect)(void *fe, struct rnull_ctl_disk *cd);
};

RNULL_API int rnull_ctl_new(struct rnull_ctl **out, const struct rnull_ctl_hooks *hooks);
/* Replace the hooks (a front end created after the registry: before any
 * disk is powered on through it). */
RNULL_API void rnull_ctl_set_hooks(struct rnull_ctl *ctl, const struct rnull_ctl_hooks *hooks);
/* Add a disk the front end made and added itself (ADDED, serving): listed
 * and found under its name, pinned, never destroyed by the registry. */
RNULL_API int rnull_ctl_adopt(struct rnull_ctl *ctl, struct rnull_disk *disk, char *err,
                              size_t errlen);
/* Stops the control socket, powers every disk off, frees everything. */
RNULL_API void rnull_ctl_free(struct rnull_ctl *ctl);

/* A command line's bound, its newline included (longer: an error). */
#define RNULL_CTL_LINE_MAX 4096

/* One command of the line protocol (see rnull-ctl(1)): its output lines,
 * then "ok" or "error: MESSAGE", are written to out. A line with a control
 * character (but blanks and a final CR LF) is refused. 0 or -errno. */
RNULL_API int rnull_ctl_exec(struct rnull_ctl *ctl, const char *line, FILE *out);
/* The same command as words, each checked on its own (1 to
 * RNULL_CTL_LINE_MAX - 1 bytes, no blank, no control character; refused
 * otherwise with -EINVAL or -E2BIG), never split or joined: a front end
 * passes a disk name, a key=value as they came (configfs' file names and
 * writes), so no value can smuggle in another word. */
RNULL_API int rnull_ctl_execv(struct rnull_ctl *ctl, int argc, const char *const *argv, FILE *out);

/* The same as the commands create (powered or not) and power, for a front
 * end's own disks (its command line). err names disk, key, value, why. */
RNULL_API int rnull_ctl_create(struct rnull_ctl *ctl, const struct rnull_config *cfg, bool power,
                               char *err, size_t errlen);
/* The disks' memory budget, server-wide: a power on (a create) whose
 * engine (rnull_null_disk_memory: tags, requests, PDUs, queues) would take
 * the powered disks past it is refused with the figures; a power off gives
 * it back. Default: an eighth of RAM; 0: none. Adopted disks are the front
 * end's and not counted. */
RNULL_API void rnull_ctl_set_memory_budget(struct rnull_ctl *ctl, uint64_t bytes);
RNULL_API void rnull_ctl_memory(struct rnull_ctl *ctl, uint64_t *used, uint64_t *budget);

/* Pin a disk: it cannot be powered off or removed (a front end's default
 * disk, which its stats and signals use). */
RNULL_API int rnull_ctl_pin(struct rnull_ctl *ctl, const char *name);

/* Users (a front end's connections): take a powered disk by name, NULL if
 * unknown or powered off; put it back when done with it. */
RNULL_API struct rnull_ctl_disk *rnull_ctl_get(struct rnull_ctl *ctl, const char *name);
RNULL_API void rnull_ctl_put(struct rnull_ctl_disk *cd);
RNULL_API struct rnull_disk *rnull_ctl_disk_engine(const struct rnull_ctl_disk *cd);
/* The power is being cut (rnull-ctl power-cut): the disconnect hook's
 * front end drops the disk's clients at once, without replies. */
RNULL_API bool rnull_ctl_disk_cutting(const struct rnull_ctl_disk *cd);
RNULL_API const char *rnull_ctl_disk_name(const struct rnull_ctl_disk *cd);
/* false from the moment power off begins (a user then lets go). */
RNULL_API bool rnull_ctl_disk_powered(const struct rnull_ctl_disk *cd);

/* Fill desc with cd's export description; 0, or -ENOENT (unknown, off). */
RNULL_API int rnull_ctl_describe(struct rnull_ctl *ctl, const char *name,
                                 char desc[RNULL_CTL_DESC_LEN]);
/* Call emit for every powered disk but the one named except (NULL: none;
 * a front end lists its own disk as the default export already), in name
 * order, under the registry lock (emit must not call back into ctl). */
RNULL_API void rnull_ctl_list_powered(struct rnull_ctl *ctl, const char *except,
                                      void (*emit)(void *arg, const char *name, const char *desc),
                                      void *arg);

/* Call visit for every powered disk (its engine disk, held powered during
 * the call; not under the registry lock), in the registry's order: what a
 * front end's statistics writer lists (rnull_stats_writer_opts.each_disk). */
RNULL_API void rnull_ctl_each_powered(struct rnull_ctl *ctl,
                                      void (*visit)(void *ctx, struct rnull_disk *d), void *ctx);

/* The control socket: a Unix socket at path, created mode 0600 (a stale
 * socket left there by an earlier run is replaced; a live one, another
 * server's, is refused with -EADDRINUSE); a client is served only if
 * SO_PEERCRED says root or this process's uid. One thread polls every
 * client, a fixed pool of threads runs their commands. 0 or -errno (err
 * says). */
RNULL_API int rnull_ctl_listen(struct rnull_ctl *ctl, const char *path, char *err, size_t errlen);

/* What one control socket allows (0: the default). A client over the cap
 * gets one line, "error: too many control clients...", and is closed; so is
 * one idle (no complete line, no command running) for idle_timeout_ms, and
 * one whose line reaches RNULL_CTL_LINE_MAX bytes. */
struct rnull_ctl_limits {
  unsigned max_clients;     /* default 64, at most 4096 */
  unsigned idle_timeout_ms; /* default 60000 */
};
RNULL_API int rnull_ctl_listen_limits(struct rnull_ctl *ctl, const char *path,
                                      const struct rnull_ctl_limits *lim, char *err, size_t errlen);

#endif
