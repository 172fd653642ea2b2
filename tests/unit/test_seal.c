/* Sealing of secrets at rest (AES-256-GCM, user name as associated data). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "keys.h"
#include "seal.h"
#include "ts_buf.h"
#include "ts_err.h"

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define KEY_C "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

static const uint8_t secret[20] = "12345678901234567890";

static void
ring(ts_keyring *kr, const char *text)
{
    char err[128];
    if (ts_keyring_parse(text, strlen(text), kr, err, sizeof(err)) != TS_OK)
        fail_msg("key ring: %s", err);
}

static void
seal(const ts_keyring *kr, const char *user, const uint8_t *p, size_t n,
     ts_buf *out)
{
    ts_buf_init(out);
    assert_int_equal(ts_seal(kr, user, strlen(user), p, n, out), TS_OK);
}

static int
unseal(const ts_keyring *kr, const char *user, const char *s, size_t n,
       uint8_t *out, size_t cap, size_t *len)
{
    return ts_unseal(kr, user, strlen(user), s, n, out, cap, len);
}

static void
test_roundtrip(void **state)
{
    ts_keyring kr;
    ts_buf s1, s2;
    uint8_t out[64];
    size_t len = 0;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    seal(&kr, "alice", secret, sizeof(secret), &s1);
    seal(&kr, "alice", secret, sizeof(secret), &s2);
    assert_int_equal(strncmp(s1.data, "s1.ka.", 6), 0);
    /* nonce 12 + secret 20 + tag 16 = 48 bytes = 64 base64url characters */
    assert_int_equal(s1.len, 6 + 64);
    assert_string_not_equal(s1.data, s2.data);     /* fresh nonce each time */
    assert_int_equal(unseal(&kr, "alice", s1.data, s1.len, out, sizeof(out),
                            &len), TS_OK);
    assert_int_equal(len, sizeof(secret));
    assert_memory_equal(out, secret, sizeof(secret));
    assert_int_equal(unseal(&kr, "alice", s2.data, s2.len, out, sizeof(out),
                            &len), TS_OK);
    assert_memory_equal(out, secret, sizeof(secret));
    /* The buffer must hold the plaintext. */
    assert_int_equal(unseal(&kr, "alice", s1.data, s1.len, out, 19, &len),
                     TS_ETOOBIG);
    ts_buf_free(&s1);
    ts_buf_free(&s2);
}

static void
test_empty_and_binary_plaintext(void **state)
{
    ts_keyring kr;
    ts_buf s;
    uint8_t bin[256], out[256];
    size_t i, len = 99;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    seal(&kr, "u", NULL, 0, &s);
    assert_int_equal(unseal(&kr, "u", s.data, s.len, out, 0, &len), TS_OK);
    assert_int_equal(len, 0);
    ts_buf_free(&s);
    for (i = 0; i < sizeof(bin); i++)
        bin[i] = (uint8_t)i;
    seal(&kr, "u", bin, sizeof(bin), &s);
    assert_int_equal(unseal(&kr, "u", s.data, s.len, out, sizeof(out), &len),
                     TS_OK);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(out, bin, sizeof(bin));
    ts_buf_free(&s);
}

static void
test_other_user_does_not_open(void **state)
{
    static const char *others[] = { "bob", "alice ", "Alice", "alic", "" };
    ts_keyring kr;
    ts_buf s;
    uint8_t out[64];
    size_t i, len;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    seal(&kr, "alice", secret, sizeof(secret), &s);
    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        memset(out, 0xaa, sizeof(out));
        assert_int_equal(unseal(&kr, others[i], s.data, s.len, out,
                                sizeof(out), &len), TS_ECRYPTO);
        /* no unauthenticated plaintext is left behind */
        assert_memory_not_equal(out, secret, sizeof(secret));
    }
    /* A user name with a NUL byte inside is a different name. */
    assert_int_equal(ts_unseal(&kr, "alice\0x", 7, s.data, s.len, out,
                               sizeof(out), &len), TS_ECRYPTO);
    ts_buf_free(&s);
}

static void
test_every_byte_flipped(void **state)
{
    static const uint8_t flips[] = { 0x01, 0x02, 0x20, 0x80, 0xff };
    ts_keyring kr;
    ts_buf s;
    char buf[128];
    uint8_t out[64];
    size_t i, f, len;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    seal(&kr, "alice", secret, sizeof(secret), &s);
    assert_true(s.len < sizeof(buf));
    for (i = 0; i < s.len; i++) {
        for (f = 0; f < sizeof(flips); f++) {
            memcpy(buf, s.data, s.len);
            buf[i] = (char)(buf[i] ^ flips[f]);
            if (unseal(&kr, "alice", buf, s.len, out, sizeof(out), &len)
                == TS_OK)
                fail_msg("byte %zu ^ 0x%02x still opens", i, flips[f]);
        }
    }
    ts_buf_free(&s);
}

