/* Tests of the HTML pages: structure, form fields, escaping of hostile
 * input everywhere, the CSP hash of the stylesheet, the text file of the
 * backup codes and the duration wording. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "pages.h"
#include "ts_buf.h"
#include "ts_err.h"

#define HOSTILE     "<script>\"'&"
#define HOSTILE_ESC "&lt;script&gt;&quot;&#39;&amp;"

static const char *const CODES[TS_BACKUP_COUNT] = {
    "ABCDE-FGHJK", "01234-56789", "MNPQR-STVWX", "YZ012-34567",
    "89ABC-DEFGH", "JKMNP-QRSTV", "WXYZ0-12345", "6789A-BCDEF",
    "GHJKM-NPQRS", "TVWXY-Z0123",
};

static ts_page_ctx
ctx_plain(void)
{
    ts_page_ctx c = { "/twostep", "Lab Intranet", "alice", "tok123",
                      "/wiki/page?x=1", 0 };
    return c;
}

static ts_page_ctx
ctx_hostile(void)
{
    ts_page_ctx c = { "/twostep", HOSTILE, HOSTILE, HOSTILE,
                      "/a?" HOSTILE, 1 };
    return c;
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;
    const char *p = hay;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

#define assert_has(h, s) do { \
    if (strstr((h), (s)) == NULL) \
        fail_msg("missing: %s", (s)); } while (0)
#define assert_lacks(h, s) do { \
    if (strstr((h), (s)) != NULL) \
        fail_msg("unexpected: %s", (s)); } while (0)

/* Base64 SHA-256 of the <style> contents, computed here from the page. */
static void
style_hash(const char *html, char *b64, size_t cap)
{
    const char *s = strstr(html, "<style>"), *e;
    unsigned char md[32];
    unsigned int mdlen = 0;

    assert_non_null(s);
    s += strlen("<style>");
    e = strstr(s, "</style>");
    assert_non_null(e);
    assert_int_equal(EVP_Digest(s, (size_t)(e - s), md, &mdlen,
                                EVP_sha256(), NULL), 1);
    assert_true(cap >= 45);
    EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
}

/* Every label points at an element with that id. */
static void
check_labels(const char *h)
{
    const char *p = h;

    while ((p = strstr(p, "<label for=\"")) != NULL) {
        char id[64], want[80];
        const char *q;
        size_t n;

        p += strlen("<label for=\"");
        q = strchr(p, '"');
        assert_non_null(q);
        n = (size_t)(q - p);
        assert_true(n > 0 && n < sizeof(id));
        memcpy(id, p, n);
        id[n] = '\0';
        snprintf(want, sizeof(want), "id=\"%s\"", id);
        if (count(h, want) != 1)
            fail_msg("label for=%s has %zu targets", id, count(h, want));
    }
}

/* Every POST form carries a csrf field and posts under the base. */
static void
check_forms(const char *h, const char *csrf_esc)
{
    const char *p = h;
    char want[256];

    snprintf(want, sizeof(want),
             "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", csrf_esc);
    assert_int_equal(count(h, "<form"), count(h, "</form>"));
    while ((p = strstr(p, "<form")) != NULL) {
        const char *e = strstr(p, "</form>");
        size_t n;
        char *form;

        assert_non_null(e);
        n = (size_t)(e - p);
        form = strndup(p, n);
        assert_non_null(form);
        assert_has(form, "method=\"post\" action=\"/twostep/");
        assert_has(form, want);
        free(form);
        p = e;
    }
}

/* What every page must be, whoever renders it. */
static void
check_page(const char *h, const char *csrf_esc)
{
    char b64[64];
    char want[128];

    assert_true(strncmp(h, "<!doctype html>\n<html lang=\"en\">", 32) == 0);
    assert_has(h, "<meta charset=\"utf-8\">");
    assert_has(h, "<meta name=\"viewport\" content=\"width=device-width, "
                  "initial-scale=1\">");
    assert_int_equal(count(h, "<title>"), 1);
    assert_int_equal(count(h, "<style>"), 1);
    assert_int_equal(count(h, "<h1>"), 1);
    assert_lacks(h, "<script");
    assert_lacks(h, " src=");
    assert_lacks(h, "<link");
    assert_lacks(h, " style=");
    assert_has(h, "</html>\n");
    check_labels(h);
    check_forms(h, csrf_esc);
    style_hash(h, b64, sizeof(b64));
    snprintf(want, sizeof(want), "style-src 'sha256-%s';", b64);
    assert_has(ts_page_csp(), want);
}

