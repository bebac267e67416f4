/* Integration test harness: run an NBD server (any argv) in the background
 * on a Unix socket inside a fresh temp dir, connect to it with libnbd, and
 * always clean up: the server is stopped by PID (SIGTERM, then SIGKILL after
 * a bound), dies with the test (PR_SET_PDEATHSIG), and the temp dir is
 * removed, also at exit() after a failed check.
 *
 * Typical use:
 *   struct harness h;
 *   harness_init(&h);                         // h.dir, h.sock, h.log
 *   char *argv[] = {"nbdkit", "-f", "-U", h.sock, "null", NULL};
 *   harness_start(&h, argv);                  // waits for h.sock
 *   struct nbd_handle *nbd = harness_connect(&h);
 *   ...
 *   nbd_close(nbd);
 *   harness_stop(&h);                         // wait status of the server
 *   harness_cleanup(&h);
 */
#ifndef RNULL_TEST_HARNESS_H
#define RNULL_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libnbd.h>

#define HARNESS_START_TIMEOUT_S 20 /* socket must appear within this */
#define HARNESS_STOP_TIMEOUT_S 10  /* SIGTERM grace before SIGKILL */

struct harness {
  char dir[256];       /* mkdtemp directory, removed by harness_cleanup */
  char sock[300];      /* dir/sock: pass it to the server */
  char log[300];       /* dir/server.log: the server's stdout and stderr */
  pid_t pid;           /* server, 0 when not running */
  bool started;        /* harness_start ran the server */
  int status;          /* wait status once stopped (or exited) */
  int stop_timeout_ms; /* SIGTERM grace; 0: HARNESS_STOP_TIMEOUT_S */
};

/* Make the temp dir and fill in the paths. 0 or -1 (message printed). */
int harness_init(struct harness *h);

/* Start argv[0] (PATH lookup) with stdout+stderr to h->log, and wait until
 * h->sock exists and listens. -1 if the server exits first or the wait times out (its
 * log is printed; it is stopped). */
int harness_start(struct harness *h, char *const argv[]);

/* Same, but wait for wait_path instead of h->sock (NULL: don't wait). */
int harness_start_wait_for(struct harness *h, char *const argv[], const char *wait_path);

/* A libnbd handle connected to h->sock (retries briefly), or NULL. */
struct nbd_handle *harness_connect(struct harness *h);

/* Connect an already created handle (options set by the caller). 0 or -1. */
int harness_connect_handle(struct harness *h, struct nbd_handle *nbd);

/* Send sig to the running server. 0 or -1. */
int harness_signal(struct harness *h, int sig);

/* Has the server exited? (reaps it and sets h->status) */
bool harness_exited(struct harness *h);

/* SIGTERM, wait up to the grace (stop_timeout_ms), then SIGKILL. Returns the wait
 * status (also in h->status; the earlier one if it had already exited); -1
 * if it was never started. */
int harness_stop(struct harness *h);

/* Stop the server if running, remove everything in h->dir and h->dir. */
void harness_cleanup(struct harness *h);

/* Run argv to completion with stdout+stderr to out_path, killing it after
 * timeout_s. Returns the wait status, or -1 if it could not run. */
int harness_run(char *const argv[], const char *out_path, int timeout_s);

/* The whole file, NUL-terminated (malloc'd; "" if missing). */
char *harness_read_file(const char *path);

/* Print the server log to stderr (for failure diagnostics). */
void harness_dump_log(const struct harness *h);

/* Wall time in ms (CLOCK_MONOTONIC), for hang guards only. */
long long harness_now_ms(void);

/* User + system CPU of process pid so far, in clock ticks (from
 * /proc/PID/stat), or -1. */
long harness_cpu_ticks(pid_t pid);

/* Sleep ms milliseconds (nanosleep). */
void harness_sleep_ms(int ms);

/* Does the file at path contain what? (false if it cannot be read) */
bool harness_file_has(const char *path, const char *what);

/* The same, and when it does not, print what is missing and the whole file
 * to stderr (for failure diagnostics). */
bool harness_file_has_or_show(const char *path, const char *what);

/* Does the server log (h->log) contain what? */
bool harness_log_has(const struct harness *h, const char *what);

/* A base:allocation extent callback for nbd_block_status: calls
 * fn(user, length, flags) for each extent of the reply, in order; replies
 * for other meta contexts are passed over. w must outlive the request. */
struct harness_extent_walk {
  void (*fn)(void *user, uint32_t len, uint32_t flags);
  void *user;
};
nbd_extent_callback harness_extent_callback(struct harness_extent_walk *w);

#endif
