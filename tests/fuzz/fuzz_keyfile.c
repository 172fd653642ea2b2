/* Fuzz target: key-file parsing and base64url decoding.
 * Properties: nothing crashes; a parsed ring holds 1..TS_KEYRING_MAX keys
 * with valid, distinct ids, each found by ts_keyring_find; a failed parse
 * leaves an empty ring and a message; base64url that decodes re-encodes to
 * the same text (the decoder is strict, one spelling per byte string). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "ts_buf.h"
#include "ts_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_ring(const ts_keyring *kr)
{
    size_t i, j;

    if (kr->n == 0 || kr->n > TS_KEYRING_MAX)
        abort();
    for (i = 0; i < kr->n; i++) {
        size_t len = strlen(kr->keys[i].id);
        if (len == 0 || len > TS_KEYID_MAX ||
            strspn(kr->keys[i].id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "abcdefghijklmnopqrstuvwxyz0123456789_-") != len ||
            ts_keyring_find(kr, kr->keys[i].id, len) != &kr->keys[i])
            abort();
        for (j = 0; j < i; j++)
            if (strcmp(kr->keys[i].id, kr->keys[j].id) == 0)
                abort();
    }
}

static void
check_b64url(const uint8_t *data, size_t size)
{
    uint8_t out[512];
    size_t len = 0;
    ts_buf b;

    if (ts_b64url_decode((const char *)data, size, out, sizeof(out), &len)
        != TS_OK)
        return;
    ts_buf_init(&b);
    if (ts_b64url_encode(out, len, &b) != TS_OK || b.len != size ||
        memcmp(b.data, data, size) != 0)
        abort();
    ts_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_keyring kr;
    char err[200];

    if (ts_keyring_parse((const char *)data, size, &kr, err, sizeof(err))
        == TS_OK)
        check_ring(&kr);
    else if (kr.n != 0 || err[0] == '\0')
        abort();
    ts_keyring_clear(&kr);
    check_b64url(data, size);
    return 0;
}
