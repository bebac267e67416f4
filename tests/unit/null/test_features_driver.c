/* null_blk's features through the null driver, on a virtual clock:
 * memory store round trips, timeout / requeue / error faults, bad blocks,
 * mbps throttling, discard=0, zone keys, stats. Submission goes through
 * rnull_submit and completions are driven with rnull_hctx_run, as a front
 * end does. */
#include <stdlib.h>

#include "fixture.h"
#include "null/throttle.h"

#define MS 1000000ull
#define KiB 1024u
#define MiB (1024u * 1024u)

static struct rnull_disk *disk;
static struct rnull_hctx *hq;

static void up(const char *const *kv) {
  vclock_ns = 1000000000ull; /* before add: the throttle starts from it */
  disk = make_disk(kv, NULL, NULL);
  hq = rnull_disk_hctx(disk, 0);
  ck_assert_ptr_nonnull(hq);
}

static void down(void) {
  rnull_disk_destroy(disk);
  disk = NULL;
}

static int submit(enum rnull_op op, uint64_t off, uint32_t len, void *buf, uintptr_t cookie,
                  uint32_t flags) {
  struct rnull_io io = {
      .op = op, .flags = flags, .offset = off, .len = len, .buf = buf, .cookie = (void *)cookie};
  return rnull_submit(hq, &io, RNULL_SUBMIT_LAST);
}

/* Submit one I/O and return its status; it must end without any run. */
static int io_now(enum rnull_op op, uint64_t off, uint32_t len, void *buf, uint32_t *done) {
  unsigned before = atomic_load(&nr_ends);
  ck_assert_int_eq(submit(op, off, len, buf, 0xC0DE, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), before + 1);
  if (done)
    *done = ends[before].flags;
  return ends[before].status;
}

static struct rnull_stats stats(void) {
  struct rnull_stats s;
  rnull_disk_stats(disk, &s);
  return s;
}

static void pattern(uint8_t *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    b[i] = (uint8_t)(seed * 31 + i * 13 + (i >> 8));
}

/* ---- memory store through the driver ---- */

START_TEST(memory_round_trip_at_many_offsets) {
  const char *kv[] = {"memory_backed=1", "size=64M", "blocksize=512", NULL};
  up(kv);
  static uint8_t in[64 * KiB], out[64 * KiB];
  uint64_t offs[] = {0, 512, 4096 - 512, 65536 + 1024, 32 * MiB - 512, 64 * MiB - 64 * KiB};
  for (unsigned i = 0; i < 6; i++) {
    pattern(in, sizeof in, i);
    ck_assert_int_eq(io_now(RNULL_OP_WRITE, offs[i], sizeof in, in, NULL), 0);
    uint32_t done = 0;
    memset(out, 0xEE, sizeof out);
    ck_assert_int_eq(io_now(RNULL_OP_READ, offs[i], sizeof out, out, &done), 0);
    ck_assert_uint_eq(done & RNULL_DONE_ZERO, 0);
    ck_assert_mem_eq(in, out, sizeof in);
  }
  /* the last block alone */
  pattern(in, 512, 77);
  ck_assert_int_eq(io_now(RNULL_OP_WRITE, 64 * MiB - 512, 512, in, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 64 * MiB - 512, 512, out, NULL), 0);
  ck_assert_mem_eq(in, out, 512);
  struct rnull_stats s = stats();
  ck_assert_uint_eq(s.bytes_written, 6 * sizeof in + 512);
  ck_assert_uint_eq(s.bytes_read, 6 * sizeof out + 512);
  ck_assert_uint_eq(s.errors, 0);
  down();
}
END_TEST

START_TEST(memory_hole_reads_report_zero) {
  const char *kv[] = {"memory_backed=1", "size=16M", NULL};
  up(kv);
  uint8_t out[8192];
  uint32_t done = 0;
  memset(out, 0xEE, sizeof out);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 4096, sizeof out, out, &done), 0);
  ck_assert(done & RNULL_DONE_ZERO); /* buf not written: the front end zeroes */
  ck_assert(!rnull_disk_reads_zero(disk));
  down();
}
END_TEST

