/* Reading a user's record and the store marker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "otp.h"

/* The order of these fields is the order ts_parse_user_state reads. */
void
ts_cmd_user_state(ts_txn *t, const char *user)
{
    ts_cmd_add(t, "HMGET", ts_rkey(t, user, "user"), "enabled", "epoch",
               "secret", "alg", "digits", "period", "last_step", "since",
               NULL);
}

void
ts_parse_user_state(ts_txn *t, const ts_reply *r, ts_user_state *st)
{
    const ts_reply *secret = ts_rep_elem(r, 2);
    const char *alg = ts_rep_str(ts_rep_elem(r, 3));
    ts_alg a = TS_ALG_SHA1;

    memset(st, 0, sizeof(*st));
    st->enabled = ts_rep_int(ts_rep_elem(r, 0), 0) == 1;
    st->epoch = (uint64_t)ts_rep_int(ts_rep_elem(r, 1), 0);
    if (secret->type == TS_REPLY_STRING) {
        st->secret = secret->str;
        st->secret_len = secret->len;
    }
    if (alg && ts_alg_parse(alg, &a) != 0)
        a = TS_ALG_SHA1;
    st->alg = (int)a;
    st->digits = (int)ts_rep_int(ts_rep_elem(r, 4), 6);
    st->period = (int)ts_rep_int(ts_rep_elem(r, 5), 30);
    st->last_step = ts_rep_int(ts_rep_elem(r, 6), -1);
    st->since = ts_rep_int(ts_rep_elem(r, 7), 0);
    if (st->digits < TS_OTP_MIN_DIGITS || st->digits > TS_OTP_MAX_DIGITS ||
        st->period < TS_OTP_MIN_PERIOD || st->period > TS_OTP_MAX_PERIOD ||
        (st->enabled && st->secret == NULL)) {
        ts_logf(t, TS_LOG_ERR, "user record of \"%s\" is damaged; "
                "treating 2-step as on but unusable", t->user ? t->user : "");
        st->digits = 6;
        st->period = 30;
    }
}

void
ts_cmd_marker(ts_txn *t)
{
    ts_cmd_add(t, "EXISTS", ts_rkey_global(t, "marker"), NULL);
}

int
ts_marker_ok(const ts_reply *r)
{
    return r->type == TS_REPLY_INTEGER && r->integer == 1;
}
