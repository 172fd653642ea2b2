/* What Sentinel and ROLE replies mean (see sentinel_reply.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sentinel_reply.h"
#include "ts_err.h"

int
ts_sentinel_parse_addr(const redisReply *r, char *host, size_t hostcap,
                       int *port, const char **why)
{
    char buf[8], *end;
    long p;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING) {
        *why = r->type == REDIS_REPLY_ERROR ? r->str
               : r->type == REDIS_REPLY_NIL ? "master name unknown"
               : "unexpected reply";
        return TS_ESTORE;
    }
    if (r->element[0]->len == 0 || r->element[0]->len >= hostcap) {
        *why = "bad master host";
        return TS_ESTORE;
    }
    if (r->element[1]->len == 0 || r->element[1]->len >= sizeof(buf)) {
        *why = "bad master port";
        return TS_ESTORE;
    }
    memcpy(buf, r->element[1]->str, r->element[1]->len);
    buf[r->element[1]->len] = '\0';
    p = strtol(buf, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) {
        *why = "bad master port";
        return TS_ESTORE;
    }
    memcpy(host, r->element[0]->str, r->element[0]->len);
    host[r->element[0]->len] = '\0';
    *port = (int)p;
    return TS_OK;
}

int
ts_sentinel_is_master(const redisReply *r)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements >= 1
           && r->element[0]->type == REDIS_REPLY_STRING
           && r->element[0]->len == 6
           && strncasecmp(r->element[0]->str, "master", 6) == 0;
}
