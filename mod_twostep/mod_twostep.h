/* mod_twostep: shared declarations of the Apache connector.
 *
 * mod_twostep.c      the module record, directives, per-directory config,
 *                    the protection hook (fixups) and the pages handler;
 * twostep_child.c    what each child process owns: the finished
 *                    configurations, one blocking store executor per Redis
 *                    URL, one revocation cache and one subscriber thread per
 *                    store (Redis URL + key prefix). */
#ifndef MOD_TWOSTEP_H
#define MOD_TWOSTEP_H

#include "httpd.h"
#include "http_config.h"
#include "apr_thread_mutex.h"
#include "apr_hash.h"

#include "twostep.h"
#include "store_sync.h"

/* Per-directory configuration. `tc` holds what the directives said (unset
 * values stay TS_UNSET until the core's ts_config_finish). `id` names this
 * configuration for the child's cache of finished configurations: a section
 * gets its own address as id, a merge gets "base+add". A section without any
 * TwoStep* directive (every .htaccess, most <Directory> blocks) does not
 * change the id of what it is merged into, so the number of ids stays the
 * number of distinct configurations written by the administrator. */
typedef struct {
    ts_config   tc;
    int         touched;
    const char *id;
} twostep_dir_conf;

/* A Redis connection pool shared by every store on the same URL. */
typedef struct twostep_pool {
    struct twostep_pool *next;
    ts_redis_url         url;
    int64_t              timeout_ms;
    ts_sync             *sync;
} twostep_pool;

/* One store = one Redis URL + one key prefix: its own cache and
 * invalidation subscriber. */
typedef struct twostep_store {
    struct twostep_store *next;
    twostep_pool         *pool;
    char                 *prefix;
    ts_cache             *cache;
    ts_subscriber        *sub;
} twostep_store;

/* A configuration ready for ts_txn_new, and the store it uses. */
typedef struct {
    ts_config      cfg;
    twostep_store *store;
} twostep_finished;

/* Everything a child process owns; created in child_init, torn down by a
 * cleanup of the child pool (subscriber threads are stopped and joined). */
typedef struct {
    apr_pool_t         *pool;       /* the child pool */
    server_rec         *server;     /* for logs of the subscriber threads */
    apr_thread_mutex_t *mutex;      /* guards everything below */
    apr_hash_t         *finished;   /* key -> twostep_finished* */
    twostep_pool       *pools;
    twostep_store      *stores;
    int                 pool_size;  /* connections per Redis URL */
} twostep_child;

/* Per-server configuration: only the child state of the main server. */
typedef struct {
    twostep_child *child;
} twostep_srv_conf;

extern module AP_MODULE_DECLARE_DATA twostep_module;

/* Creates the child state in pchild and registers its teardown. */
twostep_child *twostep_child_create(apr_pool_t *pchild, server_rec *s);

/* The finished configuration for a merged per-directory config `dc`, as
 * seen by server `s` in `mode` (pages force `pages` on so the key file is
 * required). Finished once per child and cached; the first use also starts
 * the store's subscriber. NULL on error, with the reason logged against r. */
const twostep_finished *twostep_child_finished(twostep_child *ch,
                                               const twostep_dir_conf *dc,
                                               request_rec *r, ts_mode mode);

/* The log callback handed to the core; ctx is the request_rec. Levels map
 * to ERR, WARNING, NOTICE (audit) and DEBUG, each line "twostep: ...". */
void twostep_log_request(void *ctx, ts_log_level level, const char *msg);

#endif
