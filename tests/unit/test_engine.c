/* The decision engine without a store: the connector's side of the
 * contract is played by the test (it reads the commands and feeds the
 * replies), which shows exactly how many round trips each path costs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cache.h"
#include "cookie.h"
#include "twostep.h"

static ts_config cfg;
static char dir[] = "/tmp/twostep-engine-XXXXXX";
static int64_t now_s;

static int
setup_all(void **state)
{
    char path[128], err[256];
    const char *v[1];
    ts_buf key;
    FILE *f;

    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/keys", dir);
    ts_buf_init(&key);
    ts_keygen_line(&key);
    f = fopen(path, "w");
    fputs(ts_buf_str(&key), f);
    fclose(f);
    chmod(path, 0600);
    ts_buf_free(&key);
    ts_config_init(&cfg);
    v[0] = "on";
    ts_config_set(&cfg, "twostep", 1, v, err, sizeof(err));
    v[0] = path;
    ts_config_set(&cfg, "twostep_key_file", 1, v, err, sizeof(err));
    v[0] = "*";
    ts_config_set(&cfg, "twostep_enforce_groups", 1, v, err, sizeof(err));
    now_s = (int64_t)time(NULL);
    return ts_config_finish(&cfg, "test", err, sizeof(err));
}

static int
teardown_all(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static char cookie_hdr[1200];

static void
make_cookie(ts_cookie_kind kind, uint64_t epoch, const char *device)
{
    ts_cookie c;
    ts_buf b;

    memset(&c, 0, sizeof(c));
    c.kind = kind;
    strcpy(c.user, "alice");
    c.user_len = 5;
    if (device)
        strcpy(c.device, device);
    c.issued = now_s;
    c.expires = now_s + 3600;
    strcpy(c.bind, "127.0.0.1");
    c.epoch = epoch;
    ts_buf_init(&b);
    assert_int_equal(ts_cookie_encode(cfg.keys, &c, &b), 0);
    snprintf(cookie_hdr, sizeof(cookie_hdr), "other=1; twostep=%s",
             ts_buf_str(&b));
    ts_buf_free(&b);
}

/* Log lines are shown: a failing test then says why. */
static void
log_line(void *ctx, ts_log_level level, const char *msg)
{
    fprintf(stderr, "  log(%d): %s\n", (int)level, msg);
}

static ts_txn *
protect_txn(ts_cache *cache, const char *user, const char *cookie)
{
    ts_request r;

    memset(&r, 0, sizeof(r));
    r.user = user;
    r.client_ip = "127.0.0.1";
    r.method = "GET";
    r.uri = "/lab/";
    r.cookie = cookie;
    r.user_agent = "test";
    r.now_ms = now_s * 1000;
    return ts_txn_new(&cfg, cache, TS_MODE_PROTECT, &r, log_line, NULL);
}

/* Replies of the protect read: marker, user record, device ids. */
static void
feed_state(ts_txn *t, int enabled, uint64_t epoch, const char *device)
{
    ts_reply *rep[3];
    char e[24];

    assert_int_equal(ts_txn_ncmds(t), 3);
    assert_string_equal(ts_txn_cmd(t, 0)->argv[0], "EXISTS");
    assert_string_equal(ts_txn_cmd(t, 0)->argv[1], "twostep:marker");
    assert_string_equal(ts_txn_cmd(t, 1)->argv[1], "twostep:{alice}:user");
    rep[0] = ts_txn_reply_new(t, TS_REPLY_INTEGER);
    rep[0]->integer = 1;
    rep[1] = ts_txn_reply_new(t, TS_REPLY_ARRAY);
    ts_txn_reply_set_elems(t, rep[1], 8);
    for (int i = 0; i < 8; i++)
        rep[1]->elem[i] = ts_txn_reply_new(t, TS_REPLY_NIL);
    rep[1]->elem[0] = ts_txn_reply_new(t, TS_REPLY_STRING);
    ts_txn_reply_set_str(t, rep[1]->elem[0], enabled ? "1" : "0", 1);
    rep[1]->elem[1] = ts_txn_reply_new(t, TS_REPLY_STRING);
    snprintf(e, sizeof(e), "%llu", (unsigned long long)epoch);
    ts_txn_reply_set_str(t, rep[1]->elem[1], e, strlen(e));
    rep[1]->elem[2] = ts_txn_reply_new(t, TS_REPLY_STRING);
    ts_txn_reply_set_str(t, rep[1]->elem[2], "sealed", 6);
    rep[2] = ts_txn_reply_new(t, TS_REPLY_ARRAY);
    ts_txn_reply_set_elems(t, rep[2], device ? 1 : 0);
    if (device) {
        rep[2]->elem[0] = ts_txn_reply_new(t, TS_REPLY_STRING);
        ts_txn_reply_set_str(t, rep[2]->elem[0], device, strlen(device));
    }
    ts_txn_feed(t, rep, 3);
}

