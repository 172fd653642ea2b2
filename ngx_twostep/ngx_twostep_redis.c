/*
 * twostep for nginx: hiredis async on nginx's event loop.
 * See ngx_twostep_redis.h for the contract.
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
    ngx_twostep_store_t        *store;
    unsigned                    subscriber:1;
} ngx_twostep_redis_ev_t;

typedef struct {
    ngx_twostep_batch_t        *batch;
    ngx_uint_t                  index;
} ngx_twostep_slot_t;


static redisAsyncContext *ngx_twostep_redis_connect(ngx_twostep_store_t *st,
    ngx_uint_t subscriber);
static ngx_int_t ngx_twostep_redis_attach(ngx_twostep_store_t *st,
    redisAsyncContext *ac, ngx_uint_t subscriber);
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
static void ngx_twostep_redis_setup_reply(redisAsyncContext *ac, void *r,
    void *data);
static void ngx_twostep_sub_start(ngx_twostep_store_t *st);
static void ngx_twostep_sub_retry(ngx_event_t *ev);
static void ngx_twostep_sub_reply(redisAsyncContext *ac, void *r,
    void *data);
static void ngx_twostep_batch_reply(redisAsyncContext *ac, void *r,
    void *data);
static ts_reply *ngx_twostep_reply_convert(ts_txn *txn, redisReply *rr,
    ngx_uint_t depth);
static void ngx_twostep_batch_free(ngx_twostep_batch_t *b);


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
 * store forgets the context here, whatever the reason it died.
 */
static void
ngx_twostep_redis_cleanup(void *data)
{
    ngx_twostep_redis_ev_t  *a = data;
    ngx_twostep_store_t     *st = a->store;
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

    if (a->subscriber) {
        if (st->sub == a->ac) {
            st->sub = NULL;
            if (st->cache) {
                ts_cache_live(st->cache, 0);
            }
            if (st->running && !ngx_exiting && !ngx_terminate && !ngx_quit
                && !st->sub_timer.timer_set)
            {
                ngx_add_timer(&st->sub_timer, NGX_TWOSTEP_SUB_RETRY);
            }
        }

    } else if (st->cmd == a->ac) {
        st->cmd = NULL;
    }

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
ngx_twostep_redis_attach(ngx_twostep_store_t *st, redisAsyncContext *ac,
    ngx_uint_t subscriber)
{
    ngx_connection_t        *c;
    ngx_twostep_redis_ev_t  *a;

    a = ngx_alloc(sizeof(ngx_twostep_redis_ev_t), st->log);
    if (a == NULL) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, st->log);
    if (c == NULL) {
        ngx_free(a);
        return NGX_ERROR;
    }

    c->data = a;
    c->read->handler = ngx_twostep_redis_read_handler;
    c->write->handler = ngx_twostep_redis_write_handler;
    c->read->log = st->log;
    c->write->log = st->log;

    a->ac = ac;
    a->c = c;
    a->store = st;
    a->subscriber = subscriber;

    ac->ev.data = a;
    ac->ev.addRead = ngx_twostep_redis_add_read;
    ac->ev.delRead = ngx_twostep_redis_del_read;
    ac->ev.addWrite = ngx_twostep_redis_add_write;
    ac->ev.delWrite = ngx_twostep_redis_del_write;
    ac->ev.cleanup = ngx_twostep_redis_cleanup;

    return NGX_OK;
}


/* ---- connections -------------------------------------------------------- */

