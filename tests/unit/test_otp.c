/* HOTP/TOTP: the RFC known answers, verification rules, and a cross-check
 * against oathtool (OATH Toolkit) on random secrets, times and parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/rand.h>

#include "otp.h"
#include "ts_err.h"

/* Seeds of RFC 6238 Appendix B (ASCII "1234567890" repeated to 20/32/64
 * bytes); RFC 4226 Appendix D uses the 20-byte one. */
static const uint8_t seed20[] = "12345678901234567890";
static const uint8_t seed32[] = "12345678901234567890123456789012";
static const uint8_t seed64[] =
    "1234567890123456789012345678901234567890123456789012345678901234";

/* ---- known answers (/work/shared/vectors/rfc-otp-vectors.txt) ---------- */

static void
test_rfc4226_hotp(void **state)
{
    static const uint32_t want[10] = {
        755224, 287082, 359152, 969429, 338314,
        254676, 287922, 162583, 399871, 520489
    };
    uint32_t code;
    char txt[9], exp[9];
    uint64_t c;

    for (c = 0; c < 10; c++) {
        assert_int_equal(ts_hotp(seed20, 20, TS_ALG_SHA1, c, 6, &code), TS_OK);
        assert_int_equal(code, want[c]);
        ts_otp_format(code, 6, txt);
        snprintf(exp, sizeof(exp), "%06u", want[c]);
        assert_string_equal(txt, exp);
    }
}

static const struct {
    int64_t  t;
    uint64_t step;
    uint32_t sha1, sha256, sha512;
} rfc6238[] = {
    { 59LL,          0x0000000000000001ULL, 94287082, 46119246, 90693936 },
    { 1111111109LL,  0x00000000023523ECULL,  7081804, 68084774, 25091201 },
    { 1111111111LL,  0x00000000023523EDULL, 14050471, 67062674, 99943326 },
    { 1234567890LL,  0x000000000273EF07ULL, 89005924, 91819424, 93441116 },
    { 2000000000LL,  0x0000000003F940AAULL, 69279037, 90698825, 38618901 },
    { 20000000000LL, 0x0000000027BC86AAULL, 65353130, 77737706, 47863826 },
};

static void
check_totp_vector(const uint8_t *seed, size_t len, ts_alg alg, int64_t t,
                  uint64_t step, uint32_t want)
{
    uint32_t code;
    char txt[9];
    int64_t matched = -1;

    assert_int_equal(ts_totp_step(t, 30), (int64_t)step);
    assert_int_equal(ts_hotp(seed, len, alg, step, 8, &code), TS_OK);
    assert_int_equal(code, want);
    /* verify must accept the published code at that time with no skew */
    ts_otp_format(want, 8, txt);
    assert_int_equal(strlen(txt), 8);
    assert_int_equal(ts_totp_verify(seed, len, alg, 8, 30, t, 0, txt, 8,
                                    &matched), TS_OK);
    assert_int_equal(matched, (int64_t)step);
}

static void
test_rfc6238_totp(void **state)
{
    size_t i;

    for (i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++) {
        check_totp_vector(seed20, 20, TS_ALG_SHA1, rfc6238[i].t,
                          rfc6238[i].step, rfc6238[i].sha1);
        check_totp_vector(seed32, 32, TS_ALG_SHA256, rfc6238[i].t,
                          rfc6238[i].step, rfc6238[i].sha256);
        check_totp_vector(seed64, 64, TS_ALG_SHA512, rfc6238[i].t,
                          rfc6238[i].step, rfc6238[i].sha512);
    }
}

/* The RFC's warning sign: the 20-byte seed with SHA256 gives another code. */
static void
test_rfc6238_wrong_seed_differs(void **state)
{
    uint32_t code;

    assert_int_equal(ts_hotp(seed20, 20, TS_ALG_SHA256, 1, 8, &code), TS_OK);
    assert_int_equal(code, 32247374);
    assert_int_not_equal(code, 46119246);
}

/* ---- small functions ---------------------------------------------------- */

