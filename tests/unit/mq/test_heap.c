/* The timer heap (lib/mq/heap.c, private lib/mq/heap.h) on its own, with
 * requests that are only heap entries: every pop comes out in the order of
 * a sorted reference, with equal and random deadlines; removal from the
 * middle keeps the heap and each entry's index right; the minimum after
 * removals is the reference's; the heap holds exactly its capacity (it does
 * not grow: a hctx sizes it to its depth, each request in it at most once);
 * the empty heap has no top. After every operation the heap is checked
 * whole: each entry's heap_idx is its slot and no child is due before its
 * parent. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mq/heap.h"

#define N 1000

static struct rnull_rq rqs[N];

static void reset_rqs(void) {
  memset(rqs, 0, sizeof rqs);
  for (unsigned i = 0; i < N; i++)
    rqs[i].heap_idx = -1;
}

/* xorshift64: the same sequence on every run */
static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The heap property and the index of every entry (plain comparisons: a
 * check assertion per entry would make the test slow). */
static void check_heap(const struct rnull_heap *hp) {
  ck_assert_uint_le(hp->n, hp->cap);
  for (unsigned i = 0; i < hp->n; i++) {
    if (!hp->v[i] || hp->v[i]->heap_idx != (int32_t)i)
      ck_abort_msg("slot %u: entry %p has heap_idx %d", i, (void *)hp->v[i],
                   hp->v[i] ? hp->v[i]->heap_idx : -2);
    if (i > 0 && hp->v[(i - 1) / 2]->deadline_ns > hp->v[i]->deadline_ns)
      ck_abort_msg("slot %u due at %llu before its parent (%llu)", i,
                   (unsigned long long)hp->v[i]->deadline_ns,
                   (unsigned long long)hp->v[(i - 1) / 2]->deadline_ns);
  }
}

/* Pop everything (top, then remove it): the deadlines in order, each
 * request once, each marked out of the heap. Returns how many came out. */
static unsigned drain(struct rnull_heap *hp, uint64_t *out) {
  unsigned n = 0;
  struct rnull_rq *rq;
  while ((rq = rnull_heap_top(hp))) {
    ck_assert_int_ge(rq->heap_idx, 0);
    out[n++] = rq->deadline_ns;
    rnull_heap_remove(hp, rq);
    ck_assert_int_eq(rq->heap_idx, -1);
    check_heap(hp);
  }
  ck_assert_uint_eq(hp->n, 0);
  return n;
}

/* Push N requests due at when[i]; drain; compare with when[] sorted. */
static void push_all_then_drain(uint64_t *when) {
  struct rnull_heap hp;
  ck_assert_int_eq(rnull_heap_init(&hp, N), 0);
  reset_rqs();
  for (unsigned i = 0; i < N; i++) {
    rnull_heap_push(&hp, &rqs[i], when[i]);
    ck_assert_uint_eq(rqs[i].deadline_ns, when[i]); /* push sets the deadline */
    ck_assert_int_ge(rqs[i].heap_idx, 0);
    check_heap(&hp);
  }
  ck_assert_uint_eq(hp.n, N);
  static uint64_t got[N];
  ck_assert_uint_eq(drain(&hp, got), N);
  qsort(when, N, sizeof *when, cmp_u64);
  for (unsigned i = 0; i < N; i++)
    ck_assert_uint_eq(got[i], when[i]);
  for (unsigned i = 0; i < N; i++)
    ck_assert_int_eq(rqs[i].heap_idx, -1);
  rnull_heap_free(&hp);
}

START_TEST(empty_heap_has_no_top) {
  struct rnull_heap hp;
  ck_assert_int_eq(rnull_heap_init(&hp, 4), 0);
  ck_assert_uint_eq(hp.n, 0);
  ck_assert_uint_eq(hp.cap, 4);
  ck_assert_ptr_null(rnull_heap_top(&hp));
  reset_rqs();
  rnull_heap_push(&hp, &rqs[0], 42);
  ck_assert_ptr_eq(rnull_heap_top(&hp), &rqs[0]);
  ck_assert_int_eq(rqs[0].heap_idx, 0);
  rnull_heap_remove(&hp, &rqs[0]); /* the last one out: empty again */
  ck_assert_int_eq(rqs[0].heap_idx, -1);
  ck_assert_uint_eq(hp.n, 0);
  ck_assert_ptr_null(rnull_heap_top(&hp));
  /* and usable again */
  rnull_heap_push(&hp, &rqs[0], 7);
  ck_assert_ptr_eq(rnull_heap_top(&hp), &rqs[0]);
  ck_assert_uint_eq(rqs[0].deadline_ns, 7);
  rnull_heap_remove(&hp, &rqs[0]);
  rnull_heap_free(&hp);
  ck_assert_ptr_null(hp.v);
  ck_assert_uint_eq(hp.n, 0);
  ck_assert_uint_eq(hp.cap, 0);
  ck_assert_ptr_null(rnull_heap_top(&hp));
}
END_TEST

