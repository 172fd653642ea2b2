/* The message pages: one heading, what happened, what to do next, and a
 * link onward (lockout, store down, not allowed, stale form, signed out,
 * not found, not enrolled). */
#include <string.h>

#include "pages.h"
#include "pages_int.h"
#include "ts_err.h"

static void
ts_pg_link(ts_buf *b, const ts_page_ctx *ctx, const char *path,
           const char *text)
{
    ts_buf_puts(b, "<p><a class=\"button\" href=\"");
    if (path)
        ts_pg_url(b, ctx, path);
    else
        ts_pg_ret(b, ctx);
    ts_buf_printf(b, "\">%s</a></p>\n", text);
}

static void
ts_pg_msg_body(ts_buf *b, const ts_page_ctx *ctx, ts_msg_kind kind,
               int64_t arg)
{
    char d[64];

    switch (kind) {
    case TS_MSG_LOCKED:
        ts_format_duration(arg, d, sizeof(d));
        ts_buf_puts(b, "<p class=\"alert\" role=\"alert\">There were too "
                       "many wrong codes, so checking codes is paused for "
                       "your account. Try again in ");
        ts_buf_puts_html(b, d);
        ts_buf_puts(b, ".</p>\n<p>Use the newest code from your app, or "
                       "one of your backup codes. If you did not try to "
                       "sign in, tell your administrator.</p>\n");
        break;
    case TS_MSG_STORE_DOWN:
        ts_buf_puts(b, "<p class=\"alert\" role=\"alert\">The service that "
                       "checks verification codes is not answering right "
                       "now, so this page cannot be opened.</p>\n<p>Reload "
                       "this page in a minute; if it persists, tell your "
                       "administrator.</p>\n");
        break;
    case TS_MSG_NOT_ALLOWED:
        if (ctx->user && ctx->user[0])
            ts_buf_puts(b, "<p class=\"alert\" role=\"alert\">This page is "
                           "only for administrators of 2-step verification."
                           "</p>\n<p>If you need access, ask your "
                           "administrator to add you to an admin group."
                           "</p>\n");
        else
            ts_buf_puts(b, "<p class=\"alert\" role=\"alert\">This page "
                           "needs you to be signed in first, and no "
                           "sign-in reached it.</p>\n<p>Close the browser, "
                           "open the site again and sign in; if it "
                           "persists, tell your administrator.</p>\n");
        break;
    case TS_MSG_BAD_REQUEST:
        ts_buf_puts(b, "<p class=\"alert\" role=\"alert\">This form has "
                       "expired or was sent twice, so nothing was changed."
                       "</p>\n<p>Go back, reload the page and try "
                       "again.</p>\n");
        break;
    case TS_MSG_SIGNED_OUT:
        ts_buf_puts(b, "<p class=\"notice\" role=\"status\">You are signed "
                       "out of 2-step verification on this browser.</p>\n"
                       "<p>Next time you open a protected page you will be "
                       "asked for a code again. To end your sign-in "
                       "completely, close the browser.</p>\n");
        break;
    case TS_MSG_NOT_FOUND:
        ts_buf_puts(b, "<p class=\"alert\" role=\"alert\">There is no page "
                       "at this address.</p>\n<p>Check the link, or go to "
                       "your 2-step settings.</p>\n");
        break;
    case TS_MSG_NOT_ENROLLED:
    default:
        ts_buf_puts(b, "<p class=\"notice\" role=\"status\">2-step "
                       "verification is off for your account, so there is "
                       "no code to enter.</p>\n<p>Set it up to protect your "
                       "account with a code from your phone.</p>\n");
        break;
    }
}

static const char *
ts_pg_msg_title(ts_msg_kind kind)
{
    switch (kind) {
    case TS_MSG_LOCKED:       return "Too many attempts";
    case TS_MSG_STORE_DOWN:   return "Verification unavailable";
    case TS_MSG_NOT_ALLOWED:  return "Access denied";
    case TS_MSG_BAD_REQUEST:  return "This form has expired";
    case TS_MSG_SIGNED_OUT:   return "Signed out";
    case TS_MSG_NOT_FOUND:    return "Page not found";
    default:                  return "2-step verification is off";
    }
}

static void
ts_pg_msg_link(ts_buf *b, const ts_page_ctx *ctx, ts_msg_kind kind)
{
    const char *r = ts_pg_ret_str(ctx);

    switch (kind) {
    case TS_MSG_LOCKED:
        ts_buf_puts(b, "<p><a class=\"button\" href=\"");
        ts_pg_url(b, ctx, "/verify?r=");
        /* percent-encoded output is plain ASCII, safe in an attribute */
        ts_buf_put_urlenc(b, r, strlen(r));
        ts_buf_puts(b, "\">Back to the code page</a></p>\n");
        break;
    case TS_MSG_STORE_DOWN:
        ts_pg_link(b, ctx, NULL, "Reload");
        break;
    case TS_MSG_NOT_ALLOWED:
        ts_pg_link(b, ctx, NULL, "Go back");
        break;
    case TS_MSG_BAD_REQUEST:
    case TS_MSG_NOT_FOUND:
        ts_pg_link(b, ctx, "/", "Your 2-step settings");
        break;
    case TS_MSG_SIGNED_OUT:
        ts_pg_link(b, ctx, NULL, "Continue");
        break;
    default:
        ts_pg_link(b, ctx, "/enroll", "Set up 2-step verification");
        break;
    }
}

int
ts_page_message(ts_buf *out, const ts_page_ctx *ctx, ts_msg_kind kind,
                int64_t arg, const char *detail)
{
    if (out == NULL || ctx == NULL)
        return TS_EINVAL;
    ts_pg_head(out, ctx, ts_pg_msg_title(kind), 0);
    ts_pg_msg_body(out, ctx, kind, arg);
    if (detail && detail[0]) {
        ts_buf_puts(out, "<p>");
        ts_buf_puts_html(out, detail);
        ts_buf_puts(out, "</p>\n");
    }
    ts_pg_msg_link(out, ctx, kind);
    ts_pg_foot(out, ctx, 0);
    return ts_pg_end(out);
}
