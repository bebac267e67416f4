/* The one question rnull-attach asks: which -b? nbd-client (3.24, and 3.26
 * still) does not request NBD_INFO_BLOCK_SIZE, so the kernel would use 512 bytes even on a
 * 4096-byte disk. libnbd requests it by default during NBD_OPT_GO. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnbd.h>

#include "attach_query.h"

/* libnbd reads a directory (ca-cert.pem, client-cert.pem, client-key.pem);
 * nbd-client's -A/-F/-K name files anywhere: link them into a temp dir. */
static int link_cert(const char *dir, const char *name, const char *file, char *err, int errlen) {
  char abs[PATH_MAX], link[PATH_MAX + 32];
  if (!file)
    return 0;
  if (!realpath(file, abs)) {
    snprintf(err, (size_t)errlen, "%s: %s", file, strerror(errno));
    return -1;
  }
  snprintf(link, sizeof(link), "%s/%s", dir, name);
  if (symlink(abs, link) < 0) {
    snprintf(err, (size_t)errlen, "%s: %s", link, strerror(errno));
    return -1;
  }
  return 0;
}

static void unlink_certs(const char *dir) {
  static const char *const names[] = {"ca-cert.pem", "client-cert.pem", "client-key.pem"};
  char p[PATH_MAX + 32];
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
}

/* Ask over TLS with the files nbd-client will use. */
static int setup_tls(struct nbd_handle *h, const struct attach_args *a, char *tmp, char *err,
                     int errlen) {
  const char *dir = a->tls_dir;
  if (!dir && (a->tls_ca || a->tls_cert || a->tls_key)) {
    const char *t = getenv("TMPDIR");
    snprintf(tmp, PATH_MAX, "%s/rnull-attach.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp)) {
      snprintf(err, (size_t)errlen, "%s: %s", tmp, strerror(errno));
      tmp[0] = 0;
      return -1;
    }
    if (link_cert(tmp, "ca-cert.pem", a->tls_ca, err, errlen) < 0 ||
        link_cert(tmp, "client-cert.pem", a->tls_cert, err, errlen) < 0 ||
        link_cert(tmp, "client-key.pem", a->tls_key, err, errlen) < 0)
      return -1;
    dir = tmp;
  }
  if (nbd_set_tls(h, LIBNBD_TLS_REQUIRE) == -1 || (dir && nbd_set_tls_certificates(h, dir) == -1)) {
    snprintf(err, (size_t)errlen, "libnbd: %s", nbd_get_error());
    return -1;
  }
#ifdef LIBNBD_HAVE_NBD_SET_TLS_HOSTNAME
  if (a->tls_host && nbd_set_tls_hostname(h, a->tls_host) == -1) {
    snprintf(err, (size_t)errlen, "libnbd: %s", nbd_get_error());
    return -1;
  }
#else
  /* (libnbd < 1.22 checks the certificate against the host connected to) */
  if (a->tls_host && !a->unix_socket && strcmp(a->tls_host, a->host) != 0) {
    snprintf(err, (size_t)errlen,
             "this libnbd cannot check the certificate against -tlshostname %s: pass -b SIZE",
             a->tls_host);
    return -1;
  }
#endif
  return 0;
}

int attach_query_block_size(const struct attach_args *a, uint32_t *bs, uint64_t *size, char *err,
                            int errlen) {
  struct nbd_handle *h = nbd_create();
  if (!h) {
    snprintf(err, (size_t)errlen, "libnbd: %s", nbd_get_error());
    return -1;
  }
  int rc = -1;
  char tmp[PATH_MAX] = "";
  if (nbd_set_export_name(h, a->export_name) == -1 || nbd_set_request_block_size(h, true) == -1) {
    snprintf(err, (size_t)errlen, "libnbd: %s", nbd_get_error());
    goto out;
  }
  if (a->tls && setup_tls(h, a, tmp, err, errlen) < 0)
    goto out;
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
  if (tmp[0])
    unlink_certs(tmp);
  return rc;
}
