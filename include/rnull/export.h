/* RNULL_API marks the symbols librnull exports; everything else in the
 * library is built with hidden visibility. */
#ifndef RNULL_EXPORT_H
#define RNULL_EXPORT_H

#define RNULL_API __attribute__((visibility("default")))

#endif