static void
check_hostile(const char *h)
{
    assert_lacks(h, HOSTILE);
    assert_lacks(h, "<script>");
    assert_lacks(h, "\"'&");
}

/* ---- CSP ------------------------------------------------------------- */

static void
test_csp(void **state)
{
    const char *csp = ts_page_csp();

    (void)state;
    assert_ptr_equal(csp, ts_page_csp());
    assert_true(strncmp(csp, "default-src 'none'; style-src 'sha256-", 38)
                == 0);
    assert_has(csp, "'; img-src data:; form-action 'self'; "
                    "frame-ancestors 'none'; base-uri 'none'");
    assert_lacks(csp, "unsafe");
    assert_lacks(csp, "script-src");
}

/* ---- verify ---------------------------------------------------------- */

static void
test_verify(void **state)
{
    ts_page_ctx c = ctx_plain();
    ts_buf b;

    (void)state;
    ts_buf_init(&b);
    assert_int_equal(ts_page_verify(&b, &c, 30, NULL), 0);
    check_page(b.data, "tok123");
    assert_has(b.data, "<form method=\"post\" action=\"/twostep/verify\"");
    assert_has(b.data, "<label for=\"code\">");
    assert_has(b.data, "name=\"code\" autocomplete=\"one-time-code\"");
    assert_has(b.data, "inputmode=\"text\"");
    assert_has(b.data, "autocapitalize=\"off\"");
    assert_has(b.data, "spellcheck=\"false\"");
    assert_lacks(b.data, "inputmode=\"numeric\"");
    assert_lacks(b.data, "pattern=");
    assert_has(b.data, "backup code");
    assert_has(b.data, "<input type=\"hidden\" name=\"r\" "
                       "value=\"/wiki/page?x=1\">");
    assert_has(b.data, "type=\"checkbox\" id=\"trust\" name=\"trust\" "
                       "value=\"1\"");
    assert_has(b.data, "<label for=\"trust\">Trust this computer for "
                       "30 days</label>");
    assert_has(b.data, ">Verify</button>");
    assert_lacks(b.data, "role=\"alert\"");
    assert_has(b.data, "<title>Two-step verification \xe2\x80\x93 "
                       "Lab Intranet</title>");

    ts_buf_reset(&b);
    assert_int_equal(ts_page_verify(&b, &c, 1, "That code didn't work."),
                     0);
    assert_has(b.data, "Trust this computer for 1 day<");
    assert_has(b.data, "<p class=\"alert\" role=\"alert\">That code "
                       "didn&#39;t work.</p>");
    ts_buf_free(&b);
}

static void
test_verify_no_trust(void **state)
{
    ts_page_ctx c = ctx_plain();
    ts_buf b;

    (void)state;
    ts_buf_init(&b);
    assert_int_equal(ts_page_verify(&b, &c, 0, NULL), 0);
    check_page(b.data, "tok123");
    assert_lacks(b.data, "trust");
    assert_lacks(b.data, "Trust");
    assert_lacks(b.data, "checkbox");
    ts_buf_reset(&b);
    assert_int_equal(ts_page_verify(&b, &c, -3, NULL), 0);
    assert_lacks(b.data, "checkbox");
    ts_buf_free(&b);
}

static void
test_verify_hostile(void **state)
{
    ts_page_ctx c = ctx_hostile();
    ts_buf b;

    (void)state;
    ts_buf_init(&b);
    assert_int_equal(ts_page_verify(&b, &c, 30, HOSTILE), 0);
    check_page(b.data, HOSTILE_ESC);
    check_hostile(b.data);
    assert_has(b.data, "Signed in as <strong>" HOSTILE_ESC "</strong>");
    assert_has(b.data, "role=\"alert\">" HOSTILE_ESC "</p>");
    assert_has(b.data, "name=\"r\" value=\"/a?" HOSTILE_ESC "\"");
    ts_buf_free(&b);
}

/* The return path falls back to "/" when it is not a local path. */
static void
test_verify_bad_ret(void **state)
{
    static const char *const bad[] = {
        NULL, "", "//evil.example/", "/\\evil.example", "javascript:x",
        "https://evil.example/",
    };
    ts_page_ctx c = ctx_plain();
    ts_buf b;
    size_t i;

    (void)state;
    ts_buf_init(&b);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c.ret = bad[i];
        ts_buf_reset(&b);
        assert_int_equal(ts_page_verify(&b, &c, 30, NULL), 0);
        assert_has(b.data, "name=\"r\" value=\"/\"");
        assert_lacks(b.data, "evil");
        assert_lacks(b.data, "javascript");
    }
    ts_buf_free(&b);
}

