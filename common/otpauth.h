/* otpauth://totp/ URIs (the Key Uri Format read by authenticator apps). */
#ifndef TS_OTPAUTH_H
#define TS_OTPAUTH_H

#include <stddef.h>
#include <stdint.h>
#include "otp.h"
#include "ts_buf.h"

#define TS_SECRET_MAX 64   /* bytes; 20 is what we generate for SHA1 */

typedef struct {
    char    issuer[256];
    char    account[256];     /* the user name */
    uint8_t secret[TS_SECRET_MAX];
    size_t  secret_len;
    ts_alg  alg;
    int     digits;
    int     period;
} ts_otpauth;

/* otpauth://totp/ISSUER:ACCOUNT?secret=B32&issuer=ISSUER&algorithm=A&digits=D&period=P
 * Label and issuer are percent-encoded (UTF-8 kept as escaped bytes; ':' in
 * the issuer or account escaped as %3A). algorithm/digits/period are always
 * written so every app sees the same parameters. */
int ts_otpauth_uri(const ts_otpauth *p, ts_buf *out);

/* Parses such a URI (also hardware-token import, and the tests' round trip).
 * Requires scheme otpauth, type totp, a secret; defaults SHA1/6/30 for
 * missing parameters; refuses unknown values, bad escapes, NUL bytes,
 * over-long fields. *why explains a failure. */
int ts_otpauth_parse(const char *uri, size_t n, ts_otpauth *out,
                     const char **why);

#endif
