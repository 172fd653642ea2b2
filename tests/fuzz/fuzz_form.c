/* Fuzzes the urlencoded form parser and the plain percent-decoder.
 * Property: an accepted form has at most TS_FORM_MAX_FIELDS fields, each a
 * NUL-free string whose length field agrees with strlen; decoding never
 * grows the text. */
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
    ts_arena a;
    ts_form f;
    size_t i, total = 0, n;
    char *s;
    int rc;

    ts_arena_init(&a);
    rc = ts_form_parse((const char *)data, size, &a, &f);
    if (rc == TS_OK) {
        if (f.n > TS_FORM_MAX_FIELDS)
            abort();
        for (i = 0; i < f.n; i++) {
            if (strlen(f.f[i].name) != f.f[i].name_len ||
                strlen(f.f[i].value) != f.f[i].value_len)
                abort();
            total += f.f[i].name_len + f.f[i].value_len;
            if (ts_form_get(&f, f.f[i].name) == NULL)
                abort();
        }
        if (total > size)
            abort();
    } else if (rc != TS_EINVAL && rc != TS_ETOOBIG && rc != TS_ENOMEM) {
        abort();
    } else if (f.n != 0) {
        abort();
    }
    s = ts_url_decode(&a, (const char *)data, size, &n);
    if (s != NULL && (n > size || strlen(s) != n))
        abort();
    ts_arena_free(&a);
    return 0;
}
