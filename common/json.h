/* Writing JSON strings for --json outputs. */
#ifndef TS_JSON_H
#define TS_JSON_H

#include "ts_buf.h"

/* Appends s as a JSON string literal (quotes included); bytes >= 0x80 are
 * passed through (UTF-8), control bytes escaped. */
int ts_json_str(ts_buf *b, const char *s);

#endif
