/* nbdkit plugin rnull.so: the rnull engine's disk served by nbdkit.
 * Each callback maps one to one onto the front-end API (include/rnull/
 * rnull.h): config onto the option table, config_complete onto a null
 * driver disk (rnull_null_disk_create), get_ready onto rnull_disk_add; the
 * data path is in data_path.c, statistics in stats_reporter.c. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nbdkit-plugin.h>

#include "config_help.h" /* generated from the option tables */
#include "plugin.h"
#include "plugin_options.h"
#include "rnull/rnull.h"
#include "shutdown_watch.h"
#include "stats_reporter.h"
#include "submit_wait.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

struct rnull_disk *rnull_plugin_disk;
static struct rnull_config cfg;
static atomic_uint next_queue;         /* round-robin of connections over hw queues */
static struct rnull_plugin_params own; /* the plugin's keys: control=, nr_devices= */
static struct rnull_ctl *ctl;          /* more disks by name (control= or nr_devices=) */

/* Defaults first, so config only overrides what the user gave. */
static void rnull_load(void) {
  rnull_config_init(&cfg);
  rnull_option_table_defaults(rnull_plugin_options(), &own);
}

/* Stop the reporter before the disk it reads goes away; final stats. */
static void rnull_unload(void) {
  rnull_shutdown_watch_stop();
  rnull_stats_reporter_stop();
  rnull_ctl_free(ctl); /* its socket, its disks (ours is only adopted) */
  ctl = NULL;
  if (rnull_plugin_disk == NULL)
    return;
  if (rnull_disk_state(rnull_plugin_disk) == RNULL_DISK_ADDED)
    rnull_stats_print(rnull_plugin_disk, stderr);
  rnull_disk_destroy(rnull_plugin_disk);
  rnull_plugin_disk = NULL;
}

/* Every key goes through its owner's table: the plugin's own, then a
 * disk's (the core's, the null driver's, the front ends'). */
static int rnull_config(const char *key, const char *value) {
  char err[RNULL_ERR_LEN];
  const struct rnull_option *o = rnull_option_table_find(rnull_plugin_options(), key);
  int r = o ? rnull_option_set(o, &own, value, err, sizeof err)
            : rnull_config_set(&cfg, key, value, err, sizeof err);

  if (r < 0) {
    nbdkit_error("%s", err);
    return -1;
  }
  return 0;
}

/* Checks between keys (done by disk_create), then the INITIALIZED disk. */
static int rnull_config_complete(void) {
  char err[RNULL_ERR_LEN];

  if (rnull_null_disk_create(&rnull_plugin_disk, &cfg, err, sizeof err) < 0) {
    nbdkit_error("%s", err);
    return -1;
  }
  return 0;
}

/* The registry: our disk under its name, then nr_devices' others. */
static int make_registry(void) {
  char err[RNULL_ERR_LEN];
  struct rnull_ctl_hooks h = {.end_io = rnull_plugin_end_io};

  if (rnull_ctl_new(&ctl, &h) < 0 || rnull_ctl_adopt(ctl, rnull_plugin_disk, err, sizeof err) < 0) {
    nbdkit_error("%s", ctl ? err : "out of memory");
    return -1;
  }
  for (unsigned i = 1; i < own.nr_devices; i++) {
    struct rnull_config c = cfg;
    snprintf(c.core.name, sizeof c.core.name, "rnullb%u", i);
    c.fe.stats_file[0] = 0;
    c.fe.stats_dir[0] = 0;
    if (rnull_ctl_create(ctl, &c, true, err, sizeof err) < 0) {
      nbdkit_error("%s", err);
      return -1;
    }
  }
  return 0;
}

/* nbdkit changes directory to / when it forks: the statistics paths are
 * made absolute while the user's directory is still ours (before the fork). */
