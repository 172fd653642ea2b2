/* The "check a code" sub-flow shared by verify, disable, new backup codes,
 * re-enrollment and `twostepctl verify`.
 *
 * Batch 1: marker, attempt reservations (user, IP), the user's record.
 * Then the code is checked here (TOTP against the unsealed secret) and
 * batch 2 makes it count exactly once (replay guard or backup-code
 * consumption, atomically in Lua). */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"
#include "otp.h"
#include "ts_err.h"

static int code_step(ts_txn *t);

void
ts_cmd_attempts(ts_txn *t)
{
    ts_cmd_attempt_reserve(t, ts_rkey(t, t->user, "fail"),
                           ts_rkey(t, t->user, "lock"), &t->cfg->max_user);
    if (t->is_op)   /* the CLI has no client address */
        ts_cmd_add(t, "ECHO", "no-ip", NULL);
    else
        ts_cmd_attempt_reserve(t, ts_rkey_ip(t, t->req.client_ip, "fail"),
                               ts_rkey_ip(t, t->req.client_ip, "lock"),
                               &t->cfg->max_ip);
}

int
ts_attempts_locked(ts_txn *t, size_t i)
{
    const ts_reply *u = ts_rep(t, i), *ip = ts_rep(t, i + 1);

    t->attempt_n = ts_rep_int(ts_rep_elem(u, 1), 0);
    if (ts_rep_int(ts_rep_elem(u, 0), 1) == 0) {
        t->lock_left_ms = ts_rep_int(ts_rep_elem(u, 1), 1000);
        return 1;
    }
    if (ip->type == TS_REPLY_ARRAY && ts_rep_int(ts_rep_elem(ip, 0), 1) == 0) {
        t->lock_left_ms = ts_rep_int(ts_rep_elem(ip, 1), 1000);
        return 1;
    }
    return 0;
}

void
ts_cmd_attempts_success(ts_txn *t)
{
    ts_trailer(t, 1);
    ts_cmd_add(t, "DEL", ts_rkey(t, t->user, "fail"), NULL);
    if (!t->is_op)
        ts_cmd_decr_if(t, ts_rkey_ip(t, t->req.client_ip, "fail"));
    ts_trailer(t, 0);
}

int
ts_code_count_failure(ts_txn *t, const char *event)
{
    char detail[64];

    if (t->attempt_n >= t->cfg->max_user.max) {
        ts_trailer(t, 1);
        ts_cmd_attempt_lock(t, ts_rkey(t, t->user, "lock"), &t->cfg->max_user);
        ts_cmd_add(t, "DEL", ts_rkey(t, t->user, "fail"), NULL);
        ts_trailer(t, 0);
        t->lock_left_ms = t->cfg->max_user.lockout_ms;
        ts_audit(t, event, t->user, "attempt limit reached");
        ts_audit(t, "lockout", t->user, NULL);
        return 1;
    }
    snprintf(detail, sizeof(detail), "attempt %lld of %d", t->attempt_n,
             t->cfg->max_user.max);
    ts_audit(t, event, t->user, detail);
    return 0;
}

int
ts_code_begin(ts_txn *t, const char *code, int (*ok)(ts_txn *t),
              int (*fail)(ts_txn *t, int why))
{
    t->code_text = code ? code : "";
    t->code_ok = ok;
    t->code_fail = fail;
    t->step = code_step;
    t->sub = 1;
    ts_cmd_marker(t);                 /* 0 */
    ts_cmd_attempts(t);               /* 1, 2 */
    ts_cmd_user_state(t, t->user);    /* 3 */
    return TS_NEED_STORE;
}

static int
code_wrong(ts_txn *t, const char *event)
{
    if (ts_code_count_failure(t, event))
        return t->code_fail(t, TS_CODE_LOCKED);
    return t->code_fail(t, TS_CODE_WRONG);
}

/* Batch 1 answered: limits, record, then the code itself. */
static int
code_check(ts_txn *t)
{
    const char *dev = NULL, *rec = NULL;
    char norm[TS_BACKUP_CHARS + 1];

    if (t->store_failed || ts_batch_has_error(t))
        return t->code_fail(t, TS_CODE_STORE);
    if (!ts_marker_ok(ts_rep(t, 0)))
        return t->code_fail(t, TS_CODE_NOMARKER);
    if (ts_attempts_locked(t, 1)) {
        ts_audit(t, "attempt-while-locked", t->user, NULL);
        return t->code_fail(t, TS_CODE_LOCKED);
    }
    ts_parse_user_state(t, ts_rep(t, 3), &t->st);
    if (!t->st.enabled)
        return t->code_fail(t, TS_CODE_OFF);
    if (t->trust && t->device[0]) {
        dev = t->device;
        rec = ts_device_record(t);
    }
    t->code_kind = ts_code_kind(&t->st, t->code_text);
    t->sub = 2;
    if (t->code_kind == 1) {
        int rc = ts_code_totp(t, t->user, &t->st, t->code_text,
                              &t->matched_step);
        if (rc != TS_OK)
            return code_wrong(t, "code-wrong");
        ts_cmd_accept_step(t, t->user, t->matched_step, t->st.secret, dev, rec);
        return TS_NEED_STORE;
    }
    if (t->code_kind == 2 &&
        ts_backup_normalize(t->code_text, strlen(t->code_text), norm) == 0) {
        ts_cmd_use_backup(t, t->user, norm, dev, rec);
        return TS_NEED_STORE;
    }
    return code_wrong(t, "code-malformed");
}

/* Batch 2 answered: did the code count (first use of that step/code)? */
static int
code_counted(ts_txn *t)
{
    const ts_reply *r = ts_rep(t, 0);
    long long verdict;

    if (t->store_failed || ts_rep_is_err(r))
        return t->code_fail(t, TS_CODE_STORE);
    verdict = ts_rep_int(ts_rep_elem(r, 0), -1);
    if (verdict != 1) {
        if (t->code_kind == 1 && verdict == 0)
            return code_wrong(t, "code-replayed");
        if (t->code_kind == 2 && verdict == 0)
            return code_wrong(t, "backup-code-wrong");
        return code_wrong(t, "code-stale-secret");
    }
    t->st.epoch = (uint64_t)ts_rep_int(ts_rep_elem(r, 1), 0);
    ts_cmd_attempts_success(t);
    if (t->code_kind == 2) {
        char detail[48];
        t->backup_left = (int)ts_rep_int(ts_rep_elem(r, 2), 0);
        snprintf(detail, sizeof(detail), "%d backup codes left",
                 t->backup_left);
        ts_audit(t, "backup-code-used", t->user, detail);
    } else {
        ts_audit(t, "code-accepted", t->user, NULL);
    }
    if (t->trust && t->device[0])
        ts_audit(t, "device-trusted", t->user, t->device);
    return t->code_ok(t);
}

static int
code_step(ts_txn *t)
{
    if (t->sub == 1)
        return code_check(t);
    return code_counted(t);
}