/* A trailing slash of the base is not doubled; a hostile base is escaped. */
static void
test_base(void **state)
{
    ts_page_ctx c = ctx_plain();
    ts_buf b;

    (void)state;
    ts_buf_init(&b);
    c.base = "/tw/";
    assert_int_equal(ts_page_verify(&b, &c, 30, NULL), 0);
    assert_has(b.data, "action=\"/tw/verify\"");
    assert_has(b.data, "href=\"/tw/\"");
    assert_lacks(b.data, "//verify");
    ts_buf_reset(&b);
    c.base = "/x\"><script>";
    assert_int_equal(ts_page_verify(&b, &c, 30, NULL), 0);
    assert_lacks(b.data, "<script>");
    assert_has(b.data, "action=\"/x&quot;&gt;&lt;script&gt;/verify\"");
    ts_buf_reset(&b);
    c.base = NULL;
    assert_int_equal(ts_page_verify(&b, &c, 30, NULL), 0);
    assert_has(b.data, "action=\"/twostep/verify\"");
    ts_buf_free(&b);
}

/* ---- enroll ---------------------------------------------------------- */

static ts_enroll_view
enroll_view(void)
{
    ts_enroll_view v = {
        "otpauth://totp/Lab:alice?secret=JBSWY3DPEHPK3PXP&issuer=Lab&"
        "algorithm=SHA1&digits=6&period=30",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 29 29\" "
        "role=\"img\" aria-label=\"QR code\"><path d=\"M4 4h7\"/></svg>",
        "JBSWY3DPEHPK3PXP", "SHA1", 6, 30, 0, 0
    };
    return v;
}

static void
test_enroll(void **state)
{
    ts_page_ctx c = ctx_plain();
    ts_enroll_view v = enroll_view();
    ts_buf b;

    (void)state;
    ts_buf_init(&b);
    assert_int_equal(ts_page_enroll(&b, &c, &v, NULL), 0);
    check_page(b.data, "tok123");
    assert_has(b.data, "Scan this QR code with your authenticator app "
                       "(Google Authenticator, Microsoft Authenticator, "
                       "WinAuth, ...)");
    assert_has(b.data, "<div class=\"qr\"><svg ");
    assert_has(b.data, "<a class=\"button secondary\" href=\"otpauth://"
                       "totp/Lab:alice?secret=JBSWY3DPEHPK3PXP&amp;issuer="
                       "Lab&amp;algorithm=SHA1&amp;digits=6&amp;period=30\">"
                       "Open in an authenticator app on this device</a>");
    assert_has(b.data, "<summary>Can't scan? Enter this key</summary>");
    assert_has(b.data, "<code class=\"mono secret\">JBSW Y3DP EHPK 3PXP"
                       "</code>");
    assert_has(b.data, "Time-based");
    assert_has(b.data, "<dt>Algorithm</dt><dd>SHA1</dd>");
    assert_has(b.data, "<dt>Digits</dt><dd>6</dd>");
    assert_has(b.data, "<dt>Period</dt><dd>30 seconds</dd>");
    assert_has(b.data, "<form method=\"post\" action=\"/twostep/enroll\"");
    assert_has(b.data, "<label for=\"code\">6-digit code");
    assert_has(b.data, "name=\"code\" autocomplete=\"one-time-code\" "
                       "required inputmode=\"numeric\" maxlength=\"6\"");
    assert_has(b.data, "name=\"r\" value=\"/wiki/page?x=1\"");
    assert_has(b.data, ">Verify and save</button>");
    assert_lacks(b.data, "name=\"current\"");
    assert_lacks(b.data, "requires 2-step");
    assert_has(b.data, ">Cancel</a>");

    /* re-enrolment asks for the current code; policy is stated */
    v.need_current = 1;
    v.enforced = 1;
    v.digits = 8;
    v.period = 60;
    ts_buf_reset(&b);
    assert_int_equal(ts_page_enroll(&b, &c, &v, "That code didn't work."),
                     0);
    check_page(b.data, "tok123");
    assert_has(b.data, "<label for=\"current\">");
    assert_has(b.data, "id=\"current\" name=\"current\" "
                       "autocomplete=\"one-time-code\" required "
                       "inputmode=\"text\"");
    assert_has(b.data, "maxlength=\"8\"");
    assert_has(b.data, "<dd>60 seconds</dd>");
    assert_has(b.data, "organisation requires 2-step verification");
    assert_has(b.data, "role=\"alert\">That code didn&#39;t work.");
    ts_buf_free(&b);
}

