/* The registry of named disks: create, power on and off, remove, and the
 * users (a front end's connections) that hold a powered disk. One mutex
 * guards the set; it is taken per command and per connection, never per
 * request. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "preload.h"
#include "registry.h"
#include "rnull/disk.h"
#include "rnull/null.h"

/* Users get this long beyond the disk's request timeout to let go. */
#define POWER_OFF_GRACE_S 10

int rnull_ctl_new(struct rnull_ctl **out, const struct rnull_ctl_hooks *hooks) {
  struct rnull_ctl *ctl = calloc(1, sizeof *ctl);
  if (!ctl)
    return -ENOMEM;
  pthread_mutex_init(&ctl->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&ctl->released, &ca);
  pthread_condattr_destroy(&ca);
  ctl->hooks = *hooks;
  *out = ctl;
  return 0;
}

void rnull_ctl_free(struct rnull_ctl *ctl) {
  if (!ctl)
    return;
  if (ctl->stop_listen)
    ctl->stop_listen(ctl);
  char err[RNULL_ERR_LEN];
  pthread_mutex_lock(&ctl->lock);
  while (ctl->cuts_pending) /* scheduled power cuts under way finish first */
    pthread_cond_wait(&ctl->released, &ctl->lock);
  while (ctl->n) {
    struct rnull_ctl_disk *cd = ctl->disks[ctl->n - 1];
    cd->pinned = false;
    if (ctl_remove(cd, err, sizeof err) < 0)
      break; /* users that never let go: leave it (the process is ending) */
  }
  while (ctl->cuts_pending) /* one fired while its disk was going: it finds none */
    pthread_cond_wait(&ctl->released, &ctl->lock);
  pthread_mutex_unlock(&ctl->lock);
  if (ctl->n == 0) {
    pthread_cond_destroy(&ctl->released);
    pthread_mutex_destroy(&ctl->lock);
    free(ctl);
  }
}

void rnull_ctl_set_hooks(struct rnull_ctl *ctl, const struct rnull_ctl_hooks *hooks) {
  pthread_mutex_lock(&ctl->lock);
  ctl->hooks = *hooks;
  pthread_mutex_unlock(&ctl->lock);
}

static void describe(struct rnull_ctl_disk *cd);

int rnull_ctl_adopt(struct rnull_ctl *ctl, struct rnull_disk *disk, char *err, size_t errlen) {
  struct rnull_ctl_disk *cd;
  pthread_mutex_lock(&ctl->lock);
  struct rnull_config cfg; /* a null disk's keys; another driver's core keys only */
  rnull_config_init(&cfg);
  if (rnull_null_disk_config(disk, &cfg) < 0)
    cfg.core = *rnull_disk_params(disk);
  int r = ctl_add(ctl, &cfg, &cd, err, errlen);
  if (r == 0) {
    cd->disk = disk;
    cd->external = cd->pinned = true;
    describe(cd);
    atomic_store(&cd->powered, true);
  }
  pthread_mutex_unlock(&ctl->lock);
  return r;
}

