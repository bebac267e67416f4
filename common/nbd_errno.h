/* The one errno -> NBD error mapping of both front ends (as nbdkit's
 * server/protocol.c nbd_errno()): whatever errno the engine or a driver
 * ends a request with, the client sees one of the errors the NBD protocol
 * carries. rnull-server puts the NBD value on the wire; the nbdkit plugin
 * hands nbdkit the errno of that value (nbdkit maps it the same way). */
#ifndef RNULL_COMMON_NBD_ERRNO_H
#define RNULL_COMMON_NBD_ERRNO_H

#include <stdint.h>

/* A positive errno -> the NBD error (NBD_EPERM ... NBD_ESHUTDOWN); 0 -> 0;
 * anything unlisted -> NBD_EIO. */
uint32_t rnull_nbd_error(int err);

/* A positive errno -> the errno of its NBD error (EROFS -> EPERM, EDQUOT ->
 * ENOSPC, ETIMEDOUT -> EIO, ...): what the plugin gives nbdkit_set_error. */
int rnull_nbd_error_errno(int err);

#endif
