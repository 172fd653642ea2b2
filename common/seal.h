/* Sealing of TOTP secrets at rest: AES-256-GCM under the first key's seal
 * sub-key, a random 96-bit nonce, the user name as associated data.
 * Sealed text: "s1.KEYID.BASE64URL(nonce || ciphertext || tag)".
 * A sealed secret copied into another user's record does not open. */
#ifndef TS_SEAL_H
#define TS_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"
#include "ts_buf.h"

int ts_seal(const ts_keyring *kr, const char *user, size_t user_len,
            const uint8_t *plain, size_t n, ts_buf *out);
/* TS_ENOTFOUND: key id not in the ring (rotated away); TS_ECRYPTO: wrong
 * user, tampering or wrong key; TS_EINVAL: not sealed text. */
int ts_unseal(const ts_keyring *kr, const char *user, size_t user_len,
              const char *sealed, size_t n, uint8_t *out, size_t cap,
              size_t *outlen);

#endif
