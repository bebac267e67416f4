/* The write log (log_writes=PATH), read back with a reader written from
 * dm-log-writes' documentation (tests/tools/log_reader.c): the super block,
 * the entries' order (FUA at once, writes at the next flush, trims as
 * DISCARD, write zeroes as writes of zeros, marks at once, the end mark at
 * power off), a replay to a mark or a flush giving the disk's content at
 * that point, back-pressure past the ring without a flush, writers on two
 * threads, and a failed log write (EFBIG past RLIMIT_FSIZE, ENOSPC on
 * /dev/full) failing the disk's writes with EIO. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fixture.h"
#include "log_reader.h"

static char dir[64], logpath[128], imgpath[128];

static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/rnull-logw-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(logpath, sizeof logpath, "%s/log", dir);
  snprintf(imgpath, sizeof imgpath, "%s/img", dir);
}

static void teardown(void) {
  unlink(logpath);
  unlink(imgpath);
  rmdir(dir);
}

static struct rnull_disk *logged_disk(const char *size, const char *extra1, const char *extra2) {
  char kv_log[200], kv_size[32];
  snprintf(kv_log, sizeof kv_log, "log_writes=%s", logpath);
  snprintf(kv_size, sizeof kv_size, "size=%s", size);
  const char *kv[] = {kv_size, "memory_backed=1", kv_log, extra1, extra2, NULL};
  return make_disk(kv, NULL, NULL);
}

/* One request on hw queue h (direct completion): its status. */
static int io_on(struct rnull_disk *d, unsigned h, enum rnull_op op, uint64_t off, uint32_t len,
                 void *buf, uint32_t flags) {
  struct rnull_io r = {
      .op = op, .offset = off, .len = len, .buf = buf, .flags = flags, .cookie = (void *)1};
  int s = rnull_submit(rnull_disk_hctx(d, h), &r, 0);
  return s < 0 ? s : 0;
}

static int wr(struct rnull_disk *d, uint64_t off, uint32_t len, int pattern, uint32_t flags) {
  uint8_t *b = malloc(len);
  memset(b, pattern, len);
  unsigned e = atomic_load(&nr_ends);
  int s = io_on(d, 0, RNULL_OP_WRITE, off, len, b, flags);
  free(b);
  return s ? s : ends[e].status;
}

static int op(struct rnull_disk *d, enum rnull_op o, uint64_t off, uint32_t len, uint32_t flags) {
  unsigned e = atomic_load(&nr_ends);
  int s = io_on(d, 0, o, off, len, NULL, flags);
  return s ? s : ends[e].status;
}

/* The disk's whole content, as reads see it. */
static uint8_t *content(struct rnull_disk *d, uint64_t size) {
  uint8_t *b = calloc(1, size);
  for (uint64_t off = 0; off < size; off += 1 << 20) {
    unsigned e = atomic_load(&nr_ends);
    ck_assert_int_eq(io_on(d, 0, RNULL_OP_READ, off, 1 << 20, b + off, 0), 0);
    ck_assert_int_eq(ends[e].status, 0);
    if (ends[e].flags & RNULL_DONE_ZERO)
      memset(b + off, 0, 1 << 20);
  }
  return b;
}

/* Replay the log to a fresh zero image of size bytes; the image's bytes. */
static uint8_t *replay(uint64_t size, const char *mark, long flush, long *entries) {
  FILE *f = fopen(imgpath, "w+b");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(ftruncate(fileno(f), (off_t)size), 0);
  fclose(f);
  char err[512];
  long n = lr_replay(logpath, imgpath, mark, flush, err, sizeof err);
  ck_assert_msg(n >= 0, "replay: %s", err);
  if (entries)
    *entries = n;
  uint8_t *b = malloc(size);
  f = fopen(imgpath, "rb");
  ck_assert_uint_eq(fread(b, 1, size, f), size);
  fclose(f);
  return b;
}

struct want {
  uint64_t sector, nr, flags;
  const char *mark;
};

