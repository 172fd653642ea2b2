/* The verification cookie, IP binding strings and device ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cookie.h"
#include "keys.h"
#include "ts_buf.h"
#include "ts_err.h"

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define KEY_C "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="

static void
ring(ts_keyring *kr, const char *text)
{
    char err[128];
    if (ts_keyring_parse(text, strlen(text), kr, err, sizeof(err)) != TS_OK)
        fail_msg("key ring: %s", err);
}

static void
session_cookie(ts_cookie *c)
{
    memset(c, 0, sizeof(*c));
    c->kind = TS_COOKIE_SESSION;
    strcpy(c->user, "alice");
    c->user_len = 5;
    c->issued = 1700000000;
    c->expires = 1700043200;
    strcpy(c->bind, "192.0.2.7");
    c->epoch = 3;
}

static void
device_cookie(ts_cookie *c)
{
    memset(c, 0, sizeof(*c));
    c->kind = TS_COOKIE_DEVICE;
    strcpy(c->user, "bob@example.org");
    c->user_len = strlen(c->user);
    assert_int_equal(ts_device_id_new(c->device), TS_OK);
    c->issued = 1700000000;
    c->expires = 1702592000;
    strcpy(c->bind, "2001:db8::/64");
    c->epoch = 18446744073709551615ull;
}

static void
encode(const ts_keyring *kr, const ts_cookie *c, ts_buf *out)
{
    ts_buf_init(out);
    assert_int_equal(ts_cookie_encode(kr, c, out), TS_OK);
}

static void
assert_same(const ts_cookie *a, const ts_cookie *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->user_len, b->user_len);
    assert_memory_equal(a->user, b->user, a->user_len);
    assert_int_equal(b->user[b->user_len], '\0');
    assert_string_equal(a->device, b->device);
    assert_int_equal(a->issued, b->issued);
    assert_int_equal(a->expires, b->expires);
    assert_string_equal(a->bind, b->bind);
    assert_int_equal(a->epoch, b->epoch);
}

static int
only_cookie_chars(const char *s)
{
    for (; *s; s++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789._-", *s))
            return 0;
    return 1;
}

/* ---- round trips ----------------------------------------------------------- */

static void
test_roundtrip_session(void **state)
{
    ts_keyring kr;
    ts_cookie c, d;
    ts_buf v;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    session_cookie(&c);
    encode(&kr, &c, &v);
    assert_true(v.len <= TS_COOKIE_MAX);
    assert_true(only_cookie_chars(v.data));
    /* version, kind, base64url("alice"), "-" for no device */
    assert_int_equal(strncmp(v.data, "1.s.YWxpY2U.-.1700000000.1700043200.", 36),
                     0);
    assert_int_equal(ts_cookie_decode(&kr, v.data, v.len, &d), TS_OK);
    assert_same(&c, &d);
    assert_string_equal(d.kid, "ka");
    ts_buf_free(&v);
}

static void
test_roundtrip_device(void **state)
{
    ts_keyring kr;
    ts_cookie c, d;
    ts_buf v;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    device_cookie(&c);
    encode(&kr, &c, &v);
    assert_true(only_cookie_chars(v.data));
    assert_non_null(strstr(v.data, c.device));
    assert_non_null(strstr(v.data, ".18446744073709551615.ka."));
    assert_int_equal(ts_cookie_decode(&kr, v.data, v.len, &d), TS_OK);
    assert_same(&c, &d);
    ts_buf_free(&v);
}

static void
test_roundtrip_limits(void **state)
{
    ts_keyring kr;
    ts_cookie c, d;
    ts_buf v;
    size_t i;
    (void)state;

    ring(&kr, "0123456789abcdef:" KEY_A "\n");       /* longest key id */
    device_cookie(&c);
    for (i = 0; i < TS_USER_MAX; i++)
        c.user[i] = (char)(1 + i % 255);               /* every byte but NUL */
    c.user_len = TS_USER_MAX;
    memset(c.bind, 'f', TS_BIND_MAX);
    c.bind[TS_BIND_MAX] = '\0';
    c.issued = c.expires = INT64_MAX;
    encode(&kr, &c, &v);
    assert_true(v.len <= TS_COOKIE_MAX);
    assert_int_equal(ts_cookie_decode(&kr, v.data, v.len, &d), TS_OK);
    assert_same(&c, &d);
    ts_buf_free(&v);

    session_cookie(&c);
    c.issued = c.expires = 0;
    c.epoch = 0;
    strcpy(c.bind, "*");
    encode(&kr, &c, &v);
    assert_int_equal(ts_cookie_decode(&kr, v.data, v.len, &d), TS_OK);
    assert_same(&c, &d);
    ts_buf_free(&v);
}

