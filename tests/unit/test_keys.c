/* Key file parsing, sub-key derivation, HMAC, randomness and base64url. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "keys.h"
#include "ts_buf.h"
#include "ts_err.h"

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define KEY_16 "AAECAwQFBgcICQoLDA0ODw=="

static int
parse(const char *text, ts_keyring *kr, char *err, size_t errlen)
{
    return ts_keyring_parse(text, strlen(text), kr, err, errlen);
}

/* ---- an independent HKDF (RFC 5869) built from plain HMAC ---------------- */

static void
hmac(const uint8_t *key, size_t klen, const uint8_t *msg, size_t n,
     uint8_t out[32])
{
    unsigned int len = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)klen, msg, n, out, &len));
    assert_int_equal(len, 32);
}

static void
ref_hkdf(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
         size_t saltlen, const uint8_t *info, size_t infolen, uint8_t *okm,
         size_t L)
{
    uint8_t prk[32], t[32], msg[32 + 256 + 1];
    size_t tlen = 0, done = 0;
    uint8_t counter = 1;

    assert_true(infolen <= 256);
    hmac(salt, saltlen, ikm, ikmlen, prk);
    while (done < L) {
        size_t m = 0, take;
        memcpy(msg, t, tlen);
        m += tlen;
        memcpy(msg + m, info, infolen);
        m += infolen;
        msg[m++] = counter++;
        hmac(prk, 32, msg, m, t);
        tlen = 32;
        take = L - done < 32 ? L - done : 32;
        memcpy(okm + done, t, take);
        done += take;
    }
}

static void
unhex(const char *hex, uint8_t *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* RFC 5869 A.1 checks the reference implementation itself. */
static void
test_ref_hkdf_rfc5869(void **state)
{
    uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
    (void)state;

    memset(ikm, 0x0b, sizeof(ikm));
    unhex("000102030405060708090a0b0c", salt, sizeof(salt));
    unhex("f0f1f2f3f4f5f6f7f8f9", info, sizeof(info));
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
          "34007208d5b887185865", want, sizeof(want));
    ref_hkdf(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info), okm,
             sizeof(okm));
    assert_memory_equal(okm, want, sizeof(want));
}

static void
test_subkeys_are_hkdf(void **state)
{
    static const char *infos[4] = { "twostep seal", "twostep cookie",
                                    "twostep csrf", "twostep backup" };
    ts_keyring kr;
    uint8_t master[32], want[32];
    const uint8_t *got[4];
    size_t i, j;
    (void)state;

    assert_int_equal(parse("a:" KEY_A "\n", &kr, NULL, 0), TS_OK);
    for (i = 0; i < 32; i++)
        master[i] = (uint8_t)i;
    got[0] = kr.keys[0].seal;
    got[1] = kr.keys[0].cookie;
    got[2] = kr.keys[0].csrf;
    got[3] = kr.keys[0].backup;
    for (i = 0; i < 4; i++) {
        ref_hkdf(master, 32, (const uint8_t *)"twostep v1", 10,
                 (const uint8_t *)infos[i], strlen(infos[i]), want, 32);
        assert_memory_equal(got[i], want, 32);
        assert_memory_not_equal(got[i], master, 32);
        for (j = 0; j < i; j++)
            assert_memory_not_equal(got[i], got[j], 32);
    }
    ts_keyring_clear(&kr);
}

/* ---- HMAC: RFC 4231 cases 1 and 2 (short keys zero-padded to 32 bytes
 * give the same HMAC, since HMAC pads keys with zeros to the block). ---- */
static void
test_hmac_rfc4231(void **state)
{
    uint8_t key[32], mac[32], want[32];
    (void)state;

    memset(key, 0, sizeof(key));
    memset(key, 0x0b, 20);
    unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
          want, 32);
    assert_int_equal(ts_hmac_sha256(key, "Hi There", 8, mac), TS_OK);
    assert_memory_equal(mac, want, 32);

    memset(key, 0, sizeof(key));
    memcpy(key, "Jefe", 4);
    unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
          want, 32);
    assert_int_equal(ts_hmac_sha256(key, "what do ya want for nothing?", 28,
                                    mac), TS_OK);
    assert_memory_equal(mac, want, 32);
    assert_int_equal(ts_hmac_sha256(key, NULL, 0, mac), TS_OK);
}

/* ---- key file parsing ---------------------------------------------------- */

