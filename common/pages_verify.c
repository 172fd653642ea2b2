/* The pages of signing in and setting up: verify, enroll, the backup
 * codes shown once, and the text file of their Download. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base32.h"
#include "pages.h"
#include "pages_int.h"
#include "ts_err.h"

/* ---- verify --------------------------------------------------------- */

int
ts_page_verify(ts_buf *out, const ts_page_ctx *ctx, int64_t trust_days,
               const char *error)
{
    if (out == NULL || ctx == NULL)
        return TS_EINVAL;
    ts_pg_head(out, ctx, "Two-step verification", 0);
    ts_buf_puts(out, "<p>Open your authenticator app and enter the code "
                     "it shows for ");
    ts_buf_puts_html(out, ts_pg_issuer(ctx));
    ts_buf_puts(out, ".</p>\n");
    ts_pg_alert(out, error);
    ts_pg_form(out, ctx, "/verify", "stack");
    ts_pg_hidden(out, "r", ts_pg_ret_str(ctx));
    ts_pg_code_field(out, "code", "code", "Verification code",
                     "The code your app shows now, or one of your backup "
                     "codes.", 0, 0, 1);
    if (trust_days > 0) {
        ts_buf_printf(out, "<div class=\"check\"><input type=\"checkbox\" "
                           "id=\"trust\" name=\"trust\" value=\"1\" "
                           "aria-describedby=\"trust-hint\">"
                           "<label for=\"trust\">Trust this computer for "
                           "%lld day%s</label></div>\n",
                      (long long)trust_days, trust_days == 1 ? "" : "s");
        ts_buf_puts(out, "<p class=\"hint\" id=\"trust-hint\">Only on a "
                         "computer or phone that is yours: it will not ask "
                         "for a code here again until then.</p>\n");
    }
    ts_buf_puts(out, "<button type=\"submit\">Verify</button>\n</form>\n");
    ts_buf_puts(out, "<p class=\"muted\">Lost your phone and your backup "
                     "codes? Ask your administrator to turn off 2-step "
                     "verification for your account, then set it up "
                     "again.</p>\n");
    ts_pg_foot(out, ctx, 0);
    return ts_pg_end(out);
}

/* ---- enroll --------------------------------------------------------- */

static void
ts_pg_enroll_intro(ts_buf *b, const ts_enroll_view *v)
{
    if (v->enforced)
        ts_buf_puts(b, "<p class=\"notice\" role=\"status\">Your "
                       "organisation requires 2-step verification for your "
                       "account. Set it up now to continue.</p>\n");
    if (v->need_current)
        ts_buf_puts(b, "<p>2-step verification is already on. Setting it "
                       "up again moves it to a new app: codes from the old "
                       "app stop working.</p>\n");
    else
        ts_buf_puts(b, "<p>You will need an authenticator app on your "
                       "phone, or a hardware token. It takes a minute.</p>\n");
}

static void
ts_pg_enroll_manual(ts_buf *b, const ts_page_ctx *ctx,
                    const ts_enroll_view *v)
{
    char grouped[256];
    const char *secret = v->secret_b32 ? v->secret_b32 : "";

    if (strlen(secret) > 160 ||
        ts_base32_grouped(secret, grouped, sizeof(grouped)) != 0)
        snprintf(grouped, sizeof(grouped), "%.160s", secret);
    ts_buf_puts(b, "<details>\n<summary>Can't scan? Enter this key"
                   "</summary>\n<p>In your app choose \xe2\x80\x9c" "Enter a "
                   "setup key\xe2\x80\x9d (or \xe2\x80\x9cManual entry\xe2\x80"
                   "\x9d) and type:</p>\n<dl>\n<dt>Key</dt><dd><code "
                   "class=\"mono secret\">");
    ts_buf_puts_html(b, grouped);
    ts_buf_puts(b, "</code></dd>\n<dt>Account</dt><dd>");
    ts_buf_puts_html(b, ctx->user ? ctx->user : "");
    ts_buf_puts(b, "</dd>\n<dt>Issuer</dt><dd>");
    ts_buf_puts_html(b, ts_pg_issuer(ctx));
    ts_buf_puts(b, "</dd>\n<dt>Type</dt><dd>Time-based (TOTP)</dd>\n"
                   "<dt>Algorithm</dt><dd>");
    ts_buf_puts_html(b, v->alg_name ? v->alg_name : "SHA1");
    ts_buf_printf(b, "</dd>\n<dt>Digits</dt><dd>%d</dd>\n<dt>Period</dt>"
                     "<dd>%d seconds</dd>\n</dl>\n", v->digits, v->period);
    ts_buf_puts(b, "<p class=\"hint\">The spaces are only for reading; "
                   "apps accept the key with or without them. A "
                   "programmable hardware token takes the same key and "
                   "settings.</p>\n</details>\n");
}

static void
ts_pg_enroll_step1(ts_buf *b, const ts_page_ctx *ctx,
                   const ts_enroll_view *v)
{
    ts_buf_puts(b, "<h2>1. Scan the code</h2>\n<p>Scan this QR code with "
                   "your authenticator app (Google Authenticator, Microsoft "
                   "Authenticator, WinAuth, ...).</p>\n");
    if (v->qr_svg && v->qr_svg[0]) {
        /* our own markup from ts_qr_svg, not user input */
        ts_buf_puts(b, "<div class=\"qr\">");
        ts_buf_puts(b, v->qr_svg);
        ts_buf_puts(b, "</div>\n");
    }
    ts_buf_puts(b, "<p><a class=\"button secondary\" href=\"");
    ts_buf_puts_html(b, v->uri ? v->uri : "");
    ts_buf_puts(b, "\">Open in an authenticator app on this device</a></p>\n");
    ts_pg_enroll_manual(b, ctx, v);
}

