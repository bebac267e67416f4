/* Asks an NBD server for the block size a kernel client should use. */
#ifndef RNULL_ATTACH_QUERY_H
#define RNULL_ATTACH_QUERY_H

#include <stdint.h>

#include "attach_args.h"

#define ATTACH_KERNEL_MIN_BS 512u /* nbd-client / kernel range for -b */
#define ATTACH_KERNEL_MAX_BS 4096u

/* Connect as a->host/port (or unix socket) with export a->export_name,
 * negotiate with NBD_OPT_GO asking for NBD_INFO_BLOCK_SIZE, and store in *bs
 * the -b to use: the server's minimum block size, or 512 when it states none
 * (or one smaller than the kernel allows). 0 on success; -1 with a message in
 * err (unreachable server, refused export, unusable block size). */
int attach_query_block_size(const struct attach_args *a, uint32_t *bs, uint64_t *size, char *err,
                            int errlen);

#endif
