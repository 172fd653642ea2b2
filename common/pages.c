/* HTML pages: the shared layout (head, stylesheet, footer), the
 * Content-Security-Policy and small formatting helpers. The page bodies
 * live in pages_verify.c, pages_account.c and pages_message.c. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "pages.h"
#include "pages_int.h"
#include "ts_err.h"

/* The one stylesheet. Its exact bytes are hashed into the CSP: any edit
 * here changes the hash automatically (ts_page_csp), nothing else to do. */
static const char ts_pg_css[] =
    ":root{color-scheme:light dark;--bg:#f3f4f6;--fg:#111827;"
    "--muted:#4b5563;--card:#fff;--line:#c4c9d1;--accent:#1d4ed8;"
    "--accent-fg:#fff;--danger:#b91c1c;--ok-bg:#ecfdf5;--ok:#065f46;"
    "--err-bg:#fef2f2;--err:#991b1b}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0f172a;--fg:#f8fafc;"
    "--muted:#cbd5e1;--card:#1e293b;--line:#64748b;--accent:#93c5fd;"
    "--accent-fg:#0f172a;--ok-bg:#052e16;--ok:#bbf7d0;--err-bg:#450a0a;"
    "--err:#fecaca}}"
    "*{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    "body{margin:0;padding:1rem;background:var(--bg);color:var(--fg);"
    "font:1rem/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"Helvetica Neue\",Arial,sans-serif}"
    "main{max-width:32rem;margin:1.5rem auto;padding:1.5rem;"
    "background:var(--card);border:1px solid var(--line);"
    "border-radius:.75rem}"
    "main.wide{max-width:64rem}"
    ".site{margin:0 0 .25rem;color:var(--muted);font-size:.875rem}"
    "h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}"
    "h2{font-size:1.125rem;margin:1.75rem 0 .5rem}"
    "a{color:var(--accent)}"
    "label{display:block;font-weight:600;margin:1rem 0 .25rem}"
    "input[type=text]{display:block;width:100%;min-height:3rem;"
    "padding:.5rem .75rem;font:inherit;font-size:1.25rem;color:var(--fg);"
    "background:var(--card);border:2px solid var(--line);"
    "border-radius:.5rem}"
    "input:focus-visible,button:focus-visible,a:focus-visible,"
    "summary:focus-visible{outline:3px solid var(--accent);"
    "outline-offset:2px}"
    ".check{display:flex;gap:.75rem;align-items:center;margin:1rem 0 0}"
    ".check input{width:1.5rem;height:1.5rem;margin:0;flex:none}"
    ".check label{margin:0;font-weight:400}"
    "button,.button{display:inline-block;min-height:3rem;margin:1rem 0 0;"
    "padding:.625rem 1.25rem;font:inherit;font-weight:600;"
    "line-height:1.5;text-align:center;text-decoration:none;"
    "cursor:pointer;color:var(--accent-fg);background:var(--accent);"
    "border:2px solid var(--accent);border-radius:.5rem}"
    ".secondary{color:var(--accent);background:transparent}"
    ".danger{color:#fff;background:var(--danger);border-color:var(--danger)}"
    "td button{min-height:2.75rem;margin:0 .25rem .25rem 0;"
    "padding:.375rem .75rem}"
    ".hint,.muted{color:var(--muted);font-size:.9375rem}"
    ".hint{margin:.25rem 0 0}"
    ".alert,.notice{margin:1rem 0;padding:.75rem 1rem;border-radius:.5rem;"
    "border-left:.375rem solid}"
    ".alert{color:var(--err);background:var(--err-bg)}"
    ".notice{color:var(--ok);background:var(--ok-bg)}"
    ".mono,.codes{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"
    "\"Liberation Mono\",monospace;letter-spacing:.12em}"
    ".secret{font-size:1.125rem;word-spacing:.3em;overflow-wrap:anywhere}"
    ".codes{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(9.5rem,1fr));gap:.5rem;margin:1rem 0;padding:0;"
    "list-style:none;font-size:1.0625rem;letter-spacing:.08em}"
    ".codes li{padding:.375rem .5rem;text-align:center;white-space:nowrap;"
    "border:1px solid var(--line);border-radius:.375rem}"
    ".qr{max-width:18rem;margin:1rem auto;padding:.75rem;background:#fff;"
    "border-radius:.5rem}"
    ".qr svg{display:block;width:100%;height:auto}"
    "details{margin:1rem 0;padding:0 .75rem;border:1px solid var(--line);"
    "border-radius:.5rem}"
    "summary{padding:.625rem 0;cursor:pointer;font-weight:600}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}"
    "dt{color:var(--muted)}dd{margin:0}"
    ".scroll{overflow-x:auto}"
    "table{width:100%;border-collapse:collapse;font-size:.9375rem}"
    "th{white-space:nowrap}"
    "th,td{padding:.5rem .375rem;text-align:left;vertical-align:top;"
    "border-bottom:1px solid var(--line)}"
    "td form{display:inline}"
    ".nowrap{white-space:nowrap}"
    "footer{margin-top:2rem;color:var(--muted);font-size:.875rem}"
    "@media (max-width:30rem){body{padding:.5rem}"
    "main{margin:.5rem auto;padding:1rem}"
    ".stack button,a.button{width:100%}"
    ".cards thead{display:none}.cards tr,.cards td{display:block}"
    ".cards tr{padding:.5rem 0;border-bottom:1px solid var(--line)}"
    ".cards td{padding:.125rem 0;border:0}"
    ".cards td[data-label]::before{content:attr(data-label) \": \";"
    "color:var(--muted)}}";

#define TS_PG_CSP_CAP 320

/* Written once under pthread_once and read-only afterwards: the CSP header
 * value depends only on the constant stylesheet above. */
static pthread_once_t ts_pg_csp_once = PTHREAD_ONCE_INIT;
static char ts_pg_csp_value[TS_PG_CSP_CAP];

static void
ts_pg_csp_init(void)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    unsigned char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    unsigned int mdlen = 0;

    if (EVP_Digest(ts_pg_css, sizeof(ts_pg_css) - 1, md, &mdlen,
                   EVP_sha256(), NULL) != 1 || mdlen != sizeof(md)) {
        /* No hash, no styles: the pages stay usable and the policy strict. */
        snprintf(ts_pg_csp_value, sizeof(ts_pg_csp_value),
                 "default-src 'none'; img-src data:; form-action 'self'; "
                 "frame-ancestors 'none'; base-uri 'none'");
        return;
    }
    EVP_EncodeBlock(b64, md, (int)mdlen);
    snprintf(ts_pg_csp_value, sizeof(ts_pg_csp_value),
             "default-src 'none'; style-src 'sha256-%s'; img-src data:; "
             "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
             (const char *)b64);
}

