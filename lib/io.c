/* Names of operations, for messages and statistics. */
#include "rnull/io.h"

const char *rnull_op_name(enum rnull_op op) {
  static const char *const names[RNULL_OP_MAX] = {
      [RNULL_OP_READ] = "read",
      [RNULL_OP_WRITE] = "write",
      [RNULL_OP_FLUSH] = "flush",
      [RNULL_OP_DISCARD] = "discard",
      [RNULL_OP_WRITE_ZEROES] = "write_zeroes",
      [RNULL_OP_CACHE] = "cache",
  };
  return (unsigned)op < RNULL_OP_MAX ? names[op] : "unknown";
}
