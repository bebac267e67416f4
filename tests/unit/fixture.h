/* Shared by the engine's unit tests: a disk on a virtual clock whose end_io
 * records every completion, and a "hold" driver that keeps the requests it
 * is given so a test can end them when and how it likes. */
#ifndef RNULL_TEST_FIXTURE_H
#define RNULL_TEST_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "rnull/disk.h"
#include "rnull/hctx.h"
#include "rnull/null.h"
#include "rnull/ops.h"
#include "rnull/request.h"
#include "rnull/stats.h"
#include "rnull/tagset.h"

#define MAX_ENDS 4096

static uint64_t vclock_ns = 1000000000ull;
static inline uint64_t vclock(void *ctx) {
  (void)ctx;
  return vclock_ns;
}

/* what end_io saw, in order */
static struct {
  uintptr_t cookie;
  int status;
  uint32_t flags;
} ends[MAX_ENDS];
static _Atomic unsigned nr_ends;

static inline void record_end_io(void *cookie, int status, uint32_t flags) {
  unsigned i = atomic_fetch_add(&nr_ends, 1);
  if (i < MAX_ENDS) {
    ends[i].cookie = (uintptr_t)cookie;
    ends[i].status = status;
    ends[i].flags = flags;
  }
}

/* Build an ADDED disk from key=value strings (NULL-terminated), with the
 * null driver (any of a null disk's keys) or another (core keys only: the
 * core takes no driver's), always on the virtual clock. */
static inline struct rnull_disk *make_disk(const char *const *kv, const struct rnull_ops *ops,
                                           void *driver_data) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  rnull_config_init(&cfg);
  for (; kv && *kv; kv++) {
    const char *eq = strchr(*kv, '=');
    char key[64];
    snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - *kv) : 0, *kv);
    int r = ops ? rnull_disk_params_set(&cfg.core, key, eq ? eq + 1 : "", err, sizeof err)
                : rnull_config_set_kv(&cfg, *kv, err, sizeof err);
    ck_assert_msg(r == 0, "%s", err);
  }
  struct rnull_disk *d;
  if (ops) {
    ck_assert_msg(rnull_disk_create(&d, &cfg.core, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rnull_disk_set_ops(d, ops, driver_data), 0);
  } else {
    ck_assert_msg(rnull_null_disk_create(&d, &cfg, err, sizeof err) == 0, "%s", err);
  }
  ck_assert_int_eq(rnull_disk_set_clock(d, vclock, NULL), 0);
  ck_assert_msg(rnull_disk_add(d, record_end_io, err, sizeof err) == 0, "%s", err);
  atomic_store(&nr_ends, 0);
  vclock_ns = 1000000000ull;
  return d;
}

static inline struct rnull_io rd(uint64_t off, uint32_t len, uintptr_t cookie) {
  return (struct rnull_io){
      .op = RNULL_OP_READ, .offset = off, .len = len, .cookie = (void *)cookie};
}

/* The hold driver: queue_rq keeps the request (state 2) in held[]. */
static struct rnull_rq *held[MAX_ENDS];
static _Atomic unsigned nr_held;
static _Atomic unsigned nr_commits, nr_last;

static inline int hold_queue_rq(struct rnull_rq *rq, bool is_last) {
  held[atomic_fetch_add(&nr_held, 1)] = rq;
  if (is_last)
    atomic_fetch_add(&nr_last, 1);
  return 0;
}
static inline void hold_commit(struct rnull_hctx *h) {
  (void)h;
  atomic_fetch_add(&nr_commits, 1);
}
static inline void hold_complete(struct rnull_rq *rq) { ck_assert_int_eq(rnull_rq_end(rq, 0), 0); }

static const struct rnull_ops hold_ops = {
    .queue_rq = hold_queue_rq,
    .commit_rqs = hold_commit,
    .complete = hold_complete,
    .cmd_size = 64,
};

static inline void reset_hold(void) {
  atomic_store(&nr_held, 0);
  atomic_store(&nr_commits, 0);
  atomic_store(&nr_last, 0);
}

/* A test case with a timeout that tolerates a loaded 2-core CI machine. */
static inline TCase *new_tcase(const char *name) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 60);
  return tc;
}

static inline int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

#endif