const char *
ts_page_csp(void)
{
    pthread_once(&ts_pg_csp_once, ts_pg_csp_init);
    return ts_pg_csp_value;
}

const char *
ts_pg_issuer(const ts_page_ctx *ctx)
{
    return ctx->issuer && ctx->issuer[0] ? ctx->issuer : "this site";
}

void
ts_pg_head(ts_buf *b, const ts_page_ctx *ctx, const char *title, int wide)
{
    ts_buf_puts(b, "<!doctype html>\n<html lang=\"en\">\n<head>\n"
                   "<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, "
                   "initial-scale=1\">\n"
                   "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
                   "<title>");
    ts_buf_puts(b, title);
    if (ctx->issuer && ctx->issuer[0]) {
        ts_buf_puts(b, " \xe2\x80\x93 ");
        ts_buf_puts_html(b, ctx->issuer);
    }
    ts_buf_puts(b, "</title>\n<style>");
    ts_buf_put(b, ts_pg_css, sizeof(ts_pg_css) - 1);
    ts_buf_puts(b, "</style>\n</head>\n<body>\n");
    ts_buf_puts(b, wide ? "<main class=\"wide\">\n" : "<main>\n");
    if (ctx->issuer && ctx->issuer[0]) {
        ts_buf_puts(b, "<p class=\"site\">");
        ts_buf_puts_html(b, ctx->issuer);
        ts_buf_puts(b, "</p>\n");
    }
    ts_buf_printf(b, "<h1>%s</h1>\n", title);
}

void
ts_pg_foot(ts_buf *b, const ts_page_ctx *ctx, int on_account)
{
    ts_buf_puts(b, "<footer>");
    if (ctx->user && ctx->user[0]) {
        ts_buf_puts(b, "Signed in as <strong>");
        ts_buf_puts_html(b, ctx->user);
        ts_buf_puts(b, "</strong>.");
        if (!on_account) {
            ts_buf_puts(b, " <a href=\"");
            ts_pg_url(b, ctx, "/");
            ts_buf_puts(b, "\">Your 2-step settings</a>");
        }
    }
    ts_buf_puts(b, "</footer>\n</main>\n</body>\n</html>\n");
}

