/* A loop's poll window (issue 14). After doing work, a loop keeps polling
 * its sockets (epoll_wait with a zero timeout) for a while instead of going
 * to sleep, so that the client's next request finds it awake: waking a
 * sleeping loop thread costs the *client* a cross-CPU wake-up in its send
 * (7-13 µs of its time on the benchmark VM, as much as the rest of its work
 * on a 4k request). Polling spends server CPU to save client time.
 *
 * Modes: off (sleep at once, as before), a fixed window, or adaptive, in the
 * spirit of qemu's AioContext polling (poll while polling finds work, stop
 * while it does not) but judged only from what polling saw. Adaptive polling
 * is on (window = the maximum) or off (window 0). On: after every PW_EPOCH
 * gaps between bursts of work, polling stays on if at most half of them
 * ended within the window; otherwise it goes off. Off: a sleeping loop learns
 * nothing about polling, because sleeping slows the client by the very
 * wake-up polling saves (at QD1 a request came ~20 µs after the last reply
 * while polling, ~50 µs when the loop slept), so the gap it measures after
 * sleeping overstates what polling would see. A grow/shrink rule fed those
 * gaps (this file's first version) stayed off once off: bistable. So while
 * off, the loop tries again: after PW_PROBE_MIN_NS, work turns polling on for
 * one epoch (a trial); a failed trial doubles the wait (up to
 * PW_PROBE_MAX_NS), a kept one resets it. An idle or slow client costs at
 * most one epoch of windows per wait (~0.1% of a core).
 * Adaptive polling also backs off while others want the CPU it burns, seen
 * two ways, each in two checks in a row a millisecond apart: its thread got
 * less than PW_CROWDED_PERMILLE of the wall time while polling (the
 * scheduler hands its CPU to someone else), or, with more than one
 * connection, more tasks were runnable than there are CPUs (the scheduler
 * may leave the loop a CPU of its own and put two busy clients on the
 * other, where they wait for each other). Not the runnable count with one
 * connection: its client is one task, and the count then sees helpers and
 * kworkers passing by (it stopped polling ~20 times a second under a single
 * fio job). Gaps ended by such a forced sleep are not counted.
 *
 * Pure state machine: the caller passes the time and ways to read the
 * thread's CPU time and the runnable count, so it is tested without a clock. */
#ifndef RNULL_SERVER_POLL_WINDOW_H
#define RNULL_SERVER_POLL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pw_mode { PW_OFF, PW_FIXED, PW_ADAPTIVE };

/* Adaptive polling's window: a client turning a 4k request around takes
 * ~13-20 µs here, a 1 MiB one more; beyond 50 µs the client is slow enough
 * that a wake-up no longer matters. */
#define PW_ADAPTIVE_MAX_NS 50000u
/* Gaps per verdict, and the wait before a trial while off (doubling). */
#define PW_EPOCH 32u
#define PW_PROBE_MIN_NS 10000000u
#define PW_PROBE_MAX_NS 1000000000u
/* --poll N: N in 1..PW_FIXED_MAX_US */
#define PW_FIXED_MAX_US 1000000u
/* Crowding: checked at most this often while polling; two checks in a row
 * with the loop's thread running less than this share (per mille) of the
 * time stop polling for a back-off that doubles while crowding lasts. */
#define PW_CHECK_NS 1000000u
#define PW_CROWDED_PERMILLE 800u
#define PW_BACKOFF_MIN_NS 10000000u
#define PW_BACKOFF_MAX_NS 640000000u

struct pw_opts {
  enum pw_mode mode;
  uint64_t max_ns; /* fixed: the window; adaptive: its maximum */
};

/* "adaptive", "off" or a window in µs ("50"). 0, or -1 with a message
 * naming the value and what is allowed. */
int pw_parse(const char *s, struct pw_opts *o, char *err, size_t errlen);
/* "adaptive", "off" or "50 µs" */
void pw_describe(const struct pw_opts *o, char *buf, size_t len);

struct poll_window {
  struct pw_opts o;
  uint64_t window_ns;             /* poll this long after the last work */
  uint64_t idle_since;            /* when the loop last finished work */
  bool idle;                      /* no work since idle_since */
  bool slept;                     /* ...and the loop went to sleep: the gap is a miss */
  bool forced;                    /* ...for a back-off: the gap is not counted */
  unsigned gaps, misses;          /* this epoch's */
  bool trial;                     /* this epoch decides whether polling stays on */
  uint64_t probe_ns, probe_at;    /* off: the next trial once work comes after probe_at */
  uint64_t next_check;            /* next crowding check */
  uint64_t check_wall, check_cpu; /* the last check's wall and thread CPU time */
  bool check_valid;               /* ...taken while polling, polling since */
  unsigned crowded;               /* crowded checks in a row */
  uint64_t backoff_ns, backoff_until;
  /* counters (statistics, tests) */
  uint64_t trials, offs, backoffs;
};

void pw_init(struct poll_window *p, const struct pw_opts *o);

/* What the loop can tell about the machine (adaptive mode, at most every
 * PW_CHECK_NS while polling). */
struct pw_env {
  uint64_t (*thread_cpu)(uint64_t now); /* the calling thread's CPU time, ns */
  bool (*crowded)(void);                /* more tasks runnable than CPUs now */
};

/* After every loop iteration: worked = the iteration did work, nconns = the
 * loop's connections (none: no polling), now = monotonic ns. Returns true to
 * poll (run the next iteration without sleeping). */
bool pw_next(struct poll_window *p, bool worked, unsigned nconns, uint64_t now,
             const struct pw_env *env);

#endif
