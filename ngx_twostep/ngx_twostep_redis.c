/*
 * twostep for nginx: hiredis async on nginx's event loop.
 * See ngx_twostep_redis.h for the contract; opening a link (directly or
 * through Sentinel) is in ngx_twostep_sentinel.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_twostep_redis.h"


#define NGX_TWOSTEP_REPLY_DEPTH      8
#define NGX_TWOSTEP_CACHE_ENTRIES    10000
#define NGX_TWOSTEP_SUB_RETRY        500     /* ms between subscriber tries */


/* The adapter: one per hiredis context, freed by hiredis' cleanup hook. */
typedef struct {
    redisAsyncContext          *ac;
    ngx_connection_t           *c;
    ngx_twostep_link_t         *link;
    u_char                      peer[NGX_SOCKADDR_STRLEN + 1];
} ngx_twostep_redis_ev_t;

typedef struct {
    ngx_twostep_batch_t        *batch;
    ngx_uint_t                  index;
} ngx_twostep_slot_t;


static ngx_int_t ngx_twostep_resolve_one(ngx_conf_t *cf, ngx_array_t *addrs,
    const ngx_twostep_store_t *st, const char *host, int port, ngx_uint_t all);
static ngx_int_t ngx_twostep_redis_attach(ngx_twostep_link_t *l,
    redisAsyncContext *ac, const char *host, int port, const char *path);
static void ngx_twostep_redis_add_read(void *data);
static void ngx_twostep_redis_del_read(void *data);
static void ngx_twostep_redis_add_write(void *data);
static void ngx_twostep_redis_del_write(void *data);
static void ngx_twostep_redis_cleanup(void *data);
static void ngx_twostep_redis_read_handler(ngx_event_t *ev);
static void ngx_twostep_redis_write_handler(ngx_event_t *ev);
static void ngx_twostep_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_twostep_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_twostep_sub_start(ngx_twostep_store_t *st);
static void ngx_twostep_sub_link(ngx_twostep_link_t *l, ngx_uint_t ok);
static void ngx_twostep_sub_subscribe(ngx_twostep_store_t *st);
static void ngx_twostep_sub_retry(ngx_event_t *ev);
static void ngx_twostep_sub_reply(redisAsyncContext *ac, void *r,
    void *data);
static void ngx_twostep_cmd_link(ngx_twostep_link_t *l, ngx_uint_t ok);
static ngx_int_t ngx_twostep_batch_issue(ngx_twostep_batch_t *b,
    redisAsyncContext *ac);
static void ngx_twostep_batch_reply(redisAsyncContext *ac, void *r,
    void *data);
static ts_reply *ngx_twostep_reply_convert(ts_txn *txn, redisReply *rr,
    ngx_uint_t depth);
static void ngx_twostep_batch_free(ngx_twostep_batch_t *b);


/* ---- configuration time: addresses --------------------------------------- */

/*
 * Host names are resolved here, in the master reading the configuration,
 * because hiredis' connect calls getaddrinfo(), which would block a worker
 * on DNS. Addresses (and unix sockets) pass through untouched. This is
 * nginx's own rule for proxy_pass without a "resolver": a name is looked up
 * at start and at each reload. Failover is Sentinel's job, not DNS's.
 */
