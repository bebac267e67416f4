/* The sparse memory store: holes, partial pages, trim, write zeroes,
 * extents, allocated bytes, huge sparse disks, concurrent readers/writers. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "null/store.h"

/* Sanitizers reserve terabytes of address space: no RLIMIT_AS test there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#define PG 4096u
#define MiB (1024ull * 1024)
#define TiB (1024ull * 1024 * MiB)

static struct rnull_store *mk(uint64_t size, uint32_t page) {
  struct rnull_store *s = rnull_store_memory_create(size, page);
  ck_assert_ptr_nonnull(s);
  return s;
}

static void fill(uint8_t *b, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++)
    b[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static bool all_zero(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return false;
  return true;
}

/* Read into a buffer pre-filled with 0xAA; returns *zero. */
static bool rd(struct rnull_store *s, uint8_t *buf, uint64_t off, uint32_t len) {
  bool zero = false;
  memset(buf, 0xAA, len);
  ck_assert_int_eq(s->ops->read(s, buf, off, len, &zero), 0);
  return zero;
}

START_TEST(fresh_store_is_all_holes) {
  struct rnull_store *s = mk(64 * MiB, PG);
  uint8_t buf[8192];
  ck_assert_str_eq(s->ops->name, "memory");
  ck_assert_uint_eq(s->page_size, PG);
  ck_assert_uint_eq(s->size, 64 * MiB);
  /* A wholly unallocated range: *zero set and the buffer left untouched. */
  ck_assert(rd(s, buf, 0, sizeof(buf)));
  ck_assert_uint_eq(buf[0], 0xAA);
  ck_assert_uint_eq(buf[sizeof(buf) - 1], 0xAA);
  /* With *zero allowed, buf may even be NULL. */
  bool zero = false;
  ck_assert_int_eq(s->ops->read(s, NULL, 4096, 4096, &zero), 0);
  ck_assert(zero);
  ck_assert_uint_eq(s->ops->allocated(s), 0);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(write_then_read_back) {
  struct rnull_store *s = mk(64 * MiB, PG);
  uint8_t in[3 * PG], out[3 * PG];
  fill(in, sizeof(in), 3);
  ck_assert_int_eq(s->ops->write(s, in, 8 * PG, sizeof(in)), 0);
  ck_assert(!rd(s, out, 8 * PG, sizeof(out)));
  ck_assert_mem_eq(in, out, sizeof(in));
  ck_assert_uint_eq(s->ops->allocated(s), 3 * PG);
  /* Overwrite in place allocates nothing new. */
  fill(in, sizeof(in), 99);
  ck_assert_int_eq(s->ops->write(s, in, 8 * PG, sizeof(in)), 0);
  ck_assert(!rd(s, out, 8 * PG, sizeof(out)));
  ck_assert_mem_eq(in, out, sizeof(in));
  ck_assert_uint_eq(s->ops->allocated(s), 3 * PG);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(partial_page_write_zero_fills_the_rest) {
  struct rnull_store *s = mk(64 * MiB, PG);
  uint8_t in[512], out[PG];
  fill(in, sizeof(in), 1);
  ck_assert_int_eq(s->ops->write(s, in, PG + 1024, sizeof(in)), 0);
  ck_assert_uint_eq(s->ops->allocated(s), PG);
  ck_assert(!rd(s, out, PG, PG));
  ck_assert(all_zero(out, 1024));
  ck_assert_mem_eq(out + 1024, in, sizeof(in));
  ck_assert(all_zero(out + 1536, PG - 1536));
  rnull_store_destroy(s);
}
END_TEST

START_TEST(read_mixing_holes_and_data) {
  struct rnull_store *s = mk(64 * MiB, PG);
  uint8_t in[PG], out[4 * PG];
  fill(in, sizeof(in), 5);
  /* Data in the third page only: a read of pages 0..3 must zero the holes
   * before and after it in the caller's buffer. */
  ck_assert_int_eq(s->ops->write(s, in, 2 * PG, PG), 0);
  ck_assert(!rd(s, out, 0, sizeof(out)));
  ck_assert(all_zero(out, 2 * PG));
  ck_assert_mem_eq(out + 2 * PG, in, PG);
  ck_assert(all_zero(out + 3 * PG, PG));
  rnull_store_destroy(s);
}
END_TEST

START_TEST(page_straddling_write) {
  struct rnull_store *s = mk(64 * MiB, PG);
  uint8_t in[2048], out[2048];
  fill(in, sizeof(in), 9);
  ck_assert_int_eq(s->ops->write(s, in, 5 * PG - 1024, sizeof(in)), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 2 * PG);
  ck_assert(!rd(s, out, 5 * PG - 1024, sizeof(out)));
  ck_assert_mem_eq(in, out, sizeof(in));
  rnull_store_destroy(s);
}
END_TEST

START_TEST(first_and_last_block) {
  uint64_t size = 64 * MiB;
  struct rnull_store *s = mk(size, PG);
  uint8_t a[512], b[512], out[512];
  fill(a, sizeof(a), 11);
  fill(b, sizeof(b), 22);
  ck_assert_int_eq(s->ops->write(s, a, 0, 512), 0);
  ck_assert_int_eq(s->ops->write(s, b, size - 512, 512), 0);
  ck_assert(!rd(s, out, 0, 512));
  ck_assert_mem_eq(out, a, 512);
  ck_assert(!rd(s, out, size - 512, 512));
  ck_assert_mem_eq(out, b, 512);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(out_of_range_is_einval) {
  struct rnull_store *s = mk(1 * MiB, PG);
  uint8_t buf[PG] = {0};
  bool zero;
  ck_assert_int_eq(s->ops->write(s, buf, MiB - 512, 1024), -EINVAL);
  ck_assert_int_eq(s->ops->read(s, buf, MiB, 512, &zero), -EINVAL);
  ck_assert_int_eq(s->ops->read(s, buf, UINT64_MAX - 100, 512, &zero), -EINVAL);
  ck_assert_int_eq(s->ops->discard(s, MiB - 512, 4096), -EINVAL);
  ck_assert_int_eq(s->ops->write_zeroes(s, UINT64_MAX - 1, 4096, true), -EINVAL);
  ck_assert_int_eq(s->ops->write(s, NULL, 0, 512), -EINVAL);
  uint64_t n;
  bool hole;
  ck_assert_int_eq(s->ops->extent(s, MiB, 512, &n, &hole), -EINVAL);
  ck_assert_int_eq(s->ops->extent(s, 0, 0, &n, &hole), -EINVAL);
  ck_assert_uint_eq(s->ops->allocated(s), 0);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(read_with_data_and_null_buffer_is_einval) {
  struct rnull_store *s = mk(1 * MiB, PG);
  uint8_t in[512] = {1};
  bool zero;
  ck_assert_int_eq(s->ops->write(s, in, PG, 512), 0);
  ck_assert_int_eq(s->ops->read(s, NULL, 0, 2 * PG, &zero), -EINVAL);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(bad_page_size_is_refused) {
  errno = 0;
  ck_assert_ptr_null(rnull_store_memory_create(MiB, 3000));
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_ptr_null(rnull_store_memory_create(MiB, 256));
  ck_assert_ptr_null(rnull_store_memory_create(MiB, 0));
}
END_TEST

START_TEST(discard_frees_whole_pages_zeroes_partial) {
  struct rnull_store *s = mk(64 * MiB, PG);
  uint8_t in[4 * PG], out[4 * PG];
  fill(in, sizeof(in), 7);
  ck_assert_int_eq(s->ops->write(s, in, 0, sizeof(in)), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 4 * PG);
  /* [PG/2, 3 PG + PG/2): page 0 and 3 partial, pages 1 and 2 whole. */
  ck_assert_int_eq(s->ops->discard(s, PG / 2, 3 * PG), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 2 * PG);
  ck_assert(!rd(s, out, 0, sizeof(out)));
  ck_assert_mem_eq(out, in, PG / 2);
  ck_assert(all_zero(out + PG / 2, 3 * PG));
  ck_assert_mem_eq(out + 3 * PG + PG / 2, in + 3 * PG + PG / 2, PG / 2);
  /* The freed pages are holes again. */
  ck_assert(rd(s, out, PG, 2 * PG));
  rnull_store_destroy(s);
}
END_TEST

START_TEST(discard_of_holes_is_a_noop) {
  struct rnull_store *s = mk(4 * TiB, PG);
  /* Trimming 4 GiB - 4 KiB of nothing: cheap and harmless. */
  ck_assert_int_eq(s->ops->discard(s, TiB, UINT32_MAX - PG + 1), 0);
  ck_assert_int_eq(s->ops->write_zeroes(s, 2 * TiB, UINT32_MAX - PG + 1, false), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 0);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(write_zeroes_unmap_frees) {
  struct rnull_store *s = mk(64 * MiB, PG);
  uint8_t in[2 * PG], out[2 * PG];
  fill(in, sizeof(in), 1);
  ck_assert_int_eq(s->ops->write(s, in, 0, sizeof(in)), 0);
  ck_assert_int_eq(s->ops->write_zeroes(s, 0, 2 * PG, true), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 0);
  ck_assert(rd(s, out, 0, sizeof(out)));
  rnull_store_destroy(s);
}
END_TEST

START_TEST(write_zeroes_nounmap_keeps_pages_and_holes) {
  struct rnull_store *s = mk(64 * MiB, PG);
  uint8_t in[2 * PG], out[4 * PG];
  fill(in, sizeof(in), 1);
  ck_assert_int_eq(s->ops->write(s, in, 0, sizeof(in)), 0);
  /* Pages 0-1 are data, 2-3 holes: data pages stay allocated (zero-filled),
   * holes stay holes (our documented NOUNMAP choice). */
  ck_assert_int_eq(s->ops->write_zeroes(s, 0, 4 * PG, false), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 2 * PG);
  ck_assert(!rd(s, out, 0, sizeof(out)));
  ck_assert(all_zero(out, sizeof(out)));
  uint64_t n;
  bool hole;
  ck_assert_int_eq(s->ops->extent(s, 0, 4 * PG, &n, &hole), 0);
  ck_assert(!hole);
  ck_assert_uint_eq(n, 2 * PG);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(extents_alternate_data_and_holes) {
  struct rnull_store *s = mk(64 * MiB, PG);
  uint8_t in[2 * PG];
  uint64_t n;
  bool hole;
  fill(in, sizeof(in), 1);
  /* Layout: hole [0,4) data [4,6) hole [6,10) data [10,11) hole ... */
  ck_assert_int_eq(s->ops->write(s, in, 4 * PG, 2 * PG), 0);
  ck_assert_int_eq(s->ops->write(s, in, 10 * PG + 100, 1), 0);
  ck_assert_int_eq(s->ops->extent(s, 0, 64 * MiB, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, 4 * PG);
  ck_assert_int_eq(s->ops->extent(s, 4 * PG, 64 * MiB - 4 * PG, &n, &hole), 0);
  ck_assert(!hole);
  ck_assert_uint_eq(n, 2 * PG);
  ck_assert_int_eq(s->ops->extent(s, 6 * PG, 64 * MiB - 6 * PG, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, 4 * PG);
  ck_assert_int_eq(s->ops->extent(s, 10 * PG, 64 * MiB - 10 * PG, &n, &hole), 0);
  ck_assert(!hole);
  ck_assert_uint_eq(n, PG);
  ck_assert_int_eq(s->ops->extent(s, 11 * PG, 64 * MiB - 11 * PG, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, 64 * MiB - 11 * PG);
  /* An unaligned start inside a data page, and len clipping the run. */
  ck_assert_int_eq(s->ops->extent(s, 4 * PG + 512, 64 * MiB - 4 * PG - 512, &n, &hole), 0);
  ck_assert(!hole);
  ck_assert_uint_eq(n, 2 * PG - 512);
  ck_assert_int_eq(s->ops->extent(s, 0, 1000, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, 1000);
  /* len past the end is clipped to the disk. */
  ck_assert_int_eq(s->ops->extent(s, 64 * MiB - PG, UINT64_MAX, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, PG);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(large_pages_follow_the_block_size) {
  /* page_size = max(4 KiB, block size): with 64 KiB pages a 512-byte write
   * holds one 64 KiB page. */
  struct rnull_store *s = mk(64 * MiB, 65536);
  uint8_t in[512], out[512];
  fill(in, sizeof(in), 4);
  ck_assert_int_eq(s->ops->write(s, in, 65536 + 512, 512), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 65536);
  ck_assert(!rd(s, out, 65536 + 512, 512));
  ck_assert_mem_eq(in, out, 512);
  uint64_t n;
  bool hole;
  ck_assert_int_eq(s->ops->extent(s, 65536, 64 * MiB - 65536, &n, &hole), 0);
  ck_assert(!hole);
  ck_assert_uint_eq(n, 65536);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(size_not_a_page_multiple) {
  /* 10 sectors + 4 KiB: the last page is only partly inside the disk, and
   * trimming all of that part frees it. */
  uint64_t size = PG + 10 * 512;
  struct rnull_store *s = mk(size, PG);
  uint8_t in[10 * 512], out[10 * 512];
  fill(in, sizeof(in), 8);
  ck_assert_int_eq(s->ops->write(s, in, PG, sizeof(in)), 0);
  ck_assert(!rd(s, out, PG, sizeof(out)));
  ck_assert_mem_eq(in, out, sizeof(in));
  ck_assert_int_eq(s->ops->write(s, in, PG, 1024), 0);
  uint64_t n;
  bool hole;
  ck_assert_int_eq(s->ops->extent(s, PG, UINT64_MAX, &n, &hole), 0);
  ck_assert(!hole);
  ck_assert_uint_eq(n, 10 * 512);
  ck_assert_int_eq(s->ops->discard(s, PG, 10 * 512), 0);
  ck_assert_uint_eq(s->ops->allocated(s), 0);
  rnull_store_destroy(s);
}
END_TEST

START_TEST(one_tib_disk_costs_only_what_is_written) {
  struct rnull_store *s = mk(TiB, PG);
  uint8_t in[PG], out[PG];
  /* Sparse writes all over a 1 TiB disk, including the very last page. */
  uint64_t offs[] = {0, 123 * MiB + 512, 777ull * 1024 * MiB, TiB / 2 + 4096, TiB - PG};
  for (unsigned i = 0; i < 5; i++) {
    fill(in, PG, (uint8_t)i);
    ck_assert_int_eq(s->ops->write(s, in, offs[i], PG), 0);
  }
  for (unsigned i = 0; i < 5; i++) {
    fill(in, PG, (uint8_t)i);
    ck_assert(!rd(s, out, offs[i], PG));
    ck_assert_mem_eq(in, out, PG);
  }
  /* 123 MiB + 512 straddles two pages. */
  ck_assert_uint_eq(s->ops->allocated(s), 6 * PG);
  /* The hole between two writes is reported as one extent, quickly. */
  uint64_t n;
  bool hole;
  ck_assert_int_eq(s->ops->extent(s, PG, TiB - PG, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, 123 * MiB - PG);
  ck_assert_int_eq(s->ops->extent(s, TiB / 2 + 2 * PG, TiB / 2 - 2 * PG, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, 777ull * 1024 * MiB - (TiB / 2 + 2 * PG)); /* up to offs[2] */
  ck_assert_int_eq(s->ops->extent(s, 777ull * 1024 * MiB + PG, TiB, &n, &hole), 0);
  ck_assert(hole);
  ck_assert_uint_eq(n, TiB - PG - (777ull * 1024 * MiB + PG)); /* up to offs[4] */
  /* Trim everything, 4 GiB at a time around the data: all pages freed. */
  for (unsigned i = 0; i < 5; i++) {
    uint64_t start = offs[i] & ~(uint64_t)(PG - 1);
    uint32_t len = start + 2 * PG <= TiB ? 2 * PG : PG;
    ck_assert_int_eq(s->ops->discard(s, start, len), 0);
  }
  ck_assert_uint_eq(s->ops->allocated(s), 0);
  rnull_store_destroy(s);
}
END_TEST

#ifndef SANITIZED
/* Bytes of address space in use (VmSize), from /proc/self/statm. */
static uint64_t vm_size(void) {
  unsigned long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
  fclose(f);
  return (uint64_t)pages * 4096;
}

START_TEST(allocation_failure_is_enomem) {
  /* check runs this test in its own process (CK_FORK): cap its address
   * space 64 MiB above what it uses, then write a 64 GiB disk until a
   * page cannot be allocated. The write fails with -ENOMEM, no crash,
   * and what was written before is intact. */
  struct rnull_store *s = mk(64ull * 1024 * MiB, PG);
  struct rlimit rl;
  ck_assert_int_eq(getrlimit(RLIMIT_AS, &rl), 0);
  rl.rlim_cur = vm_size() + 64 * MiB;
  ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
  static uint8_t in[64 * 1024], out[64 * 1024];
  fill(in, sizeof in, 42);
  uint64_t off = 0;
  int r = 0;
  while (off < 1024 * MiB && (r = s->ops->write(s, in, off, sizeof in)) == 0)
    off += sizeof in;
  ck_assert_int_eq(r, -ENOMEM);
  ck_assert_uint_gt(off, 0);
  ck_assert_uint_ge(s->ops->allocated(s), off);
  ck_assert(!rd(s, out, 0, sizeof out));
  ck_assert_mem_eq(in, out, sizeof in);
  ck_assert(!rd(s, out, off - sizeof out, sizeof out));
  ck_assert_mem_eq(in, out, sizeof in);
  /* freeing makes room again */
  ck_assert_int_eq(s->ops->discard(s, 0, 32 * MiB), 0);
  ck_assert_int_eq(s->ops->write(s, in, off, sizeof in), 0);
  rnull_store_destroy(s);
}
END_TEST
#endif

/* Concurrency: each thread owns a stripe of blocks and checks its data while
 * others write, read, trim and zero their own stripes; a shared page read by
 * all checks readers never see torn writes of a whole page. */
#define NTHREADS 4
#define NBLOCKS 256
#define ROUNDS 3000

struct stress_arg {
  struct rnull_store *s;
  unsigned id;
  int failures;
};

static void *stress_thread(void *p) {
  struct stress_arg *a = p;
  struct rnull_store *s = a->s;
  uint8_t in[1024], out[1024];
  unsigned rng = a->id * 2654435761u + 1;
  for (unsigned r = 0; r < ROUNDS; r++) {
    rng = rng * 1103515245u + 12345u;
    /* Blocks of 1 KiB, interleaved so that threads share pages. */
    uint64_t blk = ((rng >> 8) % NBLOCKS) * NTHREADS + a->id;
    uint64_t off = blk * 1024;
    memset(in, (int)(a->id + 1 + r % 200), sizeof(in));
    bool zero;
    switch ((rng >> 4) % 4) {
    case 0:
    case 1:
      if (s->ops->write(s, in, off, sizeof(in)) != 0)
        a->failures++;
      if (s->ops->read(s, out, off, sizeof(out), &zero) != 0 || zero ||
          memcmp(in, out, sizeof(in)) != 0)
        a->failures++;
      break;
    case 2:
      if (s->ops->write_zeroes(s, off, sizeof(in), (rng & 1) != 0) != 0)
        a->failures++;
      memset(out, 0xAA, sizeof(out));
      if (s->ops->read(s, out, off, sizeof(out), &zero) != 0 || (!zero && !all_zero(out, 1024)))
        a->failures++;
      break;
    default: {
      /* A whole page trimmed by everybody: harmless to each other's data
       * only if outside the stripes, so use the page past them. */
      uint64_t shared = (uint64_t)NBLOCKS * NTHREADS * 1024;
      if (s->ops->discard(s, shared, PG) != 0)
        a->failures++;
      memset(in, 0x5A, sizeof(in));
      if (s->ops->write(s, in, shared + a->id * 1024, 1024) != 0)
        a->failures++;
      uint64_t n;
      bool hole;
      if (s->ops->extent(s, 0, shared + PG, &n, &hole) != 0 || n == 0)
        a->failures++;
      break;
    }
    }
  }
  return NULL;
}

START_TEST(concurrent_readers_writers_trimmers) {
  struct rnull_store *s = mk(64 * MiB, PG);
  pthread_t th[NTHREADS];
  struct stress_arg args[NTHREADS];
  for (unsigned i = 0; i < NTHREADS; i++) {
    args[i] = (struct stress_arg){s, i, 0};
    ck_assert_int_eq(pthread_create(&th[i], NULL, stress_thread, &args[i]), 0);
  }
  for (unsigned i = 0; i < NTHREADS; i++) {
    pthread_join(th[i], NULL);
    ck_assert_int_eq(args[i].failures, 0);
  }
  ck_assert_uint_le(s->ops->allocated(s), (NBLOCKS * NTHREADS * 1024ull) + PG);
  rnull_store_destroy(s);
}
END_TEST

Suite *store_memory_suite(void) {
  Suite *su = suite_create("store_memory");
  TCase *tc = tcase_create("basic");
  tcase_add_test(tc, fresh_store_is_all_holes);
  tcase_add_test(tc, write_then_read_back);
  tcase_add_test(tc, partial_page_write_zero_fills_the_rest);
  tcase_add_test(tc, read_mixing_holes_and_data);
  tcase_add_test(tc, page_straddling_write);
  tcase_add_test(tc, first_and_last_block);
  tcase_add_test(tc, out_of_range_is_einval);
  tcase_add_test(tc, read_with_data_and_null_buffer_is_einval);
  tcase_add_test(tc, bad_page_size_is_refused);
  tcase_add_test(tc, discard_frees_whole_pages_zeroes_partial);
  tcase_add_test(tc, discard_of_holes_is_a_noop);
  tcase_add_test(tc, write_zeroes_unmap_frees);
  tcase_add_test(tc, write_zeroes_nounmap_keeps_pages_and_holes);
  tcase_add_test(tc, extents_alternate_data_and_holes);
  tcase_add_test(tc, large_pages_follow_the_block_size);
  tcase_add_test(tc, size_not_a_page_multiple);
  tcase_add_test(tc, one_tib_disk_costs_only_what_is_written);
#ifndef SANITIZED
  /* only in a forked test process: the address-space cap must not outlive it */
  const char *fork_env = getenv("CK_FORK");
  if (!fork_env || strcmp(fork_env, "no") != 0)
    tcase_add_test(tc, allocation_failure_is_enomem);
#endif
  suite_add_tcase(su, tc);
  TCase *tcc = tcase_create("concurrency");
  tcase_add_test(tcc, concurrent_readers_writers_trimmers);
  suite_add_tcase(su, tcc);
  return su;
}

int main(void) {
  SRunner *sr = srunner_create(store_memory_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