START_TEST(memory_trim_and_zero_then_extents) {
  const char *kv[] = {"memory_backed=1", "size=16M", NULL};
  up(kv);
  static uint8_t in[64 * KiB], out[64 * KiB];
  pattern(in, sizeof in, 3);
  ck_assert_int_eq(io_now(RNULL_OP_WRITE, MiB, sizeof in, in, NULL), 0);
  uint64_t n;
  bool hole;
  ck_assert_int_eq(rnull_disk_extent(disk, 0, 16 * MiB, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, MiB);
  ck_assert_int_eq(rnull_disk_extent(disk, MiB, 15 * MiB, &n, &hole), 0);
  ck_assert(!hole);
  ck_assert_uint_eq(n, sizeof in);
  /* trim the first 16 KiB, write zeroes (unmap) the next 16 KiB, write
   * zeroes NOUNMAP the next 16 KiB: all read zeros; the first two are holes */
  ck_assert_int_eq(io_now(RNULL_OP_DISCARD, MiB, 16 * KiB, NULL, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_WRITE_ZEROES, MiB + 16 * KiB, 16 * KiB, NULL, NULL), 0);
  ck_assert_int_eq(
      submit(RNULL_OP_WRITE_ZEROES, MiB + 32 * KiB, 16 * KiB, NULL, 9, RNULL_IO_NOUNMAP), 0);
  ck_assert_int_eq(ends[atomic_load(&nr_ends) - 1].status, 0);
  ck_assert_int_eq(io_now(RNULL_OP_READ, MiB, sizeof out, out, NULL), 0);
  for (unsigned i = 0; i < 48 * KiB; i++)
    ck_assert_uint_eq(out[i], 0);
  ck_assert_mem_eq(out + 48 * KiB, in + 48 * KiB, 16 * KiB);
  ck_assert_int_eq(rnull_disk_extent(disk, MiB, 15 * MiB, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, 32 * KiB);
  ck_assert_int_eq(rnull_disk_extent(disk, MiB + 32 * KiB, 15 * MiB, &n, &hole), 0);
  ck_assert(!hole);
  ck_assert_uint_eq(n, 32 * KiB);
  down();
}
END_TEST

START_TEST(null_store_reads_zero_and_is_all_hole) {
  up(NULL);
  uint8_t buf[4096];
  uint32_t done = 0;
  memset(buf, 1, sizeof buf);
  ck_assert_int_eq(io_now(RNULL_OP_WRITE, 0, sizeof buf, buf, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 0, sizeof buf, buf, &done), 0);
  ck_assert(done & RNULL_DONE_ZERO);
  uint64_t n;
  bool hole;
  ck_assert_int_eq(rnull_disk_extent(disk, 0, rnull_disk_size(disk), &n, &hole), 0);
  ck_assert(hole);
  down();
}
END_TEST

/* ---- fault injection ---- */

START_TEST(error_fault_exact_count) {
  /* error=1,100,0,5: the first 5 requests end with EIO, the rest succeed. */
  const char *kv[] = {"error=1,100,0,5", "fault_seed=1", NULL};
  up(kv);
  for (unsigned i = 0; i < 20; i++)
    ck_assert_int_eq(io_now(RNULL_OP_READ, i * 4096ull, 4096, NULL, NULL), i < 5 ? -EIO : 0);
  struct rnull_stats s = stats();
  ck_assert_uint_eq(s.submitted, 20);
  ck_assert_uint_eq(s.completed, 20);
  ck_assert_uint_eq(s.errors, 5);
  ck_assert_uint_eq(s.bytes_read, 15 * 4096);
  down();
}
END_TEST

START_TEST(error_fault_interval) {
  const char *kv[] = {"error=4,100,0,-1", NULL};
  up(kv);
  for (unsigned i = 1; i <= 40; i++)
    ck_assert_int_eq(io_now(RNULL_OP_READ, 0, 4096, NULL, NULL), i % 4 == 0 ? -EIO : 0);
  ck_assert_uint_eq(stats().errors, 10);
  down();
}
END_TEST

static unsigned error_pattern(const char *seed, bool *fails, unsigned n) {
  const char *kv[] = {"error=1,30,0,-1", seed, NULL};
  up(kv);
  unsigned c = 0;
  for (unsigned i = 0; i < n; i++) {
    fails[i] = io_now(RNULL_OP_READ, 0, 4096, NULL, NULL) == -EIO;
    c += fails[i];
  }
  ck_assert_uint_eq(stats().errors, c);
  down();
  return c;
}

START_TEST(error_fault_probability_is_reproducible) {
  static bool a[1000], b[1000];
  unsigned n1 = error_pattern("fault_seed=4242", a, 1000);
  unsigned n2 = error_pattern("fault_seed=4242", b, 1000);
  ck_assert_uint_eq(n1, n2);
  ck_assert_mem_eq(a, b, sizeof a);
  ck_assert_uint_ge(n1, 200); /* 30% of 1000, generously */
  ck_assert_uint_le(n1, 400);
}
END_TEST

START_TEST(timeout_fault_ends_with_etimedout_after_timeout_ms) {
  const char *kv[] = {"timeout=1,100,0,1", "timeout_ms=200", NULL};
  up(kv);
  uint64_t t0 = vclock_ns;
  ck_assert_int_eq(submit(RNULL_OP_READ, 0, 4096, NULL, 1, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0); /* lost by the driver */
  ck_assert_uint_eq(rnull_hctx_inflight(hq), 1);
  ck_assert_uint_eq(rnull_hctx_next_deadline(hq), t0 + 200 * MS);
  /* one nanosecond early: nothing */
  vclock_ns = t0 + 200 * MS - 1;
  ck_assert_uint_eq(rnull_hctx_run(hq, vclock_ns), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  /* due: ended by the timeout handler with -ETIMEDOUT */
  vclock_ns = t0 + 200 * MS;
  ck_assert_uint_eq(rnull_hctx_run(hq, vclock_ns), 1);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(ends[0].cookie, 1);
  ck_assert_int_eq(ends[0].status, -ETIMEDOUT);
  struct rnull_stats s = stats();
  ck_assert_uint_eq(s.timeouts, 1);
  ck_assert_uint_eq(s.errors, 1);
  ck_assert_uint_eq(s.completed, 1);
  ck_assert_uint_eq(rnull_hctx_inflight(hq), 0);
  ck_assert_uint_eq(rnull_hctx_next_deadline(hq), RNULL_NO_DEADLINE);
  /* times=1 is spent: the next request is served at once */
  ck_assert_int_eq(io_now(RNULL_OP_READ, 0, 4096, NULL, NULL), 0);
  ck_assert_uint_eq(stats().timeouts, 1);
  down();
}
END_TEST

START_TEST(timeout_fault_with_deferred_completion) {
  /* softirq mode: the lost request still times out; a served one completes
   * at the commit. */
  const char *kv[] = {"timeout=2,100,0,-1", "timeout_ms=50", "irqmode=softirq", NULL};
  up(kv);
  uint64_t t0 = vclock_ns;
  ck_assert_int_eq(submit(RNULL_OP_READ, 0, 4096, NULL, 1, 0), 0); /* served */
  ck_assert_int_eq(submit(RNULL_OP_READ, 0, 4096, NULL, 2, 0), 0); /* lost */
  ck_assert_uint_eq(rnull_hctx_commit(hq), 1);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(ends[0].cookie, 1);
  ck_assert_int_eq(ends[0].status, 0);
  vclock_ns = t0 + 50 * MS;
  ck_assert_uint_eq(rnull_hctx_run(hq, vclock_ns), 1);
  ck_assert_uint_eq(ends[1].cookie, 2);
  ck_assert_int_eq(ends[1].status, -ETIMEDOUT);
  ck_assert_uint_eq(stats().timeouts, 1);
  down();
}
END_TEST

START_TEST(requeue_fault_requeues_once_then_serves) {
  const char *kv[] = {"requeue=1,100,0,-1", "memory_backed=1", "size=16M", NULL};
  up(kv);
  uint8_t in[4096], out[4096];
  pattern(in, sizeof in, 5);
  ck_assert_int_eq(submit(RNULL_OP_WRITE, 8192, sizeof in, in, 1, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0); /* requeued, not ended */
  ck_assert_uint_eq(stats().requeues, 1);
  ck_assert_uint_le(rnull_hctx_next_deadline(hq), vclock_ns); /* due now */
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_int_eq(ends[0].status, 0);
  /* the read is requeued once too, then returns the data written */
  memset(out, 0, sizeof out);
  ck_assert_int_eq(submit(RNULL_OP_READ, 8192, sizeof out, out, 2, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), 2);
  ck_assert_int_eq(ends[1].status, 0);
  ck_assert_mem_eq(in, out, sizeof in);
  struct rnull_stats s = stats();
  ck_assert_uint_eq(s.requeues, 2);
  ck_assert_uint_eq(s.errors, 0);
  ck_assert_uint_eq(s.completed, 2);
  down();
}
END_TEST

START_TEST(requeue_fault_times) {
  /* times=3: exactly 3 of 10 requests are requeued (all succeed). */
  const char *kv[] = {"requeue=1,100,0,3", NULL};
  up(kv);
  for (unsigned i = 0; i < 10; i++)
    ck_assert_int_eq(submit(RNULL_OP_READ, 0, 4096, NULL, i, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 7);
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), 10);
  for (unsigned i = 0; i < 10; i++)
    ck_assert_int_eq(ends[i].status, 0);
  ck_assert_uint_eq(stats().requeues, 3);
  down();
}
END_TEST

/* ---- bad blocks ---- */

START_TEST(badblocks_fail_exactly_their_range) {
  const char *kv[] = {"blocksize=512", "size=1M", "badblocks=100-199,1000-1000", NULL};
  up(kv);
  uint8_t buf[4096] = {0};
  ck_assert_int_eq(io_now(RNULL_OP_READ, 99 * 512, 512, buf, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 100 * 512, 512, buf, NULL), -EIO);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 199 * 512, 512, buf, NULL), -EIO);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 200 * 512, 512, buf, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 96 * 512, 4096, buf, NULL), -EIO); /* 96..103 */
  ck_assert_int_eq(io_now(RNULL_OP_READ, 92 * 512, 8 * 512, buf, NULL), 0); /* 92..99 */
  ck_assert_int_eq(io_now(RNULL_OP_READ, 999 * 512, 512, buf, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 1000 * 512, 512, buf, NULL), -EIO);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 1001 * 512, 512, buf, NULL), 0);
  /* writes fail too (null store: no remapping) */
  ck_assert_int_eq(io_now(RNULL_OP_WRITE, 150 * 512, 512, buf, NULL), -EIO);
  ck_assert_int_eq(io_now(RNULL_OP_WRITE, 0, 100 * 512, NULL, NULL), 0); /* 0..99 */
  /* trims, zeroes and flushes are not checked against bad blocks */
  ck_assert_int_eq(io_now(RNULL_OP_DISCARD, 100 * 512, 512, NULL, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_FLUSH, 0, 0, NULL, NULL), 0);
  ck_assert_uint_eq(stats().errors, 5);
  down();
}
END_TEST

