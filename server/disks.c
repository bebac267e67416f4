/* rnull-server's disks (see disks.h). */
#include "disks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "nbd_proto.h"
#include "server.h"

void rnull_export_of(struct rnull_disk *d, const char *name, const char *desc,
                     struct rnull_hs_export *out) {
  uint16_t f =
      NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_CAN_MULTI_CONN | NBD_FLAG_SEND_CACHE;
  if (rnull_disk_rotational(d))
    f |= NBD_FLAG_ROTATIONAL;
  if (rnull_disk_readonly(d)) {
    f |= NBD_FLAG_READ_ONLY;
  } else {
    f |= NBD_FLAG_SEND_WRITE_ZEROES;
    if (rnull_disk_can_fua(d))
      f |= NBD_FLAG_SEND_FUA;
    if (rnull_disk_can_discard(d))
      f |= NBD_FLAG_SEND_TRIM;
    if (rnull_disk_can_fast_zero(d))
      f |= NBD_FLAG_SEND_FAST_ZERO;
  }
  *out = (struct rnull_hs_export){
      .name = name,
      .description = desc,
      .size = rnull_disk_size(d),
      .flags = f,
      .min_block = rnull_disk_logical_block_size(d),
      .pref_block = rnull_disk_physical_block_size(d),
      .max_block = rnull_disk_max_transfer(d),
  };
}

/* The handshake's lookups: a short hold on the disk, to read its geometry. */
static bool find_export(void *ctx, const char *name, struct rnull_hs_export *out,
                        char desc[RNULL_HS_DESC_MAX + 1]) {
  struct server *s = ctx;
  struct rnull_ctl_disk *cd = rnull_ctl_get(s->ctl, name);
  if (!cd)
    return false;
  char d[RNULL_CTL_DESC_LEN];
  if (rnull_ctl_describe(s->ctl, name, d) < 0)
    d[0] = 0;
  snprintf(desc, RNULL_HS_DESC_MAX + 1, "%s", d);
  rnull_export_of(rnull_ctl_disk_engine(cd), name, desc, out);
  rnull_ctl_put(cd);
  return true;
}

/* The handshake lists the default export (the command-line disk) first:
 * the others follow, that one not again under its name. */
static void list_exports(void *ctx, void (*emit)(void *, const char *, const char *), void *arg) {
  struct server *s = ctx;
  rnull_ctl_list_powered(s->ctl, s->main_name, emit, arg);
}

/* Power off of cd began: every loop looks at its connections. */
static void disconnect(void *fe, struct rnull_ctl_disk *cd) {
  (void)cd;
  struct server *s = fe;
  for (unsigned i = 0; i < s->nloops; i++) {
    atomic_store(&s->loops[i].power_check, true);
    ev_async_send(s->loops[i].ev, &s->loops[i].wake);
  }
}

int rnull_disks_init(struct server *s, struct rnull_ctl *ctl, char *err, size_t errlen) {
  struct rnull_ctl_hooks h = {.fe = s,
                              .end_io = conn_end_io,
                              .min_queues = rnull_disk_nr_hw_queues(s->disk),
                              .disconnect = disconnect};
  s->own_ctl = !ctl;
  if (!ctl && rnull_ctl_new(&ctl, &h) < 0) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  s->ctl = ctl;
  rnull_ctl_set_hooks(ctl, &h);
  int r = rnull_ctl_adopt(ctl, s->disk, err, errlen);
  if (r < 0) {
    rnull_disks_fini(s);
    return r;
  }
  s->main_name = rnull_disk_name(s->disk);
  s->exports = (struct rnull_hs_exports){.ctx = s, .find = find_export, .list = list_exports};
  return 0;
}

void rnull_disks_fini(struct server *s) {
  if (s->own_ctl)
    rnull_ctl_free(s->ctl);
  s->ctl = NULL;
}

static struct loop_disk *loop_disk_of(struct loop *l, struct rnull_ctl_disk *cd) {
  for (unsigned i = 0; i < l->ndisks; i++)
    if (l->disks[i].cd == cd)
      return &l->disks[i];
  return NULL;
}

bool rnull_disks_bind(struct conn *c) {
  struct loop *l = c->loop;
  struct server *s = l->srv;
  const struct rnull_hs_export *want = c->hs.cur;
  const char *name = want == c->hs.exp ? s->main_name : want->name;
  struct rnull_ctl_disk *cd = rnull_ctl_get(s->ctl, name);
  if (!cd)
    return false;
  struct rnull_disk *d = rnull_ctl_disk_engine(cd);
  struct loop_disk *ld = loop_disk_of(l, cd);
  if (rnull_disk_size(d) != want->size || rnull_disk_logical_block_size(d) != want->min_block ||
      rnull_disk_max_transfer(d) != want->max_block || (!ld && l->ndisks == RNULL_CTL_MAX_DISKS)) {
    rnull_ctl_put(cd); /* powered off and on again meanwhile, with another geometry */
    return false;
  }
  if (!ld) {
    ld = &l->disks[l->ndisks++];
    *ld = (struct loop_disk){.cd = cd, .hctx = rnull_disk_hctx(d, l->idx)};
  }
  ld->nconns++;
  c->cd = cd;
  c->disk = d;
  c->hctx = ld->hctx;
  c->reads_zero = rnull_disk_reads_zero(d);
  return true;
}

void rnull_disks_unbind(struct conn *c) {
  struct loop *l = c->loop;
  if (!c->cd)
    return;
  struct loop_disk *ld = loop_disk_of(l, c->cd);
  if (ld && --ld->nconns == 0) /* no request of ours is left on it: stop driving it */
    *ld = l->disks[--l->ndisks];
  rnull_ctl_put(c->cd);
  c->cd = NULL;
  c->disk = NULL;
  c->hctx = NULL;
}

void rnull_disks_check_power(struct loop *l) {
  if (!atomic_exchange(&l->power_check, false))
    return;
  for (struct conn *c = l->conns; c; c = c->next)
    if (c->cd && rnull_ctl_disk_cutting(c->cd))
      conn_abort(c); /* a power cut: no reply, the connection just drops */
    else if (c->cd && !rnull_ctl_disk_powered(c->cd))
      conn_power_off(c);
}
