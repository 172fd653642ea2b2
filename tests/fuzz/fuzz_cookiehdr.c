/* Fuzzes the Cookie header lookup. The first byte picks the name looked up
 * (a fixed list, including names that are substrings of each other), the
 * rest is the header. Property: a found value lies inside the header, has
 * no ';', and no unbalanced quote was stripped. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "ts_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[] = {
        "twostep", "__Host-twostep", "xtwostep", "twostepx", "a", "t",
    };
    const char *hdr, *v = NULL, *name;
    size_t n, vl = 0;
    char *copy;
    int rc;

    if (size < 1)
        return 0;
    name = names[data[0] % (sizeof(names) / sizeof(names[0]))];
    n = size - 1;
    /* an exact-size heap copy, so ASan sees any read past n */
    copy = malloc(n ? n : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, n);
    hdr = copy;
    rc = ts_cookie_header_get(hdr, n, name, &v, &vl);
    if (rc == TS_OK) {
        if (v < hdr || v + vl > hdr + n)
            abort();
        if (memchr(v, ';', vl) != NULL || memchr(v, '"', vl) != NULL)
            abort();
    } else if (rc != TS_ENOTFOUND && rc != TS_EINVAL) {
        abort();
    }
    free(copy);
    return 0;
}
