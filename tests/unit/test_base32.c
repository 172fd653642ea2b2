/* Base32: RFC 4648 vectors, the lenient input rules, strict refusals with a
 * reason, round trips and hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/rand.h>

#include "base32.h"
#include "ts_err.h"

/* RFC 4648 section 10, without the padding our encoder leaves out. */
static const struct { const char *raw, *b32, *padded; } rfc[] = {
    { "",       "",           "" },
    { "f",      "MY",         "MY======" },
    { "fo",     "MZXQ",       "MZXQ====" },
    { "foo",    "MZXW6",      "MZXW6===" },
    { "foob",   "MZXW6YQ",    "MZXW6YQ=" },
    { "fooba",  "MZXW6YTB",   "MZXW6YTB" },
    { "foobar", "MZXW6YTBOI", "MZXW6YTBOI======" },
};

static void
test_rfc4648_encode(void **state)
{
    char out[32];
    size_t i;

    for (i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
        size_t n = strlen(rfc[i].raw);

        assert_int_equal(ts_base32_encoded_len(n), strlen(rfc[i].b32));
        assert_int_equal(ts_base32_encode((const uint8_t *)rfc[i].raw, n, out,
                                          sizeof(out)), (int)strlen(rfc[i].b32));
        assert_string_equal(out, rfc[i].b32);
    }
}

static int
dec(const char *s, uint8_t *out, size_t cap, size_t *len, const char **why)
{
    *why = NULL;
    return ts_base32_decode(s, strlen(s), out, cap, len, why);
}

static void
test_rfc4648_decode(void **state)
{
    uint8_t out[32];
    size_t i, len;
    const char *why;

    for (i = 1; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
        size_t n = strlen(rfc[i].raw);

        len = 999;
        assert_int_equal(dec(rfc[i].b32, out, sizeof(out), &len, &why), TS_OK);
        assert_int_equal(len, n);
        assert_memory_equal(out, rfc[i].raw, n);
        len = 999;
        assert_int_equal(dec(rfc[i].padded, out, sizeof(out), &len, &why), TS_OK);
        assert_int_equal(len, n);
        assert_memory_equal(out, rfc[i].raw, n);
    }
}

static void
test_encoded_len(void **state)
{
    assert_int_equal(ts_base32_encoded_len(0), 0);
    assert_int_equal(ts_base32_encoded_len(1), 2);
    assert_int_equal(ts_base32_encoded_len(5), 8);
    assert_int_equal(ts_base32_encoded_len(20), 32);
    assert_int_equal(ts_base32_encoded_len(64), 103);
    /* no overflow at the top of size_t */
    assert_true(ts_base32_encoded_len(SIZE_MAX) > SIZE_MAX / 5);
}