START_TEST(random_deadlines_pop_sorted) {
  static uint64_t when[N];
  for (unsigned i = 0; i < N; i++)
    when[i] = next_rand() >> 1;
  push_all_then_drain(when);
}
END_TEST

START_TEST(equal_deadlines_all_come_out) {
  static uint64_t when[N];
  for (unsigned i = 0; i < N; i++)
    when[i] = 5000;
  push_all_then_drain(when);
  /* few distinct values, many of each, pushed in random order */
  for (unsigned i = 0; i < N; i++)
    when[i] = 1000 + (next_rand() % 4) * 10;
  push_all_then_drain(when);
}
END_TEST

START_TEST(descending_and_ascending_pushes) {
  static uint64_t when[N];
  for (unsigned i = 0; i < N; i++)
    when[i] = (uint64_t)(N - i) * 3; /* each push becomes the new top */
  push_all_then_drain(when);
  for (unsigned i = 0; i < N; i++)
    when[i] = (uint64_t)i * 3; /* no push moves */
  push_all_then_drain(when);
}
END_TEST

/* Each entry is its own top while it is the earliest. */
START_TEST(top_is_the_earliest_after_each_push) {
  struct rnull_heap hp;
  ck_assert_int_eq(rnull_heap_init(&hp, N), 0);
  reset_rqs();
  uint64_t min = UINT64_MAX;
  struct rnull_rq *min_rq = NULL;
  for (unsigned i = 0; i < N; i++) {
    uint64_t w = next_rand() % 100000;
    rnull_heap_push(&hp, &rqs[i], w);
    if (w < min) {
      min = w;
      min_rq = &rqs[i];
    }
    ck_assert_uint_eq(rnull_heap_top(&hp)->deadline_ns, min);
    if (rnull_heap_top(&hp) != min_rq) /* a tie: another entry due at the same time */
      ck_assert_uint_eq(min_rq->deadline_ns, min);
  }
  rnull_heap_free(&hp);
}
END_TEST

/* Remove entries from every position (leaf, inner node, top) in a random
 * order: after each removal the heap is whole and its top is the earliest
 * of what remains; the rest drains sorted. */
START_TEST(remove_from_the_middle) {
  struct rnull_heap hp;
  ck_assert_int_eq(rnull_heap_init(&hp, N), 0);
  reset_rqs();
  for (unsigned i = 0; i < N; i++)
    rnull_heap_push(&hp, &rqs[i], next_rand() % 5000); /* duplicates too */
  static bool gone[N];
  memset(gone, 0, sizeof gone);
  for (unsigned k = 0; k < N / 2; k++) {
    /* a slot in the middle of the array, not the top, not always a leaf */
    unsigned slot = 1 + (unsigned)(next_rand() % (hp.n - 1));
    struct rnull_rq *rq = hp.v[slot];
    rnull_heap_remove(&hp, rq);
    ck_assert_int_eq(rq->heap_idx, -1);
    gone[rq - rqs] = true;
    check_heap(&hp);
    uint64_t min = UINT64_MAX;
    for (unsigned i = 0; i < N; i++)
      if (!gone[i] && rqs[i].deadline_ns < min)
        min = rqs[i].deadline_ns;
    ck_assert_uint_eq(rnull_heap_top(&hp)->deadline_ns, min);
  }
  ck_assert_uint_eq(hp.n, N - N / 2);
  static uint64_t want[N], got[N];
  unsigned m = 0;
  for (unsigned i = 0; i < N; i++)
    if (!gone[i])
      want[m++] = rqs[i].deadline_ns;
  qsort(want, m, sizeof *want, cmp_u64);
  ck_assert_uint_eq(drain(&hp, got), m);
  for (unsigned i = 0; i < m; i++)
    ck_assert_uint_eq(got[i], want[i]);
  rnull_heap_free(&hp);
}
END_TEST

/* The last entry moved into a removed slot may have to go up, not down:
 * remove a leaf of one subtree while the last leaf (other subtree) is
 * earlier than the removed one's parent. */