static void
test_enroll_hostile(void **state)
{
    ts_page_ctx c = ctx_hostile();
    ts_enroll_view v = enroll_view();
    ts_buf b;

    (void)state;
    v.uri = "otpauth://totp/x?secret=A\"><script>&issuer=" HOSTILE;
    v.alg_name = HOSTILE;
    v.secret_b32 = HOSTILE;
    ts_buf_init(&b);
    assert_int_equal(ts_page_enroll(&b, &c, &v, HOSTILE), 0);
    check_page(b.data, HOSTILE_ESC);
    check_hostile(b.data);
    assert_has(b.data, "href=\"otpauth://totp/x?secret=A&quot;&gt;"
                       "&lt;script&gt;&amp;issuer=");
    ts_buf_free(&b);

    /* an absurdly long secret is cut, not overflowed */
    {
        char big[2000];
        memset(big, 'A', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        v = enroll_view();
        v.secret_b32 = big;
        c = ctx_plain();
        ts_buf_init(&b);
        assert_int_equal(ts_page_enroll(&b, &c, &v, NULL), 0);
        check_page(b.data, "tok123");
        ts_buf_free(&b);
    }
}

/* ---- backup codes ---------------------------------------------------- */

static void
fill_codes(char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN])
{
    size_t i;

    for (i = 0; i < TS_BACKUP_COUNT; i++)
        snprintf(codes[i], TS_BACKUP_SHOWN, "%s", CODES[i]);
}

static void
test_backup_codes(void **state)
{
    ts_page_ctx c = ctx_plain();
    char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN];
    char joined[TS_BACKUP_COUNT * TS_BACKUP_SHOWN + 64] = "";
    char want[sizeof(joined) + 64];
    ts_buf b;
    size_t i;

    (void)state;
    fill_codes(codes);
    for (i = 0; i < TS_BACKUP_COUNT; i++) {
        if (i)
            strcat(joined, " ");
        strcat(joined, CODES[i]);
    }
    ts_buf_init(&b);
    assert_int_equal(ts_page_backup_codes(&b, &c, codes, 1), 0);
    check_page(b.data, "tok123");
    assert_has(b.data, "2-step verification is now on");
    assert_has(b.data, "shown only now");
    assert_has(b.data, "<ol class=\"codes\">");
    for (i = 0; i < TS_BACKUP_COUNT; i++) {
        snprintf(want, sizeof(want), "<li>%s</li>", CODES[i]);
        assert_has(b.data, want);
    }
    assert_has(b.data, "<form method=\"post\" "
                       "action=\"/twostep/backup-codes/download\"");
    snprintf(want, sizeof(want),
             "<input type=\"hidden\" name=\"codes\" value=\"%s\">", joined);
    assert_has(b.data, want);
    assert_has(b.data, ">Download</button>");
    assert_has(b.data, "<a class=\"button\" href=\"/wiki/page?x=1\">"
                       "Continue</a>");
    assert_lacks(b.data, "no longer work");

    ts_buf_reset(&b);
    assert_int_equal(ts_page_backup_codes(&b, &c, codes, 0), 0);
    assert_lacks(b.data, "now on");
    assert_has(b.data, "older backup codes no longer work");

    /* hostile context, and codes that are not NUL-terminated in place */
    c = ctx_hostile();
    memset(codes[3], 'Z', TS_BACKUP_SHOWN);
    snprintf(codes[4], TS_BACKUP_SHOWN, "%s", "<b>\"'&");
    ts_buf_reset(&b);
    assert_int_equal(ts_page_backup_codes(&b, &c, codes, 1), 0);
    check_page(b.data, HOSTILE_ESC);
    check_hostile(b.data);
    assert_lacks(b.data, "<b>");
    assert_has(b.data, "<li>ZZZZZZZZZZZ</li>");
    ts_buf_free(&b);
}