static void expect_entries(const struct want *w, size_t n) {
  struct lr_log l;
  struct lr_entry e;
  char err[256];
  ck_assert_msg(lr_open(&l, logpath, err, sizeof err) == 0, "%s", err);
  ck_assert_uint_eq(l.sectorsize, 4096);
  ck_assert_uint_eq(l.nr_entries, n);
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(lr_next(&l, &e, err, sizeof err) == 1, "entry %zu: %s", i, err);
    ck_assert_msg(e.sector == w[i].sector && e.nr_sectors == w[i].nr && e.flags == w[i].flags,
                  "entry %zu: sector %llu nr %llu flags %llu, wanted %llu %llu %llu", i,
                  (unsigned long long)e.sector, (unsigned long long)e.nr_sectors,
                  (unsigned long long)e.flags, (unsigned long long)w[i].sector,
                  (unsigned long long)w[i].nr, (unsigned long long)w[i].flags);
    if (w[i].mark)
      ck_assert_str_eq(e.mark, w[i].mark);
    if (!(e.flags & LR_DISCARD))
      l.next += e.nr_sectors * l.sectorsize;
  }
  ck_assert_int_eq(lr_next(&l, &e, err, sizeof err), 0);
  lr_close(&l);
}

START_TEST(entries_come_in_dm_log_writes_order) {
  struct rnull_disk *d = logged_disk("4M", "cache_size=1M", NULL);
  char err[RNULL_ERR_LEN];
  ck_assert_int_eq(wr(d, 0, 4096, 1, 0), 0);                /* a: at the flush */
  ck_assert_int_eq(wr(d, 8192, 8192, 2, 0), 0);             /* b: at the flush */
  ck_assert_int_eq(wr(d, 65536, 4096, 3, RNULL_IO_FUA), 0); /* c: FUA, at once */
  ck_assert_int_eq(op(d, RNULL_OP_FLUSH, 0, 0, 0), 0);
  ck_assert_int_eq(rnull_null_disk_log_mark(d, "m1", err, sizeof err), 0);
  /* the mark is in the file when the call returns, with the super block */
  const struct want at_mark[] = {
      {16, 1, LR_FUA, NULL},  {0, 1, 0, NULL},       {2, 2, 0, NULL},
      {0, 0, LR_FLUSH, NULL}, {0, 0, LR_MARK, "m1"},
  };
  expect_entries(at_mark, 5);
  struct rnull_null_log_stats st;
  ck_assert_int_eq(rnull_null_disk_log_stats(d, &st), 0);
  ck_assert_uint_eq(st.entries, 5);
  ck_assert_int_eq(st.error, 0);
  ck_assert_int_eq(wr(d, 0, 4096, 4, 0), 0);
  ck_assert_int_eq(op(d, RNULL_OP_DISCARD, 8192, 4096, 0), 0);
  ck_assert_int_eq(op(d, RNULL_OP_WRITE_ZEROES, 65536, 8192, 0), 0);
  rnull_disk_destroy(d); /* power off: the pending ones, then the end mark */
  const struct want all[] = {
      {16, 1, LR_FUA, NULL},    {0, 1, 0, NULL},       {2, 2, 0, NULL},
      {0, 0, LR_FLUSH, NULL},   {0, 0, LR_MARK, "m1"}, {0, 1, 0, NULL},
      {2, 1, LR_DISCARD, NULL}, {16, 2, 0, NULL},      {0, 0, LR_MARK, "dm-log-writes-end"},
  };
  expect_entries(all, 9);
}
END_TEST

START_TEST(replay_to_a_mark_is_the_disk_at_the_mark) {
  const uint64_t size = 4 << 20;
  struct rnull_disk *d = logged_disk("4M", NULL, NULL);
  char err[RNULL_ERR_LEN];
  for (int i = 0; i < 64; i++)
    ck_assert_int_eq(wr(d, (uint64_t)(i * 7 % 64) * 65536, 4096 * (1 + i % 5), 0x10 + i, 0), 0);
  ck_assert_int_eq(op(d, RNULL_OP_WRITE_ZEROES, 3 * 65536, 65536, 0), 0);
  ck_assert_int_eq(op(d, RNULL_OP_DISCARD, 5 * 65536, 8192, 0), 0);
  ck_assert_int_eq(op(d, RNULL_OP_FLUSH, 0, 0, 0), 0);
  ck_assert_int_eq(rnull_null_disk_log_mark(d, "after flush", err, sizeof err), 0);
  uint8_t *at_mark = content(d, size);
  for (int i = 0; i < 64; i++)
    ck_assert_int_eq(
        wr(d, (uint64_t)(i * 11 % 64) * 65536, 4096, 0x80 + i, i % 3 ? 0 : RNULL_IO_FUA), 0);
  ck_assert_int_eq(op(d, RNULL_OP_FLUSH, 0, 0, 0), 0);
  uint8_t *at_end = content(d, size);
  rnull_disk_destroy(d);
  uint8_t *img = replay(size, "after flush", 0, NULL);
  ck_assert_msg(memcmp(img, at_mark, size) == 0, "replay to the mark differs from the disk");
  free(img);
  img = replay(size, NULL, 2, NULL); /* the second flush: the disk at the end */
  ck_assert_msg(memcmp(img, at_end, size) == 0, "replay to flush 2 differs from the disk");
  free(img);
  free(at_mark);
  free(at_end);
}
END_TEST

