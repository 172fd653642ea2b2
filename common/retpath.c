/* The return path ("r"): a local path or nothing.
 *
 * An open redirect is the risk: "//evil", "/\evil" (browsers treat '\' as '/')
 * and "https:" all leave the site. Servers and browsers may decode a path
 * more than once, so the raw text and up to three rounds of percent-decoding
 * must all pass the same start-of-path rules. The raw text must also be
 * safe to put verbatim into a Location header: printable ASCII only. */
#include "retpath.h"
#include "ts_text.h"

#define TS_RETPATH_MAX    2048
#define TS_RETPATH_ROUNDS 3

/* The rules the raw text obeys: printable ASCII, no '\', every '%' starts a
 * valid escape. */
static int
raw_ok(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x21 || c >= 0x7f || c == '\\')
            return 0;
        if (c == '%' && (n - i < 3 || ts_hexval((unsigned char)s[i + 1]) < 0 ||
                         ts_hexval((unsigned char)s[i + 2]) < 0))
            return 0;
    }
    return 1;
}

/* The rules every form of the path obeys: exactly one leading '/', no
 * control byte, no '\'. */
static int
form_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || s[0] != '/')
        return 0;
    if (n > 1 && (s[1] == '/' || s[1] == '\\'))
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f || c == '\\')
            return 0;
    }
    return 1;
}

/* One round of percent-decoding of s into out; a '%' that does not start a
 * valid escape (possible after the first round: "%25zz") stays literal.
 * Returns the new length; the output is never longer than the input. */
static int
has_escape(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i + 2 < n; i++)
        if (s[i] == '%' && ts_hexval((unsigned char)s[i + 1]) >= 0 &&
            ts_hexval((unsigned char)s[i + 2]) >= 0)
            return 1;
    return 0;
}

static size_t
decode_once(const char *s, size_t n, char *out)
{
    size_t i, o = 0;
    int hi, lo;

    for (i = 0; i < n; i++) {
        if (s[i] == '%' && n - i >= 3 &&
            (hi = ts_hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = ts_hexval((unsigned char)s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

int
ts_return_path_ok(const char *s, size_t n)
{
    char buf[2][TS_RETPATH_MAX];
    const char *cur = s;
    size_t len = n, next;
    int round;

    if (s == NULL || n == 0 || n > TS_RETPATH_MAX)
        return 0;
    if (!raw_ok(s, n) || !form_ok(s, n))
        return 0;
    for (round = 0; round < TS_RETPATH_ROUNDS; round++) {
        if (!has_escape(cur, len))
            return 1;
        next = decode_once(cur, len, buf[round & 1]);
        cur = buf[round & 1];
        len = next;
        if (!form_ok(cur, len))
            return 0;
    }
    /* Still encoded after three rounds: no honest link looks like that, and
     * a fourth decoder somewhere could turn it into "//". */
    return !has_escape(cur, len);
}

const char *
ts_return_path(const char *s, size_t n)
{
    return ts_return_path_ok(s, n) ? s : "/";
}
