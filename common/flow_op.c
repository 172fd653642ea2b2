/* Administrative operations for twostepctl: the same keys, scripts and
 * audit trail as the pages, ending in a text and a JSON result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base32.h"
#include "engine_int.h"
#include "json.h"
#include "otpauth.h"
#include "seal.h"
#include "ts_err.h"

/* ---- results -------------------------------------------------------- */

static int
op_finish(ts_txn *t, int code)
{
    t->opres.exit_code = code;
    t->opres.text = ts_arena_strdup(&t->arena, ts_buf_str(&t->optext));
    if (t->opjson.len == 0) {
        ts_buf_printf(&t->opjson, "{\"ok\":%s}", code == 0 ? "true" : "false");
    }
    t->opres.json = ts_arena_strdup(&t->arena, ts_buf_str(&t->opjson));
    return TS_DONE;
}

/* A refusal (exit 1) or a failure (exit 2) with one sentence. */
static int
op_error(ts_txn *t, int code, const char *msg)
{
    ts_buf_reset(&t->optext);
    ts_buf_reset(&t->opjson);
    ts_buf_printf(&t->optext, "%s\n", msg);
    ts_buf_puts(&t->opjson, "{\"ok\":false,\"error\":");
    ts_json_str(&t->opjson, msg);
    ts_buf_putc(&t->opjson, '}');
    return op_finish(t, code);
}

/* Store failure, error reply or missing marker: exit 2 with the reason. */
static int
op_store_check(ts_txn *t, int marker_at)
{
    if (t->store_failed)
        return op_error(t, 2, ts_arena_printf(&t->arena, "store unavailable: "
                        "%s", t->store_why ? t->store_why : "?"));
    if (ts_batch_has_error(t))
        return op_error(t, 2, "the store answered with an error (see above)");
    if (marker_at >= 0 && !ts_marker_ok(ts_rep(t, (size_t)marker_at)))
        return op_error(t, 2, "the store marker is missing: run `twostepctl "
                        "init` once (if it was there, Redis lost its data "
                        "and twostep fails closed)");
    return -1;
}

#define STORE_CHECK(t, m) do { int rc_ = op_store_check(t, m); \
                                if (rc_ >= 0) return rc_; } while (0)

static const char *
fmt_time(ts_txn *t, int64_t s)
{
    struct tm tm;
    time_t tt = (time_t)s;
    char buf[32];

    if (s <= 0)
        return "-";
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
    return ts_arena_strdup(&t->arena, buf);
}

/* ---- init ----------------------------------------------------------- */

static int
op_init_done(ts_txn *t)
{
    STORE_CHECK(t, -1);
    ts_buf_printf(&t->optext, "store initialised (%smarker %s)\n",
                  t->cfg->prefix, ts_rep_int(ts_rep(t, 0), 0) == 1
                  ? "written" : "was already there");
    ts_buf_puts(&t->opjson, "{\"ok\":true}");
    return op_finish(t, 0);
}

static int
op_init(ts_txn *t)
{
    char v[48];

    snprintf(v, sizeof(v), "twostep %s %lld", TWOSTEP_VERSION,
             (long long)ts_now_s(t));
    ts_cmd_add(t, "SETNX", ts_rkey_global(t, "marker"), v, NULL);
    t->step = op_init_done;
    ts_audit(t, "store-initialised", "", NULL);
    return TS_NEED_STORE;
}

/* ---- status and list ------------------------------------------------ */

static void
status_queue(ts_txn *t, const char *user)
{
    ts_cmd_user_state(t, user);
    ts_cmd_add(t, "HLEN", ts_rkey(t, user, "devices"), NULL);
    ts_cmd_add(t, "SCARD", ts_rkey(t, user, "backup"), NULL);
    ts_cmd_add(t, "PTTL", ts_rkey(t, user, "lock"), NULL);
}

