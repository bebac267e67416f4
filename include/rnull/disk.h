/* The disk: what a front end serves. Created from a config (INITIALIZED:
 * still configurable), then added (ADDED: tag set allocated, serving,
 * configuration frozen), then destroyed. */
#ifndef RNULL_DISK_H
#define RNULL_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnull/clock.h"
#include "rnull/config.h"
#include "rnull/io.h"

struct rnull_disk;
struct rnull_hctx;
struct rnull_ops;

enum rnull_disk_state { RNULL_DISK_INITIALIZED, RNULL_DISK_ADDED };

/* Validate cfg (rnull_config_check) and create an INITIALIZED disk.
 * 0, -EINVAL (err says why) or -ENOMEM. */
int rnull_disk_create(struct rnull_disk **out, const struct rnull_config *cfg, char *err,
                      size_t errlen);

/* Change one option while INITIALIZED; -EBUSY once ADDED. */
int rnull_disk_set(struct rnull_disk *d, const char *key, const char *value, char *err,
                   size_t errlen);

/* Replace the driver (default rnull_null_ops with the disk as driver_data)
 * or the clock (default rnull_clock_monotonic). -EBUSY once ADDED. */
int rnull_disk_set_ops(struct rnull_disk *d, const struct rnull_ops *ops, void *driver_data);
int rnull_disk_set_clock(struct rnull_disk *d, rnull_clock_fn clock, void *ctx);

/* INITIALIZED -> ADDED: allocate the store, tag set, requests and PDUs, call
 * init_hctx/init_request. end_io is the front end's completion callback.
 * 0, -EBUSY (already added), -ENOMEM, or the driver's error (err says). */
int rnull_disk_add(struct rnull_disk *d, rnull_end_io_fn end_io, char *err, size_t errlen);

/* Tear down (any state). In-flight requests must have ended. */
void rnull_disk_destroy(struct rnull_disk *d);

enum rnull_disk_state rnull_disk_state(const struct rnull_disk *d);
const struct rnull_config *rnull_disk_config(const struct rnull_disk *d);
const char *rnull_disk_name(const struct rnull_disk *d);
uint64_t rnull_disk_size(const struct rnull_disk *d);     /* bytes */
uint64_t rnull_disk_capacity(const struct rnull_disk *d); /* 512-byte sectors */
uint32_t rnull_disk_logical_block_size(const struct rnull_disk *d);
uint32_t rnull_disk_physical_block_size(const struct rnull_disk *d);
uint32_t rnull_disk_max_transfer(const struct rnull_disk *d);
bool rnull_disk_rotational(const struct rnull_disk *d);
bool rnull_disk_readonly(const struct rnull_disk *d);
unsigned rnull_disk_nr_hw_queues(const struct rnull_disk *d);
unsigned rnull_disk_queue_depth(const struct rnull_disk *d);
struct rnull_hctx *rnull_disk_hctx(struct rnull_disk *d, unsigned idx);
uint64_t rnull_disk_now(const struct rnull_disk *d);

/* What the disk offers (front ends advertise exactly these). */
bool rnull_disk_can_discard(const struct rnull_disk *d);
bool rnull_disk_can_fast_zero(const struct rnull_disk *d);
/* Every read returns zeros (null store): a front end may skip read buffers
 * and pass buf = NULL; end_io then always has RNULL_DONE_ZERO. */
bool rnull_disk_reads_zero(const struct rnull_disk *d);

/* Validate an I/O without submitting it (what rnull_submit checks first). */
int rnull_disk_check_io(const struct rnull_disk *d, const struct rnull_io *io);

/* Allocation status from offset: *len_out bytes (0 < *len_out <= len) share
 * one state; *hole means unallocated and reading as zeros. 0 or -errno. */
int rnull_disk_extent(struct rnull_disk *d, uint64_t offset, uint64_t len, uint64_t *len_out,
                      bool *hole);

#endif
