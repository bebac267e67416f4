/* Start-up configuration through nbdkit: every bad key or value stops nbdkit
 * with a non-zero exit and a message naming the key, the value and the
 * allowed range; --help lists every key of the engine's option table with
 * its default and range; --dump-plugin prints the effective settings. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "expect.h"
#include "plugin_server.h"
#include "rnull/null.h"

#define RUN_TIMEOUT_S 30
#define NAME40 "name=0123456789012345678901234567890123456789"
#define NAME32 "name=abcdefghijklmnopqrstuvwxyz012345" /* one byte too long */

struct bad_config {
  const char *args[4];
  const char *must_say[3]; /* substrings of nbdkit's output */
};

static const struct bad_config bad[] = {
    {{"blocksize=1000"}, {"blocksize=1000", "power of two", "512 to 4096"}},
    {{"blocksize=8192"}, {"blocksize=8192", "power of two", "512 to 4096"}},
    {{"size=abc"}, {"size=abc", "size from 512"}},
    {{"abc"}, {"size=abc", "size from 512"}}, /* the magic key is size */
    {{NAME40}, {NAME40, "1 to 31 bytes"}},
    {{NAME32}, {NAME32, "1 to 31 bytes"}},
    {{"hw_queue_depth=0"}, {"hw_queue_depth=0", "1 to 4096"}},
    {{"submit_queues=0"}, {"submit_queues=0", "1 to 64"}},
    {{"no_such_key=1"}, {"no_such_key=1", "unknown key"}},
    {{"irqmode=7"}, {"irqmode=7", "none|softirq|timer", "0|1|2"}},
    {{"irqmode=fast"}, {"irqmode=fast", "none|softirq|timer"}},
    {{"blocksize=4096", "physical_blocksize=512"},
     {"physical_blocksize=512", ">= blocksize (4096)"}},
    {{"physical_blocksize=3000"}, {"physical_blocksize=3000", "power of two"}},
    {{"size=1000"}, {"size=1000", "multiple of blocksize (4096)"}},
    {{"rotational=maybe"}, {"rotational=maybe", "boolean"}},
    {{"zoned=1"}, {"zoned=1", "no zones"}},
};

/* Run nbdkit (no socket needed: it must stop before serving). */
static char *run_nbdkit(const char *const *args, const char *out, int *status) {
  const char *argv[PLUGIN_MAX_ARGS];

  remove(out);
  plugin_argv(argv, NULL, args);
  *status = harness_run((char *const *)argv, out, RUN_TIMEOUT_S);
  return harness_read_file(out);
}

static void test_bad_configs(const char *dir) {
  char out[300];

  snprintf(out, sizeof out, "%s/bad.out", dir);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *args[8];
    int n = 0, st;
    char *text;

    args[n++] = "-U";
    args[n++] = "-"; /* never reached: configuration fails first */
    for (int j = 0; j < 4 && bad[i].args[j]; j++)
      args[n++] = bad[i].args[j];
    args[n] = NULL;
    text = run_nbdkit(args, out, &st);
    EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s: nbdkit exits non-zero (status 0x%x)",
               bad[i].args[0], st);
    for (int j = 0; j < 3 && bad[i].must_say[j]; j++)
      EXPECT_MSG(strstr(text, bad[i].must_say[j]) != NULL, "%s: message says \"%s\":\n%s",
                 bad[i].args[0], bad[i].must_say[j], text);
    free(text);
  }
}

/* stats_file is replaced by rename every second: an existing non-regular
 * file (here a directory) is refused at start-up, never replaced. */
static void test_stats_file_not_regular(const char *dir) {
  char out[300], arg[300];
  const char *args[] = {"-U", "-", arg, NULL};
  struct stat st;
  int status;
  char *text;

  snprintf(out, sizeof out, "%s/stats.out", dir);
  snprintf(arg, sizeof arg, "stats_file=%s", dir);
  text = run_nbdkit(args, out, &status);
  EXPECT_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 0, "stats_file=DIR: non-zero exit");
  EXPECT_MSG(strstr(text, arg) && strstr(text, "not a regular file"), "message:\n%s", text);
  EXPECT(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
  free(text);
}

/* The block of help text about key: from "key=" at a line start to the
 * next line that starts another key. */
static const char *help_block(const char *text, const char *key, size_t *len) {
  char pat[64];
  const char *p, *q;

  snprintf(pat, sizeof pat, "\n%s=", key);
  p = strstr(text, pat);
  if (p == NULL)
    return NULL;
  p++;
  for (q = strchr(p, '\n'); q && (q[1] == ' ' || q[1] == '\t'); q = strchr(q + 1, '\n'))
    ;
  *len = q ? (size_t)(q - p) : strlen(p);
  return p;
}

static void test_help(const char *dir) {
  static const char *const args[] = {"--help", NULL};
  char out[300];
  size_t nt, count = 0;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);
  const struct rnull_option *opts[128];
  int st;
  char *text;

  snprintf(out, sizeof out, "%s/help.out", dir);
  text = run_nbdkit(args, out, &st);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--help exits 0 (status 0x%x)", st);
  for (size_t k = 0; k < nt; k++)
    for (size_t i = 0; i < t[k]->n && count < 128; i++)
      opts[count++] = &t[k]->opts[i];
  EXPECT(count >= 10);
  for (size_t i = 0; i < count; i++) {
    size_t len = 0;
    const char *block = help_block(text, opts[i]->key, &len);
    char *b;

    if (!EXPECT_MSG(block != NULL, "--help lists %s", opts[i]->key))
      continue;
    b = strndup(block, len);
    if (opts[i]->type != RNULL_OPT_REJECT) {
      EXPECT_MSG(strstr(b, "default") != NULL, "--help gives %s's default:\n%s", opts[i]->key, b);
      EXPECT_MSG(strstr(b, "allowed") != NULL, "--help gives %s's range:\n%s", opts[i]->key, b);
      if (opts[i]->def)
        EXPECT_MSG(strstr(b, opts[i]->def) != NULL, "--help shows %s's default %s:\n%s",
                   opts[i]->key, opts[i]->def, b);
    }
    free(b);
  }
  free(text);
}

static void test_dump_plugin(const char *dir) {
  static const char *const args[] = {"--dump-plugin", NULL};
  static const char *const lines[] = {
      "\nname=rnull\n",
      "\nthread_model=parallel\n",
      "\nhas_block_size=1\n",
      "\nhas_extents=1\n",
      "\nrnull_size=4294967296\n",
      "\nrnull_blocksize=4096\n",
      "\nrnull_physical_blocksize=4096\n",
      "\nrnull_submit_queues=1\n",
      "\nrnull_hw_queue_depth=256\n",
      "\nrnull_irqmode=none\n",
      "\nrnull_completion_nsec=10000\n",
      "\nrnull_rotational=0\n",
  };
  char out[300];
  int st;
  char *text;

  snprintf(out, sizeof out, "%s/dump.out", dir);
  text = run_nbdkit(args, out, &st);
  EXPECT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "--dump-plugin exits 0 (status 0x%x)", st);
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    EXPECT_MSG(strstr(text, lines[i]) != NULL, "--dump-plugin prints %s", lines[i] + 1);
  free(text);
}

int main(void) {
  struct harness h;

  if (harness_init(&h) < 0)
    return 1;
  test_bad_configs(h.dir);
  test_stats_file_not_regular(h.dir);
  test_help(h.dir);
  test_dump_plugin(h.dir);
  harness_cleanup(&h);
  return expect_result("plugin configuration");
}