static void
test_backup_text(void **state)
{
    struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 4,
                     .tm_hour = 14, .tm_min = 3, .tm_sec = 59 };
    int64_t now = (int64_t)timegm(&tm);
    const char *codes[TS_BACKUP_COUNT + 1];
    ts_buf b;
    size_t i;
    char want[64];

    (void)state;
    for (i = 0; i < TS_BACKUP_COUNT; i++)
        codes[i] = CODES[i];
    codes[TS_BACKUP_COUNT] = "EVIL\n\x1b[2JFAKE";
    ts_buf_init(&b);
    assert_int_equal(ts_backup_codes_text(&b, "Lab Intranet", "alice",
                                          codes, TS_BACKUP_COUNT, now), 0);
    assert_has(b.data, "Site: Lab Intranet\n");
    assert_has(b.data, "User: alice\n");
    assert_has(b.data, "2026-12-04 14:03 UTC");
    for (i = 0; i < TS_BACKUP_COUNT; i++) {
        snprintf(want, sizeof(want), "\n%s\n", CODES[i]);
        assert_has(b.data, want);
    }
    assert_lacks(b.data, "<");
    assert_int_equal(b.data[b.len - 1], '\n');

    /* control bytes cannot forge lines or drive a terminal */
    ts_buf_reset(&b);
    assert_int_equal(ts_backup_codes_text(&b, "Lab\r\nFAKE", "bob\nUser: x",
                                          codes, TS_BACKUP_COUNT + 1, now),
                     0);
    assert_lacks(b.data, "\nFAKE");
    assert_lacks(b.data, "\r");
    assert_lacks(b.data, "\x1b");
    assert_lacks(b.data, "\nUser: x");
    assert_has(b.data, "User: bobUser: x\n");
    assert_has(b.data, "\nEVIL[2JFAKE\n");

    ts_buf_reset(&b);
    assert_int_equal(ts_backup_codes_text(&b, NULL, NULL, NULL, 0, 0), 0);
    assert_has(b.data, "unknown date");
    assert_int_equal(ts_backup_codes_text(&b, NULL, NULL, NULL, 3, 0),
                     TS_EINVAL);
    ts_buf_free(&b);
}

/* ---- account --------------------------------------------------------- */

static const char UA_CHROME[] =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36";
static const char UA_FIREFOX[] =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 "
    "Firefox/121.0";
static const char UA_SAFARI[] =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/"
    "605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
static const char UA_ODD[] =
    "SomeLabRobot/2.0 (+https://example.org/robot) extra words here ok";

static int64_t
t_20261204_1403(void)
{
    struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 4,
                     .tm_hour = 14, .tm_min = 3 };
    return (int64_t)timegm(&tm);
}

static void
test_account_on(void **state)
{
    ts_page_ctx c = ctx_plain();
    ts_device_view d[4] = {
        { "dev1", t_20261204_1403(), t_20261204_1403() + 60, "192.0.2.7",
          UA_CHROME, 1 },
        { "dev2", t_20261204_1403(), 0, "2001:db8::1", UA_FIREFOX, 0 },
        { "dev3", t_20261204_1403(), 0, "198.51.100.1", UA_SAFARI, 0 },
        { "dev4", t_20261204_1403(), 0, "198.51.100.2", UA_ODD, 0 },
    };
    ts_account_view v = { 1, 0, t_20261204_1403(), 7, d, 4, "Done.", NULL };
    ts_buf b;

    (void)state;
    c.is_admin = 1;
    ts_buf_init(&b);
    assert_int_equal(ts_page_account(&b, &c, &v), 0);
    check_page(b.data, "tok123");
    assert_has(b.data, "<strong>on</strong> since <time class=\"nowrap\" "
                       "datetime=\"2026-12-04T14:03Z\">2026-12-04 14:03 UTC"
                       "</time>");
    assert_has(b.data, "role=\"status\">Done.</p>");
    assert_has(b.data, "7 unused backup codes.");
    assert_has(b.data, "action=\"/twostep/disable\"");
    assert_has(b.data, "class=\"danger\">Disable 2-step</button>");
    assert_has(b.data, "action=\"/twostep/backup-codes\"");
    assert_has(b.data, ">New backup codes</button>");
    assert_has(b.data, "href=\"/twostep/enroll\"");
    assert_has(b.data, "action=\"/twostep/signout\"");
    assert_has(b.data, "href=\"/twostep/admin\"");
    assert_int_equal(count(b.data, "action=\"/twostep/devices/revoke\""), 5);
    assert_has(b.data, "name=\"device\" value=\"dev1\"");
    assert_has(b.data, "name=\"device\" value=\"dev4\"");
    assert_has(b.data, "name=\"device\" value=\"all\"");
    assert_has(b.data, ">Revoke all</button>");
    assert_has(b.data, "(this browser)");
    assert_has(b.data, "2001:db8::1");
    assert_has(b.data, ">2026-12-04 14:04 UTC</time>");
    /* user agents: summary shown, full string in the title */
    assert_has(b.data, "\">Chrome on Linux</span>");
    assert_has(b.data, "\">Firefox on Windows</span>");
    assert_has(b.data, "\">Safari on iPhone</span>");
    assert_has(b.data, "<span title=\"Mozilla/5.0 (X11; Linux x86_64)");
    assert_has(b.data, "\">SomeLabRobot/2.0 (+https://example.org/r"
                       "...</span>");
    /* two code fields share the name, never the id */
    assert_int_equal(count(b.data, "name=\"code\""), 2);
    assert_int_equal(count(b.data, "autocapitalize=\"off\""), 2);
    ts_buf_free(&b);
}

