/* Unit tests of rnull-attach's command-line parser (attach_args.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "attach_args.h"

static struct attach_args a;
static char err[256];

/* parse("arg", ..., NULL): argv[0] is the program name. */
#define PARSE(...) parse_argv((char *[]){"rnull-attach", __VA_ARGS__, NULL})

static int parse_argv(char **argv) {
  int argc = 0;
  while (argv[argc])
    argc++;
  err[0] = '\0';
  attach_args_free(&a);
  return attach_parse_args(argc, argv, &a, err, sizeof(err));
}

START_TEST(host_port_device) {
  ck_assert_int_eq(PARSE("server1", "10810", "/dev/nbd0"), 0);
  ck_assert_int_eq(a.mode, ATTACH_CONNECT);
  ck_assert(!a.unix_socket);
  ck_assert_str_eq(a.host, "server1");
  ck_assert_str_eq(a.port, "10810");
  ck_assert_str_eq(a.device, "/dev/nbd0");
  ck_assert_str_eq(a.export_name, "");
  ck_assert_ptr_null(a.block_size);
  ck_assert_int_eq(a.nopts, 0);
}
END_TEST

START_TEST(host_device_default_port) {
  ck_assert_int_eq(PARSE("::1", "/dev/nbd3"), 0);
  ck_assert_str_eq(a.host, "::1");
  ck_assert_ptr_null(a.port);
  ck_assert_str_eq(a.device, "/dev/nbd3");
}
END_TEST

START_TEST(unix_socket_any_spelling) {
  const char *spellings[] = {"-unix", "-u", "--unix"};
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(PARSE((char *)spellings[i], "/run/s.sock", "/dev/nbd1"), 0);
    ck_assert(a.unix_socket);
    ck_assert_str_eq(a.host, "/run/s.sock");
    ck_assert_str_eq(a.device, "/dev/nbd1");
    ck_assert_int_eq(a.nopts, 0); /* -unix is re-emitted by main, not passed as an option */
  }
}
END_TEST

START_TEST(options_anywhere_kept_in_order) {
  ck_assert_int_eq(PARSE("-N", "disk", "host", "-t", "30", "/dev/nbd0", "-persist"), 0);
  ck_assert_str_eq(a.export_name, "disk");
  ck_assert_str_eq(a.host, "host");
  ck_assert_str_eq(a.device, "/dev/nbd0");
  ck_assert_int_eq(a.nopts, 5);
  ck_assert_str_eq(a.opts[0], "-N");
  ck_assert_str_eq(a.opts[1], "disk");
  ck_assert_str_eq(a.opts[2], "-t");
  ck_assert_str_eq(a.opts[3], "30");
  ck_assert_str_eq(a.opts[4], "-persist");
}
END_TEST

START_TEST(block_size_spellings) {
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "-b", "1024"), 0);
  ck_assert_str_eq(a.block_size, "1024");
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "-b2048"), 0);
  ck_assert_str_eq(a.block_size, "2048");
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "--block-size=4096"), 0);
  ck_assert_str_eq(a.block_size, "4096");
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "-block-size", "512"), 0);
  ck_assert_str_eq(a.block_size, "512");
}
END_TEST

START_TEST(long_names_before_attached_values) {
  /* -connections must not read as -c (check) with "onnections". */
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "-connections", "2"), 0);
  ck_assert_int_eq(a.mode, ATTACH_CONNECT);
  ck_assert_int_eq(a.nopts, 2);
  /* -timeout must not read as -t with "imeout". */
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "-timeout", "9"), 0);
  ck_assert_str_eq(a.opts[1], "9");
  /* An option's value is never parsed as an option. */
  ck_assert_int_eq(PARSE("-unix", "/s", "/dev/nbd0", "-N", "-u"), 0);
  ck_assert_str_eq(a.export_name, "-u");
}
END_TEST

START_TEST(tls_options_noted) {
  ck_assert_int_eq(PARSE("h", "/dev/nbd0"), 0);
  ck_assert(!a.tls);
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "-x"), 0);
  ck_assert(a.tls);
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "-cacertfile", "/ca.pem"), 0);
  ck_assert(a.tls);
  ck_assert_int_eq(a.mode, ATTACH_CONNECT); /* not -c */
  ck_assert_str_eq(a.tls_ca, "/ca.pem");
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "-F", "/c.pem", "-keyfile", "/k.pem", "-H", "srv"), 0);
  ck_assert_str_eq(a.tls_cert, "/c.pem");
  ck_assert_str_eq(a.tls_key, "/k.pem");
  ck_assert_str_eq(a.tls_host, "srv");
  /* ours: not passed through as it is (expanded into nbd-client's files) */
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "--tls-certificates", "/etc/pki/c"), 0);
  ck_assert(a.tls);
  ck_assert_str_eq(a.tls_dir, "/etc/pki/c");
  ck_assert_int_eq(a.nopts, 0);
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "--tls-certificates=/d"), 0);
  ck_assert_str_eq(a.tls_dir, "/d");
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "--tls-certificates"), -1);
  ck_assert_str_eq(err, "--tls-certificates needs a directory");
}
END_TEST