START_TEST(remove_moves_the_last_entry_up) {
  struct rnull_heap hp;
  ck_assert_int_eq(rnull_heap_init(&hp, 8), 0);
  reset_rqs();
  /* a heap laid out as: 0 | 100 1 | 101 102 2 3 (pushed in that order,
   * none moves); slot 3 (101) is under 100, the last (3) is under 1 */
  static const uint64_t when[7] = {0, 100, 1, 101, 102, 2, 3};
  for (unsigned i = 0; i < 7; i++)
    rnull_heap_push(&hp, &rqs[i], when[i]);
  for (unsigned i = 0; i < 7; i++)
    ck_assert_int_eq(rqs[i].heap_idx, (int32_t)i);
  rnull_heap_remove(&hp, &rqs[3]); /* 3 moves to slot 3, under 100: it must go up */
  check_heap(&hp);
  ck_assert_int_eq(rqs[6].heap_idx, 1);
  ck_assert_int_eq(rqs[1].heap_idx, 3);
  rnull_heap_remove(&hp, &rqs[0]); /* the top */
  check_heap(&hp);
  ck_assert_ptr_eq(rnull_heap_top(&hp), &rqs[2]);
  static uint64_t got[8];
  ck_assert_uint_eq(drain(&hp, got), 5);
  static const uint64_t want[5] = {1, 2, 3, 100, 102};
  for (unsigned i = 0; i < 5; i++)
    ck_assert_uint_eq(got[i], want[i]);
  rnull_heap_free(&hp);
}
END_TEST

/* Removing the top repeatedly and pushing between: the minimum follows a
 * reference kept by brute force, over many mixed operations. */
START_TEST(mixed_operations_against_a_reference) {
  struct rnull_heap hp;
  ck_assert_int_eq(rnull_heap_init(&hp, N), 0);
  reset_rqs();
  for (unsigned op = 0; op < 20000; op++) {
    unsigned i = (unsigned)(next_rand() % N);
    struct rnull_rq *rq = &rqs[i];
    if (rq->heap_idx < 0)
      rnull_heap_push(&hp, rq, next_rand() % 1000);
    else if (next_rand() % 3 == 0 && hp.n)
      rnull_heap_remove(&hp, rnull_heap_top(&hp));
    else
      rnull_heap_remove(&hp, rq);
    if (op % 64 == 0)
      check_heap(&hp);
    uint64_t min = UINT64_MAX;
    unsigned n = 0;
    for (unsigned j = 0; j < N; j++)
      if (rqs[j].heap_idx >= 0) {
        n++;
        if (rqs[j].deadline_ns < min)
          min = rqs[j].deadline_ns;
      }
    ck_assert_uint_eq(hp.n, n);
    if (n)
      ck_assert_uint_eq(rnull_heap_top(&hp)->deadline_ns, min);
    else
      ck_assert_ptr_null(rnull_heap_top(&hp));
  }
  check_heap(&hp);
  rnull_heap_free(&hp);
}
END_TEST

/* The heap holds exactly cap entries (a hctx's depth); filled, emptied and
 * filled again, with a capacity that is no power of two. */
START_TEST(holds_exactly_its_capacity) {
  enum { CAP = 37 };
  struct rnull_heap hp;
  ck_assert_int_eq(rnull_heap_init(&hp, CAP), 0);
  reset_rqs();
  for (unsigned round = 0; round < 2; round++) {
    for (unsigned i = 0; i < CAP; i++)
      rnull_heap_push(&hp, &rqs[i], (uint64_t)((i * 7919u) % CAP)); /* a permutation */
    ck_assert_uint_eq(hp.n, CAP);
    ck_assert_uint_eq(hp.cap, CAP);
    check_heap(&hp);
    uint64_t got[CAP];
    ck_assert_uint_eq(drain(&hp, got), CAP);
    for (unsigned i = 0; i < CAP; i++)
      ck_assert_uint_eq(got[i], i);
  }
  rnull_heap_free(&hp);
  /* one slot */
  ck_assert_int_eq(rnull_heap_init(&hp, 1), 0);
  rnull_heap_push(&hp, &rqs[5], 9);
  ck_assert_ptr_eq(rnull_heap_top(&hp), &rqs[5]);
  rnull_heap_remove(&hp, &rqs[5]);
  rnull_heap_push(&hp, &rqs[6], 3);
  ck_assert_ptr_eq(rnull_heap_top(&hp), &rqs[6]);
  rnull_heap_remove(&hp, &rqs[6]);
  ck_assert_ptr_null(rnull_heap_top(&hp));
  rnull_heap_free(&hp);
}
END_TEST

int main(void) {
  Suite *s = suite_create("heap");
  TCase *tc = tcase_create("heap");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, empty_heap_has_no_top);
  tcase_add_test(tc, random_deadlines_pop_sorted);
  tcase_add_test(tc, equal_deadlines_all_come_out);
  tcase_add_test(tc, descending_and_ascending_pushes);
  tcase_add_test(tc, top_is_the_earliest_after_each_push);
  tcase_add_test(tc, remove_from_the_middle);
  tcase_add_test(tc, remove_moves_the_last_entry_up);
  tcase_add_test(tc, mixed_operations_against_a_reference);
  tcase_add_test(tc, holds_exactly_its_capacity);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
