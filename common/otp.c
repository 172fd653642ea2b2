/* HOTP (RFC 4226) and TOTP (RFC 6238) on OpenSSL's HMAC. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "otp.h"
#include "ts_err.h"

static const uint32_t pow10_tab[] = {
    1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u
};

int
ts_alg_parse(const char *s, ts_alg *out)
{
    static const struct { const char *name; ts_alg alg; } names[] = {
        { "SHA1", TS_ALG_SHA1 },     { "SHA-1", TS_ALG_SHA1 },
        { "SHA256", TS_ALG_SHA256 }, { "SHA-256", TS_ALG_SHA256 },
        { "SHA512", TS_ALG_SHA512 }, { "SHA-512", TS_ALG_SHA512 },
    };
    size_t i;

    if (s == NULL || out == NULL)
        return TS_EINVAL;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].alg;
            return TS_OK;
        }
    }
    return TS_EINVAL;
}

const char *
ts_alg_name(ts_alg alg)
{
    switch (alg) {
    case TS_ALG_SHA1:   return "SHA1";
    case TS_ALG_SHA256: return "SHA256";
    case TS_ALG_SHA512: return "SHA512";
    }
    return "unknown";
}

static const EVP_MD *
alg_md(ts_alg alg)
{
    switch (alg) {
    case TS_ALG_SHA1:   return EVP_sha1();
    case TS_ALG_SHA256: return EVP_sha256();
    case TS_ALG_SHA512: return EVP_sha512();
    }
    return NULL;
}

int
ts_hotp(const uint8_t *key, size_t keylen, ts_alg alg, uint64_t counter,
        int digits, uint32_t *code)
{
    const EVP_MD *md = alg_md(alg);
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    uint32_t bin;
    unsigned off;
    int i;

    if (md == NULL || key == NULL || keylen == 0 || keylen > INT_MAX ||
        code == NULL || digits < TS_OTP_MIN_DIGITS ||
        digits > TS_OTP_MAX_DIGITS)
        return TS_EINVAL;
    for (i = 7; i >= 0; i--) {          /* the counter, big-endian */
        msg[i] = (uint8_t)(counter & 0xff);
        counter >>= 8;
    }
    if (HMAC(md, key, (int)keylen, msg, sizeof(msg), mac, &maclen) == NULL ||
        maclen < 20)
        return TS_ECRYPTO;
    /* Dynamic truncation (RFC 4226 5.3): the low nibble of the last byte
     * picks four bytes; the top bit is masked to avoid sign ambiguity. */
    off = mac[maclen - 1] & 0x0f;
    bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
          ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
    *code = bin % pow10_tab[digits];
    OPENSSL_cleanse(mac, sizeof(mac));
    return TS_OK;
}

void
ts_otp_format(uint32_t code, int digits, char out[9])
{
    int i;

    /* Clamped so out[9] can never overflow, whatever the caller passes. */
    if (digits < TS_OTP_MIN_DIGITS)
        digits = TS_OTP_MIN_DIGITS;
    if (digits > TS_OTP_MAX_DIGITS)
        digits = TS_OTP_MAX_DIGITS;
    out[digits] = '\0';
    for (i = digits - 1; i >= 0; i--) {
        out[i] = (char)('0' + code % 10);
        code /= 10;
    }
}

int64_t
ts_totp_step(int64_t now, int period)
{
    int64_t q;

    if (period < TS_OTP_MIN_PERIOD)
        return -1;                      /* invalid period: no valid step */
    q = now / period;
    if (now % period != 0 && now < 0)   /* floor, not truncation */
        q--;
    return q;
}

int
ts_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

static int
code_well_formed(const char *code, size_t code_len, int digits)
{
    size_t i;

    if (code == NULL || code_len != (size_t)digits)
        return 0;
    for (i = 0; i < code_len; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    return 1;
}

int
ts_totp_verify(const uint8_t *key, size_t keylen, ts_alg alg, int digits,
               int period, int64_t now, int skew, const char *code,
               size_t code_len, int64_t *matched_step)
{
    int64_t step, s, found = 0;
    uint64_t any = 0;
    char want[9];
    uint32_t v;
    int rc;

    if (digits < TS_OTP_MIN_DIGITS || digits > TS_OTP_MAX_DIGITS ||
        period < TS_OTP_MIN_PERIOD || period > TS_OTP_MAX_PERIOD ||
        skew < 0 || skew > TS_OTP_MAX_SKEW || now < 0 || key == NULL ||
        keylen == 0 || alg_md(alg) == NULL || matched_step == NULL)
        return TS_EINVAL;
    if (!code_well_formed(code, code_len, digits))
        return TS_EINVAL;
    step = ts_totp_step(now, period);
    if (step > INT64_MAX - skew)
        return TS_EINVAL;
    /* Every step of the window is computed and compared; the match is
     * recorded with a mask, not a branch, and later steps overwrite earlier
     * ones so the latest matching step wins. Steps before 0 do not exist
     * (the counter is unsigned); which ones are skipped depends only on the
     * public time, never on the code. */
    for (s = step - skew; s <= step + skew; s++) {
        uint64_t eq, mask;

        if (s < 0)
            continue;
        rc = ts_hotp(key, keylen, alg, (uint64_t)s, digits, &v);
        if (rc != TS_OK)
            return rc;
        ts_otp_format(v, digits, want);
        eq = (uint64_t)(CRYPTO_memcmp(want, code, (size_t)digits) == 0);
        mask = (uint64_t)0 - eq;
        found = (int64_t)(((uint64_t)found & ~mask) | ((uint64_t)s & mask));
        any |= eq;
    }
    OPENSSL_cleanse(want, sizeof(want));
    if (!any)
        return TS_EMISMATCH;
    *matched_step = found;
    return TS_OK;
}
