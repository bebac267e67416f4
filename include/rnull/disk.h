/* The disk (the kernel's gendisk + request queue + queue limits): what a
 * front end serves and what a driver is attached to.
 *
 * The core takes core parameters only (struct rnull_disk_params: geometry,
 * queues, depth, timeout), as blk-mq takes a tag set and queue limits and
 * the Rust GenDiskBuilder + TagSet do; a driver's keys are the driver's own
 * (its own table and struct: the null driver's are in null.h).
 * Front ends: create a disk with a driver attached (rnull_null_disk_create
 * in null.h, or rnull_disk_create + set_ops for another driver),
 * rnull_disk_add it, read its geometry and features to advertise them,
 * submit through its hctxs (hctx.h), destroy it.
 * Drivers: rnull_disk_set_features from init_disk; rnull_disk_params and
 * rnull_disk_driver_data to reach the core's parameters and their state.
 * Threads: create, set*, add and destroy from one thread at a time; the
 * getters from any thread once ADDED.
 *
 * States: INITIALIZED (configurable: options, driver, clock), then ADDED
 * (tag set allocated, serving, configuration frozen), then destroyed. */
#ifndef RNULL_DISK_H
#define RNULL_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rnull/clock.h"
#include "rnull/config.h"
#include "rnull/export.h"
#include "rnull/io.h"

struct rnull_disk;
struct rnull_hctx;
struct rnull_ops;

enum rnull_disk_state { RNULL_DISK_INITIALIZED, RNULL_DISK_ADDED };

/* What the driver offers, declared with rnull_disk_set_features (front ends
 * advertise exactly these). */
#define RNULL_FEAT_DISCARD 0x1u    /* trim; without it RNULL_OP_DISCARD is -ENOTSUP */
#define RNULL_FEAT_FAST_ZERO 0x2u  /* write zeroes never slower than a write */
#define RNULL_FEAT_READS_ZERO 0x4u /* every read returns zeros (no read buffer needed) */
/* a volatile write cache: FLUSH makes completed writes durable (front ends
 * offer flush always; this one says it matters) */
#define RNULL_FEAT_VOLATILE_CACHE 0x8u
#define RNULL_FEAT_NO_FUA 0x10u /* FUA not offered (null_blk's fua=0 with a cache) */

/* The core parameters (the keys of rnull_disk_options, owner "core"). */
struct rnull_disk_params {
  char name[RNULL_DISK_NAME_LEN];
  uint64_t size;               /* bytes */
  uint32_t blocksize;          /* logical block size */
  uint32_t physical_blocksize; /* 0 = same as blocksize */
  uint32_t max_transfer;       /* largest request, bytes */
  bool rotational;
  bool readonly;
  uint32_t submit_queues;  /* hw queues */
  uint32_t hw_queue_depth; /* tags per hw queue */
  uint64_t timeout_ms;     /* request timeout (live: rnull_disk_set_timeout_ms) */
};

/* The core's keys (a constant table; any thread). */
RNULL_API const struct rnull_option_table *rnull_disk_options(void);
/* Defaults: rnull v4's disk (4 GiB, 4096-byte blocks, 1 queue of 256). */
RNULL_API void rnull_disk_params_init(struct rnull_disk_params *p);
/* One core key=value into p: 0, -EINVAL or -ENOENT (not a core key), err set. */
RNULL_API int rnull_disk_params_set(struct rnull_disk_params *p, const char *key, const char *value,
                                    char *err, size_t errlen);
/* Checks between core keys (physical_blocksize >= blocksize, size a
 * multiple of it, max_transfer...). 0 or -EINVAL with err set. */
RNULL_API int rnull_disk_params_check(const struct rnull_disk_params *p, char *err, size_t errlen);

/* The engine memory a disk of p takes once added, with a driver whose PDU
 * is cmd_size bytes: the disk, each hctx (its statistics included), each
 * request with its timer slot and PDU; bytes. A registry budgets with it
 * before making a disk. (A driver adds its own state; the null driver's
 * whole figure is rnull_null_disk_memory.) */
RNULL_API uint64_t rnull_disk_params_memory(const struct rnull_disk_params *p, size_t cmd_size);

/* Validate p (rnull_disk_params_check) and create an INITIALIZED disk with
 * no driver (p is copied): attach one with rnull_disk_set_ops before
 * rnull_disk_add. 0, -EINVAL (err says why) or -ENOMEM. */
RNULL_API int rnull_disk_create(struct rnull_disk **out, const struct rnull_disk_params *p,
                                char *err, size_t errlen);

/* Change one core key while INITIALIZED: 0, -EINVAL/-ENOENT (err says),
 * -EBUSY once ADDED. */
RNULL_API int rnull_disk_set(struct rnull_disk *d, const char *key, const char *value, char *err,
                             size_t errlen);

/* Attach the driver and its data, or replace the clock (default
 * rnull_clock_monotonic). -EBUSY once ADDED. */
