/* Daemon mode (without --foreground) and the pidfile. */
#ifndef RNULL_SERVER_DAEMON_H
#define RNULL_SERVER_DAEMON_H

#include <stdbool.h>

/* Fork; the parent waits until the child calls rnull_daemon_ready() (or
 * exits) and then exits with 0 (or 1). The child is a session leader with
 * stdio on /dev/null. Returns 0 in the child, -errno on failure. */
int rnull_daemonize(void);
/* The child is serving: let the parent go. */
void rnull_daemon_ready(void);

/* Write getpid() to path (via a temp file and rename). */
int rnull_pidfile_write(const char *path);

#endif