static void
test_alg_names(void **state)
{
    ts_alg a = TS_ALG_SHA512;

    assert_int_equal(ts_alg_parse("SHA1", &a), TS_OK);
    assert_int_equal(a, TS_ALG_SHA1);
    assert_int_equal(ts_alg_parse("sha-256", &a), TS_OK);
    assert_int_equal(a, TS_ALG_SHA256);
    assert_int_equal(ts_alg_parse("Sha512", &a), TS_OK);
    assert_int_equal(a, TS_ALG_SHA512);
    assert_int_equal(ts_alg_parse("SHA-1", &a), TS_OK);
    assert_int_equal(a, TS_ALG_SHA1);
    assert_int_equal(ts_alg_parse("MD5", &a), TS_EINVAL);
    assert_int_equal(ts_alg_parse("", &a), TS_EINVAL);
    assert_int_equal(ts_alg_parse("SHA1 ", &a), TS_EINVAL);
    assert_int_equal(ts_alg_parse("SHA", &a), TS_EINVAL);
    assert_int_equal(ts_alg_parse(NULL, &a), TS_EINVAL);
    assert_string_equal(ts_alg_name(TS_ALG_SHA1), "SHA1");
    assert_string_equal(ts_alg_name(TS_ALG_SHA256), "SHA256");
    assert_string_equal(ts_alg_name(TS_ALG_SHA512), "SHA512");
}

static void
test_format(void **state)
{
    char out[9];

    ts_otp_format(0, 6, out);
    assert_string_equal(out, "000000");
    ts_otp_format(42, 8, out);
    assert_string_equal(out, "00000042");
    ts_otp_format(1234567, 7, out);
    assert_string_equal(out, "1234567");
    /* digits out of range are clamped; never more than 8 characters */
    ts_otp_format(4294967295u, 12, out);
    assert_int_equal(strlen(out), 8);
    ts_otp_format(7, 1, out);
    assert_string_equal(out, "000007");
}

static void
test_step(void **state)
{
    assert_int_equal(ts_totp_step(0, 30), 0);
    assert_int_equal(ts_totp_step(29, 30), 0);
    assert_int_equal(ts_totp_step(30, 30), 1);
    assert_int_equal(ts_totp_step(59, 60), 0);
    assert_int_equal(ts_totp_step(60, 60), 1);
    assert_int_equal(ts_totp_step(1000, 1), 1000);
    assert_int_equal(ts_totp_step(-1, 30), -1);     /* floor */
    assert_int_equal(ts_totp_step(-30, 30), -1);
    assert_int_equal(ts_totp_step(-31, 30), -2);
    assert_int_equal(ts_totp_step(100, 0), -1);
}

static void
test_ct_equal(void **state)
{
    assert_int_equal(ts_ct_equal("abc", "abc", 3), 1);
    assert_int_equal(ts_ct_equal("abc", "abd", 3), 0);
    assert_int_equal(ts_ct_equal("xbc", "abc", 3), 0);
    assert_int_equal(ts_ct_equal("a\0c", "a\0c", 3), 1);
    assert_int_equal(ts_ct_equal("", "", 0), 1);
}

static void
test_hotp_invalid(void **state)
{
    uint32_t code = 99;

    assert_int_equal(ts_hotp(seed20, 20, TS_ALG_SHA1, 0, 5, &code), TS_EINVAL);
    assert_int_equal(ts_hotp(seed20, 20, TS_ALG_SHA1, 0, 9, &code), TS_EINVAL);
    assert_int_equal(ts_hotp(seed20, 0, TS_ALG_SHA1, 0, 6, &code), TS_EINVAL);
    assert_int_equal(ts_hotp(NULL, 20, TS_ALG_SHA1, 0, 6, &code), TS_EINVAL);
    assert_int_equal(ts_hotp(seed20, 20, (ts_alg)7, 0, 6, &code), TS_EINVAL);
    assert_int_equal(ts_hotp(seed20, 20, TS_ALG_SHA1, 0, 6, NULL), TS_EINVAL);
    assert_int_equal(code, 99);
    /* a one-byte key and the largest counter are fine */
    assert_int_equal(ts_hotp(seed20, 1, TS_ALG_SHA1, UINT64_MAX, 6, &code), TS_OK);
    assert_true(code < 1000000);
}

/* ---- verification ------------------------------------------------------- */

static void
code_at(int64_t step, int digits, char out[9])
{
    uint32_t v;

    assert_int_equal(ts_hotp(seed20, 20, TS_ALG_SHA1, (uint64_t)step, digits,
                             &v), TS_OK);
    ts_otp_format(v, digits, out);
}

static int
verify(int64_t now, int skew, const char *code, int64_t *m)
{
    return ts_totp_verify(seed20, 20, TS_ALG_SHA1, 6, 30, now, skew, code,
                          strlen(code), m);
}

