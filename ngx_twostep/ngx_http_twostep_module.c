/*
 * twostep for nginx: two-step verification (TOTP) in front of locations.
 *
 * The decisions are the core's (common/twostep.h); this module is the glue:
 *   - directives are parsed by ts_config_set, merged by ts_config_merge and
 *     finished (keys loaded) at configuration time, so `nginx -t` reports
 *     every error;
 *   - "twostep on" adds an access-phase handler that runs after the other
 *     access handlers (auth_basic first: it gives the user);
 *   - "twostep_pages" makes the location's content handler serve the pages;
 *   - store commands go to Redis through ngx_twostep_redis.c without ever
 *     blocking the worker: the handler returns NGX_AGAIN (access phase) or
 *     NGX_DONE (content phase) and the request resumes from a posted event
 *     when the replies are in or the timer of twostep_redis_timeout fires.
 *
 * A request that goes away while a reply is pending (client abort) frees its
 * transaction in a pool cleanup, which also detaches it from the batch: the
 * late replies are dropped.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "form.h"
#include "twostep.h"
#include "ngx_twostep_redis.h"


#define NGX_HTTP_TWOSTEP_MAX_ARGS  64


typedef struct {
    ngx_array_t                  stores;    /* ngx_twostep_store_t * */
} ngx_http_twostep_main_conf_t;


typedef struct {
    ts_config                    cfg;
    ngx_http_complex_value_t    *user;      /* twostep_user; NULL: $remote_user */
    ngx_twostep_store_t         *store;     /* when on or pages */
} ngx_http_twostep_loc_conf_t;


typedef struct {
    ngx_http_request_t          *request;
    ngx_http_twostep_loc_conf_t *conf;
    ts_txn                      *txn;
    ngx_twostep_batch_t         *batch;     /* the pending pipeline */
    ngx_event_t                  timeout;   /* twostep_redis_timeout */
    ngx_event_t                  resume;    /* posted when replies are in */
    ngx_str_t                    status;    /* $twostep_status */
    ngx_str_t                    user;      /* $twostep_user */
    unsigned                     pages:1;
    unsigned                     waiting:1;
    unsigned                     passed:1;
} ngx_http_twostep_ctx_t;


static ngx_int_t ngx_http_twostep_access_run(ngx_http_request_t *r,
    ngx_http_twostep_ctx_t *ctx);
static ngx_int_t ngx_http_twostep_pages_handler(ngx_http_request_t *r);
static void ngx_http_twostep_pages_body(ngx_http_request_t *r);
static void ngx_http_twostep_pages_start(ngx_http_request_t *r,
    const char *body, size_t len);
static void ngx_http_twostep_pages_run(ngx_http_request_t *r,
    ngx_http_twostep_ctx_t *ctx);
static ngx_int_t ngx_http_twostep_step(ngx_http_request_t *r,
    ngx_http_twostep_ctx_t *ctx);
static void ngx_http_twostep_batch_done(void *data);
static void ngx_http_twostep_resume_handler(ngx_event_t *ev);
static void ngx_http_twostep_timeout_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_twostep_access_late(ngx_http_request_t *r);
static ngx_int_t ngx_http_twostep_access_early(ngx_http_request_t *r);
static ngx_int_t ngx_http_twostep_access(ngx_http_request_t *r,
    ngx_int_t early);
static ngx_int_t ngx_http_twostep_has_user(ngx_http_request_t *r,
    ngx_http_twostep_loc_conf_t *lcf);
static void ngx_http_twostep_continue(ngx_http_request_t *r,
    ngx_http_twostep_ctx_t *ctx);
static ngx_http_twostep_ctx_t *ngx_http_twostep_create_ctx(
    ngx_http_request_t *r, ngx_http_twostep_loc_conf_t *lcf, ts_mode mode,
    const char *body, size_t body_len);
static ngx_http_twostep_ctx_t *ngx_http_twostep_get_ctx(
    ngx_http_request_t *r);
static void ngx_http_twostep_cleanup(void *data);
static ngx_int_t ngx_http_twostep_fill_request(ngx_http_request_t *r,
    ngx_http_twostep_loc_conf_t *lcf, ts_request *req);
