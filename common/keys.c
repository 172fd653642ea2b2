/* The key file, sub-key derivation, randomness, HMAC and base64url. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "keys.h"
#include "ts_err.h"

/* A key file holds at most TS_KEYRING_MAX short lines plus comments; anything
 * far larger is not a key file. */
#define KEYFILE_MAX  (64 * 1024)
#define KEYLINE_MAX  512

#define HKDF_SALT "twostep v1"

static const char b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- base64 ------------------------------------------------------------ */

/* Both alphabets share their first 62 characters; only the last two
 * differ. Arithmetic, not a search: this runs for every cookie byte. */
static int
b64_value(const char *alphabet, unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c != '\0' && c == (unsigned char)alphabet[62])
        return 62;
    if (c != '\0' && c == (unsigned char)alphabet[63])
        return 63;
    return -1;
}

/* Decodes unpadded base64 of `alphabet`. Strict: every character must be of
 * the alphabet, a length of 1 mod 4 is impossible, and the unused low bits of
 * the last character must be zero, so every byte string has exactly one
 * accepted text (a flipped bit never decodes to the same bytes). */
static int
b64_decode(const char *alphabet, const char *in, size_t n, uint8_t *out,
           size_t cap, size_t *outlen)
{
    size_t i, o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (n % 4 == 1)
        return TS_EINVAL;
    if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
        return TS_ETOOBIG;
    for (i = 0; i < n; i++) {
        int v = b64_value(alphabet, (unsigned char)in[i]);
        if (v < 0)
            return TS_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)                 /* non-canonical trailing bits */
        return TS_EINVAL;
    *outlen = o;
    return TS_OK;
}

int
ts_b64url_encode(const uint8_t *in, size_t n, ts_buf *out)
{
    size_t i;
    uint32_t acc = 0;
    int bits = 0;

    if (n > ((size_t)1 << 28))
        return TS_ETOOBIG;
    for (i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            ts_buf_putc(out, b64url[(acc >> bits) & 63]);
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        ts_buf_putc(out, b64url[(acc << (6 - bits)) & 63]);
    if (n == 0)
        ts_buf_put(out, "", 0);   /* out->data is a string even when empty */
    return out->oom ? TS_ENOMEM : TS_OK;
}

int
ts_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                 size_t *outlen)
{
    return b64_decode(b64url, in, n, out, cap, outlen);
}

/* Standard base64 as written in key files: padding optional but, when
 * present, exactly what the length calls for. */
static int
b64std_decode(const char *in, size_t n, uint8_t *out, size_t cap,
              size_t *outlen)
{
    size_t pad = 0;

    while (pad < 2 && n > pad && in[n - 1 - pad] == '=')
        pad++;
    if (pad && (n % 4 != 0))
        return TS_EINVAL;
    if (pad && memchr(in, '=', n - pad) != NULL)
        return TS_EINVAL;
    n -= pad;
    if (pad && (n % 4) + pad != 4)
        return TS_EINVAL;
    return b64_decode(b64std, in, n, out, cap, outlen);
}

/* ---- primitives ---------------------------------------------------------- */

int
ts_random(void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n > 0) {
        int chunk = n > 65536 ? 65536 : (int)n;
        if (RAND_bytes(p, chunk) != 1)
            return TS_ECRYPTO;
        p += chunk;
        n -= (size_t)chunk;
    }
    return TS_OK;
}

/* HMAC contexts, one per key and thread. OpenSSL 3's one-shot HMAC()
 * fetches the digest and builds a context on every call, which cost more
 * than the hashing itself on the valid-cookie path (see BENCHMARKS.md).
 * Each thread keeps a few keyed contexts and only resets them
 * (EVP_MAC_init with a NULL key keeps the key). The slots are wiped and
 * freed when the thread exits. */
#define HMAC_SLOTS 8