RNULL_API int rnull_disk_set_ops(struct rnull_disk *d, const struct rnull_ops *ops,
                                 void *driver_data);
RNULL_API int rnull_disk_set_clock(struct rnull_disk *d, rnull_clock_fn clock, void *ctx);
/* RNULL_FEAT_* flags; before or during init_disk only (-EBUSY once ADDED). */
RNULL_API int rnull_disk_set_features(struct rnull_disk *d, unsigned features);

/* INITIALIZED -> ADDED: the driver's init_disk, then the tag set, requests
 * and PDUs, init_hctx/init_request. end_io is the front end's completion
 * callback. 0, -EBUSY (already added), -EINVAL (no driver), -ENOMEM, or
 * the driver's error (err says). On error, destroy the disk. */
RNULL_API int rnull_disk_add(struct rnull_disk *d, rnull_end_io_fn end_io, char *err,
                             size_t errlen);

/* Tear down (any state); the driver's free_disk runs last. In-flight
 * requests must have ended. */
RNULL_API void rnull_disk_destroy(struct rnull_disk *d);

/* The request timeout, live: requests dispatched from now on expire ms
 * after dispatch. 0 or -EINVAL (outside timeout_ms's range). */
RNULL_API int rnull_disk_set_timeout_ms(struct rnull_disk *d, uint64_t ms);

/* A driver's hint to front ends with several submitters (connections) on
 * one hw queue: its requests wait for a budget served first come, first
 * served (a throttle), so each submitter should keep at most this many
 * bytes of reads and writes in the engine at once and the budget is shared
 * in turn. 0 (the default): no need. Any thread, any state; the driver may
 * change it live (the null driver: max_transfer while mbps is set). */
RNULL_API void rnull_disk_set_fair_share(struct rnull_disk *d, uint64_t bytes);
RNULL_API uint64_t rnull_disk_fair_share(const struct rnull_disk *d);

RNULL_API enum rnull_disk_state rnull_disk_state(const struct rnull_disk *d);
/* The core parameters, as created (physical_blocksize resolved once ADDED;
 * timeout_ms as created: the live value is the disk's own). */
RNULL_API const struct rnull_disk_params *rnull_disk_params(const struct rnull_disk *d);
RNULL_API void *rnull_disk_driver_data(const struct rnull_disk *d);
/* The attached driver's vtable (NULL before rnull_disk_set_ops): a driver
 * telling its own disks from others'. */
RNULL_API const struct rnull_ops *rnull_disk_ops(const struct rnull_disk *d);
RNULL_API const char *rnull_disk_name(const struct rnull_disk *d);
RNULL_API uint64_t rnull_disk_size(const struct rnull_disk *d);     /* bytes */
RNULL_API uint64_t rnull_disk_capacity(const struct rnull_disk *d); /* 512-byte sectors */
RNULL_API uint32_t rnull_disk_logical_block_size(const struct rnull_disk *d);
RNULL_API uint32_t rnull_disk_physical_block_size(const struct rnull_disk *d);
RNULL_API uint32_t rnull_disk_max_transfer(const struct rnull_disk *d);
RNULL_API bool rnull_disk_rotational(const struct rnull_disk *d);
RNULL_API bool rnull_disk_readonly(const struct rnull_disk *d);
RNULL_API unsigned rnull_disk_nr_hw_queues(const struct rnull_disk *d);
RNULL_API unsigned rnull_disk_queue_depth(const struct rnull_disk *d);
RNULL_API struct rnull_hctx *rnull_disk_hctx(struct rnull_disk *d, unsigned idx);
RNULL_API uint64_t rnull_disk_now(const struct rnull_disk *d);

/* What the disk offers: its driver's features (and the disk writable). */
RNULL_API bool rnull_disk_can_discard(const struct rnull_disk *d);
RNULL_API bool rnull_disk_can_fast_zero(const struct rnull_disk *d);
/* FUA offered: unless the driver says RNULL_FEAT_NO_FUA. */
RNULL_API bool rnull_disk_can_fua(const struct rnull_disk *d);
/* Every read returns zeros: a front end may skip read buffers and pass
 * buf = NULL; end_io then always has RNULL_DONE_ZERO. */
RNULL_API bool rnull_disk_reads_zero(const struct rnull_disk *d);

/* Validate an I/O without submitting it (what rnull_submit checks first). */
RNULL_API int rnull_disk_check_io(const struct rnull_disk *d, const struct rnull_io *io);

/* Allocation status from offset (the driver's extent op, clamped to the
 * disk): *len_out bytes (0 < *len_out <= len) share one state; *hole means
 * unallocated and reading as zeros. 0 or -errno. */
RNULL_API int rnull_disk_extent(struct rnull_disk *d, uint64_t offset, uint64_t len,
                                uint64_t *len_out, bool *hole);

#endif