/* Reads the 4 replies from index i into text and JSON. */
static void
status_render(ts_txn *t, const char *user, size_t i, int table)
{
    ts_user_state st;
    long long devs = ts_rep_int(ts_rep(t, i + 1), 0);
    long long codes = ts_rep_int(ts_rep(t, i + 2), 0);
    long long lock = ts_rep_int(ts_rep(t, i + 3), -2);
    int enforced = ts_is_enforced(t, user);

    ts_parse_user_state(t, ts_rep(t, i), &st);
    lock = lock > 0 ? (lock + 999) / 1000 : 0;
    if (table) {
        ts_buf_printf(&t->optext, "%-24s %-4s %-9s %7lld %7lld %s\n", user,
                      st.enabled ? "on" : "off", enforced ? "required" : "-",
                      devs, codes, lock ? "locked" : "-");
    } else {
        ts_buf_printf(&t->optext,
                      "user:          %s\n2-step:        %s%s\n"
                      "since:         %s\nalgorithm:     %s, %d digits, %d s\n"
                      "devices:       %lld trusted\nbackup codes:  %lld left\n"
                      "locked:        %s\n", user,
                      st.enabled ? "on" : "off",
                      enforced ? " (required by group policy)" : "",
                      fmt_time(t, st.since), ts_alg_name((ts_alg)st.alg),
                      st.digits, st.period, devs, codes,
                      lock ? ts_arena_printf(&t->arena, "yes, %lld s left",
                                             lock) : "no");
    }
    ts_buf_puts(&t->opjson, "{\"user\":");
    ts_json_str(&t->opjson, user);
    ts_buf_printf(&t->opjson, ",\"enabled\":%s,\"enforced\":%s,\"since\":%lld,"
                  "\"algorithm\":\"%s\",\"digits\":%d,\"period\":%d,"
                  "\"devices\":%lld,\"backup_codes\":%lld,"
                  "\"locked_seconds\":%lld}",
                  st.enabled ? "true" : "false", enforced ? "true" : "false",
                  (long long)st.since, ts_alg_name((ts_alg)st.alg), st.digits,
                  st.period, devs, codes, lock);
}

static int
op_status_done(ts_txn *t)
{
    STORE_CHECK(t, 0);
    status_render(t, t->user, 1, 0);
    return op_finish(t, 0);
}

