/* A power cut: the fate of every record of the cache's model (cache.h) is
 * decided from the mode and the seed, the survivors are applied to the
 * durable store, and the cache is frozen; then the crash report. The order
 * of the random draws is fixed (one per record in completion order, then
 * the shuffle), so a seed gives the same state on the same records. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "power_cut.h"

enum fate { FATE_LOST, FATE_KEPT, FATE_TORN, FATE_DURABLE };
static const char *const fate_names[] = {"lost", "kept", "torn", "durable"};
static const char *const lose_names[] = {"all", "some", "prefix"};
static const char *const op_names[] = {"write", "zero", "trim"};

struct cut_rec {
  const struct null_rec *r;
  enum fate fate;
  uint64_t torn_seed; /* FATE_TORN: which physical blocks stay */
  uint32_t order;     /* position in the order survivors were applied, from 1 */
};

void rnull_power_cut_init(struct rnull_power_cut *pc) {
  *pc = (struct rnull_power_cut){.lose = RNULL_LOSE_ALL, .keep = 50};
}

static int parse_u64(const char *v, uint64_t max, uint64_t *out) {
  char *end;
  if (!*v || *v < '0' || *v > '9')
    return -EINVAL;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (*end || errno || x > max)
    return -EINVAL;
  *out = x;
  return 0;
}

int rnull_power_cut_set(struct rnull_power_cut *pc, const char *kv, char *err, size_t errlen) {
  const char *eq = strchr(kv, '=');
  size_t kl = eq ? (size_t)(eq - kv) : 0;
  const char *v = eq ? eq + 1 : "";
  uint64_t x;
  if (kl == 4 && !strncmp(kv, "lose", 4)) {
    for (unsigned i = 0; i < 3; i++)
      if (!strcmp(v, lose_names[i])) {
        pc->lose = (enum rnull_lose)i;
        return 0;
      }
    snprintf(err, errlen, "lose=%s: invalid value: expected all, some or prefix", v);
  } else if (kl == 4 && !strncmp(kv, "keep", 4)) {
    if (parse_u64(v, 100, &x) == 0) {
      pc->keep = (unsigned)x;
      return 0;
    }
    snprintf(err, errlen, "keep=%s: invalid value: expected a percentage from 0 to 100", v);
  } else if (kl == 4 && !strncmp(kv, "torn", 4)) {
    if (!strcmp(v, "0") || !strcmp(v, "1")) {
      pc->torn = v[0] == '1';
      return 0;
    }
    snprintf(err, errlen, "torn=%s: invalid value: expected 0 or 1", v);
  } else if (kl == 4 && !strncmp(kv, "seed", 4)) {
    if (parse_u64(v, UINT64_MAX, &x) == 0) {
      pc->seed = x;
      return 0;
    }
    snprintf(err, errlen, "seed=%s: invalid value: expected a number from 0 to %" PRIu64, v,
             UINT64_MAX);
  } else {
    snprintf(err, errlen, "'%s': unknown power-cut option (lose=, keep=, torn=, seed=)", kv);
  }
  return -EINVAL;
}

