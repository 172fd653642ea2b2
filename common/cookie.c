/* The verification cookie, the client IP binding and device ids. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cookie.h"
#include "ts_err.h"

#define COOKIE_FIELDS 10
#define MAC_B64_LEN   43          /* base64url of 32 bytes */

enum { F_VER, F_KIND, F_USER, F_DEV, F_ISSUED, F_EXPIRES, F_BIND, F_EPOCH,
       F_KID, F_MAC };

typedef struct {
    const char *p;
    size_t      n;
} span;

/* ---- shared checks ------------------------------------------------------- */

static int
cookie_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Binding strings are printable ASCII without spaces ("192.0.2.0/24", "*"). */
static int
bind_valid(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > TS_BIND_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static int
device_valid(const char *s, size_t n)
{
    uint8_t raw[16];
    size_t len = 0;

    return n == TS_DEVICE_LEN &&
           ts_b64url_decode(s, n, raw, sizeof(raw), &len) == TS_OK &&
           len == sizeof(raw);
}

/* Strict unsigned decimal: 1..20 digits, no sign, no leading zero (so each
 * number has one spelling and a cookie re-encodes to the same bytes), no
 * overflow past max. */
static int
parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return TS_EINVAL;
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return TS_EINVAL;
        if (v > (max - d) / 10)
            return TS_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return TS_OK;
}

/* ---- encode -------------------------------------------------------------- */

static int
cookie_fields_valid(const ts_cookie *c)
{
    size_t devlen = strnlen(c->device, sizeof(c->device));
    size_t bindlen = strnlen(c->bind, sizeof(c->bind));

    if (c->kind != TS_COOKIE_SESSION && c->kind != TS_COOKIE_DEVICE)
        return 0;
    if (c->user_len == 0 || c->user_len > TS_USER_MAX ||
        memchr(c->user, '\0', c->user_len) != NULL)
        return 0;
    if (c->kind == TS_COOKIE_DEVICE ? !device_valid(c->device, devlen)
                                    : devlen != 0)
        return 0;
    if (c->issued < 0 || c->expires < 0)
        return 0;
    return bind_valid(c->bind, bindlen);
}

int
ts_cookie_encode(const ts_keyring *kr, const ts_cookie *c, ts_buf *out)
{
    ts_buf b;
    uint8_t mac[32];
    int rc;

    if (kr == NULL || kr->n == 0 || c == NULL || out == NULL ||
        !cookie_fields_valid(c))
        return TS_EINVAL;
    ts_buf_init(&b);
    ts_buf_printf(&b, "1.%c.", (char)c->kind);
    ts_b64url_encode((const uint8_t *)c->user, c->user_len, &b);
    ts_buf_printf(&b, ".%s.%lld.%lld.",
                  c->kind == TS_COOKIE_DEVICE ? c->device : "-",
                  (long long)c->issued, (long long)c->expires);
    ts_b64url_encode((const uint8_t *)c->bind, strlen(c->bind), &b);
    ts_buf_printf(&b, ".%llu.%s", (unsigned long long)c->epoch,
                  kr->keys[0].id);
    if (b.oom) {
        ts_buf_free(&b);
        return TS_ENOMEM;
    }
    rc = ts_hmac_sha256(kr->keys[0].cookie, b.data, b.len, mac);
    if (rc == TS_OK) {
        ts_buf_putc(&b, '.');
        rc = ts_b64url_encode(mac, sizeof(mac), &b);
    }
    if (rc == TS_OK && b.len > TS_COOKIE_MAX)
        rc = TS_ETOOBIG;
    if (rc == TS_OK)
        rc = ts_buf_put(out, b.data, b.len);
    ts_buf_free(&b);
    return rc;
}

/* ---- decode -------------------------------------------------------------- */

