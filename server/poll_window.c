/* A loop's poll window: see poll_window.h. */
#include "poll_window.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pw_parse(const char *s, struct pw_opts *o, char *err, size_t errlen) {
  if (strcmp(s, "adaptive") == 0) {
    *o = (struct pw_opts){PW_ADAPTIVE, PW_ADAPTIVE_MAX_NS};
    return 0;
  }
  if (strcmp(s, "off") == 0) {
    *o = (struct pw_opts){PW_OFF, 0};
    return 0;
  }
  char *end;
  errno = 0;
  unsigned long us = strtoul(s, &end, 10);
  if (!*s || *end || errno || s[0] == '-' || s[0] == '+' || us > PW_FIXED_MAX_US) {
    snprintf(err, errlen,
             "--poll %s: expected adaptive, off or a window in microseconds from 0 to %u", s,
             PW_FIXED_MAX_US);
    return -1;
  }
  *o = us ? (struct pw_opts){PW_FIXED, (uint64_t)us * 1000} : (struct pw_opts){PW_OFF, 0};
  return 0;
}

void pw_describe(const struct pw_opts *o, char *buf, size_t len) {
  if (o->mode == PW_OFF)
    snprintf(buf, len, "off");
  else if (o->mode == PW_ADAPTIVE)
    snprintf(buf, len, "adaptive (up to %llu µs)", (unsigned long long)(o->max_ns / 1000));
  else
    snprintf(buf, len, "%llu µs", (unsigned long long)(o->max_ns / 1000));
}

void pw_init(struct poll_window *p, const struct pw_opts *o) {
  *p = (struct poll_window){.o = *o};
  if (o->mode == PW_FIXED)
    p->window_ns = o->max_ns;
}

/* A gap (from the end of one burst of work to the start of the next) ended
 * in adaptive mode: count it, and give a verdict every PW_EPOCH gaps. */
static void judge(struct poll_window *p, uint64_t now) {
  if (p->window_ns == 0) { /* off: nothing to count; a trial when due */
    if (now >= p->probe_at) {
      p->window_ns = p->o.max_ns;
      p->trial = true;
      p->gaps = p->misses = 0;
      p->trials++;
    }
    return;
  }
  if (p->forced)
    return; /* slept for a back-off: says nothing about the client */
  p->gaps++;
  p->misses += p->slept;
  if (p->gaps < PW_EPOCH)
    return;
  if (2 * p->misses > p->gaps) {
    p->window_ns = 0;
    p->offs++;
    if (!p->trial || !p->probe_ns)
      p->probe_ns = PW_PROBE_MIN_NS;
    else if ((p->probe_ns *= 2) > PW_PROBE_MAX_NS)
      p->probe_ns = PW_PROBE_MAX_NS;
    p->probe_at = now + p->probe_ns;
  } else {
    p->probe_ns = 0; /* kept: the next failure waits the least */
  }
  p->trial = false;
  p->gaps = p->misses = 0;
}

/* Others want the CPU this loop polls on: while it polls, the loop should
 * have its CPU to itself, so a share of wall time well below 1 between two
 * checks means the scheduler gave it to someone else (two busy clients and
 * a polling loop on two CPUs: ~0.67). Two such checks in a row stop polling
 * for a back-off that doubles while crowding lasts; a check that finds the
 * CPU ours again resets it. The first check of a spell of polling only
 * takes a base. */
static bool backing_off(struct poll_window *p, uint64_t now, unsigned nconns,
                        const struct pw_env *env) {
  if (now < p->next_check)
    return false;
  p->next_check = now + PW_CHECK_NS;
  uint64_t cpu = env->thread_cpu(now);
  bool valid = p->check_valid && now > p->check_wall && cpu >= p->check_cpu;
  bool starved =
      valid && (cpu - p->check_cpu) * 1000 < (uint64_t)PW_CROWDED_PERMILLE * (now - p->check_wall);
  bool busy = nconns > 1 && env->crowded();
  p->check_wall = now;
  p->check_cpu = cpu;
  p->check_valid = true;
  if (!valid && !busy)
    return false;
  if (!starved && !busy) {
    p->crowded = 0;
    p->backoff_ns = 0;
    return false;
  }
  if (++p->crowded < 2)
    return false;
  p->crowded = 0;
  p->backoff_ns = p->backoff_ns ? 2 * p->backoff_ns : PW_BACKOFF_MIN_NS;
  if (p->backoff_ns > PW_BACKOFF_MAX_NS)
    p->backoff_ns = PW_BACKOFF_MAX_NS;
  p->backoff_until = now + p->backoff_ns;
  p->backoffs++;
  return true;
}

bool pw_next(struct poll_window *p, bool worked, unsigned nconns, uint64_t now,
             const struct pw_env *env) {
  if (p->o.mode == PW_OFF)
    return false;
  if (worked) {
    if (p->idle && p->o.mode == PW_ADAPTIVE)
      judge(p, now);
    p->idle = true;
    p->idle_since = now;
    p->slept = p->forced = false;
  }
  if (!p->idle)
    return false;
  bool poll = nconns > 0 && now - p->idle_since < p->window_ns;
  if (poll && p->o.mode == PW_ADAPTIVE &&
      (now < p->backoff_until || backing_off(p, now, nconns, env))) {
    poll = false;
    p->forced = true;
  }
  if (!poll) {
    p->slept = true;
    p->check_valid = false; /* the CPU share counts while polling only */
  }
  return poll;
}
