/* The plugin's own keys (plugin_options.c). */
#ifndef RNULL_PLUGIN_OPTIONS_H
#define RNULL_PLUGIN_OPTIONS_H

#include <stdint.h>

#include "rnull/ctl.h"

struct rnull_plugin_params {
  char control[256];   /* control=PATH, "" when none */
  uint32_t nr_devices; /* nr_devices=N */
};

const struct rnull_option_table *rnull_plugin_options(void);

#endif
