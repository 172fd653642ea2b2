/* otpauth://totp/ URIs: the Key Uri Format authenticator apps read.
 *
 * The label is ISSUER ":" ACCOUNT with a literal ':' separator; a ':' inside
 * either part is written %3A, so the parser can always split at the first
 * literal ':'. Every byte outside RFC 3986's unreserved set is escaped. */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "base32.h"
#include "otpauth.h"
#include "ts_err.h"
#include "ts_text.h"

#define OTPAUTH_MAX_URI 4096
#define OTPAUTH_PREFIX  "otpauth://"

static int
field_ok(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;   /* NUL-terminated in its array */
}

static int
params_ok(const ts_otpauth *p)
{
    return p->digits >= TS_OTP_MIN_DIGITS && p->digits <= TS_OTP_MAX_DIGITS &&
           p->period >= TS_OTP_MIN_PERIOD && p->period <= TS_OTP_MAX_PERIOD &&
           p->secret_len > 0 && p->secret_len <= TS_SECRET_MAX &&
           (p->alg == TS_ALG_SHA1 || p->alg == TS_ALG_SHA256 ||
            p->alg == TS_ALG_SHA512);
}

int
ts_otpauth_uri(const ts_otpauth *p, ts_buf *out)
{
    char b32[TS_SECRET_MAX * 8 / 5 + 2];
    size_t ilen, alen;

    if (p == NULL || out == NULL || !params_ok(p) ||
        !field_ok(p->issuer, sizeof(p->issuer)) ||
        !field_ok(p->account, sizeof(p->account)) || p->account[0] == '\0')
        return TS_EINVAL;
    if (ts_base32_encode(p->secret, p->secret_len, b32, sizeof(b32)) < 0)
        return TS_EINVAL;
    ilen = strlen(p->issuer);
    alen = strlen(p->account);
    ts_buf_puts(out, OTPAUTH_PREFIX "totp/");
    if (ilen > 0) {
        ts_buf_put_urlenc(out, p->issuer, ilen);
        ts_buf_putc(out, ':');
    }
    ts_buf_put_urlenc(out, p->account, alen);
    ts_buf_printf(out, "?secret=%s", b32);
    if (ilen > 0) {
        ts_buf_puts(out, "&issuer=");
        ts_buf_put_urlenc(out, p->issuer, ilen);
    }
    ts_buf_printf(out, "&algorithm=%s&digits=%d&period=%d",
                  ts_alg_name(p->alg), p->digits, p->period);
    return out->oom ? TS_ENOMEM : TS_OK;
}

/* ---- parsing ------------------------------------------------------------ */

static int
fail(const char **why, int rc, const char *msg)
{
    if (why)
        *why = msg;
    return rc;
}

/* Percent-decodes s[0..n) into out (cap bytes, NUL-terminated). In a query
 * value '+' means a space (form encoding); in the label it is itself. */
static int
pct_decode(const char *s, size_t n, int plus_space, char *out, size_t cap,
           const char **why)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int hi, lo;

            if (n - i < 3)
                return fail(why, TS_EINVAL, "A percent-escape is cut short.");
            hi = ts_hexval((unsigned char)s[i + 1]);
            lo = ts_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return fail(why, TS_EINVAL, "A percent-escape is not %XX hex.");
            c = (unsigned char)(hi << 4 | lo);
            if (c == '\0')
                return fail(why, TS_EINVAL, "A percent-escape encodes a NUL byte.");
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (o + 1 >= cap)
            return fail(why, TS_ETOOBIG, "A field of the URI is too long.");
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return TS_OK;
}

/* Finds where the label splits into issuer and account: the first literal
 * ':' or, from producers that escape it, a "%3A" whose prefix equals the
 * issuer parameter. Returns the offset of the separator and its length via
 * *seplen, or n when the whole label is the account. */
static size_t
label_split(const char *lab, size_t n, const char *issuer_param,
            size_t *seplen)
{
    const char *colon = memchr(lab, ':', n);
    char pre[256];
    size_t i;

    *seplen = 1;
    if (colon)
        return (size_t)(colon - lab);
    if (issuer_param == NULL)
        return n;
    for (i = 0; i + 3 <= n; i++) {
        if (lab[i] == '%' && lab[i + 1] == '3' &&
            (lab[i + 2] == 'A' || lab[i + 2] == 'a')) {
            if (pct_decode(lab, i, 0, pre, sizeof(pre), NULL) == TS_OK &&
                strcmp(pre, issuer_param) == 0) {
                *seplen = 3;
                return i;
            }
            break;
        }
    }
    return n;
}

