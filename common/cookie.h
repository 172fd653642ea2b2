/* The verification cookie.
 *
 * Value: "1.K.USER.DEV.ISSUED.EXPIRES.BIND.EPOCH.KEYID.MAC" where
 *   1       format version
 *   K       's' session (no trust) or 'd' trusted device
 *   USER    base64url of the user name
 *   DEV     device id (base64url, 22 chars) for 'd', "-" for 's'
 *   ISSUED, EXPIRES  unix seconds, decimal
 *   BIND    base64url of the IP binding string (see ts_ip_binding)
 *   EPOCH   the user's epoch when issued (decimal); a disable or reset bumps
 *           the epoch and so kills every older cookie
 *   KEYID   id of the key that signed
 *   MAC     base64url HMAC-SHA256 with that key's cookie sub-key over every
 *           byte before ".MAC"
 * The value uses only [A-Za-z0-9._-], safe in a cookie without quoting. */
#ifndef TS_COOKIE_H
#define TS_COOKIE_H

#include <stddef.h>
#include <stdint.h>
#include "keys.h"
#include "ts_buf.h"

#define TS_USER_MAX    256
#define TS_DEVICE_LEN  22          /* base64url of 16 random bytes */
#define TS_BIND_MAX    64
#define TS_COOKIE_MAX  1024        /* longer values are refused unread */

typedef enum { TS_COOKIE_SESSION = 's', TS_COOKIE_DEVICE = 'd' } ts_cookie_kind;

typedef struct {
    ts_cookie_kind kind;
    char     user[TS_USER_MAX + 1];
    size_t   user_len;
    char     device[TS_DEVICE_LEN + 1];  /* "" for session cookies */
    int64_t  issued;
    int64_t  expires;
    char     bind[TS_BIND_MAX + 1];
    uint64_t epoch;
    char     kid[TS_KEYID_MAX + 1];      /* set by decode */
} ts_cookie;

/* Signs with kr->keys[0]. */
int ts_cookie_encode(const ts_keyring *kr, const ts_cookie *c, ts_buf *out);
/* Parses and authenticates (MAC compared in constant time, against the key
 * named by KEYID). Does not look at time, user or binding: the caller
 * compares those. TS_EINVAL malformed, TS_ENOTFOUND unknown key id,
 * TS_EMISMATCH bad MAC. */
int ts_cookie_decode(const ts_keyring *kr, const char *val, size_t n,
                     ts_cookie *out);

/* IP binding modes (TwoStepBindIP). */
typedef struct {
    enum { TS_BIND_EXACT = 0, TS_BIND_PREFIX = 1, TS_BIND_OFF = 2 } mode;
    int v4bits;   /* 0..32, for PREFIX */
    int v6bits;   /* 0..128, for PREFIX */
} ts_bindip;

/* The binding string for a client address under a mode: EXACT gives the
 * canonical address ("192.0.2.7", "2001:db8::1"; an IPv4-mapped IPv6
 * address counts as IPv4), PREFIX the masked network ("192.0.2.0/24",
 * "2001:db8::/64"), OFF "*". TS_EINVAL for an unparsable address. */
int ts_ip_binding(const ts_bindip *b, const char *ip, char *out, size_t cap);

/* Random device id: 16 bytes from ts_random, base64url, 22 chars + NUL. */
int ts_device_id_new(char out[TS_DEVICE_LEN + 1]);

#endif
