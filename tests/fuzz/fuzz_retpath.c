/* Fuzzes the return-path check. Property: anything accepted starts with
 * '/', not "//" or "/\", and has no byte below 0x21, 0x7f or above, nor
 * '\'; its percent-decoded form does not start with "//" or "/\" either;
 * ts_return_path agrees with ts_return_path_ok. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "retpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* The first two bytes after one round of decoding. */
static void
decoded_start(const char *s, size_t n, unsigned char out[2])
{
    size_t i = 0, o = 0;

    out[0] = out[1] = 0;
    while (i < n && o < 2) {
        if (s[i] == '%' && n - i >= 3 && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            out[o++] = (unsigned char)(hexval((unsigned char)s[i + 1]) << 4 |
                                       hexval((unsigned char)s[i + 2]));
            i += 3;
        } else {
            out[o++] = (unsigned char)s[i++];
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    unsigned char d[2];
    size_t i;
    int ok;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    ok = ts_return_path_ok(s, size);
    if (ok) {
        if (size < 1 || s[0] != '/')
            abort();
        if (size >= 2 && (s[1] == '/' || s[1] == '\\'))
            abort();
        for (i = 0; i < size; i++)
            if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] >= 0x7f ||
                s[i] == '\\')
                abort();
        decoded_start(s, size, d);
        if (d[1] == '/' || d[1] == '\\')
            abort();
    }
    if ((ts_return_path(s, size) == s) != ok)
        abort();
    free(s);
    return 0;
}
