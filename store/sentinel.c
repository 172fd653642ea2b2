/* Redis Sentinel: where the master is now, and whether it still is one.
 * Asked at every connect, so a failover is followed by the next reconnect
 * (every error closes the connection, see store_sync.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "sync_internal.h"
#include "ts_err.h"

/* The reply to SENTINEL get-master-addr-by-name: [host, port] or nil. */
static int
parse_addr(const redisReply *r, char *host, size_t hostcap, int *port,
           char *why, size_t whylen)
{
    char *end;
    long p;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING) {
        snprintf(why, whylen, "sentinel: %s",
                 r->type == REDIS_REPLY_ERROR ? r->str
                 : r->type == REDIS_REPLY_NIL ? "master name unknown"
                 : "unexpected reply");
        return TS_ESTORE;
    }
    if (r->element[0]->len == 0 || r->element[0]->len >= hostcap) {
        snprintf(why, whylen, "sentinel: bad master host");
        return TS_ESTORE;
    }
    p = strtol(r->element[1]->str, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) {
        snprintf(why, whylen, "sentinel: bad master port");
        return TS_ESTORE;
    }
    memcpy(host, r->element[0]->str, r->element[0]->len);
    host[r->element[0]->len] = '\0';
    *port = (int)p;
    return TS_OK;
}

int
ts_sentinel_master(const ts_redis_url *url, int idx, int64_t timeout_ms,
                   char *host, size_t hostcap, int *port, char *why,
                   size_t whylen)
{
    const char *argv[] = { "SENTINEL", "get-master-addr-by-name",
                           url->master };
    redisContext *c;
    redisReply *r;
    int rc;

    c = ts_conn_raw(url->sentinels[idx].host, url->sentinels[idx].port, NULL,
                    timeout_ms, why, whylen);
    if (c == NULL)
        return TS_ESTORE;
    r = ts_conn_call(c, 3, argv, why, whylen);
    rc = r == NULL ? TS_ESTORE
                   : parse_addr(r, host, hostcap, port, why, whylen);
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    return rc;
}

int
ts_sentinel_confirm(redisContext *c, char *why, size_t whylen)
{
    const char *argv[] = { "ROLE" };
    redisReply *r = ts_conn_call(c, 1, argv, why, whylen);
    int ok;

    if (r == NULL)
        return TS_ESTORE;
    ok = r->type == REDIS_REPLY_ARRAY && r->elements >= 1
         && r->element[0]->type == REDIS_REPLY_STRING
         && strcasecmp(r->element[0]->str, "master") == 0;
    if (!ok)
        snprintf(why, whylen, "sentinel: the named master is not a master "
                 "(failover in progress?)");
    freeReplyObject(r);
    return ok ? TS_OK : TS_ESTORE;
}
