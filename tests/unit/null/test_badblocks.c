/* Bad sector ranges: boundaries to the sector, merging, clearing with
 * splits, once semantics, "covers" (a write over whole bad ranges). */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "null/badblocks.h"

#define R(a, b) ((struct rnull_range){(a), (b)})

static struct rnull_badblocks bb;

static void setup1(const struct rnull_range *r, unsigned n, bool once) {
  rnull_badblocks_init(&bb, r, n, once);
}

static bool bad(uint64_t sector, uint64_t nr) {
  return rnull_badblocks_check(&bb, sector, nr, NULL);
}

/* first bad sector of [sector, sector+nr), or UINT64_MAX if none */
static uint64_t first(uint64_t sector, uint64_t nr) {
  uint64_t fb = 12345;
  if (!rnull_badblocks_check(&bb, sector, nr, &fb))
    return UINT64_MAX;
  return fb;
}

START_TEST(boundaries_to_the_sector) {
  struct rnull_range r[] = {R(100, 199)};
  setup1(r, 1, false);
  ck_assert(!bad(99, 1));  /* just before */
  ck_assert(bad(100, 1));  /* first */
  ck_assert(bad(199, 1));  /* last */
  ck_assert(!bad(200, 1)); /* just after */
  ck_assert(bad(99, 2));   /* straddles the start */
  ck_assert(bad(199, 2));  /* straddles the end */
  ck_assert(!bad(0, 100)); /* ends right before */
  ck_assert(!bad(200, 1000));
  ck_assert(bad(0, 1000)); /* contains it */
  ck_assert(!bad(150, 0)); /* empty I/O touches nothing */
  ck_assert_uint_eq(first(92, 16), 100);
  ck_assert_uint_eq(first(150, 8), 150);
  ck_assert_uint_eq(first(0, 4096), 100);
  ck_assert_uint_eq(first(200, 8), UINT64_MAX);
  /* checks without once change nothing */
  ck_assert(bad(100, 1));
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(single_sector_range) {
  struct rnull_range r[] = {R(7, 7)};
  setup1(r, 1, false);
  ck_assert(!bad(6, 1));
  ck_assert(bad(7, 1));
  ck_assert(!bad(8, 1));
  ck_assert(bad(0, 8));
  ck_assert(!bad(0, 7));
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(unsorted_overlapping_adjacent_are_merged) {
  struct rnull_range r[] = {R(300, 400), R(100, 199), R(150, 250), R(251, 260), R(1000, 1000)};
  setup1(r, 5, false);
  ck_assert_uint_eq(bb.n, 3); /* 100-260, 300-400, 1000 */
  ck_assert(!bad(99, 1));
  ck_assert(bad(100, 1));
  ck_assert(bad(200, 1));
  ck_assert(bad(255, 1));
  ck_assert(bad(260, 1));
  ck_assert(!bad(261, 39));
  ck_assert(bad(300, 1));
  ck_assert(bad(400, 1));
  ck_assert(!bad(401, 599));
  ck_assert(bad(1000, 1));
  ck_assert(!bad(1001, 1));
  for (unsigned i = 1; i < bb.n; i++)
    ck_assert_uint_gt(bb.r[i].start, bb.r[i - 1].end + 1);
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(no_ranges_nothing_bad) {
  setup1(NULL, 0, false);
  ck_assert(!bad(0, UINT32_MAX));
  ck_assert(!rnull_badblocks_covers(&bb, 0, 100));
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(clear_splits_a_range) {
  struct rnull_range r[] = {R(100, 199)};
  setup1(r, 1, false);
  rnull_badblocks_clear(&bb, 120, 10); /* 120..129 */
  ck_assert_uint_eq(bb.n, 2);
  ck_assert(bad(119, 1));
  ck_assert(!bad(120, 1));
  ck_assert(!bad(129, 1));
  ck_assert(!bad(120, 10));
  ck_assert(bad(130, 1));
  ck_assert(bad(100, 1));
  ck_assert(bad(199, 1));
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(clear_edges_and_across_ranges) {
  struct rnull_range r[] = {R(100, 199), R(300, 399), R(500, 599)};
  setup1(r, 3, false);
  rnull_badblocks_clear(&bb, 100, 1); /* first sector only */
  ck_assert(!bad(100, 1));
  ck_assert(bad(101, 1));
  rnull_badblocks_clear(&bb, 199, 1); /* last sector only */
  ck_assert(!bad(199, 1));
  ck_assert(bad(198, 1));
  /* 350..549: trims 300-399 to 300-349, 500-599 to 550-599 */
  rnull_badblocks_clear(&bb, 350, 200);
  ck_assert(bad(349, 1));
  ck_assert(!bad(350, 200));
  ck_assert(bad(550, 1));
  ck_assert(bad(599, 1));
  /* clearing everything empties the list */
  rnull_badblocks_clear(&bb, 0, 1000);
  ck_assert_uint_eq(bb.n, 0);
  ck_assert(!bad(0, 1000));
  /* clearing nothing is harmless */
  rnull_badblocks_clear(&bb, 0, 0);
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(clear_split_of_a_full_table_keeps_sectors_bad) {
  /* 64 ranges, one split would need a 65th slot: the table must not lose a
   * bad range (sectors silently turning good); the cleared part may stay
   * bad, nothing else may change. */
  struct rnull_range r[RNULL_MAX_BADBLOCK_RANGES];
  for (unsigned i = 0; i < RNULL_MAX_BADBLOCK_RANGES; i++)
    r[i] = R(i * 100, i * 100 + 49);
  setup1(r, RNULL_MAX_BADBLOCK_RANGES, false);
  ck_assert_uint_eq(bb.n, RNULL_MAX_BADBLOCK_RANGES);
  rnull_badblocks_clear(&bb, 10, 10); /* would split 0-49 */
  ck_assert(bad(0, 10));
  ck_assert(bad(20, 30));
  for (unsigned i = 1; i < RNULL_MAX_BADBLOCK_RANGES; i++) {
    ck_assert(bad(i * 100, 1));
    ck_assert(bad(i * 100 + 49, 1));
    ck_assert(!bad(i * 100 + 50, 50));
  }
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(once_clears_the_whole_range_hit) {
  /* badblocks_once (null_blk clears the bad range found after the first
   * I/O that hits it): a read of 150..157 clears all of 100-199, and only
   * that range. */
  struct rnull_range r[] = {R(100, 199), R(300, 399)};
  setup1(r, 2, true);
  ck_assert_uint_eq(first(150, 8), 150);
  ck_assert(!bad(100, 100));
  ck_assert(bad(300, 1));
  ck_assert(!bad(300, 100)); /* that check cleared 300-399 */
  ck_assert_uint_eq(bb.n, 0);
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(once_clears_every_range_the_io_touches) {
  struct rnull_range r[] = {R(10, 19), R(30, 39), R(50, 59)};
  setup1(r, 3, true);
  ck_assert_uint_eq(first(15, 20), 15); /* touches 10-19 and 30-39 */
  ck_assert(!bad(0, 40));
  ck_assert(bad(55, 1));
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(once_miss_changes_nothing) {
  struct rnull_range r[] = {R(100, 199)};
  setup1(r, 1, true);
  ck_assert(!bad(0, 100));
  ck_assert(!bad(200, 100));
  ck_assert_uint_eq(bb.n, 1);
  ck_assert(bad(199, 1));
  rnull_badblocks_destroy(&bb);
}
END_TEST

START_TEST(covers_whole_ranges_only) {
  struct rnull_range r[] = {R(100, 199), R(300, 399)};
  setup1(r, 2, false);
  ck_assert(rnull_badblocks_covers(&bb, 100, 100));  /* exactly */
  ck_assert(rnull_badblocks_covers(&bb, 96, 112));   /* with margin */
  ck_assert(rnull_badblocks_covers(&bb, 0, 400));    /* both */
  ck_assert(!rnull_badblocks_covers(&bb, 101, 99));  /* misses the first */
  ck_assert(!rnull_badblocks_covers(&bb, 100, 99));  /* misses the last */
  ck_assert(!rnull_badblocks_covers(&bb, 0, 350));   /* second partly */
  ck_assert(!rnull_badblocks_covers(&bb, 200, 100)); /* touches none */
  ck_assert(!rnull_badblocks_covers(&bb, 100, 0));
  /* covers is a question: nothing was cleared */
  ck_assert(bad(150, 1));
  rnull_badblocks_destroy(&bb);
}
END_TEST

/* Concurrent checks and clears do not corrupt the table. */
static void *checker(void *p) {
  unsigned *hits = p;
  for (unsigned i = 0; i < 20000; i++)
    *hits += bad((i * 37) % 10000, 8);
  return NULL;
}

static void *clearer(void *p) {
  (void)p;
  for (uint64_t s = 0; s < 10000; s += 200)
    rnull_badblocks_clear(&bb, s + 50, 10);
  return NULL;
}

START_TEST(concurrent_check_and_clear) {
  struct rnull_range r[] = {R(0, 9999)};
  setup1(r, 1, false);
  pthread_t t[3];
  unsigned hits[2] = {0, 0};
  pthread_create(&t[0], NULL, checker, &hits[0]);
  pthread_create(&t[1], NULL, checker, &hits[1]);
  pthread_create(&t[2], NULL, clearer, NULL);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  ck_assert_uint_gt(hits[0], 0);
  /* 50 cleared holes of 10 sectors, 51 ranges, still sorted and disjoint */
  ck_assert_uint_eq(bb.n, 51);
  ck_assert(!bad(50, 10));
  ck_assert(bad(49, 1));
  ck_assert(bad(60, 1));
  for (unsigned i = 1; i < bb.n; i++)
    ck_assert_uint_gt(bb.r[i].start, bb.r[i - 1].end);
  rnull_badblocks_destroy(&bb);
}
END_TEST

Suite *badblocks_suite(void) {
  Suite *s = suite_create("badblocks");
  TCase *t = tcase_create("ranges");
  tcase_add_test(t, boundaries_to_the_sector);
  tcase_add_test(t, single_sector_range);
  tcase_add_test(t, unsorted_overlapping_adjacent_are_merged);
  tcase_add_test(t, no_ranges_nothing_bad);
  tcase_add_test(t, clear_splits_a_range);
  tcase_add_test(t, clear_edges_and_across_ranges);
  tcase_add_test(t, clear_split_of_a_full_table_keeps_sectors_bad);
  tcase_add_test(t, once_clears_the_whole_range_hit);
  tcase_add_test(t, once_clears_every_range_the_io_touches);
  tcase_add_test(t, once_miss_changes_nothing);
  tcase_add_test(t, covers_whole_ranges_only);
  tcase_add_test(t, concurrent_check_and_clear);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(badblocks_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