START_TEST(badblocks_memory_write_covering_range_clears_it) {
  /* With memory_backed=1 a write that covers every bad range it touches
   * remaps them: it succeeds and the sectors read back what was written.
   * A write touching a bad range only partly still fails. */
  const char *kv[] = {"blocksize=512", "size=1M", "memory_backed=1", "badblocks=100-103,200-299",
                      NULL};
  up(kv);
  static uint8_t in[64 * KiB], out[64 * KiB];
  pattern(in, sizeof in, 1);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 100 * 512, 512, out, NULL), -EIO);
  ck_assert_int_eq(io_now(RNULL_OP_WRITE, 250 * 512, 512, in, NULL), -EIO); /* partial */
  ck_assert_int_eq(io_now(RNULL_OP_WRITE, 96 * 512, 8 * 512, in, NULL), 0); /* 96..103 */
  ck_assert_int_eq(io_now(RNULL_OP_READ, 100 * 512, 4 * 512, out, NULL), 0);
  ck_assert_mem_eq(out, in + 4 * 512, 4 * 512);
  /* 200-299 is still bad */
  ck_assert_int_eq(io_now(RNULL_OP_READ, 299 * 512, 512, out, NULL), -EIO);
  ck_assert_int_eq(io_now(RNULL_OP_WRITE, 200 * 512, 100 * 512, in, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 200 * 512, 100 * 512, out, NULL), 0);
  ck_assert_mem_eq(out, in, 100 * 512);
  down();
}
END_TEST

