/* --poll (issue 14): the poll window's state machine step by step (kept
 * while polling finds work, off when it does not, tried again with waits
 * that double, backs off while more tasks are runnable than CPUs; a
 * simulated client whose requests come later when the loop slept), the option and its errors, a
 * polling server serving correctly, idle clients and no clients costing ~no CPU, and shutdown not
 * waiting for a poll window. No speed is judged here: CPU bounds are generous (a polling loop would
 * burn ~100%). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "poll_window.h"
#include "srv.h"

#define US 1000u
#define MS 1000000u

/* The loop thread's CPU time, as the state machine reads it: it gets
 * fake_share of the wall time that passes between reads. */
static double fake_share = 1.0;
static uint64_t fake_cpu_ns, fake_cpu_last;
static uint64_t fake_cpu(uint64_t now) {
  if (now > fake_cpu_last)
    fake_cpu_ns += (uint64_t)(fake_share * (double)(now - fake_cpu_last));
  fake_cpu_last = now;
  return fake_cpu_ns;
}
/* ...and the runnable count (above the CPUs, or not) */
static bool fake_busy;
static bool fake_crowded(void) { return fake_busy; }
static const struct pw_env fake_env = {fake_cpu, fake_crowded};

static void test_parse(void) {
  struct pw_opts o;
  char err[160];
  EXPECT_EQ_INT(pw_parse("adaptive", &o, err, sizeof(err)), 0);
  EXPECT_EQ_INT(o.mode, PW_ADAPTIVE);
  EXPECT_EQ_U64(o.max_ns, PW_ADAPTIVE_MAX_NS);
  EXPECT_EQ_INT(pw_parse("off", &o, err, sizeof(err)), 0);
  EXPECT_EQ_INT(o.mode, PW_OFF);
  EXPECT_EQ_INT(pw_parse("0", &o, err, sizeof(err)), 0);
  EXPECT_EQ_INT(o.mode, PW_OFF);
  EXPECT_EQ_INT(pw_parse("50", &o, err, sizeof(err)), 0);
  EXPECT_EQ_INT(o.mode, PW_FIXED);
  EXPECT_EQ_U64(o.max_ns, 50 * US);
  EXPECT_EQ_INT(pw_parse("1000000", &o, err, sizeof(err)), 0);
  EXPECT_EQ_U64(o.max_ns, 1000000ull * US);
  const char *bad[] = {"", "-1", "+5", "1000001", "50us", "fast", "99999999999999999999"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    err[0] = 0;
    EXPECT_MSG(pw_parse(bad[i], &o, err, sizeof(err)) < 0, "--poll '%s' refused", bad[i]);
    EXPECT_MSG(strstr(err, "--poll") && strstr(err, "adaptive") && strstr(err, "1000000"),
               "message for '%s' names the option and what is allowed: %s", bad[i], err);
  }
}

static void test_off_and_fixed(void) {
  struct poll_window p;
  struct pw_opts off = {PW_OFF, 0}, fixed = {PW_FIXED, 30 * US};
  pw_init(&p, &off);
  EXPECT(!pw_next(&p, true, true, 1000, &fake_env));
  EXPECT(!pw_next(&p, false, true, 1001, &fake_env));
  pw_init(&p, &fixed);
  EXPECT_MSG(!pw_next(&p, false, true, 1000, &fake_env), "no work yet: sleep");
  EXPECT_MSG(pw_next(&p, true, true, 1000, &fake_env), "after work: poll");
  EXPECT(pw_next(&p, false, true, 1000 + 29 * US, &fake_env));
  EXPECT_MSG(!pw_next(&p, false, true, 1000 + 30 * US, &fake_env), "window over: sleep");
  EXPECT_MSG(!pw_next(&p, true, false, 2000 + 30 * US, &fake_env), "no connections: sleep");
  /* a fixed window neither adapts nor backs off */
  fake_share = 0.6;
  uint64_t t = 10 * MS;
  for (int i = 0; i < 100; i++, t += 500 * US)
    EXPECT(pw_next(&p, true, true, t, &fake_env));
  fake_share = 1.0;
  EXPECT_EQ_U64(p.window_ns, 30 * US);
  EXPECT_EQ_U64(p.backoffs, 0);
}

/* Adaptive: work arriving every `gap` ns, n times from t; returns t after. */
static uint64_t feed(struct poll_window *p, uint64_t t, uint64_t gap, int n) {
  for (int i = 0; i < n; i++) {
    t += gap;
    pw_next(p, true, true, t, &fake_env);
  }
  return t;
}

