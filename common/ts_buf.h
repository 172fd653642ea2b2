/* Growable byte buffer, NUL-terminated at all times.
 *
 * Allocation failure is sticky: after one failed append `oom` is set, every
 * further append is a no-op returning TS_ENOMEM, so a caller may append many
 * pieces and check once at the end. */
#ifndef TS_BUF_H
#define TS_BUF_H

#include <stddef.h>
#include <stdarg.h>

typedef struct {
    char   *data;   /* NULL until the first append; then always NUL-terminated */
    size_t  len;
    size_t  cap;
    int     oom;
} ts_buf;

void ts_buf_init(ts_buf *b);
void ts_buf_free(ts_buf *b);
void ts_buf_reset(ts_buf *b);                 /* len = 0, keeps memory */
int  ts_buf_put(ts_buf *b, const void *p, size_t n);
int  ts_buf_puts(ts_buf *b, const char *s);
int  ts_buf_putc(ts_buf *b, char c);
int  ts_buf_printf(ts_buf *b, const char *fmt, ...)
     __attribute__((format(printf, 2, 3)));
int  ts_buf_vprintf(ts_buf *b, const char *fmt, va_list ap);
/* HTML-escapes & < > " ' and drops bytes < 0x20 other than \t \n \r.
 * Safe for element text and for double-quoted attribute values. */
int  ts_buf_put_html(ts_buf *b, const char *s, size_t n);
int  ts_buf_puts_html(ts_buf *b, const char *s);
/* Percent-encodes everything but RFC 3986 unreserved characters. */
int  ts_buf_put_urlenc(ts_buf *b, const char *s, size_t n);
/* The data, or "" when nothing was appended. */
const char *ts_buf_str(const ts_buf *b);

#endif