static void
test_truncated_and_extended(void **state)
{
    ts_keyring kr;
    ts_buf s;
    char buf[128];
    uint8_t out[64];
    size_t n, len;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    seal(&kr, "alice", secret, sizeof(secret), &s);
    for (n = 0; n < s.len; n++)
        assert_int_not_equal(unseal(&kr, "alice", s.data, n, out, sizeof(out),
                                    &len), TS_OK);
    for (n = 1; n < s.len; n++)       /* cut from the front */
        assert_int_not_equal(unseal(&kr, "alice", s.data + n, s.len - n, out,
                                    sizeof(out), &len), TS_OK);
    memcpy(buf, s.data, s.len);
    memcpy(buf + s.len, "AAAA", 4);
    assert_int_not_equal(unseal(&kr, "alice", buf, s.len + 4, out, sizeof(out),
                                &len), TS_OK);
    buf[s.len] = '\0';
    assert_int_equal(unseal(&kr, "alice", buf, s.len + 1, out, sizeof(out),
                            &len), TS_EINVAL);
    ts_buf_free(&s);
}

static void
test_not_sealed_text(void **state)
{
    static const char *bad[] = {
        "", "s1", "s1.", "s1..", "s1.ka", "s1.ka.", "s2.ka.AAAA", "S1.ka.AAAA",
        "JBSWY3DPEHPK3PXP", "s1.ka.AAAA",            /* shorter than nonce+tag */
        "s1.ka.!!!!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "s1.12345678901234567.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    ts_keyring kr;
    uint8_t out[64];
    size_t i, len;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (unseal(&kr, "alice", bad[i], strlen(bad[i]), out, sizeof(out),
                   &len) != TS_EINVAL)
            fail_msg("\"%s\" not refused as malformed", bad[i]);
}

static void
test_unknown_key_and_rotation(void **state)
{
    ts_keyring a, b, ba, a_other;
    ts_buf sa, sb;
    uint8_t out[64];
    size_t len;
    (void)state;

    ring(&a, "ka:" KEY_A "\n");
    ring(&b, "kb:" KEY_B "\n");
    ring(&ba, "kb:" KEY_B "\nka:" KEY_A "\n");
    ring(&a_other, "ka:" KEY_C "\n");       /* same id, different key */
    seal(&a, "alice", secret, sizeof(secret), &sa);
    assert_int_equal(unseal(&b, "alice", sa.data, sa.len, out, sizeof(out),
                            &len), TS_ENOTFOUND);
    assert_int_equal(unseal(&a_other, "alice", sa.data, sa.len, out,
                            sizeof(out), &len), TS_ECRYPTO);
    /* After rotation the old secret still opens ... */
    assert_int_equal(unseal(&ba, "alice", sa.data, sa.len, out, sizeof(out),
                            &len), TS_OK);
    assert_memory_equal(out, secret, sizeof(secret));
    /* ... and new seals use the new first key. */
    seal(&ba, "alice", secret, sizeof(secret), &sb);
    assert_int_equal(strncmp(sb.data, "s1.kb.", 6), 0);
    assert_int_equal(unseal(&b, "alice", sb.data, sb.len, out, sizeof(out),
                            &len), TS_OK);
    assert_int_equal(unseal(&a, "alice", sb.data, sb.len, out, sizeof(out),
                            &len), TS_ENOTFOUND);
    ts_buf_free(&sa);
    ts_buf_free(&sb);
}

static void
test_limits(void **state)
{
    static uint8_t big[4096];
    ts_keyring kr, empty;
    ts_buf s;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    ts_buf_init(&s);
    assert_int_equal(ts_seal(&kr, "u", 1, big, sizeof(big), &s), TS_ETOOBIG);
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(ts_seal(&empty, "u", 1, secret, 20, &s), TS_EINVAL);
    assert_int_equal(ts_seal(NULL, "u", 1, secret, 20, &s), TS_EINVAL);
    assert_int_equal(s.len, 0);
    ts_buf_free(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_empty_and_binary_plaintext),
        cmocka_unit_test(test_other_user_does_not_open),
        cmocka_unit_test(test_every_byte_flipped),
        cmocka_unit_test(test_truncated_and_extended),
        cmocka_unit_test(test_not_sealed_text),
        cmocka_unit_test(test_unknown_key_and_rotation),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
