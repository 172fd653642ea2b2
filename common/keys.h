/* The key file and the keys derived from it.
 *
 * Key file: one key per line, "KEYID:BASE64" where KEYID is 1..16 characters
 * of [A-Za-z0-9_-] and BASE64 (standard alphabet, padding optional) decodes to
 * exactly 32 random bytes. '#' starts a comment line; blank lines are ignored.
 * The first key signs and seals; every key verifies and opens, so a rotation
 * is: put a new line first, reload, later drop the old line.
 * Sub-keys are derived from each master key with HKDF-SHA256 (salt
 * "twostep v1", info naming the purpose) so one purpose's key never serves
 * another. */
#ifndef TS_KEYS_H
#define TS_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include "ts_buf.h"

#define TS_KEY_LEN     32
#define TS_KEYID_MAX   16
#define TS_KEYRING_MAX 16

typedef struct {
    char    id[TS_KEYID_MAX + 1];
    uint8_t seal[TS_KEY_LEN];     /* AES-256-GCM key for secrets at rest */
    uint8_t cookie[TS_KEY_LEN];   /* HMAC-SHA256 of cookies */
    uint8_t csrf[TS_KEY_LEN];     /* HMAC-SHA256 of CSRF tokens */
    uint8_t backup[TS_KEY_LEN];   /* HMAC-SHA256 of backup codes at rest */
} ts_key;

typedef struct {
    ts_key keys[TS_KEYRING_MAX];
    size_t n;                     /* >= 1 after a successful load */
} ts_keyring;

/* Parses key-file text. On failure err names the line and the problem
 * ("line 3: key is 16 bytes, needs 32"). Duplicate key ids are refused. */
int ts_keyring_parse(const char *text, size_t n, ts_keyring *kr,
                     char *err, size_t errlen);
/* Reads and parses a file. Refuses files readable or writable by "other"
 * (mode & 007) with a message saying to chmod 640/600. */
int ts_keyring_load(const char *path, ts_keyring *kr, char *err, size_t errlen);
/* Wipes the key material. */
void ts_keyring_clear(ts_keyring *kr);
const ts_key *ts_keyring_find(const ts_keyring *kr, const char *id, size_t idlen);

/* Appends one new key-file line "KEYID:BASE64\n" with a random 8-hex-digit id. */
int ts_keygen_line(ts_buf *out);

/* Cryptographically secure random bytes (OpenSSL RAND_bytes). */
int ts_random(void *buf, size_t n);

/* HMAC-SHA256 helper used by cookies, CSRF and backup codes. */
int ts_hmac_sha256(const uint8_t key[TS_KEY_LEN], const void *msg, size_t n,
                   uint8_t mac[32]);

/* base64url without padding, and its decoder (strict: refuses '=' and
 * characters outside the alphabet). */
int ts_b64url_encode(const uint8_t *in, size_t n, ts_buf *out);
int ts_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                     size_t *outlen);

#endif
