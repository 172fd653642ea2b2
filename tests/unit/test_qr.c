/* QR as SVG: the markup's shape, refusals, and the real proof: render the
 * SVG with rsvg-convert, read it back with zbarimg, get the exact URI.
 * Missing tools make the test fail, not skip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "otpauth.h"
#include "qr_svg.h"
#include "ts_err.h"

static void
test_svg_shape(void **state)
{
    ts_buf b;
    const char *s;
    size_t len1;
    int w = 0, h = 0;

    ts_buf_init(&b);
    assert_int_equal(ts_qr_svg("otpauth://totp/a?secret=MY", &b), TS_OK);
    s = ts_buf_str(&b);
    assert_true(strncmp(s, "<svg ", 5) == 0);
    assert_true(b.len > 6 && strcmp(s + b.len - 6, "</svg>") == 0);
    assert_non_null(strstr(s, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(s, "role=\"img\""));
    assert_non_null(strstr(s, "aria-label=\""));
    /* a QR symbol is 17 + 4 * version modules, plus 2 x 4 of quiet zone */
    assert_non_null(strstr(s, "viewBox=\"0 0 "));
    assert_int_equal(sscanf(strstr(s, "viewBox=\"0 0 "), "viewBox=\"0 0 %d %d",
                            &w, &h), 2);
    assert_int_equal(w, h);
    assert_true(w - 8 >= 21 && w - 8 <= 177 && (w - 8 - 17) % 4 == 0);
    assert_non_null(strstr(s, "width=\"240\" height=\"240\""));
    assert_non_null(strstr(s, "fill=\"#fff\""));
    /* one path for every dark module */
    assert_non_null(strstr(s, "<path"));
    assert_null(strstr(strstr(s, "<path") + 1, "<path"));
    /* the text itself never appears in the markup */
    assert_null(strstr(s, "secret"));
    /* appends: a second call leaves the first SVG in place */
    len1 = b.len;
    assert_int_equal(ts_qr_svg("x", &b), TS_OK);
    assert_true(b.len > len1);
    assert_true(strncmp(b.data, "<svg ", 5) == 0);
    assert_true(strncmp(b.data + len1, "<svg ", 5) == 0);
    ts_buf_free(&b);
}

static void
test_svg_refuses(void **state)
{
    ts_buf b;
    char *big;

    ts_buf_init(&b);
    assert_int_equal(ts_qr_svg("", &b), TS_EINVAL);
    assert_int_equal(ts_qr_svg(NULL, &b), TS_EINVAL);
    /* more than version 40-M holds in 8-bit mode (2331 bytes) */
    big = malloc(5001);
    assert_non_null(big);
    memset(big, 'a', 5000);
    big[5000] = '\0';
    assert_int_equal(ts_qr_svg(big, &b), TS_EINVAL);
    assert_int_equal(b.len, 0);
    free(big);
    ts_buf_free(&b);
}

/* ---- decode with real tools ------------------------------------------- */

static char tmpdir[64];

static int
setup_dir(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ts-qr-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown_dir(void **state)
{
    char p[128];
    static const char *names[] = { "qr.svg", "qr.png", "out.txt", "err.txt" };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    return rmdir(tmpdir);
}

static void
write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Reads what zbarimg printed; strips the one newline it adds. */
static char *
read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 8192);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    n = fread(buf, 1, 8191, f);
    fclose(f);
    if (n > 0 && buf[n - 1] == '\n')
        buf[n - 1] = '\0';
    return buf;
}

