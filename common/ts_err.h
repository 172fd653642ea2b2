/* Error codes shared by every part of the core.
 *
 * Every function of common/ returns 0 (TS_OK) on success and one of these
 * negative values on failure; ts_strerror() gives the sentence a log line or a
 * CLI message shows. */
#ifndef TS_ERR_H
#define TS_ERR_H

enum {
    TS_OK        = 0,
    TS_EINVAL    = -1,  /* malformed input */
    TS_ENOMEM    = -2,  /* allocation failed */
    TS_ECRYPTO   = -3,  /* OpenSSL refused or authentication tag/MAC wrong */
    TS_ETOOBIG   = -4,  /* input or output larger than the fixed limit */
    TS_EEXPIRED  = -5,  /* a token or cookie past its lifetime */
    TS_EMISMATCH = -6,  /* a code, MAC or binding that does not match */
    TS_ENOTFOUND = -7,  /* key id, field or user not present */
    TS_EIO       = -8,  /* a file could not be read */
    TS_ESTORE    = -9   /* the store failed or answered something unexpected */
};

const char *ts_strerror(int err);

#endif