START_TEST(badblocks_once_fails_one_io) {
  const char *kv[] = {"blocksize=512", "size=1M", "badblocks=100-199", "badblocks_once=1", NULL};
  up(kv);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 150 * 512, 512, NULL, NULL), -EIO);
  /* the whole range is now good, not just sector 150 */
  ck_assert_int_eq(io_now(RNULL_OP_READ, 150 * 512, 512, NULL, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_READ, 100 * 512, 100 * 512, NULL, NULL), 0);
  ck_assert_uint_eq(stats().errors, 1);
  down();
}
END_TEST

START_TEST(badblocks_past_the_end_are_refused) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN] = "";
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "size=1M", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "badblocks=2040-2048", err, sizeof err), 0);
  struct rnull_disk *d = NULL;
  ck_assert_int_eq(rnull_null_disk_create(&d, &cfg, err, sizeof err), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "badblocks"));
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "badblocks=20-10", err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "badblocks=abc", err, sizeof err), -EINVAL);
}
END_TEST

/* ---- mbps ---- */

START_TEST(mbps_holds_requests_in_virtual_time) {
  /* mbps=1: 1 MiB/s. Whatever the burst B, reads submitted back to back at
   * t0 pass without waiting while the total stays within B; the request
   * that overdraws waits until the excess is paid at 1 MiB/s. */
  const char *kv[] = {"mbps=1", NULL};
  up(kv);
  uint64_t t0 = vclock_ns;
  unsigned sent = 0;
  uint64_t bytes = 0;
  /* drain the bucket with 64 KiB reads that end at once */
  while (atomic_load(&nr_ends) == sent && sent < 1000) {
    ck_assert_int_eq(submit(RNULL_OP_READ, 0, 64 * KiB, NULL, sent, 0), 0);
    sent++;
    bytes += 64 * KiB;
  }
  ck_assert_uint_lt(sent, 1000);
  ck_assert_uint_eq(atomic_load(&nr_ends), sent - 1); /* the last one is held */
  uint64_t burst = bytes - 64 * KiB;                  /* what passed at once */
  ck_assert_uint_ge(burst, 64 * KiB);
  uint64_t due = rnull_hctx_next_deadline(hq);
  /* it waits for what it overdrew: bytes - burst_exact <= 64 KiB at 1 MiB/s */
  ck_assert_uint_gt(due, t0);
  ck_assert_uint_le(due, t0 + 64 * KiB * 1000000000ull / MiB + 1);
  vclock_ns = due - 1;
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), sent - 1);
  vclock_ns = due;
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), sent);
  ck_assert_int_eq(ends[sent - 1].status, 0);
  /* the next 64 KiB at the same instant waits a full 64 KiB / (1 MiB/s) */
  ck_assert_int_eq(submit(RNULL_OP_READ, 0, 64 * KiB, NULL, 5000, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), sent);
  uint64_t due2 = rnull_hctx_next_deadline(hq);
  uint64_t expect = due + 64ull * KiB * 1000000000ull / MiB;
  ck_assert_msg(due2 + 1 >= expect && due2 <= expect + 1, "due2 %llu expected %llu",
                (unsigned long long)due2, (unsigned long long)expect);
  vclock_ns = due2;
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), sent + 1);
  ck_assert_uint_eq(stats().errors, 0);
  down();
}
END_TEST

