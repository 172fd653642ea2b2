/* The per-process cache of what decides a valid cookie: whether the user
 * has 2-step on, the user's epoch, and the user's trusted device ids.
 *
 * It may only answer while it is "live" (the connector's subscription to
 * the invalidation channel is up). Every invalidation bumps a generation
 * counter; a fill carries the generation seen before its store read was
 * sent and is dropped if anything was invalidated meanwhile, so a reply
 * that raced with a revocation never resurrects the old state. */
#ifndef TS_CACHE_H
#define TS_CACHE_H

#include <stdint.h>
#include "twostep.h"
#include "cookie.h"

#define TS_CACHE_DEVICES 16

typedef struct {
    int      enabled;
    uint64_t epoch;
    int      ndevices;          /* -1: more than fit; don't answer for devices */
    char     devices[TS_CACHE_DEVICES][TS_DEVICE_LEN + 1];
} ts_cache_entry;

/* 1 and *out filled on a hit (live cache only), else 0. */
int      ts_cache_lookup(ts_cache *c, const char *user, ts_cache_entry *out);
/* The generation to pass to ts_cache_fill; 0 when not live. */
uint64_t ts_cache_gen(ts_cache *c);
void     ts_cache_fill(ts_cache *c, uint64_t gen, const char *user,
                       const ts_cache_entry *e);
/* Cookies whose signature was already checked by this process: the same
 * bytes need no second HMAC. A signature never stops being valid while the
 * process runs (a new key file means a reload, so a new process); expiry,
 * user, binding and epoch are still checked on every request. Works
 * whether or not the cache is live. 1 and *out filled on a hit. */
int      ts_cache_cookie_get(ts_cache *c, const char *val, size_t n,
                             ts_cookie *out);
void     ts_cache_cookie_put(ts_cache *c, const char *val, size_t n,
                             const ts_cookie *ck);
/* 1 when the entry lists the device. */
int      ts_cache_has_device(const ts_cache_entry *e, const char *device);

#endif
