/* NBD wire constants (NetworkBlockDevice/nbd doc/proto.md) and big-endian
 * load/store helpers. Only what rnull-server speaks. */
#ifndef RNULL_NBD_PROTO_H
#define RNULL_NBD_PROTO_H

#include <stdint.h>

/* Handshake magics */
#define NBD_MAGIC 0x4e42444d41474943ULL    /* "NBDMAGIC" */
#define NBD_IHAVEOPT 0x49484156454F5054ULL /* "IHAVEOPT" */
#define NBD_REP_MAGIC 0x3e889045565a9ULL   /* option reply */

/* Handshake flags (server) and client flags */
#define NBD_FLAG_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_NO_ZEROES (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_C_NO_ZEROES (1u << 1)

/* Transmission flags */
#define NBD_FLAG_HAS_FLAGS (1u << 0)
#define NBD_FLAG_READ_ONLY (1u << 1)
#define NBD_FLAG_SEND_FLUSH (1u << 2)
#define NBD_FLAG_SEND_FUA (1u << 3)
#define NBD_FLAG_ROTATIONAL (1u << 4)
#define NBD_FLAG_SEND_TRIM (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF (1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN (1u << 8)
#define NBD_FLAG_SEND_CACHE (1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO (1u << 11)

/* Options */
#define NBD_OPT_EXPORT_NAME 1
#define NBD_OPT_ABORT 2
#define NBD_OPT_LIST 3
#define NBD_OPT_STARTTLS 5
#define NBD_OPT_INFO 6
#define NBD_OPT_GO 7
#define NBD_OPT_STRUCTURED_REPLY 8
#define NBD_OPT_LIST_META_CONTEXT 9
#define NBD_OPT_SET_META_CONTEXT 10
#define NBD_OPT_EXTENDED_HEADERS 11 /* proto.md extension-ext-header */

/* Option replies */
#define NBD_REP_ACK 1u
#define NBD_REP_SERVER 2u
#define NBD_REP_INFO 3u
#define NBD_REP_META_CONTEXT 4u
#define NBD_REP_ERR_UNSUP 0x80000001u
#define NBD_REP_ERR_POLICY 0x80000002u
#define NBD_REP_ERR_INVALID 0x80000003u
#define NBD_REP_ERR_TLS_REQD 0x80000005u
#define NBD_REP_ERR_UNKNOWN 0x80000006u
#define NBD_REP_ERR_SHUTDOWN 0x80000007u
#define NBD_REP_ERR_TOO_BIG 0x80000009u
#define NBD_REP_ERR_EXT_HEADER_REQD 0x8000000au

/* NBD_OPT_INFO / NBD_OPT_GO information types */
#define NBD_INFO_EXPORT 0
#define NBD_INFO_NAME 1
#define NBD_INFO_DESCRIPTION 2
#define NBD_INFO_BLOCK_SIZE 3

/* Transmission */
#define NBD_REQUEST_MAGIC 0x25609513u
#define NBD_EXTENDED_REQUEST_MAGIC 0x21e41c71u
#define NBD_SIMPLE_REPLY_MAGIC 0x67446698u
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33efu
#define NBD_EXTENDED_REPLY_MAGIC 0x6e8a278cu

/* Request header, compact (28 bytes, 32-bit length) and extended (32 bytes,
 * 64-bit length): the same fields at the same offsets up to the length. */
#define NBD_REQ_MAGIC 0   /* u32 */
#define NBD_REQ_FLAGS 4   /* u16 command flags */
#define NBD_REQ_TYPE 6    /* u16 */
#define NBD_REQ_COOKIE 8  /* u64 */
#define NBD_REQ_OFFSET 16 /* u64 */
#define NBD_REQ_LENGTH 24 /* u32 compact, u64 extended */
#define NBD_REQUEST_SIZE 28
#define NBD_EXTENDED_REQUEST_SIZE 32

/* Simple reply (16 bytes). */
#define NBD_SREP_MAGIC 0  /* u32 */
#define NBD_SREP_ERROR 4  /* u32 */
#define NBD_SREP_COOKIE 8 /* u64 */
#define NBD_SIMPLE_REPLY_SIZE 16

/* Structured (20 bytes) and extended (32 bytes) reply chunk headers. */
#define NBD_CHUNK_MAGIC 0   /* u32 */
#define NBD_CHUNK_FLAGS 4   /* u16 */
#define NBD_CHUNK_TYPE 6    /* u16 */
#define NBD_CHUNK_COOKIE 8  /* u64 */
#define NBD_CHUNK_LENGTH 16 /* u32 payload length (structured) */
#define NBD_CHUNK_HDR_SIZE 20
#define NBD_XCHUNK_OFFSET 16 /* u64 the request's offset (extended) */
#define NBD_XCHUNK_LENGTH 24 /* u64 payload length (extended) */
#define NBD_EXTENDED_CHUNK_HDR_SIZE 32

/* Chunk payloads. */
#define NBD_HOLE_SIZE 12        /* u64 offset, u32 hole length */
#define NBD_DATA_OFFSET_SIZE 8  /* u64 offset, then the data */
#define NBD_ERROR_HDR_SIZE 6    /* u32 error, u16 message length, message */
#define NBD_ERROR_OFFSET_SIZE 8 /* u64 offset after the message (ERROR_OFFSET) */
#define NBD_BS_HDR_SIZE 4       /* u32 context id, then descriptors */
#define NBD_BS_DESC_SIZE 8      /* u32 length, u32 status */
#define NBD_BS_EXT_HDR_SIZE 8   /* u32 context id, u32 descriptor count */
#define NBD_BS_EXT_DESC_SIZE 16 /* u64 length, u64 status */

