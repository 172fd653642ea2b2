/* otpauth:// URIs: the exact text we write, percent-encoding of hostile
 * issuers and accounts, parsing of other producers' URIs, round trips and
 * hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/rand.h>

#include "otpauth.h"
#include "ts_err.h"

static void
fill(ts_otpauth *p, const char *issuer, const char *account, ts_alg alg,
     int digits, int period)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->issuer, sizeof(p->issuer), "%s", issuer);
    snprintf(p->account, sizeof(p->account), "%s", account);
    memcpy(p->secret, "12345678901234567890", 20);
    p->secret_len = 20;
    p->alg = alg;
    p->digits = digits;
    p->period = period;
}

static void
assert_same(const ts_otpauth *a, const ts_otpauth *b)
{
    assert_string_equal(a->issuer, b->issuer);
    assert_string_equal(a->account, b->account);
    assert_int_equal(a->secret_len, b->secret_len);
    assert_memory_equal(a->secret, b->secret, a->secret_len);
    assert_int_equal(a->alg, b->alg);
    assert_int_equal(a->digits, b->digits);
    assert_int_equal(a->period, b->period);
}

static void
build_expect(const ts_otpauth *p, const char *want)
{
    ts_buf b;

    ts_buf_init(&b);
    assert_int_equal(ts_otpauth_uri(p, &b), TS_OK);
    assert_string_equal(ts_buf_str(&b), want);
    ts_buf_free(&b);
}

static int
parse(const char *uri, ts_otpauth *out, const char **why)
{
    *why = NULL;
    return ts_otpauth_parse(uri, strlen(uri), out, why);
}

/* ---- building ------------------------------------------------------------ */

