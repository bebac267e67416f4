/* RNULL_API marks the symbols librnull and librnull-nbd export; everything
 * else in the libraries is built with hidden visibility. Each RNULL_API
 * function is also listed in a version node of the library's version script
 * (lib/librnull.map, server/librnull-nbd.map; the abi_symbols test checks
 * they agree) and is ABI: see packaging/README.md, "ABI". */
#ifndef RNULL_EXPORT_H
#define RNULL_EXPORT_H

#define RNULL_API __attribute__((visibility("default")))

#endif
