/*
 * twostep for nginx: opening a link to Redis, directly or through Sentinel.
 * See ngx_twostep_redis.h for the contract.
 *
 * For sentinel:// a link walks, one step at a time, through
 *
 *   SENTINEL  ask sentinel idx "SENTINEL get-master-addr-by-name MASTER"
 *   MASTER    connect to the address it names; AUTH, SELECT, then ROLE
 *   READY     ROLE said "master": the link's handler is told
 *
 * and any failure (no answer, unknown master, refused, not a master, the
 * step's twostep_redis_timeout) moves on to the next sentinel; past the
 * last one the handler is told the link is down. hiredis callbacks only
 * record what they learned and free their context; the walk goes on from
 * the posted event l->next, outside hiredis, so no context is freed or
 * created under hiredis' feet. The same walk runs again whenever the link
 * is lost, which is how a failover is followed. This is the order the
 * blocking executor (store/redis_conn.c) uses for Apache and twostepctl.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_twostep_redis.h"
#include "sentinel_reply.h"
#include "ts_err.h"


static ngx_int_t ngx_twostep_link_ask(ngx_twostep_link_t *l);
static ngx_int_t ngx_twostep_link_master(ngx_twostep_link_t *l);
static ngx_int_t ngx_twostep_link_setup(ngx_twostep_link_t *l,
    redisAsyncContext *ac, ngx_uint_t role);
static void ngx_twostep_link_next(ngx_event_t *ev);
static void ngx_twostep_link_timeout(ngx_event_t *ev);
static void ngx_twostep_link_post(ngx_twostep_link_t *l);
static void ngx_twostep_sentinel_reply(redisAsyncContext *ac, void *r,
    void *data);
static ngx_int_t ngx_twostep_sentinel_parse(ngx_twostep_link_t *l,
    redisReply *reply);
static void ngx_twostep_role_reply(redisAsyncContext *ac, void *r,
    void *data);
static void ngx_twostep_setup_reply(redisAsyncContext *ac, void *r,
    void *data);


void
ngx_twostep_link_init(ngx_twostep_link_t *l, ngx_twostep_store_t *st,
    ngx_uint_t subscriber, ngx_twostep_link_pt handler)
{
    ngx_memzero(l, sizeof(ngx_twostep_link_t));

    l->store = st;
    l->handler = handler;
    l->subscriber = subscriber ? 1 : 0;
    l->state = NGX_TWOSTEP_LINK_IDLE;

    l->step.handler = ngx_twostep_link_timeout;
    l->step.data = l;
    l->step.log = st->log;
    l->step.cancelable = 1;         /* never holds up a graceful exit */

    l->next.handler = ngx_twostep_link_next;
    l->next.data = l;
    l->next.log = st->log;
}


