/* The account page (status, backup codes, new phone, disable, trusted
 * devices, sign-out) and the admin page (a table of users). */
#include <stdio.h>
#include <string.h>

#include "pages.h"
#include "pages_int.h"
#include "ts_err.h"

/* ---- account -------------------------------------------------------- */

static void
ts_pg_acct_status(ts_buf *b, const ts_page_ctx *ctx, const ts_account_view *v)
{
    if (!v->enabled) {
        ts_buf_puts(b, "<p>2-step verification is <strong>off</strong>. "
                       "Turn it on to protect your account with a code "
                       "from your phone as well as your password.</p>\n");
        if (v->enforced)
            ts_buf_puts(b, "<p>Your organisation requires it for your "
                           "account: set it up now.</p>\n");
        ts_buf_puts(b, "<p><a class=\"button\" href=\"");
        ts_pg_url(b, ctx, "/enroll");
        ts_buf_puts(b, "\">Enable 2-step verification</a></p>\n");
        return;
    }
    ts_buf_puts(b, "<p>2-step verification is <strong>on</strong>");
    if (v->enabled_since > 0) {
        ts_buf_puts(b, " since ");
        ts_pg_date(b, v->enabled_since);
    }
    ts_buf_puts(b, ".</p>\n");
}

static void
ts_pg_acct_backup(ts_buf *b, const ts_page_ctx *ctx, const ts_account_view *v)
{
    int left = v->backup_left > 0 ? v->backup_left : 0;

    ts_buf_puts(b, "<h2>Backup codes</h2>\n");
    if (left == 0)
        ts_buf_puts(b, "<p class=\"alert\" role=\"alert\">You have no "
                       "backup codes left. Make new ones now, so you can "
                       "still sign in without your phone.</p>\n");
    else
        ts_buf_printf(b, "<p>You have %d unused backup code%s.%s</p>\n",
                      left, left == 1 ? "" : "s",
                      left <= 3 ? " Make new ones soon." : "");
    ts_pg_form(b, ctx, "/backup-codes", "stack");
    ts_pg_code_field(b, "bc-code", "code", "Code from your app, or a backup "
                     "code", "New codes replace all the old ones.", 0, 0, 0);
    ts_buf_puts(b, "<button type=\"submit\">New backup codes</button>\n"
                   "</form>\n");
}

static void
ts_pg_acct_phone(ts_buf *b, const ts_page_ctx *ctx)
{
    ts_buf_puts(b, "<h2>New phone</h2>\n<p>Moving to a new phone or app? "
                   "Set it up again: the old app stops working.</p>\n"
                   "<p><a class=\"button secondary\" href=\"");
    ts_pg_url(b, ctx, "/enroll");
    ts_buf_puts(b, "\">Set up a new phone</a></p>\n");
}

static void
ts_pg_acct_disable(ts_buf *b, const ts_page_ctx *ctx, const ts_account_view *v)
{
    ts_buf_puts(b, "<h2>Turn off</h2>\n");
    if (v->enforced) {
        ts_buf_puts(b, "<p>Your organisation requires 2-step verification "
                       "for your account, so it cannot be turned off here. "
                       "Ask your administrator if this is a problem.</p>\n");
        return;
    }
    ts_pg_form(b, ctx, "/disable", "stack");
    ts_pg_code_field(b, "dis-code", "code", "Code from your app, or a "
                     "backup code", "Turning it off also forgets every "
                     "trusted computer.", 0, 0, 0);
    ts_buf_puts(b, "<button type=\"submit\" class=\"danger\">Disable 2-step"
                   "</button>\n</form>\n");
}

static void
ts_pg_revoke_form(ts_buf *b, const ts_page_ctx *ctx, const char *device,
                  const char *label)
{
    ts_pg_form(b, ctx, "/devices/revoke", NULL);
    ts_pg_hidden(b, "device", device);
    ts_buf_printf(b, "<button type=\"submit\" class=\"danger\">%s</button>\n"
                     "</form>\n", label);
}

static void
ts_pg_acct_device(ts_buf *b, const ts_page_ctx *ctx, const ts_device_view *d)
{
    ts_buf_puts(b, "<tr><td>");
    ts_pg_ua(b, d->user_agent);
    if (d->current)
        ts_buf_puts(b, " <strong>(this browser)</strong>");
    ts_buf_puts(b, "</td><td data-label=\"IP address\"><span "
                   "class=\"mono\">");
    ts_buf_puts_html(b, d->ip ? d->ip : "");
    ts_buf_puts(b, "</span></td><td data-label=\"Added\">");
    ts_pg_date(b, d->created);
    ts_buf_puts(b, "</td><td data-label=\"Last used\">");
    ts_pg_date(b, d->last_seen);
    ts_buf_puts(b, "</td><td>");
    ts_pg_revoke_form(b, ctx, d->id ? d->id : "", "Revoke");
    ts_buf_puts(b, "</td></tr>\n");
}

static void
ts_pg_acct_devices(ts_buf *b, const ts_page_ctx *ctx,
                   const ts_account_view *v)
{
    size_t i;

    ts_buf_puts(b, "<h2>Trusted computers</h2>\n");
    if (v->ndevices == 0 || v->devices == NULL) {
        ts_buf_puts(b, "<p>None. When you tick \xe2\x80\x9cTrust this "
                       "computer\xe2\x80\x9d while entering a code, that "
                       "browser is listed here.</p>\n");
        return;
    }
    ts_buf_puts(b, "<p>These browsers do not ask for a code. Revoke any you "
                   "do not recognise or no longer use.</p>\n"
                   "<div class=\"scroll\"><table class=\"cards\">\n"
                   "<thead><tr><th>Browser</th><th>IP address</th>"
                   "<th>Added</th><th>Last used</th>"
                   "<th><span class=\"muted\">Action</span></th></tr>"
                   "</thead>\n<tbody>\n");
    for (i = 0; i < v->ndevices; i++)
        ts_pg_acct_device(b, ctx, &v->devices[i]);
    ts_buf_puts(b, "</tbody>\n</table></div>\n");
    ts_pg_revoke_form(b, ctx, "all", "Revoke all");
}

