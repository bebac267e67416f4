/* The plugin's own keys (owner "nbdkit plugin"): not a disk's, so neither
 * the core nor the null driver sees them. One table, as the engine's:
 * config parses through it and config_help is generated from it. */
#include "plugin_options.h"

typedef char path_t[256];

static const struct rnull_option plugin_options[] = {
    RNULL_OPT(struct rnull_plugin_params, "control", PATH, path_t, NULL, 0, 255, control,
              "a control socket (Unix, mode 0600, root or nbdkit's uid) to create, change, power "
              "and remove disks at run time (rnull-ctl); each disk is an export of its name "
              "(list_exports)"),
    RNULL_OPT(struct rnull_plugin_params, "nr_devices", UINT, uint32_t, "1", 1, RNULL_CTL_MAX_DISKS,
              nr_devices,
              "disks like this one, rnullb1..rnullb<N-1> beside it, as null_blk's module "
              "parameter"),
};

static const struct rnull_option_table plugin_table = RNULL_OPT_TABLE(
    "nbdkit plugin", RNULL_OWNER_FRONTEND, plugin_options, struct rnull_plugin_params);

const struct rnull_option_table *rnull_plugin_options(void) { return &plugin_table; }
