/* Built against the installed librnull only (pkg-config rnull): a front end
 * of the null driver's disk and a tiny driver of its own, each serving one
 * read. Exit status 0 when both behave as the headers say. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rnull/driver.h"
#include "rnull/rnull.h"

static int ended, last_status;
static unsigned last_flags;

static void end_io(void *cookie, int status, uint32_t done_flags) {
  (void)cookie;
  ended++;
  last_status = status;
  last_flags = done_flags;
}

/* A driver that ends every request in queue_rq, counting them in its PDU. */
static int my_queue_rq(struct rnull_rq *rq, bool is_last) {
  (void)is_last;
  ++*(unsigned *)rnull_rq_pdu(rq);
  return rnull_rq_end(rq, rnull_rq_io(rq)->op == RNULL_OP_READ ? 0 : -EIO);
}
static const struct rnull_ops my_ops = {.queue_rq = my_queue_rq, .cmd_size = sizeof(unsigned)};

static int serve_one_read(struct rnull_disk *d, const char *what) {
  char err[RNULL_ERR_LEN], buf[4096];
  if (rnull_disk_add(d, end_io, err, sizeof err) != 0) {
    fprintf(stderr, "%s: add: %s\n", what, err);
    return 1;
  }
  struct rnull_io io = {.op = RNULL_OP_READ, .offset = 4096, .len = 4096, .buf = buf};
  ended = 0;
  int r = rnull_submit(rnull_disk_hctx(d, 0), &io, RNULL_SUBMIT_LAST);
  struct rnull_stats st;
  rnull_disk_stats(d, &st);
  printf("%s: submit %d, ended %d, status %d, flags %u, completed %llu\n", what, r, ended,
         last_status, last_flags, (unsigned long long)st.completed);
  return r != 0 || ended != 1 || last_status != 0 || st.completed != 1;
}

int main(void) {
  struct rnull_config cfg;
  char err[RNULL_ERR_LEN];
  struct rnull_disk *d;
  rnull_config_init(&cfg);
  if (rnull_config_set(&cfg, "size", "1M", err, sizeof err) != 0 ||
      rnull_null_disk_create(&d, &cfg, err, sizeof err) != 0) {
    fprintf(stderr, "null disk: %s\n", err);
    return 1;
  }
  int fail = serve_one_read(d, "null driver") || last_flags != RNULL_DONE_ZERO;
  rnull_disk_destroy(d);
  /* another driver gets the core's parameters only */
  if (rnull_disk_create(&d, &cfg.core, err, sizeof err) != 0 ||
      rnull_disk_set_ops(d, &my_ops, NULL)) {
    fprintf(stderr, "my disk: %s\n", err);
    return 1;
  }
  fail |= serve_one_read(d, "my driver") || last_flags != 0;
  rnull_disk_destroy(d);
  return fail;
}
