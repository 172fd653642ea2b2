/* Sealing of secrets at rest with AES-256-GCM. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "seal.h"
#include "ts_err.h"

#define SEAL_PREFIX    "s1."
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN   16
/* TOTP secrets are tens of bytes; a generous bound keeps every buffer
 * on the stack and every length far from int overflow. */
#define SEAL_PLAIN_MAX 1024
#define SEAL_RAW_MAX   (SEAL_NONCE_LEN + SEAL_PLAIN_MAX + SEAL_TAG_LEN)

/* Encrypts plain into ct (same length) and writes the tag. */
static int
gcm_encrypt(const uint8_t key[TS_KEY_LEN], const uint8_t *nonce,
            const char *aad, size_t aadlen, const uint8_t *plain, size_t n,
            uint8_t *ct, uint8_t *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok;

    if (ctx == NULL)
        return TS_ENOMEM;
    ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
         (aadlen == 0 ||
          EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad,
                            (int)aadlen) == 1) &&
         (n == 0 || EVP_EncryptUpdate(ctx, ct, &len, plain, (int)n) == 1) &&
         EVP_EncryptFinal_ex(ctx, ct + n, &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? TS_OK : TS_ECRYPTO;
}

/* Decrypts and authenticates; TS_ECRYPTO when the tag does not verify. */
static int
gcm_decrypt(const uint8_t key[TS_KEY_LEN], const uint8_t *nonce,
            const char *aad, size_t aadlen, const uint8_t *ct, size_t n,
            const uint8_t *tag, uint8_t *plain)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t tagcopy[SEAL_TAG_LEN];
    int len = 0, ok;

    if (ctx == NULL)
        return TS_ENOMEM;
    memcpy(tagcopy, tag, SEAL_TAG_LEN);
    ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
         (aadlen == 0 ||
          EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad,
                            (int)aadlen) == 1) &&
         (n == 0 || EVP_DecryptUpdate(ctx, plain, &len, ct, (int)n) == 1) &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
                             tagcopy) == 1 &&
         EVP_DecryptFinal_ex(ctx, plain + n, &len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? TS_OK : TS_ECRYPTO;
}

int
ts_seal(const ts_keyring *kr, const char *user, size_t user_len,
        const uint8_t *plain, size_t n, ts_buf *out)
{
    uint8_t raw[SEAL_RAW_MAX];
    int rc;

    if (kr == NULL || kr->n == 0 || out == NULL || (user == NULL && user_len)
        || (plain == NULL && n))
        return TS_EINVAL;
    if (n > SEAL_PLAIN_MAX || user_len > (1u << 20))
        return TS_ETOOBIG;
    rc = ts_random(raw, SEAL_NONCE_LEN);
    if (rc != TS_OK)
        return rc;
    rc = gcm_encrypt(kr->keys[0].seal, raw, user, user_len, plain, n,
                     raw + SEAL_NONCE_LEN, raw + SEAL_NONCE_LEN + n);
    if (rc == TS_OK) {
        ts_buf_puts(out, SEAL_PREFIX);
        ts_buf_puts(out, kr->keys[0].id);
        ts_buf_putc(out, '.');
        rc = ts_b64url_encode(raw, SEAL_NONCE_LEN + n + SEAL_TAG_LEN, out);
    }
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

int
ts_unseal(const ts_keyring *kr, const char *user, size_t user_len,
          const char *sealed, size_t n, uint8_t *out, size_t cap,
          size_t *outlen)
{
    uint8_t raw[SEAL_RAW_MAX];
    const char *kid, *dot;
    const ts_key *k;
    size_t rawlen = 0, plen;
    int rc;

    if (kr == NULL || sealed == NULL || outlen == NULL ||
        (user == NULL && user_len) || (out == NULL && cap))
        return TS_EINVAL;
    if (user_len > (1u << 20))
        return TS_ETOOBIG;
    if (n < sizeof(SEAL_PREFIX) - 1 ||
        memcmp(sealed, SEAL_PREFIX, sizeof(SEAL_PREFIX) - 1) != 0)
        return TS_EINVAL;
    kid = sealed + sizeof(SEAL_PREFIX) - 1;
    dot = memchr(kid, '.', n - (size_t)(kid - sealed));
    if (dot == NULL || dot == kid || dot - kid > TS_KEYID_MAX)
        return TS_EINVAL;
    rc = ts_b64url_decode(dot + 1, n - (size_t)(dot + 1 - sealed), raw,
                          sizeof(raw), &rawlen);
    if (rc != TS_OK)
        return TS_EINVAL;
    if (rawlen < SEAL_NONCE_LEN + SEAL_TAG_LEN)
        return TS_EINVAL;
    k = ts_keyring_find(kr, kid, (size_t)(dot - kid));
    if (k == NULL)
        return TS_ENOTFOUND;
    plen = rawlen - SEAL_NONCE_LEN - SEAL_TAG_LEN;
    if (plen > cap)
        return TS_ETOOBIG;
    rc = gcm_decrypt(k->seal, raw, user, user_len, raw + SEAL_NONCE_LEN, plen,
                     raw + SEAL_NONCE_LEN + plen, out);
    if (rc != TS_OK) {
        if (cap)
            OPENSSL_cleanse(out, plen);  /* never leave unauthenticated text */
        return rc;
    }
    *outlen = plen;
    return TS_OK;
}
