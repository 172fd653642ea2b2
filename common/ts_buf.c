/* Growable NUL-terminated buffer with sticky allocation failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_buf.h"
#include "ts_err.h"

void
ts_buf_init(ts_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void
ts_buf_free(ts_buf *b)
{
    free(b->data);
    ts_buf_init(b);
}

void
ts_buf_reset(ts_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int
ts_buf_reserve(ts_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->oom)
        return TS_ENOMEM;
    if (extra > ((size_t)1 << 30) || b->len + extra + 1 > ((size_t)1 << 30)) {
        b->oom = 1;
        return TS_ENOMEM;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return TS_OK;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return TS_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return TS_OK;
}

int
ts_buf_put(ts_buf *b, const void *p, size_t n)
{
    if (ts_buf_reserve(b, n) != TS_OK)
        return TS_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return TS_OK;
}

int
ts_buf_puts(ts_buf *b, const char *s)
{
    return ts_buf_put(b, s, strlen(s));
}

int
ts_buf_putc(ts_buf *b, char c)
{
    return ts_buf_put(b, &c, 1);
}

int
ts_buf_vprintf(ts_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return TS_EINVAL;
    if (ts_buf_reserve(b, (size_t)n) != TS_OK)
        return TS_ENOMEM;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return TS_OK;
}

int
ts_buf_printf(ts_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = ts_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int
ts_buf_put_html(ts_buf *b, const char *s, size_t n)
{
    size_t i, start = 0;
    const char *rep;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':  rep = "&amp;";  break;
        case '<':  rep = "&lt;";   break;
        case '>':  rep = "&gt;";   break;
        case '"':  rep = "&quot;"; break;
        case '\'': rep = "&#39;";  break;
        default:
            rep = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f
                  ? "" : NULL;
        }
        if (rep == NULL)
            continue;
        ts_buf_put(b, s + start, i - start);
        ts_buf_puts(b, rep);
        start = i + 1;
    }
    ts_buf_put(b, s + start, n - start);
    return b->oom ? TS_ENOMEM : TS_OK;
}

int
ts_buf_puts_html(ts_buf *b, const char *s)
{
    return ts_buf_put_html(b, s, strlen(s));
}

int
ts_buf_put_urlenc(ts_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            ts_buf_putc(b, (char)c);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            ts_buf_put(b, e, 3);
        }
    }
    return b->oom ? TS_ENOMEM : TS_OK;
}

const char *
ts_buf_str(const ts_buf *b)
{
    return b->data ? b->data : "";
}