/* SVG -> PNG (rsvg-convert -w width) -> zbarimg; asserts the exact text. */
static void
decode_expect(const char *text, int width)
{
    char svg[128], png[128], txt[128], cmd[512];
    ts_buf b;
    char *got;
    int rc;

    snprintf(svg, sizeof(svg), "%s/qr.svg", tmpdir);
    snprintf(png, sizeof(png), "%s/qr.png", tmpdir);
    snprintf(txt, sizeof(txt), "%s/out.txt", tmpdir);
    ts_buf_init(&b);
    assert_int_equal(ts_qr_svg(text, &b), TS_OK);
    write_file(svg, b.data, b.len);
    ts_buf_free(&b);
    unlink(png);
    snprintf(cmd, sizeof(cmd), "rsvg-convert -w %d -b white -o %s %s", width,
             png, svg);
    rc = system(cmd);
    if (rc != 0)
        fail_msg("'%s' failed (%d): is librsvg2-bin installed?", cmd, rc);
    /* zbarimg's stderr (D-Bus chatter without a session bus) goes to a
     * file, shown only when decoding fails */
    snprintf(cmd, sizeof(cmd), "zbarimg --raw -q %s > %s 2> %s/err.txt", png,
             txt, tmpdir);
    rc = system(cmd);
    if (rc != 0) {
        snprintf(txt, sizeof(txt), "%s/err.txt", tmpdir);
        got = read_text(txt);
        fail_msg("'%s' failed (%d): is zbar-tools installed? %s\ntext: %s",
                 cmd, rc, got, text);
    }
    got = read_text(txt);
    if (strcmp(got, text) != 0)
        fail_msg("zbarimg read\n  '%s'\nwant\n  '%s'", got, text);
    free(got);
}

static void
uri_of(const char *issuer, const char *account, ts_alg alg, int digits,
       int period, size_t secret_len, ts_buf *out)
{
    ts_otpauth p;
    size_t i;

    memset(&p, 0, sizeof(p));
    snprintf(p.issuer, sizeof(p.issuer), "%s", issuer);
    snprintf(p.account, sizeof(p.account), "%s", account);
    for (i = 0; i < secret_len; i++)
        p.secret[i] = (uint8_t)(i * 37 + 11);
    p.secret_len = secret_len;
    p.alg = alg;
    p.digits = digits;
    p.period = period;
    assert_int_equal(ts_otpauth_uri(&p, out), TS_OK);
}

static void
test_zbar_uris(void **state)
{
    static const struct {
        const char *issuer, *account;
        ts_alg alg;
        int digits, period;
        size_t secret_len;
    } cases[] = {
        { "Example", "alice", TS_ALG_SHA1, 6, 30, 20 },
        { "Lab Intranet", "bob@example.org", TS_ALG_SHA256, 8, 60, 32 },
        { "", "carol", TS_ALG_SHA512, 7, 1, 64 },
        /* UTF-8 user and issuer */
        { "R\xc3\xa9seau Z\xc3\xbcrich", "Jos\xc3\xa9 M\xc3\xbcller \xe6\x9d\xb1\xe4\xba\xac",
          TS_ALG_SHA1, 6, 30, 20 },
        /* every character that needs escaping */
        { "A B:C@D&E?F#G%H", "x y:z@w&v?u#t%s/+=", TS_ALG_SHA1, 6, 300, 20 },
        /* long issuer */
        { "The Very Long Name of a Research Laboratory Intranet Department "
          "of Applied Things", "a.very.long.user.name@subdomain.example.org",
          TS_ALG_SHA512, 8, 30, 64 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ts_buf u;

        ts_buf_init(&u);
        uri_of(cases[i].issuer, cases[i].account, cases[i].alg,
               cases[i].digits, cases[i].period, cases[i].secret_len, &u);
        decode_expect(u.data, 400);
        ts_buf_free(&u);
    }
}

/* The longest URI the enrollment page can produce: 255-byte UTF-8 issuer
 * and account (each byte escaped). A dense code needs more pixels. */
static void
test_zbar_longest(void **state)
{
    char issuer[256], account[256];
    ts_buf u;
    size_t i;

    for (i = 0; i + 2 <= 254; i += 2) {
        issuer[i] = '\xc3';
        issuer[i + 1] = '\xa9';
        account[i] = '\xc3';
        account[i + 1] = '\xbc';
    }
    issuer[i] = account[i] = '\0';
    ts_buf_init(&u);
    uri_of(issuer, account, TS_ALG_SHA512, 8, 30, 64, &u);
    assert_true(u.len > 1500);
    decode_expect(u.data, 400);
    ts_buf_free(&u);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_shape),
        cmocka_unit_test(test_svg_refuses),
        cmocka_unit_test(test_zbar_uris),
        cmocka_unit_test(test_zbar_longest),
    };

    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
