/* CSRF tokens bound to the user and to a time. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cookie.h"   /* TS_USER_MAX */
#include "csrf.h"
#include "ts_err.h"

#define CSRF_FUTURE_SLACK 300      /* clocks of several servers differ */
#define CSRF_MAC_B64      43

/* HMAC(csrf sub-key, "csrf|" user "|" ISSUED). ISSUED is digits only and
 * last, so no two (user, issued) pairs give the same message. */
static int
csrf_mac(const ts_key *k, const char *user, size_t user_len,
         const char *issued, size_t issued_len, uint8_t mac[32])
{
    char msg[5 + TS_USER_MAX + 1 + 20];

    if (user_len > TS_USER_MAX || issued_len > 20)
        return TS_ETOOBIG;
    memcpy(msg, "csrf|", 5);
    memcpy(msg + 5, user, user_len);
    msg[5 + user_len] = '|';
    memcpy(msg + 6 + user_len, issued, issued_len);
    return ts_hmac_sha256(k->csrf, msg, 6 + user_len + issued_len, mac);
}

int
ts_csrf_make(const ts_keyring *kr, const char *user, size_t user_len,
             int64_t now, char out[TS_CSRF_MAX + 1])
{
    char issued[24];
    uint8_t mac[32];
    ts_buf b;
    int n, rc;

    if (out != NULL)
        out[0] = '\0';
    if (kr == NULL || kr->n == 0 || user == NULL || user_len == 0 ||
        out == NULL || now < 0)
        return TS_EINVAL;
    n = snprintf(issued, sizeof(issued), "%lld", (long long)now);
    rc = csrf_mac(&kr->keys[0], user, user_len, issued, (size_t)n, mac);
    if (rc != TS_OK)
        return rc;
    ts_buf_init(&b);
    ts_buf_printf(&b, "%s.%s.", issued, kr->keys[0].id);
    rc = ts_b64url_encode(mac, sizeof(mac), &b);
    if (rc == TS_OK && b.len > TS_CSRF_MAX)
        rc = TS_ETOOBIG;
    if (rc == TS_OK)
        memcpy(out, b.data, b.len + 1);
    ts_buf_free(&b);
    return rc;
}

/* Strict decimal: digits only, no leading zero, at most INT64_MAX. */
static int
parse_issued(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    size_t i;

    if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return TS_EINVAL;
    for (i = 0; i < n; i++) {
        int d = (unsigned char)s[i] - '0';
        if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
            return TS_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return TS_OK;
}

static int
csrf_time_ok(int64_t issued, int64_t now)
{
    if (now < 0)
        return 0;
    /* Both are non-negative here, so the differences cannot overflow. */
    if (issued > now)
        return issued - now <= CSRF_FUTURE_SLACK;
    return now - issued <= TS_CSRF_LIFETIME;
}

int
ts_csrf_check(const ts_keyring *kr, const char *user, size_t user_len,
              int64_t now, const char *token, size_t n)
{
    const char *dot1, *dot2;
    const ts_key *k;
    uint8_t want[32], got[32];
    size_t len = 0;
    int64_t issued;
    int rc;

    if (kr == NULL || user == NULL || user_len == 0 || token == NULL ||
        n > TS_CSRF_MAX)
        return TS_EINVAL;
    dot1 = memchr(token, '.', n);
    dot2 = dot1 ? memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - token)) : NULL;
    if (dot2 == NULL ||
        parse_issued(token, (size_t)(dot1 - token), &issued) != TS_OK ||
        n - (size_t)(dot2 + 1 - token) != CSRF_MAC_B64 ||
        ts_b64url_decode(dot2 + 1, CSRF_MAC_B64, got, sizeof(got), &len)
        != TS_OK || len != sizeof(got))
        return TS_EINVAL;
    k = ts_keyring_find(kr, dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (k == NULL)
        return TS_EMISMATCH;       /* a key rotated away, or a forgery */
    rc = csrf_mac(k, user, user_len, token, (size_t)(dot1 - token), want);
    if (rc == TS_ETOOBIG)
        return TS_EMISMATCH;       /* no token is ever made for such a user */
    if (rc != TS_OK)
        return rc;
    if (CRYPTO_memcmp(want, got, sizeof(want)) != 0)
        return TS_EMISMATCH;
    return csrf_time_ok(issued, now) ? TS_OK : TS_EEXPIRED;
}
