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

/* qemu's rule: work that came within the window needs no change; later but
 * within the maximum, a longer window would have caught it; later than the
 * maximum, polling was wasted. */
static void adapt(struct poll_window *p, uint64_t waited) {
  if (p->o.mode != PW_ADAPTIVE || waited <= p->window_ns)
    return;
  if (waited > p->o.max_ns) {
    p->window_ns /= 2;
    if (p->window_ns < PW_GROW_START_NS)
      p->window_ns = 0;
    p->shrinks++;
  } else {
    p->window_ns = p->window_ns ? 2 * p->window_ns : PW_GROW_START_NS;
    if (p->window_ns > p->o.max_ns)
      p->window_ns = p->o.max_ns;
    p->grows++;
  }
}

/* Others wait for a CPU while this loop polls: stop polling for a back-off
 * that doubles while crowding lasts; an uncrowded check resets it. */
static bool backing_off(struct poll_window *p, uint64_t now, bool (*crowded)(void)) {
  if (now < p->next_check)
    return false;
  p->next_check = now + PW_CHECK_NS;
  if (!crowded()) {
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

bool pw_next(struct poll_window *p, bool worked, bool may_poll, uint64_t now,
             bool (*crowded)(void)) {
  if (p->o.mode == PW_OFF)
    return false;
  if (worked) {
    if (p->idle)
      adapt(p, now - p->idle_since);
    p->idle = true;
    p->idle_since = now;
  }
  if (!may_poll || !p->idle || now - p->idle_since >= p->window_ns)
    return false;
  if (p->o.mode != PW_ADAPTIVE)
    return true;
  if (now < p->backoff_until)
    return false;
  return !backing_off(p, now, crowded);
}