static int absolute_path(char *path, size_t size) {
  if (!path[0] || path[0] == '/')
    return 0;
  char *a = nbdkit_absolute_path(path);
  if (!a)
    return -1; /* nbdkit said why */
  int fits = strlen(a) < size;
  if (fits)
    strcpy(path, a);
  else
    nbdkit_error("%s: longer than %zu bytes once absolute", path, size - 1);
  free(a);
  return fits ? 0 : -1;
}

/* Allocate tags and requests before the first connection: ADDED. */
static int rnull_get_ready(void) {
  char err[RNULL_ERR_LEN];

  if (absolute_path(cfg.fe.stats_file, sizeof cfg.fe.stats_file) < 0 ||
      absolute_path(cfg.fe.stats_dir, sizeof cfg.fe.stats_dir) < 0)
    return -1;

  if (rnull_disk_add(rnull_plugin_disk, rnull_plugin_end_io, err, sizeof err) < 0) {
    nbdkit_error("%s", err);
    return -1;
  }
  return own.control[0] || own.nr_devices > 1 ? make_registry() : 0;
}

/* Threads do not survive nbdkit's fork into the background: start here.
 * nbdkit's signal handlers are set by now: chain ours in front. */
static int rnull_after_fork(void) {
  rnull_shutdown_watch_start();
  char err[RNULL_ERR_LEN];

  if (own.control[0] && rnull_ctl_listen(ctl, own.control, err, sizeof err) < 0) {
    nbdkit_error("%s", err + (strncmp(err, "--", 2) == 0 ? 2 : 0));
    return -1;
  }
  return rnull_stats_reporter_start(rnull_plugin_disk, cfg.fe.stats_file, cfg.fe.stats_dir, ctl);
}

static void add_export(void *exports, const char *name, const char *desc) {
  nbdkit_add_export(exports, name, desc);
}

/* "" (our disk), then every other powered disk of the registry by name. */
static int rnull_list_exports(int readonly, int is_tls, struct nbdkit_exports *exports) {
  (void)readonly;
  (void)is_tls;
  if (nbdkit_add_export(exports, "", rnull_disk_name(rnull_plugin_disk)) < 0)
    return -1;
  if (ctl)
    rnull_ctl_list_powered(ctl, rnull_disk_name(rnull_plugin_disk), add_export, exports);
  return 0;
}

/* Effective settings, prefixed so scripts can pick them out. */
static void rnull_dump_plugin(void) {
  char *text = NULL, *line, *save = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);

  if (m == NULL)
    return;
  rnull_config_dump(&cfg, m);
  fclose(m);
  for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    printf("rnull_%s\n", line);
  free(text);
}

/* The export name picks the disk ("" or our disk's name: ours, else a
 * powered disk of the registry); a connection lives on one hw queue, as a CPU maps to one. */
static void *rnull_open(int readonly) {
  const char *name = nbdkit_export_name();
  struct rnull_plugin_conn *c = calloc(1, sizeof *c);

  (void)readonly;
  if (!c) {
    nbdkit_error("out of memory");
    return NULL;
  }
  c->disk = rnull_plugin_disk;
  /* without a registry any name is our disk, as before (and as nbdkit null) */
  if (ctl && name && name[0] && strcmp(name, rnull_disk_name(rnull_plugin_disk)) != 0) {
    c->cd = rnull_ctl_get(ctl, name);
    if (!c->cd) {
      nbdkit_error("%s: no such disk, or powered off", name);
      free(c);
      return NULL;
    }
    c->disk = rnull_ctl_disk_engine(c->cd);
  }
  unsigned n = rnull_disk_nr_hw_queues(c->disk);
  c->hctx = rnull_disk_hctx(c->disk, atomic_fetch_add(&next_queue, 1) % n);
  return c;
}

/* The registry lets go of the disk (a power off may be waiting for it). */
static void rnull_close(void *handle) {
  struct rnull_plugin_conn *c = handle;

  if (c->cd)
    rnull_ctl_put(c->cd);
  free(c);
}

#define DISK(handle) (((struct rnull_plugin_conn *)(handle))->disk)

/* The disk's name, as the kernel's gendisk would show it. */
static const char *rnull_export_description(void *handle) {
  const char *name = rnull_disk_name(DISK(handle));

  return name[0] ? name : NULL;
}

