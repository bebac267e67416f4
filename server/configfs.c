/* rnull-server --configfs (see configfs.h): FUSE operations over the line
 * protocol of the registry (rnull_ctl_exec). */
#define FUSE_USE_VERSION 31
#include "configfs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "rnull/ctl.h"
#include "rnull/rnull.h"

#define MAX_INDEX RNULL_CTL_MAX_DISKS

struct rnull_configfs {
  struct rnull_ctl *ctl;
  struct fuse *fuse;
  pthread_t thread;
  char dir[4096];
  pthread_mutex_t lock;                       /* index table */
  char index[MAX_INDEX][RNULL_DISK_NAME_LEN]; /* "" = free */
};

static struct rnull_configfs *fs_of(void) { return fuse_get_context()->private_data; }

/* Run one command given as words (rnull_ctl_execv: each word checked on
 * its own, never pasted into a line), NULL-terminated; its output (without
 * the final "ok") in *out (malloc'd). 0, or a negative errno (a refusal is
 * also logged). */
static int run(struct rnull_configfs *fs, char **out, const char *w0, ...)
    __attribute__((sentinel));
static int run(struct rnull_configfs *fs, char **out, const char *w0, ...) {
  const char *argv[8];
  int argc = 0;
  va_list ap;
  va_start(ap, w0);
  for (const char *w = w0; w && argc < 8; w = va_arg(ap, const char *))
    argv[argc++] = w;
  va_end(ap);
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  if (!m)
    return -ENOMEM;
  int r = rnull_ctl_execv(fs->ctl, argc, argv, m);
  fclose(m);
  char *last = buf;
  for (char *p = buf; *p; p++)
    if (p[0] == '\n' && p[1])
      last = p + 1;
  if (r < 0 && strcmp(w0, "get") != 0) /* (a lookup's miss is no news) */
    fprintf(stderr, "rnull-server: configfs: %s %s: %s", w0, argc > 1 ? argv[1] : "", last);
  *last = 0; /* drop the ok / error line */
  if (out)
    *out = buf;
  else
    free(buf);
  return r;
}

/* A file name from the tree: a disk name, a key (the rules of the name
 * key: at most 31 bytes; no blank, '=', '/' or control character). */
static bool name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= RNULL_DISK_NAME_LEN)
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c <= ' ' || c == '=' || c == 0x7f)
      return false;
  }
  return true;
}

/* Write-only files that run a command on the disk (not keys): a power cut
 * (its words comma-separated: "lose=some,keep=50,seed=7", or "1"), a write
 * log mark (the text), holding requests ("1" or the ops, "read,write") and
 * releasing them ("0" or the errno to fail them with). */
static const char *const actions[] = {"power_cut", "mark", "hold", "release"};

static bool is_action(const char *name) {
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
    if (!strcmp(name, actions[i]))
      return true;
  return false;
}

/* The attribute file name <-> key: null_blk's names are our keys. */
static bool is_attr(const char *name) {
  return !strcmp(name, "power") || !strcmp(name, "index") || is_action(name) ||
         (rnull_config_find(name, NULL) && strcmp(name, "name") != 0);
}

/* An action file's value (checked: no blank, no control character) as the
 * words of its command. */
