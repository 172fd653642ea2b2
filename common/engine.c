/* The txn machinery: creation, the run/feed loop, command queueing, reply
 * access, responses and logging. The flows live in flow_*.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csrf.h"
#include "engine_int.h"
#include "groups.h"
#include "ts_err.h"

static void append_trailer(ts_txn *t);

/* ---- creation ------------------------------------------------------- */

static const char *
dup_or_null(ts_arena *a, const char *s)
{
    return s ? ts_arena_strdup(a, s) : NULL;
}

static int
copy_request(ts_txn *t, const ts_request *in)
{
    ts_request *r = &t->req;
    ts_arena *a = &t->arena;

    *r = *in;
    r->user = dup_or_null(a, in->user);
    r->client_ip = dup_or_null(a, in->client_ip ? in->client_ip : "");
    r->method = dup_or_null(a, in->method ? in->method : "GET");
    r->uri = dup_or_null(a, in->uri ? in->uri : "/");
    r->args = dup_or_null(a, in->args);
    r->cookie = dup_or_null(a, in->cookie);
    r->content_type = dup_or_null(a, in->content_type);
    r->user_agent = dup_or_null(a, in->user_agent ? in->user_agent : "");
    r->body = NULL;
    if (in->body && in->body_len <= TS_FORM_MAX_BYTES)
        r->body = ts_arena_strndup(a, in->body, in->body_len);
    else
        r->body_len = 0;
    if (!r->client_ip || !r->method || !r->uri || !r->user_agent)
        return TS_ENOMEM;
    return TS_OK;
}

static ts_txn *
txn_alloc(const ts_config *cfg, ts_log_fn log, void *log_ctx)
{
    ts_txn *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    ts_arena_init(&t->arena);
    ts_buf_init(&t->body);
    ts_buf_init(&t->optext);
    ts_buf_init(&t->opjson);
    t->cfg = cfg;
    t->log = log;
    t->log_ctx = log_ctx;
    return t;
}

ts_txn *
ts_txn_new(const ts_config *cfg, ts_cache *cache, ts_mode mode,
           const ts_request *req, ts_log_fn log, void *log_ctx)
{
    ts_txn *t = txn_alloc(cfg, log, log_ctx);

    if (t == NULL)
        return NULL;
    t->cache = cache;
    t->mode = mode;
    if (copy_request(t, req) != TS_OK) {
        ts_txn_free(t);
        return NULL;
    }
    t->step = mode == TS_MODE_PAGES ? ts_flow_pages : ts_flow_protect;
    /* An edited group file takes effect without a reload: the file is
     * looked at at most once a second; broken contents are refused once
     * and the previous ones stay in force. */
    if (ts_config_groups_refresh(cfg) != TS_OK)
        ts_logf(t, TS_LOG_ERR, "group file %s not reloaded: it could not be "
                "read or parsed; the previous contents stay in force",
                cfg->group_file);
    return t;
}

ts_txn *
ts_txn_new_op(const ts_config *cfg, const ts_op *op, ts_log_fn log,
              void *log_ctx)
{
    ts_txn *t = txn_alloc(cfg, log, log_ctx);
    ts_request req;

    if (t == NULL)
        return NULL;
    memset(&req, 0, sizeof(req));
    req.user = op->user;
    req.client_ip = "-";
    req.now_ms = op->now_ms;
    req.user_agent = "twostepctl";
    if (copy_request(t, &req) != TS_OK) {
        ts_txn_free(t);
        return NULL;
    }
    t->is_op = 1;
    t->op = *op;
    t->op.user = dup_or_null(&t->arena, op->user);
    t->op.arg = dup_or_null(&t->arena, op->arg);
    t->op.actor = dup_or_null(&t->arena, op->actor ? op->actor : "twostepctl");
    t->step = ts_flow_op;
    return t;
}

void
ts_txn_free(ts_txn *t)
{
    if (t == NULL)
        return;
    ts_buf_free(&t->body);
    ts_buf_free(&t->optext);
    ts_buf_free(&t->opjson);
    ts_arena_free(&t->arena);
    free(t->cmds);
    free(t->tcmds);
    free(t);
}

/* ---- the loop ------------------------------------------------------- */

