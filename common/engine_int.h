/* Internals shared by the engine's files (not for connectors).
 *
 * A ts_txn is a small state machine: `step` is called by ts_txn_run; it
 * reads the replies of the batch it asked for last time (t->rep, or
 * t->store_failed), and either queues the next batch (returns
 * TS_NEED_STORE) or fills t->resp / t->opres (returns TS_DONE). `state`
 * says where in its flow the step function is. */
#ifndef TS_ENGINE_INT_H
#define TS_ENGINE_INT_H

#include <stdint.h>
#include "twostep.h"
#include "ts_arena.h"
#include "ts_buf.h"
#include "cookie.h"
#include "form.h"
#include "backup.h"
#include "pages.h"

#define TS_MAX_CMDS 4096

/* What the store says about one user (from HMGET of the user hash). */
typedef struct {
    int         enabled;
    uint64_t    epoch;
    const char *secret;       /* sealed */
    size_t      secret_len;
    int         alg, digits, period;
    int64_t     last_step;
    int64_t     since;
} ts_user_state;

struct ts_txn {
    ts_arena          arena;
    const ts_config  *cfg;
    ts_cache         *cache;
    ts_mode           mode;
    ts_request        req;
    ts_log_fn         log;
    void             *log_ctx;

    int             (*step)(ts_txn *t);
    int               state;
    int               done;

    ts_cmd           *cmds;
    size_t            ncmds, cmds_cap;
    ts_cmd           *tcmds;              /* trailer, see ts_trailer */
    size_t            ntcmds, tcmds_cap;
    int               trailing;
    ts_reply        **rep;
    size_t            nrep;
    int               store_failed;
    int               store_down_seen;   /* any batch of this txn failed */
    const char       *store_why;

    ts_response       resp;
    ts_buf            body;

    /* request facts, parsed once */
    const char       *user;
    size_t            user_len;
    const char       *page;      /* pages: path below cfg->path, "" = account */
    ts_form          *form;      /* pages only: 2 KB not paid per request */
    int               form_ok;
    const char       *ret;       /* validated return path */
    ts_cookie         cookie;
    int               cookie_ok; /* MAC, expiry, user and binding checked */
    uint64_t          cache_gen;

    /* flow scratch */
    ts_user_state     st;
    int64_t           matched_step;
    int               code_kind;          /* 1 TOTP, 2 backup */
    const char       *code_text;
    char              device[TS_DEVICE_LEN + 1];
    int               trust;
    const char       *target;             /* admin: the user acted upon */
    const char       *notice;
    const char       *error;
    int               sub;                /* sub-state of a shared step */
    int               render_status;
    const char       *account_error;
    int64_t           lock_left_ms;
    long long         attempt_n;          /* this attempt's number */
    int             (*code_ok)(ts_txn *t);
    int             (*code_fail)(ts_txn *t, int why);
    int               backup_left;
    char            (*codes)[TS_BACKUP_SHOWN];
    const char       *pending;            /* sealed pending secret */
    const char      **names;              /* admin page: users listed */
    const char       *admin_action;       /* admin POST: disable, ...  */
    int             (*after_gate)(ts_txn *t);
    const char       *gate_self;          /* page to come back to */
    int               gate_need_enrolled;
    size_t            nnames;

    /* admin operations */
    int               is_op;
    ts_op             op;
    ts_op_result      opres;
    ts_buf            optext, opjson;
};

/* ---- engine.c: commands, replies, responses, logging ----------------- */
const char *ts_rkey(ts_txn *t, const char *user, const char *suffix);
const char *ts_rkey_ip(ts_txn *t, const char *ip, const char *suffix);
const char *ts_rkey_global(ts_txn *t, const char *suffix);
/* Queues a command of NUL-terminated strings ending with NULL. */
void        ts_cmd_add(ts_txn *t, const char *arg0, ...);
void        ts_cmd_addv(ts_txn *t, int argc, const char **argv);
/* on: commands queued from now on go after the step's own commands and
 * nobody reads their replies (audit, counter resets, PUBLISH). */
