/* Private to lib/ctl: the registry of named disks (see include/rnull/ctl.h). */
#ifndef RNULL_CTL_REGISTRY_H
#define RNULL_CTL_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>

#include "rnull/ctl.h"

struct rnull_ctl_disk {
  struct rnull_ctl *ctl;
  struct rnull_config cfg; /* the attributes: live keys follow their changes */
  atomic_bool powered;
  bool pinned;             /* a front end's own disk: no power off, no remove */
  bool busy;               /* powering off: other commands on it wait their turn */
  bool external;           /* adopted: the front end's disk, never destroyed here */
  struct rnull_disk *disk; /* the engine disk while powered */
  /* a memory-backed disk's data while powered off: handed to the next
   * power on, freed by remove (null_blk keeps data until rmdir) */
  struct rnull_null_media *media;
  atomic_bool cutting; /* a power cut: front ends drop its clients without replies */
  struct ctl_cut *cut; /* the power cut ctl_power_off carries out, or NULL */
  unsigned users;      /* rnull_ctl_get'ers, under the registry lock */
  char desc[RNULL_CTL_DESC_LEN];
  uint64_t mem_charged; /* of the memory budget, while powered (budget.c) */
};

struct rnull_ctl {
  pthread_mutex_t lock;
  pthread_cond_t released; /* a user let go, or a disk stopped being busy */
  struct rnull_ctl_hooks hooks;
  struct rnull_ctl_disk *disks[RNULL_CTL_MAX_DISKS]; /* sorted by name */
  unsigned n;
  uint64_t mem_budget, mem_used; /* the disks' engine memory (budget.c) */
  bool mem_budget_set;
  /* the control socket (control.c), stopped by rnull_ctl_free */
  void (*stop_listen)(struct rnull_ctl *ctl);
  unsigned cuts_pending; /* scheduled power cuts still to be carried out (threads) */
  void *listen_state;
};

/* All with ctl->lock held. err names the disk and says why. */
struct rnull_ctl_disk *ctl_find(struct rnull_ctl *ctl, const char *name);
int ctl_check_name(const char *name, char *err, size_t errlen);
int ctl_add(struct rnull_ctl *ctl, const struct rnull_config *cfg, struct rnull_ctl_disk **out,
            char *err, size_t errlen);
int ctl_power_on(struct rnull_ctl_disk *cd, char *err, size_t errlen);
/* Releases and retakes the lock while waiting for users to let go. */
int ctl_power_off(struct rnull_ctl_disk *cd, char *err, size_t errlen);
int ctl_remove(struct rnull_ctl_disk *cd, char *err, size_t errlen);
/* A power cut: the clients dropped without replies (rnull_ctl_disk_cutting),
 * then what was not durable decided by pc (pc->seed set), the crash report
 * to out, the disk powered off. The seed is logged on stderr. */
struct ctl_cut {
  struct rnull_power_cut *pc;
  bool json;
  FILE *out;
  int result;
  bool done; /* decided: at once without a disconnect hook (the plugin), else once the clients went
              */
};
int ctl_power_cut(struct rnull_ctl_disk *cd, struct ctl_cut *cut, char *err, size_t errlen);

/* The memory budget (budget.c): charge cd for an engine of c before making
 * it (-ENOMEM with the figures in err), give the charge back once freed. */
int ctl_budget_charge(struct rnull_ctl_disk *cd, const struct rnull_config *c, char *err,
                      size_t errlen);
void ctl_budget_release(struct rnull_ctl_disk *cd);
/* Wait while cd is busy (another command powering it off). false if it went. */
bool ctl_wait_idle(struct rnull_ctl *ctl, const char *name, struct rnull_ctl_disk **cd);

#endif