static void
test_build_plain(void **state)
{
    ts_otpauth p;

    fill(&p, "Example", "alice", TS_ALG_SHA1, 6, 30);
    build_expect(&p, "otpauth://totp/Example:alice"
                     "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example"
                     "&algorithm=SHA1&digits=6&period=30");
    fill(&p, "Lab", "bob", TS_ALG_SHA512, 8, 60);
    build_expect(&p, "otpauth://totp/Lab:bob"
                     "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Lab"
                     "&algorithm=SHA512&digits=8&period=60");
    /* no issuer: bare account label, no issuer parameter */
    fill(&p, "", "carol", TS_ALG_SHA256, 7, 1);
    build_expect(&p, "otpauth://totp/carol"
                     "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                     "&algorithm=SHA256&digits=7&period=1");
}

static void
test_build_escapes(void **state)
{
    ts_otpauth p;

    fill(&p, "A B:C@D&E?F#G%H/I+J=K", "x y:z@w&v?u#t%s\xc3\xa9\xe6\x9d\xb1",
         TS_ALG_SHA1, 6, 30);
    build_expect(&p, "otpauth://totp/"
                     "A%20B%3AC%40D%26E%3FF%23G%25H%2FI%2BJ%3DK:"
                     "x%20y%3Az%40w%26v%3Fu%23t%25s%C3%A9%E6%9D%B1"
                     "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                     "&issuer=A%20B%3AC%40D%26E%3FF%23G%25H%2FI%2BJ%3DK"
                     "&algorithm=SHA1&digits=6&period=30");
    /* unreserved characters stay as they are */
    fill(&p, "a-b.c_d~e", "Z9", TS_ALG_SHA1, 6, 30);
    build_expect(&p, "otpauth://totp/a-b.c_d~e:Z9"
                     "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=a-b.c_d~e"
                     "&algorithm=SHA1&digits=6&period=30");
}

static void
test_build_refuses(void **state)
{
    ts_otpauth p;
    ts_buf b;

    ts_buf_init(&b);
    fill(&p, "I", "a", TS_ALG_SHA1, 5, 30);
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    fill(&p, "I", "a", TS_ALG_SHA1, 9, 30);
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    fill(&p, "I", "a", TS_ALG_SHA1, 6, 0);
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    fill(&p, "I", "a", TS_ALG_SHA1, 6, 301);
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    fill(&p, "I", "a", (ts_alg)9, 6, 30);
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    fill(&p, "I", "", TS_ALG_SHA1, 6, 30);
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    fill(&p, "I", "a", TS_ALG_SHA1, 6, 30);
    p.secret_len = 0;
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    p.secret_len = TS_SECRET_MAX + 1;
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    fill(&p, "I", "a", TS_ALG_SHA1, 6, 30);
    memset(p.issuer, 'x', sizeof(p.issuer));        /* not terminated */
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    fill(&p, "I", "a", TS_ALG_SHA1, 6, 30);
    memset(p.account, 'x', sizeof(p.account));
    assert_int_equal(ts_otpauth_uri(&p, &b), TS_EINVAL);
    assert_int_equal(b.len, 0);
    ts_buf_free(&b);
}

/* ---- parsing ------------------------------------------------------------- */

static void
test_parse_google_example(void **state)
{
    ts_otpauth r;
    const char *why;

    assert_int_equal(parse("otpauth://totp/Example:alice@google.com"
                           "?secret=JBSWY3DPEHPK3PXP&issuer=Example", &r, &why),
                     TS_OK);
    assert_string_equal(r.issuer, "Example");
    assert_string_equal(r.account, "alice@google.com");
    assert_int_equal(r.secret_len, 10);
    assert_memory_equal(r.secret, "Hello!\xde\xad\xbe\xef", 10);
    assert_int_equal(r.alg, TS_ALG_SHA1);        /* defaults */
    assert_int_equal(r.digits, 6);
    assert_int_equal(r.period, 30);
}

static void
test_parse_variants(void **state)
{
    ts_otpauth r;
    const char *why;

    /* escaped ':' as separator when it matches the issuer parameter */
    assert_int_equal(parse("otpauth://totp/ACME%20Co%3Ajohn.doe%40email.com"
                           "?secret=JBSWY3DPEHPK3PXP&issuer=ACME+Co"
                           "&algorithm=sha256&digits=8&period=60", &r, &why),
                     TS_OK);
    assert_string_equal(r.issuer, "ACME Co");
    assert_string_equal(r.account, "john.doe@email.com");
    assert_int_equal(r.alg, TS_ALG_SHA256);
    assert_int_equal(r.digits, 8);
    assert_int_equal(r.period, 60);
    /* without an issuer parameter an escaped ':' is part of the account */
    assert_int_equal(parse("otpauth://totp/a%3Ab?secret=JBSWY3DPEHPK3PXP",
                           &r, &why), TS_OK);
    assert_string_equal(r.issuer, "");
    assert_string_equal(r.account, "a:b");
    /* issuer only in the label */
    assert_int_equal(parse("otpauth://totp/Lab:eve?secret=JBSWY3DPEHPK3PXP",
                           &r, &why), TS_OK);
    assert_string_equal(r.issuer, "Lab");
    assert_string_equal(r.account, "eve");
    /* issuer only as parameter */
    assert_int_equal(parse("otpauth://totp/eve?secret=JBSWY3DPEHPK3PXP"
                           "&issuer=Lab", &r, &why), TS_OK);
    assert_string_equal(r.issuer, "Lab");
    assert_string_equal(r.account, "eve");
    /* case-insensitive scheme and type, lower-case padded secret, unknown
     * parameters ignored, empty segments skipped */
    assert_int_equal(parse("OTPAUTH://TOTP/Lab:eve?secret=mzxw6yq%3D&&"
                           "image=https%3A%2F%2Fx%2Fy.png&foo=&", &r, &why),
                     TS_OK);
    assert_int_equal(r.secret_len, 4);
    assert_memory_equal(r.secret, "foob", 4);
    /* in the label '+' is itself; in a parameter it is a space */
    assert_int_equal(parse("otpauth://totp/a+b?secret=JBSWY3DPEHPK3PXP",
                           &r, &why), TS_OK);
    assert_string_equal(r.account, "a+b");
    /* a second literal ':' belongs to the account */
    assert_int_equal(parse("otpauth://totp/I:a:b?secret=JBSWY3DPEHPK3PXP",
                           &r, &why), TS_OK);
    assert_string_equal(r.issuer, "I");
    assert_string_equal(r.account, "a:b");
    /* the longest secret */
    assert_int_equal(parse("otpauth://totp/a?secret="
                           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                           &r, &why), TS_OK);
    assert_int_equal(r.secret_len, 64);
}

static void
expect_fail(const char *uri, size_t n, int rc_want, const char *why_part)
{
    ts_otpauth r;
    const char *why = NULL;
    int rc;

    memset(&r, 0x5a, sizeof(r));
    rc = ts_otpauth_parse(uri, n, &r, &why);
    if (rc != rc_want)
        fail_msg("'%.*s': rc %d, want %d (%s)", (int)n, uri, rc, rc_want,
                 why ? why : "-");
    assert_non_null(why);
    if (why_part && strstr(why, why_part) == NULL)
        fail_msg("'%.*s': why '%s' lacks '%s'", (int)n, uri, why, why_part);
    assert_int_equal(((unsigned char *)&r)[0], 0x5a);   /* untouched */
}

#define F(uri, part) expect_fail(uri, strlen(uri), TS_EINVAL, part)

static void
test_parse_refuses(void **state)
{
    F("", "otpauth://");
    F("http://totp/a?secret=JBSWY3DPEHPK3PXP", "otpauth://");
    F("otpauth:/totp/a?secret=JBSWY3DPEHPK3PXP", "otpauth://");
    F("otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=1", "totp");
    F("otpauth://totpx/a?secret=JBSWY3DPEHPK3PXP", "totp");
    F("otpauth://totp", "totp");
    F("otpauth://totp/a", "no secret");
    F("otpauth://totp/a?issuer=x", "no secret");
    F("otpauth://totp/a?secret=", "no secret");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PX1", "base32");
    F("otpauth://totp/a?secret=MZXW6YR", "bits");
    F("otpauth://totp/a?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "64 bytes");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "algorithm");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=", "algorithm");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=5", "Digits");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=9", "Digits");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=6a", "Digits");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=", "Digits");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=-6", "Digits");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=0", "period");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=301", "period");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=99999999999", "");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period", "no '='");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=6&digits=8", "repeated");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP",
      "repeated");
    F("otpauth://totp/a%G1?secret=JBSWY3DPEHPK3PXP", "hex");
    F("otpauth://totp/a%4?secret=JBSWY3DPEHPK3PXP", "short");
    F("otpauth://totp/a%?secret=JBSWY3DPEHPK3PXP", "short");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=%", "short");
    F("otpauth://totp/a%00b?secret=JBSWY3DPEHPK3PXP", "NUL");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&issuer=x%00", "NUL");
    F("otpauth://totp/a b?secret=JBSWY3DPEHPK3PXP", "escaped");
    F("otpauth://totp/a\tb?secret=JBSWY3DPEHPK3PXP", "escaped");
    F("otpauth://totp/\xc3\xa9?secret=JBSWY3DPEHPK3PXP", "escaped");
    F("otpauth://totp/a\x7f?secret=JBSWY3DPEHPK3PXP", "escaped");
    F("otpauth://totp/a?secret=JBSWY3DPEHPK3PXP#frag", "'#'");
    F("otpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP&issuer=Y", "differ");
    F("otpauth://totp/?secret=JBSWY3DPEHPK3PXP", "account");
    F("otpauth://totp/I:?secret=JBSWY3DPEHPK3PXP", "account");
    expect_fail("otpauth://totp/a\0b?secret=JBSWY3DPEHPK3PXP", 42, TS_EINVAL,
                "NUL");
}