/* Splits into exactly COOKIE_FIELDS non-empty fields. */
static int
split_fields(const char *val, size_t n, span f[COOKIE_FIELDS])
{
    size_t i, start = 0, k = 0;

    for (i = 0; i <= n; i++) {
        if (i < n && val[i] != '.')
            continue;
        if (k == COOKIE_FIELDS || i == start)
            return TS_EINVAL;
        f[k].p = val + start;
        f[k].n = i - start;
        k++;
        start = i + 1;
    }
    return k == COOKIE_FIELDS ? TS_OK : TS_EINVAL;
}

/* Checks the MAC with the key the cookie names, in constant time. */
static int
check_mac(const ts_keyring *kr, const char *val, const span f[COOKIE_FIELDS],
          ts_cookie *c)
{
    const ts_key *k;
    uint8_t want[32], got[32];
    size_t len = 0;
    int rc;

    if (f[F_KID].n > TS_KEYID_MAX || f[F_MAC].n != MAC_B64_LEN)
        return TS_EINVAL;
    if (ts_b64url_decode(f[F_MAC].p, f[F_MAC].n, got, sizeof(got), &len)
        != TS_OK || len != sizeof(got))
        return TS_EINVAL;
    k = ts_keyring_find(kr, f[F_KID].p, f[F_KID].n);
    if (k == NULL)
        return TS_ENOTFOUND;
    rc = ts_hmac_sha256(k->cookie, val, (size_t)(f[F_MAC].p - 1 - val), want);
    if (rc != TS_OK)
        return rc;
    if (CRYPTO_memcmp(want, got, sizeof(want)) != 0)
        return TS_EMISMATCH;
    memcpy(c->kid, f[F_KID].p, f[F_KID].n);
    c->kid[f[F_KID].n] = '\0';
    return TS_OK;
}

static int
decode_user(const span *f, ts_cookie *c)
{
    size_t len = 0;

    if (ts_b64url_decode(f->p, f->n, (uint8_t *)c->user, TS_USER_MAX, &len)
        != TS_OK || len == 0 || memchr(c->user, '\0', len) != NULL)
        return TS_EINVAL;
    c->user[len] = '\0';
    c->user_len = len;
    return TS_OK;
}

static int
decode_bind(const span *f, ts_cookie *c)
{
    size_t len = 0;

    if (ts_b64url_decode(f->p, f->n, (uint8_t *)c->bind, TS_BIND_MAX, &len)
        != TS_OK || !bind_valid(c->bind, len))
        return TS_EINVAL;
    c->bind[len] = '\0';
    return TS_OK;
}

static int
decode_kind_device(const span f[COOKIE_FIELDS], ts_cookie *c)
{
    if (f[F_KIND].n != 1)
        return TS_EINVAL;
    if (f[F_KIND].p[0] == 's') {
        c->kind = TS_COOKIE_SESSION;
        if (f[F_DEV].n != 1 || f[F_DEV].p[0] != '-')
            return TS_EINVAL;
        c->device[0] = '\0';
        return TS_OK;
    }
    if (f[F_KIND].p[0] != 'd' || !device_valid(f[F_DEV].p, f[F_DEV].n))
        return TS_EINVAL;
    c->kind = TS_COOKIE_DEVICE;
    memcpy(c->device, f[F_DEV].p, TS_DEVICE_LEN);
    c->device[TS_DEVICE_LEN] = '\0';
    return TS_OK;
}

static int
decode_fields(const span f[COOKIE_FIELDS], ts_cookie *c)
{
    uint64_t issued, expires, epoch;

    if (f[F_VER].n != 1 || f[F_VER].p[0] != '1')
        return TS_EINVAL;
    if (decode_kind_device(f, c) != TS_OK ||
        decode_user(&f[F_USER], c) != TS_OK ||
        decode_bind(&f[F_BIND], c) != TS_OK ||
        parse_decimal(f[F_ISSUED].p, f[F_ISSUED].n, INT64_MAX, &issued)
        != TS_OK ||
        parse_decimal(f[F_EXPIRES].p, f[F_EXPIRES].n, INT64_MAX, &expires)
        != TS_OK ||
        parse_decimal(f[F_EPOCH].p, f[F_EPOCH].n, UINT64_MAX, &epoch)
        != TS_OK)
        return TS_EINVAL;
    c->issued = (int64_t)issued;
    c->expires = (int64_t)expires;
    c->epoch = epoch;
    return TS_OK;
}