START_TEST(mbps_does_not_hold_flush_or_trim) {
  const char *kv[] = {"mbps=1", NULL};
  up(kv);
  /* overdraw the bucket: a 32 MiB read waits ~30 s */
  ck_assert_int_eq(submit(RNULL_OP_READ, 0, 32 * MiB, NULL, 1, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  ck_assert_int_eq(io_now(RNULL_OP_FLUSH, 0, 0, NULL, NULL), 0);
  ck_assert_int_eq(io_now(RNULL_OP_DISCARD, 0, 32 * MiB, NULL, NULL), 0);
  ck_assert_uint_gt(rnull_hctx_next_deadline(hq), vclock_ns + 1000 * MS);
  /* Requests wait, they are not failed: held ~31 s, longer than the 30 s
   * default timeout_ms, the read still succeeds (its timeout starts when
   * it is dispatched, as blk-mq's starts at blk_mq_start_request). */
  for (unsigned i = 0; i < 10 && atomic_load(&nr_ends) < 3; i++) {
    uint64_t dl = rnull_hctx_next_deadline(hq);
    ck_assert_uint_ne(dl, RNULL_NO_DEADLINE);
    ck_assert_uint_gt(dl, vclock_ns); /* never a deadline in the past: no spinning */
    vclock_ns = dl;
    rnull_hctx_run(hq, vclock_ns);
  }
  ck_assert_uint_eq(atomic_load(&nr_ends), 3);
  ck_assert_uint_eq(ends[2].cookie, 1);
  ck_assert_int_eq(ends[2].status, 0);
  ck_assert_uint_eq(stats().timeouts, 0);
  ck_assert_uint_eq(rnull_hctx_next_deadline(hq), RNULL_NO_DEADLINE);
  down();
}
END_TEST

START_TEST(mbps_timeout_starts_at_dispatch) {
  /* A throttled request that the driver then loses (timeout fault) times
   * out timeout_ms after it was dispatched, not after it was submitted. */
  const char *kv[] = {"mbps=1", "timeout=2,100,0,-1", "timeout_ms=100", NULL};
  up(kv);
  uint64_t t0 = vclock_ns;
  /* 1: a read of exactly the burst goes at once and is served (interval=2:
   * only every 2nd dispatch loses its request) */
  struct rnull_throttle probe;
  rnull_throttle_init(&probe, 1, 0); /* the burst the disk's bucket has */
  uint32_t burst = (uint32_t)probe.burst;
  rnull_throttle_destroy(&probe);
  ck_assert_int_eq(submit(RNULL_OP_READ, 0, burst, NULL, 1, 0), 0);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_int_eq(ends[0].status, 0);
  /* 2: 256 KiB wait 250 ms for budget (longer than timeout_ms), then are
   * dispatched and lost */
  ck_assert_int_eq(submit(RNULL_OP_READ, 0, 256 * KiB, NULL, 2, 0), 0);
  uint64_t due = rnull_hctx_next_deadline(hq);
  ck_assert_uint_eq(due, t0 + 250 * MS);
  vclock_ns = t0 + 100 * MS; /* submitted + timeout_ms: held, not timed out */
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  ck_assert_uint_eq(stats().timeouts, 0);
  vclock_ns = due;
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1); /* dispatched, lost */
  ck_assert_uint_eq(rnull_hctx_next_deadline(hq), due + 100 * MS);
  vclock_ns = due + 100 * MS - 1;
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), 1);
  vclock_ns = due + 100 * MS;
  rnull_hctx_run(hq, vclock_ns);
  ck_assert_uint_eq(atomic_load(&nr_ends), 2);
  ck_assert_int_eq(ends[1].status, -ETIMEDOUT);
  ck_assert_uint_eq(stats().timeouts, 1);
  down();
}
END_TEST