static void ngx_http_twostep_remember(ngx_http_request_t *r,
    ngx_http_twostep_ctx_t *ctx, const ts_response *resp);
static ngx_int_t ngx_http_twostep_set_headers(ngx_http_request_t *r,
    const ts_response *resp);
static ngx_int_t ngx_http_twostep_send(ngx_http_request_t *r,
    const ts_response *resp);
static void ngx_http_twostep_log(void *data, ts_log_level level,
    const char *msg);
static void ngx_http_twostep_keep(ngx_pool_t *pool, ngx_str_t *dst,
    const char *src);
static char *ngx_http_twostep_cstr(ngx_pool_t *pool, ngx_str_t *s);

static ngx_int_t ngx_http_twostep_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_twostep_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_twostep_init(ngx_conf_t *cf);
static void *ngx_http_twostep_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_twostep_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_twostep_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_twostep_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_twostep_pages(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_twostep_store_t *ngx_http_twostep_store(ngx_conf_t *cf,
    const ts_config *cfg);
static ngx_int_t ngx_http_twostep_init_process(ngx_cycle_t *cycle);
static void ngx_http_twostep_exit_process(ngx_cycle_t *cycle);


#define NGX_HTTP_TWOSTEP_CONF                                                 \
    (NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF)

static ngx_command_t  ngx_http_twostep_commands[] = {

    { ngx_string("twostep"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_pages"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_twostep_pages, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_path"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_redis"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_redis_timeout"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_key_file"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_issuer"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_digits"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_period"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_algorithm"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_skew"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_trust_duration"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_session_lifetime"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_bind_ip"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE13,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_group_file"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_enforce_groups"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_1MORE,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_admin_groups"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_1MORE,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_max_attempts"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE3,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_max_attempts_per_ip"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE3,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_store_down"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_key_prefix"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_twostep_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },

    { ngx_string("twostep_user"),
      NGX_HTTP_TWOSTEP_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_twostep_loc_conf_t, user),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_twostep_module_ctx = {
    ngx_http_twostep_add_variables,        /* preconfiguration */
    ngx_http_twostep_init,                 /* postconfiguration */

    ngx_http_twostep_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_twostep_create_loc_conf,      /* create location configuration */
    ngx_http_twostep_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_twostep_module = {
    NGX_MODULE_V1,
    &ngx_http_twostep_module_ctx,          /* module context */
    ngx_http_twostep_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_twostep_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_twostep_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_variable_t  ngx_http_twostep_vars[] = {

    { ngx_string("twostep_status"), NULL, ngx_http_twostep_variable,
      offsetof(ngx_http_twostep_ctx_t, status), NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("twostep_user"), NULL, ngx_http_twostep_variable,
      offsetof(ngx_http_twostep_ctx_t, user), NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* ---- protected locations: the access phase ------------------------------ */

/* "satisfy all": runs after every other access module (auth_basic has
 * checked the password). "satisfy any": nginx stops at the first module that
 * grants, so a login granted by auth_basic would skip us; there we run
 * before the others instead, never grant (a pass is NGX_DECLINED), and the
 * password is still checked after us. */
static ngx_int_t
ngx_http_twostep_access_late(ngx_http_request_t *r)
{
    return ngx_http_twostep_access(r, 0);
}


static ngx_int_t
ngx_http_twostep_access_early(ngx_http_request_t *r)
{
    return ngx_http_twostep_access(r, 1);
}


/* A first-factor user name was sent (not yet checked under satisfy any). */
static ngx_int_t
ngx_http_twostep_has_user(ngx_http_request_t *r,
    ngx_http_twostep_loc_conf_t *lcf)
{
    ngx_str_t  user;

    if (lcf->user != NULL) {
        return ngx_http_complex_value(r, lcf->user, &user) == NGX_OK
               && user.len > 0;
    }

    return ngx_http_auth_basic_user(r) == NGX_OK
           && r->headers_in.user.len > 0;
}


static ngx_int_t
ngx_http_twostep_access(ngx_http_request_t *r, ngx_int_t early)
{
    ngx_http_twostep_ctx_t       *ctx;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_twostep_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_twostep_module);

    if (!lcf->cfg.on) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_twostep_get_ctx(r);

    if (ctx != NULL && !ctx->pages) {

        if (ctx->passed) {
            /* an internal redirect (index, try_files, error_page) of a
             * request already let through: decided once */
            return NGX_DECLINED;
        }

        if (ctx->waiting) {
            return NGX_AGAIN;
        }

        if (ctx->txn != NULL) {
            /* resumed after the replies came */
            return ngx_http_twostep_access_run(r, ctx);
        }
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if ((clcf->satisfy == NGX_HTTP_SATISFY_ANY) != (ngx_uint_t) early) {
        /* each "satisfy" mode has its own place in the phase: see
         * ngx_http_twostep_init */
        return NGX_DECLINED;
    }

    if (early && !ngx_http_twostep_has_user(r, lcf)) {
        /* "satisfy any" without a login: nothing to add a second step to;
         * the other access modules (allow, ...) decide alone */
        return NGX_DECLINED;
    }

    ctx = ngx_http_twostep_create_ctx(r, lcf, TS_MODE_PROTECT, NULL, 0);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_twostep_access_run(r, ctx);
}


static ngx_int_t
ngx_http_twostep_access_run(ngx_http_request_t *r, ngx_http_twostep_ctx_t *ctx)
{
    ngx_int_t           rc;
    const ts_response  *resp;

    if (ngx_http_twostep_step(r, ctx) == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    resp = ts_txn_response(ctx->txn);
    ngx_http_twostep_remember(r, ctx, resp);

    if (resp->outcome == TS_PASS) {
        ctx->passed = 1;

        if (ngx_http_twostep_set_headers(r, resp) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* NGX_DECLINED, not NGX_OK: under "satisfy any" our pass must not
         * grant access that an earlier handler refused */
        return NGX_DECLINED;
    }

    /* our own response (303, 403/503 pages): sent here so that nginx's
     * error pages do not replace the body */
    rc = ngx_http_twostep_send(r, resp);
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


/* ---- the pages: a content handler --------------------------------------- */

static ngx_int_t
ngx_http_twostep_pages_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    char       method[16];

    if (r->method_name.len >= sizeof(method)) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    ngx_memcpy(method, r->method_name.data, r->method_name.len);
    method[r->method_name.len] = '\0';

    if (ts_pages_wants_body(method)) {
        r->request_body_in_single_buf = 1;

        rc = ngx_http_read_client_request_body(r, ngx_http_twostep_pages_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* held until ngx_http_twostep_pages_run finalizes */
    r->main->count++;
    ngx_http_twostep_pages_start(r, NULL, 0);

    return NGX_DONE;
}


/* The form body is small: anything nginx had to spill to a temporary file
 * (past client_body_buffer_size) is refused rather than read from disk. */
static void
ngx_http_twostep_pages_body(ngx_http_request_t *r)
{
    u_char       *body, *p;
    size_t        len;
    ngx_chain_t  *cl;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        ngx_http_twostep_pages_start(r, "", 0);
        return;
    }

    if (r->request_body->temp_file) {
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return;
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            ngx_http_finalize_request(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
            return;
        }
        len += cl->buf->last - cl->buf->pos;
    }

    if (len > TS_FORM_MAX_BYTES) {      /* the core's limit, as in Apache */
        ngx_http_finalize_request(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
        return;
    }

    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = body;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->last > cl->buf->pos) {   /* empty buffers have no pos */
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        }
    }
    *p = '\0';

    ngx_http_twostep_pages_start(r, (char *) body, len);
}


static void
ngx_http_twostep_pages_start(ngx_http_request_t *r, const char *body,
    size_t len)
{
    ngx_http_twostep_ctx_t       *ctx;
    ngx_http_twostep_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_twostep_module);

    ctx = ngx_http_twostep_create_ctx(r, lcf, TS_MODE_PAGES, body, len);
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_twostep_pages_run(r, ctx);
}


/* Owns one reference (r->main->count) and finalizes when the txn is done. */
static void
ngx_http_twostep_pages_run(ngx_http_request_t *r, ngx_http_twostep_ctx_t *ctx)
{
    const ts_response  *resp;

    if (ngx_http_twostep_step(r, ctx) == NGX_AGAIN) {
        return;
    }

    resp = ts_txn_response(ctx->txn);
    ngx_http_twostep_remember(r, ctx, resp);

    if (resp->outcome == TS_PASS) {
        /* the core has nothing to say for a page: not found */
        ngx_http_finalize_request(r, NGX_HTTP_NOT_FOUND);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_twostep_send(r, resp));
}


/* ---- running the txn: store round trips ---------------------------------- */

/*
 * Runs the txn until it is done (NGX_OK) or waits for Redis (NGX_AGAIN:
 * the batch is out, the timer set, the request resumes from
 * ngx_http_twostep_resume_handler or ngx_http_twostep_timeout_handler).
 */
static ngx_int_t
ngx_http_twostep_step(ngx_http_request_t *r, ngx_http_twostep_ctx_t *ctx)
{
    ngx_twostep_batch_t  *b;

    while (ts_txn_run(ctx->txn) == TS_NEED_STORE) {

        b = ngx_twostep_batch_send(ctx->conf->store, ctx->txn,
                                   ngx_http_twostep_batch_done, ctx,
                                   r->connection->log);
        if (b == NULL) {
            ts_txn_store_failed(ctx->txn, "cannot send to redis");
            continue;
        }

        ctx->batch = b;
        ctx->waiting = 1;
        ngx_add_timer(&ctx->timeout,
                      (ngx_msec_t) ctx->conf->cfg.redis_timeout_ms);

        /* notice a client that goes away while we wait */
        r->read_event_handler = ngx_http_test_reading;

        return NGX_AGAIN;
    }

    return NGX_OK;
}


/* Inside a hiredis callback: only post the event that carries on. */
static void
ngx_http_twostep_batch_done(void *data)
{
    ngx_http_twostep_ctx_t  *ctx = data;

    if (ctx->timeout.timer_set) {
        ngx_del_timer(&ctx->timeout);
    }

    ngx_post_event(&ctx->resume, &ngx_posted_events);
}


static void
ngx_http_twostep_resume_handler(ngx_event_t *ev)
{
    size_t                   n;
    ts_reply               **replies;
    ngx_http_request_t      *r;
    ngx_twostep_batch_t     *b;
    ngx_http_twostep_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    b = ctx->batch;

    ctx->batch = NULL;
    ctx->waiting = 0;

    if (b->failed) {
        ngx_twostep_batch_release(b);
        ts_txn_store_failed(ctx->txn, "redis connection lost");

    } else {
        /* the reply array dies with the batch; the replies themselves live
         * in the txn */
        n = b->n;
        replies = ngx_palloc(r->pool, n * sizeof(ts_reply *));
        if (replies == NULL) {
            ngx_twostep_batch_release(b);
            ts_txn_store_failed(ctx->txn, "out of memory");

        } else {
            ngx_memcpy(replies, b->replies, n * sizeof(ts_reply *));
            ngx_twostep_batch_release(b);
            ts_txn_feed(ctx->txn, replies, n);
        }
    }

    ngx_http_twostep_continue(r, ctx);
}


static void
ngx_http_twostep_timeout_handler(ngx_event_t *ev)
{
    ngx_http_request_t      *r;
    ngx_twostep_batch_t     *b;
    ngx_http_twostep_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;

    if (ctx->resume.posted || ctx->batch == NULL) {
        return;     /* the replies won the race: the resume event runs */
    }

    if (ctx->batch->queued) {
        /* still waiting for the sentinels to name the master: the walk has
         * a timer per step and always answers the queued batch, so waiting
         * on is bounded and a silent first sentinel costs no 503 */
        ngx_add_timer(&ctx->timeout,
                      (ngx_msec_t) ctx->conf->cfg.redis_timeout_ms);
        return;
    }

    b = ctx->batch;
    ctx->batch = NULL;
    ctx->waiting = 0;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "twostep: redis did not answer within %M ms",
                  (ngx_msec_t) ctx->conf->cfg.redis_timeout_ms);

    ngx_twostep_batch_release(b);

    /* the connection is stuck: drop it (every other batch on it fails now
     * rather than at its own timeout) and connect afresh next time */
    ngx_twostep_store_reset(ctx->conf->store);

    ts_txn_store_failed(ctx->txn, "redis timeout");

    ngx_http_twostep_continue(r, ctx);
}


static void
ngx_http_twostep_continue(ngx_http_request_t *r, ngx_http_twostep_ctx_t *ctx)
{
    ngx_connection_t  *c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->read_event_handler = ngx_http_block_reading;

    if (ctx->pages) {
        ngx_http_twostep_pages_run(r, ctx);

    } else {
        /* back to the access phase, which finds the txn in the ctx */
        ngx_http_core_run_phases(r);
    }

    ngx_http_run_posted_requests(c);
}


/* ---- the request context ------------------------------------------------ */

static ngx_http_twostep_ctx_t *
ngx_http_twostep_create_ctx(ngx_http_request_t *r,
    ngx_http_twostep_loc_conf_t *lcf, ts_mode mode, const char *body,
    size_t body_len)
{
    ts_request               req;
    ngx_pool_cleanup_t      *cln;
    ngx_http_twostep_ctx_t  *ctx;

    if (lcf->store == NULL) {
        return NULL;
    }

    ngx_memzero(&req, sizeof(ts_request));

    if (ngx_http_twostep_fill_request(r, lcf, &req) != NGX_OK) {
        return NULL;
    }

    req.body = body;
    req.body_len = body_len;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_twostep_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    ctx->request = r;
    ctx->conf = lcf;
    ctx->pages = (mode == TS_MODE_PAGES);

    ctx->timeout.handler = ngx_http_twostep_timeout_handler;
    ctx->timeout.data = ctx;
    ctx->timeout.log = r->connection->log;

    ctx->resume.handler = ngx_http_twostep_resume_handler;
    ctx->resume.data = ctx;
    ctx->resume.log = r->connection->log;

    ctx->txn = ts_txn_new(&lcf->cfg, lcf->store->cache, mode, &req,
                          ngx_http_twostep_log, r->connection->log);
    if (ctx->txn == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_twostep_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_twostep_module);

    return ctx;
}


/*
 * The ctx of this request, also after an internal redirect (which clears
 * module contexts): found again through its pool cleanup, as the realip
 * module does.
 */
static ngx_http_twostep_ctx_t *
ngx_http_twostep_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_twostep_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_twostep_module);

    if (ctx != NULL || !(r->internal || r->filter_finalize)) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_twostep_cleanup) {
            ctx = cln->data;
            if (ctx->request != r) {
                return NULL;
            }
            ngx_http_set_ctx(r, ctx, ngx_http_twostep_module);
            return ctx;
        }
    }

    return NULL;
}


/* The request is over (finished, aborted, terminated): nothing may refer to
 * it any more. */
static void
ngx_http_twostep_cleanup(void *data)
{
    ngx_http_twostep_ctx_t  *ctx = data;

    if (ctx->batch != NULL) {
        ngx_twostep_batch_release(ctx->batch);
        ctx->batch = NULL;
    }

    if (ctx->timeout.timer_set) {
        ngx_del_timer(&ctx->timeout);
    }

    if (ctx->resume.posted) {
        ngx_delete_posted_event(&ctx->resume);
    }

    if (ctx->txn != NULL) {
        ts_txn_free(ctx->txn);
        ctx->txn = NULL;
    }
}


static ngx_int_t
ngx_http_twostep_fill_request(ngx_http_request_t *r,
    ngx_http_twostep_loc_conf_t *lcf, ts_request *req)
{
    u_char            *p, *q;
    size_t             len;
    ngx_str_t          user, path;
    ngx_uint_t         i;
    ngx_time_t        *tp;
    ngx_table_elt_t  **cookies;

    ngx_str_null(&user);

    if (lcf->user != NULL) {
        if (ngx_http_complex_value(r, lcf->user, &user) != NGX_OK) {
            return NGX_ERROR;
        }

    } else if (ngx_http_auth_basic_user(r) == NGX_OK) {
        user = r->headers_in.user;
    }

    /* a NUL inside the name would make a C string name someone else */
    if (user.len && ngx_strlchr(user.data, user.data + user.len, '\0')) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "twostep: user name with a NUL byte refused");
        ngx_str_null(&user);
    }

    req->user = ngx_http_twostep_cstr(r->pool, &user);
    req->client_ip = ngx_http_twostep_cstr(r->pool, &r->connection->addr_text);
    req->method = ngx_http_twostep_cstr(r->pool, &r->method_name);

    /* the path as the client sent it, also after an internal redirect */
    path = r->unparsed_uri;
    q = ngx_strlchr(path.data, path.data + path.len, '?');
    if (q != NULL) {
        path.len = q - path.data;
    }
    if (path.len == 0) {
        path = r->uri;
    }
    req->uri = ngx_http_twostep_cstr(r->pool, &path);

    req->args = r->args.len ? ngx_http_twostep_cstr(r->pool, &r->args) : NULL;

    cookies = r->headers_in.cookies.elts;
    len = 0;
    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        len += cookies[i]->value.len + 2;
    }

    if (len) {
        p = ngx_pnalloc(r->pool, len + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }
        req->cookie = (char *) p;
        for (i = 0; i < r->headers_in.cookies.nelts; i++) {
            if (i) {
                *p++ = ';';
                *p++ = ' ';
            }
            p = ngx_cpymem(p, cookies[i]->value.data, cookies[i]->value.len);
        }
        *p = '\0';
    }

    if (r->headers_in.content_type) {
        req->content_type = ngx_http_twostep_cstr(r->pool,
                                          &r->headers_in.content_type->value);
    }

    if (r->headers_in.user_agent) {
        req->user_agent = ngx_http_twostep_cstr(r->pool,
                                            &r->headers_in.user_agent->value);
    }

#if (NGX_HTTP_SSL)
    req->https = (r->connection->ssl != NULL);
#endif

    tp = ngx_timeofday();
    req->now_ms = (int64_t) tp->sec * 1000 + (int64_t) tp->msec;

    if (req->user == NULL || req->client_ip == NULL || req->method == NULL
        || req->uri == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* ---- applying the decision ---------------------------------------------- */

static void
ngx_http_twostep_remember(ngx_http_request_t *r, ngx_http_twostep_ctx_t *ctx,
    const ts_response *resp)
{
    ngx_http_twostep_keep(r->pool, &ctx->status, resp->status_var);
    ngx_http_twostep_keep(r->pool, &ctx->user, resp->user_var);
}


/* A copy in the request pool: the variables outlive the txn's decision. */
static void
ngx_http_twostep_keep(ngx_pool_t *pool, ngx_str_t *dst, const char *src)
{
    size_t   len;
    u_char  *p;

    if (src == NULL) {
        return;
    }

    len = ngx_strlen(src);
    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return;
    }

    ngx_memcpy(p, src, len);
    dst->data = p;
    dst->len = len;
}


/*
 * Every header of the response but the body's: Location through
 * headers_out.location (so absolute_redirect applies), Content-Type through
 * headers_out.content_type, the rest pushed as they are. The strings live in
 * the txn, which lives until the request pool goes.
 */
static ngx_int_t
ngx_http_twostep_set_headers(ngx_http_request_t *r, const ts_response *resp)
{
    size_t            i;
    ngx_table_elt_t  *h;

    for (i = 0; i < resp->nheaders && i < TS_MAX_HEADERS; i++) {

        if (resp->headers[i].name == NULL || resp->headers[i].value == NULL) {
            continue;
        }

        if (ngx_strcasecmp((u_char *) resp->headers[i].name,
                           (u_char *) "Content-Type") == 0)
        {
            r->headers_out.content_type.data =
                                           (u_char *) resp->headers[i].value;
            r->headers_out.content_type.len =
                                           ngx_strlen(resp->headers[i].value);
            r->headers_out.content_type_len =
                                           r->headers_out.content_type.len;
            r->headers_out.content_type_lowcase = NULL;
            continue;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        h->key.data = (u_char *) resp->headers[i].name;
        h->key.len = ngx_strlen(resp->headers[i].name);
        h->value.data = (u_char *) resp->headers[i].value;
        h->value.len = ngx_strlen(resp->headers[i].value);
        h->lowcase_key = NULL;
#if (nginx_version >= 1023000)
        h->next = NULL;
#endif

        if (ngx_strcasecmp(h->key.data, (u_char *) "Location") == 0) {
            if (r->headers_out.location) {
                r->headers_out.location->hash = 0;
            }
            r->headers_out.location = h;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_twostep_send(ngx_http_request_t *r, const ts_response *resp)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* headers set by other modules for the content that is not coming */
    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    r->headers_out.status = resp->status;
    r->headers_out.content_length_n = resp->body ? (off_t) resp->body_len : 0;

    if (ngx_http_twostep_set_headers(r, resp) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (resp->body == NULL || resp->body_len == 0) {
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = (u_char *) resp->body;
    b->last = b->pos + resp->body_len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static void
ngx_http_twostep_log(void *data, ts_log_level level, const char *msg)
{
    ngx_log_t   *log = data;
    ngx_uint_t   lvl;

    switch (level) {
    case TS_LOG_ERR:   lvl = NGX_LOG_ERR;    break;
    case TS_LOG_WARN:  lvl = NGX_LOG_WARN;   break;
    case TS_LOG_AUDIT: lvl = NGX_LOG_NOTICE; break;
    default:           lvl = NGX_LOG_DEBUG;  break;
    }

    ngx_log_error(lvl, log, 0, "twostep: %s", msg);
}


static char *
ngx_http_twostep_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    if (s->len) {
        ngx_memcpy(p, s->data, s->len);
    }
    p[s->len] = '\0';

    return (char *) p;
}


/* ---- variables ------------------------------------------------------------ */

static ngx_int_t
ngx_http_twostep_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t               *s;
    ngx_http_twostep_ctx_t  *ctx;

    ctx = ngx_http_twostep_get_ctx(r);
    if (ctx == NULL && r != r->main) {
        ctx = ngx_http_twostep_get_ctx(r->main);
    }

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = (ngx_str_t *) ((char *) ctx + data);

    if (s->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_twostep_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_twostep_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* ---- configuration ------------------------------------------------------ */

static void *
ngx_http_twostep_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_twostep_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_twostep_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&mcf->stores, cf->pool, 2,
                       sizeof(ngx_twostep_store_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return mcf;
}


static void *
ngx_http_twostep_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_twostep_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_twostep_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->store = NULL;
     */

    ts_config_init(&conf->cfg);
    conf->user = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_twostep_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_twostep_loc_conf_t *prev = parent;
    ngx_http_twostep_loc_conf_t *conf = child;

    char                       err[512];
    char                       server[256];
    ngx_str_t                 *name;
    ngx_http_core_srv_conf_t  *cscf;

    ts_config_merge(&conf->cfg, &prev->cfg);
    ngx_conf_merge_ptr_value(conf->user, prev->user, NULL);

    /* the issuer's default: this server's (first) server_name */
    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    name = cscf ? &cscf->server_name : NULL;

    if (name && name->len > 0 && name->len < sizeof(server)) {
        ngx_memcpy(server, name->data, name->len);
        server[name->len] = '\0';

    } else {
        ngx_cpystrn((u_char *) server, (u_char *) "twostep", sizeof(server));
    }

    err[0] = '\0';

    if (ts_config_finish(&conf->cfg, server, err, sizeof(err)) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s",
                           err[0] ? err : "twostep: invalid configuration");
        return NGX_CONF_ERROR;
    }

    if (conf->cfg.on || conf->cfg.pages) {
        conf->store = ngx_http_twostep_store(cf, &conf->cfg);
        if (conf->store == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* One handler for every directive the core parses: it gets the nginx name
 * and the arguments, and its message is the error nginx shows. */
static char *
ngx_http_twostep_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_twostep_loc_conf_t *lcf = conf;

    char         err[512];
    ngx_str_t   *value;
    ngx_uint_t   i, argc;
    const char  *argv[NGX_HTTP_TWOSTEP_MAX_ARGS];

    value = cf->args->elts;
    argc = cf->args->nelts - 1;

    if (argc > NGX_HTTP_TWOSTEP_MAX_ARGS) {
        return "has too many arguments";
    }

    /* the configuration parser leaves every token NUL-terminated */
    for (i = 0; i < argc; i++) {
        if (ngx_strlen(value[i + 1].data) != value[i + 1].len) {
            return "has an argument with a NUL byte";
        }
        argv[i] = (const char *) value[i + 1].data;
    }

    err[0] = '\0';

    if (ts_config_set(&lcf->cfg, (const char *) value[0].data, (int) argc,
                      argv, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s",
                           err[0] ? err : "invalid value");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_twostep_pages(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (ngx_http_twostep_directive(cf, cmd, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_twostep_pages_handler;

    return NGX_CONF_OK;
}


/* One store per Redis URL and key prefix, shared by the locations naming
 * them: each worker then has one command connection, one cache and one
 * subscriber per store. */
static ngx_twostep_store_t *
ngx_http_twostep_store(ngx_conf_t *cf, const ts_config *cfg)
{
    u_char                         *p;
    ngx_str_t                       name;
    ngx_uint_t                      i;
    const char                     *url, *prefix;
    ngx_twostep_store_t            *st, **stp;
    ngx_http_twostep_main_conf_t   *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_twostep_module);

    url = cfg->redis_text ? cfg->redis_text : "";
    prefix = cfg->prefix ? cfg->prefix : "";

    name.len = ngx_strlen(url) + 1 + ngx_strlen(prefix);
    name.data = ngx_pnalloc(cf->pool, name.len);
    if (name.data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(name.data, url, ngx_strlen(url));
    *p++ = ' ';
    ngx_memcpy(p, prefix, ngx_strlen(prefix));

    stp = mcf->stores.elts;
    for (i = 0; i < mcf->stores.nelts; i++) {
        if (stp[i]->name.len == name.len
            && ngx_memcmp(stp[i]->name.data, name.data, name.len) == 0)
        {
            return stp[i];
        }
    }

    st = ngx_pcalloc(cf->pool, sizeof(ngx_twostep_store_t));
    if (st == NULL) {
        return NULL;
    }

    st->cfg = cfg;
    st->name = name;

    /* host names are looked up now, never by a worker (see there) */
    if (ngx_twostep_store_resolve(cf, st) != NGX_OK) {
        return NULL;
    }

    stp = ngx_array_push(&mcf->stores);
    if (stp == NULL) {
        return NULL;
    }

    *stp = st;

    return st;
}


/*
 * The access handler goes first in the phase's array: the phase engine
 * walks that array from the end, so it runs after every other access
 * handler, auth_basic included, even though a dynamic module is loaded
 * last.
 */
static ngx_int_t
ngx_http_twostep_init(ngx_conf_t *cf)
{
    ngx_uint_t                  n;
    ngx_http_handler_pt        *h, *hs;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /* nginx runs a phase's handlers from the last registered to the first,
     * and a dynamic module registers after the built-in ones. The element
     * pushed last runs first ("satisfy any", before auth_basic and access);
     * the one moved to the front runs last ("satisfy all", after them). */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    hs = cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers.elts;
    n = cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers.nelts;

    ngx_memmove(&hs[1], &hs[0], (n - 1) * sizeof(ngx_http_handler_pt));
    hs[0] = ngx_http_twostep_access_late;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_twostep_access_early;

    return NGX_OK;
}


static ngx_int_t
ngx_http_twostep_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_twostep_store_t           **stp;
    ngx_http_twostep_main_conf_t   *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_twostep_module);
    if (mcf == NULL) {
        return NGX_OK;
    }

    stp = mcf->stores.elts;
    for (i = 0; i < mcf->stores.nelts; i++) {
        if (ngx_twostep_store_start(stp[i], cycle) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_twostep_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                      i;
    ngx_twostep_store_t           **stp;
    ngx_http_twostep_main_conf_t   *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_twostep_module);
    if (mcf == NULL) {
        return;
    }

    stp = mcf->stores.elts;
    for (i = 0; i < mcf->stores.nelts; i++) {
        ngx_twostep_store_stop(stp[i]);
    }
}
