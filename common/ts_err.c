/* Sentences for the core's error codes. */
#include "ts_err.h"

const char *
ts_strerror(int err)
{
    switch (err) {
    case TS_OK:        return "success";
    case TS_EINVAL:    return "malformed input";
    case TS_ENOMEM:    return "out of memory";
    case TS_ECRYPTO:   return "cryptographic check failed";
    case TS_ETOOBIG:   return "input too large";
    case TS_EEXPIRED:  return "expired";
    case TS_EMISMATCH: return "does not match";
    case TS_ENOTFOUND: return "not found";
    case TS_EIO:       return "file could not be read";
    case TS_ESTORE:    return "store unavailable or inconsistent";
    default:           return "unknown error";
    }
}
