/* Fixed newstyle option haggling as a pure state machine over byte buffers:
 * no sockets, no allocation, so it can be fuzzed. The connection feeds it the
 * bytes it has received; each step consumes at most one client message and
 * appends the replies to a caller buffer. */
#ifndef RNULL_SERVER_HANDSHAKE_H
#define RNULL_SERVER_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Option payloads above this are refused (NBD_REP_ERR_TOO_BIG) and the
 * connection dropped: no option we support needs more. */
#define RNULL_HS_OPT_MAX (64u * 1024)
/* Room a step may need in the output buffer (worst case: an export name of
 * NBD_MAX_STRING bytes echoed in a reply, plus the other info replies). */
#define RNULL_HS_REPLY_MAX (16u * 1024)
/* Bytes of the server greeting. */
#define RNULL_HS_GREETING_LEN 18
/* The metadata context id of base:allocation. */
#define RNULL_META_BASE_ALLOCATION 1

/* What the handshake tells a client about the one export. */
struct rnull_hs_export {
  const char *name;        /* "" is the default export */
  const char *description; /* for NBD_INFO_DESCRIPTION */
  uint64_t size;
  uint16_t flags; /* transmission flags, without NBD_FLAG_SEND_DF */
  uint32_t min_block, pref_block, max_block;
};

/* Exports other than the default one, looked up by name (rnull-server: the
 * disks of its registry). Called from the handshake, on the connection's
 * thread; both may be NULL. */
#define RNULL_HS_NAME_MAX 63 /* longest name find is asked about */
#define RNULL_HS_DESC_MAX 127
struct rnull_hs_exports {
  void *ctx;
  /* Fill out (name and description point into the buffers given) for a
   * served export called name. false: unknown (or not serving). */
  bool (*find)(void *ctx, const char *name, struct rnull_hs_export *out,
               char desc[RNULL_HS_DESC_MAX + 1]);
  /* emit each export (name, description) for NBD_OPT_LIST */
  void (*list)(void *ctx, void (*emit)(void *arg, const char *name, const char *desc), void *arg);
};

enum rnull_hs_phase {
  RNULL_HS_CLIENT_FLAGS, /* waiting for the 32-bit client flags */
  RNULL_HS_OPTIONS,      /* option haggling */
  RNULL_HS_DONE,         /* transmission phase entered */
  RNULL_HS_CLOSED,       /* session over (abort, error) */
};

/* TLS policy (proto.md "TLS support"): off answers NBD_OPT_STARTTLS with
 * NBD_REP_ERR_UNSUP; on allows plaintext and TLS; require answers every option
 * but ABORT and STARTTLS with NBD_REP_ERR_TLS_REQD until TLS is up. */
enum rnull_hs_tls { RNULL_HS_TLS_OFF, RNULL_HS_TLS_ON, RNULL_HS_TLS_REQUIRE };

struct rnull_hs {
  const struct rnull_hs_export *exp;   /* the default export */
  const struct rnull_hs_exports *more; /* the others, or NULL */
  const struct rnull_hs_export *cur;   /* last named (after GO: the chosen one) */
  struct rnull_hs_export found;        /* cur when more found it */
  char found_name[RNULL_HS_NAME_MAX + 1];
  char found_desc[RNULL_HS_DESC_MAX + 1];
  enum rnull_hs_phase phase;
  bool no_zeroes;        /* client set NBD_FLAG_C_NO_ZEROES */
  bool structured;       /* structured replies: NBD_OPT_STRUCTURED_REPLY or
                            NBD_OPT_EXTENDED_HEADERS acknowledged */
  bool extended;         /* NBD_OPT_EXTENDED_HEADERS acknowledged */
  bool meta;             /* base:allocation selected */
  bool refuse;           /* at the connection limit: error every option */
  bool shutdown;         /* server shutting down: NBD_REP_ERR_SHUTDOWN, then close */
  enum rnull_hs_tls tls; /* set by the caller after rnull_hs_init */
  bool tls_acked;        /* NBD_OPT_STARTTLS acknowledged (TLS handshake next) */
  bool tls_up;           /* the TLS handshake completed */
  uint16_t flags;        /* transmission flags sent on entering transmission */
};

enum rnull_hs_result {
  RNULL_HS_MORE,     /* incomplete message: feed more bytes (nothing consumed) */
  RNULL_HS_OK,       /* one message handled; call again with the rest */
  RNULL_HS_GO,       /* transmission starts right after the consumed bytes */
  RNULL_HS_CLOSE,    /* send what is in out, then close the connection */
  RNULL_HS_STARTTLS, /* send what is in out (the ACK), then the TLS handshake;
                        the caller feeds nothing until rnull_hs_tls_up */
};

void rnull_hs_init(struct rnull_hs *hs, const struct rnull_hs_export *exp, bool refuse);

/* The server's opening 18 bytes: NBDMAGIC, IHAVEOPT, handshake flags. */
void rnull_hs_greeting(uint8_t out[RNULL_HS_GREETING_LEN]);

/* Handle at most one client message from in[0, len). *used is set to the
 * bytes consumed; replies are appended at out + *outlen, which must have
 * RNULL_HS_REPLY_MAX bytes of room. */
enum rnull_hs_result rnull_hs_step(struct rnull_hs *hs, const uint8_t *in, size_t len, size_t *used,
                                   uint8_t *out, size_t *outlen);

/* The TLS handshake after NBD_OPT_STARTTLS completed: what was negotiated
 * before it is forgotten (structured replies, meta context), as nbdkit does. */
void rnull_hs_tls_up(struct rnull_hs *hs);

/* Transmission flags for this session (SEND_DF only with structured replies). */
uint16_t rnull_hs_tx_flags(const struct rnull_hs *hs);

#endif
