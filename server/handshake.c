/* Fixed newstyle option haggling (see handshake.h). Every length from the
 * wire is checked against the option length before it is used. */
#include "handshake.h"

#include <string.h>

#include "nbd_proto.h"

#define BASE_ALLOCATION "base:allocation"
#define BASE_NAMESPACE "base:" /* LIST_META_CONTEXT: every context of it */

_Static_assert(RNULL_HS_GREETING_LEN == NBD_GREETING_SIZE, "the greeting's size");

void rnull_hs_init(struct rnull_hs *hs, const struct rnull_hs_export *exp, bool refuse) {
  memset(hs, 0, sizeof(*hs));
  hs->exp = exp;
  hs->cur = exp;
  hs->phase = RNULL_HS_CLIENT_FLAGS;
  hs->refuse = refuse;
}

void rnull_hs_greeting(uint8_t out[RNULL_HS_GREETING_LEN]) {
  nbd_put64(out + NBD_GREETING_MAGIC, NBD_MAGIC);
  nbd_put64(out + NBD_GREETING_IHAVEOPT, NBD_IHAVEOPT);
  nbd_put16(out + NBD_GREETING_FLAGS, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
}

uint16_t rnull_hs_tx_flags(const struct rnull_hs *hs) {
  uint16_t f = hs->cur->flags | NBD_FLAG_HAS_FLAGS;
  if (hs->structured)
    f |= NBD_FLAG_SEND_DF;
  return f;
}

/* Append one option reply: header, then len bytes of data (may be NULL when
 * the caller writes the data itself right after). Returns the data pointer. */
static uint8_t *reply(uint8_t *out, size_t *outlen, uint32_t opt, uint32_t type, const void *data,
                      uint32_t len) {
  uint8_t *p = out + *outlen;
  nbd_put64(p + NBD_OREP_MAGIC, NBD_REP_MAGIC);
  nbd_put32(p + NBD_OREP_OPT, opt);
  nbd_put32(p + NBD_OREP_TYPE, type);
  nbd_put32(p + NBD_OREP_LENGTH, len);
  if (data && len)
    memcpy(p + NBD_OREP_HDR_SIZE, data, len);
  *outlen += NBD_OREP_HDR_SIZE + (size_t)len;
  return p + NBD_OREP_HDR_SIZE;
}

static void reply_err(uint8_t *out, size_t *outlen, uint32_t opt, uint32_t type, const char *msg) {
  reply(out, outlen, opt, type, msg, (uint32_t)strlen(msg));
}

/* Is name an export? If so it becomes hs->cur: the default one, or one
 * the other exports' find knows. */
static bool name_is_export(struct rnull_hs *hs, const uint8_t *name, uint32_t len) {
  if (strlen(hs->exp->name) == len && memcmp(hs->exp->name, name, len) == 0) {
    hs->cur = hs->exp;
    return true;
  }
  if (!hs->more || !hs->more->find || len > RNULL_HS_NAME_MAX || memchr(name, 0, len))
    return false;
  memcpy(hs->found_name, name, len);
  hs->found_name[len] = 0;
  if (!hs->more->find(hs->more->ctx, hs->found_name, &hs->found, hs->found_desc))
    return false;
  hs->found.name = hs->found_name;
  hs->found.description = hs->found_desc;
  hs->cur = &hs->found;
  return true;
}

struct list_out {
  uint8_t *out;
  size_t *outlen;
  size_t limit; /* stop listing past this (the reply buffer's room) */
};

/* NBD_REP_SERVER: u32 namelen, name, description. */
static void list_one(void *arg, const char *name, const char *desc) {
  struct list_out *lo = arg;
  size_t n = strnlen(name, NBD_MAX_STRING), dn = strnlen(desc, RNULL_HS_DESC_MAX);
  if (*lo->outlen + NBD_OREP_HDR_SIZE + NBD_STRLEN_SIZE + n + dn > lo->limit)
    return; /* no room: the list is cut (RNULL_HS_REPLY_MAX holds 100+ disks) */
  uint8_t *p = reply(lo->out, lo->outlen, NBD_OPT_LIST, NBD_REP_SERVER, NULL,
                     (uint32_t)(NBD_STRLEN_SIZE + n + dn));
  nbd_put32(p, (uint32_t)n);
  memcpy(p + NBD_STRLEN_SIZE, name, n);
  memcpy(p + NBD_STRLEN_SIZE + n, desc, dn);
}

/* NBD_REP_INFO for one information type. */
static void info(struct rnull_hs *hs, uint8_t *out, size_t *outlen, uint32_t opt, uint16_t type) {
  uint8_t *p;
  size_t n;
  switch (type) {
  case NBD_INFO_EXPORT:
    p = reply(out, outlen, opt, NBD_REP_INFO, NULL, NBD_INFO_EXPORT_LEN);
    nbd_put16(p, NBD_INFO_EXPORT);
    nbd_put64(p + NBD_INFO_EXPORT_SIZE, hs->cur->size);
    nbd_put16(p + NBD_INFO_EXPORT_FLAGS, rnull_hs_tx_flags(hs));
    break;
  case NBD_INFO_NAME:
  case NBD_INFO_DESCRIPTION: {
    const char *s = type == NBD_INFO_NAME ? hs->cur->name : hs->cur->description;
    n = strnlen(s, NBD_MAX_STRING);
    p = reply(out, outlen, opt, NBD_REP_INFO, NULL, (uint32_t)(NBD_INFO_TYPE_SIZE + n));
    nbd_put16(p, type);
    memcpy(p + NBD_INFO_TYPE_SIZE, s, n);
    break;
  }
  case NBD_INFO_BLOCK_SIZE:
    p = reply(out, outlen, opt, NBD_REP_INFO, NULL, NBD_INFO_BLOCK_SIZE_LEN);
    nbd_put16(p, NBD_INFO_BLOCK_SIZE);
    nbd_put32(p + NBD_INFO_BLOCK_MIN, hs->cur->min_block);
    nbd_put32(p + NBD_INFO_BLOCK_PREF, hs->cur->pref_block);
    nbd_put32(p + NBD_INFO_BLOCK_MAX, hs->cur->max_block);
    break;
  }
}

/* NBD_OPT_INFO / NBD_OPT_GO: u32 namelen, name, u16 n, n x u16 requests. */
static enum rnull_hs_result opt_info_go(struct rnull_hs *hs, uint32_t opt, const uint8_t *d,
                                        uint32_t len, uint8_t *out, size_t *outlen) {
  const uint32_t fixed = NBD_STRLEN_SIZE + NBD_INFO_COUNT_SIZE;
  if (len < fixed)
    goto invalid;
  uint32_t namelen = nbd_get32(d);
  if (namelen > len - fixed || namelen > NBD_MAX_STRING)
    goto invalid;
  const uint8_t *reqs = d + NBD_STRLEN_SIZE + namelen + NBD_INFO_COUNT_SIZE;
  uint16_t nreq = nbd_get16(reqs - NBD_INFO_COUNT_SIZE);
  if ((uint64_t)fixed + namelen + (uint64_t)NBD_INFO_REQ_SIZE * nreq != len)
    goto invalid;
  if (!name_is_export(hs, d + NBD_STRLEN_SIZE, namelen)) {
    reply_err(out, outlen, opt, NBD_REP_ERR_UNKNOWN, "no export of that name");
    return RNULL_HS_OK;
  }
  bool want_name = false, want_desc = false;
  for (uint16_t i = 0; i < nreq; i++) {
    uint16_t t = nbd_get16(reqs + NBD_INFO_REQ_SIZE * i);
    want_name |= t == NBD_INFO_NAME;
    want_desc |= t == NBD_INFO_DESCRIPTION;
  }
  info(hs, out, outlen, opt, NBD_INFO_EXPORT);
  info(hs, out, outlen, opt, NBD_INFO_BLOCK_SIZE); /* always: we enforce them */
  if (want_name)
    info(hs, out, outlen, opt, NBD_INFO_NAME);
  if (want_desc)
    info(hs, out, outlen, opt, NBD_INFO_DESCRIPTION);
  reply(out, outlen, opt, NBD_REP_ACK, NULL, 0);
  if (opt == NBD_OPT_GO) {
    hs->flags = rnull_hs_tx_flags(hs);
    hs->phase = RNULL_HS_DONE;
    return RNULL_HS_GO;
  }
  return RNULL_HS_OK;
invalid:
  reply_err(out, outlen, opt, NBD_REP_ERR_INVALID, "malformed NBD_OPT_INFO/GO");
  return RNULL_HS_OK;
}

/* LIST/SET_META_CONTEXT: u32 namelen, name, u32 nqueries, queries (u32 len,
 * string). Only base:allocation exists; "base:" lists it too. */
static enum rnull_hs_result opt_meta(struct rnull_hs *hs, uint32_t opt, const uint8_t *d,
                                     uint32_t len, uint8_t *out, size_t *outlen) {
  bool set = opt == NBD_OPT_SET_META_CONTEXT;
  if (set)
    hs->meta = false; /* replaced even when this option fails */
  if (!hs->structured) {
    reply_err(out, outlen, opt, NBD_REP_ERR_INVALID, "structured replies not negotiated");
    return RNULL_HS_OK;
  }
  if (len < NBD_STRLEN_SIZE + NBD_META_COUNT_SIZE)
    goto invalid;
  uint32_t namelen = nbd_get32(d);
  if (namelen > len - NBD_STRLEN_SIZE - NBD_META_COUNT_SIZE || namelen > NBD_MAX_STRING)
    goto invalid;
  const uint8_t *name = d + NBD_STRLEN_SIZE;
  uint32_t pos = NBD_STRLEN_SIZE + namelen;
  uint32_t nq = nbd_get32(d + pos);
  pos += NBD_META_COUNT_SIZE;
  bool match = !set && nq == 0; /* LIST with no query: everything */
  for (uint32_t i = 0; i < nq; i++) {
    if (len - pos < NBD_STRLEN_SIZE)
      goto invalid;
    uint32_t qlen = nbd_get32(d + pos);
    pos += NBD_STRLEN_SIZE;
    if (qlen > len - pos || qlen > NBD_MAX_STRING)
      goto invalid;
    const uint8_t *q = d + pos;
    pos += qlen;
    if (qlen == strlen(BASE_ALLOCATION) && memcmp(q, BASE_ALLOCATION, qlen) == 0)
      match = true;
    else if (!set && qlen == strlen(BASE_NAMESPACE) && memcmp(q, BASE_NAMESPACE, qlen) == 0)
      match = true;
  }
  if (pos != len)
    goto invalid;
  if (!name_is_export(hs, name, namelen)) {
    reply_err(out, outlen, opt, NBD_REP_ERR_UNKNOWN, "no export of that name");
    return RNULL_HS_OK;
  }
  if (match) {
    uint8_t *p = reply(out, outlen, opt, NBD_REP_META_CONTEXT, NULL,
                       (uint32_t)(NBD_META_ID_SIZE + strlen(BASE_ALLOCATION)));
    nbd_put32(p, set ? RNULL_META_BASE_ALLOCATION : 0);
    memcpy(p + NBD_META_ID_SIZE, BASE_ALLOCATION, strlen(BASE_ALLOCATION));
    if (set)
      hs->meta = true;
  }
  reply(out, outlen, opt, NBD_REP_ACK, NULL, 0);
  return RNULL_HS_OK;
invalid:
  reply_err(out, outlen, opt, NBD_REP_ERR_INVALID, "malformed meta context option");
  return RNULL_HS_OK;
}

void rnull_hs_tls_up(struct rnull_hs *hs) {
  hs->tls_up = true;
  hs->structured = false;
  hs->extended = false;
  hs->meta = false;
}

/* NBD_OPT_STARTTLS: once, without data, when TLS is configured. */
static enum rnull_hs_result opt_starttls(struct rnull_hs *hs, uint32_t len, uint8_t *out,
                                         size_t *outlen) {
  if (hs->tls == RNULL_HS_TLS_OFF) {
    reply_err(out, outlen, NBD_OPT_STARTTLS, NBD_REP_ERR_UNSUP, "TLS is not configured");
    return RNULL_HS_OK;
  }
  if (len != 0) {
    reply_err(out, outlen, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data");
    return RNULL_HS_OK;
  }
  if (hs->tls_acked || hs->tls_up) {
    reply_err(out, outlen, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID, "TLS is already negotiated");
    return RNULL_HS_OK;
  }
  hs->tls_acked = true;
  reply(out, outlen, NBD_OPT_STARTTLS, NBD_REP_ACK, NULL, 0);
  return RNULL_HS_STARTTLS;
}

/* TLS required and not up: nothing about the export may leak. */
static enum rnull_hs_result tls_required(uint32_t opt, uint8_t *out, size_t *outlen) {
  if (opt == NBD_OPT_EXPORT_NAME)
    return RNULL_HS_CLOSE; /* this option cannot return an error */
  if (opt == NBD_OPT_ABORT) {
    reply(out, outlen, opt, NBD_REP_ACK, NULL, 0);
    return RNULL_HS_CLOSE;
  }
  reply_err(out, outlen, opt, NBD_REP_ERR_TLS_REQD, "TLS is required: send NBD_OPT_STARTTLS");
  return RNULL_HS_OK;
}

static enum rnull_hs_result option(struct rnull_hs *hs, uint32_t opt, const uint8_t *d,
                                   uint32_t len, uint8_t *out, size_t *outlen) {
  if (hs->shutdown && opt != NBD_OPT_ABORT) {
    /* proto.md, "Termination of the session during option haggling": error
     * further options; the client then MUST soft-disconnect (NBD_OPT_ABORT). */
    if (opt == NBD_OPT_EXPORT_NAME)
      return RNULL_HS_CLOSE; /* cannot carry an error */
    reply_err(out, outlen, opt, NBD_REP_ERR_SHUTDOWN, "server is shutting down");
    return RNULL_HS_OK;
  }
  if (!hs->refuse && opt == NBD_OPT_STARTTLS)
    return opt_starttls(hs, len, out, outlen);
  if (!hs->refuse && hs->tls == RNULL_HS_TLS_REQUIRE && !hs->tls_up)
    return tls_required(opt, out, outlen);
  if (hs->refuse) {
    /* At the connection limit: error every option until the client gives
     * up (a hard disconnect only where no error can be sent). */
    if (opt == NBD_OPT_EXPORT_NAME)
      return RNULL_HS_CLOSE;
    if (opt == NBD_OPT_ABORT) {
      reply(out, outlen, opt, NBD_REP_ACK, NULL, 0);
      return RNULL_HS_CLOSE;
    }
    reply_err(out, outlen, opt, NBD_REP_ERR_POLICY, "server is at its connection limit");
    return RNULL_HS_OK;
  }
  switch (opt) {
  case NBD_OPT_EXPORT_NAME: {
    /* This option cannot return an error; after extended headers a client
     * MUST NOT use it (it has no way to say which headers follow). */
    if (!name_is_export(hs, d, len) || hs->extended)
      return RNULL_HS_CLOSE;
    hs->flags = rnull_hs_tx_flags(hs);
    uint8_t *p = out + *outlen;
    nbd_put64(p + NBD_EXPORT_NAME_SIZE, hs->cur->size);
    nbd_put16(p + NBD_EXPORT_NAME_FLAGS, hs->flags);
    size_t n = NBD_EXPORT_NAME_REPLY_SIZE;
    if (!hs->no_zeroes) {
      memset(p + n, 0, NBD_EXPORT_NAME_ZEROES);
      n += NBD_EXPORT_NAME_ZEROES;
    }
    *outlen += n;
    hs->phase = RNULL_HS_DONE;
    return RNULL_HS_GO;
  }
  case NBD_OPT_ABORT:
    reply(out, outlen, opt, NBD_REP_ACK, NULL, 0);
    return RNULL_HS_CLOSE;
  case NBD_OPT_LIST: {
    if (len != 0) {
      reply_err(out, outlen, opt, NBD_REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
      return RNULL_HS_OK;
    }
    /* the default export, then the others (room kept for the ACK) */
    struct list_out lo = {out, outlen, *outlen + RNULL_HS_REPLY_MAX - NBD_OREP_HDR_SIZE};
    list_one(&lo, hs->exp->name, hs->exp->description ? hs->exp->description : "");
    if (hs->more && hs->more->list)
      hs->more->list(hs->more->ctx, list_one, &lo);
    reply(out, outlen, opt, NBD_REP_ACK, NULL, 0);
    return RNULL_HS_OK;
  }
  case NBD_OPT_INFO:
  case NBD_OPT_GO:
    return opt_info_go(hs, opt, d, len, out, outlen);
  case NBD_OPT_STRUCTURED_REPLY:
    if (len != 0) {
      reply_err(out, outlen, opt, NBD_REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
      return RNULL_HS_OK;
    }
    if (hs->extended) { /* proto.md: extended headers take precedence */
      reply_err(out, outlen, opt, NBD_REP_ERR_EXT_HEADER_REQD,
                "extended headers already negotiated");
      return RNULL_HS_OK;
    }
    hs->structured = true;
    reply(out, outlen, opt, NBD_REP_ACK, NULL, 0);
    return RNULL_HS_OK;
  case NBD_OPT_EXTENDED_HEADERS:
    if (len != 0) {
      reply_err(out, outlen, opt, NBD_REP_ERR_INVALID, "NBD_OPT_EXTENDED_HEADERS takes no data");
      return RNULL_HS_OK;
    }
    /* Implies structured replies, asked for before or not; a repeat is
     * acknowledged again (nothing changes). */
    hs->extended = true;
    hs->structured = true;
    reply(out, outlen, opt, NBD_REP_ACK, NULL, 0);
    return RNULL_HS_OK;
  case NBD_OPT_LIST_META_CONTEXT:
  case NBD_OPT_SET_META_CONTEXT:
    return opt_meta(hs, opt, d, len, out, outlen);
  default:
    reply_err(out, outlen, opt, NBD_REP_ERR_UNSUP, "option not supported");
    return RNULL_HS_OK;
  }
}

enum rnull_hs_result rnull_hs_step(struct rnull_hs *hs, const uint8_t *in, size_t len, size_t *used,
                                   uint8_t *out, size_t *outlen) {
  *used = 0;
  switch (hs->phase) {
  case RNULL_HS_CLIENT_FLAGS: {
    if (len < NBD_CLIENT_FLAGS_SIZE)
      return RNULL_HS_MORE;
    uint32_t cf = nbd_get32(in);
    *used = NBD_CLIENT_FLAGS_SIZE;
    if (cf & ~(uint32_t)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
      hs->phase = RNULL_HS_CLOSED; /* unknown client flag: MUST drop */
      return RNULL_HS_CLOSE;
    }
    hs->no_zeroes = cf & NBD_FLAG_C_NO_ZEROES;
    hs->phase = RNULL_HS_OPTIONS;
    return RNULL_HS_OK;
  }
  case RNULL_HS_OPTIONS: {
    if (len < NBD_OPTION_HDR_SIZE)
      return RNULL_HS_MORE;
    uint32_t opt = nbd_get32(in + NBD_OPTION_OPT);
    uint32_t olen = nbd_get32(in + NBD_OPTION_LENGTH);
    if (nbd_get64(in + NBD_OPTION_MAGIC) != NBD_IHAVEOPT) {
      *used = len;
      hs->phase = RNULL_HS_CLOSED;
      return RNULL_HS_CLOSE;
    }
    if (olen > RNULL_HS_OPT_MAX) {
      /* Denial of service as far as we are concerned: say why and drop. */
      *used = len;
      reply_err(out, outlen, opt, NBD_REP_ERR_TOO_BIG, "option data over 64 KiB");
      hs->phase = RNULL_HS_CLOSED;
      return RNULL_HS_CLOSE;
    }
    if (len - NBD_OPTION_HDR_SIZE < olen)
      return RNULL_HS_MORE;
    *used = NBD_OPTION_HDR_SIZE + (size_t)olen;
    enum rnull_hs_result r = option(hs, opt, in + NBD_OPTION_HDR_SIZE, olen, out, outlen);
    if (r == RNULL_HS_CLOSE)
      hs->phase = RNULL_HS_CLOSED;
    return r;
  }
  case RNULL_HS_DONE:
    return RNULL_HS_GO;
  case RNULL_HS_CLOSED:
  default:
    return RNULL_HS_CLOSE;
  }
}