static void
test_encode_cap(void **state)
{
    const uint8_t in[5] = { 1, 2, 3, 4, 5 };
    char out[9];

    assert_int_equal(ts_base32_encode(in, 5, out, 9), 8);
    memset(out, 'x', sizeof(out));
    assert_int_equal(ts_base32_encode(in, 5, out, 8), TS_ETOOBIG);
    assert_int_equal(out[0], 'x');            /* nothing written */
    assert_int_equal(ts_base32_encode(in, 0, out, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(ts_base32_encode(in, 0, out, 0), TS_ETOOBIG);
}

/* What people type: lower case, groups of four, dashes, tabs, padding. */
static void
test_lenient(void **state)
{
    static const char *forms[] = {
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
        "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
        "gezd-gnbv-gy3t-qojq-gezd-gnbv-gy3t-qojq",
        "  GEZDgnbv\tGY3TQOJQ GEZDGNBVGY3TQOJQ  ",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ ---",
    };
    uint8_t out[64];
    size_t i, len;
    const char *why;

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        assert_int_equal(dec(forms[i], out, sizeof(out), &len, &why), TS_OK);
        assert_int_equal(len, 20);
        assert_memory_equal(out, "12345678901234567890", 20);
    }
    /* optional and partial padding, spaces around it */
    assert_int_equal(dec("MY", out, sizeof(out), &len, &why), TS_OK);
    assert_int_equal(dec("MY=", out, sizeof(out), &len, &why), TS_OK);
    assert_int_equal(dec("MY====== ", out, sizeof(out), &len, &why), TS_OK);
    assert_int_equal(dec("my = = =", out, sizeof(out), &len, &why), TS_OK);
    assert_int_equal(len, 1);
    assert_int_equal(out[0], 'f');
}

static void
expect_einval(const char *s, size_t n)
{
    uint8_t out[64];
    size_t len = 4242;
    const char *why = NULL;

    if (ts_base32_decode(s, n, out, sizeof(out), &len, &why) != TS_EINVAL)
        fail_msg("'%.*s' was not refused", (int)n, s);
    assert_non_null(why);
    assert_true(strlen(why) > 5);
    assert_int_equal(len, 4242);              /* untouched on failure */
}

static void
test_strict(void **state)
{
    const char *why;
    uint8_t out[8];
    size_t len;

    expect_einval("", 0);
    expect_einval("   ", 3);
    expect_einval("- -\t", 4);
    expect_einval("========", 8);
    expect_einval("MZXW1===", 8);             /* 0, 1, 8, 9 are not base32 */
    expect_einval("MZXW0", 5);
    expect_einval("MZXW8", 5);
    expect_einval("MZXW9", 5);
    expect_einval("MZXW6@", 6);
    expect_einval("MZ.XW6", 6);
    expect_einval("MZ_XW6", 6);
    expect_einval("MZ\nXW6", 6);              /* only space, tab, dash */
    expect_einval("MZ+XW6", 6);
    expect_einval("MY=A", 4);                 /* padding in the middle */
    expect_einval("MY==MY", 6);
    expect_einval("MY=======", 9);            /* more than completes 8 */
    expect_einval("MZXW6YTB=", 9);
    expect_einval("M", 1);                    /* impossible lengths */
    expect_einval("MZX", 3);
    expect_einval("MZXW6Y", 6);
    expect_einval("MZXW6YTBO", 9);
    expect_einval("MZ", 2);                   /* Z = 11001: trailing bits */
    expect_einval("MZXR", 4);
    expect_einval("MZXW7", 5);
    expect_einval("MZXW6YR", 7);
    expect_einval("MZ\0XW6", 6);              /* NUL byte */
    expect_einval("MZXW6\xc3\xa9", 7);        /* non-ASCII */
    expect_einval("\xff\xfe", 2);
    /* the reason says what went wrong */
    assert_int_equal(dec("MZ\xc3XW6", out, sizeof(out), &len, &why), TS_EINVAL);
    assert_non_null(strstr(why, "not base32"));
    assert_int_equal(dec("MY=A", out, sizeof(out), &len, &why), TS_EINVAL);
    assert_non_null(strstr(why, "middle"));
    assert_int_equal(dec("", out, sizeof(out), &len, &why), TS_EINVAL);
    assert_non_null(strstr(why, "empty"));
    /* why may be NULL */
    assert_int_equal(ts_base32_decode("M", 1, out, sizeof(out), &len, NULL),
                     TS_EINVAL);
}

static void
test_cap(void **state)
{
    uint8_t out[21];
    size_t len = 7;
    const char *why;

    memset(out, 0xAA, sizeof(out));
    assert_int_equal(dec("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", out, 19, &len,
                         &why), TS_ETOOBIG);
    assert_int_equal(len, 7);
    assert_int_equal(out[0], 0xAA);           /* nothing written */
    assert_int_equal(dec("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", out, 20, &len,
                         &why), TS_OK);
    assert_int_equal(len, 20);
    assert_int_equal(out[20], 0xAA);          /* nothing past the end */
}

/* Random bytes of every length survive encode -> decode, also grouped. */
static void
test_round_trip(void **state)
{
    uint8_t in[130], out[130];
    char b32[260], grp[340];
    size_t n, len;
    int rep;
    const char *why;

    for (rep = 0; rep < 20; rep++) {
        for (n = 1; n <= sizeof(in); n++) {
            assert_int_equal(RAND_bytes(in, (int)n), 1);
            assert_int_equal(ts_base32_encode(in, n, b32, sizeof(b32)),
                             (int)ts_base32_encoded_len(n));
            assert_int_equal(dec(b32, out, n, &len, &why), TS_OK);
            assert_int_equal(len, n);
            assert_memory_equal(in, out, n);
            assert_int_equal(ts_base32_grouped(b32, grp, sizeof(grp)), TS_OK);
            assert_int_equal(dec(grp, out, n, &len, &why), TS_OK);
            assert_int_equal(len, n);
            assert_memory_equal(in, out, n);
        }
    }
}

static void
test_grouped(void **state)
{
    char out[16];

    assert_int_equal(ts_base32_grouped("ABCDEFGHIJ", out, sizeof(out)), TS_OK);
    assert_string_equal(out, "ABCD EFGH IJ");
    assert_int_equal(ts_base32_grouped("ABCDEFGH", out, sizeof(out)), TS_OK);
    assert_string_equal(out, "ABCD EFGH");
    assert_int_equal(ts_base32_grouped("ABC", out, sizeof(out)), TS_OK);
    assert_string_equal(out, "ABC");
    assert_int_equal(ts_base32_grouped("", out, sizeof(out)), TS_OK);
    assert_string_equal(out, "");
    assert_int_equal(ts_base32_grouped("ABCDEFGH", out, 10), TS_OK);
    assert_int_equal(ts_base32_grouped("ABCDEFGH", out, 9), TS_ETOOBIG);
    assert_int_equal(ts_base32_grouped("", out, 0), TS_ETOOBIG);
    assert_int_equal(ts_base32_grouped(NULL, out, 9), TS_EINVAL);
}

/* The canonical text of an accepted input: ignorable characters and
 * padding dropped, upper case. Decoding is then one-to-one. */
static void
canonical(const char *s, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '-' || c == '=')
            continue;
        out[o++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    out[o] = '\0';
}

/* Every byte of a valid secret replaced by every value: either refused with
 * a reason, or decoded to bytes whose encoding is the canonical input. */
static void
test_every_byte_flipped(void **state)
{
    char src[] = "jbsw Y3DP-ehpk 3PXP\tmzxw6yq=", mut[sizeof(src)], canon[64],
         again[64];
    uint8_t out[64];
    size_t n = strlen(src), i, len;
    int v, ok = 0, bad = 0;

    assert_int_equal(ts_base32_decode(src, n, out, sizeof(out), &len, NULL),
                     TS_OK);
    assert_int_equal(len, 14);

    for (i = 0; i < n; i++) {
        for (v = 0; v < 256; v++) {
            const char *why = NULL;
            int rc;

            memcpy(mut, src, n);
            mut[i] = (char)v;
            rc = ts_base32_decode(mut, n, out, sizeof(out), &len, &why);
            if (rc != TS_OK) {
                assert_int_equal(rc, TS_EINVAL);
                assert_non_null(why);
                bad++;
                continue;
            }
            ok++;
            canonical(mut, n, canon);
            assert_int_equal(ts_base32_encode(out, len, again, sizeof(again)),
                             (int)strlen(canon));
            assert_string_equal(again, canon);
        }
    }
    assert_true(ok > 0 && bad > 0);
}

/* Every prefix: accepted exactly when it is a whole encoding. */
static void
test_truncation(void **state)
{
    const char *src = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    uint8_t out[32];
    char again[64];
    size_t n, len;

    for (n = 0; n <= strlen(src); n++) {
        const char *why = NULL;
        int rc = ts_base32_decode(src, n, out, sizeof(out), &len, &why);

        if (rc == TS_OK) {
            assert_int_equal(ts_base32_encode(out, len, again, sizeof(again)),
                             (int)n);
            assert_memory_equal(again, src, n);
        } else {
            assert_int_equal(rc, TS_EINVAL);
            assert_non_null(why);
        }
    }
}

static void
test_huge(void **state)
{
    size_t n = 1u << 20, len = 0;
    char *big = malloc(n + 1);
    uint8_t *out = malloc(n);
    const char *why;

    assert_non_null(big);
    assert_non_null(out);
    memset(big, 'A', n);
    big[n] = '\0';
    assert_int_equal(ts_base32_decode(big, n, out, 64, &len, &why), TS_ETOOBIG);
    assert_int_equal(ts_base32_decode(big, n, out, n, &len, &why), TS_OK);
    assert_int_equal(len, n / 8 * 5);
    big[n / 2] = '=';
    assert_int_equal(ts_base32_decode(big, n, out, n, &len, &why), TS_EINVAL);
    memset(big, ' ', n);
    assert_int_equal(ts_base32_decode(big, n, out, n, &len, &why), TS_EINVAL);
    free(big);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_encode),
        cmocka_unit_test(test_rfc4648_decode),
        cmocka_unit_test(test_encoded_len),
        cmocka_unit_test(test_encode_cap),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_grouped),
        cmocka_unit_test(test_every_byte_flipped),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_huge),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