static int run_action(struct rnull_configfs *fs, const char *disk, const char *attr, char *value) {
  char arg[RNULL_CTL_LINE_MAX];
  if (!strcmp(attr, "mark"))
    return run(fs, NULL, "mark", disk, value, NULL);
  if (!strcmp(attr, "hold")) {
    if (!strcmp(value, "1"))
      return run(fs, NULL, "hold", disk, NULL);
    if ((size_t)snprintf(arg, sizeof arg, "ops=%s", value) >= sizeof arg)
      return -E2BIG;
    return run(fs, NULL, "hold", disk, arg, NULL);
  }
  if (!strcmp(attr, "release")) {
    if (!strcmp(value, "0"))
      return run(fs, NULL, "release", disk, NULL);
    if ((size_t)snprintf(arg, sizeof arg, "errno=%s", value) >= sizeof arg)
      return -E2BIG;
    return run(fs, NULL, "release", disk, arg, NULL);
  }
  /* power_cut: up to four comma-separated words */
  const char *w[4] = {NULL};
  unsigned n = 0;
  if (strcmp(value, "1") != 0) {
    for (char *save = NULL, *t = strtok_r(value, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      if (n == 4)
        return -EINVAL;
      w[n++] = t;
    }
  }
  return run(fs, NULL, "power-cut", disk, w[0], w[1], w[2], w[3], NULL);
}

/* Split "/NAME/ATTR" (or "/NAME", "/"). */
static int parse_path(const char *path, char *disk, size_t dl, const char **attr) {
  *attr = NULL;
  disk[0] = 0;
  if (!strcmp(path, "/"))
    return 0;
  const char *p = path + 1, *slash = strchr(p, '/');
  size_t n = slash ? (size_t)(slash - p) : strlen(p);
  if (n == 0 || n >= dl)
    return -ENOENT;
  memcpy(disk, p, n);
  disk[n] = 0;
  if (!name_ok(disk))
    return -ENOENT;
  if (slash) {
    *attr = slash + 1;
    if (strchr(*attr, '/') || !name_ok(*attr))
      return -ENOENT;
  }
  return 0;
}

static bool disk_exists(struct rnull_configfs *fs, const char *disk) {
  char *o = NULL;
  int r = run(fs, &o, "get", disk, "power", NULL);
  free(o);
  return r == 0;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void)fi;
  struct rnull_configfs *fs = fs_of();
  char disk[RNULL_DISK_NAME_LEN];
  const char *attr;
  memset(st, 0, sizeof *st);
  st->st_uid = getuid();
  st->st_gid = getgid();
  if (parse_path(path, disk, sizeof disk, &attr) < 0)
    return -ENOENT;
  if (!disk[0]) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  if (!attr && !strcmp(disk, "features")) {
    st->st_mode = S_IFREG | 0444;
    st->st_size = 4096;
    st->st_nlink = 1;
    return 0;
  }
  if (!disk_exists(fs, disk))
    return -ENOENT;
  if (!attr) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  if (!is_attr(attr))
    return -ENOENT;
  st->st_mode = S_IFREG | (!strcmp(attr, "index") ? 0444 : is_action(attr) ? 0200 : 0644);
  st->st_size = 4096; /* as sysfs: reads are direct, the size is a page */
  st->st_nlink = 1;
  return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)off;
  (void)fi;
  (void)flags;
  struct rnull_configfs *fs = fs_of();
  char disk[RNULL_DISK_NAME_LEN];
  const char *attr;
  if (parse_path(path, disk, sizeof disk, &attr) < 0 || attr)
    return -ENOENT;
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  if (!disk[0]) {
    fill(buf, "features", NULL, 0, 0);
    char *o = NULL;
    if (run(fs, &o, "list", NULL) == 0) {
      char *save = NULL, *line = strtok_r(o, "\n", &save); /* the header */
      while ((line = strtok_r(NULL, "\n", &save))) {
        char name[RNULL_DISK_NAME_LEN];
        if (sscanf(line, "%31s", name) == 1)
          fill(buf, name, NULL, 0, 0);
      }
    }
    free(o);
    return 0;
  }
  if (!disk_exists(fs, disk))
    return -ENOENT;
  size_t nt;
  const struct rnull_option_table *const *t = rnull_config_tables(&nt);
  for (size_t k = 0; k < nt; k++)
    for (size_t i = 0; i < t[k]->n; i++)
      if (t[k]->opts[i].type != RNULL_OPT_REJECT && strcmp(t[k]->opts[i].key, "name"))
        fill(buf, t[k]->opts[i].key, NULL, 0, 0);
  fill(buf, "power", NULL, 0, 0);
  fill(buf, "index", NULL, 0, 0);
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
    fill(buf, actions[i], NULL, 0, 0);
  return 0;
}

static int take_index(struct rnull_configfs *fs, const char *disk) {
  pthread_mutex_lock(&fs->lock);
  int idx = -1;
  for (int i = 0; i < MAX_INDEX && idx < 0; i++)
    if (!fs->index[i][0] || !strcmp(fs->index[i], disk))
      idx = i;
  if (idx >= 0)
    snprintf(fs->index[idx], sizeof fs->index[idx], "%s", disk);
  pthread_mutex_unlock(&fs->lock);
  return idx;
}

static int find_index(struct rnull_configfs *fs, const char *disk, bool drop) {
  pthread_mutex_lock(&fs->lock);
  int idx = -1;
  for (int i = 0; i < MAX_INDEX && idx < 0; i++)
    if (!strcmp(fs->index[i], disk))
      idx = i;
  if (idx >= 0 && drop)
    fs->index[idx][0] = 0;
  pthread_mutex_unlock(&fs->lock);
  return idx;
}

static int fs_mkdir(const char *path, mode_t mode) {
  (void)mode;
  struct rnull_configfs *fs = fs_of();
  char disk[RNULL_DISK_NAME_LEN];
  const char *attr;
  int r = parse_path(path, disk, sizeof disk, &attr);
  if (r < 0 || attr || !disk[0])
    return strlen(path) > RNULL_DISK_NAME_LEN ? -ENAMETOOLONG : -EINVAL;
  if (!strcmp(disk, "features"))
    return -EEXIST;
  r = run(fs, NULL, "create", disk, "power=0", NULL);
  if (r == 0)
    take_index(fs, disk);
  return r;
}