/* Step 1000 is [30000, 30030). The window is exactly now-skew..now+skew. */
static void
test_verify_window_edges(void **state)
{
    const int64_t now = 30000 + 17;
    char c[9];
    int64_t m;
    int skew;

    for (skew = 0; skew <= TS_OTP_MAX_SKEW; skew++) {
        int64_t s;

        for (s = 1000 - skew - 2; s <= 1000 + skew + 2; s++) {
            int in = s >= 1000 - skew && s <= 1000 + skew;
            int rc;

            code_at(s, 6, c);
            m = -7;
            rc = verify(now, skew, c, &m);
            if (in) {
                assert_int_equal(rc, TS_OK);
                /* a later step of the window could share the code; then the
                 * latest wins, which is still >= s */
                assert_true(m >= s && m <= 1000 + skew);
            } else if (rc == TS_OK) {
                /* only acceptable if that code collides with a window step */
                assert_true(m >= 1000 - skew && m <= 1000 + skew);
            } else {
                assert_int_equal(rc, TS_EMISMATCH);
                assert_int_equal(m, -7);      /* untouched on failure */
            }
        }
    }
    /* the first and last second of the step count as that step */
    code_at(1000, 6, c);
    assert_int_equal(verify(30000, 0, c, &m), TS_OK);
    assert_int_equal(m, 1000);
    assert_int_equal(verify(30029, 0, c, &m), TS_OK);
    assert_int_equal(verify(30030, 0, c, &m), TS_EMISMATCH);
    assert_int_equal(verify(29999, 0, c, &m), TS_EMISMATCH);
}

static void
test_verify_skew0_exact(void **state)
{
    char c[9];
    int64_t m = 0;

    code_at(1001, 6, c);
    assert_int_equal(verify(30017, 0, c, &m), TS_EMISMATCH);
    assert_int_equal(verify(30017, 1, c, &m), TS_OK);
    assert_int_equal(m, 1001);
    code_at(999, 6, c);
    assert_int_equal(verify(30017, 0, c, &m), TS_EMISMATCH);
    assert_int_equal(verify(30017, 1, c, &m), TS_OK);
    assert_int_equal(m, 999);
}

/* A code different from every code of the window is refused. */
static void
test_verify_wrong_code(void **state)
{
    char win[21][9], c[9];
    uint32_t v;
    int64_t m;
    int i, tries;

    for (i = 0; i < 21; i++)
        code_at(1000 - 10 + i, 6, win[i]);
    for (tries = 0, v = 0; tries < 100; tries++, v += 7919) {
        int clash = 0;

        ts_otp_format(v % 1000000, 6, c);
        for (i = 0; i < 21; i++)
            clash |= strcmp(c, win[i]) == 0;
        if (clash)
            continue;
        assert_int_equal(verify(30017, 10, c, &m), TS_EMISMATCH);
    }
    /* the right code with one digit changed */
    strcpy(c, win[10]);
    c[3] = (char)(c[3] == '9' ? '0' : c[3] + 1);
    for (i = 0; i < 21; i++)
        if (strcmp(c, win[i]) == 0)
            return;
    assert_int_equal(verify(30017, 10, c, &m), TS_EMISMATCH);
}

static void
test_verify_malformed(void **state)
{
    char c[9], buf[16];
    int64_t m = 5;

    code_at(1000, 6, c);
    /* wrong length: the right digits with one missing or one extra */
    assert_int_equal(ts_totp_verify(seed20, 20, TS_ALG_SHA1, 6, 30, 30017, 1,
                                    c, 5, &m), TS_EINVAL);
    snprintf(buf, sizeof(buf), "%s0", c);
    assert_int_equal(verify(30017, 1, buf, &m), TS_EINVAL);
    assert_int_equal(verify(30017, 1, "", &m), TS_EINVAL);
    /* non-digits */
    assert_int_equal(verify(30017, 1, "12345a", &m), TS_EINVAL);
    assert_int_equal(verify(30017, 1, " 12345", &m), TS_EINVAL);
    assert_int_equal(verify(30017, 1, "+12345", &m), TS_EINVAL);
    assert_int_equal(verify(30017, 1, "-12345", &m), TS_EINVAL);
    assert_int_equal(verify(30017, 1, "１２３４５６", &m), TS_EINVAL);
    /* a NUL inside the counted length */
    memcpy(buf, c, 6);
    buf[5] = '\0';
    assert_int_equal(ts_totp_verify(seed20, 20, TS_ALG_SHA1, 6, 30, 30017, 1,
                                    buf, 6, &m), TS_EINVAL);
    assert_int_equal(ts_totp_verify(seed20, 20, TS_ALG_SHA1, 6, 30, 30017, 1,
                                    NULL, 6, &m), TS_EINVAL);
    assert_int_equal(m, 5);
}