static void
test_account_enforced(void **state)
{
    ts_page_ctx c = ctx_plain();
    ts_account_view v = { 1, 1, 0, 0, NULL, 0, NULL, "That code didn't "
                          "work." };
    ts_buf b;

    (void)state;
    ts_buf_init(&b);
    assert_int_equal(ts_page_account(&b, &c, &v), 0);
    check_page(b.data, "tok123");
    assert_lacks(b.data, "/twostep/disable");
    assert_lacks(b.data, "Disable 2-step");
    assert_has(b.data, "organisation requires 2-step verification");
    assert_has(b.data, "no backup codes left");
    assert_has(b.data, "role=\"alert\">That code didn&#39;t work.");
    assert_has(b.data, "<strong>on</strong>.");
    assert_lacks(b.data, "/twostep/admin");
    assert_lacks(b.data, "name=\"device\"");
    ts_buf_free(&b);
}

static void
test_account_off(void **state)
{
    ts_page_ctx c = ctx_plain();
    ts_account_view v = { 0, 0, 0, 0, NULL, 0, NULL, NULL };
    ts_buf b;

    (void)state;
    ts_buf_init(&b);
    assert_int_equal(ts_page_account(&b, &c, &v), 0);
    check_page(b.data, "tok123");
    assert_has(b.data, "<strong>off</strong>");
    assert_has(b.data, "<a class=\"button\" href=\"/twostep/enroll\">"
                       "Enable 2-step verification</a>");
    assert_lacks(b.data, "<form");
    v.enforced = 1;
    ts_buf_reset(&b);
    assert_int_equal(ts_page_account(&b, &c, &v), 0);
    assert_has(b.data, "organisation requires it");
    ts_buf_free(&b);
}

static void
test_account_hostile(void **state)
{
    ts_page_ctx c = ctx_hostile();
    char longua[20000];
    ts_device_view d[3] = {
        { HOSTILE, -5, INT64_MAX, HOSTILE, HOSTILE, 0 },
        { "x", 0, 0, NULL, NULL, 0 },
        { "y", 1, 1, "", longua, 0 },
    };
    ts_account_view v = { 1, 0, -1, -4, d, 3, HOSTILE, HOSTILE };
    ts_buf b;

    (void)state;
    memset(longua, 'A', sizeof(longua) - 1);
    longua[sizeof(longua) - 1] = '\0';
    /* a multi-byte character across the 40th position stays whole */
    memcpy(longua + 38, "\xc3\xa9\xc3\xa9", 4);
    ts_buf_init(&b);
    assert_int_equal(ts_page_account(&b, &c, &v), 0);
    check_page(b.data, HOSTILE_ESC);
    check_hostile(b.data);
    assert_has(b.data, "name=\"device\" value=\"" HOSTILE_ESC "\"");
    assert_has(b.data, "title=\"" HOSTILE_ESC "\">" HOSTILE_ESC "</span>");
    assert_has(b.data, "Unknown browser");
    assert_has(b.data, "unknown");
    assert_has(b.data, "no backup codes left");
    assert_has(b.data, "\xc3\xa9\xc3\xa9...</span>");
    ts_buf_free(&b);
}

/* ---- admin ----------------------------------------------------------- */

