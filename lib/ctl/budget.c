/* The disks' memory budget: server-wide, what powered disks' engines take
 * (tags, requests, PDUs, queues: rnull_null_disk_memory's estimate, made
 * before any allocation). A power on that would pass it is refused with the
 * figures; a power off gives the charge back, and the freed memory back to
 * the system. Default: an eighth of RAM (a quarter of memory_limit's
 * default, which is the data's). */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <string.h>

#include "registry.h"
#include "rnull/null.h"

static uint64_t budget_of(const struct rnull_ctl *ctl) {
  return ctl->mem_budget_set ? ctl->mem_budget : rnull_default_memory_limit() / 4;
}

static void mib(uint64_t v, char *buf, size_t len) {
  snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " MiB", v >> 20, ((v & 0xfffff) * 10) >> 20);
}

int ctl_budget_charge(struct rnull_ctl_disk *cd, const struct rnull_config *c, char *err,
                      size_t errlen) {
  struct rnull_ctl *ctl = cd->ctl;
  uint64_t need = rnull_null_disk_memory(c, ctl->hooks.min_queues), budget = budget_of(ctl);
  if (budget && (need > budget || ctl->mem_used > budget - need)) {
    char n[32], u[32], b[32];
    mib(need, n, sizeof n);
    mib(ctl->mem_used, u, sizeof u);
    mib(budget, b, sizeof b);
    unsigned q = c->core.submit_queues > ctl->hooks.min_queues ? c->core.submit_queues
                                                               : ctl->hooks.min_queues;
    snprintf(err, errlen,
             "%s: cannot power on: its engine needs %s (%u hw queue(s) x %" PRIu32
             " tags) and the disks' memory budget has %s of %s in use (power off or remove "
             "disks, or use fewer queues or tags)",
             c->core.name, n, q, c->core.hw_queue_depth, u, b);
    return -ENOMEM;
  }
  ctl->mem_used += need;
  cd->mem_charged = need;
  return 0;
}

void ctl_budget_release(struct rnull_ctl_disk *cd) {
  cd->ctl->mem_used -= cd->mem_charged;
  if (cd->mem_charged)
    malloc_trim(0); /* the requests were large blocks: give their pages back */
  cd->mem_charged = 0;
}

void rnull_ctl_set_memory_budget(struct rnull_ctl *ctl, uint64_t bytes) {
  pthread_mutex_lock(&ctl->lock);
  ctl->mem_budget = bytes;
  ctl->mem_budget_set = true;
  pthread_mutex_unlock(&ctl->lock);
}

void rnull_ctl_memory(struct rnull_ctl *ctl, uint64_t *used, uint64_t *budget) {
  pthread_mutex_lock(&ctl->lock);
  *used = ctl->mem_used;
  *budget = budget_of(ctl);
  pthread_mutex_unlock(&ctl->lock);
}
