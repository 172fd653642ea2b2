/* The invalidation subscriber (see store_sync.h): one thread, one blocking
 * hiredis connection SUBSCRIBEd to the channel.
 *
 * Reads are driven by poll() on the socket so the thread can send a PING
 * every 500 ms; a Redis that sends nothing back for 1 s (a PING or the
 * SUBSCRIBE unanswered) is taken as dead, because a frozen or partitioned
 * Redis keeps the TCP connection open and would otherwise look healthy
 * while invalidations are lost. Whenever the subscription is not known to
 * work, the cache is told it is not live, so every decision asks the store.
 *
 * Stopping: a flag under the mutex, and shutdown() on the socket so a
 * thread inside poll() or connect's wait wakes at once. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include "store_sync.h"
#include "sync_internal.h"
#include "ts_err.h"

#define PING_EVERY_MS 500
#define DEAD_AFTER_MS 1000
#define RETRY_MS      200

struct ts_subscriber {
    ts_redis_url    url;
    int64_t         timeout_ms;
    char           *channel;
    ts_cache       *cache;
    ts_log_fn       log;
    void           *log_ctx;
    pthread_t       thread;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             stop;
    int             fd;        /* the live socket, for shutdown(); -1 */
    int             logged_down;
};

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sub_log(ts_subscriber *s, ts_log_level level, const char *fmt, const char *a)
{
    char msg[400];

    if (s->log == NULL)
        return;
    snprintf(msg, sizeof(msg), fmt, a);
    s->log(s->log_ctx, level, msg);
}

static int
stopping(ts_subscriber *s)
{
    int stop;

    pthread_mutex_lock(&s->mu);
    stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Publishes the socket for ts_sync_subscriber_stop; refuses when stopping. */
static int
publish_fd(ts_subscriber *s, int fd)
{
    int ok;

    pthread_mutex_lock(&s->mu);
    ok = !s->stop;
    s->fd = ok ? fd : -1;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

/* Writes what hiredis buffered (blocking socket with a send timeout). */
static int
flush_out(redisContext *c)
{
    int done = 0;

    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return TS_ESTORE;
    return TS_OK;
}

static int
is_kind(const redisReply *r, const char *kind)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements >= 1
           && r->element[0]->type == REDIS_REPLY_STRING
           && strcasecmp(r->element[0]->str, kind) == 0;
}

/* Handles one reply: returns 0, or TS_ESTORE when Redis refused us. */
static int
on_reply(ts_subscriber *s, const redisReply *r)
{
    if (is_kind(r, "message") && r->elements == 3
        && r->element[2]->type == REDIS_REPLY_STRING) {
        ts_cache_message(s->cache, r->element[2]->str,
                         (size_t)r->element[2]->len);
    } else if (is_kind(r, "subscribe")) {
        ts_cache_live(s->cache, 1);
        if (s->logged_down)
            sub_log(s, TS_LOG_WARN, "twostep: invalidation subscription "
                    "on %s is back", s->channel);
        s->logged_down = 0;
    } else if (r->type == REDIS_REPLY_ERROR) {
        sub_log(s, TS_LOG_WARN, "twostep: invalidation subscriber: %s",
                r->str);
        return TS_ESTORE;
    }
    /* "pong" arrays (and a plain PONG) only prove Redis is alive. */
    return TS_OK;
}

/* Reads everything complete in hiredis' buffer. */
static int
drain(ts_subscriber *s, redisContext *c)
{
    void *r;

    for (;;) {
        r = NULL;
        if (redisGetReplyFromReader(c, &r) != REDIS_OK)
            return TS_ESTORE;
        if (r == NULL)
            return TS_OK;
        if (on_reply(s, r) != TS_OK) {
            freeReplyObject(r);
            return TS_ESTORE;
        }
        freeReplyObject(r);
    }
}

/* One subscription, until an error or a stop. */
static void
session(ts_subscriber *s, redisContext *c)
{
    const char *sub[] = { "SUBSCRIBE", s->channel };
    int64_t now = mono_ms(), last_rx = now, next_ping = now + PING_EVERY_MS;

    if (redisAppendCommandArgv(c, 2, sub, NULL) != REDIS_OK
        || flush_out(c) != TS_OK)
        return;
    while (!stopping(s)) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int64_t wait = next_ping - mono_ms();
        int n = poll(&p, 1, wait > 0 ? (int)wait : 0);

        if (n < 0 && errno != EINTR)
            return;
        now = mono_ms();
        if (n > 0) {
            if (redisBufferRead(c) != REDIS_OK || drain(s, c) != TS_OK)
                return;
            last_rx = now;
        }
        if (now - last_rx >= DEAD_AFTER_MS)
            return;   /* no answer to SUBSCRIBE or PING: presumed dead */
        if (now >= next_ping) {
            if (redisAppendCommand(c, "PING") != REDIS_OK
                || flush_out(c) != TS_OK)
                return;
            next_ping = now + PING_EVERY_MS;
        }
    }
}

/* Waits RETRY_MS, or less when stopped. */
static void
pause_retry(ts_subscriber *s)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += RETRY_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->stop
           && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&s->mu);
}

static void *
sub_main(void *arg)
{
    ts_subscriber *s = arg;
    char why[256];
    redisContext *c;

    while (!stopping(s)) {
        why[0] = '\0';
        c = ts_conn_open(&s->url, s->timeout_ms, why, sizeof(why));
        if (c != NULL && publish_fd(s, c->fd)) {
            session(s, c);
            if (c->err)
                ts_conn_why(c, "redis", why, sizeof(why));
            else
                snprintf(why, sizeof(why), "no answer within %d ms",
                         DEAD_AFTER_MS);
            publish_fd(s, -1);
        }
        ts_cache_live(s->cache, 0);
        if (c != NULL)
            redisFree(c);
        if (stopping(s))
            break;
        if (!s->logged_down)
            sub_log(s, TS_LOG_WARN, "twostep: invalidation subscriber lost "
                    "the store (%s); caching off until it is back", why);
        s->logged_down = 1;
        pause_retry(s);
    }
    return NULL;
}

ts_subscriber *
ts_sync_subscriber_start(const ts_redis_url *url, int64_t timeout_ms,
                         const char *channel, ts_cache *cache, ts_log_fn log,
                         void *log_ctx)
{
    ts_subscriber *s;

    if (url == NULL || channel == NULL || cache == NULL)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->channel = strdup(channel);
    if (s->channel == NULL) {
        free(s);
        return NULL;
    }
    s->url = *url;
    s->timeout_ms = timeout_ms;
    s->cache = cache;
    s->log = log;
    s->log_ctx = log_ctx;
    s->fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, sub_main, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s->channel);
        free(s);
        return NULL;
    }
    return s;
}

void
ts_sync_subscriber_stop(ts_subscriber *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    if (s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR);   /* wakes poll() in the thread */
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    ts_cache_live(s->cache, 0);
    memset(&s->url, 0, sizeof(s->url));
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->channel);
    free(s);
}