/* ---- options ---- */

START_TEST(discard_off_refuses_trim) {
  const char *kv[] = {"discard=0", NULL};
  up(kv);
  ck_assert(!rnull_disk_can_discard(disk));
  ck_assert_int_eq(submit(RNULL_OP_DISCARD, 0, 4096, NULL, 1, 0), -ENOTSUP);
  ck_assert_uint_eq(atomic_load(&nr_ends), 0);
  /* write zeroes is still there */
  ck_assert_int_eq(io_now(RNULL_OP_WRITE_ZEROES, 0, 4096, NULL, NULL), 0);
  down();
}
END_TEST

START_TEST(zone_keys_rejected_with_a_clear_message) {
  const char *keys[] = {"zoned",        "zone_size",     "zone_capacity",
                        "zone_nr_conv", "zone_max_open", "zone_max_active"};
  for (unsigned i = 0; i < 6; i++) {
    struct rnull_config cfg;
    char err[RNULL_ERR_LEN] = "";
    rnull_config_init(&cfg);
    ck_assert_int_ne(rnull_config_set(&cfg, keys[i], "1", err, sizeof err), 0);
    ck_assert_msg(strstr(err, keys[i]) && strstr(err, "zone"), "%s: %s", keys[i], err);
  }
}
END_TEST