/* 48 MiB of writes with no flush: more than the 16 MiB ring; requests wait
 * for the writer (records wait for their flush in the spill file). */
START_TEST(writes_past_the_ring_without_a_flush_wait_not_drop) {
  const uint64_t size = 64 << 20;
  struct rnull_disk *d = logged_disk("64M", NULL, NULL);
  for (int i = 0; i < 48; i++)
    ck_assert_int_eq(wr(d, (uint64_t)i << 20, 1 << 20, i + 1, 0), 0);
  ck_assert_int_eq(op(d, RNULL_OP_FLUSH, 0, 0, 0), 0);
  uint8_t *want = content(d, size);
  rnull_disk_destroy(d);
  long n;
  uint8_t *img = replay(size, NULL, 1, &n);
  ck_assert_int_eq(n, 49);
  ck_assert(memcmp(img, want, size) == 0);
  free(img);
  free(want);
}
END_TEST

struct thr {
  struct rnull_disk *d;
  unsigned h;
};

static void *writer_thread(void *arg) {
  struct thr *t = arg;
  uint8_t buf[8192];
  for (int i = 0; i < 300; i++) {
    memset(buf, (int)(t->h * 100 + i % 100), sizeof buf);
    uint64_t off = ((uint64_t)(i * 13 + t->h * 7) % 256) * 8192;
    io_on(t->d, t->h, RNULL_OP_WRITE, off, sizeof buf, buf, i % 17 ? 0 : RNULL_IO_FUA);
    if (i % 10 == 0)
      io_on(t->d, t->h, RNULL_OP_FLUSH, 0, 0, NULL, 0);
  }
  return NULL;
}

START_TEST(two_threads_replay_to_the_disk) {
  const uint64_t size = 2 << 20;
  struct rnull_disk *d = logged_disk("2M", "submit_queues=2", NULL);
  pthread_t t[2];
  struct thr a[2] = {{d, 0}, {d, 1}};
  for (int i = 0; i < 2; i++)
    pthread_create(&t[i], NULL, writer_thread, &a[i]);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  ck_assert_int_eq(op(d, RNULL_OP_FLUSH, 0, 0, 0), 0);
  uint8_t *want = content(d, size);
  rnull_disk_destroy(d);
  uint8_t *img = replay(size, NULL, 0, NULL);
  ck_assert(memcmp(img, want, size) == 0);
  free(img);
  free(want);
}
END_TEST

/* A log that cannot grow past 256 KiB (RLIMIT_FSIZE: EFBIG): the failure is
 * reported, writes, zeroes, trims and flushes fail with EIO, reads serve. */
