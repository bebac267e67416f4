/* Private to lib/null: a memory-backed disk's durable data (the store), kept
 * by whoever owns the disk's name (the registry) between power cycles, as
 * null_blk keeps a device's data until the device is removed. */
#ifndef RNULL_NULL_MEDIA_H
#define RNULL_NULL_MEDIA_H

#include "store.h"

struct rnull_null_media {
  struct rnull_store *store; /* the memory store; owned */
};

#endif
