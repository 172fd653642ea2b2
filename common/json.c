/* JSON string literals for twostepctl --json. */
#include <string.h>

#include "json.h"
#include "ts_err.h"

int
ts_json_str(ts_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    ts_buf_putc(b, '"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            ts_buf_putc(b, '\\');
            ts_buf_putc(b, (char)c);
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            ts_buf_put(b, e, 6);
        } else {
            ts_buf_putc(b, (char)c);
        }
    }
    ts_buf_putc(b, '"');
    return b->oom ? TS_ENOMEM : TS_OK;
}
