/* The kernel's block statistics format (Documentation/block/stat.rst,
 * Documentation/admin-guide/iostats.rst) from the one snapshot,
 * rnull_disk_stats: what iostat -f DIR reads. The groups are the kernel's
 * (op_stat_group): write zeroes are writes, trims discards; the ms fields
 * are sums of the requests' ns, as diskstats_show divides part_stat's
 * nsecs; io_ticks is the core's busy time. Nothing is ever merged. */
#include <inttypes.h>
#include <stdio.h>

#include "rnull/disk.h"
#include "rnull/stats.h"

#define NS_PER_MS 1000000u

struct kstat {
  uint64_t f[17];
};

static void kstat_of(struct rnull_disk *d, struct kstat *k) {
  struct rnull_stats s;
  rnull_disk_stats(d, &s);
  uint64_t wns = s.write_ns + s.zero_ns;
  *k = (struct kstat){{
      s.reads,
      0,
      s.bytes_read / 512,
      s.read_ns / NS_PER_MS,
      s.writes + s.zeroes,
      0,
      (s.bytes_written + s.bytes_zeroed) / 512,
      wns / NS_PER_MS,
      s.inflight,
      s.busy_ns / NS_PER_MS,
      (s.read_ns + wns + s.trim_ns + s.flush_ns) / NS_PER_MS,
      s.trims,
      0,
      s.bytes_trimmed / 512,
      s.trim_ns / NS_PER_MS,
      s.flushes,
      s.flush_ns / NS_PER_MS,
  }};
}

/* The 17 fields, each width wide (block/<disk>/stat: 8; diskstats: 0). */
static int kstat_print(const struct kstat *k, int width, char *buf, size_t len) {
  size_t n = 0;
  for (unsigned i = 0; i < 17; i++) {
    int r = snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, "%s%*" PRIu64, i ? " " : "",
                     width, k->f[i]);
    if (r < 0)
      return r;
    n += (size_t)r;
  }
  int r = snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, "\n");
  return r < 0 ? r : (int)(n + (size_t)r);
}

int rnull_stats_block_stat(struct rnull_disk *d, char *buf, size_t len) {
  struct kstat k;
  kstat_of(d, &k);
  return kstat_print(&k, 8, buf, len);
}

int rnull_stats_diskstats_line(struct rnull_disk *d, unsigned major, unsigned minor, char *buf,
                               size_t len) {
  struct kstat k;
  kstat_of(d, &k);
  int h = snprintf(buf, len, "%4u %7u %s ", major, minor, rnull_disk_name(d));
  if (h < 0)
    return h;
  size_t off = (size_t)h < len ? (size_t)h : len;
  int r = kstat_print(&k, 0, buf + off, len - off);
  return r < 0 ? r : h + r;
}
