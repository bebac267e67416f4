/* State and callbacks shared between the plugin's files. The plugin serves
 * one disk; a connection's handle is the hw queue it is bound to. */
#ifndef RNULL_PLUGIN_PLUGIN_H
#define RNULL_PLUGIN_PLUGIN_H

#include <stdint.h>

struct rnull_disk;
struct nbdkit_extents;

struct rnull_ctl_disk;
struct rnull_hctx;

/* Created by config_complete, added by get_ready, destroyed by unload. */
extern struct rnull_disk *rnull_plugin_disk;

/* A connection: the disk its export name chose and the hw queue it uses. */
struct rnull_plugin_conn {
  struct rnull_ctl_disk *cd; /* the registry's hold on it (NULL: the plugin's own disk) */
  struct rnull_disk *disk;
  struct rnull_hctx *hctx;
};

/* Data path (data_path.c): handle is a struct rnull_plugin_conn *. */
int rnull_plugin_pread(void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags);
int rnull_plugin_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset,
                        uint32_t flags);
int rnull_plugin_flush(void *handle, uint32_t flags);
int rnull_plugin_trim(void *handle, uint32_t count, uint64_t offset, uint32_t flags);
int rnull_plugin_zero(void *handle, uint32_t count, uint64_t offset, uint32_t flags);
int rnull_plugin_cache(void *handle, uint32_t count, uint64_t offset, uint32_t flags);
int rnull_plugin_extents(void *handle, uint32_t count, uint64_t offset, uint32_t flags,
                         struct nbdkit_extents *extents);

#endif
