/* What Sentinel and ROLE replies mean: one reading for the blocking store
 * (Apache, twostepctl) and the nginx module's asynchronous one. */
#ifndef TS_SENTINEL_REPLY_H
#define TS_SENTINEL_REPLY_H

#include <stddef.h>
#include <hiredis/hiredis.h>

/* The reply to SENTINEL get-master-addr-by-name: [host, port]. TS_OK with
 * host (NUL-terminated) and port 1..65535, or TS_ESTORE with *why saying
 * what was wrong ("master name unknown", "bad master port", ...). */
int ts_sentinel_parse_addr(const redisReply *r, char *host, size_t hostcap,
                           int *port, const char **why);

/* 1 when a ROLE reply says this server is a master, else 0. */
int ts_sentinel_is_master(const redisReply *r);

#endif
