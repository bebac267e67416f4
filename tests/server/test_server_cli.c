/* The command line: --help lists the server's flags and every engine key,
 * --version, and bad flags or keys stop the server at start-up with a
 * message naming what is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "rnull/null.h"
#include "srv.h"

static struct harness h;
static char out[400];

/* Run the server with args; returns its exit code (-1 if it did not exit). */
static int run(const char *a1, const char *a2, const char *a3) {
  const char *argv[] = {srv_path(), "-f", a1, a2, a3, NULL};
  int st = harness_run((char *const *)argv, out, 10);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool output_has(const char *what) { return harness_file_has_or_show(out, what); }

int main(void) {
  if (harness_init(&h) < 0)
    return 1;
  snprintf(out, sizeof(out), "%s/out", h.dir);

  EXPECT_EQ_INT(run("--help", NULL, NULL), 0);
  const char *flags[] = {"--unix",       "--port",        "--bind",
                         "--foreground", "--pidfile",     "--max-connections",
                         "--readonly",   "--export-name", "--stats-file",
                         "--version",    "LISTEN_FDS",    "SIGUSR1"};
  for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++)
    EXPECT_MSG(output_has(flags[i]), "--help mentions %s", flags[i]);
  size_t nt;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);
  for (size_t k = 0; k < nt; k++)
    for (size_t i = 0; i < t[k]->n; i++)
      EXPECT_MSG(output_has(t[k]->opts[i].key), "--help lists key %s", t[k]->opts[i].key);

  EXPECT_EQ_INT(run("--version", NULL, NULL), 0);
  EXPECT(output_has("rnull-server "));

  /* Bad engine keys: the engine's message names key, value and range. */
  EXPECT_EQ_INT(run("--unix", h.sock, "blocksize=1000"), 1);
  EXPECT(output_has("blocksize"));
  EXPECT(output_has("1000"));
  EXPECT_EQ_INT(run("--unix", h.sock, "nosuchkey=1"), 1);
  EXPECT(output_has("nosuchkey"));
  EXPECT_EQ_INT(run("--unix", h.sock, "name=0123456789012345678901234567890123456789"), 1);
  EXPECT(output_has("name"));
  EXPECT_EQ_INT(run("--unix", h.sock, "hw_queue_depth=0"), 1);
  EXPECT(output_has("hw_queue_depth"));
  EXPECT_EQ_INT(run("--unix", h.sock, "notakeyvalue"), 1);
  EXPECT(output_has("key=value"));
  /* Bad server flags. */
  EXPECT_EQ_INT(run("--port", "70000", NULL), 1);
  EXPECT(output_has("--port"));
  EXPECT_EQ_INT(run("--max-connections", "-1", NULL), 1);
  EXPECT(output_has("--max-connections"));
  EXPECT_EQ_INT(run("--no-such-flag", NULL, NULL), 1);
  EXPECT_EQ_INT(run("--stats-file", "/nonexistent-dir/x/y", "--unix"), 1); /* missing arg */
  /* --config: keys from a file, comments and blank lines skipped. */
  char cfg[400];
  snprintf(cfg, sizeof(cfg), "%s/disk.conf", h.dir);
  FILE *f = fopen(cfg, "w");
  if (EXPECT(f != NULL)) {
    fputs("# a disk\n\nsize=3M\n  name=conftest\n", f);
    fclose(f);
    int started = srv_start(&h, "--config", cfg, (const char *)NULL);
    EXPECT_EQ_INT(started, 0);
    struct nbd_handle *nbd = harness_connect(&h);
    if (EXPECT(nbd != NULL))
      EXPECT_EQ_U64(nbd_get_size(nbd), 3u << 20);
    nbd_close(nbd);
    EXPECT_EQ_INT(harness_stop(&h), 0);
    f = fopen(cfg, "w");
    fputs("size=3M\nblocksize=3\n", f);
    fclose(f);
    EXPECT_EQ_INT(run("--config", cfg, NULL), 1);
    EXPECT(output_has("disk.conf:2"));
    EXPECT(output_has("blocksize"));
    EXPECT_EQ_INT(run("--config", "/nonexistent/rnull.conf", NULL), 1);
  }
  harness_cleanup(&h);
  return expect_result("server_cli");
}