static int fs_rmdir(const char *path) {
  struct rnull_configfs *fs = fs_of();
  char disk[RNULL_DISK_NAME_LEN];
  const char *attr;
  if (parse_path(path, disk, sizeof disk, &attr) < 0 || attr || !disk[0])
    return -ENOENT;
  int r = run(fs, NULL, "remove", disk, NULL);
  if (r == 0)
    find_index(fs, disk, true);
  return r;
}

/* The attribute's value as null_blk shows it, newline-terminated. */
static int attr_text(struct rnull_configfs *fs, const char *disk, const char *attr, char *text,
                     size_t len) {
  if (!strcmp(attr, "index")) {
    int idx = find_index(fs, disk, false);
    snprintf(text, len, "%d\n", idx < 0 ? take_index(fs, disk) : idx);
    return 0;
  }
  char *o = NULL;
  int r = run(fs, &o, "get", disk, attr, NULL);
  if (r < 0) {
    free(o);
    return r;
  }
  char *v = strchr(o, '=') ? strchr(o, '=') + 1 : o + strlen(o);
  v[strcspn(v, "\n")] = 0;
  int n;
  if (!strcmp(attr, "size")) /* null_blk: MB */
    n = snprintf(text, len, "%llu\n", strtoull(v, NULL, 10) >> 20);
  else if (!strcmp(attr, "irqmode"))
    n = snprintf(text, len, "%d\n", !strcmp(v, "softirq") ? 1 : !strcmp(v, "timer") ? 2 : 0);
  else
    n = snprintf(text, len, "%s\n", v);
  free(o);
  return n < 0 || (size_t)n >= len ? -E2BIG : 0; /* never a cut value */
}

static int fs_open(const char *path, struct fuse_file_info *fi) {
  char disk[RNULL_DISK_NAME_LEN];
  const char *attr;
  if (parse_path(path, disk, sizeof disk, &attr) < 0)
    return -ENOENT;
  bool features = !attr && !strcmp(disk, "features");
  if (!features && (!attr || !is_attr(attr)))
    return -ENOENT;
  if ((features || !strcmp(attr, "index")) && (fi->flags & O_ACCMODE) != O_RDONLY)
    return -EACCES;
  if (attr && is_action(attr) && (fi->flags & O_ACCMODE) == O_RDONLY)
    return -EACCES;  /* write-only: a command, no value to read */
  fi->direct_io = 1; /* values change under us: no page cache */
  return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)fi;
  struct rnull_configfs *fs = fs_of();
  char disk[RNULL_DISK_NAME_LEN], text[4096];
  const char *attr;
  if (parse_path(path, disk, sizeof disk, &attr) < 0)
    return -ENOENT;
  int r;
  if (!attr && !strcmp(disk, "features")) {
    char *o = NULL;
    r = run(fs, &o, "features", NULL);
    if (r == 0 && strlen(o) >= sizeof text)
      r = -E2BIG;
    snprintf(text, sizeof text, "%s", r == 0 ? o : "");
    free(o);
  } else {
    r = attr_text(fs, disk, attr, text, sizeof text);
  }
  if (r < 0)
    return r;
  size_t n = strlen(text);
  if ((size_t)off >= n)
    return 0;
  if (size > n - (size_t)off)
    size = n - (size_t)off;
  memcpy(buf, text + off, size);
  return (int)size;
}

/* One write is one value: all of it, or an error (never cut): one final
 * newline (echo's) is dropped; any other control character or blank, an
 * empty value or one that does not fit a command word is refused. */
static int fs_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi) {
  (void)fi;
  struct rnull_configfs *fs = fs_of();
  char disk[RNULL_DISK_NAME_LEN], word[RNULL_CTL_LINE_MAX];
  const char *attr;
  if (parse_path(path, disk, sizeof disk, &attr) < 0 || !attr || !is_attr(attr))
    return -ENOENT;
  if (!strcmp(attr, "index"))
    return -EACCES;
  if (off != 0)
    return -EINVAL; /* a value is written whole, at the start */
  size_t n = size;
  if (n && buf[n - 1] == '\n')
    n--;
  if (n == 0 || memchr(buf, 0, n))
    return -EINVAL;
  if (is_action(attr)) {
    if (n >= sizeof word)
      return -E2BIG;
    memcpy(word, buf, n);
    word[n] = 0;
    int r = run_action(fs, disk, attr, word);
    return r < 0 ? r : (int)size;
  }
  bool badblocks_edit = !strcmp(attr, "badblocks") && (buf[0] == '+' || buf[0] == '-');
  bool power = !strcmp(attr, "power");
  int w = power || badblocks_edit ? snprintf(word, sizeof word, "%.*s", (int)n, buf)
                                  : snprintf(word, sizeof word, "%s=%.*s%s", attr, (int)n, buf,
                                             !strcmp(attr, "size") ? "M" : ""); /* null_blk: MB */
  if (w < 0 || (size_t)w >= sizeof word)
    return -E2BIG;
  int r;
  if (power)
    r = run(fs, NULL, "power", disk, word, NULL);
  else if (badblocks_edit)
    r = run(fs, NULL, "badblocks", disk, word, NULL);
  else
    r = run(fs, NULL, "set", disk, word, NULL);
  return r < 0 ? r : (int)size;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  (void)path;
  (void)size;
  (void)fi;
  return 0; /* echo > attr truncates first: attributes have no length */
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  cfg->direct_io = 1;
  cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
  return fuse_get_context()->private_data;
}

