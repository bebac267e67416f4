/* rnull-server tests: start the server under the integration harness, and
 * talk raw NBD on a socket for what libnbd won't send. */
#ifndef RNULL_TEST_SRV_H
#define RNULL_TEST_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expect.h"
#include "frontend.h"
#include "harness.h"

#define SRV_MAX_ARGS 64

/* `rnull-server -f --unix h->sock args...` (NULL-terminated; the argv of
 * frontend.h). 0 or -1. */
int srv_start(struct harness *h, ...);
int srv_startv(struct harness *h, const char *const *args);
/* The binary: srv_path() of frontend.h (RNULL_SERVER_PATH from the build). */
/* Command words put in front of the server (e.g. valgrind), or NULL. Without
 * one, RNULL_SERVER_WRAPPER (space-separated words) is used if set. */
void srv_set_wrapper(const char *const *wrapper);

/* libnbd handle with strict mode off (to send bad requests), connected. */
struct nbd_handle *srv_connect_loose(struct harness *h);

/* --- raw sockets (every wait bounded by RAW_TIMEOUT_MS) --- */
#define RAW_TIMEOUT_MS 10000

int raw_connect(const char *sock_path); /* -1 on failure */
/* Send all of buf. 0 or -1. */
int raw_send(int fd, const void *buf, size_t len);
/* Receive exactly len bytes. len on success, fewer at EOF, -1 on error or
 * timeout. */
long raw_recv(int fd, void *buf, size_t len);
/* Wait for EOF (the server hung up): true if it came within the bound
 * (any data before it is discarded). */
bool raw_wait_eof(int fd);

/* The loops of raw_send and raw_recv over any transport (a socket, a TLS
 * session in tests/tls): step moves up to n bytes through ctx and returns
 * how many (0: end of stream), RAW_AGAIN to be called again, RAW_ERROR (a
 * receive then returns what it got so far, if anything, else -1) or
 * RAW_TIMEOUT (the transfer returns -1). */
#define RAW_ERROR (-1)
#define RAW_AGAIN (-2)
#define RAW_TIMEOUT (-3)
int raw_send_with(long (*step)(void *ctx, const void *p, size_t n), void *ctx, const void *buf,
                  size_t len);
long raw_recv_with(long (*step)(void *ctx, void *p, size_t n), void *ctx, void *buf, size_t len);

/* An option request's 16-byte header (IHAVEOPT, opt, len). */
void raw_put_opt(uint8_t *h, uint32_t opt, uint32_t len);
/* An option reply's 20-byte header: 0 if it is a reply to expect_opt (type
 * and payload length out), else -1. */
int raw_get_opt_reply(const uint8_t *h, uint32_t expect_opt, uint32_t *type, uint32_t *len);

/* Read the 18-byte greeting and check it; send client flags. 0 or -1. */
int raw_greet(int fd, uint32_t client_flags);
/* Send an option with data. */
int raw_opt(int fd, uint32_t opt, const void *data, uint32_t len);
/* Read one option reply header: *type, *len (data left to read). 0 or -1. */
int raw_opt_reply(int fd, uint32_t expect_opt, uint32_t *type, uint32_t *len);
/* Skip len bytes. */
int raw_skip(int fd, size_t len);
/* Handshake to transmission with NBD_OPT_GO on export "" (optionally
 * structured replies and base:allocation). Returns transmission flags or -1. */
int raw_go(int fd, bool structured, bool meta);
/* The same with NBD_OPT_EXTENDED_HEADERS instead of structured replies. */
int raw_go_ext(int fd, bool meta);
/* Encode one request header into r (NBD_REQUEST_SIZE bytes). */
void raw_put_request(uint8_t *r, uint16_t flags, uint16_t type, uint64_t handle, uint64_t offset,
                     uint32_t len);
/* Send one request header. */
int raw_request(int fd, uint16_t flags, uint16_t type, uint64_t handle, uint64_t offset,
                uint32_t len);
/* Read a simple reply header: *err, *handle. 0 or -1 (bad magic too). */
int raw_simple_reply(int fd, uint32_t *err, uint64_t *handle);

/* Extended headers: a 32-byte request (NBD_EXTENDED_REQUEST_SIZE bytes). */
void raw_put_request_ext(uint8_t *r, uint16_t flags, uint16_t type, uint64_t handle,
                         uint64_t offset, uint64_t len);
int raw_request_ext(int fd, uint16_t flags, uint16_t type, uint64_t handle, uint64_t offset,
                    uint64_t len);
/* One extended reply chunk: its 32-byte header and, if it fits, its payload. */
struct raw_ext_chunk {
  uint16_t flags, type;
  uint64_t handle, offset, len;
  uint8_t payload[1024];
  size_t payload_len; /* len if read into payload, else 0 (left on the socket) */
};
/* 0, or -1 on a short read, a timeout or a magic other than the extended. */
int raw_ext_reply(int fd, struct raw_ext_chunk *c);
/* The same for a structured reply chunk (20-byte header; offset is 0). */
int raw_chunk_reply(int fd, struct raw_ext_chunk *c);

#endif