static void
test_encode_refuses_bad_fields(void **state)
{
    ts_keyring kr, empty;
    ts_cookie c;
    ts_buf v;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    ts_buf_init(&v);
#define REFUSE(setup) do { session_cookie(&c); setup; \
        assert_int_equal(ts_cookie_encode(&kr, &c, &v), TS_EINVAL); } while (0)
    REFUSE(c.user_len = 0);
    REFUSE(c.user_len = TS_USER_MAX + 1);
    REFUSE(c.user[2] = '\0');
    REFUSE(c.kind = (ts_cookie_kind)'x');
    REFUSE(strcpy(c.device, "AAAAAAAAAAAAAAAAAAAAAA"));   /* session + device */
    REFUSE(c.kind = TS_COOKIE_DEVICE);                     /* no device id */
    REFUSE((c.kind = TS_COOKIE_DEVICE, strcpy(c.device, "AAAAAAAAAAAAAAAAAAAAA")));
    REFUSE((c.kind = TS_COOKIE_DEVICE, strcpy(c.device, "AAAAAAAAAAAAAAAAAAAAA.")));
    REFUSE(c.issued = -1);
    REFUSE(c.expires = INT64_MIN);
    REFUSE(c.bind[0] = '\0');
    REFUSE(strcpy(c.bind, "192.0.2.7 "));
    REFUSE(memset(c.bind, 'a', sizeof(c.bind)));           /* unterminated */
#undef REFUSE
    assert_int_equal(v.len, 0);
    session_cookie(&c);
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(ts_cookie_encode(&empty, &c, &v), TS_EINVAL);
    ts_buf_free(&v);
}

/* ---- hostile values -------------------------------------------------------- */

static void
test_every_byte_flipped(void **state)
{
    static const int repl[] = { 'A', 'z', '0', '9', '.', '-', '_', 's', 'd',
                                '1', 0, ' ', ';', '=', 0xff };
    ts_keyring kr;
    ts_cookie c, d;
    ts_buf v;
    char buf[TS_COOKIE_MAX + 1];
    size_t i, r, tried = 0;
    (void)state;

    ring(&kr, "kb:" KEY_B "\nka:" KEY_A "\n");
    device_cookie(&c);
    encode(&kr, &c, &v);
    for (i = 0; i < v.len; i++) {
        for (r = 0; r <= sizeof(repl) / sizeof(repl[0]); r++) {
            char nc = r < sizeof(repl) / sizeof(repl[0])
                      ? (char)repl[r] : (char)(v.data[i] ^ 1);
            if (nc == v.data[i])
                continue;
            memcpy(buf, v.data, v.len);
            buf[i] = nc;
            tried++;
            if (ts_cookie_decode(&kr, buf, v.len, &d) == TS_OK)
                fail_msg("byte %zu -> 0x%02x accepted", i, (unsigned char)nc);
        }
    }
    assert_true(tried > v.len * 10);
    ts_buf_free(&v);
}