static redisAsyncContext *
ngx_twostep_redis_connect(ngx_twostep_store_t *st, ngx_uint_t subscriber)
{
    char                       db[16];
    const char                *argv[2];
    size_t                     argvlen[2];
    redisAsyncContext         *ac;
    const ts_redis_url        *u = &st->cfg->redis;

    switch (u->kind) {

    case TS_REDIS_TCP:
        /* an address is connected without waiting; a host name is looked
         * up by getaddrinfo(): use addresses in twostep_redis */
        ac = redisAsyncConnect(u->host, u->port);
        break;

    case TS_REDIS_UNIX:
        ac = redisAsyncConnectUnix(u->path);
        break;

    default:
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "twostep: sentinel:// is not supported by the nginx "
                      "module yet; name the master with redis://");
        return NULL;
    }

    if (ac == NULL) {
        return NULL;
    }

    if (ac->err) {
        ngx_log_error(NGX_LOG_WARN, st->log, 0,
                      "twostep: cannot connect to redis \"%s\": %s",
                      st->cfg->redis_text ? st->cfg->redis_text : "",
                      ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }

    if (ngx_twostep_redis_attach(st, ac, subscriber) != NGX_OK) {
        redisAsyncFree(ac);
        return NULL;
    }

    ac->data = st;
    (void) redisAsyncSetDisconnectCallback(ac, ngx_twostep_redis_disconnected);
    (void) redisAsyncSetConnectCallback(ac, ngx_twostep_redis_connected);

    /* queued now, sent once connected, answered before anything else */
    if (u->password[0] != '\0') {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = u->password;
        argvlen[1] = ngx_strlen(u->password);
        (void) redisAsyncCommandArgv(ac, ngx_twostep_redis_setup_reply,
                                     (void *) "AUTH", 2, argv, argvlen);
    }

    if (!subscriber && u->db != 0) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = db;
        argvlen[1] = ngx_sprintf((u_char *) db, "%d", u->db) - (u_char *) db;
        (void) redisAsyncCommandArgv(ac, ngx_twostep_redis_setup_reply,
                                     (void *) "SELECT", 2, argv, argvlen);
    }

    return ac;
}


static void
ngx_twostep_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_twostep_store_t  *st = ac->data;

    if (status == REDIS_OK) {
        ngx_log_debug0(NGX_LOG_DEBUG_EVENT, st->log, 0,
                       "twostep: redis connected");
        return;
    }

    /* logged once per outage: a worker retries at every request */
    if (!st->cmd_down_logged) {
        ngx_log_error(NGX_LOG_WARN, st->log, 0,
                      "twostep: cannot connect to redis \"%s\": %s",
                      st->cfg->redis_text ? st->cfg->redis_text : "",
                      ac->errstr);
        st->cmd_down_logged = 1;
    }
}


static void
ngx_twostep_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_twostep_store_t  *st = ac->data;

    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_WARN, st->log, 0,
                      "twostep: redis connection lost: %s", ac->errstr);
    }
}


/* AUTH and SELECT: a refusal makes the connection useless; drop it so the
 * commands behind fail as a store failure instead of a wrong answer. */
static void
ngx_twostep_redis_setup_reply(redisAsyncContext *ac, void *r, void *data)
{
    redisReply           *reply = r;
    ngx_twostep_store_t  *st = ac->data;

    if (reply == NULL || reply->type != REDIS_REPLY_ERROR) {
        if (reply != NULL) {
            st->cmd_down_logged = 0;
        }
        return;
    }

    ngx_log_error(NGX_LOG_ERR, st->log, 0, "twostep: redis refused %s: %s",
                  (char *) data, reply->str);
    redisAsyncDisconnect(ac);
}


/* ---- the subscriber ------------------------------------------------------ */

static void
ngx_twostep_sub_start(ngx_twostep_store_t *st)
{
    char                channel[512];
    const char         *argv[2];
    size_t              argvlen[2];
    redisAsyncContext  *ac;

    if (st->sub != NULL || !st->running) {
        return;
    }

    if (ts_cache_channel(st->cfg, channel, sizeof(channel)) == NULL) {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "twostep: key prefix too long for the channel name");
        return;
    }

    ac = ngx_twostep_redis_connect(st, 1);
    if (ac == NULL) {
        if (!st->sub_timer.timer_set && !ngx_exiting) {
            ngx_add_timer(&st->sub_timer, NGX_TWOSTEP_SUB_RETRY);
        }
        return;
    }

    st->sub = ac;

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = channel;
    argvlen[1] = ngx_strlen(channel);

    if (redisAsyncCommandArgv(ac, ngx_twostep_sub_reply, st, 2, argv, argvlen)
        != REDIS_OK)
    {
        redisAsyncFree(ac);    /* the cleanup hook schedules a retry */
    }
}


