/* The protected request: a valid cookie passes (from the cache when it is
 * live, else after one store read); otherwise enrolled users are sent to
 * verify, enforced users to enrollment, others pass. */
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "engine_int.h"
#include "form.h"
#include "ts_err.h"

/* Parses and authenticates the cookie and checks what needs no store:
 * expiry, user, IP binding under this location's bind_ip. */
void
ts_read_cookie(ts_txn *t)
{
    const char *val;
    size_t vlen;
    char b1[TS_BIND_MAX + 1], b2[TS_BIND_MAX + 1];
    int64_t now = ts_now_s(t);
    ts_cookie *c = &t->cookie;

    t->cookie_ok = 0;
    if (t->req.cookie == NULL ||
        ts_cookie_header_get(t->req.cookie, strlen(t->req.cookie),
                             ts_cookie_name(t), &val, &vlen) != TS_OK ||
        vlen == 0)
        return;
    if (!ts_cache_cookie_get(t->cache, val, vlen, c)) {
        if (ts_cookie_decode(t->cfg->keys, val, vlen, c) != TS_OK) {
            ts_logf(t, TS_LOG_DEBUG, "cookie refused: bad format or "
                    "signature");
            return;
        }
        ts_cache_cookie_put(t->cache, val, vlen, c);
    }
    if (c->user_len != t->user_len || memcmp(c->user, t->user, t->user_len)) {
        ts_logf(t, TS_LOG_DEBUG, "cookie refused: issued to another user");
        return;
    }
    if (c->expires <= now || c->issued > now + 300) {
        ts_logf(t, TS_LOG_DEBUG, "cookie refused: expired");
        return;
    }
    /* The cookie holds the canonical address it was issued to; the same
     * text from the same client matches under every mode, so the common
     * case needs no address parsing. */
    if (strcmp(c->bind, t->req.client_ip) != 0 &&
        (ts_ip_binding(&t->cfg->bind, c->bind, b1, sizeof(b1)) != TS_OK ||
         ts_ip_binding(&t->cfg->bind, t->req.client_ip, b2, sizeof(b2))
             != TS_OK ||
         strcmp(b1, b2) != 0)) {
        ts_logf(t, TS_LOG_DEBUG, "cookie refused: client address %s is not "
                "the one it was bound to", t->req.client_ip);
        return;
    }
    t->cookie_ok = 1;
}

static const char *
return_location(ts_txn *t, const char *page)
{
    ts_buf b;
    const char *loc;

    ts_buf_init(&b);
    ts_buf_put_urlenc(&b, t->req.uri, strlen(t->req.uri));
    if (t->req.args && t->req.args[0]) {
        ts_buf_puts(&b, "%3F");
        ts_buf_put_urlenc(&b, t->req.args, strlen(t->req.args));
    }
    loc = ts_arena_printf(&t->arena, "%s/%s?r=%s", t->cfg->path, page,
                          ts_buf_str(&b));
    ts_buf_free(&b);
    return loc;
}

/* Decision once the user's state is known. */
static int
decide(ts_txn *t, int enabled, uint64_t epoch, int has_device)
{
    if (enabled && t->cookie_ok && t->cookie.epoch == epoch &&
        (t->cookie.kind == TS_COOKIE_SESSION || has_device)) {
        ts_resp_pass(t, t->cookie.kind == TS_COOKIE_DEVICE ? "trusted"
                                                           : "verified");
        return TS_DONE;
    }
    if (enabled) {
        ts_resp_redirect(t, return_location(t, "verify"));
        return TS_DONE;
    }
    if (ts_is_enforced(t, t->user)) {
        ts_resp_redirect(t, return_location(t, "enroll"));
        t->resp.status_var = "enroll";
        return TS_DONE;
    }
    ts_resp_pass(t, "not-enrolled");
    return TS_DONE;
}

