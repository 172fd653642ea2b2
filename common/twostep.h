/* twostep core: the interface a connector (Apache, nginx, twostepctl) uses.
 *
 * The core is sans-I/O. For each request the connector
 *   1. fills a ts_request and calls ts_txn_new();
 *   2. loops:  r = ts_txn_run(t);
 *        TS_NEED_STORE: runs the commands ts_txn_cmds() gives, in order, as
 *                       one pipeline on one connection, converts each reply
 *                       (ts_txn_reply_*) and calls ts_txn_feed(); or, when
 *                       the store cannot answer (connect error, timeout,
 *                       any I/O error), calls ts_txn_store_failed();
 *        TS_DONE:       applies ts_txn_response() and stops;
 *   3. calls ts_txn_free() (everything it got from the txn dies with it).
 * The core never blocks, never logs by itself (it reports through the log
 * callback) and never touches a socket.
 *
 * Revocation: each process keeps one ts_cache per store. The connector
 * subscribes on its own connection to ts_cache_channel() and calls
 * ts_cache_live(c, 1) when SUBSCRIBE is confirmed, ts_cache_message() for
 * each message, and ts_cache_live(c, 0) when that connection is lost. While
 * not live the cache holds nothing and every decision asks the store. */
#ifndef TWOSTEP_H
#define TWOSTEP_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

#define TWOSTEP_VERSION "0.1.0"

/* ---- logging ---------------------------------------------------------- */

typedef enum {
    TS_LOG_ERR = 0,     /* the module cannot work as configured */
    TS_LOG_WARN = 1,    /* store failures, refused hostile input */
    TS_LOG_AUDIT = 2,   /* security events: enroll, disable, failures... */
    TS_LOG_DEBUG = 3
} ts_log_level;

typedef void (*ts_log_fn)(void *ctx, ts_log_level level, const char *msg);

/* ---- the per-process revocation cache --------------------------------- */

typedef struct ts_cache ts_cache;

/* Thread-safe (one mutex). max_entries bounds memory (oldest dropped). */
ts_cache   *ts_cache_new(size_t max_entries);
void        ts_cache_free(ts_cache *c);
void        ts_cache_live(ts_cache *c, int live);
void        ts_cache_message(ts_cache *c, const char *msg, size_t n);
int         ts_cache_is_live(ts_cache *c);
/* The pub/sub channel: PREFIX "invalidate". */
const char *ts_cache_channel(const ts_config *cfg, char *buf, size_t cap);

/* ---- a request -------------------------------------------------------- */

typedef struct {
    const char *user;          /* first-factor user; NULL or "" if none */
    const char *client_ip;     /* the server's idea of it, textual */
    const char *method;        /* "GET", "POST", "HEAD", ... */
    const char *uri;           /* path as received (not decoded), no query */
    const char *args;          /* query string without '?', or NULL */
    const char *cookie;        /* all Cookie headers joined by "; ", or NULL */
    const char *body;          /* POST body of a pages request, or NULL */
    size_t      body_len;
    const char *content_type;  /* of that body */
    const char *user_agent;
    int         https;         /* the client reached us over TLS */
    int64_t     now_ms;        /* wall clock, ms since the epoch */
} ts_request;

typedef enum { TS_MODE_PROTECT = 0, TS_MODE_PAGES = 1 } ts_mode;

/* ---- store commands and replies --------------------------------------- */

typedef struct {
    int          argc;
    const char **argv;
    size_t      *argvlen;
} ts_cmd;

typedef enum {
    TS_REPLY_NIL = 0, TS_REPLY_STRING, TS_REPLY_INTEGER, TS_REPLY_ARRAY,
    TS_REPLY_STATUS, TS_REPLY_ERROR
} ts_reply_type;

typedef struct ts_reply {
    ts_reply_type     type;
    long long         integer;
    const char       *str;      /* STRING, STATUS, ERROR; NUL-terminated */
    size_t            len;
    struct ts_reply **elem;     /* ARRAY */
    size_t            n;
} ts_reply;

/* ---- the decision ----------------------------------------------------- */