static void
test_parse_overlong(void **state)
{
    char uri[6000];
    int n;

    /* 256 bytes of issuer do not fit issuer[256] */
    n = snprintf(uri, sizeof(uri), "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP"
                 "&issuer=%0256d", 0);
    expect_fail(uri, (size_t)n, TS_EINVAL, "over-long");
    n = snprintf(uri, sizeof(uri), "otpauth://totp/%0256d?secret=JBSWY3DPEHPK3PXP",
                 0);
    expect_fail(uri, (size_t)n, TS_ETOOBIG, "too long");
    n = snprintf(uri, sizeof(uri), "otpauth://totp/%0256d:a?secret=JBSWY3DPEHPK3PXP",
                 0);
    expect_fail(uri, (size_t)n, TS_ETOOBIG, "too long");
    /* 255 bytes fit */
    {
        ts_otpauth r;
        const char *why;

        snprintf(uri, sizeof(uri), "otpauth://totp/%0255d:%0255d"
                 "?secret=JBSWY3DPEHPK3PXP", 0, 0);
        assert_int_equal(parse(uri, &r, &why), TS_OK);
        assert_int_equal(strlen(r.issuer), 255);
        assert_int_equal(strlen(r.account), 255);
    }
    /* the whole URI is bounded */
    memset(uri, 'a', sizeof(uri));
    memcpy(uri, "otpauth://totp/", 15);
    expect_fail(uri, sizeof(uri), TS_ETOOBIG, "too long");
}

/* ---- round trips ---------------------------------------------------------- */

static void
round_trip(const ts_otpauth *p)
{
    ts_otpauth r;
    ts_buf b;
    const char *why = NULL;
    int rc;

    ts_buf_init(&b);
    assert_int_equal(ts_otpauth_uri(p, &b), TS_OK);
    rc = ts_otpauth_parse(b.data, b.len, &r, &why);
    if (rc != TS_OK)
        fail_msg("%s: %s", b.data, why);
    assert_same(p, &r);
    ts_buf_free(&b);
}

