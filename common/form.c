/* What browsers send: urlencoded forms and query strings, the Cookie header.
 *
 * Everything here reads attacker-controlled bytes, so every loop is bounded by
 * the given length (input need not be NUL-terminated) and every decoded string
 * is checked for NUL bytes: the rest of the core treats names and values as C
 * strings, and an embedded NUL would let two different inputs look equal. */
#include <string.h>

#include "form.h"
#include "ts_err.h"
#include "ts_text.h"

/* A Cookie header longer than this is refused unread (browsers cap a
 * request's headers far below this). */
#define TS_COOKIE_HDR_MAX (64 * 1024)

/* Decodes n bytes of s into out (room for n + 1 bytes, decoding never
 * grows). plus: '+' means a space (forms only). Returns the decoded length,
 * or -1 on a bad escape or a NUL byte, raw or decoded. */
static long
decode_into(char *out, const char *s, size_t n, int plus)
{
    size_t i, o = 0;
    int hi, lo;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            if (n - i < 3)
                return -1;
            hi = ts_hexval((unsigned char)s[i + 1]);
            lo = ts_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == '\0')
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

static char *
decode_arena(ts_arena *a, const char *s, size_t n, int plus, size_t *outlen)
{
    char *p;
    long len;

    p = ts_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    len = decode_into(p, s, n, plus);
    if (len < 0)
        return NULL;
    if (outlen)
        *outlen = (size_t)len;
    return p;
}

char *
ts_url_decode(ts_arena *a, const char *s, size_t n, size_t *outlen)
{
    if (s == NULL && n > 0)
        return NULL;
    return decode_arena(a, s ? s : "", n, 0, outlen);
}

/* One "name[=value]" piece, not empty. */
static int
form_piece(const char *p, size_t len, ts_arena *a, ts_field *f)
{
    const char *eq = memchr(p, '=', len);
    size_t nlen = eq ? (size_t)(eq - p) : len;
    const char *v = eq ? eq + 1 : p + len;
    size_t vlen = eq ? len - nlen - 1 : 0;
    char *name, *value;
    long dn, dv;

    name = ts_arena_alloc(a, nlen + 1);
    value = ts_arena_alloc(a, vlen + 1);
    if (name == NULL || value == NULL)
        return TS_ENOMEM;
    dn = decode_into(name, p, nlen, 1);
    dv = decode_into(value, v, vlen, 1);
    if (dn < 0 || dv < 0)
        return TS_EINVAL;
    f->name = name;
    f->name_len = (size_t)dn;
    f->value = value;
    f->value_len = (size_t)dv;
    return TS_OK;
}

int
ts_form_parse(const char *s, size_t n, ts_arena *a, ts_form *out)
{
    size_t i = 0, len;
    const char *amp;
    int rc;

    out->n = 0;
    if (n > TS_FORM_MAX_BYTES)
        return TS_ETOOBIG;
    if (s == NULL)
        return n ? TS_EINVAL : TS_OK;
    while (i < n) {
        amp = memchr(s + i, '&', n - i);
        len = amp ? (size_t)(amp - (s + i)) : n - i;
        if (len > 0) {
            if (out->n == TS_FORM_MAX_FIELDS) {
                rc = TS_EINVAL;
                goto fail;
            }
            rc = form_piece(s + i, len, a, &out->f[out->n]);
            if (rc != TS_OK)
                goto fail;
            out->n++;
        }
        i += len + 1;
    }
    return TS_OK;
fail:
    /* Never hand out half a form: a caller ignoring the error sees none. */
    out->n = 0;
    return rc;
}

const ts_field *
ts_form_get(const ts_form *f, const char *name)
{
    size_t i;

    if (f == NULL || name == NULL)
        return NULL;
    for (i = 0; i < f->n && i < TS_FORM_MAX_FIELDS; i++)
        if (strcmp(f->f[i].name, name) == 0)
            return &f->f[i];
    return NULL;
}

/* ---- Cookie header ------------------------------------------------------ */

static int
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Bytes a browser never puts in a Cookie header (RFC 6265 and 7230): control
 * characters other than HTAB, and DEL. */
static int
header_bad_byte(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Trims optional whitespace from both ends of [*p, *p + *len). */
static void
trim_ows(const char **p, size_t *len)
{
    while (*len > 0 && is_ows(**p)) {
        (*p)++;
        (*len)--;
    }
    while (*len > 0 && is_ows((*p)[*len - 1]))
        (*len)--;
}

/* Whether the pair [p, p + len) is named `name` (want bytes); if so, its
 * value with surrounding whitespace trimmed. */
static int
cookie_pair_match(const char *p, size_t len, const char *name, size_t want,
                  const char **v, size_t *vl)
{
    const char *eq = memchr(p, '=', len), *np = p;
    size_t nlen;

    /* A pair without '=' is a nameless cookie (document.cookie = "x" makes
     * one): not ours, and not a reason to refuse the whole header. */
    if (eq == NULL)
        return 0;
    nlen = (size_t)(eq - p);
    trim_ows(&np, &nlen);
    if (nlen != want || memcmp(np, name, want) != 0)
        return 0;
    *v = eq + 1;
    *vl = len - (size_t)(eq - p) - 1;
    trim_ows(v, vl);
    return 1;
}

/* The value of a matching pair, quotes removed. */
static int
cookie_value(const char *v, size_t vlen, const char **val, size_t *outlen)
{
    if (vlen > 0 && v[0] == '"') {
        if (vlen < 2 || v[vlen - 1] != '"')
            return TS_EINVAL;
        v++;
        vlen -= 2;
    }
    /* RFC 6265 cookie-octets exclude DQUOTE: a stray one is malformed. */
    if (memchr(v, '"', vlen) != NULL)
        return TS_EINVAL;
    *val = v;
    *outlen = vlen;
    return TS_OK;
}

int
ts_cookie_header_get(const char *hdr, size_t n, const char *name,
                     const char **val, size_t *vlen)
{
    size_t i, len, want, vl;
    const char *p, *semi, *vp;

    if (hdr == NULL || name == NULL || val == NULL || vlen == NULL)
        return TS_EINVAL;
    if (n > TS_COOKIE_HDR_MAX)
        return TS_EINVAL;
    for (i = 0; i < n; i++)
        if (header_bad_byte((unsigned char)hdr[i]))
            return TS_EINVAL;
    want = strlen(name);
    if (want == 0)
        return TS_EINVAL;
    for (i = 0; i < n; i += len + 1) {
        p = hdr + i;
        semi = memchr(p, ';', n - i);
        len = semi ? (size_t)(semi - p) : n - i;
        if (cookie_pair_match(p, len, name, want, &vp, &vl))
            return cookie_value(vp, vl, val, vlen);
    }
    return TS_ENOTFOUND;
}