int
ts_pg_end(const ts_buf *b)
{
    return b->oom ? TS_ENOMEM : TS_OK;
}

void
ts_pg_url(ts_buf *b, const ts_page_ctx *ctx, const char *path)
{
    const char *base = ctx->base ? ctx->base : "/twostep";
    size_t n = strlen(base);

    while (n > 0 && base[n - 1] == '/')
        n--;
    ts_buf_put_html(b, base, n);
    ts_buf_puts_html(b, path);
}

/* The connector validated ret already; this only keeps a mistake there
 * from turning into a javascript: or protocol-relative link. */
const char *
ts_pg_ret_str(const ts_page_ctx *ctx)
{
    const char *r = ctx->ret;

    return r && r[0] == '/' && r[1] != '/' && r[1] != '\\' ? r : "/";
}

void
ts_pg_ret(ts_buf *b, const ts_page_ctx *ctx)
{
    ts_buf_puts_html(b, ts_pg_ret_str(ctx));
}

void
ts_pg_hidden(ts_buf *b, const char *name, const char *value)
{
    ts_buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    ts_buf_puts_html(b, value ? value : "");
    ts_buf_puts(b, "\">\n");
}

void
ts_pg_form(ts_buf *b, const ts_page_ctx *ctx, const char *path,
           const char *cls)
{
    ts_buf_puts(b, "<form method=\"post\" action=\"");
    ts_pg_url(b, ctx, path);
    ts_buf_puts(b, "\"");
    if (cls)
        ts_buf_printf(b, " class=\"%s\"", cls);
    ts_buf_puts(b, ">\n");
    ts_pg_hidden(b, "csrf", ctx->csrf);
}

void
ts_pg_code_field(ts_buf *b, const char *id, const char *name,
                 const char *label, const char *hint, int numeric,
                 int digits, int autofocus)
{
    ts_buf_printf(b, "<label for=\"%s\">%s</label>\n", id, label);
    ts_buf_printf(b, "<input type=\"text\" id=\"%s\" name=\"%s\" "
                     "autocomplete=\"one-time-code\" required", id, name);
    if (numeric)
        ts_buf_printf(b, " inputmode=\"numeric\" maxlength=\"%d\"",
                      digits > 0 && digits <= 10 ? digits : 10);
    else
        ts_buf_puts(b, " inputmode=\"text\" maxlength=\"64\" "
                       "autocapitalize=\"off\" autocorrect=\"off\" "
                       "spellcheck=\"false\"");
    if (hint)
        ts_buf_printf(b, " aria-describedby=\"%s-hint\"", id);
    if (autofocus)
        ts_buf_puts(b, " autofocus");
    ts_buf_puts(b, ">\n");
    if (hint)
        ts_buf_printf(b, "<p class=\"hint\" id=\"%s-hint\">%s</p>\n", id,
                      hint);
}

void
ts_pg_alert(ts_buf *b, const char *msg)
{
    if (msg == NULL || msg[0] == '\0')
        return;
    ts_buf_puts(b, "<p class=\"alert\" role=\"alert\">");
    ts_buf_puts_html(b, msg);
    ts_buf_puts(b, "</p>\n");
}

void
ts_pg_notice(ts_buf *b, const char *msg)
{
    if (msg == NULL || msg[0] == '\0')
        return;
    ts_buf_puts(b, "<p class=\"notice\" role=\"status\">");
    ts_buf_puts_html(b, msg);
    ts_buf_puts(b, "</p>\n");
}