static void
ts_pg_acct_signout(ts_buf *b, const ts_page_ctx *ctx)
{
    ts_buf_puts(b, "<h2>Sign out</h2>\n<p>Forget the verification on this "
                   "browser: it will ask for a code again next time.</p>\n");
    ts_pg_form(b, ctx, "/signout", "stack");
    ts_buf_puts(b, "<button type=\"submit\" class=\"secondary\">Sign out"
                   "</button>\n</form>\n");
}

int
ts_page_account(ts_buf *out, const ts_page_ctx *ctx,
                const ts_account_view *v)
{
    if (out == NULL || ctx == NULL || v == NULL)
        return TS_EINVAL;
    ts_pg_head(out, ctx, "2-step verification", v->ndevices > 0);
    ts_pg_notice(out, v->notice);
    ts_pg_alert(out, v->error);
    ts_pg_acct_status(out, ctx, v);
    if (v->enabled) {
        ts_pg_acct_backup(out, ctx, v);
        ts_pg_acct_phone(out, ctx);
        ts_pg_acct_disable(out, ctx, v);
    }
    if (v->enabled || v->ndevices > 0)
        ts_pg_acct_devices(out, ctx, v);
    if (v->enabled)
        ts_pg_acct_signout(out, ctx);
    if (ctx->is_admin) {
        ts_buf_puts(out, "<p><a href=\"");
        ts_pg_url(out, ctx, "/admin");
        ts_buf_puts(out, "\">Administration: all users</a></p>\n");
    }
    ts_pg_foot(out, ctx, 1);
    return ts_pg_end(out);
}

/* ---- admin ---------------------------------------------------------- */

static void
ts_pg_admin_form(ts_buf *b, const ts_page_ctx *ctx, const char *path,
                 const char *user, const char *cls, const char *label)
{
    ts_pg_form(b, ctx, path, NULL);
    ts_pg_hidden(b, "user", user);
    ts_buf_printf(b, "<button type=\"submit\" class=\"%s\">%s</button>\n"
                     "</form>\n", cls, label);
}

static void
ts_pg_admin_row(ts_buf *b, const ts_page_ctx *ctx, const ts_admin_row *r)
{
    const char *user = r->user ? r->user : "";
    char d[64];

    ts_buf_puts(b, "<tr><td><strong>");
    ts_buf_puts_html(b, user);
    ts_buf_puts(b, "</strong>");
    ts_buf_printf(b, "</td><td data-label=\"2-step\">%s</td>"
                     "<td data-label=\"Required\">%s</td>"
                     "<td data-label=\"Devices\">%d</td>"
                     "<td data-label=\"Backup codes\">%d</td>"
                     "<td data-label=\"Locked\">",
                  r->enabled ? "on" : "off", r->enforced ? "yes" : "no",
                  r->ndevices > 0 ? r->ndevices : 0,
                  r->backup_left > 0 ? r->backup_left : 0);
    if (r->locked_for > 0) {
        ts_format_duration(r->locked_for, d, sizeof(d));
        ts_buf_puts(b, "<strong>locked</strong>, ");
        ts_buf_puts_html(b, d);
        ts_buf_puts(b, " left");
    } else {
        ts_buf_puts(b, "no");
    }
    ts_buf_puts(b, "</td><td>");
    if (r->enabled)
        ts_pg_admin_form(b, ctx, "/admin/disable", user, "danger",
                         "Disable");
    ts_pg_admin_form(b, ctx, "/admin/revoke", user, "danger",
                     "Revoke devices");
    if (r->locked_for > 0)
        ts_pg_admin_form(b, ctx, "/admin/unlock", user, "secondary",
                         "Unlock");
    ts_buf_puts(b, "</td></tr>\n");
}

int
ts_page_admin(ts_buf *out, const ts_page_ctx *ctx, const ts_admin_row *rows,
              size_t n, const char *notice, const char *error)
{
    size_t i;

    if (out == NULL || ctx == NULL || (rows == NULL && n > 0))
        return TS_EINVAL;
    ts_pg_head(out, ctx, "2-step verification: all users", 1);
    ts_pg_notice(out, notice);
    ts_pg_alert(out, error);
    if (n == 0) {
        ts_buf_puts(out, "<p>No one has set up 2-step verification yet."
                         "</p>\n");
    } else {
        ts_buf_puts(out, "<p>Disable turns 2-step off for that user and "
                         "forgets their trusted computers; they can set it "
                         "up again at their next sign-in. Every action is "
                         "recorded in the audit log with your name.</p>\n"
                         "<div class=\"scroll\"><table class=\"cards\">\n"
                         "<thead><tr>"
                         "<th>User</th><th>2-step</th><th>Required</th>"
                         "<th>Devices</th><th>Backup codes</th>"
                         "<th>Locked</th><th>Actions</th></tr></thead>\n"
                         "<tbody>\n");
        for (i = 0; i < n; i++)
            ts_pg_admin_row(out, ctx, &rows[i]);
        ts_buf_puts(out, "</tbody>\n</table></div>\n");
    }
    ts_buf_puts(out, "<p><a href=\"");
    ts_pg_url(out, ctx, "/");
    ts_buf_puts(out, "\">Back to your 2-step settings</a></p>\n");
    ts_pg_foot(out, ctx, 1);
    return ts_pg_end(out);
}
