/* Backup codes: generation, normalisation, keyed hashes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "backup.h"
#include "keys.h"
#include "ts_err.h"

#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void
ring(ts_keyring *kr, const char *text)
{
    char err[128];
    if (ts_keyring_parse(text, strlen(text), kr, err, sizeof(err)) != TS_OK)
        fail_msg("key ring: %s", err);
}

static int
display_form(const char *s)
{
    size_t i;

    if (strlen(s) != 11 || s[5] != '-')
        return 0;
    for (i = 0; i < 11; i++)
        if (i != 5 && (s[i] == '\0' || strchr(alphabet, s[i]) == NULL))
            return 0;
    return 1;
}

static void
test_generate(void **state)
{
    char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN];
    char again[TS_BACKUP_COUNT][TS_BACKUP_SHOWN];
    char norm[TS_BACKUP_CHARS + 1];
    size_t i, j;
    (void)state;

    assert_int_equal(ts_backup_generate(codes), TS_OK);
    assert_int_equal(ts_backup_generate(again), TS_OK);
    for (i = 0; i < TS_BACKUP_COUNT; i++) {
        if (!display_form(codes[i]))
            fail_msg("bad code \"%s\"", codes[i]);
        for (j = 0; j < i; j++)
            assert_string_not_equal(codes[i], codes[j]);
        for (j = 0; j < TS_BACKUP_COUNT; j++)
            assert_string_not_equal(codes[i], again[j]);
        /* The display form normalises to its ten characters. */
        assert_int_equal(ts_backup_normalize(codes[i], strlen(codes[i]), norm),
                         TS_OK);
        assert_memory_equal(norm, codes[i], 5);
        assert_memory_equal(norm + 5, codes[i] + 6, 5);
    }
}

/* Every character of the alphabet appears about equally often (a broken
 * mapping of random bytes would starve some and favour others). */
static void
test_generate_uniform(void **state)
{
    char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN];
    unsigned count[32] = { 0 };
    size_t round, i, k;
    (void)state;

    for (round = 0; round < 640; round++) {
        assert_int_equal(ts_backup_generate(codes), TS_OK);
        for (i = 0; i < TS_BACKUP_COUNT; i++)
            for (k = 0; k < 11; k++)
                if (k != 5)
                    count[strchr(alphabet, codes[i][k]) - alphabet]++;
    }
    /* 64000 characters: 2000 expected each, sd about 44. */
    for (i = 0; i < 32; i++)
        if (count[i] < 1700 || count[i] > 2300)
            fail_msg("'%c' appeared %u times", alphabet[i], count[i]);
}

static void
norm_ok(const char *in, const char *want)
{
    char out[TS_BACKUP_CHARS + 1];
    int rc = ts_backup_normalize(in, strlen(in), out);
    if (rc != TS_OK || strcmp(out, want) != 0)
        fail_msg("\"%s\": rc %d \"%s\", want \"%s\"", in, rc, out, want);
}

static void
test_normalize_variants(void **state)
{
    (void)state;
    norm_ok("ABCDE-FGHJK", "ABCDEFGHJK");
    norm_ok("abcde-fghjk", "ABCDEFGHJK");
    norm_ok("ABCDEFGHJK", "ABCDEFGHJK");
    norm_ok("abcde fghjk", "ABCDEFGHJK");
    norm_ok("  aBcDe\t-\tFgHjK  ", "ABCDEFGHJK");
    norm_ok("a-b-c-d-e-f-g-h-j-k", "ABCDEFGHJK");
    norm_ok("oOiIlL0123", "001111" "0123");
    norm_ok("MNPQR-STVWX", "MNPQRSTVWX");
    norm_ok("yz789-45601", "YZ78945601");
}

