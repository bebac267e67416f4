/* rnull-server's disks (see disks.h). */
#include "disks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nbd_proto.h"

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
  struct rnull_disks *s = ctx;
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
  struct rnull_disks *s = ctx;
  rnull_ctl_list_powered(s->ctl, s->main_name, emit, arg);
}

int rnull_disks_init(struct rnull_disks *s, struct rnull_disk *disk, struct rnull_ctl *ctl,
                     void (*end_io)(void *cookie, int status, uint32_t done_flags),
                     void (*power_off)(void *fe, struct rnull_ctl_disk *cd), void *fe, char *err,
                     size_t errlen) {
  struct rnull_ctl_hooks h = {.fe = fe,
                              .end_io = end_io,
                              .min_queues = rnull_disk_nr_hw_queues(disk),
                              .disconnect = power_off};
  s->own_ctl = !ctl;
  if (!ctl && rnull_ctl_new(&ctl, &h) < 0) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  s->ctl = ctl;
  rnull_ctl_set_hooks(ctl, &h);
  int r = rnull_ctl_adopt(ctl, disk, err, errlen);
  if (r < 0) {
    rnull_disks_fini(s);
    return r;
  }
  s->main_name = rnull_disk_name(disk);
  s->exports = (struct rnull_hs_exports){.ctx = s, .find = find_export, .list = list_exports};
  return 0;
}

void rnull_disks_fini(struct rnull_disks *s) {
  if (s->own_ctl)
    rnull_ctl_free(s->ctl);
  s->ctl = NULL;
}

static struct loop_disk *loop_disk_of(struct loop_disks *ld, struct rnull_ctl_disk *cd) {
  for (unsigned i = 0; i < ld->n; i++)
    if (ld->d[i].cd == cd)
      return &ld->d[i];
  return NULL;
}

bool rnull_disks_bind(struct rnull_ctl *ctl, struct loop_disks *lds, unsigned idx, const char *name,
                      const struct rnull_hs_export *want, struct disk_binding *out) {
  struct rnull_ctl_disk *cd = rnull_ctl_get(ctl, name);
  if (!cd)
    return false;
  struct rnull_disk *d = rnull_ctl_disk_engine(cd);
  struct loop_disk *ld = loop_disk_of(lds, cd);
  if (rnull_disk_size(d) != want->size || rnull_disk_logical_block_size(d) != want->min_block ||
      rnull_disk_max_transfer(d) != want->max_block || (!ld && lds->n == RNULL_CTL_MAX_DISKS)) {
    rnull_ctl_put(cd); /* powered off and on again meanwhile, with another geometry */
    return false;
  }
  if (!ld) {
    ld = &lds->d[lds->n++];
    *ld = (struct loop_disk){.cd = cd, .hctx = rnull_disk_hctx(d, idx)};
  }
  ld->nconns++;
  *out = (struct disk_binding){
      .cd = cd, .disk = d, .hctx = ld->hctx, .reads_zero = rnull_disk_reads_zero(d)};
  return true;
}

void rnull_disks_unbind(struct loop_disks *lds, struct disk_binding *b) {
  if (!b->cd)
    return;
  struct loop_disk *ld = loop_disk_of(lds, b->cd);
  if (ld && --ld->nconns == 0) /* no request of ours is left on it: stop driving it */
    *ld = lds->d[--lds->n];
  rnull_ctl_put(b->cd);
  *b = (struct disk_binding){.cd = NULL};
}
