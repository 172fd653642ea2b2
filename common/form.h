/* Parsing of what browsers send: application/x-www-form-urlencoded bodies
 * and query strings, and the Cookie header. */
#ifndef TS_FORM_H
#define TS_FORM_H

#include <stddef.h>
#include "ts_arena.h"

#define TS_FORM_MAX_FIELDS 64
#define TS_FORM_MAX_BYTES  (64 * 1024)

typedef struct {
    const char *name;   /* decoded, NUL-terminated, in the arena */
    size_t      name_len;
    const char *value;  /* decoded, NUL-terminated, may contain no NUL */
    size_t      value_len;
} ts_field;

typedef struct {
    ts_field f[TS_FORM_MAX_FIELDS];
    size_t   n;
} ts_form;

/* Parses "a=1&b=x+y%21". '+' is a space; %XX must be two hex digits.
 * Refuses (TS_EINVAL) a bad escape, a decoded NUL byte, more than
 * TS_FORM_MAX_FIELDS fields; TS_ETOOBIG above TS_FORM_MAX_BYTES. Empty
 * pieces ("a=1&&b=2") are skipped; a name without '=' has value "". */
int ts_form_parse(const char *s, size_t n, ts_arena *a, ts_form *out);
/* The first field of that name, or NULL. */
const ts_field *ts_form_get(const ts_form *f, const char *name);

/* Finds cookie `name` in a Cookie header ("a=1; b=2"). The value is
 * returned as sent (no decoding), quotes around it removed. 0 found,
 * TS_ENOTFOUND absent, TS_EINVAL malformed header. When the name occurs
 * several times the first is returned. */
int ts_cookie_header_get(const char *hdr, size_t n, const char *name,
                         const char **val, size_t *vlen);

/* Percent-decodes s (no '+' rule) into the arena; NULL on a bad escape or a
 * decoded NUL byte. */
char *ts_url_decode(ts_arena *a, const char *s, size_t n, size_t *outlen);

#endif
