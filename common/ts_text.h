/* Small text helpers shared by the parsers. */
#ifndef TS_TEXT_H
#define TS_TEXT_H

#include <stddef.h>

/* The value of a hex digit, or -1. */
int  ts_hexval(unsigned char c);
/* snprintf into err (nothing when err is NULL or errlen is 0). */
void ts_seterr(char *err, size_t errlen, const char *fmt, ...)
     __attribute__((format(printf, 3, 4)));

#endif
