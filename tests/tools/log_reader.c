/* See log_reader.h: a dm-log-writes log reader and replayer for tests. */
#include "log_reader.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#define LR_MAGIC 0x6a736677736872ull

static uint64_t le64_at(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return le64toh(v);
}

int lr_open(struct lr_log *l, const char *path, char *err, size_t errlen) {
  unsigned char b[28];
  memset(l, 0, sizeof *l);
  if (!(l->f = fopen(path, "rb"))) {
    snprintf(err, errlen, "%s: cannot open", path);
    return -1;
  }
  if (fread(b, 1, sizeof b, l->f) != sizeof b) {
    snprintf(err, errlen, "%s: shorter than a super block", path);
    return -1;
  }
  uint32_t ss;
  memcpy(&ss, b + 24, 4);
  l->sectorsize = le32toh(ss);
  l->nr_entries = le64_at(b + 16);
  if (le64_at(b) != LR_MAGIC || le64_at(b + 8) != 1 || l->sectorsize < 512 ||
      (l->sectorsize & (l->sectorsize - 1))) {
    snprintf(err, errlen, "%s: bad super block (magic %#llx version %llu sectorsize %llu)", path,
             (unsigned long long)le64_at(b), (unsigned long long)le64_at(b + 8),
             (unsigned long long)l->sectorsize);
    return -1;
  }
  l->next = l->sectorsize;
  return 0;
}

void lr_close(struct lr_log *l) {
  if (l->f)
    fclose(l->f);
  l->f = NULL;
}

int lr_next(struct lr_log *l, struct lr_entry *e, char *err, size_t errlen) {
  if (l->index >= l->nr_entries)
    return 0;
  unsigned char *blk = malloc(l->sectorsize);
  if (!blk || fseeko(l->f, (off_t)l->next, SEEK_SET) ||
      fread(blk, 1, l->sectorsize, l->f) != l->sectorsize) {
    snprintf(err, errlen, "entry %llu at %llu: truncated log", (unsigned long long)l->index,
             (unsigned long long)l->next);
    free(blk);
    return -1;
  }
  e->sector = le64_at(blk);
  e->nr_sectors = le64_at(blk + 8);
  e->flags = le64_at(blk + 16);
  e->data_len = le64_at(blk + 24);
  e->mark[0] = 0;
  if (e->flags & LR_MARK) {
    uint64_t n = e->data_len < l->sectorsize - 32 ? e->data_len : l->sectorsize - 32;
    memcpy(e->mark, blk + 32, n);
    e->mark[n] = 0;
  }
  free(blk);
  l->next += l->sectorsize;
  l->index++;
  return 1;
}

static int copy_data(struct lr_log *l, FILE *img, const struct lr_entry *e) {
  uint64_t len = e->nr_sectors * l->sectorsize, off = e->sector * l->sectorsize;
  bool discard = e->flags & LR_DISCARD;
  char buf[65536];
  if (fseeko(img, (off_t)off, SEEK_SET))
    return -1;
  if (!discard && fseeko(l->f, (off_t)l->next, SEEK_SET))
    return -1;
  for (uint64_t done = 0; done < len;) {
    size_t n = len - done < sizeof buf ? (size_t)(len - done) : sizeof buf;
    if (discard)
      memset(buf, 0, n);
    else if (fread(buf, 1, n, l->f) != n)
      return -1;
    if (fwrite(buf, 1, n, img) != n)
      return -1;
    done += n;
  }
  if (!discard)
    l->next += len;
  return 0;
}

long lr_replay(const char *log, const char *img_path, const char *end_mark, long end_flush,
               char *err, size_t errlen) {
  struct lr_log l = {0};
  struct lr_entry *e = malloc(sizeof *e);
  FILE *img = fopen(img_path, "r+b");
  long n = 0, flushes = 0;
  int r;
  if (!e || !img || lr_open(&l, log, err, errlen) < 0) {
    if (!img)
      snprintf(err, errlen, "%s: cannot open the image", img_path);
    goto fail;
  }
  while ((r = lr_next(&l, e, err, errlen)) == 1) {
    n++;
    if (copy_data(&l, img, e) < 0) {
      snprintf(err, errlen, "entry %ld: cannot replay its data", n);
      goto fail;
    }
    if (end_mark && (e->flags & LR_MARK) && !strcmp(e->mark, end_mark))
      goto done;
    if (end_flush > 0 && (e->flags & LR_FLUSH) && ++flushes == end_flush)
      goto done;
  }
  if (r < 0)
    goto fail;
  if (end_mark || end_flush > 0) {
    snprintf(err, errlen, "%s: mark or flush not found in %ld entries", log, n);
    lr_close(&l);
    fclose(img);
    free(e);
    return -2;
  }
done:
  lr_close(&l);
  fclose(img);
  free(e);
  return n;
fail:
  lr_close(&l);
  if (img)
    fclose(img);
  free(e);
  return -1;
}
