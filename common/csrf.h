/* CSRF tokens bound to the user: "ISSUED.KEYID.MAC" where MAC is
 * HMAC-SHA256(csrf sub-key, "csrf|" user "|" ISSUED), base64url.
 * Valid for TS_CSRF_LIFETIME seconds after ISSUED (and not from the future
 * by more than 300 s). */
#ifndef TS_CSRF_H
#define TS_CSRF_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"

#define TS_CSRF_LIFETIME (12 * 3600)
#define TS_CSRF_MAX      96

int ts_csrf_make(const ts_keyring *kr, const char *user, size_t user_len,
                 int64_t now, char out[TS_CSRF_MAX + 1]);
/* 0 valid; TS_EMISMATCH wrong user/forged; TS_EEXPIRED too old;
 * TS_EINVAL malformed. */
int ts_csrf_check(const ts_keyring *kr, const char *user, size_t user_len,
                  int64_t now, const char *token, size_t n);

#endif