static const struct fuse_operations ops = {
    .init = fs_init,
    .getattr = fs_getattr,
    .readdir = fs_readdir,
    .mkdir = fs_mkdir,
    .rmdir = fs_rmdir,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .truncate = fs_truncate,
};

static void *fs_main(void *arg) {
  struct rnull_configfs *fs = arg;
  fuse_loop_mt(fs->fuse, 0); /* (FUSE 3.1's form: no cloned fds) */
  return NULL;
}

int rnull_configfs_start(struct rnull_configfs **out, struct rnull_ctl *ctl, const char *dir,
                         char *err, size_t errlen) {
  *out = NULL;
  if (access("/dev/fuse", R_OK | W_OK) < 0) {
    int e = errno;
    snprintf(err, errlen, "--configfs %s: /dev/fuse: %s (FUSE is needed for the configfs tree)",
             dir, strerror(e));
    return -e;
  }
  struct rnull_configfs *fs = calloc(1, sizeof *fs);
  if (!fs)
    return -ENOMEM;
  fs->ctl = ctl;
  char *abs = realpath(dir, NULL); /* as /proc/self/mountinfo shows it */
  snprintf(fs->dir, sizeof fs->dir, "%s", abs ? abs : dir);
  free(abs);
  pthread_mutex_init(&fs->lock, NULL);
  char *argv[] = {"rnull-server", "-o", "default_permissions,fsname=rnull-configfs", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, argv);
  fs->fuse = fuse_new(&args, &ops, sizeof ops, fs);
  fuse_opt_free_args(&args);
  if (!fs->fuse || fuse_mount(fs->fuse, dir) != 0) {
    snprintf(err, errlen, "--configfs %s: cannot mount the FUSE tree (is it an empty directory?)",
             dir);
    if (fs->fuse)
      fuse_destroy(fs->fuse);
    free(fs);
    return -EINVAL;
  }
  sigset_t all, prev;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &prev);
  int r = pthread_create(&fs->thread, NULL, fs_main, fs);
  pthread_sigmask(SIG_SETMASK, &prev, NULL);
  if (r != 0) {
    fuse_unmount(fs->fuse);
    fuse_destroy(fs->fuse);
    free(fs);
    snprintf(err, errlen, "--configfs %s: cannot start its thread", dir);
    return -r;
  }
  *out = fs;
  return 0;
}

/* Whether dir is still a mount point of ours (/proc/self/mountinfo's
 * fifth field, octal escapes undone): after an external fusermount3 -u
 * there is nothing left to unmount, and nothing to complain about. */
static bool still_mounted(const char *dir) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return true; /* cannot tell: try */
  char line[8192], mp[4096];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    const char *p = line;
    for (int field = 0; field < 4 && p; field++)
      p = (p = strchr(p, ' ')) ? p + 1 : NULL;
    size_t n = 0;
    for (; p && *p && *p != ' ' && n + 1 < sizeof mp; p++) {
      if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
        mp[n++] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
        p += 3;
      } else {
        mp[n++] = *p;
      }
    }
    mp[n] = 0;
    found = p && !strcmp(mp, dir);
  }
  fclose(f);
  return found;
}

void rnull_configfs_stop(struct rnull_configfs *fs) {
  if (!fs)
    return;
  /* Unmount first (the kernel ends the connection: the loop's reads of
   * /dev/fuse return), join, then let libfuse close its descriptor: never
   * closed under a thread still reading it. */
  fuse_exit(fs->fuse);
  if (!still_mounted(fs->dir)) {
    /* unmounted from outside (fusermount3 -u): the loop has ended */
  } else if (umount2(fs->dir, MNT_DETACH) < 0) { /* not root: the setuid helper */
    char *argv[] = {"fusermount3", "-u", "-z", fs->dir, NULL};
    pid_t pid;
    int st = 1;
    if (posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ) != 0 ||
        waitpid(pid, &st, 0) < 0 || st != 0)
      fprintf(stderr, "rnull-server: configfs: cannot unmount %s\n", fs->dir);
  }
  pthread_join(fs->thread, NULL);
  fuse_unmount(fs->fuse);
  fuse_destroy(fs->fuse);
  pthread_mutex_destroy(&fs->lock);
  free(fs);
}
