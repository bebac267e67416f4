/* Integration test harness: see harness.h. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 10
#define MAX_LIVE 32

/* Harnesses not yet cleaned up, so exit() or a return from main after a
 * failed check still stops their servers and removes their dirs. A copy is
 * kept, not the pointer: the caller's struct may live in main's stack frame,
 * gone by the time atexit handlers run. */
static struct harness *live_owner[MAX_LIVE];
static struct harness live_copy[MAX_LIVE];

long long harness_now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

  nanosleep(&ts, NULL);
}

static void cleanup_live_at_exit(void) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (live_owner[i]) {
      live_owner[i] = NULL;
      harness_cleanup(&live_copy[i]);
    }
}

/* Record h (or refresh its copy after its pid changed). */
static void track(struct harness *h) {
  static bool registered;
  int free_slot = -1;

  if (!registered) {
    atexit(cleanup_live_at_exit);
    registered = true;
  }
  for (int i = 0; i < MAX_LIVE; i++) {
    if (live_owner[i] == h) {
      live_copy[i] = *h;
      return;
    }
    if (live_owner[i] == NULL && free_slot < 0)
      free_slot = i;
  }
  if (free_slot < 0) {
    fprintf(stderr, "harness: more than %d live harnesses, not tracked\n", MAX_LIVE);
    return;
  }
  live_owner[free_slot] = h;
  live_copy[free_slot] = *h;
}

static void untrack(struct harness *h) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (live_owner[i] == h)
      live_owner[i] = NULL;
}

/* Keep the at-exit copy current (no-op for untracked structs). */
static void sync_live(struct harness *h) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (live_owner[i] == h)
      live_copy[i] = *h;
}

int harness_init(struct harness *h) {
  const char *tmp = getenv("TMPDIR");

  memset(h, 0, sizeof *h);
  snprintf(h->dir, sizeof h->dir, "%s/rnull-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(h->dir) == NULL) {
    fprintf(stderr, "harness: mkdtemp %s: %s\n", h->dir, strerror(errno));
    h->dir[0] = '\0';
    return -1;
  }
  snprintf(h->sock, sizeof h->sock, "%s/sock", h->dir);
  snprintf(h->log, sizeof h->log, "%s/server.log", h->dir);
  track(h);
  return 0;
}

/* In the child: output to out_path, die with the parent, exec. */
static void exec_child(char *const argv[], const char *out_path, pid_t parent) {
  int in = open("/dev/null", O_RDONLY);
  int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

  if (in >= 0)
    dup2(in, STDIN_FILENO);
  if (out >= 0) {
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
  }
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent)
    _exit(126); /* the test died before we got here */
  execvp(argv[0], argv);
  fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

static pid_t spawn(char *const argv[], const char *out_path) {
  pid_t parent = getpid();
  pid_t pid;

  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid == 0)
    exec_child(argv, out_path, parent);
  if (pid < 0)
    fprintf(stderr, "harness: fork: %s\n", strerror(errno));
  return pid;
}

/* A Unix socket's file exists from bind(), before listen(): a connect in
 * between is refused. /proc/net/unix says when it listens (__SO_ACCEPTCON).
 * Without /proc, existence has to do. */
static bool ready(const char *path) {
  struct stat st;
  FILE *f;
  char line[512];
  bool listening = false;

  if (stat(path, &st) != 0)
    return false;
  if (!S_ISSOCK(st.st_mode))
    return true;
  f = fopen("/proc/net/unix", "r");
  if (f == NULL)
    return true;
  while (!listening && fgets(line, sizeof line, f)) {
    unsigned long flags;
    char sock_path[400];

    if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %399s", &flags, sock_path) == 2 &&
        strcmp(sock_path, path) == 0 && (flags & 0x10000))
      listening = true;
  }
  fclose(f);
  return listening;
}

bool harness_exited(struct harness *h) {
  int st;

  if (h->pid <= 0)
    return true;
  if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
    h->status = st;
    h->pid = 0;
    sync_live(h);
    return true;
  }
  return false;
}

int harness_start_wait_for(struct harness *h, char *const argv[], const char *wait_path) {
  long long deadline = harness_now_ms() + HARNESS_START_TIMEOUT_S * 1000LL;
  if (h->pid > 0) {
    fprintf(stderr, "harness: a server is already running\n");
    return -1;
  }
  h->pid = spawn(argv, h->log);
  if (h->pid < 0) {
    h->pid = 0;
    return -1;
  }
  h->started = true;
  h->status = 0;
  sync_live(h);
  while (wait_path && !ready(wait_path)) {
    if (harness_exited(h)) {
      fprintf(stderr, "harness: %s exited (status 0x%x) before %s appeared\n", argv[0], h->status,
              wait_path);
      harness_dump_log(h);
      return -1;
    }
    if (harness_now_ms() > deadline) {
      fprintf(stderr, "harness: %s did not appear within %d s\n", wait_path,
              HARNESS_START_TIMEOUT_S);
      harness_stop(h);
      harness_dump_log(h);
      return -1;
    }
    harness_sleep_ms(POLL_MS);
  }
  return 0;
}