static void
test_truncation_and_junk(void **state)
{
    static const char *junk[] = { ".", "A", "0", ".A", "=", ";", " ", "..",
                                  ".ka" };
    ts_keyring kr;
    ts_cookie c, d;
    ts_buf v;
    char buf[TS_COOKIE_MAX + 8];
    size_t n, j;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    session_cookie(&c);
    encode(&kr, &c, &v);
    for (n = 0; n < v.len; n++) {
        assert_int_not_equal(ts_cookie_decode(&kr, v.data, n, &d), TS_OK);
        assert_int_not_equal(ts_cookie_decode(&kr, v.data + n + 1,
                                              v.len - n - 1, &d), TS_OK);
    }
    for (j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
        memcpy(buf, v.data, v.len);
        memcpy(buf + v.len, junk[j], strlen(junk[j]));
        assert_int_not_equal(ts_cookie_decode(&kr, buf, v.len + strlen(junk[j]),
                                              &d), TS_OK);
        /* and in front */
        memcpy(buf, junk[j], strlen(junk[j]));
        memcpy(buf + strlen(junk[j]), v.data, v.len);
        assert_int_not_equal(ts_cookie_decode(&kr, buf, v.len + strlen(junk[j]),
                                              &d), TS_OK);
    }
    memcpy(buf, v.data, v.len);
    buf[v.len] = '\0';
    assert_int_equal(ts_cookie_decode(&kr, buf, v.len + 1, &d), TS_EINVAL);
    ts_buf_free(&v);
}

static void
test_too_long(void **state)
{
    static char big[TS_COOKIE_MAX * 4];
    ts_keyring kr;
    ts_cookie d;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    memset(big, 'A', sizeof(big));
    assert_int_equal(ts_cookie_decode(&kr, big, TS_COOKIE_MAX + 1, &d),
                     TS_EINVAL);
    assert_int_equal(ts_cookie_decode(&kr, big, sizeof(big), &d), TS_EINVAL);
    assert_int_equal(ts_cookie_decode(&kr, big, TS_COOKIE_MAX, &d), TS_EINVAL);
    assert_int_equal(ts_cookie_decode(&kr, "", 0, &d), TS_EINVAL);
}

static void
test_wrong_key_and_rotation(void **state)
{
    ts_keyring a, b, ba, a_other;
    ts_cookie c, d;
    ts_buf va, vb;
    (void)state;

    ring(&a, "ka:" KEY_A "\n");
    ring(&b, "kb:" KEY_B "\n");
    ring(&ba, "kb:" KEY_B "\nka:" KEY_A "\n");
    ring(&a_other, "ka:" KEY_C "\n");
    session_cookie(&c);
    encode(&a, &c, &va);
    assert_int_equal(ts_cookie_decode(&b, va.data, va.len, &d), TS_ENOTFOUND);
    assert_int_equal(ts_cookie_decode(&a_other, va.data, va.len, &d),
                     TS_EMISMATCH);
    /* Rotation: the old cookie still verifies, naming its key ... */
    assert_int_equal(ts_cookie_decode(&ba, va.data, va.len, &d), TS_OK);
    assert_string_equal(d.kid, "ka");
    assert_same(&c, &d);
    /* ... and new cookies are signed by the new first key. */
    encode(&ba, &c, &vb);
    assert_non_null(strstr(vb.data, ".kb."));
    assert_int_equal(ts_cookie_decode(&b, vb.data, vb.len, &d), TS_OK);
    assert_string_equal(d.kid, "kb");
    assert_int_equal(ts_cookie_decode(&a, vb.data, vb.len, &d), TS_ENOTFOUND);
    ts_buf_free(&va);
    ts_buf_free(&vb);
}

/* Builds PREFIX ".MAC" with a valid MAC under kr->keys[0], so the field
 * parser behind the MAC check is reached with hostile content. */
static void
signed_value(const ts_keyring *kr, const char *prefix, ts_buf *out)
{
    uint8_t mac[32];

    ts_buf_init(out);
    assert_int_equal(ts_hmac_sha256(kr->keys[0].cookie, prefix, strlen(prefix),
                                    mac), TS_OK);
    ts_buf_puts(out, prefix);
    ts_buf_putc(out, '.');
    assert_int_equal(ts_b64url_encode(mac, sizeof(mac), out), TS_OK);
}

static int
decode_signed(const ts_keyring *kr, const char *prefix)
{
    ts_buf v;
    ts_cookie d;
    int rc;

    signed_value(kr, prefix, &v);
    rc = ts_cookie_decode(kr, v.data, v.len, &d);
    ts_buf_free(&v);
    return rc;
}

