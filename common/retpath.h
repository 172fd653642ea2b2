/* The return path after verification or enrollment ("r" field).
 *
 * Only a local path is accepted: it starts with exactly one '/', the second
 * byte is neither '/' nor '\\'; no byte below 0x21 or 0x7f and above (raw
 * non-ASCII is refused too: browsers send it percent-encoded), no '\\'
 * anywhere, no "%" followed by anything but two hex digits, and once
 * percent-decoded (repeatedly, up to three times, so "%252F" counts) the
 * same rules hold: no control bytes (< 0x20, 0x7f), no '\\', no "//" or "/\\" at the start;
 * a path still holding an escape after the third round is refused too.
 * No scheme or userinfo can appear in such a path. At most 2048 bytes. */
#ifndef TS_RETPATH_H
#define TS_RETPATH_H

#include <stddef.h>

/* 1 when s is an acceptable return path, else 0. */
int ts_return_path_ok(const char *s, size_t n);
/* s itself when acceptable, else "/". */
const char *ts_return_path(const char *s, size_t n);

#endif
