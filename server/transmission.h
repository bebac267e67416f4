/* Transmission-phase request parsing and validation: pure functions over a
 * byte buffer and the negotiated limits, so they can be fuzzed. */
#ifndef RNULL_SERVER_TRANSMISSION_H
#define RNULL_SERVER_TRANSMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnull/io.h"

struct rnull_nbd_req {
  uint16_t flags;
  uint16_t type;
  uint64_t handle;
  uint64_t offset;
  uint64_t len; /* effect length, or with NBD_CMD_FLAG_PAYLOAD_LEN the payload's */
};

/* What was negotiated for this connection. */
struct rnull_tx_limits {
  uint64_t size;      /* export size in bytes */
  uint32_t min_block; /* requests must be aligned to this */
  uint32_t max_block; /* longest READ/WRITE/CACHE/WRITE_ZEROES */
  uint16_t tx_flags;  /* transmission flags sent to the client */
  bool structured;    /* structured replies negotiated */
  bool meta;          /* base:allocation selected */
  bool extended;      /* extended headers: 32-byte requests and replies */
};

/* Write payloads up to this (or max_block if larger) are read and dropped
 * when the request is refused; a longer payload drops the connection, since
 * the stream cannot be resynchronised cheaply (proto.md: below 2^25 is never
 * a denial of service). */
#define RNULL_TX_SKIP_MAX (64u * 1024 * 1024)

/* Bytes of a request header: NBD_EXTENDED_REQUEST_SIZE or NBD_REQUEST_SIZE. */
size_t rnull_req_hdr_size(bool extended);

/* Decode one request header, compact or extended as negotiated (the other
 * form is a bad magic). Returns the header size when one was decoded, 0 when
 * len is too short, -1 on a bad magic (the stream is lost; decided as soon as
 * the 4 magic bytes are in). */
int rnull_req_decode(const uint8_t *buf, size_t len, bool extended, struct rnull_nbd_req *r);

/* Room for rnull_req_check's reason, its NUL included. */
#define RNULL_REQ_WHY_MAX 160

/* Validate against the limits. Returns 0, or the NBD error to reply with
 * (NBD_EINVAL, NBD_EPERM, NBD_ENOSPC) with the reason in why: the command,
 * the rule it breaks and the numbers that break it, as nbdkit's
 * validate_request ("NBD_CMD_READ: offset and count are out of range:
 * offset=... count=..."). why is written only when the request is refused
 * (the cost is on that path only). NBD_CMD_DISC always passes. */
uint32_t rnull_req_check(const struct rnull_nbd_req *r, const struct rnull_tx_limits *lim,
                         char why[RNULL_REQ_WHY_MAX]);

/* Payload bytes that follow the header on the wire: a WRITE's length, or an
 * extended request's length when it has NBD_CMD_FLAG_PAYLOAD_LEN (whatever
 * the command: a payload the command does not take is read and dropped, and
 * the request fails with EINVAL). An extended WRITE without the flag, which
 * proto.md forbids, still carries its payload: qemu 10 sends it that way. */
uint64_t rnull_req_payload(const struct rnull_nbd_req *r, bool extended);

/* Too long a payload to read or skip: the connection must be dropped. */
bool rnull_req_payload_fatal(const struct rnull_nbd_req *r, const struct rnull_tx_limits *lim);

/* Map a checked request to an engine I/O (not DISC or BLOCK_STATUS). */
void rnull_req_to_io(const struct rnull_nbd_req *r, struct rnull_io *io);

#endif