ngx_int_t
ngx_twostep_store_resolve(ngx_conf_t *cf, ngx_twostep_store_t *st)
{
    int                  i;
    ngx_array_t         *addrs;
    const ts_redis_url  *u = &st->cfg->redis;

    st->addrs = NULL;
    st->naddrs = 0;

    if (u->kind == TS_REDIS_UNIX) {
        return NGX_OK;
    }

    addrs = ngx_array_create(cf->pool, 4, sizeof(ngx_twostep_addr_t));
    if (addrs == NULL) {
        return NGX_ERROR;
    }

    if (u->kind == TS_REDIS_TCP) {
        /* one server: its first address, as hiredis would connect to */
        if (ngx_twostep_resolve_one(cf, addrs, st, u->host, u->port, 0)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else {
        /* every address of every sentinel is a candidate, in order */
        for (i = 0; i < u->nsentinels && i < 8; i++) {
            if (ngx_twostep_resolve_one(cf, addrs, st, u->sentinels[i].host,
                                        u->sentinels[i].port, 1)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    st->addrs = addrs->elts;
    st->naddrs = addrs->nelts;

    return NGX_OK;
}


static ngx_int_t
ngx_twostep_resolve_one(ngx_conf_t *cf, ngx_array_t *addrs,
    const ngx_twostep_store_t *st, const char *host, int port, ngx_uint_t all)
{
    size_t               len;
    u_char               buf[16];
    ngx_url_t            url;
    ngx_uint_t           i;
    ngx_twostep_addr_t  *a;

    len = ngx_strlen(host);

    if (len == 0 || len > NGX_SOCKADDR_STRLEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "twostep_redis \"%s\": bad host \"%s\"",
                           st->cfg->redis_text ? st->cfg->redis_text : "",
                           host);
        return NGX_ERROR;
    }

    if (ngx_inet_addr((u_char *) host, len) != INADDR_NONE
#if (NGX_HAVE_INET6)
        || ngx_inet6_addr((u_char *) host, len, buf) == NGX_OK
#endif
       )
    {
        a = ngx_array_push(addrs);
        if (a == NULL) {
            return NGX_ERROR;
        }
        ngx_memcpy(a->text, host, len);
        a->text[len] = '\0';
        a->port = port;
        return NGX_OK;
    }

    (void) buf;

    ngx_memzero(&url, sizeof(ngx_url_t));
    url.host.data = (u_char *) host;
    url.host.len = len;
    url.port = (in_port_t) port;

    if (ngx_inet_resolve_host(cf->pool, &url) != NGX_OK || url.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "twostep_redis \"%s\": %s \"%s\"",
                           st->cfg->redis_text ? st->cfg->redis_text : "",
                           url.err ? url.err : "host not found", host);
        return NGX_ERROR;
    }

    for (i = 0; i < url.naddrs && (all || i == 0); i++) {
        a = ngx_array_push(addrs);
        if (a == NULL) {
            return NGX_ERROR;
        }
        len = ngx_sock_ntop(url.addrs[i].sockaddr, url.addrs[i].socklen,
                            a->text, NGX_SOCKADDR_STRLEN, 0);
        a->text[len] = '\0';
        a->port = port;
    }

    return NGX_OK;
}


/* ---- the event-loop adapter ------------------------------------------- */

/*
 * hiredis asks for read/write interest; nginx's events are level-triggered
 * here (flags 0), so hiredis' idea of "want to read/write" maps one to one
 * and the hooks stay idempotent through ev->active.
 */

static void
ngx_twostep_redis_add_read(void *data)
{
    ngx_twostep_redis_ev_t  *a = data;

    if (!a->c->read->active) {
        if (ngx_add_event(a->c->read, NGX_READ_EVENT, 0) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, a->c->log, 0,
                          "twostep: cannot add redis read event");
        }
    }
}


static void
ngx_twostep_redis_del_read(void *data)
{
    ngx_twostep_redis_ev_t  *a = data;

    if (a->c->read->active) {
        (void) ngx_del_event(a->c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_twostep_redis_add_write(void *data)
{
    ngx_twostep_redis_ev_t  *a = data;

    if (!a->c->write->active) {
        if (ngx_add_event(a->c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, a->c->log, 0,
                          "twostep: cannot add redis write event");
        }
    }
}


static void
ngx_twostep_redis_del_write(void *data)
{
    ngx_twostep_redis_ev_t  *a = data;

    if (a->c->write->active) {
        (void) ngx_del_event(a->c->write, NGX_WRITE_EVENT, 0);
    }
}


/*
 * hiredis frees the context: called before it closes the fd, so the events
 * still refer to an open descriptor when they leave the event loop. The
 * link forgets the context here, whatever the reason it died.
 */
static void
ngx_twostep_redis_cleanup(void *data)
{
    ngx_twostep_redis_ev_t  *a = data;
    ngx_connection_t        *c = a->c;

    ngx_twostep_redis_del_read(a);
    ngx_twostep_redis_del_write(a);

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;      /* hiredis closes it */
    ngx_free_connection(c);

    ngx_twostep_link_gone(a->link, a->ac);

    ngx_free(a);
}


static void
ngx_twostep_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c = ev->data;
    ngx_twostep_redis_ev_t  *a = c->data;

    /* a may be freed inside: not touched afterwards */
    redisAsyncHandleRead(a->ac);
}


static void
ngx_twostep_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t        *c = ev->data;
    ngx_twostep_redis_ev_t  *a = c->data;

    redisAsyncHandleWrite(a->ac);
}


static ngx_int_t
ngx_twostep_redis_attach(ngx_twostep_link_t *l, redisAsyncContext *ac,
    const char *host, int port, const char *path)
{
    ngx_log_t               *log = l->store->log;
    ngx_connection_t        *c;
    ngx_twostep_redis_ev_t  *a;

    a = ngx_alloc(sizeof(ngx_twostep_redis_ev_t), log);
    if (a == NULL) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, log);
    if (c == NULL) {
        ngx_free(a);
        return NGX_ERROR;
    }

    c->data = a;
    c->read->handler = ngx_twostep_redis_read_handler;
    c->write->handler = ngx_twostep_redis_write_handler;
    c->read->log = log;
    c->write->log = log;

    a->ac = ac;
    a->c = c;
    a->link = l;

    if (path != NULL) {
        ngx_cpystrn(a->peer, (u_char *) path, sizeof(a->peer));

    } else {
        *ngx_snprintf(a->peer, sizeof(a->peer) - 1, "%s:%d", host, port)
            = '\0';
    }

    ac->ev.data = a;
    ac->ev.addRead = ngx_twostep_redis_add_read;
    ac->ev.delRead = ngx_twostep_redis_del_read;
    ac->ev.addWrite = ngx_twostep_redis_add_write;
    ac->ev.delWrite = ngx_twostep_redis_del_write;
    ac->ev.cleanup = ngx_twostep_redis_cleanup;

    return NGX_OK;
}


/* ---- connections -------------------------------------------------------- */

redisAsyncContext *
ngx_twostep_redis_open(ngx_twostep_link_t *l, const char *host, int port,
    const char *path)
{
    redisAsyncContext    *ac;
    ngx_twostep_store_t  *st = l->store;

    /* host is an address (ngx_twostep_store_resolve, or a sentinel's
     * answer checked to be one): hiredis' getaddrinfo() returns at once
     * and connect() does not wait */
    ac = path ? redisAsyncConnectUnix(path) : redisAsyncConnect(host, port);
    if (ac == NULL) {
        return NULL;
    }

    if (ac->err) {
        if (!l->down_logged && path != NULL) {
            ngx_log_error(NGX_LOG_WARN, st->log, 0,
                          "twostep: cannot connect to redis \"%s\": %s",
                          path, ac->errstr);

        } else if (!l->down_logged) {
            ngx_log_error(NGX_LOG_WARN, st->log, 0,
                          "twostep: cannot connect to redis \"%s:%d\": %s",
                          host, port, ac->errstr);
        }
        redisAsyncFree(ac);
        return NULL;
    }

    if (ngx_twostep_redis_attach(l, ac, host, port, path) != NGX_OK) {
        redisAsyncFree(ac);
        return NULL;
    }

    ac->data = l;
    (void) redisAsyncSetDisconnectCallback(ac, ngx_twostep_redis_disconnected);
    (void) redisAsyncSetConnectCallback(ac, ngx_twostep_redis_connected);

    return ac;
}


/* Not allowed to free anything: hiredis goes on with ac after this. */
static void
ngx_twostep_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_twostep_link_t      *l = ac->data;
    ngx_twostep_redis_ev_t  *a = ac->ev.data;

    if (status == REDIS_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, l->store->log, 0,
                       "twostep: connected to %s", a->peer);
        if (l->store->cfg->redis.kind != TS_REDIS_SENTINEL) {
            l->down_logged = 0;
        }
        return;
    }

    /* logged once per outage: a worker retries at every request */
    if (!l->down_logged) {
        ngx_log_error(NGX_LOG_WARN, l->store->log, 0,
                      "twostep: cannot connect to %s \"%s\": %s",
                      ac == l->probe ? "redis sentinel" : "redis",
                      a->peer, ac->errstr);
        if (l->store->cfg->redis.kind != TS_REDIS_SENTINEL) {
            l->down_logged = 1;
        }
    }
}