static void
test_verify_bad_params(void **state)
{
    char c[9];
    int64_t m;

    code_at(1000, 6, c);
#define V(alg, dg, per, now, skew, key, klen) \
    ts_totp_verify(key, klen, alg, dg, per, now, skew, c, strlen(c), &m)
    assert_int_equal(V(TS_ALG_SHA1, 6, 30, 30017, 1, seed20, 20), TS_OK);
    assert_int_equal(V(TS_ALG_SHA1, 5, 30, 30017, 1, seed20, 20), TS_EINVAL);
    assert_int_equal(V(TS_ALG_SHA1, 9, 30, 30017, 1, seed20, 20), TS_EINVAL);
    assert_int_equal(V(TS_ALG_SHA1, 6, 0, 30017, 1, seed20, 20), TS_EINVAL);
    assert_int_equal(V(TS_ALG_SHA1, 6, 301, 30017, 1, seed20, 20), TS_EINVAL);
    assert_int_equal(V(TS_ALG_SHA1, 6, 30, 30017, -1, seed20, 20), TS_EINVAL);
    assert_int_equal(V(TS_ALG_SHA1, 6, 30, 30017, 11, seed20, 20), TS_EINVAL);
    assert_int_equal(V(TS_ALG_SHA1, 6, 30, -5, 1, seed20, 20), TS_EINVAL);
    assert_int_equal(V(TS_ALG_SHA1, 6, 30, 30017, 1, seed20, 0), TS_EINVAL);
    assert_int_equal(V(TS_ALG_SHA1, 6, 30, 30017, 1, NULL, 20), TS_EINVAL);
    assert_int_equal(V((ts_alg)3, 6, 30, 30017, 1, seed20, 20), TS_EINVAL);
    /* the far end of time does not overflow */
    assert_int_equal(V(TS_ALG_SHA1, 6, 1, INT64_MAX, 1, seed20, 20), TS_EINVAL);
    assert_int_equal(V(TS_ALG_SHA1, 6, 1, INT64_MAX - 20, 10, seed20, 20),
                     TS_EMISMATCH);
    assert_int_equal(ts_totp_verify(seed20, 20, TS_ALG_SHA1, 6, 30, 30017, 1,
                                    c, 6, NULL), TS_EINVAL);
#undef V
}

/* Near time 0 the window is cut at step 0; codes of step 0 still work. */
static void
test_verify_near_epoch(void **state)
{
    char c[9];
    int64_t m = -1;

    code_at(0, 6, c);
    assert_int_equal(verify(5, 10, c, &m), TS_OK);
    assert_int_equal(m, 0);
    code_at(10, 6, c);
    assert_int_equal(verify(5, 10, c, &m), TS_OK);
    assert_int_equal(m, 10);
}

/* Finds two steps within 20 of each other with the same 6-digit code, then
 * checks that a window holding both reports the later one. */
static void
test_verify_latest_of_two(void **state)
{
    static char ring[21][9];
    int64_t s, first = -1, second = -1, m = -1;
    int i;

    for (s = 0; s < 5000000 && first < 0; s++) {
        char c[9];

        code_at(s, 6, c);
        for (i = 1; i <= 20 && i <= s; i++) {
            if (strcmp(ring[(s - i) % 21], c) == 0) {
                first = s - i;
                second = s;
                break;
            }
        }
        memcpy(ring[s % 21], c, 9);
    }
    assert_true(first >= 0);
    {
        int64_t mid = (first + second) / 2;
        char c[9];

        code_at(second, 6, c);
        assert_int_equal(verify(mid * 30 + 3, 10, c, &m), TS_OK);
        assert_int_equal(m, second);
        /* with a window holding only the first, the first is reported */
        assert_int_equal(verify(first * 30 + 3, 0, c, &m), TS_OK);
        assert_int_equal(m, first);
    }
}

/* 7 and 8 digits verify like 6. */
static void
test_verify_digits(void **state)
{
    int d;

    for (d = 6; d <= 8; d++) {
        uint32_t v;
        char c[9];
        int64_t m = -1;

        assert_int_equal(ts_hotp(seed64, 64, TS_ALG_SHA512, 77, d, &v), TS_OK);
        ts_otp_format(v, d, c);
        assert_int_equal(ts_totp_verify(seed64, 64, TS_ALG_SHA512, d, 60,
                                        77 * 60 + 59, 0, c, strlen(c), &m), TS_OK);
        assert_int_equal(m, 77);
    }
}

/* ---- cross-check against oathtool -------------------------------------- */

#define XCHECK_N 1200

typedef struct {
    uint8_t key[64];
    size_t  keylen;
    ts_alg  alg;
    int     digits, period;
    int64_t t;
} xcase;