typedef struct {
    uint8_t      key[TS_KEY_LEN];
    EVP_MAC_CTX *ctx;
} hmac_slot;

typedef struct {
    hmac_slot slot[HMAC_SLOTS];
    unsigned  next;
} hmac_slots;

static EVP_MAC       *hmac_alg;
static pthread_key_t  hmac_tls;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_slots_free(void *p)
{
    hmac_slots *hs = p;
    int i;

    for (i = 0; i < HMAC_SLOTS; i++)
        EVP_MAC_CTX_free(hs->slot[i].ctx);
    OPENSSL_cleanse(hs, sizeof(*hs));
    free(hs);
}

static void
hmac_init_once(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    pthread_key_create(&hmac_tls, hmac_slots_free);
}

static EVP_MAC_CTX *
hmac_ctx_for(const uint8_t key[TS_KEY_LEN])
{
    OSSL_PARAM params[2];
    hmac_slots *hs;
    hmac_slot *sl;
    int i;

    pthread_once(&hmac_once, hmac_init_once);
    if (hmac_alg == NULL)
        return NULL;
    hs = pthread_getspecific(hmac_tls);
    if (hs == NULL) {
        if ((hs = calloc(1, sizeof(*hs))) == NULL)
            return NULL;
        pthread_setspecific(hmac_tls, hs);
    }
    for (i = 0; i < HMAC_SLOTS; i++) {
        sl = &hs->slot[i];
        if (sl->ctx && CRYPTO_memcmp(sl->key, key, TS_KEY_LEN) == 0)
            return EVP_MAC_init(sl->ctx, NULL, 0, NULL) ? sl->ctx : NULL;
    }
    sl = &hs->slot[hs->next++ % HMAC_SLOTS];
    if (sl->ctx == NULL && (sl->ctx = EVP_MAC_CTX_new(hmac_alg)) == NULL)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_init(sl->ctx, key, TS_KEY_LEN, params)) {
        EVP_MAC_CTX_free(sl->ctx);      /* never matched again */
        sl->ctx = NULL;
        return NULL;
    }
    memcpy(sl->key, key, TS_KEY_LEN);
    return sl->ctx;
}

int
ts_hmac_sha256(const uint8_t key[TS_KEY_LEN], const void *msg, size_t n,
               uint8_t mac[32])
{
    static const unsigned char empty[1] = { 0 };
    EVP_MAC_CTX *ctx = hmac_ctx_for(key);
    size_t len = 0;

    if (ctx == NULL || !EVP_MAC_update(ctx, msg ? msg : empty, n) ||
        !EVP_MAC_final(ctx, mac, &len, 32) || len != 32)
        return TS_ECRYPTO;
    return TS_OK;
}

/* HKDF-SHA256 (RFC 5869) of one master key for one purpose. */
static int
hkdf_derive(const uint8_t master[TS_KEY_LEN], const char *info,
            uint8_t out[TS_KEY_LEN])
{
    EVP_KDF *kdf;
    EVP_KDF_CTX *ctx;
    OSSL_PARAM params[5];
    int ok;

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL)
        return TS_ECRYPTO;
    ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL)
        return TS_ECRYPTO;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  (void *)master, TS_KEY_LEN);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                  (void *)HKDF_SALT,
                                                  strlen(HKDF_SALT));
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  (void *)info, strlen(info));
    params[4] = OSSL_PARAM_construct_end();
    ok = EVP_KDF_derive(ctx, out, TS_KEY_LEN, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok ? TS_OK : TS_ECRYPTO;
}

/* One info string per purpose, so no sub-key ever serves two purposes. */
static int
derive_key(ts_key *k, const uint8_t master[TS_KEY_LEN])
{
    if (hkdf_derive(master, "twostep seal", k->seal) != TS_OK ||
        hkdf_derive(master, "twostep cookie", k->cookie) != TS_OK ||
        hkdf_derive(master, "twostep csrf", k->csrf) != TS_OK ||
        hkdf_derive(master, "twostep backup", k->backup) != TS_OK)
        return TS_ECRYPTO;
    return TS_OK;
}

