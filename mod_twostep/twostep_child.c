/* mod_twostep: what each child process owns.
 *
 * Apache merges per-directory configurations for every request in the
 * request pool, so a merged twostep_dir_conf does not survive its request.
 * What must survive (the finished ts_config with its loaded key file and
 * group file, the connection pool, the revocation cache) lives here, in the
 * child, keyed by the id of the merged configuration (see mod_twostep.h).
 * Finishing happens in the child on first use rather than in post_config
 * because the set of merged configurations is only known when requests walk
 * them; post_config still finishes every <Location>/<Directory> section once
 * so that a missing or unreadable key file stops the server at start. */
#include "mod_twostep.h"
#include "ts_err.h"

#include "http_log.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "apr_strings.h"

#include <stdlib.h>
#include <string.h>

APLOG_USE_MODULE(twostep);

/* More distinct configurations than this means ids are being minted per
 * request (a bug): refuse rather than grow without bound. */
#define TWOSTEP_MAX_FINISHED 1024
/* Entries of the revocation cache per store (oldest dropped beyond). */
#define TWOSTEP_CACHE_ENTRIES 8192

static int log_level(ts_log_level level)
{
    switch (level) {
    case TS_LOG_ERR:   return APLOG_ERR;
    case TS_LOG_WARN:  return APLOG_WARNING;
    case TS_LOG_AUDIT: return APLOG_NOTICE;
    default:           return APLOG_DEBUG;
    }
}

/* Every line starts with "twostep"; the core's audit lines already do
 * ("twostep audit: event=..."). */
static const char *prefix(const char *msg)
{
    return strncmp(msg, "twostep", 7) == 0 ? "" : "twostep: ";
}

void twostep_log_request(void *ctx, ts_log_level level, const char *msg)
{
    request_rec *r = ctx;

    ap_log_rerror(APLOG_MARK, log_level(level), 0, r, "%s%s", prefix(msg),
                  msg);
}

/* For the subscriber threads, which have no request. */
static void log_server(void *ctx, ts_log_level level, const char *msg)
{
    server_rec *s = ctx;

    ap_log_error(APLOG_MARK, log_level(level), 0, s, "%s%s", prefix(msg),
                 msg);
}

static apr_status_t child_cleanup(void *data)
{
    twostep_child *ch = data;
    twostep_store *st;
    twostep_pool *p;

    /* Subscribers first: they feed the caches. */
    for (st = ch->stores; st; st = st->next) {
        if (st->sub)
            ts_sync_subscriber_stop(st->sub);
        st->sub = NULL;
    }
    for (st = ch->stores; st; st = st->next) {
        ts_cache_free(st->cache);
        st->cache = NULL;
    }
    for (p = ch->pools; p; p = p->next) {
        ts_sync_free(p->sync);
        p->sync = NULL;
    }
    ch->stores = NULL;
    ch->pools = NULL;
    return APR_SUCCESS;
}

twostep_child *twostep_child_create(apr_pool_t *pchild, server_rec *s)
{
    twostep_child *ch = apr_pcalloc(pchild, sizeof *ch);
    int threads = 0;

    /* A private pool: worker threads allocate from it only under the
     * lock, and nothing else in the child touches it. */
    if (apr_pool_create(&ch->pool, pchild) != APR_SUCCESS)
        return NULL;
    if (apr_thread_mutex_create(&ch->mutex, APR_THREAD_MUTEX_DEFAULT,
                                pchild) != APR_SUCCESS)
        return NULL;
    ch->server = s;
    ch->finished = apr_hash_make(ch->pool);
    /* One connection per worker thread at most: a thread never waits for
     * another's round trip. */
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS
        || threads < 1)
        threads = 1;
    ch->pool_size = threads > 64 ? 64 : threads;
    apr_pool_cleanup_register(pchild, ch, child_cleanup,
                              apr_pool_cleanup_null);
    return ch;
}

