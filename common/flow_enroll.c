/* Enrollment: a pending secret kept 15 minutes (so a reload shows the same
 * QR code), then "Verify and save" with the first code turns 2-step on,
 * generates backup codes and signs the browser in. Re-enrolling while on
 * needs a current code first. */
#include <stdio.h>
#include <string.h>

#include "base32.h"
#include "engine_int.h"
#include "otp.h"
#include "otpauth.h"
#include "qr_svg.h"
#include "seal.h"
#include "ts_err.h"

static size_t
secret_len_for(int alg)
{
    /* RFC 6238's seeds: the hash's output length */
    return alg == TS_ALG_SHA512 ? 64 : alg == TS_ALG_SHA256 ? 32 : 20;
}

/* A fresh random secret, sealed for the user. */
static const char *
new_sealed_secret(ts_txn *t)
{
    uint8_t secret[TS_SECRET_MAX];
    size_t n = secret_len_for(t->cfg->alg);
    ts_buf b;
    const char *out = NULL;

    ts_buf_init(&b);
    if (ts_random(secret, n) == TS_OK &&
        ts_seal(t->cfg->keys, t->user, t->user_len, secret, n, &b) == TS_OK)
        out = ts_arena_strdup(&t->arena, ts_buf_str(&b));
    memset(secret, 0, sizeof(secret));
    ts_buf_free(&b);
    return out;
}

static int
render_enroll(ts_txn *t, int status, const char *error)
{
    ts_otpauth p;
    ts_enroll_view v;
    ts_page_ctx ctx;
    ts_buf uri, svg;
    char b32[TS_SECRET_MAX * 2];
    int rc;

    memset(&p, 0, sizeof(p));
    rc = ts_unseal(t->cfg->keys, t->user, t->user_len, t->pending,
                   strlen(t->pending), p.secret, sizeof(p.secret),
                   &p.secret_len);
    if (rc != TS_OK) {
        ts_logf(t, TS_LOG_ERR, "pending secret of \"%s\" does not open: %s",
                t->user, ts_strerror(rc));
        ts_cmd_add(t, "DEL", ts_rkey(t, t->user, "pending"), NULL);
        ts_resp_message(t, 500, TS_MSG_STORE_DOWN, 0, NULL);
        return TS_DONE;
    }
    snprintf(p.issuer, sizeof(p.issuer), "%s", t->cfg->issuer);
    snprintf(p.account, sizeof(p.account), "%s", t->user);
    p.alg = (ts_alg)t->cfg->alg;
    p.digits = t->cfg->digits;
    p.period = t->cfg->period;
    ts_buf_init(&uri);
    ts_buf_init(&svg);
    ts_otpauth_uri(&p, &uri);
    ts_qr_svg(ts_buf_str(&uri), &svg);
    ts_base32_encode(p.secret, p.secret_len, b32, sizeof(b32));
    memset(&p, 0, sizeof(p));

    memset(&v, 0, sizeof(v));
    v.uri = ts_buf_str(&uri);
    v.qr_svg = ts_buf_str(&svg);
    v.secret_b32 = b32;
    v.alg_name = ts_alg_name((ts_alg)t->cfg->alg);
    v.digits = t->cfg->digits;
    v.period = t->cfg->period;
    v.need_current = t->st.enabled;
    v.enforced = ts_is_enforced(t, t->user);
    ts_page_ctx_fill(t, &ctx);
    ts_buf_reset(&t->body);
    ts_page_enroll(&t->body, &ctx, &v, error);
    memset(b32, 0, sizeof(b32));
    ts_buf_free(&uri);
    ts_buf_free(&svg);
    ts_resp_page(t, status);
    return TS_DONE;
}

/* ---- GET ------------------------------------------------------------ */

static int
enroll_get_read(ts_txn *t)
{
    const char *pending;

    TS_PAGE_STORE_CHECK(t, 0);
    ts_parse_user_state(t, ts_rep(t, 1), &t->st);
    pending = ts_rep_str(ts_rep(t, 3));
    if (pending == NULL)
        return ts_page_code_failed(t, TS_CODE_STORE);
    t->pending = pending;
    return render_enroll(t, t->error ? 403 : 200, t->error);
}

int
ts_enroll_get(ts_txn *t)
{
    const char *sealed = new_sealed_secret(t);

    if (sealed == NULL) {
        ts_logf(t, TS_LOG_ERR, "cannot create a secret (random or seal)");
        ts_resp_message(t, 500, TS_MSG_STORE_DOWN, 0, NULL);
        return TS_DONE;
    }
    t->step = enroll_get_read;
    ts_cmd_marker(t);                       /* 0 */
    ts_cmd_user_state(t, t->user);          /* 1 */
    ts_cmd_enroll_pending(t, t->user, sealed); /* 2, 3 */
    return TS_NEED_STORE;
}

/* ---- POST ----------------------------------------------------------- */

