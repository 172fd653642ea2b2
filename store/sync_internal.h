/* Internal to store/: the pieces the blocking executor (store_sync.c,
 * sync_run.c) and the invalidation subscriber (subscriber.c) share.
 * Not a contract for connectors: they use store_sync.h. */
#ifndef TS_SYNC_INTERNAL_H
#define TS_SYNC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <hiredis/hiredis.h>
#include "twostep.h"
#include "store_sync.h"

/* ---- one connection (redis_conn.c, sentinel.c) ------------------------ */

/* Opens a blocking connection as the URL says: TCP, unix socket, or the
 * master named by the sentinels; then AUTH and SELECT. Connect and socket
 * read/write timeouts are timeout_ms. NULL on failure, with why filled. */
redisContext *ts_conn_open(const ts_redis_url *url, int64_t timeout_ms,
                           char *why, size_t whylen);

/* Connects to host:port or a unix path with the timeouts set; no AUTH. */
redisContext *ts_conn_raw(const char *host, int port, const char *path,
                          int64_t timeout_ms, char *why, size_t whylen);

/* Asks sentinel number idx of the URL for the address of its master
 * (SENTINEL get-master-addr-by-name). 0, or TS_ESTORE with why filled. */
int ts_sentinel_master(const ts_redis_url *url, int idx, int64_t timeout_ms,
                       char *host, size_t hostcap, int *port,
                       char *why, size_t whylen);

/* TS_OK when ROLE says this connection is to a master (a sentinel may
 * still name a demoted master for a moment after a failover). */
int ts_sentinel_confirm(redisContext *c, char *why, size_t whylen);

/* Sends one command and waits for its reply (NULL on an I/O error, with
 * why filled; the context is then unusable). */
redisReply *ts_conn_call(redisContext *c, int argc, const char **argv,
                         char *why, size_t whylen);

/* True when an idle pooled connection still looks usable: nothing to read
 * (Redis never speaks first on a plain connection, so readable means EOF,
 * a reset, or garbage). Catches a Redis restart before we write to it. */
int ts_conn_idle_ok(const redisContext *c);

/* Describes a context error, e.g. "127.0.0.1:6379: Connection refused". */
void ts_conn_why(const redisContext *c, const char *what, char *why,
                 size_t whylen);

/* ---- reply conversion ------------------------------------------------- */

/* Where converted replies live: the txn's arena (ts_txn_reply_*) or the
 * heap (ts_sync_command). */
typedef struct {
    ts_reply *(*node)(void *ctx, ts_reply_type type);
    int       (*str)(void *ctx, ts_reply *r, const char *s, size_t n);
    int       (*elems)(void *ctx, ts_reply *r, size_t n);
    void      (*drop)(ts_reply *r);   /* frees a partial tree; may be NULL */
    void      *ctx;
} ts_reply_alloc;

/* Converts a hiredis reply tree; NULL when out of memory (what was built
 * is handed to a->drop). */
ts_reply *ts_reply_convert(const redisReply *r, const ts_reply_alloc *a);

/* ---- the pool (store_sync.c) ------------------------------------------ */

typedef struct {
    redisContext *c;      /* NULL = not connected */
    int           busy;
} ts_sync_slot;

struct ts_sync {
    ts_redis_url     url;
    int64_t          timeout_ms;
    int              n;
    ts_sync_slot    *slots;
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
};

/* Runs argc/argv commands as one pipeline on one pooled connection. On
 * success out[i] holds each hiredis reply (the caller frees them with
 * freeReplyObject) and 0 is returned; on any failure nothing is left in
 * out, the connection is closed, why is filled and TS_ESTORE returned. */
int ts_sync_pipeline(ts_sync *s, size_t ncmds, const int *argc,
                     const char *const *const *argv,
                     const size_t *const *argvlen, redisReply **out,
                     char *why, size_t whylen);

#endif
