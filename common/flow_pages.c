/* The pages: routing, CSRF, and the verify page. Enrollment, account and
 * admin pages live in flow_enroll.c, flow_account.c, flow_admin.c. */
#include <stdio.h>
#include <string.h>

#include "cookie.h"
#include "csrf.h"
#include "engine_int.h"
#include "retpath.h"
#include "ts_err.h"

const char *
ts_form_value(ts_txn *t, const char *name)
{
    const ts_field *f = t->form_ok ? ts_form_get(t->form, name) : NULL;

    return f ? f->value : NULL;
}

/* ---- failures every code-checking page answers the same way --------- */

int
ts_page_code_failed(ts_txn *t, int why)
{
    switch (why) {
    case TS_CODE_LOCKED:
        ts_resp_message(t, 429, TS_MSG_LOCKED, (t->lock_left_ms + 999) / 1000,
                        NULL);
        return TS_DONE;
    case TS_CODE_NOMARKER:
        ts_logf(t, TS_LOG_ERR, "the store marker %smarker is missing: run "
                "`twostepctl init`; if it was there, Redis lost its data",
                t->cfg->prefix);
        /* fall through */
    case TS_CODE_STORE:
        if (why == TS_CODE_STORE)
            ts_logf(t, TS_LOG_WARN, "store unavailable: %s",
                    t->store_why ? t->store_why : "error reply");
        ts_resp_message(t, 503, TS_MSG_STORE_DOWN, 0, NULL);
        return TS_DONE;
    case TS_CODE_OFF:
        ts_resp_redirect(t, ts_arena_printf(&t->arena, "%s/", t->cfg->path));
        return TS_DONE;
    default:
        return TS_DONE;
    }
}

int
ts_page_store_failed(ts_txn *t, int marker_at)
{
    if (t->store_failed || ts_batch_has_error(t))
        return ts_page_code_failed(t, TS_CODE_STORE);
    if (marker_at >= 0 && !ts_marker_ok(ts_rep(t, (size_t)marker_at)))
        return ts_page_code_failed(t, TS_CODE_NOMARKER);
    return -1;
}

static const char *
wrong_code_message(ts_txn *t)
{
    long long left = t->cfg->max_user.max - t->attempt_n;

    if (left <= 0 || left > 3)
        return "That code didn't work. Check that the time on your phone is "
               "right and type the newest code, or use a backup code.";
    return ts_arena_printf(&t->arena, "That code didn't work. Check that the "
               "time on your phone is right and type the newest code, or use "
               "a backup code. %lld more %s before a pause.", left,
               left == 1 ? "try" : "tries");
}

/* ---- verify --------------------------------------------------------- */

static void
render_verify(ts_txn *t, int status, const char *error)
{
    ts_page_ctx ctx;

    ts_page_ctx_fill(t, &ctx);
    ts_buf_reset(&t->body);
    ts_page_verify(&t->body, &ctx, t->cfg->trust_ms / 86400000, error);
    ts_resp_page(t, status);
}

static int
verify_get_read(ts_txn *t)
{
    TS_PAGE_STORE_CHECK(t, 0);
    ts_parse_user_state(t, ts_rep(t, 1), &t->st);
    if (!t->st.enabled) {
        if (ts_is_enforced(t, t->user))
            ts_resp_redirect(t, ts_arena_printf(&t->arena, "%s/enroll?r=%s",
                             t->cfg->path, t->ret));
        else
            ts_resp_redirect(t, ts_arena_printf(&t->arena, "%s/",
                                                t->cfg->path));
        return TS_DONE;
    }
    render_verify(t, 200, NULL);
    return TS_DONE;
}

static int
verify_get(ts_txn *t)
{
    t->step = verify_get_read;
    ts_cmd_marker(t);
    ts_cmd_user_state(t, t->user);
    return TS_NEED_STORE;
}

static int
verify_ok(ts_txn *t)
{
    ts_cookie c;
    ts_buf b;
    int64_t now = ts_now_s(t);
    int trusted = t->trust && t->device[0];
    int64_t life = (trusted ? t->cfg->trust_ms : t->cfg->session_ms) / 1000;

    memset(&c, 0, sizeof(c));
    c.kind = trusted ? TS_COOKIE_DEVICE : TS_COOKIE_SESSION;
    memcpy(c.user, t->user, t->user_len);
    c.user_len = t->user_len;
    if (trusted)
        memcpy(c.device, t->device, sizeof(c.device));
    c.issued = now;
    c.expires = now + life;
    c.epoch = t->st.epoch;
    ts_buf_init(&b);
    if (ts_ip_binding(&(ts_bindip){ TS_BIND_EXACT, 0, 0 }, t->req.client_ip,
                      c.bind, sizeof(c.bind)) != TS_OK ||
        ts_cookie_encode(t->cfg->keys, &c, &b) != TS_OK) {
        ts_buf_free(&b);
        ts_logf(t, TS_LOG_ERR, "cannot issue a cookie for client address %s",
                t->req.client_ip);
        ts_resp_message(t, 400, TS_MSG_BAD_REQUEST, 0, NULL);
        return TS_DONE;
    }
    ts_set_cookie(t, ts_arena_strdup(&t->arena, ts_buf_str(&b)),
                  trusted ? life : 0);
    ts_buf_free(&b);
    if (trusted)            /* other processes must learn the new device */
        ts_cmd_publish(t, t->user);
    ts_resp_redirect(t, t->ret);
    t->resp.status_var = trusted ? "trusted" : "verified";
    return TS_DONE;
}