/* A loop and its client, simulated: after each reply the client sends its
 * next request `fast` ns later if the loop is still polling then, `slow` ns
 * later if the loop slept (waking it costs both sides: at QD1 here ~20 µs
 * against ~50 µs). Serving takes 2 µs. Returns the share of requests that
 * found the loop polling; adds the CPU the loop burned polling to *burned. */
static double simulate(struct poll_window *p, uint64_t *t, uint64_t fast, uint64_t slow, int n,
                       uint64_t *burned) {
  int hits = 0;
  for (int i = 0; i < n; i++) {
    *t += 2 * US;
    bool polling = pw_next(p, true, true, *t, &fake_env);
    if (polling && pw_next(p, false, true, *t + fast - 1, &fake_env)) {
      hits++;
      *burned += fast;
      *t += fast;
    } else {
      if (polling) { /* the window ran out: the loop slept at its end */
        EXPECT(!pw_next(p, false, true, *t + p->window_ns, &fake_env));
        *burned += p->window_ns;
      }
      *t += slow > fast ? slow : fast;
    }
  }
  return (double)hits / n;
}

static void test_adaptive(void) {
  struct poll_window p;
  struct pw_opts a = {PW_ADAPTIVE, PW_ADAPTIVE_MAX_NS};
  uint64_t t = 1000, burned = 0;
  fake_share = 1.0;
  pw_init(&p, &a);
  EXPECT_MSG(!pw_next(&p, false, true, t, &fake_env), "no work yet: sleeps");
  /* QD1: 20 µs apart while polled, 55 µs after a sleep (past the window: a
   * rule fed the gaps seen after sleeping never polls again). The first
   * work starts a trial; it is kept. */
  double hit = simulate(&p, &t, 20 * US, 55 * US, 2000, &burned);
  EXPECT_MSG(hit > 0.99, "QD1 client: %.3f of requests found the loop polling", hit);
  EXPECT_EQ_U64(p.window_ns, PW_ADAPTIVE_MAX_NS);
  EXPECT_EQ_U64(p.trials, 1);
  EXPECT_EQ_U64(p.offs, 0);
  /* and from off (after a slow spell), it polls again within a trial's wait */
  pw_init(&p, &a);
  p.probe_at = t + 5 * MS;
  simulate(&p, &t, 20 * US, 55 * US, 100, &burned); /* off, waiting */
  hit = simulate(&p, &t, 20 * US, 55 * US, 1000, &burned);
  EXPECT_MSG(hit > 0.99, "after the wait: %.3f polled", hit);

  /* A slow client (1 ms apart): polling goes off after the first trial; the
   * trials that follow come 10, 20, 40... ms apart, up to 1 s. Over 20 s it
   * burns well under 1% of a core. */
  pw_init(&p, &a);
  uint64_t t0 = t;
  burned = 0;
  hit = simulate(&p, &t, MS, MS, 20000, &burned);
  EXPECT_MSG(hit == 0, "slow client: %.3f polled", hit);
  EXPECT_EQ_U64(p.window_ns, 0);
  EXPECT_MSG(burned * 100 < t - t0, "slow client: %llu ns polling in %llu ns",
             (unsigned long long)burned, (unsigned long long)(t - t0));
  EXPECT_MSG(p.trials >= 8 && p.trials <= 30, "%llu trials in 20 s (10 ms doubling to 1 s)",
             (unsigned long long)p.trials);
  EXPECT_EQ_U64(p.probe_ns, PW_PROBE_MAX_NS);
  EXPECT_EQ_U64(p.trials, p.offs);
  /* the same client turning fast: polling within the longest wait */
  uint64_t t1 = t;
  simulate(&p, &t, 20 * US, 55 * US, 25000, &burned); /* 1.4 s (55 µs each while off) */
  EXPECT_MSG(p.window_ns == PW_ADAPTIVE_MAX_NS, "fast again after %llu ms: window %llu ns",
             (unsigned long long)((t - t1) / MS), (unsigned long long)p.window_ns);
  hit = simulate(&p, &t, 20 * US, 55 * US, 1000, &burned);
  EXPECT_MSG(hit > 0.99, "fast again: %.3f polled", hit);
  EXPECT_EQ_U64(p.probe_ns, 0);

  /* Mostly fast, one request in three after 1 ms of thinking: most gaps
   * end inside the window, so polling stays on. */
  pw_init(&p, &a);
  int polled = 0;
  for (int i = 0; i < 3000; i++) {
    uint64_t b = 0;
    polled += simulate(&p, &t, i % 3 ? 20 * US : MS, i % 3 ? 55 * US : MS, 1, &b) > 0;
  }
  EXPECT_MSG(polled > 1900 && p.offs == 0, "mixed client: %d of 3000 polled, %llu times off",
             polled, (unsigned long long)p.offs);
  /* no connections: no polling, whatever the state */
  t = feed(&p, t, 10 * US, 1);
  EXPECT(!pw_next(&p, true, false, t + 1, &fake_env));
}