/* ---- key file ------------------------------------------------------------ */

static int
keyid_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int
keyid_valid(const char *id, size_t n)
{
    size_t i;

    if (n == 0 || n > TS_KEYID_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!keyid_char((unsigned char)id[i]))
            return 0;
    return 1;
}

const ts_key *
ts_keyring_find(const ts_keyring *kr, const char *id, size_t idlen)
{
    size_t i;

    if (kr == NULL || id == NULL || idlen == 0 || idlen > TS_KEYID_MAX)
        return NULL;
    for (i = 0; i < kr->n && i < TS_KEYRING_MAX; i++)
        if (strlen(kr->keys[i].id) == idlen &&
            memcmp(kr->keys[i].id, id, idlen) == 0)
            return &kr->keys[i];
    return NULL;
}

void
ts_keyring_clear(ts_keyring *kr)
{
    if (kr != NULL)
        OPENSSL_cleanse(kr, sizeof(*kr));
}

static int
set_err(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
set_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int
is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one trimmed, non-empty, non-comment line into kr->keys[kr->n]. */
static int
parse_key_line(const char *s, size_t n, unsigned lineno, ts_keyring *kr,
               char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', n);
    size_t idlen, i;
    uint8_t master[48];
    size_t mlen = 0;
    ts_key *k;
    int rc;

    if (colon == NULL)
        return set_err(err, errlen, TS_EINVAL,
                       "line %u: expected KEYID:BASE64", lineno);
    idlen = (size_t)(colon - s);
    if (!keyid_valid(s, idlen))
        return set_err(err, errlen, TS_EINVAL,
                       "line %u: key id must be 1 to %d characters of "
                       "A-Z a-z 0-9 _ -", lineno, TS_KEYID_MAX);
    if (ts_keyring_find(kr, s, idlen) != NULL)
        return set_err(err, errlen, TS_EINVAL,
                       "line %u: key id \"%.*s\" is used twice", lineno,
                       (int)idlen, s);
    if (kr->n >= TS_KEYRING_MAX)
        return set_err(err, errlen, TS_ETOOBIG,
                       "line %u: more than %d keys", lineno, TS_KEYRING_MAX);
    rc = b64std_decode(colon + 1, n - idlen - 1, master, sizeof(master), &mlen);
    if (rc == TS_ETOOBIG)
        return set_err(err, errlen, TS_EINVAL,
                       "line %u: key is longer than %d bytes, needs %d",
                       lineno, TS_KEY_LEN, TS_KEY_LEN);
    if (rc != TS_OK)
        return set_err(err, errlen, TS_EINVAL,
                       "line %u: key is not valid base64", lineno);
    if (mlen != TS_KEY_LEN) {
        OPENSSL_cleanse(master, sizeof(master));
        return set_err(err, errlen, TS_EINVAL,
                       "line %u: key is %zu bytes, needs %d", lineno, mlen,
                       TS_KEY_LEN);
    }
    k = &kr->keys[kr->n];
    for (i = 0; i < idlen; i++)
        k->id[i] = s[i];
    k->id[idlen] = '\0';
    rc = derive_key(k, master);
    OPENSSL_cleanse(master, sizeof(master));
    if (rc != TS_OK)
        return set_err(err, errlen, rc,
                       "line %u: key derivation failed", lineno);
    kr->n++;
    return TS_OK;
}

int
ts_keyring_parse(const char *text, size_t n, ts_keyring *kr, char *err,
                 size_t errlen)
{
    size_t pos = 0;
    unsigned lineno = 0;
    int rc = TS_OK;

    if (kr == NULL)
        return TS_EINVAL;
    ts_keyring_clear(kr);
    set_err(err, errlen, TS_OK, "%s", "");
    if (text == NULL || n > KEYFILE_MAX)
        return set_err(err, errlen, TS_ETOOBIG,
                       "key file is larger than %d bytes", KEYFILE_MAX);
    while (pos < n && rc == TS_OK) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - line) : n - pos;

        pos += len + (nl ? 1 : 0);
        lineno++;
        if (memchr(line, '\0', len) != NULL)
            rc = set_err(err, errlen, TS_EINVAL, "line %u: NUL byte", lineno);
        else if (len > KEYLINE_MAX)
            rc = set_err(err, errlen, TS_EINVAL, "line %u: line too long",
                         lineno);
        if (rc != TS_OK)
            break;
        while (len > 0 && is_blank((unsigned char)line[0])) {
            line++;
            len--;
        }
        while (len > 0 && is_blank((unsigned char)line[len - 1]))
            len--;
        if (len == 0 || line[0] == '#')
            continue;
        rc = parse_key_line(line, len, lineno, kr, err, errlen);
    }
    if (rc == TS_OK && kr->n == 0)
        rc = set_err(err, errlen, TS_EINVAL, "no key in the key file");
    if (rc != TS_OK)
        ts_keyring_clear(kr);
    return rc;
}

