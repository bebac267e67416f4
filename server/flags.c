/* rnull-server's flags: the table and what is made from it (flags.h). */
#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nbd_proto.h"
#include "poll_window.h"
#include "rnull/config.h"
#include "tls.h"

#define MAX_SECONDS 86400
#define STR(x) #x
#define XSTR(x) STR(x)

/* The field a flag sets, its C type checked at compile time (as
 * lib/config.c's FIELD_OF). */
#define FIELD_OF(field, ctype)                                                                     \
  (offsetof(struct server_cli, field) +                                                            \
   0 * sizeof(                                                                                     \
           char[__builtin_types_compatible_p(__typeof__(((struct server_cli *)0)->field), ctype)   \
                    ? 1                                                                            \
                    : -1]))
/* FLAG(name, letter, kind, metavar, default, min, max, field, C type, help, man) */
#define FLAG(name, letter, kind, metavar, def, min, max, field, ctype, help, man)                  \
  { name, letter, FLAG_##kind, metavar, def, false, min, max, FIELD_OF(field, ctype), help, man }
/* A default computed at start-up: def only says what it is. */
#define FLAG_DOC(name, letter, kind, metavar, def, min, max, field, ctype, help, man)              \
  { name, letter, FLAG_##kind, metavar, def, true, min, max, FIELD_OF(field, ctype), help, man }
/* Handled by main (server_flag_set refuses it). */
#define ACTION(name, letter, metavar, help, man)                                                   \
  { name, letter, FLAG_ACTION, metavar, NULL, false, 0, 0, 0, help, man }

static const struct server_flag flags[] = {
    FLAG("unix", 0, PATH, "PATH", NULL, 0, 0, o.unix_path, const char *,
         "listen on a Unix socket instead of TCP",
         "Listen on the Unix domain socket\n"
         ".I PATH\n"
         "instead of TCP.\n"
         "A stale socket file left by an earlier run is replaced; the file is\n"
         "removed at exit.\n"
         "Cannot be combined with\n"
         ".B \\-\\-port\n"
         "or\n"
         ".BR \\-\\-bind .\n"),
    FLAG("port", 0, UINT, "N", XSTR(RNULL_NBD_DEFAULT_PORT), 0, 65535, o.port, unsigned, "TCP port",
         "TCP port to listen on, 0 to 65535 (default 10809, the NBD port).\n"),
    FLAG("bind", 0, STRING, "ADDR", "127.0.0.1", 0, 0, o.bind_addr, const char *,
         "numeric IPv4 or IPv6 address",
         "Numeric IPv4 or IPv6 address to listen on (default 127.0.0.1).\n"
         "Host names are refused.\n"),
    FLAG("foreground", 'f', SWITCH, NULL, NULL, 0, 0, foreground, bool, "do not daemonize",
         "Do not go into the background; messages stay on standard error.\n"
         "Without this option the server forks, the parent exits 0 once the child\n"
         "serves (1 if the child failed first), and the child detaches from the\n"
         "terminal, changes directory to\n"
         ".I /\n"
         "(relative paths given on the command line are made absolute first) and\n"
         "sends its standard streams to\n"
         ".IR /dev/null .\n"),
    FLAG("pidfile", 0, PATH, "PATH", NULL, 0, 0, pidfile, const char *,
         "write the server's pid to PATH",
         "Write the server's process id to\n"
         ".I PATH\n"
         "once it listens, after going into the background; the file is removed at a\n"
         "clean exit.\n"
         "It is written atomically: a new file\n"
         ".IB PATH .tmp\n"
         "is created (mode 0644, never opened if it exists or is a symbolic link) and\n"
         "renamed over\n"
         ".IR PATH .\n"),
    FLAG("max-connections", 0, UINT, "N", XSTR(RNULL_NBD_DEFAULT_MAX_CONNECTIONS), 0, 1000000,
         o.max_connections, unsigned,
         "serve at most N clients at once; more are refused during the handshake (0 = no limit)",
         "Serve at most\n"
         ".I N\n"
         "clients at once (default 1024; 0 means no limit; at most 1000000); a client\n"
         "beyond that is\n"
         "refused during the handshake: every option it sends is answered\n"
         ".B NBD_REP_ERR_POLICY\n"
         "(however many are refused at once) and it is closed after at most 5 seconds.\n"
         "Each client is a file descriptor: the server raises its soft limit of open\n"
         "files to the hard limit at start\\-up, and when it still runs out of\n"
         "descriptors it pauses accepting for a moment (waiting clients stay in the\n"
         "listen backlog) rather than spinning, with one log line per pause.\n"),
    FLAG("readonly", 'r', SWITCH, NULL, NULL, 0, 0, readonly, bool,
         "serve read-only; wins over any readonly= key or file",
         "Serve read\\-only, the same as\n"
         ".BR readonly=1 ,\n"
         "but it wins over any\n"
         ".B readonly=\n"
         "key on the command line or in a\n"
         ".B \\-\\-config\n"
         "file, wherever they appear (as\n"
         ".B nbdkit \\-r\n"
         "and\n"
         ".B qemu\\-nbd \\-r\n"
         "do).\n"),
    FLAG_DOC("export-name", 'e', STRING, "NAME", "the empty name", 0, NBD_MAX_STRING, o.export_name,
             const char *, "the export's name",
             "The export's name (default: the empty name).\n"
             "A client asking for another name gets\n"
             ".BR NBD_REP_ERR_UNKNOWN .\n"
             "At most 4096 bytes.\n"),
    FLAG("stats-file", 0, STATS, "PATH", NULL, 0, 255, o.stats_file, const char *,
         "rewrite statistics as JSON every second (as stats_file=)",
         "The same as\n"
         ".BI stats_file= PATH\\fR:\n"
         "rewrite the statistics as JSON to\n"
         ".I PATH\n"
         "every second (and once more at exit), from a thread of its own so a slow\n"
         "file system never holds up clients; the file is written to\n"
         ".IB PATH .tmp\n"
         "and renamed, and nothing but a regular file is written or replaced there\n"
         "(a FIFO or symbolic link is refused, without blocking).\n"),
    FLAG("stats-dir", 0, PATH, "DIR", NULL, 0, 255, o.stats_dir, const char *,
         "keep DIR/diskstats and DIR/block/<disk>/stat in the kernel's format for every disk "
         "served, ten times a second (as stats_dir=; for sysstat's iostat)",
         "The same as\n"
         ".BI stats_dir= DIR\\fR:\n"
         "keep\n"
         ".IB DIR /diskstats\n"
         "and\n"
         ".IB DIR /block/ disk /stat\n"
         "up to date, rewritten ten times a second (so iostat's intervals see counts at\n"
         "most 0.1 s old), in the kernel's format (Documentation/block/stat.rst),\n"
         "for every disk served: the command line's and those of\n"
         ".BR \\-\\-control ,\n"
         "so\n"
         ".B iostat \\-x \\-f\n"
         ".I DIR\n"
         "is a live view of each.\n"
         "Written by the statistics thread, each file through a\n"
         ".B .tmp\n"
         "file and a rename;\n"
         ".I DIR\n"
         "is made if missing (it may not be anything but a directory); the directory of\n"
         "a disk powered off or removed goes.\n"
         "Merges are always 0; write zeroes count as writes, trims as discards;\n"
         "io_ticks is the time the busiest hw queue had a request in flight.\n"),
    ACTION("config", 0, "FILE",
           "read disk keys from FILE: key=value lines, # comments (applied where it appears: later "
           "keys win)",
           "Read disk keys from\n"
           ".IR FILE :\n"
           "one\n"
           ".IB key = value\n"
           "per line, as on the command line; blank lines and lines starting with\n"
           ".B #\n"
           "are skipped; a line is at most 510 bytes.\n"
           "The file is applied where the option appears, and a later key wins, so\n"
           "keys after\n"
           ".B \\-\\-config\n"
           "on the command line override the file.\n"
           "An error names the file, the line, the key, the value and the allowed range.\n"),
    FLAG("poll", 0, POLL, "MODE", "adaptive", 0, PW_FIXED_MAX_US, o.poll, const char *,
         "after work, poll the sockets instead of sleeping, so the client never pays for waking "
         "the server: adaptive (a 50 us window, kept while most requests come within it, retried "
         "now and then when not, paused while other tasks wait for a CPU), off, or a fixed window "
         "in us. Costs up to one core per busy hw queue; idle clients cost nothing",
         "What a loop thread does when it runs out of work:\n"
         ".B adaptive\n"
         "(the default),\n"
         ".B off\n"
         "or a fixed window in microseconds, 0 to 1000000 (0 is\n"
         ".BR off ).\n"
         "A loop that sleeps after every request makes each client pay for waking it:\n"
         "the client's send must wake the sleeping thread on another CPU, which costs\n"
         "the client about as much time as the rest of its work on a 4 KiB request.\n"
         "Polling keeps the loop awake for a window after its last piece of work, calling\n"
         ".BR epoll_wait (2)\n"
         "with a zero timeout, so the next request finds it running; a loop with a\n"
         "single connection calls\n"
         ".BR recv (2)\n"
         "on that socket directly instead, with the socket out of the epoll set\n"
         "until the loop may sleep again: the request is seen sooner, and the\n"
         "client's sends skip epoll's wake-up callback.\n"
         ".B adaptive\n"
         "polls for 50 \\(*ms after work while that pays: every 32 gaps between\n"
         "bursts of work it keeps polling if at most half of them ended inside the\n"
         "window, and stops otherwise. While stopped it tries again (for 32 gaps)\n"
         "10 ms after stopping, waiting twice as long after each failed try (up to\n"
         "1 s): a sleeping loop cannot tell whether polling would pay, because waking\n"
         "it slows the client by as much as polling saves (in the spirit of qemu's\n"
         "AioContext polling, which grows its window while polling finds work). It\n"
         "also stops polling for 10 ms (doubling, up to 640 ms, while it lasts)\n"
         "when, in two checks a millisecond apart, the loop's thread got less than\n"
         "80% of the time although it was polling (the scheduler gives its CPU to\n"
         "other tasks), or, with more than one connection, more tasks were runnable\n"
         "than there are CPUs (the running count of\n"
         ".IR /proc/loadavg ;\n"
         "not with one connection, whose client is a single task: the count then\n"
         "sees helpers and kernel threads passing by),\n"
         "since other work then waits for the CPU the loop would burn.\n"
         "The cost is CPU: a hw queue whose clients keep it busy polls up to one\n"
         "core; idle clients and a loop without connections cost nothing, and\n"
         "polling never delays shutdown.\n"
         ".B off\n"
         "sleeps as soon as there is no work (the lowest CPU use, the highest latency\n"
         "for a client that sends one request at a time).\n"),
    FLAG("handshake-timeout", 0, UINT, "SECONDS", XSTR(RNULL_NBD_DEFAULT_HANDSHAKE_TIMEOUT), 0,
         MAX_SECONDS, o.handshake_timeout, unsigned,
         "seconds a client has to finish the handshake (0 = no limit; refused clients: at most 5)",
         "A client must finish the handshake (reach the transmission phase) within\n"
         ".I SECONDS\n"
         "(default 10, as qemu\\-nbd; 0 means no limit; at most 86400), or it is\n"
         "disconnected: a silent client cannot hold a connection slot.\n"),
    FLAG("idle-timeout", 0, UINT, "SECONDS", "0", 0, MAX_SECONDS, o.idle_timeout, unsigned,
         "close a connection with nothing in flight that sent nothing for SECONDS (0 = never)",
         "Close an established connection that has nothing in flight, nothing left to\n"
         "send and has sent nothing for\n"
         ".I SECONDS\n"
         "(default 0: never; at most 86400).\n"),
    FLAG("tls", 0, TLS, "off|on|require", "off", 0, 0, o.tls, enum rnull_nbd_tls,
         "TLS (NBD_OPT_STARTTLS): on allows plaintext clients too, require refuses every option "
         "before TLS",
         "(or\n"
         ".BR \\-\\-tls=on ,\n"
         "as nbdkit spells it.)\n"
         "TLS through\n"
         ".B NBD_OPT_STARTTLS\n"
         "(default\n"
         ".BR off ,\n"
         "which answers it with\n"
         ".BR NBD_REP_ERR_UNSUP ).\n"
         ".B on\n"
         "serves plaintext and TLS clients alike;\n"
         ".B require\n"
         "answers every option sent before TLS is up, except\n"
         ".BR NBD_OPT_ABORT ,\n"
         "with\n"
         ".B NBD_REP_ERR_TLS_REQD\n"
         "(and ends the connection on\n"
         ".BR NBD_OPT_EXPORT_NAME ),\n"
         "so nothing about the export is told to a client that has not negotiated TLS.\n"
         "Needs\n"
         ".B \\-\\-tls\\-certificates\n"
         "or\n"
         ".BR \\-\\-tls\\-psk .\n"),
    FLAG("tls-certificates", 0, PATH, "DIR", NULL, 0, 0, o.tls_certificates, const char *,
         "X.509: DIR/ca-cert.pem, server-cert.pem, server-key.pem, optional ca-crl.pem (nbdkit's "
         "and qemu's layout)",
         "X.509 credentials, in the layout nbdkit and qemu read:\n"
         ".IR DIR /server\\-cert.pem,\n"
         ".IR DIR /server\\-key.pem\n"
         "(unencrypted), and\n"
         ".IR DIR /ca\\-cert.pem\n"
         "(the CA that signs client certificates; required with\n"
         ".BR \\-\\-tls\\-verify\\-peer ),\n"
         "and optionally\n"
         ".IR DIR /ca\\-crl.pem.\n"),
    FLAG("tls-psk", 0, PATH, "FILE", NULL, 0, 0, o.tls_psk, const char *,
         "pre-shared keys, psktool's identity:hexkey lines",
         "Pre\\-shared keys, one\n"
         ".IB identity : hexkey\n"
         "a line, as\n"
         ".BR psktool (1)\n"
         "writes them.\n"
         "Can be combined with\n"
         ".BR \\-\\-tls\\-certificates .\n"),
    FLAG("tls-verify-peer", 0, SWITCH, NULL, NULL, 0, 0, o.tls_verify_peer, bool,
         "require client certificates signed by ca-cert.pem",
         "Require a client certificate signed by\n"
         ".IR ca\\-cert.pem ;\n"
         "a client without one fails the TLS handshake.\n"),
    FLAG_DOC("tls-priority", 0, STRING, "STRING", RNULL_TLS_DEFAULT_PRIORITY, 0, 0, o.tls_priority,
             const char *, "GnuTLS priority",
             "GnuTLS priority string (default\n"
             ".BR NORMAL:\\-VERS\\-ALL:+VERS\\-TLS1.3:+VERS\\-TLS1.2 :\n"
             "TLS 1.3 preferred, nothing older than 1.2); with\n"
             ".B \\-\\-tls\\-psk\n"
             "the PSK key exchanges are added to it.\n"),
    FLAG("shutdown-timeout", 0, UINT, "SECONDS", XSTR(RNULL_NBD_DEFAULT_SHUTDOWN_TIMEOUT), 0,
         MAX_SECONDS, o.shutdown_timeout, unsigned,
         "on SIGTERM/SIGINT, wait at most SECONDS for in-flight requests, then end them with "
         "ESHUTDOWN",
         "How long\n"
         ".B SIGTERM\n"
         "or\n"
         ".B SIGINT\n"
         "waits for requests in flight (default 10; 0 to 86400): after that, the\n"
         "requests still waiting (throttled by\n"
         ".BR mbps ,\n"
         "held by the\n"
         ".B timeout\n"
         "fault, or not yet submitted) are abandoned: ended with\n"
         ".B ESHUTDOWN\n"
         "(sent to clients that still read), the connections are closed, a log line\n"
         "says how many were abandoned, and the server exits 0.\n"),
    FLAG("buffer-memory", 0, BYTES, "SIZE", "256M", 1, UINT64_MAX, o.buffer_memory, uint64_t,
         "payload buffers of all connections together (memory-backed disks); when spent, the "
         "server stops reading requests until some are free",
         "The memory for request payloads (the data of reads and writes of a\n"
         ".B memory_backed=1\n"
         "disk) of all connections together (default 256M; suffixes K, M, G, T; at\n"
         "least\n"
         ".BR max_transfer ).\n"
         "When it is spent the server stops reading new requests from connections\n"
         "that want more (back\\-pressure, as for tags) instead of allocating; a\n"
         "connection that holds none may always take one buffer of up to 32 KiB, so\n"
         "it is served while others pin the budget (for example by never reading\n"
         "their replies).\n"
         "A connection keeps at most 64 KiB of buffers up to 32 KiB, and larger ones\n"
         "up to its own limit, on their slots for the next request; kept buffers\n"
         "count against both limits (a connection short of budget gives them up\n"
         "first) and go back to the system once the connection has been idle 1 s.\n"
         "A buffer that cannot be allocated fails its request with\n"
         ".B ENOMEM\n"
         "and the connection goes on.\n"),
    FLAG_DOC("conn-buffer-memory", 0, BYTES, "SIZE", "2 x max_transfer", 1, UINT64_MAX,
             o.conn_buffer_memory, uint64_t, "the same for one connection",
             "The same limit for one connection (default twice\n"
             ".BR max_transfer ;\n"
             "at least\n"
             ".BR max_transfer ).\n"),
    FLAG("control", 0, PATH, "PATH", NULL, 0, 0, control_path, const char *,
         "a control socket (Unix, mode 0600, root or our uid only) to create, change, power and "
         "remove disks at run time: see rnull-ctl(1). Each disk is an export of its name",
         "Open a control socket at\n"
         ".I PATH\n"
         "(a Unix socket, created mode 0600 and removed at exit) through which\n"
         ".BR rnull\\-ctl (1)\n"
         "(or\n"
         ".BR socat (1))\n"
         "creates, changes, powers and removes disks while the server runs, as\n"
         "null_blk's configfs does in the kernel.\n"
         "A client is served only when SO_PEERCRED says it runs as root or as the\n"
         "server's own uid; any other gets one error line naming its uid.\n"
         "See\n"
         ".B RUN-TIME DISKS\n"
         "below.\n"),
    FLAG("control-clients", 0, UINT, "N", "64", 1, 4096, control_clients, unsigned,
         "control clients served at once; more get one error line",
         "At most\n"
         ".I N\n"
         "clients on the control socket at once (default 64, 1 to 4096); the next\n"
         "one gets one error line and is closed.\n"),
    FLAG("control-idle-timeout", 0, UINT, "SECONDS", "60", 1, MAX_SECONDS, control_idle_timeout,
         unsigned, "close a control client idle this long",
         "Close a control client that sent nothing (or half a line) for\n"
         ".I SECONDS\n"
         "(default 60, 1 to 86400).\n"),
    FLAG_DOC("disk-memory", 0, BYTES, "SIZE", "an eighth of RAM", 0, INT64_MAX, disk_memory,
             uint64_t, "the engine memory all run-time disks may take together (0: no limit)",
             "The memory the run\\-time disks' engines (tags, requests, queues) may take\n"
             "together (default an eighth of RAM; 0: no limit): a create or power on that\n"
             "would pass it is refused with the figures. Data pages are\n"
             ".BR memory_limit 's.\n"),
    FLAG("configfs", 0, PATH, "DIR", NULL, 0, 0, configfs_dir, const char *,
         "mount the disks as a FUSE tree laid out like null_blk's /sys/kernel/config/nullb (mkdir, "
         "echo, power, rmdir)",
         "Mount the same disks at\n"
         ".I DIR\n"
         "as a FUSE tree laid out like null_blk's\n"
         ".IR /sys/kernel/config/nullb :\n"
         ".I DIR/features\n"
         "lists every attribute;\n"
         ".B mkdir\n"
         ".I DIR/NAME\n"
         "creates a disk (powered off), each key is a file (size in MB and irqmode as\n"
         "a number, as null_blk's; badblocks takes +START\\-END and \\-START\\-END\n"
         "writes), writing 1 to power serves it, index is its number, and\n"
         ".B rmdir\n"
         "removes it.\n"
         "A script written for null_blk's configfs runs with only its path changed.\n"
         "Four write\\-only files run commands instead of setting keys:\n"
         ".I power_cut\n"
         "(\"1\", or the words of\n"
         ".B rnull\\-ctl power\\-cut\n"
         "after the disk's name, comma\\-separated),\n"
         ".I mark\n"
         "(a write\\-log mark's text, one word),\n"
         ".I hold\n"
         "(\"1\", or the operations: read,write) and\n"
         ".I release\n"
         "(\"0\", or the errno to fail the held requests with).\n"
         "A write the server refuses fails with its errno (EBUSY for a key that needs\n"
         "power off, EINVAL for a bad value) and the reason is printed on standard\n"
         "error.\n"
         "Needs /dev/fuse (the option fails saying so without it) and an empty\n"
         "directory; the tree is unmounted at exit.\n"),
    ACTION("help", 'h', NULL, "this help",
           "Print the options and every disk key with its default and range, then exit 0.\n"),
    ACTION("version", 'V', NULL, "print the version", "Print the version, then exit 0.\n"),
};

#define NFLAGS (sizeof flags / sizeof flags[0])
#define GETOPT_BASE 256

const struct server_flag *server_flags(size_t *count) {
  *count = NFLAGS;
  return flags;
}

const struct server_flag *server_flag_find(const char *name) {
  for (size_t i = 0; i < NFLAGS; i++)
    if (strcmp(flags[i].name, name) == 0)
      return &flags[i];
  return NULL;
}

void server_cli_init(struct server_cli *c) {
  *c = (struct server_cli){0};
  rnull_nbd_server_opts_init(&c->o);
  c->o.progname = "rnull-server";
  c->control_clients = 64;
  c->control_idle_timeout = 60;
  c->disk_memory = UINT64_MAX;
}

void server_flag_describe(const struct server_flag *f, char *buf, size_t len) {
  switch (f->kind) {
  case FLAG_UINT:
    snprintf(buf, len, "%llu..%llu", (unsigned long long)f->min, (unsigned long long)f->max);
    break;
  case FLAG_BYTES:
    snprintf(buf, len, "a size in bytes, at least %llu, with K/M/G/T suffixes",
             (unsigned long long)f->min);
    break;
  case FLAG_TLS:
    snprintf(buf, len, "off, on or require");
    break;
  case FLAG_POLL:
    snprintf(buf, len, "adaptive, off or a window in microseconds from 0 to %llu",
             (unsigned long long)f->max);
    break;
  case FLAG_STRING:
  case FLAG_STATS:
    if (f->max) {
      snprintf(buf, len, "at most %llu bytes", (unsigned long long)f->max);
      break;
    }
    /* fall through */
  default:
    snprintf(buf, len, "%s", "");
  }
}

static void *field(struct server_cli *c, const struct server_flag *f) {
  return (char *)c + f->offset;
}

/* Decimal digits only, as the engine's keys (strtoull skips blanks, a sign). */
static int set_uint(const struct server_flag *f, const char *v, unsigned *out) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (!(v[0] >= '0' && v[0] <= '9') || *end || errno || n < f->min || n > f->max)
    return -1;
  *out = (unsigned)n;
  return 0;
}

static int set_bytes(const struct server_flag *f, const char *v, uint64_t *out) {
  uint64_t n;
  if (rnull_parse_size(v, &n) < 0 || n < f->min || n > f->max)
    return -1;
  *out = n;
  return 0;
}

static int set_tls(const char *v, enum rnull_nbd_tls *out) {
  static const char *const names[] = {
      [RNULL_NBD_TLS_OFF] = "off", [RNULL_NBD_TLS_ON] = "on", [RNULL_NBD_TLS_REQUIRE] = "require"};
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(v, names[i]) == 0) {
      *out = (enum rnull_nbd_tls)i;
      return 0;
    }
  return -1;
}