/* The server's greeting (18 bytes). */
#define NBD_GREETING_MAGIC 0    /* u64 NBDMAGIC */
#define NBD_GREETING_IHAVEOPT 8 /* u64 IHAVEOPT */
#define NBD_GREETING_FLAGS 16   /* u16 handshake flags */
#define NBD_GREETING_SIZE 18
#define NBD_CLIENT_FLAGS_SIZE 4 /* the client's u32 flags that answer it */

/* A client option (16-byte header, then its data). */
#define NBD_OPTION_MAGIC 0   /* u64 IHAVEOPT */
#define NBD_OPTION_OPT 8     /* u32 option */
#define NBD_OPTION_LENGTH 12 /* u32 data length */
#define NBD_OPTION_HDR_SIZE 16

/* An option reply (20-byte header, then its data). */
#define NBD_OREP_MAGIC 0   /* u64 NBD_REP_MAGIC */
#define NBD_OREP_OPT 8     /* u32 the option replied to */
#define NBD_OREP_TYPE 12   /* u32 NBD_REP_* */
#define NBD_OREP_LENGTH 16 /* u32 data length */
#define NBD_OREP_HDR_SIZE 20

/* Option data. A string is a u32 length then the bytes. */
#define NBD_STRLEN_SIZE 4 /* u32 */
/* NBD_OPT_INFO/GO: string export name, u16 count, count x u16 info types */
#define NBD_INFO_COUNT_SIZE 2
#define NBD_INFO_REQ_SIZE 2
/* LIST/SET_META_CONTEXT: string export name, u32 count, count x string */
#define NBD_META_COUNT_SIZE 4
/* NBD_REP_SERVER: string name, then the description (rest of the data) */
/* NBD_REP_META_CONTEXT: u32 context id, then the name */
#define NBD_META_ID_SIZE 4
/* NBD_REP_INFO: u16 information type, then: */
#define NBD_INFO_TYPE_SIZE 2
#define NBD_INFO_EXPORT_SIZE 2   /* u64 at 2 */
#define NBD_INFO_EXPORT_FLAGS 10 /* u16 transmission flags */
#define NBD_INFO_EXPORT_LEN 12
#define NBD_INFO_BLOCK_MIN 2  /* u32 minimum block size */
#define NBD_INFO_BLOCK_PREF 6 /* u32 preferred */
#define NBD_INFO_BLOCK_MAX 10 /* u32 maximum */
#define NBD_INFO_BLOCK_SIZE_LEN 14

/* NBD_OPT_EXPORT_NAME's reply: u64 size, u16 flags, 124 zeroes unless
 * NBD_FLAG_C_NO_ZEROES. */
#define NBD_EXPORT_NAME_SIZE 0  /* u64 */
#define NBD_EXPORT_NAME_FLAGS 8 /* u16 transmission flags */
#define NBD_EXPORT_NAME_REPLY_SIZE 10
#define NBD_EXPORT_NAME_ZEROES 124

#define NBD_CMD_READ 0
#define NBD_CMD_WRITE 1
#define NBD_CMD_DISC 2
#define NBD_CMD_FLUSH 3
#define NBD_CMD_TRIM 4
#define NBD_CMD_CACHE 5
#define NBD_CMD_WRITE_ZEROES 6
#define NBD_CMD_BLOCK_STATUS 7

#define NBD_CMD_FLAG_FUA (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE (1u << 1)
#define NBD_CMD_FLAG_DF (1u << 2)
#define NBD_CMD_FLAG_REQ_ONE (1u << 3)
#define NBD_CMD_FLAG_FAST_ZERO (1u << 4)
#define NBD_CMD_FLAG_PAYLOAD_LEN (1u << 5) /* extended: length is a payload length */

#define NBD_REPLY_FLAG_DONE (1u << 0)
#define NBD_REPLY_TYPE_NONE 0
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_OFFSET_HOLE 2
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_BLOCK_STATUS_EXT 6
#define NBD_REPLY_TYPE_ERROR 0x8001
#define NBD_REPLY_TYPE_ERROR_OFFSET 0x8002

#define NBD_STATE_HOLE (1u << 0)
#define NBD_STATE_ZERO (1u << 1)

/* Error values on the wire */
#define NBD_EPERM 1
#define NBD_EIO 5
#define NBD_ENOMEM 12
#define NBD_EINVAL 22
#define NBD_ENOSPC 28
#define NBD_EOVERFLOW 75
#define NBD_ENOTSUP 95
#define NBD_ESHUTDOWN 108

/* Strings (export names, queries, messages) are at most 4096 bytes. */
#define NBD_MAX_STRING 4096

static inline uint16_t nbd_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t nbd_get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t nbd_get64(const uint8_t *p) {
  return (uint64_t)nbd_get32(p) << 32 | nbd_get32(p + 4);
}
static inline void nbd_put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void nbd_put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static inline void nbd_put64(uint8_t *p, uint64_t v) {
  nbd_put32(p, (uint32_t)(v >> 32));
  nbd_put32(p + 4, (uint32_t)v);
}

#endif