Suite *features_suite(void) {
  Suite *s = suite_create("features_driver");
  TCase *m = new_tcase("memory");
  tcase_add_test(m, memory_round_trip_at_many_offsets);
  tcase_add_test(m, memory_hole_reads_report_zero);
  tcase_add_test(m, memory_trim_and_zero_then_extents);
  tcase_add_test(m, null_store_reads_zero_and_is_all_hole);
  suite_add_tcase(s, m);
  TCase *f = new_tcase("faults");
  tcase_add_test(f, error_fault_exact_count);
  tcase_add_test(f, error_fault_interval);
  tcase_add_test(f, error_fault_probability_is_reproducible);
  tcase_add_test(f, timeout_fault_ends_with_etimedout_after_timeout_ms);
  tcase_add_test(f, timeout_fault_with_deferred_completion);
  tcase_add_test(f, requeue_fault_requeues_once_then_serves);
  tcase_add_test(f, requeue_fault_times);
  suite_add_tcase(s, f);
  TCase *b = new_tcase("badblocks");
  tcase_add_test(b, badblocks_fail_exactly_their_range);
  tcase_add_test(b, badblocks_memory_write_covering_range_clears_it);
  tcase_add_test(b, badblocks_once_fails_one_io);
  tcase_add_test(b, badblocks_past_the_end_are_refused);
  suite_add_tcase(s, b);
  TCase *t = new_tcase("throttle");
  tcase_add_test(t, mbps_holds_requests_in_virtual_time);
  tcase_add_test(t, mbps_does_not_hold_flush_or_trim);
  tcase_add_test(t, mbps_timeout_starts_at_dispatch);
  suite_add_tcase(s, t);
  TCase *o = new_tcase("options");
  tcase_add_test(o, discard_off_refuses_trim);
  tcase_add_test(o, zone_keys_rejected_with_a_clear_message);
  suite_add_tcase(s, o);
  return s;
}

int main(void) { return run_suite(features_suite()); }
