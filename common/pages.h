/* HTML pages of twostep. Plain HTML5, one small inline stylesheet (its
 * sha256 goes into the Content-Security-Policy, see ts_page_csp), no script,
 * no external asset; readable on a 375 px phone and on a desktop. Every
 * user-supplied string is escaped. Every message says what to do next.
 * Every form POSTs to a page under ctx->base and carries csrf and r. */
#ifndef TS_PAGES_H
#define TS_PAGES_H

#include <stddef.h>
#include <stdint.h>
#include "ts_buf.h"
#include "backup.h"

typedef struct {
    const char *base;     /* URL prefix of the pages, "/twostep" */
    const char *issuer;   /* site name shown in titles */
    const char *user;     /* signed-in (first factor) user, may be NULL */
    const char *csrf;     /* token for forms */
    const char *ret;      /* return path (already validated), "/" default */
    int         is_admin; /* show a link to the admin page */
} ts_page_ctx;

/* The value of the Content-Security-Policy header for every page. */
const char *ts_page_csp(void);

/* Verify: one field "code" (autocomplete=one-time-code, inputmode=numeric
 * is wrong for backup codes, so: inputmode="text", pattern-free, with a
 * hint "6-digit code or a backup code"), checkbox "trust" (value 1) labelled
 * "Trust this computer for N days" when trust_days > 0, hidden csrf and r,
 * button "Verify". error: NULL or a message shown above the form
 * (role=alert). Also a "Sign out" link is not needed here. */
int ts_page_verify(ts_buf *out, const ts_page_ctx *ctx, int64_t trust_days,
                   const char *error);

typedef struct {
    const char *uri;          /* otpauth:// URI: the QR and a tappable link */
    const char *qr_svg;       /* inline <svg> of the URI */
    const char *secret_b32;   /* unpadded base32; shown grouped by four */
    const char *alg_name;     /* "SHA1" */
    int         digits;
    int         period;
    int         need_current; /* already enabled: also ask field "current"
                                 (code from the current app or a backup
                                 code) before replacing it */
    int         enforced;     /* the group policy requires 2-step: say so */
} ts_enroll_view;

/* Enroll: steps 1 scan (QR + link "Open in authenticator app" + manual
 * entry secret in groups of four with the parameters), 2 type the first
 * code: field "code" (autocomplete=one-time-code, inputmode=numeric,
 * maxlength digits), button "Verify and save". */
int ts_page_enroll(ts_buf *out, const ts_page_ctx *ctx,
                   const ts_enroll_view *v, const char *error);

/* Backup codes, shown once: the 10 codes in a list, the warning that they
 * are shown only now, a form POSTing to base "/backup-codes/download" with
 * hidden fields csrf and codes (the codes joined by spaces) and a button
 * "Download" (so the server echoes them as a text file: nothing stored), and
 * a "Continue" link to ctx->ret. `fresh_enrollment` adds "2-step
 * verification is now on". */
int ts_page_backup_codes(ts_buf *out, const ts_page_ctx *ctx,
                         char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN],
                         int fresh_enrollment);
/* The text file of the Download: a heading with issuer, user and date,
 * then one code a line. */
int ts_backup_codes_text(ts_buf *out, const char *issuer, const char *user,
                         const char *const *codes, size_t n, int64_t now);

typedef struct {
    const char *id;           /* device id (form value for revoke) */
    int64_t     created;      /* unix seconds */
    int64_t     last_seen;
    const char *ip;
    const char *user_agent;   /* shown shortened: "Chrome on Linux" style,
                                 full string in a title attribute */
    int         current;      /* this browser */
} ts_device_view;

typedef struct {
    int                   enabled;
    int                   enforced;       /* policy requires it */
    int64_t               enabled_since;  /* unix seconds, 0 unknown */
    int                   backup_left;    /* unused backup codes */
    const ts_device_view *devices;
    size_t                ndevices;
    const char           *notice;         /* NULL or a success message */
    const char           *error;          /* NULL or an error message */
} ts_account_view;

/* Account: status; when off an "Enable" button (GET link to base/enroll);
 * when on: a form POST base/disable (field code, button "Disable 2-step",
 * not offered when enforced: say the policy requires it), a form POST
 * base/backup-codes (field code, button "New backup codes"), a link to set
 * up a new phone (base/enroll), the trusted devices table (created, last
 * seen, IP, browser, a revoke form each: POST base/devices/revoke with
 * device=ID; and one with device=all "Revoke all"), a sign-out form POST
 * base/signout, and a link to base/admin when ctx->is_admin. */
int ts_page_account(ts_buf *out, const ts_page_ctx *ctx,
                    const ts_account_view *v);

typedef struct {
    const char *user;
    int         enabled;
    int         enforced;
    int         ndevices;
    int         backup_left;
    int64_t     locked_for;   /* seconds of lockout left, 0 none */
} ts_admin_row;

/* Admin: a table of users (name, 2-step on/off, required by policy,
 * devices, backup codes left, locked), per row forms POST base/admin/disable
 * (user=NAME, "Disable"), base/admin/revoke (user=NAME, "Revoke devices"),
 * base/admin/unlock (user=NAME, only when locked). notice/error as above. */
int ts_page_admin(ts_buf *out, const ts_page_ctx *ctx,
                  const ts_admin_row *rows, size_t n, const char *notice,
                  const char *error);

typedef enum {
    TS_MSG_LOCKED,        /* too many attempts; arg = seconds left */
    TS_MSG_STORE_DOWN,    /* 503: the verification service is unavailable */
    TS_MSG_NOT_ALLOWED,   /* 403: admin page for a non-admin, no user */
    TS_MSG_BAD_REQUEST,   /* 400: stale/missing form token, bad input */
    TS_MSG_SIGNED_OUT,    /* signed out on this browser */
    TS_MSG_NOT_FOUND,     /* 404: no such page under base */
    TS_MSG_NOT_ENROLLED   /* verify asked but 2-step is off: link enroll */
} ts_msg_kind;

/* A message page: a heading, one paragraph saying what happened and what
 * to do next ("Try again in 14 minutes", "Reload this page in a minute;
 * if it persists, tell your administrator"), and a link onward. detail: an
 * extra sentence or NULL. arg: seconds for TS_MSG_LOCKED. */
int ts_page_message(ts_buf *out, const ts_page_ctx *ctx, ts_msg_kind kind,
                    int64_t arg, const char *detail);

/* "14 minutes", "1 hour 5 minutes", "30 seconds": for messages. */
void ts_format_duration(int64_t seconds, char *out, size_t cap);

#endif
