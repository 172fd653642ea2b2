/* The account page and what it posts: disable, new backup codes, the
 * download of backup codes, revoking devices, signing out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "ts_err.h"

/* ---- the account page ----------------------------------------------- */

/* "created|last_seen|ip|user-agent" */
static void
parse_device(ts_txn *t, const char *id, const char *rec, ts_device_view *d)
{
    char *copy = ts_arena_strdup(&t->arena, rec ? rec : "");
    char *f[4] = { NULL, NULL, NULL, NULL };
    char *p = copy;
    int i;

    for (i = 0; i < 3 && p; i++) {
        f[i] = p;
        p = strchr(p, '|');
        if (p)
            *p++ = '\0';
    }
    f[3] = p;
    d->id = id;
    d->created = f[0] ? strtoll(f[0], NULL, 10) : 0;
    d->last_seen = f[1] ? strtoll(f[1], NULL, 10) : 0;
    d->ip = f[2] ? f[2] : "";
    d->user_agent = f[3] ? f[3] : "";
    d->current = t->cookie_ok && t->cookie.kind == TS_COOKIE_DEVICE &&
                 strcmp(t->cookie.device, id) == 0;
}

static int
account_read(ts_txn *t)
{
    const ts_reply *devs;
    ts_device_view *dv;
    ts_account_view v;
    ts_page_ctx ctx;
    size_t i, n = 0;

    TS_PAGE_STORE_CHECK(t, 0);
    ts_parse_user_state(t, ts_rep(t, 1), &t->st);
    devs = ts_rep(t, 2);
    ts_read_cookie(t);
    /* With 2-step on, the account (devices, addresses, the buttons) is
     * shown only to a browser that passed the second step. */
    if (t->st.enabled && !ts_verified_here(t, devs, 1))
        return ts_gate_refuse(t, "/");
    dv = ts_arena_alloc(&t->arena, (devs->n / 2 + 1) * sizeof(*dv));
    if (dv == NULL)
        return ts_page_code_failed(t, TS_CODE_STORE);
    for (i = 0; i + 1 < devs->n; i += 2) {
        const char *id = ts_rep_str(ts_rep_elem(devs, i));
        if (id)
            parse_device(t, id, ts_rep_str(ts_rep_elem(devs, i + 1)), &dv[n++]);
    }
    memset(&v, 0, sizeof(v));
    v.enabled = t->st.enabled;
    v.enforced = ts_is_enforced(t, t->user);
    v.enabled_since = t->st.since;
    v.backup_left = (int)ts_rep_int(ts_rep(t, 3), 0);
    v.devices = dv;
    v.ndevices = n;
    v.notice = t->notice;
    v.error = t->account_error;
    ts_page_ctx_fill(t, &ctx);
    ts_buf_reset(&t->body);
    ts_page_account(&t->body, &ctx, &v);
    ts_resp_page(t, t->render_status ? t->render_status : 200);
    return TS_DONE;
}

int
ts_account_render_begin(ts_txn *t, int status, const char *error)
{
    t->render_status = status;
    t->account_error = error;
    t->step = account_read;
    ts_cmd_marker(t);                                          /* 0 */
    ts_cmd_user_state(t, t->user);                             /* 1 */
    ts_cmd_add(t, "HGETALL", ts_rkey(t, t->user, "devices"), NULL); /* 2 */
    ts_cmd_add(t, "SCARD", ts_rkey(t, t->user, "backup"), NULL);    /* 3 */
    return TS_NEED_STORE;
}

int
ts_account_get(ts_txn *t)
{
    return ts_account_render_begin(t, 200, NULL);
}

static int
account_code_failed(ts_txn *t, int why)
{
    if (why == TS_CODE_WRONG)
        return ts_account_render_begin(t, 403, "That code didn't work. "
                   "Type the newest code from your app, or a backup code.");
    return ts_page_code_failed(t, why);
}

/* ---- disable -------------------------------------------------------- */

static int
disable_done(ts_txn *t)
{
    TS_PAGE_STORE_CHECK(t, -1);
    ts_clear_cookie(t);
    ts_resp_redirect(t, ts_arena_printf(&t->arena, "%s/", t->cfg->path));
    return TS_DONE;
}

static int
disable_ok(ts_txn *t)
{
    t->step = disable_done;
    ts_cmd_disable(t, t->user);
    ts_cmd_publish(t, t->user);
    ts_audit(t, "disabled", t->user, "by the user");
    return TS_NEED_STORE;
}

int
ts_disable_post(ts_txn *t)
{
    if (ts_is_enforced(t, t->user))
        return ts_account_render_begin(t, 403, "Your group requires 2-step "
                   "verification, so it cannot be turned off here. Ask an "
                   "administrator if you need it reset.");
    return ts_code_begin(t, ts_form_value(t, "code"), disable_ok,
                         account_code_failed);
}

/* ---- new backup codes ----------------------------------------------- */

static int
backup_saved(ts_txn *t)
{
    ts_page_ctx ctx;

    TS_PAGE_STORE_CHECK(t, -1);
    if (ts_rep_int(ts_rep(t, 0), 0) != 1)
        return ts_account_render_begin(t, 409, "2-step verification is off, "
                                       "so there are no backup codes to renew.");
    ts_page_ctx_fill(t, &ctx);
    ts_buf_reset(&t->body);
    ts_page_backup_codes(&t->body, &ctx, t->codes, 0);
    ts_resp_page(t, 200);
    return TS_DONE;
}