static void
test_parse_one(void **state)
{
    ts_keyring kr;
    char err[128];
    (void)state;

    assert_int_equal(parse("k1:" KEY_A "\n", &kr, err, sizeof(err)), TS_OK);
    assert_int_equal(kr.n, 1);
    assert_string_equal(kr.keys[0].id, "k1");
    assert_ptr_equal(ts_keyring_find(&kr, "k1", 2), &kr.keys[0]);
    assert_null(ts_keyring_find(&kr, "k", 1));
    assert_null(ts_keyring_find(&kr, "k1x", 3));
    assert_null(ts_keyring_find(&kr, "", 0));
    ts_keyring_clear(&kr);
    assert_int_equal(kr.n, 0);
}

static void
test_parse_comments_blank_crlf(void **state)
{
    ts_keyring kr, kr2;
    const char *text =
        "# twostep keys\r\n"
        "\n"
        "   \t\n"
        "  # indented comment\n"
        "new_2-B:" "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8" "\r\n"
        "\t old:" KEY_A "  ";        /* no final newline, padding present */
    (void)state;

    assert_int_equal(parse(text, &kr, NULL, 0), TS_OK);
    assert_int_equal(kr.n, 2);
    assert_string_equal(kr.keys[0].id, "new_2-B");
    assert_string_equal(kr.keys[1].id, "old");
    assert_ptr_equal(ts_keyring_find(&kr, "old", 3), &kr.keys[1]);
    /* Same key material with and without padding derives the same keys. */
    assert_int_equal(parse("x:" KEY_B, &kr2, NULL, 0), TS_OK);
    assert_memory_equal(kr2.keys[0].cookie, kr.keys[0].cookie, 32);
    assert_memory_not_equal(kr.keys[1].cookie, kr.keys[0].cookie, 32);
}