int
ts_cookie_decode(const ts_keyring *kr, const char *val, size_t n,
                 ts_cookie *out)
{
    span f[COOKIE_FIELDS];
    ts_cookie c;
    size_t i;
    int rc;

    if (kr == NULL || val == NULL || out == NULL || n > TS_COOKIE_MAX)
        return TS_EINVAL;
    for (i = 0; i < n; i++)
        if (!cookie_char((unsigned char)val[i]))
            return TS_EINVAL;
    if (split_fields(val, n, f) != TS_OK)
        return TS_EINVAL;
    memset(&c, 0, sizeof(c));
    /* Authenticate first: nothing of an unauthenticated value is parsed
     * beyond its shape. */
    rc = check_mac(kr, val, f, &c);
    if (rc != TS_OK)
        return rc;
    rc = decode_fields(f, &c);
    if (rc != TS_OK)
        return rc;
    *out = c;
    return TS_OK;
}

/* ---- IP binding ---------------------------------------------------------- */

static void
mask_bits(uint8_t *addr, size_t len, int bits)
{
    size_t i;

    for (i = 0; i < len; i++) {
        int keep = bits - (int)(i * 8);
        if (keep >= 8)
            continue;
        addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
}

int
ts_ip_binding(const ts_bindip *b, const char *ip, char *out, size_t cap)
{
    union { struct in6_addr v6; uint8_t b[16]; } u;
    uint8_t *a = u.b;
    char text[INET6_ADDRSTRLEN];
    int af, bits, n;

    if (b == NULL || out == NULL || cap == 0)
        return TS_EINVAL;
    out[0] = '\0';
    if (b->mode == TS_BIND_OFF) {
        /* No binding: the address does not matter, so is not even parsed. */
        if (cap < 2)
            return TS_ETOOBIG;
        memcpy(out, "*", 2);
        return TS_OK;
    }
    if (b->mode != TS_BIND_EXACT && b->mode != TS_BIND_PREFIX)
        return TS_EINVAL;
    if (ip == NULL || strnlen(ip, INET6_ADDRSTRLEN) >= INET6_ADDRSTRLEN)
        return TS_EINVAL;
    if (inet_pton(AF_INET, ip, a) == 1) {
        af = AF_INET;
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        af = AF_INET6;
        if (IN6_IS_ADDR_V4MAPPED(&u.v6)) {
            /* ::ffff:a.b.c.d is the IPv4 client of a dual-stack socket. */
            memmove(a, a + 12, 4);
            af = AF_INET;
        }
    } else {
        return TS_EINVAL;
    }
    bits = af == AF_INET ? b->v4bits : b->v6bits;
    if (b->mode == TS_BIND_PREFIX) {
        if (bits < 0 || bits > (af == AF_INET ? 32 : 128))
            return TS_EINVAL;
        mask_bits(a, af == AF_INET ? 4 : 16, bits);
    }
    if (inet_ntop(af, a, text, sizeof(text)) == NULL)
        return TS_EINVAL;
    if (b->mode == TS_BIND_PREFIX)
        n = snprintf(out, cap, "%s/%d", text, bits);
    else
        n = snprintf(out, cap, "%s", text);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return TS_ETOOBIG;
    }
    return TS_OK;
}

int
ts_device_id_new(char out[TS_DEVICE_LEN + 1])
{
    uint8_t raw[16];
    ts_buf b;
    int rc;

    out[0] = '\0';
    rc = ts_random(raw, sizeof(raw));
    if (rc != TS_OK)
        return rc;
    ts_buf_init(&b);
    rc = ts_b64url_encode(raw, sizeof(raw), &b);
    if (rc == TS_OK && b.len != TS_DEVICE_LEN)
        rc = TS_ECRYPTO;
    if (rc == TS_OK)
        memcpy(out, b.data, TS_DEVICE_LEN + 1);
    ts_buf_free(&b);
    return rc;
}