static const char DEV[] = "AAAAAAAAAAAAAAAAAAAAAA";

static void
test_valid_cookie_costs_no_round_trip_when_cached(void **state)
{
    ts_cache *cache = ts_cache_new(10);
    ts_txn *t;

    ts_cache_live(cache, 1);
    make_cookie(TS_COOKIE_DEVICE, 7, DEV);
    t = protect_txn(cache, "alice", cookie_hdr);
    assert_int_equal(ts_txn_run(t), TS_NEED_STORE);
    feed_state(t, 1, 7, DEV);
    while (ts_txn_run(t) == TS_NEED_STORE)   /* trailer: last-seen update */
        ts_txn_feed(t, NULL, 0), ts_txn_store_failed(t, "ignored");
    assert_int_equal(ts_txn_response(t)->outcome, TS_PASS);
    assert_string_equal(ts_txn_response(t)->status_var, "trusted");
    ts_txn_free(t);

    /* steady state: decided without a single command */
    for (int i = 0; i < 3; i++) {
        t = protect_txn(cache, "alice", cookie_hdr);
        assert_int_equal(ts_txn_run(t), TS_DONE);
        assert_int_equal(ts_txn_response(t)->outcome, TS_PASS);
        ts_txn_free(t);
    }
    /* a revocation message: the next request asks the store again */
    ts_cache_message(cache, "alice", 5);
    t = protect_txn(cache, "alice", cookie_hdr);
    assert_int_equal(ts_txn_run(t), TS_NEED_STORE);
    feed_state(t, 1, 7, NULL);       /* device revoked meanwhile */
    while (ts_txn_run(t) == TS_NEED_STORE)
        ts_txn_store_failed(t, "ignored");
    assert_int_equal(ts_txn_response(t)->status, 303);
    ts_txn_free(t);
    ts_cache_free(cache);
}

static void
test_fill_racing_an_invalidation_is_dropped(void **state)
{
    ts_cache *cache = ts_cache_new(10);
    ts_txn *t;

    ts_cache_live(cache, 1);
    make_cookie(TS_COOKIE_SESSION, 3, NULL);
    t = protect_txn(cache, "alice", cookie_hdr);
    assert_int_equal(ts_txn_run(t), TS_NEED_STORE);
    ts_cache_message(cache, "alice", 5);   /* arrives while we wait */
    feed_state(t, 1, 3, NULL);
    assert_int_equal(ts_txn_run(t), TS_DONE);
    assert_int_equal(ts_txn_response(t)->outcome, TS_PASS);
    ts_txn_free(t);
    t = protect_txn(cache, "alice", cookie_hdr);
    assert_int_equal(ts_txn_run(t), TS_NEED_STORE);   /* not cached */
    ts_txn_free(t);
    /* lost subscription: nothing is answered from the cache */
    ts_cache_live(cache, 0);
    assert_int_equal(ts_cache_is_live(cache), 0);
    ts_cache_free(cache);
}

static void
test_old_epoch_is_refused(void **state)
{
    ts_txn *t;

    make_cookie(TS_COOKIE_SESSION, 3, NULL);
    t = protect_txn(NULL, "alice", cookie_hdr);
    assert_int_equal(ts_txn_run(t), TS_NEED_STORE);
    feed_state(t, 1, 4, NULL);
    assert_int_equal(ts_txn_run(t), TS_DONE);
    assert_int_equal(ts_txn_response(t)->status, 303);
    ts_txn_free(t);
}