static void
expect_error(const char *text, size_t n, const char *needle)
{
    ts_keyring kr;
    char err[160];

    memset(&kr, 0x55, sizeof(kr));
    assert_int_not_equal(ts_keyring_parse(text, n, &kr, err, sizeof(err)),
                         TS_OK);
    assert_int_equal(kr.n, 0);
    if (strstr(err, needle) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void
expect_err(const char *text, const char *needle)
{
    expect_error(text, strlen(text), needle);
}

static void
test_parse_errors(void **state)
{
    char big[70000];
    char many[4096];
    size_t i, o = 0;
    (void)state;

    expect_err("a:" KEY_A "\nb:" KEY_16 "\n", "line 2: key is 16 bytes, needs 32");
    expect_err("a:" KEY_A "\n# c\na:" KEY_B "\n", "line 3: key id \"a\" is used twice");
    expect_err("", "no key");
    expect_err("# only a comment\n\n", "no key");
    expect_err("a " KEY_A "\n", "line 1: expected KEYID:BASE64");
    expect_err(":" KEY_A "\n", "line 1: key id");
    expect_err("a.b:" KEY_A "\n", "line 1: key id");
    expect_err("a b:" KEY_A "\n", "line 1: key id");
    expect_err("12345678901234567:" KEY_A "\n", "line 1: key id");
    expect_err("\n\nk:" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8!" "\n",
               "line 3: key is not valid base64");
    expect_err("k:" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==" "\n",
               "line 1: key is not valid base64");          /* bad padding */
    expect_err("k:" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9" "\n",
               "line 1: key is not valid base64");    /* non-canonical tail */
    expect_err("k:" "AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8=" "\n",
               "line 1: key is not valid base64");
    expect_err("k:" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8-" "\n",
               "line 1: key is not valid base64");       /* url alphabet */
    expect_err("k:\n", "line 1: key is 0 bytes, needs 32");
    expect_err("k:" KEY_A KEY_A "\n", "line 1: key is not valid base64");
    expect_err("k:" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
               "line 1: key is 48 bytes, needs 32");
    expect_err("k:" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
               "line 1: key is longer than 32");
    expect_err("k:" "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==" "\n",
               "line 1: key is 34 bytes, needs 32");
    expect_error("a:" KEY_A "\nb:\0" KEY_B "\n", 2 + 44 + 1 + 2 + 1 + 44 + 1,
                 "line 2: NUL byte");
    /* A line far longer than any key line. */
    memset(big, 'A', sizeof(big));
    memcpy(big, "k:", 2);
    expect_error(big, 4000, "line 1: line too long");
    /* A whole file past the limit is refused unread. */
    expect_error(big, sizeof(big), "larger than");
    /* More keys than the ring holds. */
    for (i = 0; i < TS_KEYRING_MAX + 1; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, "k%zu:%s\n", i, KEY_A);
    expect_err(many, "line 17: more than 16 keys");
}

static void
test_parse_exactly_max_keys(void **state)
{
    char many[4096];
    ts_keyring kr;
    size_t i, o = 0;
    (void)state;

    for (i = 0; i < TS_KEYRING_MAX; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, "k%zu:%s\n", i, KEY_A);
    assert_int_equal(parse(many, &kr, NULL, 0), TS_OK);
    assert_int_equal(kr.n, TS_KEYRING_MAX);
    assert_string_equal(kr.keys[15].id, "k15");
}

/* Cutting a valid file anywhere never crashes and never yields a key from a
 * partial line. */
static void
test_parse_truncations(void **state)
{
    const char *text = "# c\nfirst:" KEY_A "\nsecond:" KEY_B "\n";
    size_t len = strlen(text), n, second = strstr(text, "second") - text;
    size_t second_end = len - 1, first_end = second - 1;
    ts_keyring kr;
    char err[128];
    (void)state;

    for (n = 0; n <= len; n++) {
        int rc = ts_keyring_parse(text, n, &kr, err, sizeof(err));
        if (n >= second_end)
            assert_int_equal(rc, TS_OK), assert_int_equal(kr.n, 2);
        else if (n == second_end - 1)       /* only the '=' cut: still valid */
            assert_int_equal(rc, TS_OK), assert_int_equal(kr.n, 2);
        else if (n >= first_end - 1 && n <= second)
            assert_int_equal(rc, TS_OK), assert_int_equal(kr.n, 1);
        else
            assert_int_not_equal(rc, TS_OK), assert_int_equal(kr.n, 0);
    }
}

static void
test_parse_bytes_flipped(void **state)
{
    const char *text = "k:" KEY_A "\n";
    size_t len = strlen(text), i;
    ts_keyring good, kr;
    char buf[64];
    (void)state;

    assert_int_equal(parse(text, &good, NULL, 0), TS_OK);
    for (i = 0; i < len; i++) {
        int v;
        for (v = 1; v < 256; v += 37) {
            int rc;
            memcpy(buf, text, len);
            buf[i] = (char)(buf[i] ^ v);
            rc = ts_keyring_parse(buf, len, &kr, NULL, 0);
            /* Whatever parses must not be the original key under its id. */
            if (rc == TS_OK)
                assert_false(strcmp(kr.keys[0].id, "k") == 0 &&
                             memcmp(kr.keys[0].seal, good.keys[0].seal, 32) == 0);
        }
    }
}

/* ---- loading from a file --------------------------------------------------- */

static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void
test_load(void **state)
{
    char dir[] = "/tmp/ts_keys_XXXXXX";
    char path[64], err[256];
    ts_keyring kr;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/keys", dir);
    write_file(path, "a:" KEY_A "\n", 0600);
    assert_int_equal(ts_keyring_load(path, &kr, err, sizeof(err)), TS_OK);
    assert_int_equal(kr.n, 1);

    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(ts_keyring_load(path, &kr, err, sizeof(err)), TS_OK);

    assert_int_equal(chmod(path, 0644), 0);
    assert_int_not_equal(ts_keyring_load(path, &kr, err, sizeof(err)), TS_OK);
    assert_int_equal(kr.n, 0);
    assert_non_null(strstr(err, "chmod 640"));
    assert_non_null(strstr(err, path));

    assert_int_equal(chmod(path, 0602), 0);
    assert_int_not_equal(ts_keyring_load(path, &kr, err, sizeof(err)), TS_OK);

    write_file(path, "a:" KEY_A "\nb:" KEY_16 "\n", 0600);
    assert_int_equal(ts_keyring_load(path, &kr, err, sizeof(err)), TS_EINVAL);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "line 2: key is 16 bytes"));

    assert_int_equal(ts_keyring_load(dir, &kr, err, sizeof(err)), TS_EIO);
    unlink(path);
    assert_int_equal(ts_keyring_load(path, &kr, err, sizeof(err)), TS_EIO);
    assert_non_null(strstr(err, path));
    rmdir(dir);
}

/* ---- keygen ---------------------------------------------------------------- */