static void
test_round_trip_hostile_names(void **state)
{
    static const char *names[] = {
        "Example", "Example Co", "A:B", ":", "::", "a@b", "x&y=z", "what?",
        "#1", "100%", "%3A", "%", "+ +", "/path/", "\xc3\xa9t\xc3\xa9",
        "\xe6\x9d\xb1\xe4\xba\xac", "\xf0\x9f\x94\x91 key", " lead", "trail ",
        "tab\there", "quote\"'<>", "back\\slash", "\x01\x1f\x7f\xff",
    };
    size_t i, j;
    int alg, d;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
            ts_otpauth p;

            fill(&p, names[i], names[j], TS_ALG_SHA1, 6, 30);
            round_trip(&p);
            fill(&p, "", names[j], TS_ALG_SHA1, 6, 30);
            round_trip(&p);
        }
    }
    for (alg = 0; alg < 3; alg++) {
        for (d = 6; d <= 8; d++) {
            ts_otpauth p;

            fill(&p, "Lab", "alice", (ts_alg)alg, d,
                 1 + 37 * d * (alg + 1) % 300);
            round_trip(&p);
        }
    }
}

/* Random non-NUL bytes of random lengths (up to the 255 limit), random
 * secrets and parameters. */
static void
test_round_trip_random(void **state)
{
    int rep;

    for (rep = 0; rep < 2000; rep++) {
        ts_otpauth p;
        unsigned char r[8];
        size_t il, al, k;

        assert_int_equal(RAND_bytes(r, sizeof(r)), 1);
        memset(&p, 0, sizeof(p));
        il = r[0] % 4 == 0 ? 0 : r[1];
        al = 1 + r[2] % 255;
        assert_int_equal(RAND_bytes((unsigned char *)p.issuer, (int)il + 1), 1);
        assert_int_equal(RAND_bytes((unsigned char *)p.account, (int)al + 1), 1);
        for (k = 0; k < il; k++)
            p.issuer[k] = p.issuer[k] ? p.issuer[k] : 'x';
        for (k = 0; k < al; k++)
            p.account[k] = p.account[k] ? p.account[k] : 'y';
        p.issuer[il] = p.account[al] = '\0';
        p.secret_len = 1 + r[3] % TS_SECRET_MAX;
        assert_int_equal(RAND_bytes(p.secret, (int)p.secret_len), 1);
        p.alg = (ts_alg)(r[4] % 3);
        p.digits = 6 + r[5] % 3;
        p.period = 1 + (r[6] | r[7] << 8) % 300;
        round_trip(&p);
    }
}

/* ---- hostile input ------------------------------------------------------- */

/* Whatever parses re-builds to a URI that parses to the same thing. */
static void
check_any(const char *uri, size_t n)
{
    ts_otpauth r;
    const char *why = NULL;
    int rc = ts_otpauth_parse(uri, n, &r, &why);

    if (rc != TS_OK) {
        assert_true(rc == TS_EINVAL || rc == TS_ETOOBIG);
        assert_non_null(why);
        return;
    }
    round_trip(&r);
}

static void
test_every_byte_flipped(void **state)
{
    const char *src = "otpauth://totp/Ex%20Co:al%C3%A9x?secret=JBSWY3DPEHPK3PXP"
                      "&issuer=Ex%20Co&algorithm=SHA256&digits=7&period=45";
    size_t n = strlen(src), i;
    char mut[256];
    int v;

    assert_true(n < sizeof(mut));
    check_any(src, n);
    for (i = 0; i < n; i++) {
        for (v = 0; v < 256; v++) {
            memcpy(mut, src, n);
            mut[i] = (char)v;
            check_any(mut, n);
        }
    }
}

static void
test_truncation(void **state)
{
    const char *src = "otpauth://totp/Ex%20Co:al%C3%A9x?secret=JBSWY3DPEHPK3PXP"
                      "&issuer=Ex%20Co&algorithm=SHA256&digits=7&period=45";
    size_t n = strlen(src), i;
    char *copy;

    for (i = 0; i <= n; i++) {
        /* an exact-size heap copy so ASan sees any read past the end */
        copy = malloc(i ? i : 1);
        assert_non_null(copy);
        memcpy(copy, src, i);
        check_any(copy, i);
        free(copy);
    }
}

static void
test_null_args(void **state)
{
    ts_otpauth r;
    const char *why = NULL;
    ts_buf b;

    assert_int_equal(ts_otpauth_parse(NULL, 5, &r, &why), TS_EINVAL);
    assert_int_equal(ts_otpauth_parse("otpauth://totp/a?secret=MY", 26, NULL,
                                      &why), TS_EINVAL);
    assert_int_equal(ts_otpauth_parse("otpauth://totp/a?secret=MY", 26, &r,
                                      NULL), TS_OK);
    ts_buf_init(&b);
    assert_int_equal(ts_otpauth_uri(NULL, &b), TS_EINVAL);
    ts_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_plain),
        cmocka_unit_test(test_build_escapes),
        cmocka_unit_test(test_build_refuses),
        cmocka_unit_test(test_parse_google_example),
        cmocka_unit_test(test_parse_variants),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_parse_overlong),
        cmocka_unit_test(test_round_trip_hostile_names),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_every_byte_flipped),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_null_args),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
