/* Every powered disk's engine disk, each held (rnull_ctl_get) while the
 * caller looks at it: what a statistics writer lists (stats_dir). */
#include <stdlib.h>
#include <string.h>

#include "rnull/ctl.h"

#define NAME_MAX_LEN 32 /* the kernel's DISK_NAME_LEN, as rnull's names */

struct names {
  char (*v)[NAME_MAX_LEN];
  size_t n, cap;
};

static void keep_name(void *arg, const char *name, const char *desc) {
  struct names *ns = arg;
  (void)desc;
  if (ns->n == ns->cap) {
    size_t cap = ns->cap ? 2 * ns->cap : 16;
    void *p = realloc(ns->v, cap * sizeof ns->v[0]);
    if (!p)
      return; /* listed next time */
    ns->v = p;
    ns->cap = cap;
  }
  strncpy(ns->v[ns->n], name, NAME_MAX_LEN - 1);
  ns->v[ns->n++][NAME_MAX_LEN - 1] = 0;
}

void rnull_ctl_each_powered(struct rnull_ctl *ctl, void (*visit)(void *ctx, struct rnull_disk *d),
                            void *ctx) {
  struct names ns = {0};
  /* names first: visit runs outside the registry lock, one disk held */
  rnull_ctl_list_powered(ctl, NULL, keep_name, &ns);
  for (size_t i = 0; i < ns.n; i++) {
    struct rnull_ctl_disk *cd = rnull_ctl_get(ctl, ns.v[i]);
    if (!cd)
      continue; /* powered off meanwhile */
    visit(ctx, rnull_ctl_disk_engine(cd));
    rnull_ctl_put(cd);
  }
  free(ns.v);
}