static void
test_admin(void **state)
{
    ts_page_ctx c = ctx_plain();
    ts_admin_row rows[3] = {
        { "alice", 1, 0, 2, 9, 0 },
        { HOSTILE, 1, 1, 0, 0, 840 },
        { "carol", 0, 0, 0, 0, 0 },
    };
    ts_buf b;

    (void)state;
    c.is_admin = 1;
    ts_buf_init(&b);
    assert_int_equal(ts_page_admin(&b, &c, rows, 3, "Done.", NULL), 0);
    check_page(b.data, "tok123");
    check_hostile(b.data);
    assert_has(b.data, "<main class=\"wide\">");
    assert_has(b.data, "<td><strong>alice</strong></td>"
                       "<td data-label=\"2-step\">on</td>"
                       "<td data-label=\"Required\">no</td>"
                       "<td data-label=\"Devices\">2</td>"
                       "<td data-label=\"Backup codes\">9</td>"
                       "<td data-label=\"Locked\">no</td>");
    assert_has(b.data, "<td><strong>" HOSTILE_ESC "</strong></td>"
                       "<td data-label=\"2-step\">on</td>"
                       "<td data-label=\"Required\">yes</td>");
    assert_has(b.data, "locked</strong>, 14 minutes left");
    assert_int_equal(count(b.data, "action=\"/twostep/admin/disable\""), 2);
    assert_int_equal(count(b.data, "action=\"/twostep/admin/revoke\""), 3);
    assert_int_equal(count(b.data, "action=\"/twostep/admin/unlock\""), 1);
    assert_has(b.data, "name=\"user\" value=\"" HOSTILE_ESC "\"");
    assert_has(b.data, "name=\"user\" value=\"carol\"");
    assert_has(b.data, ">Revoke devices</button>");
    assert_has(b.data, ">Unlock</button>");
    assert_has(b.data, "role=\"status\">Done.");

    ts_buf_reset(&b);
    assert_int_equal(ts_page_admin(&b, &c, NULL, 0, NULL, HOSTILE), 0);
    check_page(b.data, "tok123");
    check_hostile(b.data);
    assert_has(b.data, "No one has set up");
    assert_has(b.data, "role=\"alert\">" HOSTILE_ESC);
    assert_int_equal(ts_page_admin(&b, &c, NULL, 2, NULL, NULL), TS_EINVAL);
    ts_buf_free(&b);
}

/* ---- messages -------------------------------------------------------- */

static void
test_messages(void **state)
{
    static const ts_msg_kind kinds[] = {
        TS_MSG_LOCKED, TS_MSG_STORE_DOWN, TS_MSG_NOT_ALLOWED,
        TS_MSG_BAD_REQUEST, TS_MSG_SIGNED_OUT, TS_MSG_NOT_FOUND,
        TS_MSG_NOT_ENROLLED,
    };
    ts_page_ctx c = ctx_hostile();
    ts_buf b;
    size_t i;

    (void)state;
    ts_buf_init(&b);
    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        ts_buf_reset(&b);
        assert_int_equal(ts_page_message(&b, &c, kinds[i], 60, HOSTILE), 0);
        check_page(b.data, HOSTILE_ESC);
        check_hostile(b.data);
        assert_has(b.data, "<p>" HOSTILE_ESC "</p>");
        assert_has(b.data, "<a class=\"button\" href=\"/");
        if (kinds[i] == TS_MSG_SIGNED_OUT || kinds[i] == TS_MSG_NOT_ENROLLED)
            assert_has(b.data, "role=\"status\"");
        else
            assert_has(b.data, "role=\"alert\"");
    }
    c = ctx_plain();
    ts_buf_reset(&b);
    assert_int_equal(ts_page_message(&b, &c, TS_MSG_LOCKED, 14 * 60, NULL),
                     0);
    assert_has(b.data, "Try again in 14 minutes.");
    assert_has(b.data, "href=\"/twostep/verify?r=%2Fwiki%2Fpage%3Fx%3D1\"");
    ts_buf_reset(&b);
    assert_int_equal(ts_page_message(&b, &c, TS_MSG_LOCKED, 3900, NULL), 0);
    assert_has(b.data, "Try again in 1 hour 5 minutes.");
    ts_buf_reset(&b);
    assert_int_equal(ts_page_message(&b, &c, TS_MSG_STORE_DOWN, 0, NULL), 0);
    assert_has(b.data, "Reload this page in a minute; if it persists, tell "
                       "your administrator.");
    ts_buf_reset(&b);
    assert_int_equal(ts_page_message(&b, &c, TS_MSG_BAD_REQUEST, 0, NULL),
                     0);
    assert_has(b.data, "This form has expired");
    ts_buf_reset(&b);
    assert_int_equal(ts_page_message(&b, &c, TS_MSG_NOT_ENROLLED, 0, NULL),
                     0);
    assert_has(b.data, "href=\"/twostep/enroll\"");
    ts_buf_reset(&b);
    c.user = NULL;
    assert_int_equal(ts_page_message(&b, &c, TS_MSG_NOT_ALLOWED, 0, NULL),
                     0);
    assert_has(b.data, "signed in first");
    assert_lacks(b.data, "Signed in as");
    ts_buf_free(&b);
}