/* Called with the mutex held. */
static twostep_pool *pool_for(twostep_child *ch, const ts_config *cfg)
{
    twostep_pool *p;

    for (p = ch->pools; p; p = p->next)
        if (p->timeout_ms == cfg->redis_timeout_ms
            && memcmp(&p->url, &cfg->redis, sizeof p->url) == 0)
            return p;
    p = apr_pcalloc(ch->pool, sizeof *p);
    p->url = cfg->redis;
    p->timeout_ms = cfg->redis_timeout_ms;
    p->sync = ts_sync_new(&cfg->redis, cfg->redis_timeout_ms, ch->pool_size);
    if (p->sync == NULL)
        return NULL;
    p->next = ch->pools;
    ch->pools = p;
    return p;
}

/* Called with the mutex held. */
static twostep_store *store_for(twostep_child *ch, const ts_config *cfg,
                                request_rec *r)
{
    twostep_pool *p = pool_for(ch, cfg);
    twostep_store *st;
    char channel[512];

    if (p == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "twostep: cannot create the Redis pool for %s",
                      cfg->redis_text ? cfg->redis_text : "(default)");
        return NULL;
    }
    for (st = ch->stores; st; st = st->next)
        if (st->pool == p && strcmp(st->prefix, cfg->prefix) == 0)
            return st;
    st = apr_pcalloc(ch->pool, sizeof *st);
    st->pool = p;
    st->prefix = apr_pstrdup(ch->pool, cfg->prefix);
    st->cache = ts_cache_new(TWOSTEP_CACHE_ENTRIES);
    if (st->cache == NULL)
        return NULL;
    /* Without a subscriber the cache never goes live and every decision
     * asks the store: slower, still correct. */
    st->sub = ts_sync_subscriber_start(&cfg->redis, cfg->redis_timeout_ms,
                                       ts_cache_channel(cfg, channel,
                                                        sizeof channel),
                                       st->cache, log_server, ch->server);
    if (st->sub == NULL)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "twostep: cannot start the invalidation subscriber; "
                      "every request will ask Redis");
    st->next = ch->stores;
    ch->stores = st;
    return st;
}

/* Called with the mutex held. */
static twostep_finished *finish_locked(twostep_child *ch,
                                       const twostep_dir_conf *dc,
                                       request_rec *r, ts_mode mode,
                                       const char *key)
{
    twostep_finished *f;
    char err[512] = "";

    if (apr_hash_count(ch->finished) >= TWOSTEP_MAX_FINISHED) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "twostep: more than %d distinct configurations",
                      TWOSTEP_MAX_FINISHED);
        return NULL;
    }
    f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    /* A shallow copy: the strings of a ts_config live as long as the
     * process, and finishing only fills in the copy. */
    f->cfg = dc->tc;
    if (mode == TS_MODE_PAGES)
        f->cfg.pages = 1;
    if (ts_config_finish(&f->cfg, r->server->server_hostname, err,
                         sizeof err) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "twostep: %s", err);
        free(f);
        return NULL;
    }
    f->store = store_for(ch, &f->cfg, r);
    if (f->store == NULL) {
        free(f);
        return NULL;
    }
    apr_hash_set(ch->finished, apr_pstrdup(ch->pool, key),
                 APR_HASH_KEY_STRING, f);
    return f;
}

const twostep_finished *twostep_child_finished(twostep_child *ch,
                                               const twostep_dir_conf *dc,
                                               request_rec *r, ts_mode mode)
{
    twostep_finished *f;
    const char *key;

    /* The issuer defaults to the server name, so the server is part of
     * what the configuration means. */
    key = apr_pstrcat(r->pool, dc->id ? dc->id : "-", "|",
                      r->server->server_hostname
                          ? r->server->server_hostname : "",
                      mode == TS_MODE_PAGES ? "|pages" : "|protect", NULL);
    apr_thread_mutex_lock(ch->mutex);
    f = apr_hash_get(ch->finished, key, APR_HASH_KEY_STRING);
    if (f == NULL)
        f = finish_locked(ch, dc, r, mode, key);
    apr_thread_mutex_unlock(ch->mutex);
    return f;
}
