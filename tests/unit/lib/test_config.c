/* The option table: defaults, every parser, every error path. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "rnull/null.h"

static struct rnull_config cfg;
static char err[RNULL_ERR_LEN];

static void setup(void) {
  rnull_config_init(&cfg);
  err[0] = '\0';
}

START_TEST(defaults_are_the_rnull_disk) {
  ck_assert_uint_eq(cfg.core.size, 4ull << 30);
  ck_assert_uint_eq(cfg.core.blocksize, 4096);
  ck_assert_uint_eq(cfg.core.physical_blocksize, 0); /* follows blocksize */
  ck_assert(!cfg.core.rotational);
  ck_assert(!cfg.core.readonly);
  ck_assert_uint_eq(cfg.core.submit_queues, 1);
  ck_assert_uint_eq(cfg.core.hw_queue_depth, 256);
  ck_assert_int_eq(cfg.null.irqmode, RNULL_IRQ_NONE);
  ck_assert_uint_eq(cfg.null.completion_nsec, 10000);
  ck_assert_uint_eq(cfg.core.timeout_ms, 30000);
  ck_assert_uint_eq(cfg.core.max_transfer, 32u << 20);
  ck_assert(cfg.null.discard);
  ck_assert(!cfg.null.memory_backed);
  ck_assert_str_eq(cfg.core.name, "rnullb0");
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), 0);
}
END_TEST

START_TEST(size_suffixes) {
  static const struct {
    const char *s;
    uint64_t v;
  } ok[] = {{"512", 512},       {"1K", 1024},       {"1k", 1024},       {"4M", 4 << 20},
            {"2G", 2ull << 30}, {"3T", 3ull << 40}, {"1P", 1ull << 50}, {"1E", 1ull << 60},
            {"8KiB", 8192},     {"1MB", 1 << 20}};
  for (unsigned i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    uint64_t v = 0;
    ck_assert_int_eq(rnull_parse_size(ok[i].s, &v), 0);
    ck_assert_uint_eq(v, ok[i].v);
  }
  static const char *const bad[] = {"", "abc", "-1", "1X", "1KB2", "16E", " 1", "1 K"};
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t v;
    ck_assert_msg(rnull_parse_size(bad[i], &v) == -EINVAL, "accepted '%s'", bad[i]);
  }
}
END_TEST

START_TEST(size_key) {
  ck_assert_int_eq(rnull_config_set(&cfg, "size", "1T", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.core.size, 1ull << 40);
  ck_assert_int_eq(rnull_config_set(&cfg, "size", "abc", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "size=abc") && strstr(err, "K/M/G"), "%s", err);
  ck_assert_int_eq(rnull_config_set(&cfg, "size", "100", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "size=100") && strstr(err, "512"), "%s", err);
}
END_TEST

START_TEST(size_must_be_multiple_of_blocksize) {
  ck_assert_int_eq(rnull_config_set(&cfg, "size", "5000", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "size=5000") && strstr(err, "4096"), "%s", err);
}
END_TEST

START_TEST(blocksize_power_of_two_512_to_4096) {
  static const char *const ok[] = {"512", "1024", "2048", "4096"};
  for (unsigned i = 0; i < 4; i++) {
    ck_assert_int_eq(rnull_config_set(&cfg, "blocksize", ok[i], err, sizeof err), 0);
    ck_assert_uint_eq(cfg.core.blocksize, strtoul(ok[i], NULL, 10));
  }
  static const char *const bad[] = {"1000", "8192", "256", "0", "4095", "x", "-512"};
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(rnull_config_set(&cfg, "blocksize", bad[i], err, sizeof err), -EINVAL);
    ck_assert_msg(strstr(err, "blocksize=") && strstr(err, bad[i]) && strstr(err, "512") &&
                      strstr(err, "4096"),
                  "%s", err);
  }
  ck_assert_uint_eq(cfg.core.blocksize, 4096); /* a refused value changes nothing */
}
END_TEST