/* A step that has decided may still have queued commands (audit records,
 * counter resets): they are sent as a last batch whose replies, or whose
 * failure, no longer change the decision. */
static int
step_finished(ts_txn *t)
{
    return TS_DONE;
}

int
ts_txn_run(ts_txn *t)
{
    int rc;

    if (t->done)
        return TS_DONE;
    t->ncmds = 0;
    t->ntcmds = 0;
    rc = t->step(t);
    t->trailing = 0;
    append_trailer(t);
    /* The replies belong to the batch just consumed. */
    t->rep = NULL;
    t->nrep = 0;
    t->store_failed = 0;
    if (rc == TS_NEED_STORE && t->ncmds > 0)
        return TS_NEED_STORE;
    if (rc == TS_NEED_STORE) {
        ts_logf(t, TS_LOG_ERR, "internal error: empty store batch");
        ts_resp_message(t, 500, TS_MSG_STORE_DOWN, 0, NULL);
        t->ncmds = 0;
    }
    if (t->ncmds > 0) {
        t->step = step_finished;
        return TS_NEED_STORE;
    }
    t->done = 1;
    return TS_DONE;
}

size_t
ts_txn_ncmds(const ts_txn *t)
{
    return t->ncmds;
}

const ts_cmd *
ts_txn_cmd(const ts_txn *t, size_t i)
{
    return i < t->ncmds ? &t->cmds[i] : NULL;
}

void
ts_txn_feed(ts_txn *t, ts_reply *const *replies, size_t n)
{
    if (n != t->ncmds) {
        ts_txn_store_failed(t, "reply count does not match the batch");
        return;
    }
    /* The array itself is copied: connectors may build it on their stack.
     * The replies must come from ts_txn_reply_new (they live in the txn). */
    t->rep = ts_arena_alloc(&t->arena, (n ? n : 1) * sizeof(ts_reply *));
    if (t->rep == NULL) {
        ts_txn_store_failed(t, "out of memory");
        return;
    }
    memcpy(t->rep, replies, n * sizeof(ts_reply *));
    t->nrep = n;
    t->store_failed = 0;
}

void
ts_txn_store_failed(ts_txn *t, const char *why)
{
    t->rep = NULL;
    t->nrep = 0;
    t->store_failed = 1;
    t->store_down_seen = 1;
    t->store_why = ts_arena_strdup(&t->arena, why ? why : "store failure");
}

const ts_response *
ts_txn_response(const ts_txn *t)
{
    return &t->resp;
}

const ts_op_result *
ts_txn_op_result(const ts_txn *t)
{
    return &t->opres;
}

int
ts_pages_wants_body(const char *method)
{
    return method && strcmp(method, "POST") == 0;
}

/* ---- replies -------------------------------------------------------- */

ts_reply *
ts_txn_reply_new(ts_txn *t, ts_reply_type type)
{
    ts_reply *r = ts_arena_alloc(&t->arena, sizeof(*r));

    if (r)
        r->type = type;
    return r;
}

int
ts_txn_reply_set_str(ts_txn *t, ts_reply *r, const char *s, size_t n)
{
    char *p = ts_arena_strndup(&t->arena, s, n);

    if (p == NULL)
        return TS_ENOMEM;
    r->str = p;
    r->len = n;
    return TS_OK;
}

int
ts_txn_reply_set_elems(ts_txn *t, ts_reply *r, size_t n)
{
    r->elem = ts_arena_alloc(&t->arena, (n ? n : 1) * sizeof(ts_reply *));
    if (r->elem == NULL)
        return TS_ENOMEM;
    r->n = n;
    return TS_OK;
}

static const ts_reply ts_nil_reply = { TS_REPLY_NIL, 0, NULL, 0, NULL, 0 };

const ts_reply *
ts_rep(ts_txn *t, size_t i)
{
    if (i >= t->nrep || t->rep[i] == NULL)
        return &ts_nil_reply;
    return t->rep[i];
}

const ts_reply *
ts_rep_elem(const ts_reply *r, size_t i)
{
    if (r->type != TS_REPLY_ARRAY || i >= r->n || r->elem[i] == NULL)
        return &ts_nil_reply;
    return r->elem[i];
}