void        ts_trailer(ts_txn *t, int on);
const ts_reply *ts_rep(ts_txn *t, size_t i);
int         ts_rep_is_err(const ts_reply *r);
long long   ts_rep_int(const ts_reply *r, long long dflt);
const char *ts_rep_str(const ts_reply *r);    /* NULL unless STRING/STATUS */
const ts_reply *ts_rep_elem(const ts_reply *r, size_t i);
/* True when any reply of the last batch is an error reply. */
int         ts_batch_has_error(ts_txn *t);

void ts_logf(ts_txn *t, ts_log_level lvl, const char *fmt, ...)
     __attribute__((format(printf, 3, 4)));
/* Logs an audit line and queues XADD to the audit stream. */
void ts_audit(ts_txn *t, const char *event, const char *user,
              const char *detail);

void ts_resp_header(ts_txn *t, const char *name, const char *value);
void ts_resp_page(ts_txn *t, int status);          /* body = t->body */
void ts_resp_redirect(ts_txn *t, const char *location);
void ts_resp_pass(ts_txn *t, const char *status_var);
void ts_resp_message(ts_txn *t, int status, ts_msg_kind kind, int64_t arg,
                     const char *detail);
void ts_page_ctx_fill(ts_txn *t, ts_page_ctx *ctx);
void ts_set_cookie(ts_txn *t, const char *value, int64_t max_age_s);
void ts_clear_cookie(ts_txn *t);
const char *ts_cookie_name(ts_txn *t);

int64_t ts_now_s(ts_txn *t);
/* Membership helpers that cope with no group file. */
int ts_is_enforced(ts_txn *t, const char *user);
int ts_is_admin(ts_txn *t, const char *user);

/* ---- state.c: reading the user's state ------------------------------- */
/* Queues HMGET of the user hash (fields in ts_user_state order). */
void ts_cmd_user_state(ts_txn *t, const char *user);
void ts_parse_user_state(ts_txn *t, const ts_reply *r, ts_user_state *st);
/* Queues EXISTS of the store marker; returns its reply index. */
void ts_cmd_marker(ts_txn *t);
int  ts_marker_ok(const ts_reply *r);

/* ---- scripts.c: the atomic steps (Lua) ------------------------------- */
void ts_cmd_attempt_reserve(ts_txn *t, const char *fail_key,
                            const char *lock_key, const ts_limit *l);
void ts_cmd_attempt_lock(ts_txn *t, const char *lock_key, const ts_limit *l);
void ts_cmd_accept_step(ts_txn *t, const char *user, int64_t step,
                        const char *sealed, const char *device,
                        const char *device_rec);
void ts_cmd_use_backup(ts_txn *t, const char *user, const char *norm,
                       const char *device, const char *device_rec);
void ts_cmd_enroll_pending(ts_txn *t, const char *user, const char *sealed);
void ts_cmd_enroll_save(ts_txn *t, const char *user, const char *sealed,
                        int alg, int digits, int period, int64_t step,
                        char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN]);
void ts_cmd_disable(ts_txn *t, const char *user);
void ts_cmd_backup_replace(ts_txn *t, const char *user,
                           char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN]);
void ts_cmd_touch_device(ts_txn *t, const char *user, const char *device);
void ts_cmd_decr_if(ts_txn *t, const char *key);
void ts_cmd_publish(ts_txn *t, const char *user);
/* "created|last_seen|ip|user-agent" of a new device. */
const char *ts_device_record(ts_txn *t);

/* ---- code.c: checking a typed code (TOTP or backup) ------------------ */
/* Classifies the typed code: 1 TOTP (digits of the user's length),
 * 2 backup code, 0 neither. */
int  ts_code_kind(const ts_user_state *st, const char *code);
/* TOTP: checks locally against the unsealed secret; 0 and matched step,
 * TS_EMISMATCH, or another error (logged). */
int  ts_code_totp(ts_txn *t, const char *user, const ts_user_state *st,
                  const char *code, int64_t *step);

