/* CSRF tokens: bound to the user, limited in time, keyed, rotatable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "csrf.h"
#include "keys.h"
#include "ts_buf.h"
#include "ts_err.h"

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define KEY_C "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

#define NOW ((int64_t)1700000000)

static void
ring(ts_keyring *kr, const char *text)
{
    char err[128];
    if (ts_keyring_parse(text, strlen(text), kr, err, sizeof(err)) != TS_OK)
        fail_msg("key ring: %s", err);
}

static int
check(const ts_keyring *kr, const char *user, int64_t now, const char *tok)
{
    return ts_csrf_check(kr, user, strlen(user), now, tok, strlen(tok));
}

static void
make(const ts_keyring *kr, const char *user, int64_t now,
     char tok[TS_CSRF_MAX + 1])
{
    assert_int_equal(ts_csrf_make(kr, user, strlen(user), now, tok), TS_OK);
}

static void
test_valid_and_format(void **state)
{
    ts_keyring kr;
    char tok[TS_CSRF_MAX + 1], want[TS_CSRF_MAX + 1];
    uint8_t mac[32];
    unsigned int maclen = 0;
    ts_buf b;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    make(&kr, "alice", NOW, tok);
    assert_int_equal(check(&kr, "alice", NOW, tok), TS_OK);
    /* The documented construction, recomputed with OpenSSL's HMAC. */
    assert_non_null(HMAC(EVP_sha256(), kr.keys[0].csrf, 32,
                         (const unsigned char *)"csrf|alice|1700000000", 21,
                         mac, &maclen));
    ts_buf_init(&b);
    ts_b64url_encode(mac, 32, &b);
    snprintf(want, sizeof(want), "1700000000.ka.%s", b.data);
    assert_string_equal(tok, want);
    ts_buf_free(&b);
}

static void
test_other_user(void **state)
{
    static const char *others[] = { "bob", "Alice", "alice ", "alic", "alice|1",
                                    "alice|1700000000" };
    ts_keyring kr;
    char tok[TS_CSRF_MAX + 1];
    size_t i;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    make(&kr, "alice", NOW, tok);
    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        assert_int_equal(check(&kr, others[i], NOW, tok), TS_EMISMATCH);
    assert_int_equal(ts_csrf_check(&kr, "alice\0", 6, NOW, tok, strlen(tok)),
                     TS_EMISMATCH);
}

static void
test_expiry_and_future(void **state)
{
    ts_keyring kr;
    char tok[TS_CSRF_MAX + 1];
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    make(&kr, "alice", NOW, tok);
    assert_int_equal(check(&kr, "alice", NOW + TS_CSRF_LIFETIME, tok), TS_OK);
    assert_int_equal(check(&kr, "alice", NOW + TS_CSRF_LIFETIME + 1, tok),
                     TS_EEXPIRED);
    assert_int_equal(check(&kr, "alice", INT64_MAX, tok), TS_EEXPIRED);
    /* Another server's clock may be a little behind, not much. */
    assert_int_equal(check(&kr, "alice", NOW - 300, tok), TS_OK);
    assert_int_equal(check(&kr, "alice", NOW - 301, tok), TS_EEXPIRED);
    assert_int_equal(check(&kr, "alice", 0, tok), TS_EEXPIRED);
    assert_int_equal(check(&kr, "alice", -1, tok), TS_EEXPIRED);
    assert_int_equal(check(&kr, "alice", INT64_MIN, tok), TS_EEXPIRED);
    /* A token made at time 0 and at the largest time still work. */
    make(&kr, "alice", 0, tok);
    assert_int_equal(check(&kr, "alice", 10, tok), TS_OK);
    make(&kr, "alice", INT64_MAX, tok);
    assert_int_equal(check(&kr, "alice", INT64_MAX, tok), TS_OK);
    assert_int_equal(ts_csrf_make(&kr, "alice", 5, -1, tok), TS_EINVAL);
}

static void
test_forged_every_byte(void **state)
{
    static const int repl[] = { '0', '9', 'A', 'z', '.', '-', '_', 0, ' ' };
    ts_keyring kr;
    char tok[TS_CSRF_MAX + 1], buf[TS_CSRF_MAX + 1];
    size_t len, i, r;
    (void)state;

    ring(&kr, "ka:" KEY_A "\nkx:" KEY_B "\n");
    make(&kr, "alice", NOW, tok);
    len = strlen(tok);
    for (i = 0; i < len; i++) {
        for (r = 0; r <= sizeof(repl) / sizeof(repl[0]); r++) {
            char c = r < sizeof(repl) / sizeof(repl[0]) ? (char)repl[r]
                                                        : (char)(tok[i] ^ 1);
            if (c == tok[i])
                continue;
            memcpy(buf, tok, len + 1);
            buf[i] = c;
            if (ts_csrf_check(&kr, "alice", 5, NOW, buf, len) == TS_OK)
                fail_msg("byte %zu -> 0x%02x accepted", i, (unsigned char)c);
        }
    }
}

