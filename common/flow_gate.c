/* The gate in front of pages that change security settings: the first
 * factor alone (a stolen password) must not reach them. The user needs a
 * valid cookie of this browser, exactly as on a protected location; pages
 * that require 2-step itself (admin) also send users without it to
 * enrollment. */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

/* PATH/PAGE?r=PATH+SELF */
static const char *
gate_redirect(ts_txn *t, const char *page)
{
    ts_buf b;
    const char *url, *self = ts_arena_printf(&t->arena, "%s%s", t->cfg->path,
                                             t->gate_self);

    ts_buf_init(&b);
    ts_buf_put_urlenc(&b, self, strlen(self));
    url = ts_arena_printf(&t->arena, "%s/%s?r=%s", t->cfg->path, page,
                          ts_buf_str(&b));
    ts_buf_free(&b);
    return url;
}

int
ts_verified_here(ts_txn *t, const ts_reply *device_ids, int pairs)
{
    size_t i;
    int has_device = 0;

    if (!t->cookie_ok || t->cookie.epoch != t->st.epoch)
        return 0;
    if (t->cookie.kind == TS_COOKIE_SESSION)
        return 1;
    for (i = 0; i < device_ids->n; i += pairs ? 2 : 1) {
        const char *d = ts_rep_str(ts_rep_elem(device_ids, i));
        if (d && strcmp(d, t->cookie.device) == 0)
            has_device = 1;
    }
    return has_device;
}

int
ts_gate_refuse(ts_txn *t, const char *self)
{
    t->gate_self = self;
    ts_resp_redirect(t, gate_redirect(t, "verify"));
    return TS_DONE;
}

static int
gate_read(ts_txn *t)
{
    TS_PAGE_STORE_CHECK(t, 0);
    ts_parse_user_state(t, ts_rep(t, 1), &t->st);
    if (!t->st.enabled) {
        if (!t->gate_need_enrolled)
            return t->after_gate(t);     /* nothing beyond the login yet */
        ts_logf(t, TS_LOG_WARN, "\"%s\" has no 2-step yet: sent to set it up "
                "before %s%s", t->user, t->cfg->path, t->gate_self);
        ts_resp_redirect(t, gate_redirect(t, "enroll"));
        return TS_DONE;
    }
    if (!ts_verified_here(t, ts_rep(t, 2), 0))
        return ts_gate_refuse(t, t->gate_self);
    return t->after_gate(t);
}

int
ts_gate(ts_txn *t, int (*next)(ts_txn *t), const char *self,
        int need_enrolled)
{
    ts_read_cookie(t);
    t->after_gate = next;
    t->gate_self = self;
    t->gate_need_enrolled = need_enrolled;
    t->step = gate_read;
    ts_cmd_marker(t);                                              /* 0 */
    ts_cmd_user_state(t, t->user);                                 /* 1 */
    ts_cmd_add(t, "HKEYS", ts_rkey(t, t->user, "devices"), NULL);  /* 2 */
    return TS_NEED_STORE;
}