int
ts_rep_is_err(const ts_reply *r)
{
    return r->type == TS_REPLY_ERROR;
}

long long
ts_rep_int(const ts_reply *r, long long dflt)
{
    char *end;
    long long v;

    if (r->type == TS_REPLY_INTEGER)
        return r->integer;
    if (r->type == TS_REPLY_STRING && r->len > 0 && r->len < 24) {
        v = strtoll(r->str, &end, 10);
        if (*end == '\0')
            return v;
    }
    return dflt;
}

const char *
ts_rep_str(const ts_reply *r)
{
    if (r->type == TS_REPLY_STRING || r->type == TS_REPLY_STATUS)
        return r->str;
    return NULL;
}

int
ts_batch_has_error(ts_txn *t)
{
    size_t i;

    for (i = 0; i < t->nrep; i++) {
        if (ts_rep_is_err(ts_rep(t, i))) {
            ts_logf(t, TS_LOG_WARN, "store error reply: %.200s",
                    ts_rep(t, i)->str ? ts_rep(t, i)->str : "");
            return 1;
        }
    }
    return 0;
}

/* ---- commands ------------------------------------------------------- */

static ts_cmd *
cmd_slot(ts_cmd **arr, size_t *n, size_t *cap)
{
    if (*n >= TS_MAX_CMDS)
        return NULL;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        ts_cmd *p = realloc(*arr, ncap * sizeof(*p));
        if (p == NULL)
            return NULL;
        *arr = p;
        *cap = ncap;
    }
    return &(*arr)[(*n)++];
}

/* Trailing commands (audit records, counter resets, PUBLISH) go after the
 * flow's own commands, whose replies are then read by their own indexes. */
void
ts_trailer(ts_txn *t, int on)
{
    t->trailing = on;
}

static void
append_trailer(ts_txn *t)
{
    size_t i;
    ts_cmd *c;

    for (i = 0; i < t->ntcmds; i++) {
        c = cmd_slot(&t->cmds, &t->ncmds, &t->cmds_cap);
        if (c)
            *c = t->tcmds[i];
    }
    t->ntcmds = 0;
}

void
ts_cmd_addv(ts_txn *t, int argc, const char **argv)
{
    ts_cmd *c;
    int i;

    c = t->trailing ? cmd_slot(&t->tcmds, &t->ntcmds, &t->tcmds_cap)
                    : cmd_slot(&t->cmds, &t->ncmds, &t->cmds_cap);
    if (c == NULL)
        return;
    c->argc = 0;
    c->argv = ts_arena_alloc(&t->arena, (size_t)argc * sizeof(char *));
    c->argvlen = ts_arena_alloc(&t->arena, (size_t)argc * sizeof(size_t));
    if (c->argv == NULL || c->argvlen == NULL) {
        /* keep the slot (reply indexes stay right) as a harmless PING */
        static const char *ping[] = { "PING" };
        static size_t pinglen[] = { 4 };
        c->argv = ping;
        c->argvlen = pinglen;
        c->argc = 1;
        return;
    }
    /* Copied: callers may pass buffers of their own stack frame, and the
     * batch is sent after the step returns. */
    for (i = 0; i < argc; i++) {
        const char *a = argv[i] ? argv[i] : "";
        c->argvlen[i] = strlen(a);
        c->argv[i] = ts_arena_strndup(&t->arena, a, c->argvlen[i]);
        if (c->argv[i] == NULL) {
            c->argv[i] = "";
            c->argvlen[i] = 0;
        }
    }
    c->argc = argc;
}

void
ts_cmd_add(ts_txn *t, const char *arg0, ...)
{
    const char *argv[64];
    int argc = 0;
    va_list ap;
    const char *s;

    argv[argc++] = arg0;
    va_start(ap, arg0);
    while ((s = va_arg(ap, const char *)) != NULL && argc < 64)
        argv[argc++] = s;
    va_end(ap);
    ts_cmd_addv(t, argc, argv);
}

/* User names go into key names raw (they are binary-safe argv); braces
 * make the user name the Redis Cluster hash tag so a user's keys share a
 * slot and one Lua script may touch them all. */