static void
ngx_twostep_sub_retry(ngx_event_t *ev)
{
    ngx_twostep_sub_start(ev->data);
}


/* ["subscribe", channel, n] turns the cache on; ["message", channel, text]
 * invalidates; a NULL reply means the connection is going away (the cleanup
 * hook turns the cache off). */
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
        if (st->sub_down_logged) {
            ngx_log_error(NGX_LOG_NOTICE, st->log, 0,
                          "twostep: revocation channel back");
            st->sub_down_logged = 0;
        }
        return;
    }

    if (kind->len == 7 && ngx_strncmp(kind->str, "message", 7) == 0
        && msg->type == REDIS_REPLY_STRING)
    {
        ts_cache_message(st->cache, msg->str, msg->len);
    }
}


ngx_int_t
ngx_twostep_store_start(ngx_twostep_store_t *st, ngx_cycle_t *cycle)
{
    st->log = cycle->log;
    st->cmd = NULL;
    st->sub = NULL;

    st->cache = ts_cache_new(NGX_TWOSTEP_CACHE_ENTRIES);
    if (st->cache == NULL) {
        return NGX_ERROR;
    }

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

    if (st->sub) {
        redisAsyncFree(st->sub);
    }

    if (st->cmd) {
        redisAsyncFree(st->cmd);
    }

    if (st->cache) {
        ts_cache_free(st->cache);
        st->cache = NULL;
    }
}


void
ngx_twostep_store_reset(ngx_twostep_store_t *st)
{
    redisAsyncContext  *ac = st->cmd;

    if (ac != NULL) {
        st->cmd = NULL;
        redisAsyncFree(ac);
    }
}


/* ---- batches ------------------------------------------------------------- */

ngx_twostep_batch_t *
ngx_twostep_batch_send(ngx_twostep_store_t *st, ts_txn *txn,
    ngx_twostep_batch_done_pt done, void *data, ngx_log_t *log)
{
    size_t                i, n;
    const ts_cmd         *cmd;
    ngx_twostep_slot_t   *slots;
    ngx_twostep_batch_t  *b;
    redisAsyncContext    *ac;

    n = ts_txn_ncmds(txn);
    if (n == 0 || n > 1024) {
        return NULL;
    }

    if (st->cmd != NULL
        && (st->cmd->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)))
    {
        st->cmd = NULL;       /* dying; its cleanup comes later */
    }

    if (st->cmd == NULL) {
        st->cmd = ngx_twostep_redis_connect(st, 0);
        if (st->cmd == NULL) {
            return NULL;
        }
    }

    ac = st->cmd;

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
    b->failed = 0;

    for (i = 0; i < n; i++) {
        cmd = ts_txn_cmd(txn, i);
        slots[i].batch = b;
        slots[i].index = i;
        b->replies[i] = NULL;

        if (cmd == NULL
            || redisAsyncCommandArgv(ac, ngx_twostep_batch_reply, &slots[i],
                                     cmd->argc, cmd->argv, cmd->argvlen)
               != REDIS_OK)
        {
            break;
        }

        b->outstanding++;
    }

    if (i == n) {
        return b;
    }

    /* part of the pipeline is queued: its replies come and free the batch */
    ngx_log_error(NGX_LOG_WARN, log, 0, "twostep: cannot queue redis command");
    b->failed = 1;
    ngx_twostep_batch_release(b);
    return NULL;
}


void
ngx_twostep_batch_release(ngx_twostep_batch_t *b)
{
    b->data = NULL;
    b->txn = NULL;

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

    if (b->data != NULL && !b->failed) {
        if (r == NULL) {
            b->failed = 1;

        } else {
            b->replies[slot->index] = ngx_twostep_reply_convert(b->txn, r, 0);
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
