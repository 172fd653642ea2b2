/* libFuzzer target: otpauth:// URI parsing of arbitrary bytes.
 * Property: whatever parses, rebuilds to a URI that parses to the same
 * fields, and rebuilding that gives the same text again (a fixed point). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otpauth.h"
#include "ts_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const ts_otpauth *a, const ts_otpauth *b)
{
    return strcmp(a->issuer, b->issuer) == 0 &&
           strcmp(a->account, b->account) == 0 &&
           a->secret_len == b->secret_len &&
           memcmp(a->secret, b->secret, a->secret_len) == 0 &&
           a->alg == b->alg && a->digits == b->digits &&
           a->period == b->period;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_otpauth p, q;
    ts_buf u1, u2;
    const char *why = NULL;
    int rc;

    rc = ts_otpauth_parse((const char *)data, size, &p, &why);
    if (rc != TS_OK) {
        if (why == NULL || (rc != TS_EINVAL && rc != TS_ETOOBIG))
            abort();
        return 0;
    }
    ts_buf_init(&u1);
    ts_buf_init(&u2);
    if (ts_otpauth_uri(&p, &u1) != TS_OK ||
        ts_otpauth_parse(u1.data, u1.len, &q, &why) != TS_OK || !same(&p, &q) ||
        ts_otpauth_uri(&q, &u2) != TS_OK || u1.len != u2.len ||
        memcmp(u1.data, u2.data, u1.len) != 0)
        abort();
    ts_buf_free(&u1);
    ts_buf_free(&u2);
    return 0;
}
