/*
 * twostep for nginx: Redis on the worker's event loop.
 *
 * hiredis' async API attached to nginx's event loop by a small adapter: the
 * hiredis socket gets an ngx_connection_t (ngx_get_connection) whose read
 * and write events call redisAsyncHandleRead/Write. Nothing here ever waits
 * on a socket. hiredis 0.14 has no timers of its own: the caller bounds each
 * batch with an nginx timer and calls ngx_twostep_store_reset() when it
 * fires (a stuck connection is dropped; the next batch connects again).
 *
 * One ngx_twostep_store_t per distinct store (Redis URL + key prefix) is
 * made at configuration time; in each worker it owns
 *   - the command connection, opened on first use and after each loss;
 *   - the revocation cache (ts_cache) and a subscriber connection
 *     SUBSCRIBEd to ts_cache_channel(), reconnected by a timer when lost.
 */

#ifndef NGX_TWOSTEP_REDIS_H_INCLUDED
#define NGX_TWOSTEP_REDIS_H_INCLUDED

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "twostep.h"

struct redisAsyncContext;

typedef struct {
    const ts_config            *cfg;       /* URL and prefix of this store */
    ngx_str_t                   name;      /* "URL PREFIX", for the registry */

    /* per worker, from ngx_twostep_store_start() on */
    ts_cache                   *cache;
    struct redisAsyncContext   *cmd;
    struct redisAsyncContext   *sub;
    ngx_event_t                 sub_timer;
    ngx_log_t                  *log;
    unsigned                    running:1;
    unsigned                    sub_down_logged:1;
    unsigned                    cmd_down_logged:1;
} ngx_twostep_store_t;

typedef struct ngx_twostep_batch_s  ngx_twostep_batch_t;

/*
 * Called from inside a hiredis callback when every reply of a batch is in
 * (or the connection failed): the handler must not send commands from there;
 * it posts an event and does the work from that.
 */
typedef void (*ngx_twostep_batch_done_pt)(void *data);

struct ngx_twostep_batch_s {
    void                       *data;      /* NULL once released */
    ngx_twostep_batch_done_pt   done;
    ts_txn                     *txn;       /* replies are built in it */
    ngx_uint_t                  n;
    ngx_uint_t                  outstanding;
    ts_reply                  **replies;   /* n, valid when !failed */
    unsigned                    failed:1;
};

/* Worker start: makes the cache and starts the subscriber. */
ngx_int_t ngx_twostep_store_start(ngx_twostep_store_t *st, ngx_cycle_t *cycle);

/* Worker exit: closes both connections (their fds leave the event loop). */
void ngx_twostep_store_stop(ngx_twostep_store_t *st);

/*
 * Sends the commands txn asks for as one pipeline on the command
 * connection (connecting first when needed). Returns the batch, whose done
 * handler runs once all replies are in; NULL when nothing could be sent
 * (the caller reports a store failure to the txn at once).
 */
ngx_twostep_batch_t *ngx_twostep_batch_send(ngx_twostep_store_t *st,
    ts_txn *txn, ngx_twostep_batch_done_pt done, void *data, ngx_log_t *log);

/*
 * The caller is done with the batch (fed its replies, timed out, or the
 * request went away): frees it now, or when its last reply arrives. The
 * done handler is never called after this.
 */
void ngx_twostep_batch_release(ngx_twostep_batch_t *b);

/*
 * Drops the command connection (after a timeout): every batch still on it
 * fails, the next one connects again.
 */
void ngx_twostep_store_reset(ngx_twostep_store_t *st);

#endif /* NGX_TWOSTEP_REDIS_H_INCLUDED */
