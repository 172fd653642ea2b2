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
 * made at configuration time; in each worker it owns two links:
 *   - the command link, opened on first use and after each loss;
 *   - the subscriber link, SUBSCRIBEd to ts_cache_channel() to keep the
 *     revocation cache (ts_cache) live, reopened by a timer when lost.
 *
 * A link is opened directly (redis://, unix:) or, for sentinel://, through
 * Sentinel (ngx_twostep_sentinel.c): the sentinels are asked in order for
 * the master's address, the master is confirmed with ROLE, then AUTH and
 * SELECT; every step is bounded by twostep_redis_timeout and nothing waits.
 * A lost link is opened again the same way, so a failover is followed.
 * Batches sent while a link is being opened wait in the store's queue.
 *
 * Host names in twostep_redis are resolved when the configuration is read
 * (ngx_twostep_store_resolve), never in a worker: getaddrinfo() blocks.
 */

#ifndef NGX_TWOSTEP_REDIS_H_INCLUDED
#define NGX_TWOSTEP_REDIS_H_INCLUDED

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "twostep.h"

struct redisAsyncContext;

typedef struct ngx_twostep_store_s  ngx_twostep_store_t;
typedef struct ngx_twostep_link_s   ngx_twostep_link_t;
typedef struct ngx_twostep_batch_s  ngx_twostep_batch_t;

/* An address resolved at configuration time, as text for hiredis. */
typedef struct {
    u_char                      text[NGX_SOCKADDR_STRLEN + 1];
    int                         port;
} ngx_twostep_addr_t;

/*
 * The link is usable (ok) or could not be opened / was lost (!ok). Called
 * from a posted event or from hiredis' cleanup of a lost connection, never
 * from inside ngx_twostep_link_open(); it must not free the link.
 */
typedef void (*ngx_twostep_link_pt)(ngx_twostep_link_t *link, ngx_uint_t ok);

struct ngx_twostep_link_s {
    ngx_twostep_store_t        *store;
    ngx_twostep_link_pt         handler;
    struct redisAsyncContext   *ac;        /* the connection (or candidate) */
    struct redisAsyncContext   *probe;     /* the sentinel being asked */
    ngx_event_t                 step;      /* twostep_redis_timeout per step */
    ngx_event_t                 next;      /* posted: carry on outside
                                              hiredis callbacks */
    ngx_uint_t                  idx;       /* sentinel being tried */
    ngx_twostep_addr_t          master;    /* the address it named */
    unsigned                    state:2;   /* NGX_TWOSTEP_LINK_* */
    unsigned                    subscriber:1;
    unsigned                    found:1;
    unsigned                    confirmed:1;
    unsigned                    down_logged:1;
};

#define NGX_TWOSTEP_LINK_IDLE      0
#define NGX_TWOSTEP_LINK_SENTINEL  1     /* asking sentinel idx */
#define NGX_TWOSTEP_LINK_MASTER    2     /* connecting to master, ROLE */
#define NGX_TWOSTEP_LINK_READY     3

struct ngx_twostep_store_s {
    const ts_config            *cfg;       /* URL and prefix of this store */
    ngx_str_t                   name;      /* "URL PREFIX", for the registry */

    /* from ngx_twostep_store_resolve(): for TCP, addrs[0] is the server;
     * for sentinel://, every address of every sentinel, in order */
    ngx_twostep_addr_t         *addrs;
    ngx_uint_t                  naddrs;

    /* per worker, from ngx_twostep_store_start() on */
    ts_cache                   *cache;
    ngx_twostep_link_t          cmd;
    ngx_twostep_link_t          sub;
    ngx_queue_t                 pending;   /* batches waiting for cmd */
    ngx_event_t                 sub_timer;
    ngx_log_t                  *log;
    unsigned                    running:1;
    unsigned                    sub_lost:1;  /* "channel back" to log */
};

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
    ngx_queue_t                 queue;     /* in store->pending */
    unsigned                    queued:1;
    unsigned                    failed:1;
};

/*
 * Configuration time (in the master): resolves the host names of the
 * store's URL with ngx_inet_resolve_host() and keeps the addresses as text,
 * so that no worker ever calls getaddrinfo() on a name. A name that does not
 * resolve is a configuration error, as for proxy_pass. A DNS change takes
 * effect at the next reload. unix: sockets need nothing.
 */
ngx_int_t ngx_twostep_store_resolve(ngx_conf_t *cf, ngx_twostep_store_t *st);

/* Worker start: makes the cache and starts the subscriber. */
ngx_int_t ngx_twostep_store_start(ngx_twostep_store_t *st, ngx_cycle_t *cycle);

/* Worker exit: closes both links (their fds leave the event loop). */
void ngx_twostep_store_stop(ngx_twostep_store_t *st);

/*
 * Sends the commands txn asks for as one pipeline on the command
 * link (opening it first when needed; the batch waits while the sentinels
 * are asked). Returns the batch, whose done handler runs once all replies
 * are in or the link could not be opened; NULL when nothing could be sent
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
 * fails, the next one connects again (asking the sentinels again). A
 * discovery in progress is left to its own step timers.
 */
void ngx_twostep_store_reset(ngx_twostep_store_t *st);


/* ---- internal to ngx_twostep_redis.c and ngx_twostep_sentinel.c ---------- */

/* Prepares a link of st (timers, handler); it starts idle. */
void ngx_twostep_link_init(ngx_twostep_link_t *l, ngx_twostep_store_t *st,
    ngx_uint_t subscriber, ngx_twostep_link_pt handler);

/*
 * Opens an idle link. NGX_OK: ready now (a direct connection: commands may
 * be queued on l->ac at once, behind AUTH and SELECT); NGX_AGAIN: the
 * sentinels are being asked, l->handler tells the outcome; NGX_ERROR:
 * nothing could even be started.
 */
ngx_int_t ngx_twostep_link_open(ngx_twostep_link_t *l);

/* Closes the link at once, without calling its handler. */
void ngx_twostep_link_close(ngx_twostep_link_t *l);

/* From the adapter: hiredis is freeing ac, which may belong to l. */
void ngx_twostep_link_gone(ngx_twostep_link_t *l,
    struct redisAsyncContext *ac);

/* Makes a connection to host:port (an address) or to a unix socket (path),
 * attached to nginx's event loop and owned by l; NULL on failure (logged). */
struct redisAsyncContext *ngx_twostep_redis_open(ngx_twostep_link_t *l,
    const char *host, int port, const char *path);

#endif /* NGX_TWOSTEP_REDIS_H_INCLUDED */