static int
verify_fail(ts_txn *t, int why)
{
    if (why == TS_CODE_WRONG) {
        render_verify(t, 403, wrong_code_message(t));
        return TS_DONE;
    }
    return ts_page_code_failed(t, why);
}

static int
verify_post(ts_txn *t)
{
    const char *trust = ts_form_value(t, "trust");

    t->trust = trust && strcmp(trust, "1") == 0 && t->cfg->trust_ms > 0;
    if (t->trust && ts_device_id_new(t->device) != TS_OK)
        t->trust = 0;
    return ts_code_begin(t, ts_form_value(t, "code"), verify_ok, verify_fail);
}

/* ---- routing -------------------------------------------------------- */

static int
route(ts_txn *t, int post)
{
    const char *p = t->page;

    if (!post) {
        if (strcmp(p, "") == 0 || strcmp(p, "/") == 0)
            return ts_account_get(t);
        if (strcmp(p, "/verify") == 0)
            return verify_get(t);
        if (strcmp(p, "/enroll") == 0)
            return ts_enroll_get(t);
        if (strcmp(p, "/admin") == 0 || strcmp(p, "/admin/") == 0)
            return ts_admin_get(t);
    } else {
        if (strcmp(p, "/verify") == 0)
            return verify_post(t);
        if (strcmp(p, "/enroll") == 0)
            return ts_enroll_post(t);
        if (strcmp(p, "/disable") == 0)
            return ts_disable_post(t);
        if (strcmp(p, "/backup-codes") == 0)
            return ts_backup_codes_post(t);
        if (strcmp(p, "/backup-codes/download") == 0)
            return ts_backup_download_post(t);
        if (strcmp(p, "/devices/revoke") == 0)
            return ts_devices_revoke_post(t);
        if (strcmp(p, "/signout") == 0)
            return ts_signout_post(t);
        if (strncmp(p, "/admin/", 7) == 0)
            return ts_admin_post(t, p + 7);
    }
    ts_resp_message(t, 404, TS_MSG_NOT_FOUND, 0, NULL);
    return TS_DONE;
}

static int
parse_input(ts_txn *t, int post)
{
    const char *src = post ? t->req.body : t->req.args;
    size_t n = post ? t->req.body_len : (src ? strlen(src) : 0);
    const ts_field *r;
    int rc;

    if (post && t->req.content_type &&
        strncasecmp(t->req.content_type, "application/x-www-form-urlencoded",
                    33) != 0)
        return TS_EINVAL;
    t->form = ts_arena_alloc(&t->arena, sizeof(*t->form));
    if (t->form == NULL)
        return TS_ENOMEM;
    rc = ts_form_parse(src ? src : "", n, &t->arena, t->form);
    t->form_ok = rc == TS_OK;
    r = t->form_ok ? ts_form_get(t->form, "r") : NULL;
    t->ret = r ? ts_return_path(r->value, r->value_len) : "/";
    if (r && !ts_return_path_ok(r->value, r->value_len))
        ts_logf(t, TS_LOG_WARN, "return path refused, using /");
    return rc;
}

int
ts_flow_pages(ts_txn *t)
{
    size_t plen = strlen(t->cfg->path);
    int post = strcmp(t->req.method, "POST") == 0;
    const char *csrf;

    t->user = t->req.user && t->req.user[0] ? t->req.user : NULL;
    t->user_len = t->user ? strlen(t->user) : 0;
    t->ret = "/";
    if (t->user == NULL || t->user_len > TS_USER_MAX) {
        ts_logf(t, TS_LOG_ERR, "twostep pages need a first-factor login "
                "(auth_basic, AuthType ...) on their location");
        t->user = NULL;
        ts_resp_message(t, 403, TS_MSG_NOT_ALLOWED, 0,
                        "These pages need a login first.");
        return TS_DONE;
    }
    if (strncmp(t->req.uri, t->cfg->path, plen) != 0 ||
        (t->req.uri[plen] != '\0' && t->req.uri[plen] != '/')) {
        ts_logf(t, TS_LOG_WARN, "page %s is outside twostep_path %s",
                t->req.uri, t->cfg->path);
        ts_resp_message(t, 404, TS_MSG_NOT_FOUND, 0, NULL);
        return TS_DONE;
    }
    t->page = t->req.uri + plen;
    if (!post && strcmp(t->req.method, "GET") != 0 &&
        strcmp(t->req.method, "HEAD") != 0) {
        ts_resp_message(t, 405, TS_MSG_BAD_REQUEST, 0, NULL);
        ts_resp_header(t, "Allow", "GET, HEAD, POST");
        return TS_DONE;
    }
    if (parse_input(t, post) != TS_OK && post) {
        ts_resp_message(t, 400, TS_MSG_BAD_REQUEST, 0,
                        "The form could not be read.");
        return TS_DONE;
    }
    if (post) {
        csrf = ts_form_value(t, "csrf");
        if (csrf == NULL ||
            ts_csrf_check(t->cfg->keys, t->user, t->user_len, ts_now_s(t),
                          csrf, strlen(csrf)) != TS_OK) {
            ts_logf(t, TS_LOG_WARN, "form token missing, stale or forged on "
                    "POST %s by \"%s\"", t->req.uri, t->user);
            ts_resp_message(t, 400, TS_MSG_BAD_REQUEST, 0, NULL);
            return TS_DONE;
        }
    }
    return route(t, post);
}
