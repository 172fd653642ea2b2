/* The blocking executor's pool and pipelines (see store_sync.h).
 *
 * A pool of at most n connections, each used by one thread at a time. A
 * thread takes a free slot (waiting on the condvar when all are busy),
 * connects it if it is closed or looks dead, runs its pipeline, and gives
 * it back; any error closes the connection so the next user reconnects.
 * ts_sync_run (the txn driver) is in sync_run.c so that this file links
 * without the engine (twostepctl init, tests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store_sync.h"
#include "sync_internal.h"
#include "ts_err.h"

ts_sync *
ts_sync_new(const ts_redis_url *url, int64_t timeout_ms, int pool_size)
{
    ts_sync *s;

    if (url == NULL || pool_size < 1)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->slots = calloc((size_t)pool_size, sizeof(*s->slots));
    if (s->slots == NULL) {
        free(s);
        return NULL;
    }
    s->url = *url;
    s->timeout_ms = timeout_ms;
    s->n = pool_size;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return s;
}

/* Must not be called while another thread still uses s. */
void
ts_sync_free(ts_sync *s)
{
    int i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++)
        if (s->slots[i].c != NULL)
            redisFree(s->slots[i].c);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    /* The URL may carry a password. */
    memset(&s->url, 0, sizeof(s->url));
    free(s->slots);
    free(s);
}

/* Takes a free slot; prefers one already connected. */
static ts_sync_slot *
slot_take(ts_sync *s)
{
    ts_sync_slot *got = NULL;
    int i;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        for (i = 0; i < s->n; i++) {
            if (s->slots[i].busy)
                continue;
            if (got == NULL || (got->c == NULL && s->slots[i].c != NULL))
                got = &s->slots[i];
        }
        if (got != NULL)
            break;
        pthread_cond_wait(&s->cv, &s->mu);
    }
    got->busy = 1;
    pthread_mutex_unlock(&s->mu);
    return got;
}

static void
slot_give(ts_sync *s, ts_sync_slot *slot, int broken)
{
    redisContext *dead = NULL;

    pthread_mutex_lock(&s->mu);
    if (broken) {
        dead = slot->c;
        slot->c = NULL;
    }
    slot->busy = 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (dead != NULL)
        redisFree(dead);   /* outside the lock: close() may take a while */
}

/* The slot's connection, opened now if closed or found dead while idle. */
static redisContext *
slot_conn(ts_sync *s, ts_sync_slot *slot, char *why, size_t whylen)
{
    if (slot->c != NULL && !ts_conn_idle_ok(slot->c)) {
        redisFree(slot->c);
        slot->c = NULL;
    }
    if (slot->c == NULL)
        slot->c = ts_conn_open(&s->url, s->timeout_ms, why, whylen);
    return slot->c;
}

static void
free_replies(redisReply **out, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (out[i] != NULL)
            freeReplyObject(out[i]);
        out[i] = NULL;
    }
}

int
ts_sync_pipeline(ts_sync *s, size_t ncmds, const int *argc,
                 const char *const *const *argv,
                 const size_t *const *argvlen, redisReply **out, char *why,
                 size_t whylen)
{
    ts_sync_slot *slot = slot_take(s);
    redisContext *c = slot_conn(s, slot, why, whylen);
    size_t i;

    for (i = 0; i < ncmds; i++)
        out[i] = NULL;
    if (c == NULL) {
        slot_give(s, slot, 1);
        return TS_ESTORE;
    }
    for (i = 0; i < ncmds; i++) {
        if (redisAppendCommandArgv(c, argc[i], (const char **)argv[i],
                                   argvlen[i]) != REDIS_OK) {
            ts_conn_why(c, "redis", why, whylen);
            slot_give(s, slot, 1);
            return TS_ESTORE;
        }
    }
    for (i = 0; i < ncmds; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK || r == NULL) {
            ts_conn_why(c, "redis", why, whylen);
            free_replies(out, i);
            slot_give(s, slot, 1);
            return TS_ESTORE;
        }
        out[i] = r;
    }
    slot_give(s, slot, 0);
    return TS_OK;
}

/* ---- heap replies for ts_sync_command ----------------------------------- */

static ts_reply *
heap_node(void *ctx, ts_reply_type type)
{
    ts_reply *r = calloc(1, sizeof(*r));

    (void)ctx;
    if (r != NULL)
        r->type = type;
    return r;
}

static int
heap_str(void *ctx, ts_reply *r, const char *s, size_t n)
{
    char *p = malloc(n + 1);

    (void)ctx;
    if (p == NULL)
        return TS_ENOMEM;
    memcpy(p, s, n);
    p[n] = '\0';
    r->str = p;
    r->len = n;
    return TS_OK;
}

static int
heap_elems(void *ctx, ts_reply *r, size_t n)
{
    (void)ctx;
    r->elem = calloc(n ? n : 1, sizeof(*r->elem));
    if (r->elem == NULL)
        return TS_ENOMEM;
    r->n = n;
    return TS_OK;
}

void
ts_sync_reply_free(ts_reply *r)
{
    size_t i;

    if (r == NULL)
        return;
    if (r->elem != NULL) {
        for (i = 0; i < r->n; i++)
            ts_sync_reply_free(r->elem[i]);
        free(r->elem);
    }
    free((char *)r->str);
    free(r);
}

int
ts_sync_command(ts_sync *s, int argc, const char **argv,
                const size_t *argvlen, ts_reply **reply, char *why,
                size_t whylen)
{
    static const ts_reply_alloc heap = {
        heap_node, heap_str, heap_elems, ts_sync_reply_free, NULL
    };
    const char *const *av = argv;
    char scratch[256];
    redisReply *r;
    size_t *lens;
    int i, rc;

    if (why == NULL || whylen == 0) {
        why = scratch;
        whylen = sizeof(scratch);
    }
    why[0] = '\0';
    *reply = NULL;
    if (s == NULL || argc < 1 || argv == NULL)
        return TS_EINVAL;
    lens = malloc((size_t)argc * sizeof(*lens));
    if (lens == NULL)
        return TS_ENOMEM;
    for (i = 0; i < argc; i++)
        lens[i] = argvlen != NULL ? argvlen[i] : strlen(argv[i]);
    rc = ts_sync_pipeline(s, 1, &argc, &av, (const size_t *const *)&lens, &r,
                          why, whylen);
    free(lens);
    if (rc != TS_OK)
        return rc;
    *reply = ts_reply_convert(r, &heap);
    freeReplyObject(r);
    return *reply != NULL ? TS_OK : TS_ENOMEM;
}