static int
parse_uint(const char *s, int lo, int hi, int *out)
{
    long v = 0;
    size_t i, n = strlen(s);

    if (n == 0 || n > 4)
        return TS_EINVAL;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return TS_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return TS_EINVAL;
    *out = (int)v;
    return TS_OK;
}

/* What the query gave; the strings point into one decoding buffer. */
typedef struct {
    char  secret[256];
    char  issuer[256];
    char  alg[16];
    char  digits[8];
    char  period[8];
    int   have_secret, have_issuer, have_alg, have_digits, have_period;
} otp_query;

/* Stores one key=value pair into q. Unknown keys are ignored (apps add
 * "image", "color"...); a known key given twice is refused. */
static int
query_pair(const char *k, size_t kn, const char *v, size_t vn, otp_query *q,
           const char **why)
{
    static const struct { const char *name; size_t off, cap, flag; } keys[] = {
        { "secret", offsetof(otp_query, secret), sizeof(((otp_query *)0)->secret),
          offsetof(otp_query, have_secret) },
        { "issuer", offsetof(otp_query, issuer), sizeof(((otp_query *)0)->issuer),
          offsetof(otp_query, have_issuer) },
        { "algorithm", offsetof(otp_query, alg), sizeof(((otp_query *)0)->alg),
          offsetof(otp_query, have_alg) },
        { "digits", offsetof(otp_query, digits), sizeof(((otp_query *)0)->digits),
          offsetof(otp_query, have_digits) },
        { "period", offsetof(otp_query, period), sizeof(((otp_query *)0)->period),
          offsetof(otp_query, have_period) },
    };
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        int *flag;
        int rc;

        if (strlen(keys[i].name) != kn || strncasecmp(k, keys[i].name, kn) != 0)
            continue;
        flag = (int *)((char *)q + keys[i].flag);
        if (*flag)
            return fail(why, TS_EINVAL, "A parameter of the URI is repeated.");
        rc = pct_decode(v, vn, 1, (char *)q + keys[i].off, keys[i].cap, why);
        if (rc == TS_ETOOBIG)
            return fail(why, TS_EINVAL, "A parameter of the URI has an "
                                        "over-long or unknown value.");
        if (rc != TS_OK)
            return rc;
        *flag = 1;
        return TS_OK;
    }
    return TS_OK;
}

static int
parse_query(const char *s, size_t n, otp_query *q, const char **why)
{
    size_t i = 0;

    while (i < n) {
        const char *seg = s + i, *amp = memchr(seg, '&', n - i), *eq;
        size_t sn = amp ? (size_t)(amp - seg) : n - i;
        int rc;

        i += sn + 1;
        if (sn == 0)
            continue;                           /* "&&" or a trailing '&' */
        eq = memchr(seg, '=', sn);
        if (eq == NULL)
            return fail(why, TS_EINVAL, "A parameter of the URI has no '='.");
        rc = query_pair(seg, (size_t)(eq - seg), eq + 1,
                        sn - (size_t)(eq - seg) - 1, q, why);
        if (rc != TS_OK)
            return rc;
    }
    return TS_OK;
}

/* Applies the query to r: secret, parameters (SHA1/6/30 when absent). */
static int
apply_query(const otp_query *q, ts_otpauth *r, const char **why)
{
    int rc;

    if (!q->have_secret || q->secret[0] == '\0')
        return fail(why, TS_EINVAL, "The URI has no secret.");
    rc = ts_base32_decode(q->secret, strlen(q->secret), r->secret,
                          sizeof(r->secret), &r->secret_len, why);
    if (rc == TS_ETOOBIG)
        return fail(why, TS_EINVAL, "The secret is longer than 64 bytes.");
    if (rc != TS_OK)
        return rc;
    r->alg = TS_ALG_SHA1;
    r->digits = 6;
    r->period = 30;
    if (q->have_alg && ts_alg_parse(q->alg, &r->alg) != TS_OK)
        return fail(why, TS_EINVAL, "The algorithm is not SHA1, SHA256 or SHA512.");
    if (q->have_digits &&
        parse_uint(q->digits, TS_OTP_MIN_DIGITS, TS_OTP_MAX_DIGITS,
                   &r->digits) != TS_OK)
        return fail(why, TS_EINVAL, "Digits must be 6, 7 or 8.");
    if (q->have_period &&
        parse_uint(q->period, TS_OTP_MIN_PERIOD, TS_OTP_MAX_PERIOD,
                   &r->period) != TS_OK)
        return fail(why, TS_EINVAL, "The period must be 1 to 300 seconds.");
    return TS_OK;
}