static void
ts_pg_enroll_step2(ts_buf *b, const ts_page_ctx *ctx,
                   const ts_enroll_view *v)
{
    char label[64];
    int digits = v->digits > 0 && v->digits <= 10 ? v->digits : 6;

    ts_buf_puts(b, "<h2>2. Type the code from the app</h2>\n");
    ts_pg_form(b, ctx, "/enroll", "stack");
    ts_pg_hidden(b, "r", ts_pg_ret_str(ctx));
    if (v->need_current)
        ts_pg_code_field(b, "current", "current",
                         "Code from your current app, or a backup code",
                         "This confirms it is you before the old app is "
                         "replaced.", 0, 0, 0);
    snprintf(label, sizeof(label), "%d-digit code from the new app",
             digits);
    ts_pg_code_field(b, "code", "code", label,
                     "2-step verification is turned on only once this code "
                     "is accepted.", 1, digits, 0);
    ts_buf_puts(b, "<button type=\"submit\">Verify and save</button>\n"
                   "</form>\n");
}

int
ts_page_enroll(ts_buf *out, const ts_page_ctx *ctx,
               const ts_enroll_view *v, const char *error)
{
    if (out == NULL || ctx == NULL || v == NULL)
        return TS_EINVAL;
    ts_pg_head(out, ctx, "Set up 2-step verification", 0);
    ts_pg_enroll_intro(out, v);
    ts_pg_alert(out, error);
    ts_pg_enroll_step1(out, ctx, v);
    ts_pg_enroll_step2(out, ctx, v);
    if (!v->enforced || v->need_current) {
        ts_buf_puts(out, "<p><a href=\"");
        ts_pg_url(out, ctx, "/");
        ts_buf_puts(out, "\">Cancel</a></p>\n");
    }
    ts_pg_foot(out, ctx, 0);
    return ts_pg_end(out);
}

/* ---- backup codes --------------------------------------------------- */

int
ts_page_backup_codes(ts_buf *out, const ts_page_ctx *ctx,
                     char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN],
                     int fresh_enrollment)
{
    ts_buf joined;
    size_t i;

    if (out == NULL || ctx == NULL || codes == NULL)
        return TS_EINVAL;
    ts_pg_head(out, ctx, "Your backup codes", 0);
    if (fresh_enrollment)
        ts_pg_notice(out, "2-step verification is now on.");
    ts_buf_puts(out, "<p>Each backup code works once, in place of a code "
                     "from your app: for when your phone is lost, broken or "
                     "not at hand. Keep them somewhere safe, for example "
                     "printed or in a password manager.</p>\n");
    ts_buf_puts(out, "<p><strong>They are shown only now.</strong>");
    if (!fresh_enrollment)
        ts_buf_puts(out, " Your older backup codes no longer work.");
    ts_buf_puts(out, "</p>\n<ol class=\"codes\">\n");
    ts_buf_init(&joined);
    for (i = 0; i < TS_BACKUP_COUNT; i++) {
        size_t n = strnlen(codes[i], TS_BACKUP_SHOWN - 1);

        ts_buf_puts(out, "<li>");
        ts_buf_put_html(out, codes[i], n);
        ts_buf_puts(out, "</li>\n");
        if (i)
            ts_buf_putc(&joined, ' ');
        ts_buf_put(&joined, codes[i], n);
    }
    ts_buf_puts(out, "</ol>\n");
    ts_pg_form(out, ctx, "/backup-codes/download", NULL);
    ts_pg_hidden(out, "codes", ts_buf_str(&joined));
    ts_buf_puts(out, "<button type=\"submit\" class=\"secondary\">Download"
                     "</button>\n</form>\n<p><a class=\"button\" href=\"");
    ts_pg_ret(out, ctx);
    ts_buf_puts(out, "\">Continue</a></p>\n");
    ts_pg_foot(out, ctx, 0);
    if (joined.oom)
        out->oom = 1;
    ts_buf_free(&joined);
    return ts_pg_end(out);
}

/* Plain text for a file: control bytes (a forged line, a terminal escape)
 * are dropped; everything else is kept as typed. */
static void
ts_pg_text(ts_buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != 0x7f)
            ts_buf_putc(b, (char)c);
    }
}

int
ts_backup_codes_text(ts_buf *out, const char *issuer, const char *user,
                     const char *const *codes, size_t n, int64_t now)
{
    struct tm tm;
    time_t t = (time_t)now;
    char date[64] = "unknown date";
    size_t i;

    if (out == NULL || (codes == NULL && n > 0))
        return TS_EINVAL;
    if (now > 0 && gmtime_r(&t, &tm))
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
    ts_buf_puts(out, "Backup codes for 2-step verification\n");
    if (issuer && issuer[0]) {
        ts_buf_puts(out, "Site: ");
        ts_pg_text(out, issuer);
        ts_buf_putc(out, '\n');
    }
    ts_buf_puts(out, "User: ");
    ts_pg_text(out, user);
    ts_buf_printf(out, "\nCreated: %s\n\n", date);
    ts_buf_puts(out, "Each code works once, in place of a code from your "
                     "authenticator app.\nKeep this file somewhere safe. "
                     "Making new codes voids these.\n\n");
    for (i = 0; i < n; i++) {
        if (codes[i] == NULL || codes[i][0] == '\0')
            continue;
        ts_pg_text(out, codes[i]);
        ts_buf_putc(out, '\n');
    }
    return ts_pg_end(out);
}
