/* One blocking hiredis connection: connect with timeouts, AUTH, SELECT,
 * the sentinel walk, the idle check, and reply conversion. Shared by the
 * pooled executor and the invalidation subscriber. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include "sync_internal.h"
#include "ts_err.h"

static struct timeval
ms_to_tv(int64_t ms)
{
    struct timeval tv;

    if (ms <= 0)
        ms = 500;   /* never block forever: a frozen Redis must time out */
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

void
ts_conn_why(const redisContext *c, const char *what, char *why,
            size_t whylen)
{
    if (why == NULL || whylen == 0)
        return;
    if (c == NULL)
        snprintf(why, whylen, "%s: out of memory", what);
    else if (c->err == REDIS_ERR_IO && c->errstr[0] == '\0')
        snprintf(why, whylen, "%s: %s", what, strerror(errno));
    else
        snprintf(why, whylen, "%s: %s", what,
                 c->errstr[0] ? c->errstr : "connection lost");
}

redisContext *
ts_conn_raw(const char *host, int port, const char *path, int64_t timeout_ms,
            char *why, size_t whylen)
{
    struct timeval tv = ms_to_tv(timeout_ms);
    char what[300];
    redisContext *c;

    if (path != NULL) {
        snprintf(what, sizeof(what), "unix:%s", path);
        c = redisConnectUnixWithTimeout(path, tv);
    } else {
        snprintf(what, sizeof(what), "%s:%d", host, port);
        c = redisConnectWithTimeout(host, port, tv);
    }
    if (c == NULL || c->err) {
        ts_conn_why(c, what, why, whylen);
        if (c != NULL)
            redisFree(c);
        return NULL;
    }
    /* The connect timeout does not bound later reads and writes. */
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        ts_conn_why(c, what, why, whylen);
        redisFree(c);
        return NULL;
    }
    return c;
}

redisReply *
ts_conn_call(redisContext *c, int argc, const char **argv, char *why,
             size_t whylen)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);

    if (r == NULL)
        ts_conn_why(c, argv[0], why, whylen);
    return r;
}

/* A command whose reply must be +OK (AUTH, SELECT). */
static int
call_ok(redisContext *c, int argc, const char **argv, const char *what,
        char *why, size_t whylen)
{
    redisReply *r = ts_conn_call(c, argc, argv, why, whylen);
    int ok;

    if (r == NULL)
        return TS_ESTORE;
    ok = r->type == REDIS_REPLY_STATUS && strcasecmp(r->str, "OK") == 0;
    if (!ok && why != NULL)
        snprintf(why, whylen, "%s refused: %s", what,
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    return ok ? TS_OK : TS_ESTORE;
}

static int
conn_setup(redisContext *c, const ts_redis_url *url, char *why, size_t whylen)
{
    char db[16];

    if (url->password[0] != '\0') {
        const char *argv[] = { "AUTH", url->password };
        if (call_ok(c, 2, argv, "AUTH", why, whylen) != TS_OK)
            return TS_ESTORE;
    }
    if (url->db != 0) {
        const char *argv[] = { "SELECT", db };
        snprintf(db, sizeof(db), "%d", url->db);
        if (call_ok(c, 2, argv, "SELECT", why, whylen) != TS_OK)
            return TS_ESTORE;
    }
    return TS_OK;
}

/* Sentinels in order; the first whose master answers, authenticates and
 * confirms its role wins. */
static redisContext *
open_via_sentinels(const ts_redis_url *url, int64_t timeout_ms, char *why,
                   size_t whylen)
{
    char host[256];
    int port, i;
    redisContext *c;

    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "sentinel: no sentinel configured");
    for (i = 0; i < url->nsentinels && i < 8; i++) {
        if (ts_sentinel_master(url, i, timeout_ms, host, sizeof(host), &port,
                               why, whylen) != TS_OK)
            continue;
        c = ts_conn_raw(host, port, NULL, timeout_ms, why, whylen);
        if (c == NULL)
            continue;
        if (conn_setup(c, url, why, whylen) == TS_OK
            && ts_sentinel_confirm(c, why, whylen) == TS_OK)
            return c;
        redisFree(c);
    }
    return NULL;
}

redisContext *
ts_conn_open(const ts_redis_url *url, int64_t timeout_ms, char *why,
             size_t whylen)
{
    redisContext *c;

    if (url->kind == TS_REDIS_SENTINEL)
        return open_via_sentinels(url, timeout_ms, why, whylen);
    if (url->kind == TS_REDIS_UNIX)
        c = ts_conn_raw(NULL, 0, url->path, timeout_ms, why, whylen);
    else
        c = ts_conn_raw(url->host, url->port, NULL, timeout_ms, why, whylen);
    if (c == NULL)
        return NULL;
    if (conn_setup(c, url, why, whylen) != TS_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

int
ts_conn_idle_ok(const redisContext *c)
{
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    int n;

    if (c->err || c->fd < 0)
        return 0;
    do {
        n = poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n == 0;
}

static ts_reply *
convert_fail(ts_reply *partial, const ts_reply_alloc *a)
{
    if (partial != NULL && a->drop != NULL)
        a->drop(partial);
    return NULL;
}

static ts_reply_type
reply_type(int hiredis_type)
{
    switch (hiredis_type) {
    case REDIS_REPLY_STRING:  return TS_REPLY_STRING;
    case REDIS_REPLY_STATUS:  return TS_REPLY_STATUS;
    case REDIS_REPLY_ERROR:   return TS_REPLY_ERROR;
    case REDIS_REPLY_INTEGER: return TS_REPLY_INTEGER;
    case REDIS_REPLY_ARRAY:   return TS_REPLY_ARRAY;
    default:                  return TS_REPLY_NIL;   /* and future types */
    }
}

ts_reply *
ts_reply_convert(const redisReply *r, const ts_reply_alloc *a)
{
    ts_reply_type t = reply_type(r->type);
    ts_reply *out = a->node(a->ctx, t);
    size_t i;

    if (out == NULL)
        return NULL;
    switch (t) {
    case TS_REPLY_STRING:
    case TS_REPLY_STATUS:
    case TS_REPLY_ERROR:
        if (a->str(a->ctx, out, r->str ? r->str : "", (size_t)r->len) != 0)
            return convert_fail(out, a);
        break;
    case TS_REPLY_INTEGER:
        out->integer = r->integer;
        break;
    case TS_REPLY_ARRAY:
        if (a->elems(a->ctx, out, r->elements) != 0)
            return convert_fail(out, a);
        for (i = 0; i < r->elements; i++) {
            out->elem[i] = ts_reply_convert(r->element[i], a);
            if (out->elem[i] == NULL)
                return convert_fail(out, a);
        }
        break;
    default:
        break;
    }
    return out;
}