static void test_backoff(void) {
  struct poll_window p;
  struct pw_opts a = {PW_ADAPTIVE, PW_ADAPTIVE_MAX_NS};
  pw_init(&p, &a);
  fake_share = 1.0;
  uint64_t t = feed(&p, 1000, 10 * US, 20); /* busy: window > 0 */
  EXPECT(p.window_ns > 0);
  /* polling on uncrowded CPUs for a few check intervals: keeps polling */
  for (int i = 0; i < 400; i++) {
    t += 10 * US;
    EXPECT(pw_next(&p, true, true, t, &fake_env));
  }
  EXPECT_EQ_U64(p.backoffs, 0);
  /* one crowded check is not enough (a kworker passing by)... */
  fake_share = 0.6;
  t += PW_CHECK_NS;
  EXPECT(pw_next(&p, true, true, t, &fake_env));
  /* ...a second one in a row stops polling for PW_BACKOFF_MIN_NS */
  bool stopped = false;
  for (int i = 0; i < 200 && !stopped; i++) {
    t += 10 * US;
    stopped = !pw_next(&p, true, true, t, &fake_env);
  }
  EXPECT_MSG(stopped, "backs off at the next check");
  EXPECT_EQ_U64(p.backoffs, 1);
  EXPECT(!pw_next(&p, true, true, t + PW_BACKOFF_MIN_NS - 1, &fake_env));
  /* still crowded: the next back-off is twice as long */
  t += PW_BACKOFF_MIN_NS;
  for (int i = 0; i < 1000 && p.backoffs == 1; i++, t += 10 * US)
    pw_next(&p, true, true, t, &fake_env);
  EXPECT_EQ_U64(p.backoffs, 2);
  EXPECT_EQ_U64(p.backoff_ns, 2ull * PW_BACKOFF_MIN_NS);
  /* crowding over: polling resumes and the back-off resets */
  fake_share = 1.0;
  t = p.backoff_until;
  for (int i = 0; i < 400; i++, t += 10 * US)
    pw_next(&p, true, true, t, &fake_env);
  EXPECT(pw_next(&p, true, true, t, &fake_env));
  EXPECT_EQ_U64(p.backoff_ns, 0);
  EXPECT_EQ_U64(p.backoffs, 2);

  /* More tasks runnable than CPUs, the loop's own CPU share intact: with
   * one connection that is not the loop's doing (helpers, kworkers), with
   * two it is (two busy clients waiting for each other on the other CPU). */
  pw_init(&p, &a);
  t = feed(&p, t, 10 * US, 2); /* polling */
  fake_busy = true;
  for (int i = 0; i < 1000; i++) {
    t += 10 * US;
    EXPECT(pw_next(&p, true, 1, t, &fake_env));
  }
  EXPECT_EQ_U64(p.backoffs, 0);
  bool off = false;
  for (int i = 0; i < 250 && !off; i++) {
    t += 10 * US;
    off = !pw_next(&p, true, 2, t, &fake_env);
  }
  fake_busy = false;
  EXPECT_MSG(off && p.backoffs == 1, "two connections, crowded: backs off after two checks");

  /* A loop that slept between checks used no CPU meanwhile: that is not
   * crowding (each spell of polling takes a new base). Short bursts 5 ms
   * apart, never a back-off. */
  pw_init(&p, &a);
  for (int burst = 0; burst < 20; burst++) {
    t = feed(&p, t, 10 * US, 5);
    EXPECT(!pw_next(&p, false, true, t + PW_ADAPTIVE_MAX_NS, &fake_env)); /* sleeps */
    fake_share = 0.0;
    t += 5 * MS;
    fake_cpu(t);
    fake_share = 1.0;
  }
  EXPECT_EQ_U64(p.backoffs, 0);
}

/* Reads and writes through one connection, data checked (memory store). */
static void exercise(struct nbd_handle *nbd) {
  static char w[64 * 1024], r[64 * 1024];
  for (int i = 0; i < 200; i++) {
    memset(w, 'a' + i % 26, sizeof(w));
    uint64_t off = (uint64_t)(i % 16) * sizeof(w);
    if (nbd_pwrite(nbd, w, sizeof(w), off, 0) < 0 || nbd_pread(nbd, r, sizeof(r), off, 0) < 0) {
      EXPECT_MSG(false, "I/O %d: %s", i, nbd_get_error());
      return;
    }
    if (memcmp(w, r, sizeof(w))) {
      EXPECT_MSG(false, "read back what was written (I/O %d)", i);
      return;
    }
  }
}