/* ---- durations ------------------------------------------------------- */

static void
test_duration(void **state)
{
    static const struct { int64_t s; const char *want; } cases[] = {
        { -5, "0 seconds" }, { 0, "0 seconds" }, { 1, "1 second" },
        { 30, "30 seconds" }, { 59, "59 seconds" }, { 60, "1 minute" },
        { 61, "2 minutes" }, { 840, "14 minutes" }, { 899, "15 minutes" },
        { 3599, "1 hour" }, { 3600, "1 hour" }, { 3660, "1 hour 1 minute" },
        { 3900, "1 hour 5 minutes" }, { 7200, "2 hours" },
        { 86399, "1 day" }, { 86400, "1 day" }, { 90000, "1 day 1 hour" },
        { 30 * 86400, "30 days" },
    };
    char out[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ts_format_duration(cases[i].s, out, sizeof(out));
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("%lld: got \"%s\", want \"%s\"", (long long)cases[i].s,
                     out, cases[i].want);
    }
    ts_format_duration(INT64_MAX, out, sizeof(out));
    assert_has(out, " days");
    ts_format_duration(INT64_MIN, out, sizeof(out));
    assert_string_equal(out, "0 seconds");
    /* short buffers truncate and stay terminated */
    memset(out, 'x', sizeof(out));
    ts_format_duration(3900, out, 4);
    assert_string_equal(out, "1 h");
    ts_format_duration(3900, out, 1);
    assert_string_equal(out, "");
    ts_format_duration(3900, out, 0);
    ts_format_duration(3900, NULL, 10);
}

/* ---- errors ---------------------------------------------------------- */

static void
test_errors(void **state)
{
    ts_page_ctx c = ctx_plain();
    ts_enroll_view v = enroll_view();
    ts_account_view a = { 0, 0, 0, 0, NULL, 0, NULL, NULL };
    char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN];
    ts_buf b;

    (void)state;
    fill_codes(codes);
    ts_buf_init(&b);
    assert_int_equal(ts_page_verify(NULL, &c, 30, NULL), TS_EINVAL);
    assert_int_equal(ts_page_verify(&b, NULL, 30, NULL), TS_EINVAL);
    assert_int_equal(ts_page_enroll(&b, &c, NULL, NULL), TS_EINVAL);
    assert_int_equal(ts_page_account(&b, &c, NULL), TS_EINVAL);
    assert_int_equal(ts_page_backup_codes(&b, &c, NULL, 0), TS_EINVAL);
    assert_int_equal(ts_page_message(NULL, &c, TS_MSG_LOCKED, 1, NULL),
                     TS_EINVAL);
    /* an earlier allocation failure is reported, not hidden */
    b.oom = 1;
    assert_int_equal(ts_page_verify(&b, &c, 30, NULL), TS_ENOMEM);
    assert_int_equal(ts_page_enroll(&b, &c, &v, NULL), TS_ENOMEM);
    assert_int_equal(ts_page_backup_codes(&b, &c, codes, 1), TS_ENOMEM);
    assert_int_equal(ts_page_account(&b, &c, &a), TS_ENOMEM);
    assert_int_equal(ts_page_admin(&b, &c, NULL, 0, NULL, NULL), TS_ENOMEM);
    assert_int_equal(ts_page_message(&b, &c, TS_MSG_NOT_FOUND, 0, NULL),
                     TS_ENOMEM);
    assert_int_equal(ts_backup_codes_text(&b, "x", "y", NULL, 0, 1),
                     TS_ENOMEM);
    ts_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csp),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_verify_no_trust),
        cmocka_unit_test(test_verify_hostile),
        cmocka_unit_test(test_verify_bad_ret),
        cmocka_unit_test(test_base),
        cmocka_unit_test(test_enroll),
        cmocka_unit_test(test_enroll_hostile),
        cmocka_unit_test(test_backup_codes),
        cmocka_unit_test(test_backup_text),
        cmocka_unit_test(test_account_on),
        cmocka_unit_test(test_account_enforced),
        cmocka_unit_test(test_account_off),
        cmocka_unit_test(test_account_hostile),
        cmocka_unit_test(test_admin),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