static uint32_t
rnd32(void)
{
    uint32_t v;

    assert_int_equal(RAND_bytes((unsigned char *)&v, sizeof(v)), 1);
    return v;
}

static void
make_case(xcase *c, int i)
{
    static const int periods[] = { 30, 60 };

    c->keylen = 1 + rnd32() % 64;
    assert_int_equal(RAND_bytes(c->key, (int)c->keylen), 1);
    c->alg = (ts_alg)(rnd32() % 3);
    c->digits = 6 + (int)(rnd32() % 3);
    c->period = i % 4 == 3 ? 1 + (int)(rnd32() % 300) : periods[rnd32() % 2];
    switch (i % 5) {
    case 0:  c->t = (int64_t)(rnd32() % 100000); break;          /* early */
    case 1:  c->t = 20000000000LL + rnd32(); break;              /* past 2038 */
    default: c->t = 1500000000LL + rnd32() % 400000000; break;   /* ~now */
    }
}

static void
write_case(FILE *f, const xcase *c)
{
    static const char *mode[] = { "SHA1", "SHA256", "SHA512" };
    size_t j;

    fprintf(f, "oathtool --totp=%s -d %d -s %d -N @%lld ", mode[c->alg],
            c->digits, c->period, (long long)c->t);
    for (j = 0; j < c->keylen; j++)
        fprintf(f, "%02x", c->key[j]);
    fprintf(f, " 2>&1 || echo FAILED\n");
}

static void
check_case(const xcase *c, const char *line, int i)
{
    uint32_t v;
    char mine[9];
    int64_t m = -1;

    assert_int_equal(ts_hotp(c->key, c->keylen, c->alg,
                             (uint64_t)ts_totp_step(c->t, c->period),
                             c->digits, &v), TS_OK);
    ts_otp_format(v, c->digits, mine);
    if (strcmp(mine, line) != 0)
        fail_msg("case %d: alg %s digits %d period %d t %lld: oathtool says "
                 "'%s', we say '%s'", i, ts_alg_name(c->alg), c->digits,
                 c->period, (long long)c->t, line, mine);
    /* and oathtool's code verifies at that time, matching that step */
    assert_int_equal(ts_totp_verify(c->key, c->keylen, c->alg, c->digits,
                                    c->period, c->t, 0, line, strlen(line), &m),
                     TS_OK);
    assert_int_equal(m, ts_totp_step(c->t, c->period));
}

/* One shell script with every oathtool call, run once: no per-case popen.
 * A missing oathtool makes every line "...not found"/FAILED: a failure. */
static char xdir[32], xpath[64];

/* The script lives in a private temp dir, removed even when a case fails. */
static int
xcheck_setup(void **state)
{
    snprintf(xdir, sizeof(xdir), "/tmp/ts-otp-XXXXXX");
    if (mkdtemp(xdir) == NULL)
        return -1;
    snprintf(xpath, sizeof(xpath), "%s/run.sh", xdir);
    return 0;
}

static int
xcheck_teardown(void **state)
{
    unlink(xpath);
    return rmdir(xdir);
}

static void
test_oathtool_crosscheck(void **state)
{
    static xcase cases[XCHECK_N];
    const char *path = xpath;
    char cmd[128], line[256];
    FILE *f;
    int i, n = 0;

    f = fopen(path, "w");
    assert_non_null(f);
    for (i = 0; i < XCHECK_N; i++) {
        make_case(&cases[i], i);
        write_case(f, &cases[i]);
    }
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "/bin/sh %s", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (n >= XCHECK_N)
            fail_msg("oathtool printed more lines than cases: '%s'", line);
        check_case(&cases[n], line, n);
        n++;
    }
    assert_int_equal(pclose(f), 0);
    assert_int_equal(n, XCHECK_N);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4226_hotp),
        cmocka_unit_test(test_rfc6238_totp),
        cmocka_unit_test(test_rfc6238_wrong_seed_differs),
        cmocka_unit_test(test_alg_names),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_step),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_hotp_invalid),
        cmocka_unit_test(test_verify_window_edges),
        cmocka_unit_test(test_verify_skew0_exact),
        cmocka_unit_test(test_verify_wrong_code),
        cmocka_unit_test(test_verify_malformed),
        cmocka_unit_test(test_verify_bad_params),
        cmocka_unit_test(test_verify_near_epoch),
        cmocka_unit_test(test_verify_latest_of_two),
        cmocka_unit_test(test_verify_digits),
        cmocka_unit_test_setup_teardown(test_oathtool_crosscheck,
                                        xcheck_setup, xcheck_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