typedef enum {
    TS_PASS = 0,     /* let the request through (protect mode) */
    TS_RESPOND = 1   /* send status/headers/body; for pages, and for a
                        protect-mode refusal or redirect */
} ts_outcome;

#define TS_MAX_HEADERS 12

typedef struct {
    ts_outcome  outcome;
    int         status;       /* HTTP status when RESPOND */
    struct { const char *name, *value; } headers[TS_MAX_HEADERS];
    size_t      nheaders;     /* Location, Set-Cookie, Retry-After,
                                 Content-Type, Cache-Control, CSP, ... */
    const char *body;
    size_t      body_len;
    /* For logs and the TWOSTEP_STATUS / $twostep_status variables:
     * "trusted", "verified", "not-enrolled", "store-down", "redirect",
     * "denied", "page" */
    const char *status_var;
    const char *user_var;
} ts_response;

typedef struct ts_txn ts_txn;

enum { TS_DONE = 0, TS_NEED_STORE = 1 };

/* NULL only when out of memory. cfg must be finished (ts_config_finish).
 * The request's strings are copied. cache may be NULL (no caching). */
ts_txn *ts_txn_new(const ts_config *cfg, ts_cache *cache, ts_mode mode,
                   const ts_request *req, ts_log_fn log, void *log_ctx);
int     ts_txn_run(ts_txn *t);
size_t  ts_txn_ncmds(const ts_txn *t);
const ts_cmd *ts_txn_cmd(const ts_txn *t, size_t i);
/* Reply builders allocating in the txn (so they die with it). */
ts_reply *ts_txn_reply_new(ts_txn *t, ts_reply_type type);
int       ts_txn_reply_set_str(ts_txn *t, ts_reply *r, const char *s, size_t n);
int       ts_txn_reply_set_elems(ts_txn *t, ts_reply *r, size_t n);
/* One reply per command, in order. The array is copied; the replies must
 * have been made with ts_txn_reply_new (they live as long as the txn). */
void    ts_txn_feed(ts_txn *t, ts_reply *const *replies, size_t n);
void    ts_txn_store_failed(ts_txn *t, const char *why);
const ts_response *ts_txn_response(const ts_txn *t);
void    ts_txn_free(ts_txn *t);

/* True when a pages request needs its body before ts_txn_new (a POST). */
int ts_pages_wants_body(const char *method);

/* ---- administrative operations (twostepctl, tests) ---------------------
 * The same store logic as the pages, driven the same way (ts_txn_run /
 * ts_txn_cmds / ts_txn_feed), ending in a ts_op_result instead of an HTTP
 * response. */

typedef enum {
    TS_OP_INIT,          /* write the store marker (idempotent) */
    TS_OP_STATUS,        /* user */
    TS_OP_LIST,          /* every user the store knows */
    TS_OP_ENROLL,        /* user, arg = base32 secret or NULL (generate);
                            digits/period/alg from cfg; prints the URI */
    TS_OP_DISABLE,       /* user */
    TS_OP_BACKUP_CODES,  /* user: new set, printed once */
    TS_OP_DEVICES,       /* user */
    TS_OP_REVOKE,        /* user, arg = device id or "--all" */
    TS_OP_UNLOCK,        /* user */
    TS_OP_VERIFY,        /* user, arg = code or backup code */
    TS_OP_AUDIT          /* arg = count as decimal, NULL = 100 */
} ts_op_kind;

typedef struct {
    ts_op_kind  kind;
    const char *user;
    const char *arg;
    const char *actor;   /* who does it, for the audit trail */
    int64_t     now_ms;
} ts_op;

typedef struct {
    int         exit_code;  /* 0 done, 1 refused, 2 store failure */
    const char *text;       /* what to print for a person (ends in \n) */
    const char *json;       /* one JSON object, for --json */
} ts_op_result;

ts_txn *ts_txn_new_op(const ts_config *cfg, const ts_op *op, ts_log_fn log,
                      void *log_ctx);
/* Valid after ts_txn_run returned TS_DONE on an op txn. */
const ts_op_result *ts_txn_op_result(const ts_txn *t);

#endif
