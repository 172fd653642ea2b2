/* Base32 (RFC 4648 section 6) for TOTP secrets: strict encoder, decoder
 * lenient only about what people add when typing or pasting a secret. */
#include <limits.h>
#include <string.h>

#include "base32.h"
#include "ts_err.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

size_t
ts_base32_encoded_len(size_t n)
{
    /* ceil(n * 8 / 5), computed without overflowing n * 8 */
    return n / 5 * 8 + ((n % 5) * 8 + 4) / 5;
}

int
ts_base32_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t len = ts_base32_encoded_len(n), i, o = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (out == NULL || (in == NULL && n > 0))
        return TS_EINVAL;
    if (len > INT_MAX - 1 || cap < len + 1)
        return TS_ETOOBIG;
    for (i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return (int)o;
}

/* The 5-bit value of an alphabet character (either case), or -1. */
static int
b32_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

static int
b32_ignorable(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '-';
}

static int
fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return TS_EINVAL;
}

/* First pass: validates the characters and the padding, counts the data
 * characters. Nothing is written before the whole input is known good. */
static int
b32_scan(const char *in, size_t n, size_t *nchars, const char **why)
{
    size_t i, chars = 0, pads = 0;
    unsigned rem;
    int last = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];

        if (b32_ignorable(c))
            continue;
        if (c == '=') {
            pads++;
            continue;
        }
        if (b32_value(c) < 0)
            return fail(why, c == '\0' ? "The secret contains a NUL byte."
                        : "The secret contains a character that is not "
                          "base32 (A-Z, 2-7).");
        if (pads > 0)
            return fail(why, "Padding '=' appears in the middle of the secret.");
        last = b32_value(c);
        chars++;
    }
    if (chars == 0)
        return fail(why, "The secret is empty.");
    switch (chars % 8) {
    case 1: case 3: case 6:
        return fail(why, "The secret has a length that cannot come from "
                         "whole bytes (a character missing or extra?).");
    }
    /* Padding is optional, but never more than completes the last group. */
    if (pads > (8 - chars % 8) % 8)
        return fail(why, "The secret has too much '=' padding.");
    /* The bits past the last whole byte are the encoder's zero fill;
     * anything else means the text was not produced from bytes (often a
     * typo in the last character). */
    rem = (unsigned)(chars % 8 * 5 % 8);
    if (((unsigned)last & ((1u << rem) - 1)) != 0)
        return fail(why, "The last character of the secret has bits that "
                         "must be zero (a typo in the last character?).");
    *nchars = chars;
    return TS_OK;
}

int
ts_base32_decode(const char *in, size_t n, uint8_t *out, size_t cap,
                 size_t *outlen, const char **why)
{
    size_t chars = 0, i, o = 0;
    uint32_t acc = 0;
    int bits = 0, rc;

    if (in == NULL || outlen == NULL || (out == NULL && cap > 0))
        return fail(why, "No secret was given.");
    rc = b32_scan(in, n, &chars, why);
    if (rc != TS_OK)
        return rc;
    if (chars / 8 * 5 + chars % 8 * 5 / 8 > cap) {
        if (why)
            *why = "The secret is too long.";
        return TS_ETOOBIG;
    }
    for (i = 0; i < n; i++) {
        int v = b32_value((unsigned char)in[i]);

        if (v < 0)
            continue;                   /* spaces, dashes, padding */
        acc = ((acc << 5) | (uint32_t)v) & 0xffff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    *outlen = o;
    return TS_OK;
}

int
ts_base32_grouped(const char *b32, char *out, size_t cap)
{
    size_t len, i, o = 0;

    if (b32 == NULL || out == NULL)
        return TS_EINVAL;
    len = strlen(b32);
    if (cap < len + (len > 0 ? (len - 1) / 4 : 0) + 1)
        return TS_ETOOBIG;
    for (i = 0; i < len; i++) {
        if (i > 0 && i % 4 == 0)
            out[o++] = ' ';
        out[o++] = b32[i];
    }
    out[o] = '\0';
    return TS_OK;
}