static int index_of(struct rnull_ctl *ctl, const char *name, bool *found) {
  unsigned lo = 0, hi = ctl->n;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    int c = strcmp(ctl->disks[mid]->cfg.core.name, name);
    if (c == 0) {
      *found = true;
      return (int)mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return (int)lo;
}

struct rnull_ctl_disk *ctl_find(struct rnull_ctl *ctl, const char *name) {
  bool found;
  int i = index_of(ctl, name, &found);
  return found ? ctl->disks[i] : NULL;
}

/* A name is an export name, a file name (configfs) and a word of the line
 * protocol: letters, digits, '_', '-', '.', not starting with '.' or '-'. */
int ctl_check_name(const char *name, char *err, size_t errlen) {
  size_t n = strlen(name);
  if (n == 0 || n >= RNULL_DISK_NAME_LEN) {
    snprintf(err, errlen, "disk name '%s': must be 1 to %d bytes", name, RNULL_DISK_NAME_LEN - 1);
    return -EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (i > 0 && (c == '-' || c == '.'));
    if (!ok) {
      snprintf(err, errlen,
               "disk name '%s': only letters, digits, '_', and '-' or '.' after the first byte",
               name);
      return -EINVAL;
    }
  }
  return 0;
}

int ctl_add(struct rnull_ctl *ctl, const struct rnull_config *cfg, struct rnull_ctl_disk **out,
            char *err, size_t errlen) {
  int r = ctl_check_name(cfg->core.name, err, errlen);
  if (r)
    return r;
  bool found;
  int i = index_of(ctl, cfg->core.name, &found);
  if (found) {
    snprintf(err, errlen, "%s: name taken: a disk of that name exists", cfg->core.name);
    return -EEXIST;
  }
  if (ctl->n == RNULL_CTL_MAX_DISKS) {
    snprintf(err, errlen, "%s: too many disks (at most %d)", cfg->core.name, RNULL_CTL_MAX_DISKS);
    return -ENOSPC;
  }
  char cerr[RNULL_ERR_LEN];
  if ((r = rnull_config_check(cfg, cerr, sizeof cerr)) < 0) {
    snprintf(err, errlen, "%s: %s", cfg->core.name, cerr);
    return r;
  }
  struct rnull_ctl_disk *cd = calloc(1, sizeof *cd);
  if (!cd) {
    snprintf(err, errlen, "%s: out of memory", cfg->core.name);
    return -ENOMEM;
  }
  cd->ctl = ctl;
  cd->cfg = *cfg;
  atomic_init(&cd->powered, false);
  atomic_init(&cd->cutting, false);
  memmove(&ctl->disks[i + 1], &ctl->disks[i], (ctl->n - (unsigned)i) * sizeof *ctl->disks);
  ctl->disks[i] = cd;
  ctl->n++;
  *out = cd;
  return 0;
}

static void describe(struct rnull_ctl_disk *cd) {
  struct rnull_disk *d = cd->disk;
  snprintf(cd->desc, sizeof cd->desc, "rnull disk %s: %" PRIu64 " bytes, %u-byte blocks, %s store",
           cd->cfg.core.name, rnull_disk_size(d), rnull_disk_logical_block_size(d),
           rnull_disk_reads_zero(d) ? "null" : "memory");
}

/* A scheduled power cut (power_cut=) fired on a request's thread: the
 * crash state is made; dropping the clients and powering off may block, so
 * a thread of its own does it, as ctl_power_cut does for the command. */
struct sched_cut {
  struct rnull_ctl *ctl;
  struct rnull_disk *disk; /* compared, never used: it may be gone */
  char name[RNULL_DISK_NAME_LEN];
};

static void *scheduled_cut_thread(void *arg) {
  struct sched_cut *s = arg;
  struct rnull_ctl *ctl = s->ctl;
  struct rnull_ctl_disk *cd;
  char err[RNULL_ERR_LEN];
  pthread_mutex_lock(&ctl->lock);
  if (ctl_wait_idle(ctl, s->name, &cd) && cd->disk == s->disk && atomic_load(&cd->powered) &&
      !cd->pinned) {
    struct ctl_cut cut = {.done = true}; /* decided already: the report is logged */
    cd->cut = &cut;
    atomic_store(&cd->cutting, true);
    if (ctl_power_off(cd, err, sizeof err) < 0)
      fprintf(stderr, "rnull: scheduled power cut: %s\n", err);
    atomic_store(&cd->cutting, false);
    cd->cut = NULL;
  }
  ctl->cuts_pending--;
  pthread_cond_broadcast(&ctl->released);
  pthread_mutex_unlock(&ctl->lock);
  free(s);
  return NULL;
}

static void scheduled_cut(void *arg, struct rnull_disk *d) {
  struct rnull_ctl *ctl = arg;
  struct sched_cut *s = calloc(1, sizeof *s);
  if (!s)
    return; /* the disk fails every request (EIO) until powered off by hand */
  *s = (struct sched_cut){.ctl = ctl, .disk = d};
  snprintf(s->name, sizeof s->name, "%s", rnull_disk_name(d));
  pthread_attr_t a;
  pthread_t t;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_mutex_lock(&ctl->lock);
  ctl->cuts_pending++;
  if (pthread_create(&t, &a, scheduled_cut_thread, s) != 0) {
    ctl->cuts_pending--;
    free(s);
  }
  pthread_mutex_unlock(&ctl->lock);
  pthread_attr_destroy(&a);
}

int ctl_power_on(struct rnull_ctl_disk *cd, char *err, size_t errlen) {
  if (atomic_load(&cd->powered))
    return 0;
  if (cd->disk) {
    snprintf(err, errlen, "%s: still has %u user(s) from its last power off; try again",
             cd->cfg.core.name, cd->users);
    return -EBUSY;
  }
  struct rnull_config c = cd->cfg;
  unsigned minq = cd->ctl->hooks.min_queues;
  if (c.core.submit_queues < minq)
    c.core.submit_queues = minq;
  struct rnull_disk *d = NULL;
  char e[RNULL_ERR_LEN] = "";
  int r = ctl_budget_charge(cd, &c, err, errlen);
  if (r < 0)
    return r;
  r = rnull_null_disk_create(&d, &c, e, sizeof e);
  if (r == 0) {
    rnull_null_disk_give_media(d, cd->media); /* the data of its last power cycle */
    cd->media = NULL;
    rnull_null_disk_on_power_cut(d, scheduled_cut, cd->ctl);
    r = rnull_disk_add(d, cd->ctl->hooks.end_io, e, sizeof e);
  }
  if (r < 0) {
    if (d) {
      cd->media = rnull_null_disk_take_media(d); /* kept for a power on that fits it */
      rnull_disk_destroy(d);
    }
    ctl_budget_release(cd);
    snprintf(err, errlen, "%s: cannot power on: %s", cd->cfg.core.name, e[0] ? e : strerror(-r));
    return r;
  }
  cd->disk = d;
  describe(cd);
  atomic_store(&cd->powered, true);
  return 0;
}

static void deadline_after(struct timespec *ts, uint64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += (time_t)(ms / 1000);
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

static void cut_now(struct rnull_ctl_disk *cd, char *err, size_t errlen) {
  struct ctl_cut *c = cd->cut;
  c->result = rnull_null_disk_power_cut(cd->disk, c->pc, c->json, c->out, err, errlen);
  c->done = true;
}

int ctl_power_off(struct rnull_ctl_disk *cd, char *err, size_t errlen) {
  struct rnull_ctl *ctl = cd->ctl;
  if (cd->pinned) {
    snprintf(err, errlen, "%s: the front end's own disk (its command line) cannot be powered off",
             cd->cfg.core.name);
    return -EPERM;
  }
  if (!cd->disk)
    return 0;
  atomic_store(&cd->powered, false); /* no new users from here on */
  cd->busy = true;
  rnull_null_disk_release(cd->disk, ESHUTDOWN); /* held requests: power off fails them */
  if (cd->users && ctl->hooks.disconnect) {
    pthread_mutex_unlock(&ctl->lock);
    ctl->hooks.disconnect(ctl->hooks.fe, cd);
    pthread_mutex_lock(&ctl->lock);
  }
  struct timespec until;
  deadline_after(&until, cd->cfg.core.timeout_ms + POWER_OFF_GRACE_S * 1000ull);
  while (cd->users) {
    if (pthread_cond_timedwait(&ctl->released, &ctl->lock, &until) == ETIMEDOUT)
      break;
  }
  cd->busy = false;
  pthread_cond_broadcast(&ctl->released);
  if (cd->cut && !cd->cut->done) /* the clients are gone (or late): the power goes now */
    cut_now(cd, err, errlen);
  if (cd->users) {
    snprintf(err, errlen, "%s: powered off, but %u client(s) did not let go in time; try again",
             cd->cfg.core.name, cd->users);
    return -EBUSY;
  }
  if (!cd->external) {
    cd->media = rnull_null_disk_take_media(cd->disk); /* data survives power off */
    rnull_disk_destroy(cd->disk);
  }
  cd->disk = NULL;
  ctl_budget_release(cd);
  return 0;
}

int ctl_power_cut(struct rnull_ctl_disk *cd, struct ctl_cut *cut, char *err, size_t errlen) {
  const char *name = cd->cfg.core.name;
  if (cd->pinned) {
    snprintf(err, errlen, "%s: the front end's own disk (its command line) cannot be power-cut",
             name);
    return -EPERM;
  }
  if (!cd->disk || !atomic_load(&cd->powered)) {
    snprintf(err, errlen, "%s: powered off: nothing to cut (power it on first)", name);
    return -ENODEV;
  }
  cut->result = 0;
  cut->done = false;
  cd->cut = cut;
  atomic_store(&cd->cutting, true);
  /* a front end that cannot drop its clients (nbdkit): the power goes at
   * once, the disk (refusing what comes: EIO) goes when they hang up */
  if (!cd->ctl->hooks.disconnect)
    cut_now(cd, err, errlen);
  int r = ctl_power_off(cd, err, errlen);
  atomic_store(&cd->cutting, false);
  cd->cut = NULL;
  static const char *const lose[] = {"all", "some", "prefix"};
  fprintf(stderr, "rnull: power cut of %s: lose=%s keep=%u torn=%d seed=%" PRIu64 "\n", name,
          lose[cut->pc->lose], cut->pc->keep, cut->pc->torn, cut->pc->seed);
  return cut->result < 0 ? cut->result : r;
}

bool rnull_ctl_disk_cutting(const struct rnull_ctl_disk *cd) { return atomic_load(&cd->cutting); }

int ctl_remove(struct rnull_ctl_disk *cd, char *err, size_t errlen) {
  struct rnull_ctl *ctl = cd->ctl;
  if (cd->pinned) {
    snprintf(err, errlen, "%s: the front end's own disk (its command line) cannot be removed",
             cd->cfg.core.name);
    return -EPERM;
  }
  char name[RNULL_DISK_NAME_LEN];
  memcpy(name, cd->cfg.core.name, sizeof name);
  int r = ctl_power_off(cd, err, errlen);
  if (r < 0)
    return r;
  bool found;
  int i = index_of(ctl, name, &found); /* the lock was released meanwhile */
  if (!found || ctl->disks[i] != cd)
    return 0;
  memmove(&ctl->disks[i], &ctl->disks[i + 1], (ctl->n - (unsigned)i - 1) * sizeof *ctl->disks);
  ctl->n--;
  rnull_null_media_free(cd->media); /* remove frees the data */
  free(cd);
  return 0;
}

bool ctl_wait_idle(struct rnull_ctl *ctl, const char *name, struct rnull_ctl_disk **cd) {
  while ((*cd = ctl_find(ctl, name)) && (*cd)->busy)
    pthread_cond_wait(&ctl->released, &ctl->lock);
  return *cd != NULL;
}

int rnull_ctl_create(struct rnull_ctl *ctl, const struct rnull_config *cfg, bool power, char *err,
                     size_t errlen) {
  struct rnull_ctl_disk *cd;
  struct rnull_key_files *kf = calloc(1, sizeof *kf);
  if (kf) /* the files cfg names, read before the lock (preload.h) */
    ctl_preload_config(cfg, kf);
  rnull_key_files_arm(kf);
  pthread_mutex_lock(&ctl->lock);
  int r = ctl_add(ctl, cfg, &cd, err, errlen);
  if (r == 0 && power && (r = ctl_power_on(cd, err, errlen)) < 0)
    ctl_remove(cd, err + strlen(err), 0);
  pthread_mutex_unlock(&ctl->lock);
  rnull_key_files_arm(NULL);
  if (kf)
    rnull_key_files_free(kf);
  free(kf);
  return r;
}

int rnull_ctl_pin(struct rnull_ctl *ctl, const char *name) {
  pthread_mutex_lock(&ctl->lock);
  struct rnull_ctl_disk *cd = ctl_find(ctl, name);
  if (cd)
    cd->pinned = true;
  pthread_mutex_unlock(&ctl->lock);
  return cd ? 0 : -ENOENT;
}

struct rnull_ctl_disk *rnull_ctl_get(struct rnull_ctl *ctl, const char *name) {
  pthread_mutex_lock(&ctl->lock);
  struct rnull_ctl_disk *cd = ctl_find(ctl, name);
  if (cd && atomic_load(&cd->powered))
    cd->users++;
  else
    cd = NULL;
  pthread_mutex_unlock(&ctl->lock);
  return cd;
}

void rnull_ctl_put(struct rnull_ctl_disk *cd) {
  struct rnull_ctl *ctl = cd->ctl;
  pthread_mutex_lock(&ctl->lock);
  cd->users--;
  pthread_cond_broadcast(&ctl->released);
  pthread_mutex_unlock(&ctl->lock);
}

struct rnull_disk *rnull_ctl_disk_engine(const struct rnull_ctl_disk *cd) {
  return cd->disk;
}
const char *rnull_ctl_disk_name(const struct rnull_ctl_disk *cd) { return cd->cfg.core.name; }
bool rnull_ctl_disk_powered(const struct rnull_ctl_disk *cd) { return atomic_load(&cd->powered); }

int rnull_ctl_describe(struct rnull_ctl *ctl, const char *name, char desc[RNULL_CTL_DESC_LEN]) {
  pthread_mutex_lock(&ctl->lock);
  struct rnull_ctl_disk *cd = ctl_find(ctl, name);
  int r = cd && atomic_load(&cd->powered) ? 0 : -ENOENT;
  if (r == 0)
    memcpy(desc, cd->desc, RNULL_CTL_DESC_LEN);
  pthread_mutex_unlock(&ctl->lock);
  return r;
}

void rnull_ctl_list_powered(struct rnull_ctl *ctl, const char *except,
                            void (*emit)(void *arg, const char *name, const char *desc),
                            void *arg) {
  pthread_mutex_lock(&ctl->lock);
  for (unsigned i = 0; i < ctl->n; i++)
    if (atomic_load(&ctl->disks[i]->powered) &&
        !(except && strcmp(ctl->disks[i]->cfg.core.name, except) == 0))
      emit(arg, ctl->disks[i]->cfg.core.name, ctl->disks[i]->desc);
  pthread_mutex_unlock(&ctl->lock);
}