static void
ngx_twostep_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_twostep_link_t  *l = ac->data;

    /* the cleanup hook ran first and freed the adapter (ac->ev.data) */

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_WARN, l->store->log, 0,
                      "twostep: redis connection lost: %s", ac->errstr);
    }
}


/* ---- the subscriber ------------------------------------------------------ */

static void
ngx_twostep_sub_start(ngx_twostep_store_t *st)
{
    char  channel[512];

    if (!st->running || st->sub.state != NGX_TWOSTEP_LINK_IDLE) {
        return;
    }

    if (ts_cache_channel(st->cfg, channel, sizeof(channel)) == NULL) {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "twostep: key prefix too long for the channel name");
        return;
    }

    switch (ngx_twostep_link_open(&st->sub)) {

    case NGX_OK:
        ngx_twostep_sub_subscribe(st);
        return;

    case NGX_AGAIN:
        return;         /* ngx_twostep_sub_link() is told */

    default:
        ngx_twostep_sub_link(&st->sub, 0);
        return;
    }
}


/* The subscriber link is up (subscribe) or down (cache off, retry later). */
static void
ngx_twostep_sub_link(ngx_twostep_link_t *l, ngx_uint_t ok)
{
    ngx_twostep_store_t  *st = l->store;

    if (ok) {
        ngx_twostep_sub_subscribe(st);
        return;
    }

    if (st->cache) {
        ts_cache_live(st->cache, 0);
    }

    st->sub_lost = 1;

    if (st->running && !ngx_exiting && !ngx_terminate && !ngx_quit
        && !st->sub_timer.timer_set)
    {
        ngx_add_timer(&st->sub_timer, NGX_TWOSTEP_SUB_RETRY);
    }
}