START_TEST(a_failed_log_write_fails_the_disks_writes) {
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {256 << 10, RLIM_INFINITY};
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
  struct rnull_disk *d = logged_disk("4M", NULL, NULL);
  char err[RNULL_ERR_LEN];
  /* the request is applied and queued; the writer fails on it */
  ck_assert_int_eq(wr(d, 0, 1 << 20, 1, RNULL_IO_FUA), 0);
  /* the mark waits for the writer and says so */
  ck_assert_int_lt(rnull_null_disk_log_mark(d, "m", err, sizeof err), 0);
  ck_assert_msg(strstr(err, "File too large") != NULL, "%s", err);
  struct rnull_null_log_stats st;
  ck_assert_int_eq(rnull_null_disk_log_stats(d, &st), 0);
  ck_assert_int_eq(st.error, EFBIG);
  ck_assert_int_eq(wr(d, 0, 4096, 9, 0), -EIO);
  ck_assert_int_eq(op(d, RNULL_OP_FLUSH, 0, 0, 0), -EIO);
  ck_assert_int_eq(op(d, RNULL_OP_DISCARD, 0, 4096, 0), -EIO);
  ck_assert_int_eq(op(d, RNULL_OP_WRITE_ZEROES, 0, 4096, 0), -EIO);
  uint8_t b[4096];
  unsigned e = atomic_load(&nr_ends);
  ck_assert_int_eq(io_on(d, 0, RNULL_OP_READ, 0, 4096, b, 0), 0);
  ck_assert_int_eq(ends[e].status, 0);
  rnull_disk_destroy(d);
  rl.rlim_cur = RLIM_INFINITY;
  setrlimit(RLIMIT_FSIZE, &rl);
}
END_TEST

START_TEST(a_log_on_dev_full_refuses_the_power_on) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  struct rnull_disk *d;
  rnull_config_init(&cfg);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "log_writes=/dev/full", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "size=1M", err, sizeof err), 0);
  ck_assert_int_eq(rnull_null_disk_create(&d, &cfg, err, sizeof err), 0);
  err[0] = 0;
  ck_assert_int_lt(rnull_disk_add(d, record_end_io, err, sizeof err), 0);
  ck_assert_msg(strstr(err, "log_writes=/dev/full") && strstr(err, "No space left"), "%s", err);
  rnull_disk_destroy(d);
}
END_TEST

START_TEST(a_mark_without_a_log_is_refused) {
  const char *kv[] = {"size=1M", NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  char err[RNULL_ERR_LEN];
  ck_assert_int_eq(rnull_null_disk_log_mark(d, "m", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "log_writes=PATH") != NULL, "%s", err);
  struct rnull_null_log_stats st;
  ck_assert_int_eq(rnull_null_disk_log_stats(d, &st), -EINVAL);
  rnull_disk_destroy(d);
}
END_TEST

/* Any disk may log: the null store drops the data, the log keeps it; in
 * 512-byte sectors on a 512-byte disk. */
START_TEST(a_null_store_disk_logs_its_writes) {
  char kv_log[200];
  snprintf(kv_log, sizeof kv_log, "log_writes=%s", logpath);
  const char *kv[] = {"size=1M", "blocksize=512", kv_log, NULL};
  struct rnull_disk *d = make_disk(kv, NULL, NULL);
  ck_assert_int_eq(wr(d, 4096, 4096, 0x5a, 0), 0);
  ck_assert_int_eq(op(d, RNULL_OP_FLUSH, 0, 0, 0), 0);
  rnull_disk_destroy(d);
  uint8_t *img = replay(1 << 20, NULL, 1, NULL);
  ck_assert_uint_eq(img[4096], 0x5a);
  ck_assert_uint_eq(img[8191], 0x5a);
  ck_assert_uint_eq(img[0], 0);
  ck_assert_uint_eq(img[8192], 0);
  free(img);
  struct lr_log l;
  struct lr_entry e;
  char err[256];
  ck_assert_int_eq(lr_open(&l, logpath, err, sizeof err), 0);
  ck_assert_uint_eq(l.sectorsize, 512);
  ck_assert_int_eq(lr_next(&l, &e, err, sizeof err), 1);
  ck_assert_uint_eq(e.sector, 8);
  ck_assert_uint_eq(e.nr_sectors, 8);
  lr_close(&l);
}
END_TEST

int main(void) {
  Suite *s = suite_create("log_writes");
  TCase *tc = new_tcase("log");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, entries_come_in_dm_log_writes_order);
  tcase_add_test(tc, replay_to_a_mark_is_the_disk_at_the_mark);
  tcase_add_test(tc, writes_past_the_ring_without_a_flush_wait_not_drop);
  tcase_add_test(tc, two_threads_replay_to_the_disk);
  tcase_add_test(tc, a_failed_log_write_fails_the_disks_writes);
  tcase_add_test(tc, a_log_on_dev_full_refuses_the_power_on);
  tcase_add_test(tc, a_mark_without_a_log_is_refused);
  tcase_add_test(tc, a_null_store_disk_logs_its_writes);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
