/* Blocking store executor on hiredis, for Apache (one per process, a small
 * pool of connections shared by threads) and twostepctl.
 *
 * It runs a ts_txn to completion: each batch of commands is sent as one
 * pipeline on one connection (redisAppendCommandArgv, then redisGetReply
 * for each), replies are converted into ts_reply for ts_txn_feed(). Any
 * error (connect, timeout, I/O, protocol) closes that connection and tells
 * the txn ts_txn_store_failed(); the next use reconnects, so the store
 * recovers by itself when Redis is back. Connect and command timeouts are
 * the configured TwoStepRedisTimeout. AUTH and SELECT run after each
 * connect. For sentinel:// URLs the master address is asked from the
 * sentinels in order (SENTINEL get-master-addr-by-name) at each connect,
 * and confirmed with ROLE. */
#ifndef TS_STORE_SYNC_H
#define TS_STORE_SYNC_H

#include <stdint.h>
#include "twostep.h"

typedef struct ts_sync ts_sync;

/* pool_size connections at most (>= 1); thread-safe: a thread takes a free
 * connection or waits for one. The url is copied. */
ts_sync *ts_sync_new(const ts_redis_url *url, int64_t timeout_ms,
                     int pool_size);
void     ts_sync_free(ts_sync *s);

/* Drives t until TS_DONE. Returns 0, or TS_ESTORE when a batch failed (the
 * txn has then been told and has produced its store-down decision). `why`,
 * if not NULL, receives the failure text. */
int ts_sync_run(ts_sync *s, ts_txn *t, char *why, size_t whylen);

/* Runs one command outside any txn (twostepctl init, tests). The reply is
 * converted into an arena-free copy the caller releases with
 * ts_sync_reply_free. */
int  ts_sync_command(ts_sync *s, int argc, const char **argv,
                     const size_t *argvlen, ts_reply **reply, char *why,
                     size_t whylen);
void ts_sync_reply_free(ts_reply *r);

/* The invalidation subscriber: a thread that connects (same URL and
 * timeouts, but blocking reads without timeout once subscribed), SUBSCRIBEs
 * to ts_cache_channel(), calls ts_cache_live(cache, 1) on confirmation,
 * ts_cache_message() for each message, and on any error ts_cache_live(0),
 * waits 200 ms and tries again, until ts_sync_subscriber_stop(). A keepalive
 * PING every 500 ms (allowed while subscribed) detects a dead Redis within
 * about 1 s. */
typedef struct ts_subscriber ts_subscriber;
ts_subscriber *ts_sync_subscriber_start(const ts_redis_url *url,
                                        int64_t timeout_ms,
                                        const char *channel, ts_cache *cache,
                                        ts_log_fn log, void *log_ctx);
void           ts_sync_subscriber_stop(ts_subscriber *s);

#endif