static int
backup_ok(ts_txn *t)
{
    t->codes = ts_arena_alloc(&t->arena, sizeof(char[TS_BACKUP_COUNT]
                                                     [TS_BACKUP_SHOWN]));
    if (t->codes == NULL || ts_backup_generate(t->codes) != TS_OK)
        return ts_page_code_failed(t, TS_CODE_STORE);
    t->step = backup_saved;
    ts_cmd_backup_replace(t, t->user, t->codes);
    ts_audit(t, "backup-codes-renewed", t->user, NULL);
    return TS_NEED_STORE;
}

int
ts_backup_codes_post(ts_txn *t)
{
    return ts_code_begin(t, ts_form_value(t, "code"), backup_ok,
                         account_code_failed);
}

/* The Download button posts the codes back; they are echoed as a text
 * file and never stored, so nothing but this response carries them. */
int
ts_backup_download_post(ts_txn *t)
{
    const char *codes = ts_form_value(t, "codes");
    const char *list[TS_BACKUP_COUNT];
    char *copy, *tok, *save = NULL;
    size_t n = 0;
    char norm[TS_BACKUP_CHARS + 1];

    copy = codes ? ts_arena_strdup(&t->arena, codes) : NULL;
    for (tok = copy ? strtok_r(copy, " ", &save) : NULL; tok;
         tok = strtok_r(NULL, " ", &save)) {
        if (n == TS_BACKUP_COUNT ||
            ts_backup_normalize(tok, strlen(tok), norm) != TS_OK) {
            ts_resp_message(t, 400, TS_MSG_BAD_REQUEST, 0,
                            "These are not backup codes.");
            return TS_DONE;
        }
        list[n++] = tok;
    }
    if (n == 0) {
        ts_resp_message(t, 400, TS_MSG_BAD_REQUEST, 0,
                        "There were no backup codes to download.");
        return TS_DONE;
    }
    ts_buf_reset(&t->body);
    ts_backup_codes_text(&t->body, t->cfg->issuer, t->user, list, n,
                         ts_now_s(t));
    t->resp.outcome = TS_RESPOND;
    t->resp.status = 200;
    ts_resp_header(t, "Content-Type", "text/plain; charset=utf-8");
    ts_resp_header(t, "Content-Disposition",
                   "attachment; filename=\"twostep-backup-codes.txt\"");
    ts_resp_header(t, "Cache-Control", "no-store");
    ts_resp_header(t, "X-Content-Type-Options", "nosniff");
    t->resp.body = ts_arena_strndup(&t->arena, ts_buf_str(&t->body),
                                    t->body.len);
    t->resp.body_len = t->resp.body ? t->body.len : 0;
    t->resp.status_var = "page";
    t->resp.user_var = t->user;
    return TS_DONE;
}

/* ---- devices and sign-out ------------------------------------------- */

static int
revoke_done(ts_txn *t)
{
    TS_PAGE_STORE_CHECK(t, -1);
    ts_resp_redirect(t, ts_arena_printf(&t->arena, "%s/", t->cfg->path));
    return TS_DONE;
}

static int
valid_device_id(const char *d)
{
    size_t i, n = strlen(d);

    if (n != TS_DEVICE_LEN)
        return 0;
    for (i = 0; i < n; i++)
        if (!((d[i] >= 'A' && d[i] <= 'Z') || (d[i] >= 'a' && d[i] <= 'z') ||
              (d[i] >= '0' && d[i] <= '9') || d[i] == '-' || d[i] == '_'))
            return 0;
    return 1;
}

static int
devices_revoke(ts_txn *t)
{
    const char *dev = ts_form_value(t, "device");
    int all = strcmp(dev, "all") == 0;

    if (t->cookie_ok && t->cookie.kind == TS_COOKIE_DEVICE &&
        (all || strcmp(t->cookie.device, dev) == 0))
        ts_clear_cookie(t);
    t->step = revoke_done;
    if (all)
        ts_cmd_add(t, "DEL", ts_rkey(t, t->user, "devices"), NULL);
    else
        ts_cmd_add(t, "HDEL", ts_rkey(t, t->user, "devices"), dev, NULL);
    ts_cmd_publish(t, t->user);
    ts_audit(t, all ? "devices-revoked" : "device-revoked", t->user,
             all ? "all" : dev);
    return TS_NEED_STORE;
}

int
ts_devices_revoke_post(ts_txn *t)
{
    const char *dev = ts_form_value(t, "device");
    int all = dev && strcmp(dev, "all") == 0;

    if (dev == NULL || (!all && !valid_device_id(dev))) {
        ts_resp_message(t, 400, TS_MSG_BAD_REQUEST, 0,
                        "No device was chosen.");
        return TS_DONE;
    }
    return ts_gate(t, devices_revoke, "/", 0);
}

static int
signout_done(ts_txn *t)
{
    ts_resp_message(t, 200, TS_MSG_SIGNED_OUT, 0, NULL);
    return TS_DONE;
}

int
ts_signout_post(ts_txn *t)
{
    ts_read_cookie(t);
    ts_clear_cookie(t);
    if (t->cookie_ok && t->cookie.kind == TS_COOKIE_DEVICE) {
        t->step = signout_done;
        ts_cmd_add(t, "HDEL", ts_rkey(t, t->user, "devices"),
                   t->cookie.device, NULL);
        ts_cmd_publish(t, t->user);
        ts_audit(t, "signed-out", t->user, "trusted device forgotten");
        return TS_NEED_STORE;
    }
    return signout_done(t);
}
