/* rnull-server's disks: the registry (include/rnull/ctl.h) behind the
 * handshake's exports, and each loop's share of the powered disks its
 * connections use. A connection binds to its disk when it enters the
 * transmission phase and lets go when it is freed; a loop drives the hw
 * queue (its own index) of every disk bound on it, on its own thread only. */
#ifndef RNULL_SERVER_DISKS_H
#define RNULL_SERVER_DISKS_H

#include <stdbool.h>

#include "handshake.h"
#include "rnull/rnull.h"

struct server;
struct loop;
struct conn;

/* One disk as a loop sees it. */
struct loop_disk {
  struct rnull_ctl_disk *cd;
  struct rnull_hctx *hctx;
  unsigned nconns; /* connections of this loop bound to it */
};

/* The export a disk is (flags, sizes) under name, with description desc. */
void rnull_export_of(struct rnull_disk *d, const char *name, const char *desc,
                     struct rnull_hs_export *out);

/* The registry (ctl, or one of the server's own when NULL): its hooks, the
 * server's disk adopted under its name, the exports the handshake looks
 * up. 0 or -errno (err says). */
int rnull_disks_init(struct server *s, struct rnull_ctl *ctl, char *err, size_t errlen);
void rnull_disks_fini(struct server *s);

/* Bind c to the disk its handshake chose; false if it is gone or changed
 * (powered off, or powered on again with another geometry). */
bool rnull_disks_bind(struct conn *c);
void rnull_disks_unbind(struct conn *c);

/* On the loop's thread: connections whose disk is being powered off get
 * ESHUTDOWN for new requests and are closed once their replies are out. */
void rnull_disks_check_power(struct loop *l);

#endif