const char *
ts_rkey(ts_txn *t, const char *user, const char *suffix)
{
    return ts_arena_printf(&t->arena, "%s{%s}:%s", t->cfg->prefix, user,
                           suffix);
}

const char *
ts_rkey_ip(ts_txn *t, const char *ip, const char *suffix)
{
    return ts_arena_printf(&t->arena, "%sip:{%s}:%s", t->cfg->prefix, ip,
                           suffix);
}

const char *
ts_rkey_global(ts_txn *t, const char *suffix)
{
    return ts_arena_printf(&t->arena, "%s%s", t->cfg->prefix, suffix);
}

/* ---- logging and audit ---------------------------------------------- */

void
ts_logf(ts_txn *t, ts_log_level lvl, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (t->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    t->log(t->log_ctx, lvl, msg);
}

/* Log lines must not let a user name forge a line: control bytes and
 * quotes are shown escaped. */
static const char *
log_safe(ts_txn *t, const char *s)
{
    ts_buf b;
    const char *out;
    size_t i;

    if (s == NULL)
        return "-";
    ts_buf_init(&b);
    for (i = 0; s[i] && i < 256; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            ts_buf_printf(&b, "\\x%02x", c);
        else
            ts_buf_putc(&b, (char)c);
    }
    out = ts_arena_strdup(&t->arena, ts_buf_str(&b));
    ts_buf_free(&b);
    return out ? out : "-";
}

void
ts_audit(ts_txn *t, const char *event, const char *user, const char *detail)
{
    const char *actor = t->is_op ? t->op.actor : t->user;
    char ts[24];
    int was;

    ts_logf(t, TS_LOG_AUDIT,
            "twostep audit: event=%s user=\"%s\" ip=%s actor=\"%s\"%s%s%s",
            event, log_safe(t, user), log_safe(t, t->req.client_ip),
            log_safe(t, actor), detail ? " detail=\"" : "",
            detail ? log_safe(t, detail) : "", detail ? "\"" : "");
    if (t->store_down_seen)
        return;     /* the log line is all we can keep */
    snprintf(ts, sizeof(ts), "%lld", (long long)t->req.now_ms);
    was = t->trailing;
    t->trailing = 1;
    ts_cmd_add(t, "XADD", ts_rkey_global(t, "audit"), "MAXLEN", "~", "10000",
               "*", "time", ts, "event", event, "user", user ? user : "",
               "ip", t->req.client_ip, "actor", actor ? actor : "",
               "detail", detail ? detail : "", NULL);
    t->trailing = was;
}

/* ---- responses ------------------------------------------------------ */

void
ts_resp_header(ts_txn *t, const char *name, const char *value)
{
    ts_response *r = &t->resp;

    if (r->nheaders >= TS_MAX_HEADERS || value == NULL)
        return;
    r->headers[r->nheaders].name = name;
    r->headers[r->nheaders].value = value;
    r->nheaders++;
}

static void
page_headers(ts_txn *t, const char *content_type)
{
    ts_resp_header(t, "Content-Type", content_type);
    ts_resp_header(t, "Cache-Control", "no-store");
    ts_resp_header(t, "Content-Security-Policy", ts_page_csp());
    ts_resp_header(t, "X-Frame-Options", "DENY");
    ts_resp_header(t, "X-Content-Type-Options", "nosniff");
    ts_resp_header(t, "Referrer-Policy", "no-referrer");
}

void
ts_resp_page(ts_txn *t, int status)
{
    t->resp.outcome = TS_RESPOND;
    t->resp.status = status;
    if (t->body.oom) {
        t->resp.status = 500;
        ts_buf_reset(&t->body);
        t->body.oom = 0;
        ts_buf_puts(&t->body, "out of memory\n");
        page_headers(t, "text/plain; charset=utf-8");
    } else {
        page_headers(t, "text/html; charset=utf-8");
    }
    t->resp.body = ts_arena_strndup(&t->arena, ts_buf_str(&t->body),
                                    t->body.len);
    t->resp.body_len = t->resp.body ? t->body.len : 0;
    if (t->resp.status_var == NULL)
        t->resp.status_var = "page";
    t->resp.user_var = t->user;
}

void
ts_resp_redirect(ts_txn *t, const char *location)
{
    t->resp.outcome = TS_RESPOND;
    t->resp.status = 303;
    ts_resp_header(t, "Location", location);
    ts_resp_header(t, "Cache-Control", "no-store");
    t->resp.body = "";
    t->resp.body_len = 0;
    if (t->resp.status_var == NULL)
        t->resp.status_var = "redirect";
    t->resp.user_var = t->user;
}

void
ts_resp_pass(ts_txn *t, const char *status_var)
{
    t->resp.outcome = TS_PASS;
    t->resp.status = 0;
    t->resp.status_var = status_var;
    t->resp.user_var = t->user;
}

void
ts_page_ctx_fill(ts_txn *t, ts_page_ctx *ctx)
{
    char *csrf = ts_arena_alloc(&t->arena, TS_CSRF_MAX + 1);

    memset(ctx, 0, sizeof(*ctx));
    ctx->base = t->cfg->path;
    ctx->issuer = t->cfg->issuer;
    ctx->user = t->user;
    ctx->ret = t->ret ? t->ret : "/";
    if (csrf && t->user &&
        ts_csrf_make(t->cfg->keys, t->user, t->user_len,
                     ts_now_s(t), csrf) == TS_OK)
        ctx->csrf = csrf;
    else
        ctx->csrf = "";
    ctx->is_admin = t->user ? ts_is_admin(t, t->user) : 0;
}

void
ts_resp_message(ts_txn *t, int status, ts_msg_kind kind, int64_t arg,
                const char *detail)
{
    ts_page_ctx ctx;

    ts_page_ctx_fill(t, &ctx);
    ts_buf_reset(&t->body);
    ts_page_message(&t->body, &ctx, kind, arg, detail);
    if (kind == TS_MSG_STORE_DOWN) {
        ts_resp_header(t, "Retry-After", "30");
        t->resp.status_var = "store-down";
    } else if (kind == TS_MSG_LOCKED) {
        ts_resp_header(t, "Retry-After",
                       ts_arena_printf(&t->arena, "%lld",
                                       (long long)(arg > 0 ? arg : 1)));
        t->resp.status_var = "locked";
    } else if (status == 403) {
        t->resp.status_var = "denied";
    }
    ts_resp_page(t, status);
}

const char *
ts_cookie_name(ts_txn *t)
{
    return t->req.https ? "__Host-twostep" : "twostep";
}

void
ts_set_cookie(ts_txn *t, const char *value, int64_t max_age_s)
{
    char age[40] = "";

    if (max_age_s > 0)
        snprintf(age, sizeof(age), "; Max-Age=%lld", (long long)max_age_s);
    ts_resp_header(t, "Set-Cookie",
                   ts_arena_printf(&t->arena,
                                   "%s=%s; Path=/%s; HttpOnly; SameSite=Lax%s",
                                   ts_cookie_name(t), value, age,
                                   t->req.https ? "; Secure" : ""));
}

void
ts_clear_cookie(ts_txn *t)
{
    ts_resp_header(t, "Set-Cookie",
                   ts_arena_printf(&t->arena,
                                   "%s=; Path=/; Max-Age=0; HttpOnly; "
                                   "SameSite=Lax%s", ts_cookie_name(t),
                                   t->req.https ? "; Secure" : ""));
}

int64_t
ts_now_s(ts_txn *t)
{
    return t->req.now_ms / 1000;
}

static int
list_has_star(const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(*list, "*") == 0)
            return 1;
    return 0;
}

int
ts_is_enforced(ts_txn *t, const char *user)
{
    const char *const *list = (const char *const *)t->cfg->enforce_groups;

    if (list == NULL || user == NULL)
        return 0;
    if (list_has_star(list))
        return 1;
    return t->cfg->groups ? ts_groups_member_any(t->cfg->groups, user, list)
                          : 0;
}

int
ts_is_admin(ts_txn *t, const char *user)
{
    const char *const *list = (const char *const *)t->cfg->admin_groups;

    if (list == NULL || user == NULL || t->cfg->groups == NULL)
        return 0;
    return ts_groups_member_any(t->cfg->groups, user, list);
}