/* The statistics file is replaced by rename: never over a FIFO, a device. */
static int set_stats(const struct server_flag *f, const char *v, const char **out, char *err,
                     size_t errlen) {
  if (strlen(v) > f->max)
    return -1;
  if (rnull_stats_file_usable(v) != 0) {
    snprintf(err, errlen,
             "--%s %s: exists and is not a regular file (it is replaced by rename every second)",
             f->name, v);
    return -2;
  }
  *out = v;
  return 0;
}

static int set_value(struct server_cli *c, const struct server_flag *f, const char *v, char *err,
                     size_t errlen) {
  void *p = field(c, f);
  switch (f->kind) {
  case FLAG_SWITCH:
    *(bool *)p = true;
    return 0;
  case FLAG_UINT:
    return set_uint(f, v, p);
  case FLAG_BYTES:
    return set_bytes(f, v, p);
  case FLAG_TLS:
    return set_tls(v, p);
  case FLAG_STATS:
    return set_stats(f, v, p, err, errlen);
  case FLAG_STRING:
    if (f->max && strlen(v) > f->max)
      return -1;
    /* fall through */
  case FLAG_PATH:
  case FLAG_POLL: /* checked where it is parsed: rnull_nbd_server_create */
    *(const char **)p = v;
    return 0;
  case FLAG_ACTION:
    break;
  }
  snprintf(err, errlen, "--%s: handled by the program, not a value", f->name);
  return -2;
}