static void
test_truncated_and_junk(void **state)
{
    ts_keyring kr;
    char tok[TS_CSRF_MAX + 1], buf[2 * TS_CSRF_MAX];
    size_t len, n;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    make(&kr, "alice", NOW, tok);
    len = strlen(tok);
    for (n = 0; n < len; n++) {
        assert_int_not_equal(ts_csrf_check(&kr, "alice", 5, NOW, tok, n), TS_OK);
        assert_int_not_equal(ts_csrf_check(&kr, "alice", 5, NOW, tok + n + 1,
                                           len - n - 1), TS_OK);
    }
    snprintf(buf, sizeof(buf), "%sA", tok);
    assert_int_equal(check(&kr, "alice", NOW, buf), TS_EINVAL);
    snprintf(buf, sizeof(buf), "0%s", tok);
    assert_int_equal(check(&kr, "alice", NOW, buf), TS_EINVAL);
    snprintf(buf, sizeof(buf), "%s.", tok);
    assert_int_equal(check(&kr, "alice", NOW, buf), TS_EINVAL);
    memset(buf, 'A', sizeof(buf));
    assert_int_equal(ts_csrf_check(&kr, "alice", 5, NOW, buf, sizeof(buf)),
                     TS_EINVAL);
}

static void
test_malformed(void **state)
{
    static const char *bad[] = {
        "", ".", "..", "1700000000", "1700000000.ka", "1700000000.ka.",
        "+1700000000.ka.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "-1.ka.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "99999999999999999999.ka.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "1700000000.ka.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "1700000000.ka.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
        "1700000000.ka.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.",
    };
    ts_keyring kr;
    size_t i;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (check(&kr, "alice", NOW, bad[i]) != TS_EINVAL)
            fail_msg("\"%s\" not refused as malformed", bad[i]);
    /* Well-formed but forged. */
    assert_int_equal(check(&kr, "alice", NOW,
        "1700000000.ka.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        TS_EMISMATCH);
    assert_int_equal(ts_csrf_check(&kr, "", 0, NOW, "x", 1), TS_EINVAL);
}

static void
test_rotation(void **state)
{
    ts_keyring a, b, ba, a_other;
    char tok[TS_CSRF_MAX + 1];
    (void)state;

    ring(&a, "ka:" KEY_A "\n");
    ring(&b, "kb:" KEY_B "\n");
    ring(&ba, "kb:" KEY_B "\nka:" KEY_A "\n");
    ring(&a_other, "ka:" KEY_C "\n");
    make(&a, "alice", NOW, tok);
    assert_int_equal(check(&ba, "alice", NOW, tok), TS_OK);   /* still valid */
    assert_int_equal(check(&b, "alice", NOW, tok), TS_EMISMATCH);
    assert_int_equal(check(&a_other, "alice", NOW, tok), TS_EMISMATCH);
    make(&ba, "alice", NOW, tok);
    assert_non_null(strstr(tok, ".kb."));
    assert_int_equal(check(&b, "alice", NOW, tok), TS_OK);
    assert_int_equal(check(&a, "alice", NOW, tok), TS_EMISMATCH);
}

static void
test_long_user(void **state)
{
    ts_keyring kr;
    char user[300], tok[TS_CSRF_MAX + 1];
    (void)state;

    ring(&kr, "0123456789abcdef:" KEY_A "\n");
    memset(user, 'u', sizeof(user));
    assert_int_equal(ts_csrf_make(&kr, user, 256, INT64_MAX, tok), TS_OK);
    assert_true(strlen(tok) <= TS_CSRF_MAX);
    assert_int_equal(ts_csrf_check(&kr, user, 256, INT64_MAX, tok, strlen(tok)),
                     TS_OK);
    assert_int_equal(ts_csrf_check(&kr, user, 255, INT64_MAX, tok, strlen(tok)),
                     TS_EMISMATCH);
    assert_int_equal(ts_csrf_check(&kr, user, sizeof(user), INT64_MAX, tok,
                                   strlen(tok)), TS_EMISMATCH);
    assert_int_not_equal(ts_csrf_make(&kr, user, sizeof(user), NOW, tok), TS_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_and_format),
        cmocka_unit_test(test_other_user),
        cmocka_unit_test(test_expiry_and_future),
        cmocka_unit_test(test_forged_every_byte),
        cmocka_unit_test(test_truncated_and_junk),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_long_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