static int
enroll_saved(ts_txn *t)
{
    const ts_reply *r = ts_rep(t, 0);
    ts_cookie c;
    ts_buf b;
    ts_page_ctx ctx;
    int64_t now = ts_now_s(t);

    if (t->store_failed || ts_rep_is_err(r))
        return ts_page_code_failed(t, TS_CODE_STORE);
    if (ts_rep_int(ts_rep_elem(r, 0), 0) != 1) {
        /* the pending secret expired or was replaced meanwhile */
        ts_resp_redirect(t, ts_arena_printf(&t->arena, "%s/enroll",
                                            t->cfg->path));
        return TS_DONE;
    }
    memset(&c, 0, sizeof(c));
    c.kind = TS_COOKIE_SESSION;
    memcpy(c.user, t->user, t->user_len);
    c.user_len = t->user_len;
    c.issued = now;
    c.expires = now + t->cfg->session_ms / 1000;
    c.epoch = (uint64_t)ts_rep_int(ts_rep_elem(r, 1), 0);
    ts_buf_init(&b);
    if (ts_ip_binding(&(ts_bindip){ TS_BIND_EXACT, 0, 0 }, t->req.client_ip,
                      c.bind, sizeof(c.bind)) == TS_OK &&
        ts_cookie_encode(t->cfg->keys, &c, &b) == TS_OK)
        ts_set_cookie(t, ts_arena_strdup(&t->arena, ts_buf_str(&b)), 0);
    ts_buf_free(&b);
    ts_page_ctx_fill(t, &ctx);
    ts_buf_reset(&t->body);
    ts_page_backup_codes(&t->body, &ctx, t->codes, 1);
    ts_resp_page(t, 200);
    return TS_DONE;
}

/* Batch: marker, attempts, pending. Check the first code of the new app. */
static int
enroll_check_new(ts_txn *t)
{
    uint8_t secret[TS_SECRET_MAX];
    size_t slen = 0;
    const char *code = ts_form_value(t, "code");
    char buf[16];
    size_t i, n = 0;
    int rc;

    TS_PAGE_STORE_CHECK(t, 0);
    if (ts_attempts_locked(t, 1))
        return ts_page_code_failed(t, TS_CODE_LOCKED);
    t->pending = ts_rep_str(ts_rep(t, 3));
    if (t->pending == NULL) {
        ts_resp_redirect(t, ts_arena_printf(&t->arena, "%s/enroll",
                                            t->cfg->path));
        return TS_DONE;
    }
    for (i = 0; code && code[i] && n < sizeof(buf) - 1; i++)
        if (code[i] != ' ')
            buf[n++] = code[i];
    buf[n] = '\0';
    rc = ts_unseal(t->cfg->keys, t->user, t->user_len, t->pending,
                   strlen(t->pending), secret, sizeof(secret), &slen);
    if (rc == TS_OK)
        rc = ts_totp_verify(secret, slen, (ts_alg)t->cfg->alg,
                            t->cfg->digits, t->cfg->period, ts_now_s(t),
                            t->cfg->skew, buf, n, &t->matched_step);
    memset(secret, 0, sizeof(secret));
    if (rc != TS_OK) {
        if (ts_code_count_failure(t, "enroll-code-wrong"))
            return ts_page_code_failed(t, TS_CODE_LOCKED);
        return render_enroll(t, 403, "That code didn't match. Make sure you "
                             "scanned this page's QR code, then type the "
                             "newest code your app shows.");
    }
    t->codes = ts_arena_alloc(&t->arena, sizeof(char[TS_BACKUP_COUNT]
                                                     [TS_BACKUP_SHOWN]));
    if (t->codes == NULL || ts_backup_generate(t->codes) != TS_OK)
        return ts_page_code_failed(t, TS_CODE_STORE);
    ts_cmd_enroll_save(t, t->user, t->pending, t->cfg->alg, t->cfg->digits,
                       t->cfg->period, t->matched_step, t->codes);
    ts_cmd_attempts_success(t);
    ts_cmd_publish(t, t->user);
    ts_audit(t, t->st.enabled ? "re-enrolled" : "enrolled", t->user, NULL);
    t->step = enroll_saved;
    return TS_NEED_STORE;
}

static int
enroll_new_begin(ts_txn *t)
{
    t->step = enroll_check_new;
    ts_cmd_marker(t);                                   /* 0 */
    ts_cmd_attempts(t);                                 /* 1, 2 */
    ts_cmd_add(t, "GET", ts_rkey(t, t->user, "pending"), NULL); /* 3 */
    return TS_NEED_STORE;
}

static int
enroll_current_failed(ts_txn *t, int why)
{
    if (why == TS_CODE_WRONG) {
        /* show the same pending secret again, with the message */
        t->step = enroll_get_read;
        t->error = "The code from your current app (or the backup code) "
                   "didn't work. Both codes are needed to move 2-step to a "
                   "new app.";
        return ts_enroll_get(t);
    }
    return ts_page_code_failed(t, why);
}

static int
enroll_post_read(ts_txn *t)
{
    TS_PAGE_STORE_CHECK(t, 0);
    ts_parse_user_state(t, ts_rep(t, 1), &t->st);
    if (t->st.enabled)
        return ts_code_begin(t, ts_form_value(t, "current"), enroll_new_begin,
                             enroll_current_failed);
    return enroll_new_begin(t);
}

int
ts_enroll_post(ts_txn *t)
{
    t->step = enroll_post_read;
    ts_cmd_marker(t);
    ts_cmd_user_state(t, t->user);
    return TS_NEED_STORE;
}