START_TEST(nbd_client_3_26_priority_takes_a_value) {
  /* -y/--priority (nbd-client 3.26): its value is not the host. */
  ck_assert_int_eq(PARSE("-y", "NORMAL", "h", "/dev/nbd0", "--priority=SECURE256"), 0);
  ck_assert_str_eq(a.host, "h");
  ck_assert_str_eq(a.device, "/dev/nbd0");
  ck_assert_int_eq(a.nopts, 3);
  ck_assert_str_eq(a.opts[0], "-y");
  ck_assert_str_eq(a.opts[1], "NORMAL");
  ck_assert_str_eq(a.opts[2], "--priority=SECURE256");
}
END_TEST

START_TEST(passthrough_forms) {
  ck_assert_int_eq(PARSE("-d", "/dev/nbd0"), 0);
  ck_assert_int_eq(a.mode, ATTACH_PASSTHROUGH);
  ck_assert_int_eq(a.nargv, 2);
  ck_assert_int_eq(PARSE("-check", "/dev/nbd0"), 0);
  ck_assert_int_eq(a.mode, ATTACH_PASSTHROUGH);
  ck_assert_int_eq(PARSE("-l", "host"), 0);
  ck_assert_int_eq(a.mode, ATTACH_PASSTHROUGH);
  ck_assert_int_eq(PARSE("nbd0"), 0); /* nbdtab form */
  ck_assert_int_eq(a.mode, ATTACH_PASSTHROUGH);
  ck_assert_int_eq(PARSE("--dry-run", "-d", "/dev/nbd0"), 0);
  ck_assert(a.dry_run);
  ck_assert_int_eq(a.nargv, 2); /* --dry-run is ours, not nbd-client's */
}
END_TEST

START_TEST(own_options) {
  ck_assert_int_eq(PARSE("--nbd-client", "/x/nc", "h", "/dev/nbd0"), 0);
  ck_assert_str_eq(a.nbd_client, "/x/nc");
  ck_assert_int_eq(PARSE("--nbd-client=/y/nc", "h", "/dev/nbd0"), 0);
  ck_assert_str_eq(a.nbd_client, "/y/nc");
  ck_assert_int_eq(PARSE("--help"), 0);
  ck_assert_int_eq(a.mode, ATTACH_HELP);
  ck_assert_int_eq(PARSE("--version"), 0);
  ck_assert_int_eq(a.mode, ATTACH_VERSION);
  ck_assert_int_eq(PARSE("h", "/dev/nbd0", "--nbd-client"), -1);
  ck_assert_str_eq(err, "--nbd-client needs a path");
}
END_TEST

/* Each bad command line: refused, with a message naming the problem. */
START_TEST(errors) {
  struct {
    char *argv[6];
    const char *msg;
  } cases[] = {
      {{"rnull-attach", NULL}, "missing host and device"},
      {{"rnull-attach", "-unix", NULL}, "missing socket and device"},
      {{"rnull-attach", "-unix", "/s", NULL}, "missing device"},
      {{"rnull-attach", "h", "99999", "/dev/nbd0", NULL}, "bad port '99999'"},
      {{"rnull-attach", "h", "0", "/dev/nbd0", NULL}, "bad port '0'"},
      {{"rnull-attach", "h", "12ab", "/dev/nbd0", NULL}, "bad port '12ab'"},
      {{"rnull-attach", "-unix", "/s", "10809", "/dev/nbd0", NULL}, "not a port"},
      {{"rnull-attach", "h", "nbd0", NULL}, "not a path"},
      {{"rnull-attach", "h", "1", "/dev/nbd0", "extra", NULL}, "too many arguments at 'extra'"},
      {{"rnull-attach", "--frobnicate", "h", "/dev/nbd0", NULL}, "unknown option '--frobnicate'"},
      {{"rnull-attach", "h", "/dev/nbd0", "-t", NULL}, "option '-t' needs a value"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ck_assert_int_eq(parse_argv(cases[i].argv), -1);
    ck_assert_msg(strstr(err, cases[i].msg), "case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
  }
}
END_TEST

static void teardown(void) { attach_args_free(&a); }

int main(void) {
  Suite *s = suite_create("attach_args");
  TCase *tc = tcase_create("parse");
  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_add_test(tc, host_port_device);
  tcase_add_test(tc, host_device_default_port);
  tcase_add_test(tc, unix_socket_any_spelling);
  tcase_add_test(tc, options_anywhere_kept_in_order);
  tcase_add_test(tc, block_size_spellings);
  tcase_add_test(tc, long_names_before_attached_values);
  tcase_add_test(tc, tls_options_noted);
  tcase_add_test(tc, nbd_client_3_26_priority_takes_a_value);
  tcase_add_test(tc, passthrough_forms);
  tcase_add_test(tc, own_options);
  tcase_add_test(tc, errors);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
