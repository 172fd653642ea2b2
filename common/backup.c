/* Backup codes: generation, normalisation of typed codes, keyed hashes. */
#include <string.h>

#include <openssl/crypto.h>

#include "backup.h"
#include "cookie.h"   /* TS_USER_MAX */
#include "ts_err.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Longest typed input looked at: a code with generous spacing. */
#define BACKUP_INPUT_MAX 64

static int
in_alphabet(char c)
{
    return c != '\0' && memchr(crockford, c, 32) != NULL;
}

/* One code in display form. Each character takes the low 5 bits of its own
 * random byte: 256 is a multiple of 32, so every character is uniform. */
static int
backup_one(char out[TS_BACKUP_SHOWN])
{
    uint8_t r[TS_BACKUP_CHARS];
    size_t i, o = 0;
    int rc = ts_random(r, sizeof(r));

    if (rc != TS_OK)
        return rc;
    for (i = 0; i < TS_BACKUP_CHARS; i++) {
        if (i == TS_BACKUP_CHARS / 2)
            out[o++] = '-';
        out[o++] = crockford[r[i] & 31];
    }
    out[o] = '\0';
    OPENSSL_cleanse(r, sizeof(r));
    return TS_OK;
}

static int
seen_before(char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN], size_t i)
{
    size_t j;

    for (j = 0; j < i; j++)
        if (strcmp(codes[j], codes[i]) == 0)
            return 1;
    return 0;
}

int
ts_backup_generate(char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN])
{
    size_t i;
    int rc, tries;

    if (codes == NULL)
        return TS_EINVAL;
    for (i = 0; i < TS_BACKUP_COUNT; i++) {
        /* A repeat (2^-50 per pair) would be one code that works once. */
        tries = 0;
        do {
            rc = backup_one(codes[i]);
            if (rc != TS_OK) {
                OPENSSL_cleanse(codes, TS_BACKUP_COUNT * TS_BACKUP_SHOWN);
                return rc;
            }
        } while (seen_before(codes, i) && ++tries < 8);
        if (seen_before(codes, i)) {
            OPENSSL_cleanse(codes, TS_BACKUP_COUNT * TS_BACKUP_SHOWN);
            return TS_ECRYPTO;     /* the random source is broken */
        }
    }
    return TS_OK;
}

static char
normalize_char(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    if (c == 'O')
        return '0';
    if (c == 'I' || c == 'L')
        return '1';
    return c;
}

int
ts_backup_normalize(const char *in, size_t n, char out[TS_BACKUP_CHARS + 1])
{
    size_t i, o = 0;

    if (out == NULL)
        return TS_EINVAL;
    out[0] = '\0';
    if (in == NULL || n > BACKUP_INPUT_MAX)
        return TS_EINVAL;
    for (i = 0; i < n; i++) {
        char c = in[i];
        if (c == ' ' || c == '\t' || c == '-')
            continue;
        c = normalize_char(c);
        if (!in_alphabet(c) || o == TS_BACKUP_CHARS) {
            out[0] = '\0';
            return TS_EINVAL;
        }
        out[o++] = c;
    }
    if (o != TS_BACKUP_CHARS) {
        out[0] = '\0';
        return TS_EINVAL;
    }
    out[o] = '\0';
    return TS_OK;
}

int
ts_backup_hash(const ts_key *k, const char *user, size_t user_len,
               const char norm[TS_BACKUP_CHARS + 1],
               char hex[TS_BACKUP_HASHHEX])
{
    static const char digits[] = "0123456789abcdef";
    char msg[TS_USER_MAX + 1 + TS_BACKUP_CHARS];
    uint8_t mac[32];
    size_t i;
    int rc;

    if (hex != NULL)
        hex[0] = '\0';
    if (k == NULL || user == NULL || user_len == 0 || norm == NULL ||
        hex == NULL)
        return TS_EINVAL;
    if (user_len > TS_USER_MAX)
        return TS_ETOOBIG;
    for (i = 0; i < TS_BACKUP_CHARS; i++)
        if (!in_alphabet(norm[i]))
            return TS_EINVAL;
    if (norm[TS_BACKUP_CHARS] != '\0')
        return TS_EINVAL;
    memcpy(msg, user, user_len);
    msg[user_len] = '|';
    memcpy(msg + user_len + 1, norm, TS_BACKUP_CHARS);
    rc = ts_hmac_sha256(k->backup, msg, user_len + 1 + TS_BACKUP_CHARS, mac);
    OPENSSL_cleanse(msg, sizeof(msg));
    if (rc != TS_OK)
        return rc;
    for (i = 0; i < sizeof(mac); i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[64] = '\0';
    return TS_OK;
}
