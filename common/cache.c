/* Per-process revocation cache (see cache.h and twostep.h). */
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define TS_CACHE_BUCKETS 1024
#define TS_COOKIE_SLOTS  256      /* direct-mapped memo of checked cookies */

typedef struct {
    char      *val;               /* NULL: empty slot */
    size_t     len;
    ts_cookie  ck;
} ts_cookie_slot;

typedef struct ts_cache_node {
    struct ts_cache_node *next;
    ts_cache_entry        e;
    char                  user[];
} ts_cache_node;

struct ts_cache {
    pthread_mutex_t  mu;
    int              live;
    uint64_t         gen;
    size_t           count, max;
    ts_cache_node   *bucket[TS_CACHE_BUCKETS];
    ts_cookie_slot   cookie[TS_COOKIE_SLOTS];
};

static uint32_t
hash_user(const char *s)
{
    uint32_t h = 2166136261u;       /* FNV-1a */

    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

ts_cache *
ts_cache_new(size_t max_entries)
{
    ts_cache *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->max = max_entries ? max_entries : 10000;
    c->gen = 1;
    return c;
}

static void
clear_locked(ts_cache *c)
{
    size_t i;
    ts_cache_node *n, *next;

    for (i = 0; i < TS_CACHE_BUCKETS; i++) {
        for (n = c->bucket[i]; n; n = next) {
            next = n->next;
            free(n);
        }
        c->bucket[i] = NULL;
    }
    c->count = 0;
}

void
ts_cache_free(ts_cache *c)
{
    size_t i;

    if (c == NULL)
        return;
    clear_locked(c);
    for (i = 0; i < TS_COOKIE_SLOTS; i++)
        free(c->cookie[i].val);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void
ts_cache_live(ts_cache *c, int live)
{
    pthread_mutex_lock(&c->mu);
    /* Whatever happened while we were not listening is unknown: start
     * empty both when the subscription is lost and when it is back, and
     * void the fills in flight. */
    clear_locked(c);
    c->gen++;
    c->live = live;
    pthread_mutex_unlock(&c->mu);
}

int
ts_cache_is_live(ts_cache *c)
{
    int live;

    pthread_mutex_lock(&c->mu);
    live = c->live;
    pthread_mutex_unlock(&c->mu);
    return live;
}

static void
drop_locked(ts_cache *c, const char *user)
{
    ts_cache_node **pp = &c->bucket[hash_user(user) % TS_CACHE_BUCKETS];
    ts_cache_node *n;

    while ((n = *pp) != NULL) {
        if (strcmp(n->user, user) == 0) {
            *pp = n->next;
            free(n);
            c->count--;
            return;
        }
        pp = &n->next;
    }
}

/* A message is a user name whose state changed; "*" drops everything. */
void
ts_cache_message(ts_cache *c, const char *msg, size_t n)
{
    char user[TS_USER_MAX + 1];

    pthread_mutex_lock(&c->mu);
    c->gen++;
    if (n == 1 && msg[0] == '*') {
        clear_locked(c);
    } else if (n <= TS_USER_MAX && memchr(msg, '\0', n) == NULL) {
        memcpy(user, msg, n);
        user[n] = '\0';
        drop_locked(c, user);
    } else {
        clear_locked(c);
    }
    pthread_mutex_unlock(&c->mu);
}

int
ts_cache_lookup(ts_cache *c, const char *user, ts_cache_entry *out)
{
    ts_cache_node *n;
    int hit = 0;

    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    if (c->live) {
        for (n = c->bucket[hash_user(user) % TS_CACHE_BUCKETS]; n; n = n->next) {
            if (strcmp(n->user, user) == 0) {
                *out = n->e;
                hit = 1;
                break;
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

uint64_t
ts_cache_gen(ts_cache *c)
{
    uint64_t g;

    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->mu);
    g = c->live ? c->gen : 0;
    pthread_mutex_unlock(&c->mu);
    return g;
}

void
ts_cache_fill(ts_cache *c, uint64_t gen, const char *user,
              const ts_cache_entry *e)
{
    size_t len = strlen(user);
    ts_cache_node *n;
    uint32_t b;

    if (c == NULL || gen == 0 || len > TS_USER_MAX)
        return;
    n = malloc(sizeof(*n) + len + 1);
    if (n == NULL)
        return;
    n->e = *e;
    memcpy(n->user, user, len + 1);
    pthread_mutex_lock(&c->mu);
    if (!c->live || c->gen != gen) {
        pthread_mutex_unlock(&c->mu);
        free(n);
        return;
    }
    drop_locked(c, user);
    if (c->count >= c->max) {
        /* Simple and safe bound: start over; the next requests refill. */
        clear_locked(c);    /* a bound, not an invalidation: gen stays */
    }
    b = hash_user(user) % TS_CACHE_BUCKETS;
    n->next = c->bucket[b];
    c->bucket[b] = n;
    c->count++;
    pthread_mutex_unlock(&c->mu);
}

int
ts_cache_has_device(const ts_cache_entry *e, const char *device)
{
    int i;

    for (i = 0; i < e->ndevices; i++)
        if (strcmp(e->devices[i], device) == 0)
            return 1;
    return 0;
}

const char *
ts_cache_channel(const ts_config *cfg, char *buf, size_t cap)
{
    size_t n = strlen(cfg->prefix);

    if (cap < n + sizeof("invalidate"))
        return NULL;
    memcpy(buf, cfg->prefix, n);
    memcpy(buf + n, "invalidate", sizeof("invalidate"));
    return buf;
}

static uint32_t
hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;       /* FNV-1a */
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int
ts_cache_cookie_get(ts_cache *c, const char *val, size_t n, ts_cookie *out)
{
    ts_cookie_slot *sl;
    int hit = 0;

    if (c == NULL || n == 0 || n > TS_COOKIE_MAX)
        return 0;
    sl = &c->cookie[hash_bytes(val, n) % TS_COOKIE_SLOTS];
    pthread_mutex_lock(&c->mu);
    if (sl->val && sl->len == n && memcmp(sl->val, val, n) == 0) {
        *out = sl->ck;
        hit = 1;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void
ts_cache_cookie_put(ts_cache *c, const char *val, size_t n,
                    const ts_cookie *ck)
{
    ts_cookie_slot *sl;
    char *copy;

    if (c == NULL || n == 0 || n > TS_COOKIE_MAX || (copy = malloc(n)) == NULL)
        return;
    memcpy(copy, val, n);
    sl = &c->cookie[hash_bytes(val, n) % TS_COOKIE_SLOTS];
    pthread_mutex_lock(&c->mu);
    free(sl->val);
    sl->val = copy;
    sl->len = n;
    sl->ck = *ck;
    pthread_mutex_unlock(&c->mu);
}