/* Never from inside a hiredis callback: a failure frees the context. */
static void
ngx_twostep_sub_subscribe(ngx_twostep_store_t *st)
{
    char                channel[512];
    const char         *argv[2];
    size_t              argvlen[2];
    redisAsyncContext  *ac = st->sub.ac;

    if (ac == NULL
        || ts_cache_channel(st->cfg, channel, sizeof(channel)) == NULL)
    {
        return;
    }

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = channel;
    argvlen[1] = ngx_strlen(channel);

    if (redisAsyncCommandArgv(ac, ngx_twostep_sub_reply, st, 2, argv, argvlen)
        != REDIS_OK)
    {
        redisAsyncFree(ac);    /* the link is told: a retry is scheduled */
    }
}


static void
ngx_twostep_sub_retry(ngx_event_t *ev)
{
    ngx_twostep_sub_start(ev->data);
}


/* ["subscribe", channel, n] turns the cache on; ["message", channel, text]
 * invalidates; a NULL reply means the connection is going away (the link's
 * handler turns the cache off). */
static void
ngx_twostep_sub_reply(redisAsyncContext *ac, void *r, void *data)
{
    redisReply           *reply = r;
    ngx_twostep_store_t  *st = data;
    redisReply           *kind, *msg;

    if (reply == NULL || st->cache == NULL) {
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) {
        if (reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_ERR, st->log, 0,
                          "twostep: redis refused SUBSCRIBE: %s", reply->str);
            redisAsyncDisconnect(ac);
        }
        return;
    }

    kind = reply->element[0];
    msg = reply->element[2];

    if (kind->type != REDIS_REPLY_STRING) {
        return;
    }

    if (kind->len == 9 && ngx_strncmp(kind->str, "subscribe", 9) == 0) {
        ts_cache_live(st->cache, 1);
        if (st->sub_lost) {
            ngx_log_error(NGX_LOG_NOTICE, st->log, 0,
                          "twostep: revocation channel back");
            st->sub_lost = 0;
        }
        return;
    }

    if (kind->len == 7 && ngx_strncmp(kind->str, "message", 7) == 0
        && msg->type == REDIS_REPLY_STRING)
    {
        ts_cache_message(st->cache, msg->str, msg->len);
    }
}


/* ---- the store ------------------------------------------------------------ */

ngx_int_t
ngx_twostep_store_start(ngx_twostep_store_t *st, ngx_cycle_t *cycle)
{
    st->log = cycle->log;
    st->sub_lost = 0;

    st->cache = ts_cache_new(NGX_TWOSTEP_CACHE_ENTRIES);
    if (st->cache == NULL) {
        return NGX_ERROR;
    }

    ngx_queue_init(&st->pending);
    ngx_twostep_link_init(&st->cmd, st, 0, ngx_twostep_cmd_link);
    ngx_twostep_link_init(&st->sub, st, 1, ngx_twostep_sub_link);

    ngx_memzero(&st->sub_timer, sizeof(ngx_event_t));
    st->sub_timer.handler = ngx_twostep_sub_retry;
    st->sub_timer.data = st;
    st->sub_timer.log = cycle->log;
    st->sub_timer.cancelable = 1;     /* never holds up a graceful exit */

    st->running = 1;
    ngx_twostep_sub_start(st);

    return NGX_OK;
}


