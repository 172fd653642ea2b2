/* HOTP (RFC 4226) and TOTP (RFC 6238).
 *
 * Small API in the spirit of liboath: generation, and verification that
 * returns the step that matched so the caller can refuse replays. */
#ifndef TS_OTP_H
#define TS_OTP_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TS_ALG_SHA1 = 0, TS_ALG_SHA256 = 1, TS_ALG_SHA512 = 2 } ts_alg;

#define TS_OTP_MIN_DIGITS 6
#define TS_OTP_MAX_DIGITS 8
#define TS_OTP_MIN_PERIOD 1
#define TS_OTP_MAX_PERIOD 300
#define TS_OTP_MAX_SKEW   10

/* "SHA1", "SHA256", "SHA512" (case-insensitive, "SHA-256" accepted too). */
int         ts_alg_parse(const char *s, ts_alg *out);
const char *ts_alg_name(ts_alg alg);          /* "SHA1", "SHA256", "SHA512" */

/* The HOTP value for `counter`, as a number below 10^digits.
 * TS_EINVAL for digits outside 6..8, an empty key or an unknown alg. */
int ts_hotp(const uint8_t *key, size_t keylen, ts_alg alg, uint64_t counter,
            int digits, uint32_t *code);

/* Writes the code zero-padded to `digits` characters plus NUL into out[9]. */
void ts_otp_format(uint32_t code, int digits, char out[9]);

/* The TOTP step for unix time `now` (seconds): floor(now / period).
 * -1 for a period below 1 (callers validate the period first). */
int64_t ts_totp_step(int64_t now, int period);

/* Checks `code` (exactly `digits` ASCII digits, nothing else) against the
 * steps now-skew .. now+skew. Every step of the window is computed and
 * compared in constant time, whether or not an earlier one matched, so the
 * time taken does not tell which step matched.
 * Returns 0 and sets *matched_step on a match; TS_EMISMATCH when no step of
 * the window matches; TS_EINVAL for a malformed code or parameters. When
 * two steps match, the latest is returned. */
int ts_totp_verify(const uint8_t *key, size_t keylen, ts_alg alg, int digits,
                   int period, int64_t now, int skew, const char *code,
                   size_t code_len, int64_t *matched_step);

/* Constant-time equality of two byte strings of the same length n.
 * A predicate, not an error code: returns 1 when equal, 0 otherwise. */
int ts_ct_equal(const void *a, const void *b, size_t n);

#endif
