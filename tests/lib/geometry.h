/* The disk the front-end tests serve unless they need another: rnull's
 * default 4096-byte logical block, and DISK bytes (DISK_SIZE_KEY). */
#ifndef RNULL_TEST_GEOMETRY_H
#define RNULL_TEST_GEOMETRY_H

#define BLOCK 4096u
#define DISK (64ull << 20)
#define DISK_SIZE_KEY "size=64M"

#endif