/* ---- flow_code.c: the shared "check a code" sub-flow ----------------- */
enum { TS_CODE_WRONG = 1, TS_CODE_LOCKED, TS_CODE_STORE, TS_CODE_OFF,
       TS_CODE_NOMARKER };
/* Checks `code` for t->user (attempt limits, replay guard, backup code
 * consumption, a trusted device registered when t->trust and t->device
 * are set). Then calls ok(t) with t->st filled and t->st.epoch current,
 * or fail(t, TS_CODE_*) with t->lock_left_ms for TS_CODE_LOCKED. Both
 * return what a step returns. Returns TS_NEED_STORE. */
int ts_code_begin(ts_txn *t, const char *code, int (*ok)(ts_txn *t),
                  int (*fail)(ts_txn *t, int why));
/* Queues a lock when this attempt was the last one allowed; returns 1 if
 * it locked. Used by flows that check codes themselves (enrollment). */
int ts_code_count_failure(ts_txn *t, const char *event);
/* Queues the reservations of an attempt (user, IP): 2 commands. */
void ts_cmd_attempts(ts_txn *t);
/* Reads the 2 replies at index i; 0 allowed, or 1 locked (lock_left_ms). */
int ts_attempts_locked(ts_txn *t, size_t i);
/* After a success: user counter reset, IP attempt given back. */
void ts_cmd_attempts_success(ts_txn *t);

/* ---- flow_protect.c ------------------------------------------------- */
/* Sets t->cookie and t->cookie_ok (signature, expiry, user, binding). */
void ts_read_cookie(ts_txn *t);

/* ---- flow_enroll.c, flow_account.c, flow_admin.c --------------------- */
int ts_enroll_get(ts_txn *t);
int ts_enroll_post(ts_txn *t);
int ts_account_get(ts_txn *t);
/* Queues the account page's reads; renders it with error (or notice). */
int ts_account_render_begin(ts_txn *t, int status, const char *error);
int ts_disable_post(ts_txn *t);
int ts_backup_codes_post(ts_txn *t);
int ts_backup_download_post(ts_txn *t);
int ts_devices_revoke_post(ts_txn *t);
int ts_signout_post(ts_txn *t);
int ts_admin_get(ts_txn *t);
int ts_admin_post(ts_txn *t, const char *action);
/* Common answers of a failed code check on a page. */
int ts_page_code_failed(ts_txn *t, int why);
/* The page for a failed batch (store down, error reply) or, when
 * marker_at >= 0, a missing store marker in reply marker_at; -1 when the
 * batch is fine. */
int ts_page_store_failed(ts_txn *t, int marker_at);
#define TS_PAGE_STORE_CHECK(t, marker_at) do {                         \
        int rc_ = ts_page_store_failed((t), (marker_at));              \
        if (rc_ >= 0)                                                  \
            return rc_;                                                \
    } while (0)
/* The value of form field `name`, or NULL. */
const char *ts_form_value(ts_txn *t, const char *name);

/* ---- flow_gate.c: pages behind the second step ----------------------- */
/* Reads the user's state and device ids, then calls next(t) when this
 * browser passed the second step (or, unless need_enrolled, when the user
 * has no 2-step to pass); else 303 to verify (or enroll) with r = the
 * page `self` (below cfg->path). */
int ts_gate(ts_txn *t, int (*next)(ts_txn *t), const char *self,
            int need_enrolled);
/* With t->st and t->cookie read: 1 when the cookie is valid for the
 * current epoch and, for a device cookie, its id is among device_ids (a
 * list of ids, or of id/value pairs when pairs). */
int ts_verified_here(ts_txn *t, const ts_reply *device_ids, int pairs);
/* 303 to verify, coming back to `self`. */
int ts_gate_refuse(ts_txn *t, const char *self);

/* ---- flows ---------------------------------------------------------- */
int ts_flow_protect(ts_txn *t);
int ts_flow_pages(ts_txn *t);
int ts_flow_op(ts_txn *t);

#endif
