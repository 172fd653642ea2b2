/* Fuzz target: cookie decoding and IP binding strings.
 *
 * Input starting with 'S' is a cookie body without its MAC: the harness signs
 * it with key "ka" so the fuzzer reaches the field parser behind the MAC
 * check. Any other input is decoded as it is. Properties:
 *   - nothing crashes, hangs or reads out of bounds;
 *   - a value that decodes re-encodes, under the key it names, to exactly the
 *     same bytes (one spelling per cookie: no malleability);
 *   - the input read as a client address: an exact binding is a fixed point
 *     (binding its own text gives the same text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "keys.h"
#include "ts_buf.h"
#include "ts_err.h"

static const char ring_ab_text[] =
    "ka:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    "kb:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n";
static const char ring_ba_text[] =
    "kb:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n"
    "ka:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
load_rings(ts_keyring *ab, ts_keyring *ba)
{
    if (ts_keyring_parse(ring_ab_text, strlen(ring_ab_text), ab, NULL, 0)
        != TS_OK ||
        ts_keyring_parse(ring_ba_text, strlen(ring_ba_text), ba, NULL, 0)
        != TS_OK)
        abort();
}

/* The value to decode: the input itself, or the input signed with "ka". */
static void
make_value(const ts_keyring *ab, const uint8_t *data, size_t size, ts_buf *v)
{
    uint8_t mac[32];

    if (size > 0 && data[0] == 'S') {
        if (ts_hmac_sha256(ab->keys[0].cookie, data + 1, size - 1, mac)
            != TS_OK)
            abort();
        ts_buf_put(v, data + 1, size - 1);
        ts_buf_putc(v, '.');
        ts_b64url_encode(mac, sizeof(mac), v);
    } else {
        ts_buf_put(v, data, size);
    }
    if (v->oom)
        abort();
}

static void
check_reencode(const ts_keyring *ab, const ts_keyring *ba, const ts_buf *v)
{
    ts_cookie c;
    ts_buf again;
    const ts_keyring *signer;

    if (ts_cookie_decode(ab, v->data, v->len, &c) != TS_OK)
        return;
    if (c.user_len == 0 || c.user_len > TS_USER_MAX || c.user[c.user_len])
        abort();
    signer = strcmp(c.kid, "ka") == 0 ? ab : ba;
    ts_buf_init(&again);
    if (ts_cookie_encode(signer, &c, &again) != TS_OK ||
        again.len != v->len || memcmp(again.data, v->data, v->len) != 0)
        abort();
    ts_buf_free(&again);
}

static void
check_binding(const uint8_t *data, size_t size)
{
    static const ts_bindip exact = { .mode = TS_BIND_EXACT };
    static const ts_bindip pfx = { .mode = TS_BIND_PREFIX, .v4bits = 24,
                                   .v6bits = 64 };
    char ip[80], out[TS_BIND_MAX + 1], again[TS_BIND_MAX + 1];

    if (size >= sizeof(ip))
        return;
    memcpy(ip, data, size);
    ip[size] = '\0';
    if (ts_ip_binding(&pfx, ip, out, sizeof(out)) == TS_OK && !strchr(out, '/'))
        abort();
    if (ts_ip_binding(&exact, ip, out, sizeof(out)) != TS_OK)
        return;
    if (ts_ip_binding(&exact, out, again, sizeof(again)) != TS_OK ||
        strcmp(out, again) != 0)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Parsed once: key derivation per input would dominate the run time. */
    static ts_keyring ab, ba;
    static int loaded;
    ts_buf v;

    if (size > 4 * TS_COOKIE_MAX)
        return 0;
    if (!loaded) {
        load_rings(&ab, &ba);
        loaded = 1;
    }
    ts_buf_init(&v);
    make_value(&ab, data, size, &v);
    check_reencode(&ab, &ba, &v);
    ts_buf_free(&v);
    check_binding(data, size);
    return 0;
}