/* The server's CPU over `ms` of idleness, in ticks. */
static long idle_cpu(struct harness *h, int ms) {
  long c0 = harness_cpu_ticks(h->pid);
  usleep((useconds_t)ms * 1000);
  long c1 = harness_cpu_ticks(h->pid);
  return c0 < 0 || c1 < 0 ? 1 << 20 : c1 - c0;
}

static void test_serves_and_idles(const char *mode) {
  struct harness h;
  long hz = sysconf(_SC_CLK_TCK);
  if (harness_init(&h) < 0 ||
      srv_start(&h, "--poll", mode, "size=16M", "memory_backed=1", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start --poll %s", mode);
    harness_cleanup(&h);
    return;
  }
  /* one connection alone first: a loop with one connection may poll its
   * socket's recv directly (poll_idle_cb) */
  struct nbd_handle *a = harness_connect(&h), *b = NULL;
  if (EXPECT(a != NULL)) {
    exercise(a);
    /* the loop sleeps after its window: the socket it polled directly (out
     * of epoll meanwhile) must wake it again */
    usleep(200 * 1000);
    exercise(a);
  }
  b = harness_connect(&h);
  if (EXPECT(a && b)) {
    exercise(a);
    exercise(b);
    /* Idle clients, still connected: a polling loop would burn ~2 s of CPU
     * here; allow 0.3 s (scheduling, sanitizer runtimes). */
    long t = idle_cpu(&h, 2000);
    EXPECT_MSG(t * 10 <= hz * 3, "--poll %s: idle clients cost %ld ticks of %ld/s over 2 s", mode,
               t, hz);
  }
  nbd_close(a);
  nbd_close(b);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

/* A 1 s fixed window: with no connection left the loop stops polling at
 * once, and SIGTERM does not wait for the window either. */
static void test_no_conns_and_shutdown(void) {
  struct harness h;
  long hz = sysconf(_SC_CLK_TCK);
  if (harness_init(&h) < 0 ||
      srv_start(&h, "--poll", "1000000", "size=16M", "memory_backed=1", (const char *)NULL) < 0) {
    EXPECT_MSG(false, "start --poll 1000000");
    harness_cleanup(&h);
    return;
  }
  struct nbd_handle *a = harness_connect(&h);
  if (EXPECT(a != NULL))
    exercise(a);
  nbd_close(a);
  long t = idle_cpu(&h, 1500);
  EXPECT_MSG(t * 10 <= hz * 3, "no connections: %ld ticks of %ld/s over 1.5 s", t, hz);
  /* again, and stop while the window is open and a client is connected */
  a = harness_connect(&h);
  if (EXPECT(a != NULL))
    exercise(a);
  long long t0 = harness_now_ms();
  EXPECT(harness_signal(&h, SIGTERM) == 0);
  while (!harness_exited(&h) && harness_now_ms() - t0 < 5000)
    usleep(5000);
  long long took = harness_now_ms() - t0;
  EXPECT_MSG(took < 900, "SIGTERM with a 1 s poll window open: exit after %lld ms", took);
  nbd_close(a);
  EXPECT_EQ_INT(harness_stop(&h), 0);
  harness_cleanup(&h);
}

static char out[400];
static bool output_has(const char *what) { return harness_file_has_or_show(out, what); }

static void test_cli(void) {
  struct harness h;
  if (harness_init(&h) < 0)
    return;
  snprintf(out, sizeof(out), "%s/out", h.dir);
  const char *help[] = {srv_path(), "--help", NULL};
  int st = harness_run((char *const *)help, out, 10);
  EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT(output_has("--poll"));
  EXPECT(output_has("adaptive"));
  const char *bad[] = {srv_path(), "-f", "--unix", h.sock, "--poll", "sometimes", NULL};
  st = harness_run((char *const *)bad, out, 10);
  EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
  EXPECT(output_has("--poll sometimes"));
  const char *big[] = {srv_path(), "-f", "--unix", h.sock, "--poll", "2000000", NULL};
  st = harness_run((char *const *)big, out, 10);
  EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
  EXPECT(output_has("0 to 1000000"));
  harness_cleanup(&h);
}

int main(void) {
  test_parse();
  test_off_and_fixed();
  test_adaptive();
  test_backoff();
  test_cli();
  test_serves_and_idles("adaptive");
  test_serves_and_idles("100");
  test_serves_and_idles("off");
  test_no_conns_and_shutdown();
  return expect_result("server_poll");
}