static void
test_store_failure_policies(void **state)
{
    ts_txn *t;

    make_cookie(TS_COOKIE_SESSION, 3, NULL);
    t = protect_txn(NULL, "alice", cookie_hdr);
    assert_int_equal(ts_txn_run(t), TS_NEED_STORE);
    ts_txn_store_failed(t, "connection refused");
    assert_int_equal(ts_txn_run(t), TS_DONE);
    assert_int_equal(ts_txn_response(t)->outcome, TS_PASS);
    assert_string_equal(ts_txn_response(t)->status_var, "store-down");
    ts_txn_free(t);

    t = protect_txn(NULL, "alice", "twostep=garbage");
    assert_int_equal(ts_txn_run(t), TS_NEED_STORE);
    ts_txn_store_failed(t, "timeout");
    assert_int_equal(ts_txn_run(t), TS_DONE);
    assert_int_equal(ts_txn_response(t)->status, 503);
    ts_txn_free(t);

    /* a connector that feeds the wrong number of replies fails closed */
    t = protect_txn(NULL, "alice", NULL);
    assert_int_equal(ts_txn_run(t), TS_NEED_STORE);
    ts_txn_feed(t, NULL, 0);
    assert_int_equal(ts_txn_run(t), TS_DONE);
    assert_int_equal(ts_txn_response(t)->status, 503);
    ts_txn_free(t);
}

static void
test_no_user_is_refused(void **state)
{
    ts_txn *t = protect_txn(NULL, NULL, NULL);
    char big[400];

    assert_int_equal(ts_txn_run(t), TS_DONE);
    assert_int_equal(ts_txn_response(t)->status, 403);
    ts_txn_free(t);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    t = protect_txn(NULL, big, NULL);
    assert_int_equal(ts_txn_run(t), TS_DONE);
    assert_int_equal(ts_txn_response(t)->status, 403);
    ts_txn_free(t);
}

static ts_txn *
page_txn(const char *method, const char *uri, const char *body,
         const char *ctype)
{
    ts_request r;

    memset(&r, 0, sizeof(r));
    r.user = "alice";
    r.client_ip = "127.0.0.1";
    r.method = method;
    r.uri = uri;
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    r.content_type = ctype;
    r.now_ms = now_s * 1000;
    return ts_txn_new(&cfg, NULL, TS_MODE_PAGES, &r, NULL, NULL);
}

static int
page_status(const char *method, const char *uri, const char *body,
            const char *ctype)
{
    ts_txn *t = page_txn(method, uri, body, ctype);
    int st;

    assert_int_equal(ts_txn_run(t), TS_DONE);
    st = ts_txn_response(t)->status;
    ts_txn_free(t);
    return st;
}

static void
test_pages_refuse_bad_requests(void **state)
{
    const char *form = "application/x-www-form-urlencoded";

    assert_int_equal(page_status("GET", "/twostep/nope", NULL, NULL), 404);
    assert_int_equal(page_status("GET", "/elsewhere/verify", NULL, NULL), 404);
    assert_int_equal(page_status("GET", "/twostepx", NULL, NULL), 404);
    assert_int_equal(page_status("PUT", "/twostep/verify", NULL, NULL), 405);
    assert_int_equal(page_status("POST", "/twostep/verify", "code=1",
                                 "text/plain"), 400);
    assert_int_equal(page_status("POST", "/twostep/verify", "code=1", form),
                     400);
    assert_int_equal(page_status("POST", "/twostep/verify", "csrf=%zz", form),
                     400);
    assert_int_equal(page_status("POST", "/twostep/verify",
                                 "csrf=1.2.3&code=123456", form), 400);
}

static void
test_page_responses_carry_security_headers(void **state)
{
    ts_txn *t = page_txn("GET", "/twostep/nope", NULL, NULL);
    const ts_response *r;
    int csp = 0, nostore = 0;

    ts_txn_run(t);
    r = ts_txn_response(t);
    for (size_t i = 0; i < r->nheaders; i++) {
        csp |= strcmp(r->headers[i].name, "Content-Security-Policy") == 0 &&
               strstr(r->headers[i].value, "default-src 'none'") != NULL;
        nostore |= strcmp(r->headers[i].name, "Cache-Control") == 0 &&
                   strcmp(r->headers[i].value, "no-store") == 0;
    }
    assert_true(csp);
    assert_true(nostore);
    ts_txn_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_cookie_costs_no_round_trip_when_cached),
        cmocka_unit_test(test_fill_racing_an_invalidation_is_dropped),
        cmocka_unit_test(test_old_epoch_is_refused),
        cmocka_unit_test(test_store_failure_policies),
        cmocka_unit_test(test_no_user_is_refused),
        cmocka_unit_test(test_pages_refuse_bad_requests),
        cmocka_unit_test(test_page_responses_carry_security_headers),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