void
ngx_twostep_store_stop(ngx_twostep_store_t *st)
{
    st->running = 0;

    if (st->sub_timer.timer_set) {
        ngx_del_timer(&st->sub_timer);
    }

    /* batches still waiting in st->pending belong to requests the exiting
     * worker never finishes: they are left as they are */
    ngx_twostep_link_close(&st->sub);
    ngx_twostep_link_close(&st->cmd);

    if (st->cache) {
        ts_cache_free(st->cache);
        st->cache = NULL;
    }
}


void
ngx_twostep_store_reset(ngx_twostep_store_t *st)
{
    redisAsyncContext   *ac;
    ngx_twostep_link_t  *l = &st->cmd;

    if (l->state != NGX_TWOSTEP_LINK_READY) {
        return;
    }

    ac = l->ac;
    l->ac = NULL;
    l->state = NGX_TWOSTEP_LINK_IDLE;

    if (ac != NULL) {
        redisAsyncFree(ac);
    }
}


/* ---- batches ------------------------------------------------------------- */

ngx_twostep_batch_t *
ngx_twostep_batch_send(ngx_twostep_store_t *st, ts_txn *txn,
    ngx_twostep_batch_done_pt done, void *data, ngx_log_t *log)
{
    size_t                i, n;
    ngx_twostep_slot_t   *slots;
    ngx_twostep_link_t   *l = &st->cmd;
    ngx_twostep_batch_t  *b;

    n = ts_txn_ncmds(txn);
    if (n == 0 || n > 1024) {
        return NULL;
    }

    if (l->state == NGX_TWOSTEP_LINK_READY
        && (l->ac == NULL
            || (l->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING))))
    {
        l->ac = NULL;         /* dying; its cleanup comes later */
        l->state = NGX_TWOSTEP_LINK_IDLE;
    }

    b = ngx_alloc(sizeof(ngx_twostep_batch_t)
                  + n * (sizeof(ngx_twostep_slot_t) + sizeof(ts_reply *)),
                  log);
    if (b == NULL) {
        return NULL;
    }

    slots = (ngx_twostep_slot_t *) (b + 1);
    b->replies = (ts_reply **) (slots + n);
    b->data = data;
    b->done = done;
    b->txn = txn;
    b->n = n;
    b->outstanding = 0;
    b->queued = 0;
    b->failed = 0;

    for (i = 0; i < n; i++) {
        slots[i].batch = b;
        slots[i].index = i;
        b->replies[i] = NULL;
    }

    if (l->state == NGX_TWOSTEP_LINK_IDLE
        && ngx_twostep_link_open(l) == NGX_ERROR)
    {
        ngx_twostep_batch_free(b);
        return NULL;
    }

    if (l->state != NGX_TWOSTEP_LINK_READY) {
        /* the sentinels are being asked: ngx_twostep_cmd_link() sends it */
        ngx_queue_insert_tail(&st->pending, &b->queue);
        b->queued = 1;
        return b;
    }

    if (ngx_twostep_batch_issue(b, l->ac) == NGX_OK) {
        return b;
    }

    /* part of the pipeline may be queued: its replies come and free it */
    ngx_log_error(NGX_LOG_WARN, log, 0, "twostep: cannot queue redis command");
    ngx_twostep_batch_release(b);
    return NULL;
}


/* Queues every command of b on ac; on failure b->failed is set and the
 * commands already queued still answer (b->outstanding of them). */
static ngx_int_t
ngx_twostep_batch_issue(ngx_twostep_batch_t *b, redisAsyncContext *ac)
{
    ngx_uint_t           i;
    const ts_cmd        *cmd;
    ngx_twostep_slot_t  *slots = (ngx_twostep_slot_t *) (b + 1);

    for (i = 0; i < b->n; i++) {
        cmd = ts_txn_cmd(b->txn, i);

        if (cmd == NULL
            || redisAsyncCommandArgv(ac, ngx_twostep_batch_reply, &slots[i],
                                     cmd->argc, cmd->argv, cmd->argvlen)
               != REDIS_OK)
        {
            b->failed = 1;
            return NGX_ERROR;
        }

        b->outstanding++;
    }

    return NGX_OK;
}


/*
 * The command link is open (send the batches that waited for it) or could
 * not be opened (they fail). Called from a posted event or hiredis'
 * cleanup hook: done handlers only post events, as inside a callback.
 */
