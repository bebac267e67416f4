/* The errno -> NBD error table (see nbd_errno.h). */
#include "nbd_errno.h"

#include <errno.h>
#include <stddef.h>

#include "nbd_proto.h"

/* Each NBD error's own errno first: rnull_nbd_error_errno finds it there. */
static const struct {
  int err;
  uint32_t nbd;
} table[] = {
    {EPERM, NBD_EPERM},         {EIO, NBD_EIO},
    {EINVAL, NBD_EINVAL},       {ENOSPC, NBD_ENOSPC},
    {EOVERFLOW, NBD_EOVERFLOW}, {ENOTSUP, NBD_ENOTSUP},
    {ESHUTDOWN, NBD_ESHUTDOWN}, {ENOMEM, NBD_ENOMEM}, /* a fault naming it, a buffer */
    {EROFS, NBD_EPERM},                               /* read-only */
    {EDQUOT, NBD_ENOSPC}, /* a file-backed driver's quota or size limit */
    {EFBIG, NBD_ENOSPC},
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

uint32_t rnull_nbd_error(int err) {
  if (err == 0)
    return 0;
  for (size_t i = 0; i < TABLE_LEN; i++)
    if (table[i].err == err)
      return table[i].nbd;
  return NBD_EIO; /* ETIMEDOUT and the like: the request failed */
}

int rnull_nbd_error_errno(int err) {
  uint32_t nbd = rnull_nbd_error(err);
  for (size_t i = 0; i < TABLE_LEN; i++)
    if (table[i].nbd == nbd)
      return table[i].err;
  return EIO;
}