/* Splits the label and reconciles its issuer with the issuer parameter. */
static int
parse_label(const char *lab, size_t n, const otp_query *q, ts_otpauth *r,
            const char **why)
{
    size_t seplen, cut = label_split(lab, n, q->have_issuer ? q->issuer : NULL,
                                     &seplen);
    int rc;

    if (cut < n) {
        rc = pct_decode(lab, cut, 0, r->issuer, sizeof(r->issuer), why);
        if (rc != TS_OK)
            return rc;
        lab += cut + seplen;
        n -= cut + seplen;
    }
    rc = pct_decode(lab, n, 0, r->account, sizeof(r->account), why);
    if (rc != TS_OK)
        return rc;
    if (r->account[0] == '\0')
        return fail(why, TS_EINVAL, "The URI names no account.");
    if (q->have_issuer) {
        if (r->issuer[0] != '\0' && strcmp(r->issuer, q->issuer) != 0)
            return fail(why, TS_EINVAL, "The issuer in the label and the "
                                        "issuer parameter differ.");
        memcpy(r->issuer, q->issuer, sizeof(r->issuer));
    }
    return TS_OK;
}

/* Checks the raw text: bounded, printable ASCII only (a URI carries
 * everything else percent-encoded), the right scheme and type. Returns the
 * offset of the label. */
static int
check_head(const char *uri, size_t n, size_t *label_at, const char **why)
{
    static const char totp[] = "totp/";
    size_t i, plen = sizeof(OTPAUTH_PREFIX) - 1;

    if (n > OTPAUTH_MAX_URI)
        return fail(why, TS_ETOOBIG, "The URI is too long.");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)uri[i];
        if (c == '\0')
            return fail(why, TS_EINVAL, "The URI contains a NUL byte.");
        if (c <= 0x20 || c >= 0x7f)
            return fail(why, TS_EINVAL, "The URI contains a space, control or "
                                        "non-ASCII byte that is not escaped.");
        if (c == '#')
            return fail(why, TS_EINVAL, "The URI contains an unescaped '#'.");
    }
    if (n < plen || strncasecmp(uri, OTPAUTH_PREFIX, plen) != 0)
        return fail(why, TS_EINVAL, "The URI does not start with otpauth://.");
    if (n - plen >= 5 && strncasecmp(uri + plen, "hotp/", 5) == 0)
        return fail(why, TS_EINVAL, "Only time-based (totp) codes are supported.");
    if (n - plen < sizeof(totp) - 1 ||
        strncasecmp(uri + plen, totp, sizeof(totp) - 1) != 0)
        return fail(why, TS_EINVAL, "The URI is not otpauth://totp/.");
    *label_at = plen + sizeof(totp) - 1;
    return TS_OK;
}

int
ts_otpauth_parse(const char *uri, size_t n, ts_otpauth *out, const char **why)
{
    otp_query q;
    ts_otpauth r;
    const char *qm;
    size_t at, lab_n;
    int rc;

    if (uri == NULL || out == NULL)
        return fail(why, TS_EINVAL, "No URI was given.");
    rc = check_head(uri, n, &at, why);
    if (rc != TS_OK)
        return rc;
    memset(&q, 0, sizeof(q));
    memset(&r, 0, sizeof(r));
    qm = memchr(uri + at, '?', n - at);
    lab_n = qm ? (size_t)(qm - (uri + at)) : n - at;
    if (qm) {
        rc = parse_query(qm + 1, n - at - lab_n - 1, &q, why);
        if (rc != TS_OK)
            return rc;
    }
    rc = apply_query(&q, &r, why);
    if (rc == TS_OK)
        rc = parse_label(uri + at, lab_n, &q, &r, why);
    if (rc == TS_OK)
        *out = r;
    OPENSSL_cleanse(&q, sizeof(q));      /* the secret's text */
    OPENSSL_cleanse(&r, sizeof(r));
    return rc;
}