int harness_start(struct harness *h, char *const argv[]) {
  return harness_start_wait_for(h, argv, h->sock);
}

int harness_connect_handle(struct harness *h, struct nbd_handle *nbd) {
  if (nbd_connect_unix(nbd, h->sock) == -1) {
    fprintf(stderr, "harness: connect %s: %s\n", h->sock, nbd_get_error());
    return -1;
  }
  return 0;
}

struct nbd_handle *harness_connect(struct harness *h) {
  long long deadline = harness_now_ms() + 2000;

  for (;;) {
    struct nbd_handle *nbd = nbd_create();

    if (nbd == NULL) {
      fprintf(stderr, "harness: nbd_create: %s\n", nbd_get_error());
      return NULL;
    }
    if (nbd_connect_unix(nbd, h->sock) == 0)
      return nbd;
    /* The socket file exists just before listen(): retry briefly. */
    if (harness_now_ms() > deadline || harness_exited(h)) {
      fprintf(stderr, "harness: connect %s: %s\n", h->sock, nbd_get_error());
      nbd_close(nbd);
      return NULL;
    }
    nbd_close(nbd);
    harness_sleep_ms(POLL_MS);
  }
}

int harness_signal(struct harness *h, int sig) {
  if (h->pid <= 0)
    return -1;
  return kill(h->pid, sig);
}

/* Wait up to ms for pid; its wait status, or -1 if still running. */
static int wait_bounded(pid_t pid, int ms) {
  long long deadline = harness_now_ms() + ms;
  int st;

  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);

    if (r == pid)
      return st;
    if (r < 0 && errno != EINTR)
      return -1;
    if (harness_now_ms() > deadline)
      return -1;
    harness_sleep_ms(POLL_MS);
  }
}

int harness_stop(struct harness *h) {
  int grace_ms = h->stop_timeout_ms > 0 ? h->stop_timeout_ms : HARNESS_STOP_TIMEOUT_S * 1000;
  int st;

  if (h->pid <= 0)
    return h->started ? h->status : -1;
  kill(h->pid, SIGTERM);
  st = wait_bounded(h->pid, grace_ms);
  if (st == -1) {
    fprintf(stderr, "harness: pid %d ignored SIGTERM for %d ms: SIGKILL\n", (int)h->pid, grace_ms);
    kill(h->pid, SIGKILL);
    waitpid(h->pid, &st, 0);
  }
  h->pid = 0;
  h->status = st;
  sync_live(h);
  return st;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  if (remove(path) != 0)
    fprintf(stderr, "harness: remove %s: %s\n", path, strerror(errno));
  return 0;
}

void harness_cleanup(struct harness *h) {
  if (h->pid > 0)
    harness_stop(h);
  if (h->dir[0] != '\0')
    nftw(h->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  h->dir[0] = '\0';
  untrack(h);
}

int harness_run(char *const argv[], const char *out_path, int timeout_s) {
  pid_t pid = spawn(argv, out_path);
  int st;

  if (pid < 0)
    return -1;
  st = wait_bounded(pid, timeout_s * 1000);
  if (st == -1) {
    fprintf(stderr, "harness: %s still running after %d s: SIGKILL\n", argv[0], timeout_s);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  return st;
}

char *harness_read_file(const char *path) {
  FILE *f = fopen(path, "r");
  char *buf = NULL;
  size_t len = 0, cap = 0, n;

  if (f == NULL)
    return calloc(1, 1);
  do {
    if (cap - len < 4096) {
      char *nb = realloc(buf, cap + 65536);

      if (nb == NULL)
        break;
      buf = nb;
      cap += 65536;
    }
    n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
  } while (n > 0);
  fclose(f);
  if (buf == NULL)
    return calloc(1, 1);
  buf[len] = '\0';
  return buf;
}

void harness_dump_log(const struct harness *h) {
  char *text = harness_read_file(h->log);

  fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", h->log, text);
  free(text);
}

bool harness_file_has(const char *path, const char *what) {
  char *text = harness_read_file(path);
  bool r = text && strstr(text, what);

  free(text);
  return r;
}

bool harness_file_has_or_show(const char *path, const char *what) {
  char *text = harness_read_file(path);
  bool r = text && strstr(text, what);

  if (!r)
    fprintf(stderr, "output lacks \"%s\":\n%s\n", what, text ? text : "");
  free(text);
  return r;
}

bool harness_log_has(const struct harness *h, const char *what) {
  return harness_file_has(h->log, what);
}

static int walk_extents(void *user_data, const char *metacontext, uint64_t offset,
                        uint32_t *entries, size_t nr_entries, int *error) {
  struct harness_extent_walk *w = user_data;

  (void)offset;
  (void)error;
  if (strcmp(metacontext, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0)
    return 0;
  for (size_t i = 0; i + 1 < nr_entries; i += 2)
    w->fn(w->user, entries[i], entries[i + 1]);
  return 0;
}

nbd_extent_callback harness_extent_callback(struct harness_extent_walk *w) {
  return (nbd_extent_callback){.callback = walk_extents, .user_data = w};
}

long harness_cpu_ticks(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  /* fields after the command: state ppid ... utime(14) stime(15) */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return -1;
  return (long)(ut + st);
}