START_TEST(physical_blocksize_rules) {
  ck_assert_int_eq(rnull_config_set(&cfg, "physical_blocksize", "65536", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "physical_blocksize", "131072", err, sizeof err),
                   -EINVAL);
  ck_assert_int_eq(rnull_config_set(&cfg, "physical_blocksize", "3000", err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_config_set(&cfg, "physical_blocksize", "512", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&cfg, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "physical_blocksize=512") && strstr(err, "blocksize"), "%s", err);
}
END_TEST

START_TEST(name_at_most_31_bytes_never_truncated) {
  char name[41];
  memset(name, 'n', 40);
  name[40] = '\0';
  ck_assert_int_eq(rnull_config_set(&cfg, "name", name, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "name=") && strstr(err, "31"), "%s", err);
  ck_assert_str_eq(cfg.core.name, "rnullb0");
  name[32] = '\0';
  ck_assert_int_eq(rnull_config_set(&cfg, "name", name, err, sizeof err), -EINVAL);
  name[31] = '\0';
  ck_assert_int_eq(rnull_config_set(&cfg, "name", name, err, sizeof err), 0);
  ck_assert_str_eq(cfg.core.name, name);
  ck_assert_int_eq(rnull_config_set(&cfg, "name", "", err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(queues_and_depth_ranges) {
  ck_assert_int_eq(rnull_config_set(&cfg, "hw_queue_depth", "0", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "hw_queue_depth=0") && strstr(err, "1 to 4096"), "%s", err);
  ck_assert_int_eq(rnull_config_set(&cfg, "hw_queue_depth", "4097", err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_config_set(&cfg, "hw_queue_depth", "1", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "submit_queues", "0", err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_config_set(&cfg, "submit_queues", "65", err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_config_set(&cfg, "submit_queues", "8", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.core.submit_queues, 8);
}
END_TEST

START_TEST(irqmode_names_and_numbers) {
  static const struct {
    const char *s;
    enum rnull_irqmode m;
  } ok[] = {{"none", RNULL_IRQ_NONE}, {"0", RNULL_IRQ_NONE},      {"softirq", RNULL_IRQ_SOFTIRQ},
            {"1", RNULL_IRQ_SOFTIRQ}, {"timer", RNULL_IRQ_TIMER}, {"2", RNULL_IRQ_TIMER}};
  for (unsigned i = 0; i < 6; i++) {
    ck_assert_int_eq(rnull_config_set(&cfg, "irqmode", ok[i].s, err, sizeof err), 0);
    ck_assert_int_eq(cfg.null.irqmode, ok[i].m);
  }
  ck_assert_int_eq(rnull_config_set(&cfg, "irqmode", "7", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "irqmode=7") && strstr(err, "softirq"), "%s", err);
}
END_TEST

START_TEST(booleans) {
  static const char *const t[] = {"1", "true", "yes", "on", "TRUE"};
  static const char *const f[] = {"0", "false", "no", "off"};
  for (unsigned i = 0; i < 5; i++) {
    ck_assert_int_eq(rnull_config_set(&cfg, "rotational", t[i], err, sizeof err), 0);
    ck_assert(cfg.core.rotational);
  }
  for (unsigned i = 0; i < 4; i++) {
    ck_assert_int_eq(rnull_config_set(&cfg, "rotational", f[i], err, sizeof err), 0);
    ck_assert(!cfg.core.rotational);
  }
  ck_assert_int_eq(rnull_config_set(&cfg, "readonly", "maybe", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "readonly=maybe") && strstr(err, "boolean"), "%s", err);
}
END_TEST

START_TEST(unknown_and_rejected_keys) {
  ck_assert_int_eq(rnull_config_set(&cfg, "bogus", "1", err, sizeof err), -ENOENT);
  ck_assert_msg(strstr(err, "bogus") && strstr(err, "unknown"), "%s", err);
  ck_assert_int_eq(rnull_config_set(&cfg, "zoned", "1", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "zoned") && strstr(err, "NBD has no zones"), "%s", err);
  ck_assert_int_eq(rnull_config_set(&cfg, "cache_size", "64Q", err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "cache_size=64Q"), "%s", err);
}
END_TEST

START_TEST(key_value_strings) {
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "blocksize=512", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.core.blocksize, 512);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "blocksize", err, sizeof err), -EINVAL);
  ck_assert_int_eq(rnull_config_set_kv(&cfg, "=5", err, sizeof err), -EINVAL);
}
END_TEST

START_TEST(fault_attributes) {
  ck_assert_int_eq(rnull_config_set(&cfg, "error", "1,100,0,5", err, sizeof err), 0);
  ck_assert(cfg.null.error_inject.enabled);
  ck_assert_uint_eq(cfg.null.error_inject.interval, 1);
  ck_assert_uint_eq(cfg.null.error_inject.probability, 100);
  ck_assert_int_eq(cfg.null.error_inject.times, 5);
  ck_assert_int_eq(rnull_config_set(&cfg, "timeout", "1,100,0,-1", err, sizeof err), 0);
  ck_assert_int_eq(cfg.null.timeout_inject.times, -1);
  static const char *const bad[] = {"1,50,0,1,", "1,101,0,1", "1,50,0", "a,b,c,d", "1,50,0,-2"};
  for (unsigned i = 0; i < 5; i++)
    ck_assert_msg(rnull_config_set(&cfg, "requeue", bad[i], err, sizeof err) == -EINVAL,
                  "accepted %s", bad[i]);
  ck_assert_msg(strstr(err, "requeue=") && strstr(err, "probability"), "%s", err);
}
END_TEST

START_TEST(badblock_ranges) {
  ck_assert_int_eq(rnull_config_set(&cfg, "badblocks", "8-15,100-100", err, sizeof err), 0);
  ck_assert_uint_eq(cfg.null.badblocks.n, 2);
  ck_assert_uint_eq(cfg.null.badblocks.r[0].start, 8);
  ck_assert_uint_eq(cfg.null.badblocks.r[0].end, 15);
  ck_assert_uint_eq(cfg.null.badblocks.r[1].start, 100);
  static const char *const bad[] = {"", "5", "9-3", "1-2,", "a-b", "1-2;3-4"};
  for (unsigned i = 0; i < 6; i++)
    ck_assert_msg(rnull_config_set(&cfg, "badblocks", bad[i], err, sizeof err) == -EINVAL,
                  "accepted '%s'", bad[i]);
  struct rnull_config c2;
  rnull_config_init(&c2);
  ck_assert_int_eq(rnull_config_set(&c2, "size", "1M", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&c2, "badblocks", "0-2048", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_check(&c2, err, sizeof err), -EINVAL);
  ck_assert_msg(strstr(err, "badblocks") && strstr(err, "2047"), "%s", err);
}
END_TEST

START_TEST(table_is_complete_and_help_lists_every_key) {
  size_t nt, total = 0;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);
  ck_assert_uint_eq(nt, 3);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  rnull_config_help(f);
  fclose(f);
  for (size_t k = 0; k < nt; k++) {
    for (size_t i = 0; i < t[k]->n; i++) {
      const struct rnull_option *o = &t[k]->opts[i];
      char key[64];
      snprintf(key, sizeof key, "%s=", o->key);
      ck_assert_msg(strstr(buf, key), "help lacks %s", o->key);
      const struct rnull_option_table *owner = NULL;
      ck_assert_ptr_eq(rnull_config_find(o->key, &owner), o); /* in exactly one table */
      ck_assert_ptr_eq(owner, t[k]);
      ck_assert_ptr_nonnull(o->help);
      ck_assert_uint_le(o->offset + o->size, t[k]->params_size);
      total++;
    }
  }
  ck_assert_uint_ge(total, 20);
  ck_assert_ptr_null(rnull_config_find("nope", NULL));
  free(buf);
}
END_TEST

/* Each key's owner: the core has geometry, queues, depth and timeout; the
 * null driver its keys; the front ends the stats file. */
START_TEST(every_key_names_its_owner) {
  static const char *const core[] = {
      "size",     "blocksize", "physical_blocksize", "max_transfer",   "rotational",
      "readonly", "name",      "submit_queues",      "hw_queue_depth", "timeout_ms"};
  const struct rnull_option_table *t = rnull_disk_options();
  ck_assert_uint_eq(t->kind, RNULL_OWNER_CORE);
  ck_assert_uint_eq(t->n, sizeof core / sizeof *core);
  for (size_t i = 0; i < sizeof core / sizeof *core; i++)
    ck_assert_msg(rnull_option_table_find(t, core[i]), "core lacks %s", core[i]);
  const struct rnull_option_table *owner;
  ck_assert_ptr_nonnull(rnull_config_find("mbps", &owner));
  ck_assert_ptr_eq(owner, rnull_null_options());
  ck_assert_uint_eq(owner->kind, RNULL_OWNER_DRIVER);
  ck_assert_str_eq(owner->owner, "null driver");
  ck_assert_ptr_nonnull(rnull_config_find("stats_file", &owner));
  ck_assert_uint_eq(owner->kind, RNULL_OWNER_FRONTEND);
  /* the core's parameters take no driver's key, and say whose it is */
  struct rnull_disk_params p;
  rnull_disk_params_init(&p);
  ck_assert_int_eq(rnull_disk_params_set(&p, "mbps", "10", err, sizeof err), -ENOENT);
  ck_assert_msg(strstr(err, "mbps=10") && strstr(err, "core"), "%s", err);
  const struct rnull_option_table *mine[] = {rnull_disk_options()};
  ck_assert_int_eq(rnull_option_refuse(mine, 1, "mbps", "10", err, sizeof err), -ENOENT);
  ck_assert_msg(strstr(err, "mbps=10") && strstr(err, "the core") && strstr(err, "null driver"),
                "%s", err);
  ck_assert_int_eq(rnull_option_refuse(mine, 1, "bogus", "1", err, sizeof err), -ENOENT);
  ck_assert_msg(strstr(err, "bogus=1: unknown key"), "%s", err);
}
END_TEST

/* The live keys are the lines with an apply function, and no other list:
 * null_blk's writable attributes (faults, throttles, latency, badblocks,
 * completion_nsec) and the core's timeout_ms; --help says which. */
START_TEST(live_keys_come_from_the_table) {
  static const char *const live[] = {
      "timeout_ms",      "completion_nsec", "mbps",          "iops",          "latency",
      "read_latency",    "write_latency",   "flush_latency", "trim_latency",  "zero_latency",
      "latency_per_kib", "channels",        "timeout",       "requeue",       "error",
      "fault_seed",      "badblocks",       "read_error",    "write_error",   "flush_error",
      "trim_error",      "zero_error",      "read_corrupt",  "write_corrupt", "lost_write"};
  size_t nt, nlive = 0;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);
  for (size_t k = 0; k < nt; k++)
    for (size_t i = 0; i < t[k]->n; i++)
      if (t[k]->opts[i].apply) {
        nlive++;
        ck_assert(rnull_null_key_is_live(t[k]->opts[i].key));
      }
  ck_assert_uint_eq(nlive, sizeof live / sizeof *live);
  for (size_t i = 0; i < sizeof live / sizeof *live; i++)
    ck_assert_msg(rnull_null_key_is_live(live[i]), "%s not live", live[i]);
  ck_assert(!rnull_null_key_is_live("blocksize") && !rnull_null_key_is_live("irqmode") &&
            !rnull_null_key_is_live("seed") && !rnull_null_key_is_live("nope"));
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  rnull_config_help(f);
  fclose(f);
  const char *m = strstr(buf, "\nchannels=");
  ck_assert_ptr_nonnull(m);
  const char *eol = strchr(strchr(m + 1, '\n') + 1, '\n');
  ck_assert_msg(memmem(m, (size_t)(eol - m), "null driver key, live", 21), "%.*s", (int)(eol - m),
                m);
  m = strstr(buf, "\nirqmode=");
  eol = strchr(strchr(m + 1, '\n') + 1, '\n');
  ck_assert(!memmem(m, (size_t)(eol - m), "live", 4));
  free(buf);
}
END_TEST

START_TEST(dump_round_trips) {
  ck_assert_int_eq(rnull_config_set(&cfg, "irqmode", "timer", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "error", "2,50,0,-1", err, sizeof err), 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  rnull_config_dump(&cfg, f);
  fclose(f);
  struct rnull_config c2;
  rnull_config_init(&c2);
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
    ck_assert_msg(rnull_config_set_kv(&c2, line, err, sizeof err) == 0, "%s: %s", line, err);
  ck_assert_int_eq(c2.null.irqmode, RNULL_IRQ_TIMER);
  ck_assert_uint_eq(c2.null.error_inject.interval, 2);
  free(buf);
}
END_TEST

START_TEST(dump_walks_the_table) {
  /* every key with a default or a value appears, at the field's width */
  ck_assert_int_eq(rnull_config_set(&cfg, "badblocks", "8-15,100-100", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "stats_file", "/tmp/x.json", err, sizeof err), 0);
  ck_assert_int_eq(rnull_config_set(&cfg, "hw_queue_depth", "4096", err, sizeof err), 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  rnull_config_dump(&cfg, f);
  fclose(f);
  size_t nt;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);
  for (size_t k = 0; k < nt; k++)
    for (size_t i = 0; i < t[k]->n; i++) {
      const struct rnull_option *o = &t[k]->opts[i];
      char key[64];
      snprintf(key, sizeof key, "%s%s=", k || i ? "\n" : "", o->key);
      bool has_value =
          o->def || o->def_doc || !strcmp(o->key, "badblocks") || !strcmp(o->key, "stats_file");
      ck_assert_msg((strstr(buf, key) != NULL) == has_value, "%s in dump: %s", o->key, buf);
      ck_assert_uint_eq(o->size == 0, o->type == RNULL_OPT_REJECT);
    }
  ck_assert_ptr_nonnull(strstr(buf, "\nbadblocks=8-15,100-100\n"));
  ck_assert_ptr_nonnull(strstr(buf, "\nphysical_blocksize=4096\n")); /* 0: same as blocksize */
  ck_assert_ptr_nonnull(strstr(buf, "\nhw_queue_depth=4096\n"));
  free(buf);
}
END_TEST

int main(void) {
  Suite *s = suite_create("config");
  TCase *tc = new_tcase("config");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, defaults_are_the_rnull_disk);
  tcase_add_test(tc, size_suffixes);
  tcase_add_test(tc, size_key);
  tcase_add_test(tc, size_must_be_multiple_of_blocksize);
  tcase_add_test(tc, blocksize_power_of_two_512_to_4096);
  tcase_add_test(tc, physical_blocksize_rules);
  tcase_add_test(tc, name_at_most_31_bytes_never_truncated);
  tcase_add_test(tc, queues_and_depth_ranges);
  tcase_add_test(tc, irqmode_names_and_numbers);
  tcase_add_test(tc, booleans);
  tcase_add_test(tc, unknown_and_rejected_keys);
  tcase_add_test(tc, key_value_strings);
  tcase_add_test(tc, fault_attributes);
  tcase_add_test(tc, badblock_ranges);
  tcase_add_test(tc, table_is_complete_and_help_lists_every_key);
  tcase_add_test(tc, every_key_names_its_owner);
  tcase_add_test(tc, live_keys_come_from_the_table);
  tcase_add_test(tc, dump_round_trips);
  tcase_add_test(tc, dump_walks_the_table);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