static int
op_status(ts_txn *t)
{
    ts_cmd_marker(t);
    status_queue(t, t->user);
    t->step = op_status_done;
    return TS_NEED_STORE;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
op_list_done(ts_txn *t)
{
    size_t i;

    STORE_CHECK(t, -1);
    ts_buf_printf(&t->optext, "%-24s %-4s %-9s %7s %7s %s\n", "USER",
                  "2SV", "POLICY", "DEVICES", "BACKUP", "LOCK");
    ts_buf_puts(&t->opjson, "{\"ok\":true,\"users\":[");
    for (i = 0; i < t->nnames; i++) {
        if (i)
            ts_buf_putc(&t->opjson, ',');
        status_render(t, t->names[i], 4 * i, 1);
    }
    ts_buf_puts(&t->opjson, "]}");
    return op_finish(t, 0);
}

static int
op_list_users(ts_txn *t)
{
    const ts_reply *m;
    size_t i;

    STORE_CHECK(t, 1);
    m = ts_rep(t, 0);
    t->names = ts_arena_alloc(&t->arena, (m->n + 1) * sizeof(char *));
    if (t->names == NULL)
        return op_error(t, 2, "out of memory");
    for (i = 0; i < m->n; i++) {
        const char *u = ts_rep_str(ts_rep_elem(m, i));
        if (u)
            t->names[t->nnames++] = u;
    }
    qsort(t->names, t->nnames, sizeof(char *), cmp_str);
    for (i = 0; i < t->nnames; i++)
        status_queue(t, t->names[i]);
    t->step = op_list_done;
    if (t->nnames == 0)
        return op_list_done(t);
    return TS_NEED_STORE;
}

static int
op_list(ts_txn *t)
{
    ts_cmd_add(t, "SMEMBERS", ts_rkey_global(t, "users"), NULL);
    ts_cmd_marker(t);
    t->step = op_list_users;
    return TS_NEED_STORE;
}

/* ---- enroll --------------------------------------------------------- */

static void
codes_out(ts_txn *t)
{
    int i;

    ts_buf_puts(&t->optext, "backup codes (each works once; shown only now):\n");
    ts_buf_puts(&t->opjson, ",\"backup_codes\":[");
    for (i = 0; i < TS_BACKUP_COUNT; i++) {
        ts_buf_printf(&t->optext, "  %s\n", t->codes[i]);
        if (i)
            ts_buf_putc(&t->opjson, ',');
        ts_json_str(&t->opjson, t->codes[i]);
    }
    ts_buf_putc(&t->opjson, ']');
}

static int
op_enroll_saved(ts_txn *t)
{
    STORE_CHECK(t, -1);
    /* reply 0 is the pending SET, reply 1 the enrollment script */
    if (ts_rep_int(ts_rep_elem(ts_rep(t, 1), 0), 0) != 1)
        return op_error(t, 2, "enrollment did not take (a concurrent change?)");
    codes_out(t);
    ts_buf_puts(&t->opjson, "}");
    return op_finish(t, 0);
}

static int
op_enroll_check(ts_txn *t)
{
    uint8_t secret[TS_SECRET_MAX];
    size_t n = 0;
    const char *why = NULL;
    ts_buf sealed, uri;
    ts_otpauth p;
    char b32[TS_SECRET_MAX * 2];
    int rc;

    STORE_CHECK(t, 0);
    ts_parse_user_state(t, ts_rep(t, 1), &t->st);
    if (t->st.enabled)
        return op_error(t, 1, ts_arena_printf(&t->arena, "2-step is already on "
                        "for %s; disable it first to enroll again", t->user));
    if (t->op.arg) {
        rc = ts_base32_decode(t->op.arg, strlen(t->op.arg), secret,
                              sizeof(secret), &n, &why);
        if (rc != TS_OK || n < 10)
            return op_error(t, 2, ts_arena_printf(&t->arena, "--secret: %s",
                            rc != TS_OK ? (why ? why : "not base32")
                            : "shorter than 80 bits"));
    } else {
        n = t->cfg->alg == TS_ALG_SHA512 ? 64
            : t->cfg->alg == TS_ALG_SHA256 ? 32 : 20;
        if (ts_random(secret, n) != TS_OK)
            return op_error(t, 2, "no random bytes");
    }
    ts_buf_init(&sealed);
    ts_buf_init(&uri);
    memset(&p, 0, sizeof(p));
    snprintf(p.issuer, sizeof(p.issuer), "%s", t->cfg->issuer);
    snprintf(p.account, sizeof(p.account), "%s", t->user);
    memcpy(p.secret, secret, n);
    p.secret_len = n;
    p.alg = (ts_alg)t->cfg->alg;
    p.digits = t->cfg->digits;
    p.period = t->cfg->period;
    rc = ts_seal(t->cfg->keys, t->user, t->user_len, secret, n, &sealed);
    ts_otpauth_uri(&p, &uri);
    ts_base32_encode(secret, n, b32, sizeof(b32));
    memset(secret, 0, sizeof(secret));
    memset(&p, 0, sizeof(p));
    t->codes = ts_arena_alloc(&t->arena, sizeof(char[TS_BACKUP_COUNT]
                                                     [TS_BACKUP_SHOWN]));
    if (rc != TS_OK || t->codes == NULL || ts_backup_generate(t->codes)) {
        ts_buf_free(&sealed);
        ts_buf_free(&uri);
        return op_error(t, 2, "cannot seal the secret");
    }
    t->pending = ts_arena_strdup(&t->arena, ts_buf_str(&sealed));
    ts_cmd_add(t, "SET", ts_rkey(t, t->user, "pending"), t->pending, "PX",
               "60000", NULL);
    ts_cmd_enroll_save(t, t->user, t->pending, t->cfg->alg, t->cfg->digits,
                       t->cfg->period, -1, t->codes);
    ts_cmd_publish(t, t->user);
    ts_audit(t, "enrolled", t->user, t->op.arg ? "imported secret"
                                                : "generated secret");
    ts_buf_printf(&t->optext, "2-step is on for %s\nsecret: %s\nuri: %s\n",
                  t->user, b32, ts_buf_str(&uri));
    ts_buf_puts(&t->opjson, "{\"ok\":true,\"user\":");
    ts_json_str(&t->opjson, t->user);
    ts_buf_puts(&t->opjson, ",\"secret\":");
    ts_json_str(&t->opjson, b32);
    ts_buf_puts(&t->opjson, ",\"uri\":");
    ts_json_str(&t->opjson, ts_buf_str(&uri));
    memset(b32, 0, sizeof(b32));
    ts_buf_free(&sealed);
    ts_buf_free(&uri);
    t->step = op_enroll_saved;
    return TS_NEED_STORE;
}

static int
op_enroll(ts_txn *t)
{
    ts_cmd_marker(t);
    ts_cmd_user_state(t, t->user);
    t->step = op_enroll_check;
    return TS_NEED_STORE;
}

/* ---- disable, backup codes, devices, revoke, unlock ------------------ */

static int
op_simple_done(ts_txn *t)
{
    STORE_CHECK(t, 0);
    if (t->op.kind == TS_OP_DISABLE && ts_rep_int(ts_rep(t, 1), 0) != 1)
        return op_error(t, 1, ts_arena_printf(&t->arena, "2-step was not on "
                        "for %s (nothing to disable)", t->user));
    if (t->op.kind == TS_OP_REVOKE && ts_rep_int(ts_rep(t, 1), 0) < 1)
        return op_error(t, 1, "no such trusted device");
    ts_buf_printf(&t->optext, "%s\n", t->notice);
    ts_buf_puts(&t->opjson, "{\"ok\":true,\"user\":");
    ts_json_str(&t->opjson, t->user);
    ts_buf_putc(&t->opjson, '}');
    return op_finish(t, 0);
}

static int
op_disable(ts_txn *t)
{
    ts_cmd_marker(t);
    ts_cmd_disable(t, t->user);
    ts_cmd_publish(t, t->user);
    ts_audit(t, "admin-disabled", t->user, NULL);
    t->notice = ts_arena_printf(&t->arena, "2-step is off for %s; every "
                                "trusted device is revoked", t->user);
    t->step = op_simple_done;
    return TS_NEED_STORE;
}

static int
op_revoke(ts_txn *t)
{
    const char *dev = t->op.arg;

    if (dev == NULL)
        return op_error(t, 2, "revoke needs a device id or --all");
    ts_cmd_marker(t);
    if (strcmp(dev, "--all") == 0) {
        ts_cmd_add(t, "EXISTS", ts_rkey(t, t->user, "devices"), NULL);
        ts_cmd_add(t, "DEL", ts_rkey(t, t->user, "devices"), NULL);
        t->notice = ts_arena_printf(&t->arena, "every trusted device of %s "
                                    "is revoked", t->user);
        t->op.kind = TS_OP_LIST;   /* "nothing to revoke" is not an error */
    } else {
        ts_cmd_add(t, "HDEL", ts_rkey(t, t->user, "devices"), dev, NULL);
        t->notice = ts_arena_printf(&t->arena, "device %s of %s is revoked",
                                    dev, t->user);
    }
    ts_cmd_publish(t, t->user);
    ts_audit(t, "admin-revoked-devices", t->user, dev);
    t->step = op_simple_done;
    return TS_NEED_STORE;
}

static int
op_unlock(ts_txn *t)
{
    ts_cmd_marker(t);
    ts_cmd_add(t, "DEL", ts_rkey(t, t->user, "fail"),
               ts_rkey(t, t->user, "lock"), NULL);
    ts_audit(t, "admin-unlocked", t->user, NULL);
    t->notice = ts_arena_printf(&t->arena, "%s may try codes again",
                                t->user);
    t->step = op_simple_done;
    return TS_NEED_STORE;
}

static int
op_backup_saved(ts_txn *t)
{
    STORE_CHECK(t, 0);
    if (ts_rep_int(ts_rep(t, 1), 0) != 1)
        return op_error(t, 1, ts_arena_printf(&t->arena, "2-step is not on "
                        "for %s", t->user));
    ts_buf_puts(&t->opjson, "{\"ok\":true");
    codes_out(t);
    ts_buf_putc(&t->opjson, '}');
    return op_finish(t, 0);
}

static int
op_backup_codes(ts_txn *t)
{
    t->codes = ts_arena_alloc(&t->arena, sizeof(char[TS_BACKUP_COUNT]
                                                     [TS_BACKUP_SHOWN]));
    if (t->codes == NULL || ts_backup_generate(t->codes) != TS_OK)
        return op_error(t, 2, "no random bytes");
    ts_cmd_marker(t);
    ts_cmd_backup_replace(t, t->user, t->codes);
    ts_audit(t, "backup-codes-renewed", t->user, "by an administrator");
    t->step = op_backup_saved;
    return TS_NEED_STORE;
}

static int
op_devices_done(ts_txn *t)
{
    const ts_reply *d;
    size_t i;

    STORE_CHECK(t, 0);
    d = ts_rep(t, 1);
    ts_buf_puts(&t->opjson, "{\"ok\":true,\"devices\":[");
    if (d->n == 0)
        ts_buf_printf(&t->optext, "%s has no trusted device\n", t->user);
    for (i = 0; i + 1 < d->n; i += 2) {
        const char *id = ts_rep_str(ts_rep_elem(d, i));
        const char *rec = ts_rep_str(ts_rep_elem(d, i + 1));
        char *f = ts_arena_strdup(&t->arena, rec ? rec : "");
        char *created = f, *seen = NULL, *ip = NULL, *ua = NULL;

        if (f && (seen = strchr(f, '|')) != NULL) {
            *seen++ = '\0';
            if ((ip = strchr(seen, '|')) != NULL) {
                *ip++ = '\0';
                if ((ua = strchr(ip, '|')) != NULL)
                    *ua++ = '\0';
            }
        }
        ts_buf_printf(&t->optext, "%s  created %s  last seen %s  %s  %s\n",
                      id ? id : "?", fmt_time(t, created ? atoll(created) : 0),
                      fmt_time(t, seen ? atoll(seen) : 0), ip ? ip : "-",
                      ua ? ua : "-");
        if (i)
            ts_buf_putc(&t->opjson, ',');
        ts_buf_puts(&t->opjson, "{\"id\":");
        ts_json_str(&t->opjson, id ? id : "");
        ts_buf_printf(&t->opjson, ",\"created\":%lld,\"last_seen\":%lld,"
                      "\"ip\":", created ? atoll(created) : 0LL,
                      seen ? atoll(seen) : 0LL);
        ts_json_str(&t->opjson, ip ? ip : "");
        ts_buf_puts(&t->opjson, ",\"user_agent\":");
        ts_json_str(&t->opjson, ua ? ua : "");
        ts_buf_putc(&t->opjson, '}');
    }
    ts_buf_puts(&t->opjson, "]}");
    return op_finish(t, 0);
}

static int
op_devices(ts_txn *t)
{
    ts_cmd_marker(t);
    ts_cmd_add(t, "HGETALL", ts_rkey(t, t->user, "devices"), NULL);
    t->step = op_devices_done;
    return TS_NEED_STORE;
}

/* ---- verify --------------------------------------------------------- */

static int
op_verify_ok(ts_txn *t)
{
    if (t->code_kind == 2)
        ts_buf_printf(&t->optext, "backup code accepted for %s (%d left)\n",
                      t->user, t->backup_left);
    else
        ts_buf_printf(&t->optext, "code accepted for %s (step %lld)\n",
                      t->user, (long long)t->matched_step);
    ts_buf_printf(&t->opjson, "{\"ok\":true,\"kind\":\"%s\",\"step\":%lld}",
                  t->code_kind == 2 ? "backup" : "totp",
                  t->code_kind == 2 ? -1LL : (long long)t->matched_step);
    return op_finish(t, 0);
}

static int
op_verify_fail(ts_txn *t, int why)
{
    switch (why) {
    case TS_CODE_LOCKED:
        return op_error(t, 1, ts_arena_printf(&t->arena, "%s is locked out "
                        "for %lld more seconds (twostepctl unlock %s)",
                        t->user, (long long)(t->lock_left_ms + 999) / 1000,
                        t->user));
    case TS_CODE_OFF:
        return op_error(t, 1, ts_arena_printf(&t->arena, "2-step is not on "
                        "for %s", t->user));
    case TS_CODE_NOMARKER:
        return op_error(t, 2, "the store marker is missing: run `twostepctl "
                        "init`");
    case TS_CODE_STORE:
        return op_error(t, 2, ts_arena_printf(&t->arena, "store unavailable: "
                        "%s", t->store_why ? t->store_why : "error reply"));
    default:
        return op_error(t, 1, "code refused (wrong, already used, or outside "
                        "the time window)");
    }
}

/* ---- audit ---------------------------------------------------------- */

static int
op_audit_done(ts_txn *t)
{
    const ts_reply *r;
    size_t i, j;

    STORE_CHECK(t, -1);
    r = ts_rep(t, 0);
    ts_buf_puts(&t->opjson, "{\"ok\":true,\"events\":[");
    for (i = r->n; i-- > 0;) {       /* oldest first, like a log */
        const ts_reply *fields = ts_rep_elem(ts_rep_elem(r, i), 1);
        const char *kv[12] = { 0 };
        const char *time_s = NULL, *event = "", *user = "", *ip = "",
                   *actor = "", *detail = "";

        for (j = 0; j + 1 < fields->n && j < 12; j += 2) {
            kv[j] = ts_rep_str(ts_rep_elem(fields, j));
            kv[j + 1] = ts_rep_str(ts_rep_elem(fields, j + 1));
            if (kv[j] == NULL || kv[j + 1] == NULL)
                continue;
            if (!strcmp(kv[j], "time")) time_s = kv[j + 1];
            else if (!strcmp(kv[j], "event")) event = kv[j + 1];
            else if (!strcmp(kv[j], "user")) user = kv[j + 1];
            else if (!strcmp(kv[j], "ip")) ip = kv[j + 1];
            else if (!strcmp(kv[j], "actor")) actor = kv[j + 1];
            else if (!strcmp(kv[j], "detail")) detail = kv[j + 1];
        }
        ts_buf_printf(&t->optext, "%s  %-22s user=%s ip=%s actor=%s%s%s\n",
                      fmt_time(t, time_s ? atoll(time_s) / 1000 : 0), event,
                      user, ip, actor, detail[0] ? " " : "", detail);
        if (i != r->n - 1)
            ts_buf_putc(&t->opjson, ',');
        ts_buf_printf(&t->opjson, "{\"time_ms\":%lld,\"event\":",
                      time_s ? atoll(time_s) : 0LL);
        ts_json_str(&t->opjson, event);
        ts_buf_puts(&t->opjson, ",\"user\":");
        ts_json_str(&t->opjson, user);
        ts_buf_puts(&t->opjson, ",\"ip\":");
        ts_json_str(&t->opjson, ip);
        ts_buf_puts(&t->opjson, ",\"actor\":");
        ts_json_str(&t->opjson, actor);
        ts_buf_puts(&t->opjson, ",\"detail\":");
        ts_json_str(&t->opjson, detail);
        ts_buf_putc(&t->opjson, '}');
    }
    ts_buf_puts(&t->opjson, "]}");
    return op_finish(t, 0);
}

static int
op_audit(ts_txn *t)
{
    long n = t->op.arg ? strtol(t->op.arg, NULL, 10) : 100;

    if (n <= 0 || n > 100000)
        return op_error(t, 2, "--count takes a number from 1 to 100000");
    ts_cmd_add(t, "XREVRANGE", ts_rkey_global(t, "audit"), "+", "-", "COUNT",
               ts_arena_printf(&t->arena, "%ld", n), NULL);
    t->step = op_audit_done;
    return TS_NEED_STORE;
}

/* ---- dispatch ------------------------------------------------------- */

int
ts_flow_op(ts_txn *t)
{
    t->user = t->op.user;
    t->user_len = t->user ? strlen(t->user) : 0;
    if (t->op.kind != TS_OP_INIT && t->op.kind != TS_OP_LIST &&
        t->op.kind != TS_OP_AUDIT &&
        (t->user == NULL || t->user_len == 0 || t->user_len > TS_USER_MAX))
        return op_error(t, 2, "a user name of 1 to 256 bytes is needed");
    switch (t->op.kind) {
    case TS_OP_INIT:         return op_init(t);
    case TS_OP_STATUS:       return op_status(t);
    case TS_OP_LIST:         return op_list(t);
    case TS_OP_ENROLL:       return op_enroll(t);
    case TS_OP_DISABLE:      return op_disable(t);
    case TS_OP_BACKUP_CODES: return op_backup_codes(t);
    case TS_OP_DEVICES:      return op_devices(t);
    case TS_OP_REVOKE:       return op_revoke(t);
    case TS_OP_UNLOCK:       return op_unlock(t);
    case TS_OP_VERIFY:
        return ts_code_begin(t, t->op.arg, op_verify_ok, op_verify_fail);
    case TS_OP_AUDIT:        return op_audit(t);
    }
    return op_error(t, 2, "unknown operation");
}