static void
test_keygen(void **state)
{
    ts_buf a, b, both;
    ts_keyring kr;
    size_t i;
    (void)state;

    ts_buf_init(&a);
    ts_buf_init(&b);
    ts_buf_init(&both);
    assert_int_equal(ts_keygen_line(&a), TS_OK);
    assert_int_equal(ts_keygen_line(&b), TS_OK);
    assert_int_equal(a.len, 8 + 1 + 44 + 1);
    for (i = 0; i < 8; i++)
        assert_non_null(strchr("0123456789abcdef", a.data[i]));
    assert_int_equal(a.data[8], ':');
    assert_int_equal(a.data[a.len - 1], '\n');
    assert_string_not_equal(a.data, b.data);
    assert_int_equal(parse(a.data, &kr, NULL, 0), TS_OK);
    assert_int_equal(kr.n, 1);
    assert_memory_equal(kr.keys[0].id, a.data, 8);
    ts_buf_puts(&both, a.data);
    ts_buf_puts(&both, b.data);
    assert_int_equal(parse(both.data, &kr, NULL, 0), TS_OK);
    assert_int_equal(kr.n, 2);
    ts_buf_free(&a);
    ts_buf_free(&b);
    ts_buf_free(&both);
}

static void
test_random(void **state)
{
    uint8_t x[32], y[32];
    (void)state;

    assert_int_equal(ts_random(x, sizeof(x)), TS_OK);
    assert_int_equal(ts_random(y, sizeof(y)), TS_OK);
    assert_memory_not_equal(x, y, sizeof(x));
    assert_int_equal(ts_random(x, 0), TS_OK);
}

/* ---- base64url ------------------------------------------------------------- */

/* Reference: OpenSSL's standard base64, translated and unpadded. */
static void
ref_b64url(const uint8_t *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n), i;
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
}

static void
test_b64url_roundtrip(void **state)
{
    uint8_t in[70], back[70];
    char ref[128];
    size_t n, outlen;
    ts_buf b;
    (void)state;

    ts_buf_init(&b);
    for (n = 0; n <= sizeof(in); n++) {
        assert_int_equal(ts_random(in, n), TS_OK);
        ts_buf_reset(&b);
        assert_int_equal(ts_b64url_encode(in, n, &b), TS_OK);
        ref_b64url(in, n, ref);
        assert_string_equal(ts_buf_str(&b), ref);
        outlen = 999;
        assert_int_equal(ts_b64url_decode(b.data, b.len, back, sizeof(back),
                                          &outlen), TS_OK);
        assert_int_equal(outlen, n);
        assert_memory_equal(back, in, n);
        if (n > 0)
            assert_int_equal(ts_b64url_decode(b.data, b.len, back, n - 1,
                                              &outlen), TS_ETOOBIG);
    }
    ts_buf_free(&b);
}

static void
test_b64url_strict(void **state)
{
    static const char *bad[] = {
        "A", "AAAAA", "AA==", "AAA=", "A+B_", "A/B-", "AA AA", "AB\nCD",
        "AB",   /* 'B' leaves non-zero unused bits */
        "AAB",  /* the same for two bytes */
        "_x", "ABCD=", "ÿÿ",
    };
    uint8_t out[16];
    size_t i, len;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ts_b64url_decode(bad[i], strlen(bad[i]), out, sizeof(out), &len)
            == TS_OK)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_not_equal(ts_b64url_decode("AA\0A", 4, out, sizeof(out), &len),
                         TS_OK);
    assert_int_equal(ts_b64url_decode("", 0, out, sizeof(out), &len), TS_OK);
    assert_int_equal(len, 0);
    assert_int_equal(ts_b64url_decode("_w", 2, out, sizeof(out), &len), TS_OK);
    assert_int_equal(len, 1);
    assert_int_equal(out[0], 0xff);
    assert_int_equal(ts_b64url_decode("_-8", 3, out, sizeof(out), &len), TS_OK);
    assert_int_equal(len, 2);
    assert_int_equal(out[0], 0xff);
    assert_int_equal(out[1], 0xef);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_hkdf_rfc5869),
        cmocka_unit_test(test_subkeys_are_hkdf),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_parse_one),
        cmocka_unit_test(test_parse_comments_blank_crlf),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_exactly_max_keys),
        cmocka_unit_test(test_parse_truncations),
        cmocka_unit_test(test_parse_bytes_flipped),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_b64url_roundtrip),
        cmocka_unit_test(test_b64url_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