int server_flag_set(struct server_cli *c, const struct server_flag *f, const char *v, char *err,
                    size_t errlen) {
  int r = set_value(c, f, v, err, errlen);
  if (r == -1) {
    char allowed[160];
    server_flag_describe(f, allowed, sizeof allowed);
    /* a long string is not repeated whole */
    if (f->kind == FLAG_STRING || f->kind == FLAG_STATS)
      snprintf(err, errlen, "--%s: longer than %llu bytes", f->name, (unsigned long long)f->max);
    else
      snprintf(err, errlen, "--%s%s%s: expected %s%s", f->name,
               f->metavar && strchr(f->metavar, '|') ? "=" : " ", v,
               f->kind == FLAG_UINT ? "a decimal integer in " : "", allowed);
  }
  return r < 0 ? -1 : 0;
}

const struct option *server_flags_getopt(const char **shortopts_out) {
  static struct option longopts[NFLAGS + 1];
  static char shortopts[2 * NFLAGS + 1];
  char *s = shortopts;
  for (size_t i = 0; i < NFLAGS; i++) {
    const struct server_flag *f = &flags[i];
    longopts[i] = (struct option){f->name, f->metavar ? required_argument : no_argument, NULL,
                                  f->letter ? f->letter : GETOPT_BASE + (int)i};
    if (f->letter) {
      *s++ = f->letter;
      if (f->metavar)
        *s++ = ':';
    }
  }
  longopts[NFLAGS] = (struct option){0};
  *s = 0;
  *shortopts_out = shortopts;
  return longopts;
}