ngx_int_t
ngx_twostep_link_open(ngx_twostep_link_t *l)
{
    redisAsyncContext    *ac;
    ngx_twostep_store_t  *st = l->store;
    const ts_redis_url   *u = &st->cfg->redis;

    if (l->state != NGX_TWOSTEP_LINK_IDLE) {
        return l->state == NGX_TWOSTEP_LINK_READY ? NGX_OK : NGX_AGAIN;
    }

    if (u->kind == TS_REDIS_SENTINEL) {
        l->idx = 0;
        return ngx_twostep_link_ask(l);
    }

    /* direct: usable at once, commands wait behind AUTH and SELECT */

    if (u->kind == TS_REDIS_UNIX) {
        ac = ngx_twostep_redis_open(l, NULL, 0, u->path);

    } else if (st->naddrs > 0) {
        ac = ngx_twostep_redis_open(l, (char *) st->addrs[0].text,
                                    st->addrs[0].port, NULL);

    } else {
        ac = NULL;
    }

    if (ac == NULL) {
        return NGX_ERROR;
    }

    if (ngx_twostep_link_setup(l, ac, 0) != NGX_OK) {
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    l->ac = ac;
    l->state = NGX_TWOSTEP_LINK_READY;

    return NGX_OK;
}


void
ngx_twostep_link_close(ngx_twostep_link_t *l)
{
    redisAsyncContext  *probe = l->probe, *ac = l->ac;

    if (l->step.timer_set) {
        ngx_del_timer(&l->step);
    }

    if (l->next.posted) {
        ngx_delete_posted_event(&l->next);
    }

    /* forgotten first: ngx_twostep_link_gone() then ignores them */
    l->probe = NULL;
    l->ac = NULL;
    l->state = NGX_TWOSTEP_LINK_IDLE;

    if (probe != NULL) {
        redisAsyncFree(probe);
    }

    if (ac != NULL) {
        redisAsyncFree(ac);
    }
}


void
ngx_twostep_link_gone(ngx_twostep_link_t *l, redisAsyncContext *ac)
{
    if (ac == l->probe) {
        l->probe = NULL;
        if (l->state == NGX_TWOSTEP_LINK_SENTINEL) {
            ngx_twostep_link_post(l);
        }
        return;
    }

    if (ac != l->ac) {
        return;             /* already forgotten (reset, close) */
    }

    l->ac = NULL;

    switch (l->state) {

    case NGX_TWOSTEP_LINK_MASTER:
        ngx_twostep_link_post(l);
        break;

    case NGX_TWOSTEP_LINK_READY:
        l->state = NGX_TWOSTEP_LINK_IDLE;
        l->handler(l, 0);
        break;

    default:
        break;
    }
}


/* ---- the walk -------------------------------------------------------------- */

/* Asks sentinel l->idx, or the ones after it when it cannot be reached. */
static ngx_int_t
ngx_twostep_link_ask(ngx_twostep_link_t *l)
{
    const char           *argv[3];
    size_t                argvlen[3];
    redisAsyncContext    *ac;
    ngx_twostep_addr_t   *a;
    ngx_twostep_store_t  *st = l->store;

    argv[0] = "SENTINEL";
    argvlen[0] = 8;
    argv[1] = "get-master-addr-by-name";
    argvlen[1] = 23;
    argv[2] = st->cfg->redis.master;
    argvlen[2] = ngx_strlen(st->cfg->redis.master);

    for ( /* void */ ; l->idx < st->naddrs; l->idx++) {
        a = &st->addrs[l->idx];
        l->found = 0;
        l->confirmed = 0;

        ac = ngx_twostep_redis_open(l, (char *) a->text, a->port, NULL);
        if (ac == NULL) {
            continue;
        }

        if (redisAsyncCommandArgv(ac, ngx_twostep_sentinel_reply, l, 3,
                                  argv, argvlen)
            != REDIS_OK)
        {
            redisAsyncFree(ac);
            continue;
        }

        l->probe = ac;
        l->state = NGX_TWOSTEP_LINK_SENTINEL;
        ngx_add_timer(&l->step, (ngx_msec_t) st->cfg->redis_timeout_ms);

        return NGX_AGAIN;
    }

    l->state = NGX_TWOSTEP_LINK_IDLE;

    if (!l->down_logged) {
        ngx_log_error(NGX_LOG_ERR, st->log, 0,
                      "twostep: no sentinel of \"%s\" named a reachable "
                      "master", st->cfg->redis_text ? st->cfg->redis_text
                                                    : "");
        l->down_logged = 1;
    }

    return NGX_ERROR;
}


/* Connects to the master the sentinel named; ROLE is asked last. */
static ngx_int_t
ngx_twostep_link_master(ngx_twostep_link_t *l)
{
    redisAsyncContext  *ac;

    ac = ngx_twostep_redis_open(l, (char *) l->master.text, l->master.port,
                                NULL);
    if (ac == NULL) {
        return NGX_ERROR;
    }

    if (ngx_twostep_link_setup(l, ac, 1) != NGX_OK) {
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    l->ac = ac;
    l->confirmed = 0;
    l->state = NGX_TWOSTEP_LINK_MASTER;
    ngx_add_timer(&l->step, (ngx_msec_t) l->store->cfg->redis_timeout_ms);

    return NGX_OK;
}


/* AUTH, SELECT (not on a subscriber: channels have no database) and, for a
 * master named by a sentinel, ROLE: queued now, sent once connected. */
static ngx_int_t
ngx_twostep_link_setup(ngx_twostep_link_t *l, redisAsyncContext *ac,
    ngx_uint_t role)
{
    u_char              db[16];
    const char         *argv[2];
    size_t              argvlen[2];
    const ts_redis_url  *u = &l->store->cfg->redis;

    if (u->password[0] != '\0') {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = u->password;
        argvlen[1] = ngx_strlen(u->password);
        if (redisAsyncCommandArgv(ac, ngx_twostep_setup_reply,
                                  (void *) "AUTH", 2, argv, argvlen)
            != REDIS_OK)
        {
            return NGX_ERROR;
        }
    }

    if (!l->subscriber && u->db != 0) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (char *) db;
        argvlen[1] = ngx_sprintf(db, "%d", u->db) - db;
        if (redisAsyncCommandArgv(ac, ngx_twostep_setup_reply,
                                  (void *) "SELECT", 2, argv, argvlen)
            != REDIS_OK)
        {
            return NGX_ERROR;
        }
    }

    if (role) {
        argv[0] = "ROLE";
        argvlen[0] = 4;
        if (redisAsyncCommandArgv(ac, ngx_twostep_role_reply, l, 1, argv,
                                  argvlen)
            != REDIS_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* Carries on after a step ended (its context answered or died). */
static void
ngx_twostep_link_next(ngx_event_t *ev)
{
    ngx_twostep_link_t   *l = ev->data;
    ngx_twostep_store_t  *st = l->store;

    switch (l->state) {

    case NGX_TWOSTEP_LINK_SENTINEL:
        if (l->probe != NULL) {
            return;         /* still asking */
        }

        if (l->step.timer_set) {
            ngx_del_timer(&l->step);
        }

        if (l->found && ngx_twostep_link_master(l) == NGX_OK) {
            return;
        }

        break;

    case NGX_TWOSTEP_LINK_MASTER:
        if (l->ac != NULL && !l->confirmed) {
            return;         /* still setting up */
        }

        if (l->step.timer_set) {
            ngx_del_timer(&l->step);
        }

        if (l->ac != NULL) {
            ngx_log_error(NGX_LOG_INFO, st->log, 0,
                          "twostep: redis master %s:%d named by sentinel "
                          "%s:%d", l->master.text, l->master.port,
                          st->addrs[l->idx].text, st->addrs[l->idx].port);
            l->down_logged = 0;
            l->state = NGX_TWOSTEP_LINK_READY;
            l->handler(l, 1);
            return;
        }

        break;

    default:
        return;
    }

    l->idx++;

    if (ngx_twostep_link_ask(l) == NGX_ERROR) {
        l->handler(l, 0);
    }
}


/* A step took longer than twostep_redis_timeout: its context is dropped
 * (hiredis then calls ngx_twostep_link_gone, which posts l->next). */
static void
ngx_twostep_link_timeout(ngx_event_t *ev)
{
    ngx_twostep_link_t   *l = ev->data;
    ngx_twostep_store_t  *st = l->store;
    redisAsyncContext    *ac;

    ac = l->state == NGX_TWOSTEP_LINK_SENTINEL ? l->probe
         : l->state == NGX_TWOSTEP_LINK_MASTER ? l->ac : NULL;

    if (ac == NULL) {
        ngx_twostep_link_post(l);
        return;
    }

    if (!l->down_logged) {
        ngx_log_error(NGX_LOG_WARN, st->log, 0,
                      "twostep: redis %s %s:%d did not answer within %M ms",
                      l->state == NGX_TWOSTEP_LINK_SENTINEL ? "sentinel"
                                                            : "master",
                      l->state == NGX_TWOSTEP_LINK_SENTINEL
                          ? st->addrs[l->idx].text : l->master.text,
                      l->state == NGX_TWOSTEP_LINK_SENTINEL
                          ? st->addrs[l->idx].port : l->master.port,
                      (ngx_msec_t) st->cfg->redis_timeout_ms);
    }

    redisAsyncFree(ac);
}


static void
ngx_twostep_link_post(ngx_twostep_link_t *l)
{
    if (l->store->running) {
        ngx_post_event(&l->next, &ngx_posted_events);
    }
}


/* ---- replies ------------------------------------------------------------------ */

/* [host, port] or nil. Whatever it was, this sentinel's part is over. */
static void
ngx_twostep_sentinel_reply(redisAsyncContext *ac, void *r, void *data)
{
    ngx_twostep_link_t  *l = data;

    if (r == NULL || ac != l->probe) {
        return;             /* going away: ngx_twostep_link_gone follows */
    }

    l->found = ngx_twostep_sentinel_parse(l, r) == NGX_OK;

    redisAsyncFree(ac);     /* once this callback returns */
}


static ngx_int_t
ngx_twostep_sentinel_parse(ngx_twostep_link_t *l, redisReply *reply)
{
    int                   port;
    u_char                buf[16];
    size_t                len;
    const char           *why;
    ngx_twostep_store_t  *st = l->store;

    if (ts_sentinel_parse_addr(reply, (char *) l->master.text,
                               sizeof(l->master.text), &port, &why)
        != TS_OK)
    {
        goto bad;
    }

    /*
     * Only an address will do: a name would need getaddrinfo(), which
     * blocks (sentinels announce addresses unless "resolve-hostnames yes").
     */
    len = ngx_strlen(l->master.text);

    if (ngx_inet_addr((u_char *) l->master.text, len) == INADDR_NONE
#if (NGX_HAVE_INET6)
        && ngx_inet6_addr((u_char *) l->master.text, len, buf) != NGX_OK
#endif
       )
    {
        why = "named a master by host name, not by address";
        goto bad;
    }

    (void) buf;
    l->master.port = port;

    return NGX_OK;

bad:

    if (!l->down_logged) {
        ngx_log_error(NGX_LOG_WARN, st->log, 0,
                      "twostep: redis sentinel %s:%d %s \"%s\"",
                      st->addrs[l->idx].text, st->addrs[l->idx].port, why,
                      st->cfg->redis.master);
    }

    return NGX_ERROR;
}


/* A sentinel may still name a master that has just been demoted. */
static void
ngx_twostep_role_reply(redisAsyncContext *ac, void *r, void *data)
{
    ngx_twostep_link_t  *l = data;
    redisReply          *reply = r;

    if (reply == NULL || ac != l->ac || l->state != NGX_TWOSTEP_LINK_MASTER) {
        return;
    }

    if (ts_sentinel_is_master(reply)) {
        l->confirmed = 1;
        ngx_twostep_link_post(l);
        return;
    }

    if (!l->down_logged) {
        ngx_log_error(NGX_LOG_WARN, l->store->log, 0,
                      "twostep: redis %s:%d named by sentinel %s:%d is not "
                      "a master (failover in progress?)", l->master.text,
                      l->master.port, l->store->addrs[l->idx].text,
                      l->store->addrs[l->idx].port);
    }

    redisAsyncFree(ac);     /* once this callback returns */
}


/* AUTH and SELECT: a refusal makes the connection useless; drop it so the
 * commands behind fail as a store failure instead of a wrong answer. */
static void
ngx_twostep_setup_reply(redisAsyncContext *ac, void *r, void *data)
{
    ngx_twostep_link_t  *l = ac->data;
    redisReply          *reply = r;

    if (reply == NULL || reply->type != REDIS_REPLY_ERROR) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, l->store->log, 0,
                  "twostep: redis refused %s: %s", (char *) data, reply->str);

    redisAsyncFree(ac);     /* once this callback returns */
}