/* Reads at most KEYFILE_MAX + 1 bytes (one more tells "too big"). */
static int
read_all(int fd, char *buf, size_t cap, size_t *len)
{
    size_t got = 0;

    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return TS_EIO;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    *len = got;
    return TS_OK;
}

int
ts_keyring_load(const char *path, ts_keyring *kr, char *err, size_t errlen)
{
    struct stat st;
    char *buf;
    size_t len = 0;
    int fd, rc;

    if (kr == NULL || path == NULL)
        return TS_EINVAL;
    ts_keyring_clear(kr);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return set_err(err, errlen, TS_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return set_err(err, errlen, TS_EIO, "%s: not a regular file", path);
    }
    if (st.st_mode & 007) {
        close(fd);
        return set_err(err, errlen, TS_EIO,
                       "%s: key file is accessible by others (mode %03o); "
                       "run chmod 640 or chmod 600 on it", path,
                       (unsigned)(st.st_mode & 0777));
    }
    buf = malloc(KEYFILE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        return set_err(err, errlen, TS_ENOMEM, "%s: out of memory", path);
    }
    rc = read_all(fd, buf, KEYFILE_MAX + 1, &len);
    close(fd);
    if (rc != TS_OK)
        rc = set_err(err, errlen, rc, "%s: read failed", path);
    else if (len > KEYFILE_MAX)
        rc = set_err(err, errlen, TS_ETOOBIG, "%s: larger than %d bytes",
                     path, KEYFILE_MAX);
    else if ((rc = ts_keyring_parse(buf, len, kr, err, errlen)) != TS_OK &&
             err != NULL && errlen > 0) {
        /* Name the file in front of "line N: ...", the way a compiler does. */
        char tmp[256];
        snprintf(tmp, sizeof(tmp), "%s", err);
        snprintf(err, errlen, "%s: %s", path, tmp);
    }
    OPENSSL_cleanse(buf, KEYFILE_MAX + 1);
    free(buf);
    return rc;
}

int
ts_keygen_line(ts_buf *out)
{
    uint8_t raw[4 + TS_KEY_LEN];
    unsigned char b64[4 * ((TS_KEY_LEN + 2) / 3) + 1];
    int rc;

    if (out == NULL)
        return TS_EINVAL;
    rc = ts_random(raw, sizeof(raw));
    if (rc != TS_OK)
        return rc;
    EVP_EncodeBlock(b64, raw + 4, TS_KEY_LEN);
    rc = ts_buf_printf(out, "%02x%02x%02x%02x:%s\n", raw[0], raw[1], raw[2],
                       raw[3], (const char *)b64);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(b64, sizeof(b64));
    return rc;
}