const struct server_flag *server_flag_of_getopt(int c) {
  if (c >= GETOPT_BASE && (size_t)(c - GETOPT_BASE) < NFLAGS)
    return &flags[c - GETOPT_BASE];
  for (size_t i = 0; i < NFLAGS; i++)
    if (c > 0 && flags[i].letter == c)
      return &flags[i];
  return NULL;
}

/* "-e, --export-name NAME", "--tls=off|on|require" */
static void flag_synopsis(const struct server_flag *f, char *buf, size_t len) {
  char letter[8] = "";
  if (f->letter)
    snprintf(letter, sizeof letter, "-%c, ", f->letter);
  const char *sep = !f->metavar ? "" : strchr(f->metavar, '|') ? "=" : " ";
  snprintf(buf, len, "%s--%s%s%s", letter, f->name, sep, f->metavar ? f->metavar : "");
}

#define HELP_COLUMN 25
#define HELP_WIDTH 79

/* text at column col (at least HELP_COLUMN), wrapped at HELP_WIDTH; the
 * lines after the first start at HELP_COLUMN. */
static void put_wrapped(FILE *out, const char *text, int col) {
  const char *p = text + strspn(text, " ");
  for (bool first = true; *p; first = false) {
    size_t w = strcspn(p, " ");
    if (!first && col + 1 + (int)w > HELP_WIDTH) {
      fprintf(out, "\n%*s", HELP_COLUMN, "");
      col = HELP_COLUMN;
    } else if (!first) {
      fputc(' ', out);
      col++;
    }
    fwrite(p, 1, w, out);
    col += (int)w;
    p += w;
    p += strspn(p, " ");
  }
  fputc('\n', out);
}