static uint64_t mix(uint64_t x) { /* splitmix64's finalizer */
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint64_t clock_seed(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t s =
      mix(((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^ (uint64_t)getpid());
  return s ? s : 1;
}

/* Physical block b of a torn write stays? Of its nb blocks, a proper
 * subset (at least one stays, at least one goes). */
static bool torn_keeps(const struct cut_rec *cr, uint64_t b, uint64_t nb) {
  uint64_t all = mix(cr->torn_seed), gone = all % nb,
           stays = (gone + 1 + (all >> 32) % (nb - 1)) % nb;
  if (b == gone)
    return false;
  if (b == stays)
    return true;
  return mix(cr->torn_seed + b + 1) & 1;
}

static uint64_t nr_blocks(const struct null_rec *r, uint32_t pbs) {
  return (r->off + r->len - 1) / pbs - r->off / pbs + 1;
}

/* Apply a survivor: whole, or a torn write's remaining physical blocks. */
static void land(struct null_cache *c, const struct cut_rec *cr, uint32_t pbs) {
  const struct null_rec *r = cr->r;
  if (cr->fate != FATE_TORN) {
    null_cache_apply(c, r, r->off, r->len);
    return;
  }
  uint64_t nb = nr_blocks(r, pbs), first = r->off / pbs;
  for (uint64_t b = 0; b < nb; b++) {
    uint64_t from = (first + b) * pbs, to = from + pbs;
    from = from < r->off ? r->off : from;
    to = to > r->off + r->len ? r->off + r->len : to;
    if (torn_keeps(cr, b, nb))
      null_cache_apply(c, r, from, to - from);
  }
}

static bool overlap(const struct null_rec *a, const struct null_rec *b) {
  return a->off < b->off + b->len && b->off < a->off + a->len;
}

/* The fates, drawn in completion order: one draw per non-durable record
 * (some: kept?; torn: which blocks), prefix: one draw for its length. */
static void decide(struct cut_rec *cr, uint32_t n, const struct rnull_power_cut *pc, uint32_t pbs,
                   struct null_rng *rng) {
  uint32_t nd = 0;
  for (uint32_t i = 0; i < n; i++)
    nd += !cr[i].r->durable;
  uint64_t prefix = pc->lose == RNULL_LOSE_PREFIX ? null_rng_next(rng) % (nd + 1ull) : 0;
  for (uint32_t i = 0, k = 0; i < n; i++) {
    if (cr[i].r->durable) {
      cr[i].fate = FATE_DURABLE;
      continue;
    }
    uint64_t draw = null_rng_next(rng);
    bool kept = pc->lose == RNULL_LOSE_SOME     ? draw % 100 < pc->keep
                : pc->lose == RNULL_LOSE_PREFIX ? k++ < prefix
                                                : false;
    cr[i].fate = kept ? FATE_KEPT : FATE_LOST;
    cr[i].torn_seed = null_rng_next(rng);
    if (kept && pc->torn && cr[i].r->op == NULL_REC_WRITE && nr_blocks(cr[i].r, pbs) > 1)
      cr[i].fate = FATE_TORN;
  }
}

static bool survives(const struct cut_rec *cr) {
  return cr->fate == FATE_KEPT || cr->fate == FATE_TORN;
}

/* some: the survivors in a seeded order, then the durable (FUA) writes in
 * theirs (older non-durable writes never land over them), then again the
 * survivors newer than a durable write they overlap (which may land over
 * it). prefix and all: completion order, durable ones included. */
static void land_all(struct null_cache *c, struct cut_rec *cr, uint32_t n,
                     const struct rnull_power_cut *pc, uint32_t pbs, struct null_rng *rng) {
  uint32_t order = 0;
  if (pc->lose != RNULL_LOSE_SOME) {
    for (uint32_t i = 0; i < n; i++)
      if (survives(&cr[i]) || cr[i].fate == FATE_DURABLE) {
        cr[i].order = cr[i].fate == FATE_DURABLE ? 0 : ++order;
        land(c, &cr[i], pbs);
      }
    return;
  }
  uint32_t *perm = malloc((n ? n : 1) * sizeof *perm), m = 0;
  for (uint32_t i = 0; i < n; i++)
    if (survives(&cr[i]))
      perm[m++] = i;
  for (uint32_t i = m; i > 1; i--) { /* Fisher-Yates */
    uint32_t j = (uint32_t)(null_rng_next(rng) % i), t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
  for (uint32_t i = 0; i < m; i++) {
    cr[perm[i]].order = ++order;
    land(c, &cr[perm[i]], pbs);
  }
  for (uint32_t i = 0; i < n; i++)
    if (cr[i].fate == FATE_DURABLE)
      land(c, &cr[i], pbs);
  for (uint32_t i = 0; i < m; i++)
    for (uint32_t d = 0; d < perm[i]; d++)
      if (cr[d].fate == FATE_DURABLE && overlap(cr[d].r, cr[perm[i]].r)) {
        land(c, &cr[perm[i]], pbs);
        break;
      }
  free(perm);
}

/* A torn write's kept byte ranges, "off+len" joined by commas (JSON: pairs). */
static void print_kept(FILE *out, const struct cut_rec *cr, uint32_t pbs, bool json) {
  const struct null_rec *r = cr->r;
  uint64_t nb = nr_blocks(r, pbs), first = r->off / pbs, run = 0, run_end = 0;
  bool any = false, open = false;
  for (uint64_t b = 0; b <= nb; b++) {
    bool k = b < nb && torn_keeps(cr, b, nb);
    uint64_t from = (first + b) * pbs, to = from + pbs;
    from = from < r->off ? r->off : from;
    to = to > r->off + r->len ? r->off + r->len : to;
    if (k && !open) {
      run = from;
      open = true;
    }
    if (k)
      run_end = to;
    if (!k && open) {
      fprintf(out, json ? "%s[%" PRIu64 ",%" PRIu64 "]" : "%s%" PRIu64 "+%" PRIu64, any ? "," : "",
              run, run_end - run);
      any = true;
      open = false;
    }
  }
}

static void report(FILE *out, bool json, const char *disk, const struct rnull_power_cut *pc,
                   const struct cut_rec *cr, uint32_t n, uint32_t pbs) {
  unsigned cnt[4] = {0};
  for (uint32_t i = 0; i < n; i++)
    cnt[cr[i].fate]++;
  if (json) {
    fprintf(out,
            "{\"disk\":\"%s\",\"lose\":\"%s\",\"keep\":%u,\"torn\":%s,\"seed\":%" PRIu64
            ",\"physical_blocksize\":%u,\"kept\":%u,\"lost\":%u,\"torn_writes\":%u,"
            "\"durable\":%u,\"writes\":[",
            disk, lose_names[pc->lose], pc->keep, pc->torn ? "true" : "false", pc->seed, pbs,
            cnt[FATE_KEPT], cnt[FATE_LOST], cnt[FATE_TORN], cnt[FATE_DURABLE]);
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
      const struct null_rec *r = cr[i].r;
      if (r->durable)
        continue;
      fprintf(out,
              "%s{\"seq\":%" PRIu64 ",\"op\":\"%s\",\"offset\":%" PRIu64 ",\"length\":%" PRIu64
              ",\"epoch\":%" PRIu64 ",\"fate\":\"%s\"",
              first ? "" : ",", r->seq, op_names[r->op], r->off, r->len, r->epoch,
              fate_names[cr[i].fate]);
      if (survives(&cr[i]))
        fprintf(out, ",\"order\":%u", cr[i].order);
      if (cr[i].fate == FATE_TORN) {
        fputs(",\"kept_ranges\":[", out);
        print_kept(out, &cr[i], pbs, true);
        fputc(']', out);
      }
      fputc('}', out);
      first = false;
    }
    fputs("]}\n", out);
    return;
  }
  fprintf(out, "power cut %s: lose=%s keep=%u torn=%d seed=%" PRIu64 "\n", disk,
          lose_names[pc->lose], pc->keep, pc->torn, pc->seed);
  fprintf(out, "non-durable writes: %u kept, %u lost, %u torn; durable (FUA) writes in cache: %u\n",
          cnt[FATE_KEPT], cnt[FATE_LOST], cnt[FATE_TORN], cnt[FATE_DURABLE]);
  for (uint32_t i = 0; i < n; i++) {
    const struct null_rec *r = cr[i].r;
    if (r->durable)
      continue;
    fprintf(out, "seq %" PRIu64 " %s offset %" PRIu64 " length %" PRIu64 " epoch %" PRIu64 ": %s",
            r->seq, op_names[r->op], r->off, r->len, r->epoch, fate_names[cr[i].fate]);
    if (survives(&cr[i]))
      fprintf(out, " (landed #%u)", cr[i].order);
    if (cr[i].fate == FATE_TORN) {
      fputs(" kept ", out);
      print_kept(out, &cr[i], pbs, false);
    }
    fputc('\n', out);
  }
}

int null_power_cut_locked(struct null_cache *c, struct rnull_power_cut *pc, uint32_t pbs,
                          const char *disk, bool json, FILE *out) {
  if (!pc->seed)
    pc->seed = clock_seed();
  uint32_t n = c->n;
  struct cut_rec *cr = calloc(n ? n : 1, sizeof *cr);
  if (!cr)
    return -ENOMEM;
  for (uint32_t i = 0; i < n; i++)
    cr[i].r = null_cache_rec(c, i);
  struct null_rng rng;
  null_rng_seed(&rng, pc->seed);
  decide(cr, n, pc, pbs, &rng);
  land_all(c, cr, n, pc, pbs, &rng);
  if (out)
    report(out, json, disk, pc, cr, n, pbs);
  null_cache_freeze(c);
  free(cr);
  return 0;
}

int null_power_cut(struct null_cache *c, struct rnull_power_cut *pc, uint32_t pbs, const char *disk,
                   bool json, FILE *out) {
  pthread_mutex_lock(&c->lock);
  int r = null_power_cut_locked(c, pc, pbs, disk, json, out);
  pthread_mutex_unlock(&c->lock);
  return r;
}
