/* nbdkit tells a plugin nothing when it is asked to quit, and waits for every
 * request in progress before it unloads the plugin: a request throttled by
 * mbps, or lost by the timeout fault with a long timeout_ms, would hold
 * nbdkit's exit for minutes or hours. So SIGTERM and SIGINT are watched (the
 * handler notes the time, then runs nbdkit's own), and a request still
 * waiting RNULL_PLUGIN_SHUTDOWN_TIMEOUT seconds later is ended with
 * ESHUTDOWN, as rnull-server's --shutdown-timeout does. */
#ifndef RNULL_PLUGIN_SHUTDOWN_WATCH_H
#define RNULL_PLUGIN_SHUTDOWN_WATCH_H

#include <stdbool.h>

#define RNULL_PLUGIN_SHUTDOWN_TIMEOUT 10 /* seconds, rnull-server's default */

/* Chain our handlers in front of nbdkit's (after it set them up). */
void rnull_shutdown_watch_start(void);
/* Put nbdkit's back. */
void rnull_shutdown_watch_stop(void);
/* Asked to quit more than RNULL_PLUGIN_SHUTDOWN_TIMEOUT seconds ago? */
bool rnull_shutdown_overdue(void);

#endif
