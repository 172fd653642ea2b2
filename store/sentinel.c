/* Redis Sentinel: where the master is now, and whether it still is one.
 * Asked at every connect, so a failover is followed by the next reconnect
 * (every error closes the connection, see store_sync.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "sentinel_reply.h"
#include "sync_internal.h"
#include "ts_err.h"

int
ts_sentinel_master(const ts_redis_url *url, int idx, int64_t timeout_ms,
                   char *host, size_t hostcap, int *port, char *why,
                   size_t whylen)
{
    const char *argv[] = { "SENTINEL", "get-master-addr-by-name",
                           url->master };
    redisContext *c;
    redisReply *r;
    const char *bad = NULL;
    int rc;

    c = ts_conn_raw(url->sentinels[idx].host, url->sentinels[idx].port, NULL,
                    timeout_ms, why, whylen);
    if (c == NULL)
        return TS_ESTORE;
    r = ts_conn_call(c, 3, argv, why, whylen);
    rc = r == NULL ? TS_ESTORE
                   : ts_sentinel_parse_addr(r, host, hostcap, port, &bad);
    if (bad != NULL)
        snprintf(why, whylen, "sentinel: %s", bad);
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
    ok = ts_sentinel_is_master(r);
    if (!ok)
        snprintf(why, whylen, "sentinel: the named master is not a master "
                 "(failover in progress?)");
    freeReplyObject(r);
    return ok ? TS_OK : TS_ESTORE;
}
