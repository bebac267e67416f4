/* libFuzzer target: the fixed newstyle handshake state machine fed
 * arbitrary client bytes in arbitrary pieces. Invariants: a step never
 * consumes more than it was given, never writes more than
 * RNULL_HS_REPLY_MAX, always makes progress when it says OK, and option
 * replies are well-formed (magic, lengths that add up); extended headers
 * imply structured replies and are never entered through EXPORT_NAME. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "handshake.h"
#include "nbd_proto.h"

static const struct rnull_hs_export exp_ = {
    .name = "",
    .description = "fuzz disk",
    .size = 1ull << 30,
    .flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_TRIM,
    .min_block = 512,
    .pref_block = 4096,
    .max_block = 32u << 20,
};

/* Walk the option replies in out[0, n) (no EXPORT_NAME reply in there). */
static void check_replies(const uint8_t *out, size_t n) {
  size_t p = 0;
  while (p < n) {
    assert(n - p >= 20);
    assert(nbd_get64(out + p) == NBD_REP_MAGIC);
    uint32_t len = nbd_get32(out + p + 16);
    assert(len <= n - p - 20);
    p += 20 + (size_t)len;
  }
}

/* Before TLS under require: only error replies, and ACKs to ABORT or
 * STARTTLS; nothing about the export. */
static void check_no_export_info(const uint8_t *out, size_t n) {
  for (size_t p = 0; p + 20 <= n; p += 20 + (size_t)nbd_get32(out + p + 16)) {
    uint32_t opt = nbd_get32(out + p + 8), type = nbd_get32(out + p + 12);
    assert(type & 0x80000000u ||
           (type == NBD_REP_ACK && (opt == NBD_OPT_ABORT || opt == NBD_OPT_STARTTLS)));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uint8_t out[RNULL_HS_REPLY_MAX];
  struct rnull_hs hs;
  if (size < 1)
    return 0;
  /* First byte: refuse mode, TLS policy and the feeding piece size. */
  rnull_hs_init(&hs, &exp_, data[0] & 1);
  hs.tls = (data[0] >> 1 & 3) == 3 ? RNULL_HS_TLS_REQUIRE : (enum rnull_hs_tls)(data[0] >> 1 & 3);
  size_t piece = (data[0] >> 3) + 1;
  data++;
  size--;
  size_t have = 0, pos = 0;
  while (pos < size) {
    have = have + piece < size - pos ? have + piece : size - pos;
    size_t outlen = 0, used = 0;
    enum rnull_hs_result r = rnull_hs_step(&hs, data + pos, have, &used, out, &outlen);
    assert(used <= have);
    assert(outlen <= RNULL_HS_REPLY_MAX);
    if (r == RNULL_HS_CLOSE)
      return 0;
    assert(!hs.extended || hs.structured);
    /* require: nothing but errors (and ABORT's, STARTTLS's ACK) before TLS */
    if (hs.tls == RNULL_HS_TLS_REQUIRE && !hs.tls_up && !hs.refuse)
      check_no_export_info(out, outlen);
    if (r == RNULL_HS_STARTTLS) {
      assert(hs.tls != RNULL_HS_TLS_OFF && hs.tls_acked && !hs.tls_up);
      check_replies(out, outlen);
      rnull_hs_tls_up(&hs); /* as the connection does once TLS is up */
      assert(!hs.structured && !hs.meta && !hs.extended);
      pos += used;
      have -= used;
      continue;
    }
    if (r == RNULL_HS_GO) {
      assert(hs.phase == RNULL_HS_DONE);
      assert(hs.tls != RNULL_HS_TLS_REQUIRE || hs.tls_up || hs.refuse);
      if (hs.extended) /* entered by NBD_OPT_GO: option replies, no export-name reply */
        check_replies(out, outlen);
      return 0;
    }
    if (r == RNULL_HS_MORE) {
      assert(used == 0 && outlen == 0);
      if (pos + have >= size)
        return 0; /* input exhausted mid-message */
      continue;
    }
    assert(used > 0);
    if (hs.phase == RNULL_HS_OPTIONS && used != 4)
      check_replies(out, outlen);
    pos += used;
    have -= used;
  }
  return 0;
}
