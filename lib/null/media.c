/* A memory-backed null disk's data between power cycles (see media.h and
 * rnull_null_disk_take_media in rnull/null.h). */
#include <stdlib.h>

#include "media.h"
#include "rnull/null.h"

uint64_t rnull_null_media_bytes(const struct rnull_null_media *m) {
  return m ? m->store->ops->allocated(m->store) : 0;
}

void rnull_null_media_free(struct rnull_null_media *m) {
  if (!m)
    return;
  rnull_store_destroy(m->store);
  free(m);
}