/* Capacity in bytes. */
static int64_t rnull_get_size(void *handle) { return (int64_t)rnull_disk_size(DISK(handle)); }

/* Logical block, physical block, largest request: the queue limits. */
static int rnull_block_size(void *handle, uint32_t *minimum, uint32_t *preferred,
                            uint32_t *maximum) {
  *minimum = rnull_disk_logical_block_size(DISK(handle));
  *preferred = rnull_disk_physical_block_size(DISK(handle));
  *maximum = rnull_disk_max_transfer(DISK(handle));
  return 0;
}

/* readonly=1 makes nbdkit refuse writes before they reach us. */
static int rnull_can_write(void *handle) { return !rnull_disk_readonly(DISK(handle)); }

/* rotational=1 advertises a spinning disk. */
static int rnull_is_rotational(void *handle) { return rnull_disk_rotational(DISK(handle)); }

/* Flush is a request like any other (it takes a tag). */
static int rnull_can_flush(void *handle) {
  (void)handle;
  return 1;
}

/* FUA goes to the engine as a request flag (unless the disk's cache has
 * fua=0: none then). */
static int rnull_can_fua(void *handle) {
  return rnull_disk_can_fua(DISK(handle)) ? NBDKIT_FUA_NATIVE : NBDKIT_FUA_NONE;
}

/* Only when the disk offers discard. */
static int rnull_can_trim(void *handle) { return rnull_disk_can_discard(DISK(handle)); }

/* Write zeroes is always a native request. */
static int rnull_can_zero(void *handle) {
  (void)handle;
  return 1;
}

/* Fast zero only where the store zeroes without writing. */
static int rnull_can_fast_zero(void *handle) { return rnull_disk_can_fast_zero(DISK(handle)); }

/* Cache requests reach the engine (counted like any request). */
static int rnull_can_cache(void *handle) {
  (void)handle;
  return NBDKIT_CACHE_NATIVE;
}

/* All connections see one disk, so flush on one covers all. */
static int rnull_can_multi_conn(void *handle) {
  (void)handle;
  return 1;
}

/* The store knows its holes. */
static int rnull_can_extents(void *handle) {
  (void)handle;
  return 1;
}

static struct nbdkit_plugin plugin = {
    .name = "rnull",
    .longname = "rnull null block device (blk-mq request model)",
    .version = RNULL_VERSION,
    .description = "A null block device with the Linux blk-mq request model.",
    .load = rnull_load,
    .unload = rnull_unload,
    .config = rnull_config,
    .config_complete = rnull_config_complete,
    .config_help = RNULL_CONFIG_HELP,
    .magic_config_key = "size",
    .get_ready = rnull_get_ready,
    .after_fork = rnull_after_fork,
    .dump_plugin = rnull_dump_plugin,
    .list_exports = rnull_list_exports,
    .open = rnull_open,
    .close = rnull_close,
    .export_description = rnull_export_description,
    .get_size = rnull_get_size,
    .block_size = rnull_block_size,
    .can_write = rnull_can_write,
    .is_rotational = rnull_is_rotational,
    .can_flush = rnull_can_flush,
    .can_fua = rnull_can_fua,
    .can_trim = rnull_can_trim,
    .can_zero = rnull_can_zero,
    .can_fast_zero = rnull_can_fast_zero,
    .can_cache = rnull_can_cache,
    .can_multi_conn = rnull_can_multi_conn,
    .can_extents = rnull_can_extents,
    .pread = rnull_plugin_pread,
    .pwrite = rnull_plugin_pwrite,
    .flush = rnull_plugin_flush,
    .trim = rnull_plugin_trim,
    .zero = rnull_plugin_zero,
    .cache = rnull_plugin_cache,
    .extents = rnull_plugin_extents,
    .errno_is_preserved = 0, /* errors are set with nbdkit_set_error */
};

NBDKIT_REGISTER_PLUGIN(plugin)