void
ts_pg_date(ts_buf *b, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char iso[32], txt[32];

    if (t <= 0 || (int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
        strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%MZ", &tm) == 0 ||
        strftime(txt, sizeof(txt), "%Y-%m-%d %H:%M UTC", &tm) == 0) {
        ts_buf_puts(b, "unknown");
        return;
    }
    ts_buf_puts(b, "<time class=\"nowrap\" datetime=\"");
    ts_buf_puts_html(b, iso);
    ts_buf_puts(b, "\">");
    ts_buf_puts_html(b, txt);
    ts_buf_puts(b, "</time>");
}

/* ---- user agents ---------------------------------------------------- */

typedef struct {
    const char *needle;
    const char *name;
} ts_pg_match;

/* Order matters: Edge and Opera also say "Chrome", Chrome also says
 * "Safari", Android also says "Linux", iPhone also says "Mac OS X". */
static const ts_pg_match ts_pg_browsers[] = {
    { "Edg/", "Edge" }, { "EdgA/", "Edge" }, { "EdgiOS/", "Edge" },
    { "OPR/", "Opera" }, { "SamsungBrowser/", "Samsung Internet" },
    { "Firefox/", "Firefox" }, { "FxiOS/", "Firefox" },
    { "CriOS/", "Chrome" }, { "Chromium/", "Chromium" },
    { "Chrome/", "Chrome" }, { "Safari/", "Safari" },
    { "curl/", "curl" }, { "Wget/", "Wget" },
};

static const ts_pg_match ts_pg_systems[] = {
    { "iPhone", "iPhone" }, { "iPad", "iPad" }, { "Android", "Android" },
    { "CrOS", "ChromeOS" }, { "Windows", "Windows" },
    { "Macintosh", "macOS" }, { "Mac OS X", "macOS" },
    { "Linux", "Linux" }, { "FreeBSD", "FreeBSD" }, { "OpenBSD", "OpenBSD" },
};

static const char *
ts_pg_find(const char *ua, const ts_pg_match *m, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strstr(ua, m[i].needle))
            return m[i].name;
    return NULL;
}

/* The first 40 characters (whole UTF-8 sequences), "..." when cut. */
static void
ts_pg_ua_prefix(const char *ua, char *out, size_t cap)
{
    size_t i = 0, chars = 0, len = strlen(ua);

    while (i < len && chars < 40) {
        i++;
        while (i < len && ((unsigned char)ua[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    snprintf(out, cap, "%.*s%s", (int)i, ua, i < len ? "..." : "");
}

void
ts_pg_ua_summary(const char *ua, char *out, size_t cap)
{
    const char *br, *os;

    if (cap == 0)
        return;
    if (ua == NULL || ua[0] == '\0') {
        snprintf(out, cap, "Unknown browser");
        return;
    }
    br = ts_pg_find(ua, ts_pg_browsers,
                    sizeof(ts_pg_browsers) / sizeof(ts_pg_browsers[0]));
    os = ts_pg_find(ua, ts_pg_systems,
                    sizeof(ts_pg_systems) / sizeof(ts_pg_systems[0]));
    if (br && os)
        snprintf(out, cap, "%s on %s", br, os);
    else if (br)
        snprintf(out, cap, "%s", br);
    else
        ts_pg_ua_prefix(ua, out, cap);
}

void
ts_pg_ua(ts_buf *b, const char *ua)
{
    char sum[192];

    ts_pg_ua_summary(ua, sum, sizeof(sum));
    ts_buf_puts(b, "<span title=\"");
    ts_buf_puts_html(b, ua ? ua : "");
    ts_buf_puts(b, "\">");
    ts_buf_puts_html(b, sum);
    ts_buf_puts(b, "</span>");
}

/* ---- durations -------------------------------------------------------- */

static size_t
ts_pg_unit(char *out, size_t cap, size_t at, int64_t n, const char *unit)
{
    int w;

    if (at >= cap)
        return at;
    w = snprintf(out + at, cap - at, "%s%" PRId64 " %s%s", at ? " " : "",
                 n, unit, n == 1 ? "" : "s");
    return w < 0 ? at : at + (size_t)w;
}

/* Minutes and hours are rounded up: "try again in 15 minutes" must never
 * send someone back before the lockout is over. */
void
ts_format_duration(int64_t seconds, char *out, size_t cap)
{
    int64_t m, h;
    size_t at = 0;

    if (out == NULL || cap == 0)
        return;
    out[0] = '\0';
    if (seconds < 60) {
        ts_pg_unit(out, cap, 0, seconds > 0 ? seconds : 0, "second");
        return;
    }
    m = seconds / 60 + (seconds % 60 != 0);
    if (m < 60) {
        ts_pg_unit(out, cap, 0, m, "minute");
    } else if (m < 24 * 60) {
        at = ts_pg_unit(out, cap, 0, m / 60, "hour");
        if (m % 60)
            ts_pg_unit(out, cap, at, m % 60, "minute");
    } else {
        h = m / 60 + (m % 60 != 0);
        at = ts_pg_unit(out, cap, 0, h / 24, "day");
        if (h % 24)
            ts_pg_unit(out, cap, at, h % 24, "hour");
    }
}