void server_flags_help(FILE *out) {
  for (size_t i = 0; i < NFLAGS; i++) {
    const struct server_flag *f = &flags[i];
    char left[80], allowed[160], text[1024];
    flag_synopsis(f, left, sizeof left);
    server_flag_describe(f, allowed, sizeof allowed);
    bool range = f->kind == FLAG_UINT || f->kind == FLAG_POLL;
    if (f->def && range)
      snprintf(text, sizeof text, "%s (default %s; %s)", f->help, f->def, allowed);
    else if (f->def)
      snprintf(text, sizeof text, "%s (default %s)", f->help, f->def);
    else
      snprintf(text, sizeof text, "%s", f->help);
    int col = fprintf(out, "  %s ", left);
    if (col < HELP_COLUMN)
      col += fprintf(out, "%*s", HELP_COLUMN - col, "");
    put_wrapped(out, text, col);
  }
}

/* roff: a minus sign is \- (a backslash \e) */
static void put_roff(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '-')
      fputs("\\-", out);
    else if (*s == '\\')
      fputs("\\e", out);
    else
      fputc(*s, out);
  }
}

void server_flags_man_synopsis(FILE *out) {
  for (size_t i = 0; i < NFLAGS; i++) {
    const struct server_flag *f = &flags[i];
    if (f->kind == FLAG_ACTION && !f->metavar)
      continue; /* --help, --version: a synopsis line of their own */
    fputs(".OP ", out);
    if (f->letter && !f->metavar)
      fprintf(out, "\\-%c", f->letter);
    else if (f->letter)
      fprintf(out, "\\-%c %s", f->letter, f->metavar);
    else {
      fputs("\\-\\-", out);
      put_roff(out, f->name);
      if (f->metavar) {
        fputc(' ', out);
        put_roff(out, f->metavar);
      }
    }
    fputc('\n', out);
  }
}

/* The .TP line of a flag, as the page had it by hand. */
static void man_tag(FILE *out, const struct server_flag *f) {
  fputs(".TP\n", out);
  if (f->letter) {
    fprintf(out, ".BR \\-%c \", \" \\-\\-", f->letter);
    put_roff(out, f->name);
    if (f->metavar) {
      fputs(" \" \\fI", out);
      put_roff(out, f->metavar);
      fputs("\\fP\"", out);
    }
  } else if (!f->metavar) {
    fputs(".B \\-\\-", out);
    put_roff(out, f->name);
  } else {
    fputs(strchr(f->metavar, '|') ? ".BR \\-\\-" : ".BI \\-\\-", out);
    put_roff(out, f->name);
    fputs(" \" ", out);
    fputs(f->metavar, out);
    fputc('"', out);
  }
  fputc('\n', out);
}

void server_flags_man_options(FILE *out) {
  for (size_t i = 0; i < NFLAGS; i++) {
    man_tag(out, &flags[i]);
    fputs(flags[i].man, out);
  }
}