static void
test_normalize_refuses(void **state)
{
    static const char *bad[] = {
        "", "-", "ABCDE-FGHJ", "ABCDE-FGHJKM", "ABCDEFGHJKABCDEFGHJK",
        "ABCDE-FGHJU", "ABCDE_FGHJK", "ABCDE.FGHJK", "ABCDE+FGHJK",
        "ÄBCDE-FGHJ", "ABCDE\nFGHJK", "ABCDE/FGHJK", "123456",
    };
    char out[TS_BACKUP_CHARS + 1];
    char big[1000];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(out, "XXXXXXXXXX", 11);
        if (ts_backup_normalize(bad[i], strlen(bad[i]), out) != TS_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_string_equal(out, "");
    }
    assert_int_equal(ts_backup_normalize("ABCDE\0FGHJK", 11, out), TS_EINVAL);
    assert_int_equal(ts_backup_normalize("ABCDEFGHJK\0", 11, out), TS_EINVAL);
    assert_int_equal(ts_backup_normalize(NULL, 0, out), TS_EINVAL);
    /* Huge input is refused without being walked. */
    memset(big, ' ', sizeof(big));
    memcpy(big + 500, "ABCDEFGHJK", 10);
    assert_int_equal(ts_backup_normalize(big, sizeof(big), out), TS_EINVAL);
}

static void
hash(const ts_key *k, const char *user, const char *norm, char hex[65])
{
    assert_int_equal(ts_backup_hash(k, user, strlen(user), norm, hex), TS_OK);
}

static void
test_hash(void **state)
{
    ts_keyring a, b;
    char h1[TS_BACKUP_HASHHEX], h2[TS_BACKUP_HASHHEX], want[65];
    uint8_t mac[32];
    unsigned int len = 0;
    size_t i;
    (void)state;

    ring(&a, "ka:" KEY_A "\n");
    ring(&b, "kb:" KEY_B "\n");
    hash(&a.keys[0], "alice", "ABCDEFGHJK", h1);
    assert_int_equal(strlen(h1), 64);
    assert_int_equal(strspn(h1, "0123456789abcdef"), 64);
    /* The documented construction, recomputed with OpenSSL's HMAC. */
    assert_non_null(HMAC(EVP_sha256(), a.keys[0].backup, 32,
                         (const unsigned char *)"alice|ABCDEFGHJK", 16, mac,
                         &len));
    for (i = 0; i < 32; i++)
        snprintf(want + 2 * i, 3, "%02x", mac[i]);
    assert_string_equal(h1, want);

    hash(&a.keys[0], "alice", "ABCDEFGHJK", h2);
    assert_string_equal(h1, h2);                      /* deterministic */
    hash(&a.keys[0], "bob", "ABCDEFGHJK", h2);
    assert_string_not_equal(h1, h2);                  /* per user */
    hash(&b.keys[0], "alice", "ABCDEFGHJK", h2);
    assert_string_not_equal(h1, h2);                  /* per key */
    hash(&a.keys[0], "alice", "ABCDEFGHJM", h2);
    assert_string_not_equal(h1, h2);                  /* per code */
}

static void
test_hash_refuses(void **state)
{
    static const char *bad[] = { "abcdefghjk", "ABCDE-FGHJ", "ABCDEFGHJ",
                                 "ABCDEFGHJKM", "ABCDEFGHJU", "" };
    ts_keyring a;
    char hex[TS_BACKUP_HASHHEX];
    char user[300];
    size_t i;
    (void)state;

    ring(&a, "ka:" KEY_A "\n");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char norm[TS_BACKUP_CHARS + 8] = { 0 };
        memcpy(norm, bad[i], strlen(bad[i]));
        if (ts_backup_hash(&a.keys[0], "alice", 5, norm, hex) != TS_EINVAL)
            fail_msg("hashed \"%s\"", bad[i]);
    }
    assert_int_equal(ts_backup_hash(&a.keys[0], "", 0, "ABCDEFGHJK", hex),
                     TS_EINVAL);
    memset(user, 'u', sizeof(user));
    assert_int_equal(ts_backup_hash(&a.keys[0], user, 256, "ABCDEFGHJK", hex),
                     TS_OK);
    assert_int_equal(ts_backup_hash(&a.keys[0], user, sizeof(user),
                                    "ABCDEFGHJK", hex), TS_ETOOBIG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_generate_uniform),
        cmocka_unit_test(test_normalize_variants),
        cmocka_unit_test(test_normalize_refuses),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_hash_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
