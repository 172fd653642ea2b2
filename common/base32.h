/* Base32 (RFC 4648, alphabet A-Z2-7) for TOTP secrets. */
#ifndef TS_BASE32_H
#define TS_BASE32_H

#include <stddef.h>
#include <stdint.h>

/* Encodes without padding into out (NUL-terminated).
 * Needs cap >= ts_base32_encoded_len(n) + 1; returns the length written or
 * TS_ETOOBIG. */
size_t ts_base32_encoded_len(size_t n);
int    ts_base32_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/* Decodes a secret as people type or paste it: upper or lower case, spaces,
 * tabs and dashes anywhere are ignored, trailing '=' padding optional.
 * Anything else (another character, padding in the middle, a length that
 * cannot come from whole bytes, non-zero trailing bits, empty input) fails
 * with TS_EINVAL and *why names the problem in a short sentence.
 * TS_ETOOBIG when the result would not fit in cap bytes. */
int ts_base32_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                     size_t *outlen, const char **why);

/* Writes the secret grouped in fours separated by spaces ("ABCD EFGH ..."). */
int ts_base32_grouped(const char *b32, char *out, size_t cap);

#endif