static void
ngx_twostep_cmd_link(ngx_twostep_link_t *l, ngx_uint_t ok)
{
    ngx_queue_t          *q;
    ngx_twostep_batch_t  *b;
    ngx_twostep_store_t  *st = l->store;

    while (!ngx_queue_empty(&st->pending)) {
        q = ngx_queue_head(&st->pending);
        b = ngx_queue_data(q, ngx_twostep_batch_t, queue);
        ngx_queue_remove(q);
        b->queued = 0;

        if (ok && l->state == NGX_TWOSTEP_LINK_READY && l->ac != NULL) {
            if (ngx_twostep_batch_issue(b, l->ac) == NGX_OK
                || b->outstanding > 0)
            {
                continue;       /* its replies call done */
            }

        } else {
            b->failed = 1;
        }

        b->done(b->data);
    }
}


void
ngx_twostep_batch_release(ngx_twostep_batch_t *b)
{
    b->data = NULL;
    b->txn = NULL;

    if (b->queued) {
        ngx_queue_remove(&b->queue);
        b->queued = 0;
    }

    if (b->outstanding == 0) {
        ngx_twostep_batch_free(b);
    }
}


static void
ngx_twostep_batch_free(ngx_twostep_batch_t *b)
{
    ngx_free(b);
}


static void
ngx_twostep_batch_reply(redisAsyncContext *ac, void *r, void *data)
{
    ngx_twostep_slot_t   *slot = data;
    ngx_twostep_batch_t  *b = slot->batch;
    ngx_twostep_link_t   *l = ac->data;
    redisReply           *reply = r;

    /*
     * A master demoted under us (a failover the sentinels did not tell this
     * connection about) refuses writes: leave it once the replies in flight
     * are in, and the next batch asks the sentinels again.
     */
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR
        && reply->len >= 8 && ngx_strncmp(reply->str, "READONLY", 8) == 0
        && l->store->cfg->redis.kind == TS_REDIS_SENTINEL)
    {
        redisAsyncDisconnect(ac);
    }

    if (b->data != NULL && !b->failed) {
        if (reply == NULL) {
            b->failed = 1;

        } else {
            b->replies[slot->index] = ngx_twostep_reply_convert(b->txn,
                                                                reply, 0);
            if (b->replies[slot->index] == NULL) {
                b->failed = 1;
            }
        }
    }

    if (--b->outstanding > 0) {
        return;
    }

    if (b->data == NULL) {
        ngx_twostep_batch_free(b);
        return;
    }

    b->done(b->data);
}


static ts_reply *
ngx_twostep_reply_convert(ts_txn *txn, redisReply *rr, ngx_uint_t depth)
{
    size_t         i;
    ts_reply      *tr;
    ts_reply_type  type;

    if (depth > NGX_TWOSTEP_REPLY_DEPTH) {
        return NULL;
    }

    switch (rr->type) {
    case REDIS_REPLY_STRING:  type = TS_REPLY_STRING;  break;
    case REDIS_REPLY_ARRAY:   type = TS_REPLY_ARRAY;   break;
    case REDIS_REPLY_INTEGER: type = TS_REPLY_INTEGER; break;
    case REDIS_REPLY_STATUS:  type = TS_REPLY_STATUS;  break;
    case REDIS_REPLY_ERROR:   type = TS_REPLY_ERROR;   break;
    default:                  type = TS_REPLY_NIL;     break;
    }

    tr = ts_txn_reply_new(txn, type);
    if (tr == NULL) {
        return NULL;
    }

    switch (type) {

    case TS_REPLY_STRING:
    case TS_REPLY_STATUS:
    case TS_REPLY_ERROR:
        if (ts_txn_reply_set_str(txn, tr, rr->str, rr->len) != 0) {
            return NULL;
        }
        break;

    case TS_REPLY_INTEGER:
        tr->integer = rr->integer;
        break;

    case TS_REPLY_ARRAY:
        if (ts_txn_reply_set_elems(txn, tr, rr->elements) != 0) {
            return NULL;
        }
        for (i = 0; i < rr->elements; i++) {
            tr->elem[i] = ngx_twostep_reply_convert(txn, rr->element[i],
                                                    depth + 1);
            if (tr->elem[i] == NULL) {
                return NULL;
            }
        }
        break;

    default:
        break;
    }

    return tr;
}
