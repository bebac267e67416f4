/* The one question rnull-attach asks: which -b? nbd-client (3.24, and 3.26
 * still) does not request NBD_INFO_BLOCK_SIZE, so the kernel would use 512 bytes even on a
 * 4096-byte disk. libnbd requests it by default during NBD_OPT_GO. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libnbd.h>

#include "attach_query.h"

int attach_query_block_size(const struct attach_args *a, uint32_t *bs, uint64_t *size, char *err,
                            int errlen)
{
  struct nbd_handle *h = nbd_create();
  if (!h) {
    snprintf(err, (size_t)errlen, "libnbd: %s", nbd_get_error());
    return -1;
  }
  int rc = -1;
  if (nbd_set_export_name(h, a->export_name) == -1 || nbd_set_request_block_size(h, true) == -1) {
    snprintf(err, (size_t)errlen, "libnbd: %s", nbd_get_error());
    goto out;
  }
  int c = a->unix_socket ? nbd_connect_unix(h, a->host)
                         : nbd_connect_tcp(h, a->host, a->port ? a->port : "10809");
  if (c == -1) {
    snprintf(err, (size_t)errlen, "cannot connect to %s%s%s%s (export \"%s\"): %s",
             a->unix_socket ? "unix socket " : "", a->host, a->unix_socket ? "" : " port ",
             a->unix_socket ? "" : (a->port ? a->port : "10809"), a->export_name, nbd_get_error());
    goto out;
  }
  int64_t min = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
  int64_t sz = nbd_get_size(h);
  if (min == -1 || sz == -1) {
    snprintf(err, (size_t)errlen, "libnbd: %s", nbd_get_error());
    goto out;
  }
  /* No constraint stated, or one finer than a sector: the kernel's minimum. */
  if (min < ATTACH_KERNEL_MIN_BS)
    min = ATTACH_KERNEL_MIN_BS;
  if (min > ATTACH_KERNEL_MAX_BS || (min & (min - 1)) != 0) {
    snprintf(err, (size_t)errlen,
             "server's minimum block size %lld is not one the kernel's nbd driver accepts "
             "(power of two, %u..%u)",
             (long long)min, ATTACH_KERNEL_MIN_BS, ATTACH_KERNEL_MAX_BS);
    goto out;
  }
  *bs = (uint32_t)min;
  *size = (uint64_t)sz;
  rc = 0;
  nbd_shutdown(h, 0);
out:
  nbd_close(h);
  return rc;
}
