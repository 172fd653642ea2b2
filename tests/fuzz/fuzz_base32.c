/* libFuzzer target: base32 decoding of arbitrary bytes.
 * Property: whatever decodes, encodes to text that decodes to the same
 * bytes, also when grouped by four; a failure always gives a reason. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base32.h"
#include "ts_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 1024

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[CAP], again[CAP];
    static char b32[CAP * 2], grp[CAP * 3];
    size_t len = 0, len2 = 0;
    const char *why = NULL;
    int rc;

    rc = ts_base32_decode((const char *)data, size, out, sizeof(out), &len,
                          &why);
    if (rc != TS_OK) {
        if (why == NULL || (rc != TS_EINVAL && rc != TS_ETOOBIG))
            abort();
        return 0;
    }
    if (len == 0 || len > sizeof(out))
        abort();
    rc = ts_base32_encode(out, len, b32, sizeof(b32));
    if (rc < 0 || (size_t)rc != ts_base32_encoded_len(len))
        abort();
    if (ts_base32_decode(b32, (size_t)rc, again, sizeof(again), &len2,
                         &why) != TS_OK ||
        len2 != len || memcmp(out, again, len) != 0)
        abort();
    if (ts_base32_grouped(b32, grp, sizeof(grp)) != TS_OK ||
        ts_base32_decode(grp, strlen(grp), again, sizeof(again), &len2,
                         &why) != TS_OK ||
        len2 != len || memcmp(out, again, len) != 0)
        abort();
    return 0;
}
