/* Telling a TOTP code from a backup code, and checking a TOTP code
 * against the user's sealed secret. */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"
#include "otp.h"
#include "otpauth.h"
#include "seal.h"
#include "ts_err.h"

static int
all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

/* Spaces people type inside a code ("123 456") are dropped. */
static size_t
strip_spaces(const char *in, char *out, size_t cap)
{
    size_t i, n = 0;

    for (i = 0; in[i] && n < cap - 1; i++)
        if (in[i] != ' ' && in[i] != '\t')
            out[n++] = in[i];
    out[n] = '\0';
    return n;
}

int
ts_code_kind(const ts_user_state *st, const char *code)
{
    char buf[64], norm[TS_BACKUP_CHARS + 1];
    size_t n;

    if (code == NULL || strlen(code) >= sizeof(buf))
        return 0;
    n = strip_spaces(code, buf, sizeof(buf));
    if (all_digits(buf, n) && (int)n == st->digits)
        return 1;
    if (ts_backup_normalize(code, strlen(code), norm) == 0)
        return 2;
    return 0;
}

int
ts_code_totp(ts_txn *t, const char *user, const ts_user_state *st,
             const char *code, int64_t *step)
{
    uint8_t secret[TS_SECRET_MAX];
    size_t slen = 0;
    char buf[64];
    size_t n;
    int rc;

    if (st->secret == NULL)
        return TS_ENOTFOUND;
    rc = ts_unseal(t->cfg->keys, user, strlen(user), st->secret,
                   st->secret_len, secret, sizeof(secret), &slen);
    if (rc != TS_OK) {
        ts_logf(t, TS_LOG_ERR, "cannot open the secret of \"%s\": %s "
                "(was the key file replaced instead of rotated?)", user,
                ts_strerror(rc));
        return rc;
    }
    n = strip_spaces(code, buf, sizeof(buf));
    rc = ts_totp_verify(secret, slen, (ts_alg)st->alg, st->digits,
                        st->period, ts_now_s(t), t->cfg->skew, buf, n, step);
    memset(secret, 0, sizeof(secret));
    return rc;
}