static int
store_down(ts_txn *t, const char *why)
{
    ts_logf(t, TS_LOG_WARN, "store unavailable (%s): %s", why,
            t->cfg->store_down == TS_STORE_DOWN_COOKIE && t->cookie_ok
            ? "a valid signed cookie passes (twostep_store_down cookie)"
            : "answering 503");
    if (t->cfg->store_down == TS_STORE_DOWN_COOKIE && t->cookie_ok) {
        ts_resp_pass(t, "store-down");
        return TS_DONE;
    }
    ts_resp_message(t, 503, TS_MSG_STORE_DOWN, 0, NULL);
    return TS_DONE;
}

static int
protect_read(ts_txn *t)
{
    const ts_reply *devs;
    ts_cache_entry e;
    size_t i;
    int has_device = 0;

    if (t->store_failed)
        return store_down(t, t->store_why);
    if (ts_batch_has_error(t))
        return store_down(t, "error reply");
    if (!ts_marker_ok(ts_rep(t, 0))) {
        ts_logf(t, TS_LOG_ERR, "the store marker %smarker is missing: run "
                "`twostepctl init` once; if it was there, Redis lost its "
                "data and twostep fails closed", t->cfg->prefix);
        ts_resp_message(t, 503, TS_MSG_STORE_DOWN, 0, NULL);
        return TS_DONE;
    }
    ts_parse_user_state(t, ts_rep(t, 1), &t->st);
    devs = ts_rep(t, 2);
    memset(&e, 0, sizeof(e));
    e.enabled = t->st.enabled;
    e.epoch = t->st.epoch;
    e.ndevices = devs->n <= TS_CACHE_DEVICES ? (int)devs->n : -1;
    for (i = 0; i < devs->n; i++) {
        const char *d = ts_rep_str(ts_rep_elem(devs, i));
        if (d == NULL)
            continue;
        if (i < TS_CACHE_DEVICES && strlen(d) <= TS_DEVICE_LEN)
            strcpy(e.devices[i], d);
        if (t->cookie_ok && t->cookie.kind == TS_COOKIE_DEVICE &&
            strcmp(d, t->cookie.device) == 0)
            has_device = 1;
    }
    ts_cache_fill(t->cache, t->cache_gen, t->user, &e);
    if (has_device && t->cache_gen) {
        /* last seen moves when this process first sees the device */
        ts_trailer(t, 1);
        ts_cmd_touch_device(t, t->user, t->cookie.device);
        ts_trailer(t, 0);
    }
    return decide(t, e.enabled, e.epoch, has_device);
}

static int
protect_start(ts_txn *t)
{
    ts_cache_entry e;
    int has_device;

    if (t->user == NULL) {
        ts_logf(t, TS_LOG_ERR, "no first-factor user on a twostep location: "
                "put a login (auth_basic, AuthType...) in front of it");
        ts_resp_message(t, 403, TS_MSG_NOT_ALLOWED, 0,
                        "This address needs a login before the second step.");
        return TS_DONE;
    }
    ts_read_cookie(t);
    if (ts_cache_lookup(t->cache, t->user, &e)) {
        has_device = t->cookie_ok && t->cookie.kind == TS_COOKIE_DEVICE &&
                     ts_cache_has_device(&e, t->cookie.device);
        if (e.ndevices >= 0 || !t->cookie_ok ||
            t->cookie.kind == TS_COOKIE_SESSION)
            return decide(t, e.enabled, e.epoch, has_device);
    }
    t->cache_gen = ts_cache_gen(t->cache);
    t->state = 1;
    ts_cmd_marker(t);
    ts_cmd_user_state(t, t->user);
    ts_cmd_add(t, "HKEYS", ts_rkey(t, t->user, "devices"), NULL);
    return TS_NEED_STORE;
}

int
ts_flow_protect(ts_txn *t)
{
    if (t->state == 0) {
        t->user = t->req.user && t->req.user[0] ? t->req.user : NULL;
        t->user_len = t->user ? strlen(t->user) : 0;
        if (t->user_len > TS_USER_MAX) {
            ts_logf(t, TS_LOG_WARN, "user name longer than %d bytes refused",
                    TS_USER_MAX);
            t->user = NULL;
        }
        return protect_start(t);
    }
    return protect_read(t);
}