static void
test_strict_fields_behind_mac(void **state)
{
    /* "YWxpY2U" = "alice", "KjE" no: "Kg" = "*", "MTkyLjAuMi43" = 192.0.2.7 */
    static const char *bad[] = {
        "2.s.YWxpY2U.-.1.2.Kg.0.ka",               /* version */
        "1.x.YWxpY2U.-.1.2.Kg.0.ka",               /* kind */
        "1.ss.YWxpY2U.-.1.2.Kg.0.ka",
        "1.s.YWxpY2U.AAAAAAAAAAAAAAAAAAAAAA.1.2.Kg.0.ka", /* session + device */
        "1.d.YWxpY2U.-.1.2.Kg.0.ka",               /* device without id */
        "1.d.YWxpY2U.AAAAAAAAAAAAAAAAAAAAA.1.2.Kg.0.ka",  /* 21 chars */
        "1.d.YWxpY2U.AAAAAAAAAAAAAAAAAAAAAB.1.2.Kg.0.ka", /* non-canonical */
        "1.s.YWxpY2U.-.+1.2.Kg.0.ka",              /* sign */
        "1.s.YWxpY2U.-.-1.2.Kg.0.ka",
        "1.s.YWxpY2U.-.01.2.Kg.0.ka",              /* leading zero */
        "1.s.YWxpY2U.-.1.00.Kg.0.ka",
        "1.s.YWxpY2U.-.1.2.Kg.00.ka",
        "1.s.YWxpY2U.-.1x.2.Kg.0.ka",              /* junk */
        "1.s.YWxpY2U.-.9223372036854775808.2.Kg.0.ka",    /* > INT64_MAX */
        "1.s.YWxpY2U.-.1.99999999999999999999.Kg.0.ka",
        "1.s.YWxpY2U.-.1.2.Kg.18446744073709551616.ka",   /* > UINT64_MAX */
        "1.s.YWxpY2U.-.1.2.Kg.100000000000000000000.ka",
        "1.s.-.-.1.2.Kg.0.ka",                     /* user not base64url */
        "1.s.YQBi.-.1.2.Kg.0.ka",                  /* user "a\0b" */
        "1.s.YWxpY2V.-.1.2.Kg.0.ka",               /* non-canonical user */
        "1.s.YWxpY2U.-.1.2.Kg.0",                  /* 9 fields */
        "1.s.YWxpY2U.-.1.2.Kg.0.ka.ka",            /* 11 fields */
        "1.s.YWxpY2U.-.1..Kg.0.ka",                /* empty field */
        "1.s.YWxpY2U.-.1.2.MTkyLjAuMi43IA.0.ka",   /* bind "192.0.2.7 " */
        "1.s.YWxpY2U.-.1.2.AA.0.ka",               /* bind NUL */
    };
    ts_keyring kr;
    size_t i;
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    /* The same construction accepts a well-formed value, so a refusal below
     * is the field parser's and not a MAC problem. */
    assert_int_equal(decode_signed(&kr, "1.s.YWxpY2U.-.1.2.Kg.0.ka"), TS_OK);
    assert_int_equal(decode_signed(&kr,
        "1.s.YWxpY2U.-.9223372036854775807.9223372036854775807.Kg."
        "18446744073709551615.ka"), TS_OK);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (decode_signed(&kr, bad[i]) == TS_OK)
            fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_oversized_fields_behind_mac(void **state)
{
    ts_keyring kr;
    ts_buf p, u;
    uint8_t raw[TS_USER_MAX + 1];
    (void)state;

    ring(&kr, "ka:" KEY_A "\n");
    memset(raw, 'u', sizeof(raw));
    ts_buf_init(&p);
    ts_buf_init(&u);
    ts_b64url_encode(raw, TS_USER_MAX + 1, &u);
    ts_buf_printf(&p, "1.s.%s.-.1.2.Kg.0.ka", u.data);
    assert_int_equal(decode_signed(&kr, p.data), TS_EINVAL);
    ts_buf_reset(&u);
    ts_buf_reset(&p);
    ts_b64url_encode(raw, TS_BIND_MAX + 1, &u);
    ts_buf_printf(&p, "1.s.YWxpY2U.-.1.2.%s.0.ka", u.data);
    assert_int_equal(decode_signed(&kr, p.data), TS_EINVAL);
    ts_buf_reset(&u);
    ts_buf_reset(&p);
    ts_b64url_encode(raw, TS_BIND_MAX, &u);
    ts_buf_printf(&p, "1.s.YWxpY2U.-.1.2.%s.0.ka", u.data);
    assert_int_equal(decode_signed(&kr, p.data), TS_OK);
    ts_buf_free(&u);
    ts_buf_free(&p);
}

/* ---- IP binding ------------------------------------------------------------ */

static void
check_bind(int mode, int v4, int v6, const char *ip, const char *want)
{
    ts_bindip b = { .v4bits = v4, .v6bits = v6 };
    char out[TS_BIND_MAX + 1];
    int rc;

    b.mode = mode;
    rc = ts_ip_binding(&b, ip, out, sizeof(out));
    if (rc != TS_OK || strcmp(out, want) != 0)
        fail_msg("%s mode %d /%d /%d: rc %d \"%s\", want \"%s\"", ip, mode, v4,
                 v6, rc, rc == TS_OK ? out : "", want);
}

static void
test_binding_exact(void **state)
{
    (void)state;
    check_bind(TS_BIND_EXACT, 0, 0, "192.0.2.7", "192.0.2.7");
    check_bind(TS_BIND_EXACT, 0, 0, "0.0.0.0", "0.0.0.0");
    check_bind(TS_BIND_EXACT, 0, 0, "255.255.255.255", "255.255.255.255");
    check_bind(TS_BIND_EXACT, 0, 0, "2001:db8::1", "2001:db8::1");
    check_bind(TS_BIND_EXACT, 0, 0, "2001:DB8:0:0:0:0:0:1", "2001:db8::1");
    check_bind(TS_BIND_EXACT, 0, 0, "2001:0db8:0000::0001", "2001:db8::1");
    check_bind(TS_BIND_EXACT, 0, 0, "::1", "::1");
    check_bind(TS_BIND_EXACT, 0, 0, "::", "::");
    check_bind(TS_BIND_EXACT, 0, 0, "fe80::a:b:c:d", "fe80::a:b:c:d");
    check_bind(TS_BIND_EXACT, 0, 0, "::ffff:192.0.2.7", "192.0.2.7");
    check_bind(TS_BIND_EXACT, 0, 0, "::FFFF:c000:0207", "192.0.2.7");
    check_bind(TS_BIND_EXACT, 0, 0,
               "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
               "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void
test_binding_prefix(void **state)
{
    (void)state;
    check_bind(TS_BIND_PREFIX, 24, 64, "192.0.2.7", "192.0.2.0/24");
    check_bind(TS_BIND_PREFIX, 16, 64, "192.0.2.7", "192.0.0.0/16");
    check_bind(TS_BIND_PREFIX, 20, 64, "10.1.255.9", "10.1.240.0/20");
    check_bind(TS_BIND_PREFIX, 32, 128, "192.0.2.7", "192.0.2.7/32");
    check_bind(TS_BIND_PREFIX, 0, 0, "192.0.2.7", "0.0.0.0/0");
    check_bind(TS_BIND_PREFIX, 1, 64, "192.0.2.7", "128.0.0.0/1");
    check_bind(TS_BIND_PREFIX, 24, 64, "2001:db8::1", "2001:db8::/64");
    check_bind(TS_BIND_PREFIX, 24, 64, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64");
    check_bind(TS_BIND_PREFIX, 24, 48, "2001:db8:1:2:3:4:5:6", "2001:db8:1::/48");
    check_bind(TS_BIND_PREFIX, 24, 56, "2001:db8:1:2ff::", "2001:db8:1:200::/56");
    check_bind(TS_BIND_PREFIX, 24, 127, "2001:db8::3", "2001:db8::2/127");
    check_bind(TS_BIND_PREFIX, 24, 128, "2001:db8::3", "2001:db8::3/128");
    check_bind(TS_BIND_PREFIX, 24, 0, "2001:db8::3", "::/0");
    /* An IPv4-mapped address is masked as IPv4. */
    check_bind(TS_BIND_PREFIX, 24, 64, "::ffff:192.0.2.7", "192.0.2.0/24");
}

static void
test_binding_off(void **state)
{
    (void)state;
    check_bind(TS_BIND_OFF, 0, 0, "192.0.2.7", "*");
    check_bind(TS_BIND_OFF, 0, 0, "2001:db8::1", "*");
    check_bind(TS_BIND_OFF, 0, 0, "not an address", "*");
}

static void
test_binding_bad(void **state)
{
    static const char *bad[] = {
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", " 1.2.3.4",
        "1.2.3.4 ", "1.2.3.4/24", "01.2.3.4x", "::g", "2001:db8:::1",
        "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "[::1]", "localhost",
        "1.2.3.4\n", "0x7f.0.0.1",
        "2001:0db8:0000:0000:0000:0000:0000:0001:ffff:ffff:ffff:ffff",
    };
    ts_bindip exact = { .mode = TS_BIND_EXACT };
    ts_bindip pfx = { .mode = TS_BIND_PREFIX, .v4bits = 24, .v6bits = 64 };
    ts_bindip b;
    char out[TS_BIND_MAX + 1], small[8];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ts_ip_binding(&exact, bad[i], out, sizeof(out)) != TS_EINVAL)
            fail_msg("exact accepted \"%s\"", bad[i]);
        if (ts_ip_binding(&pfx, bad[i], out, sizeof(out)) != TS_EINVAL)
            fail_msg("prefix accepted \"%s\"", bad[i]);
    }
    assert_int_equal(ts_ip_binding(&exact, NULL, out, sizeof(out)), TS_EINVAL);
    b = pfx; b.v4bits = 33;
    assert_int_equal(ts_ip_binding(&b, "192.0.2.7", out, sizeof(out)), TS_EINVAL);
    b = pfx; b.v4bits = -1;
    assert_int_equal(ts_ip_binding(&b, "192.0.2.7", out, sizeof(out)), TS_EINVAL);
    b = pfx; b.v6bits = 129;
    assert_int_equal(ts_ip_binding(&b, "2001:db8::1", out, sizeof(out)),
                     TS_EINVAL);
    /* 33 bits are fine for an IPv6 address under the v6 limit. */
    b = pfx; b.v4bits = 33; b.v6bits = 33;
    assert_int_equal(ts_ip_binding(&b, "2001:db8::1", out, sizeof(out)), TS_OK);
    b = exact; b.mode = 7;
    assert_int_equal(ts_ip_binding(&b, "192.0.2.7", out, sizeof(out)), TS_EINVAL);
    assert_int_equal(ts_ip_binding(&exact, "192.0.2.7", small, sizeof(small)),
                     TS_ETOOBIG);
    assert_string_equal(small, "");
    assert_int_equal(ts_ip_binding(&exact, "1.2.3.4", small, sizeof(small)),
                     TS_OK);
}

/* ---- device ids ------------------------------------------------------------ */

static void
test_device_id(void **state)
{
    char a[TS_DEVICE_LEN + 1], b[TS_DEVICE_LEN + 1];
    uint8_t raw[16];
    size_t len = 0;
    (void)state;

    assert_int_equal(ts_device_id_new(a), TS_OK);
    assert_int_equal(ts_device_id_new(b), TS_OK);
    assert_int_equal(strlen(a), TS_DEVICE_LEN);
    assert_true(only_cookie_chars(a));
    assert_null(strchr(a, '.'));
    assert_string_not_equal(a, b);
    assert_int_equal(ts_b64url_decode(a, TS_DEVICE_LEN, raw, sizeof(raw), &len),
                     TS_OK);
    assert_int_equal(len, 16);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_session),
        cmocka_unit_test(test_roundtrip_device),
        cmocka_unit_test(test_roundtrip_limits),
        cmocka_unit_test(test_encode_refuses_bad_fields),
        cmocka_unit_test(test_every_byte_flipped),
        cmocka_unit_test(test_truncation_and_junk),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_wrong_key_and_rotation),
        cmocka_unit_test(test_strict_fields_behind_mac),
        cmocka_unit_test(test_oversized_fields_behind_mac),
        cmocka_unit_test(test_binding_exact),
        cmocka_unit_test(test_binding_prefix),
        cmocka_unit_test(test_binding_off),
        cmocka_unit_test(test_binding_bad),
        cmocka_unit_test(test_device_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
