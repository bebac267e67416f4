/* rnull-server's disks: the registry (include/rnull/ctl.h) behind the
 * handshake's exports, and each loop's share of the powered disks its
 * connections use. A connection binds to its disk when it enters the
 * transmission phase and lets go when it is freed; a loop drives the hw
 * queue (its own index) of every disk bound on it, on its own thread only. */
#ifndef RNULL_SERVER_DISKS_H
#define RNULL_SERVER_DISKS_H

#include <stdbool.h>
#include <stdint.h>

#include "handshake.h"
#include "rnull/rnull.h"

/* The registry as the server uses it (struct server's reg). */
struct rnull_disks {
  struct rnull_ctl *ctl;           /* every disk, by name (include/rnull/ctl.h) */
  bool own_ctl;                    /* ctl is the server's (none was given) */
  const char *main_name;           /* the served disk's name: the default export */
  struct rnull_hs_exports exports; /* the registry's disks, for the handshake */
};

/* One disk as a loop sees it. */
struct loop_disk {
  struct rnull_ctl_disk *cd;
  struct rnull_hctx *hctx;
  unsigned nconns; /* connections of this loop bound to it */
};

/* A loop's disks: those its connections are bound to (struct loop's). */
struct loop_disks {
  struct loop_disk d[RNULL_CTL_MAX_DISKS];
  unsigned n;
};

/* What a connection keeps of the disk it is bound to (rnull_disks_bind). */
struct disk_binding {
  struct rnull_ctl_disk *cd; /* held: the registry's entry (NULL: not bound) */
  struct rnull_disk *disk;
  struct rnull_hctx *hctx; /* the disk's hw queue the loop drives */
  bool reads_zero;
};

/* The export a disk is (flags, sizes) under name, with description desc. */
void rnull_export_of(struct rnull_disk *d, const char *name, const char *desc,
                     struct rnull_hs_export *out);

/* The registry (ctl, or one of the server's own when NULL): its hooks, the
 * server's disk adopted under its name, the exports the handshake looks
 * up. end_io is the front end's completion (every disk created through the
 * registry gets it); power_off(fe, cd) is called when cd's power off begins
 * (the registry's disconnect hook).
 * 0 or -errno (err says). */
int rnull_disks_init(struct rnull_disks *r, struct rnull_disk *disk, struct rnull_ctl *ctl,
                     void (*end_io)(void *cookie, int status, uint32_t done_flags),
                     void (*power_off)(void *fe, struct rnull_ctl_disk *cd), void *fe, char *err,
                     size_t errlen);
void rnull_disks_fini(struct rnull_disks *r);

/* Bind to the disk named name, as the handshake chose it (want: its
 * geometry then), on the loop of hw queue idx whose disks are ld: the
 * binding, for the connection to keep, in *out. false if it is gone or
 * changed (powered off, or powered on again with another geometry). */
bool rnull_disks_bind(struct rnull_ctl *ctl, struct loop_disks *ld, unsigned idx, const char *name,
                      const struct rnull_hs_export *want, struct disk_binding *out);
/* Let go of b (no request of its connection is left on the disk). */
void rnull_disks_unbind(struct loop_disks *ld, struct disk_binding *b);

#endif
