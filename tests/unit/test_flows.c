/* Journeys through the decision engine against a real redis-server, with
 * codes computed by oathtool: enroll, verify, trust, backup codes, replay,
 * lockout, admin disable, revocation through the cache, store outage,
 * lost store marker, IP binding, CSRF and return paths, concurrency. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flow_harness.c"
#include "cache.h"

static int64_t T0;     /* a time 5 s into a 30 s step */

#define PAGES(m, path) .mode = TS_MODE_PAGES, .method = (m), .uri = (path)
#define NOW(dt) .now_ms = (T0 + (dt)) * 1000

typedef struct {
    fh_env env;
    char   secret[128];
    char   cookie[2048];
    char   codes[10][16];
} world;

static void
get_csrf(world *w, const char *user, char *csrf, size_t cap)
{
    fh_resp r;
    /* the enrollment page has a form for everyone, enrolled or not */
    fh_req rq = { PAGES("GET", "/twostep/enroll"), .user = user, NOW(0) };

    fh_run(&w->env, &rq, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_input_value(r.body, "csrf", csrf, cap), 0);
    fh_resp_free(&r);
}

/* Enrolls `user` through the pages exactly as a browser does. */
static void
enroll(world *w, const char *user)
{
    fh_resp r;
    char csrf[128], code[16], body[512];
    fh_req get = { PAGES("GET", "/twostep/enroll"), .user = user, NOW(0) };
    fh_req post = { PAGES("POST", "/twostep/enroll"), .user = user, NOW(0) };
    const char *p;
    int i;

    fh_run(&w->env, &get, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_enroll_secret(r.body, w->secret, sizeof(w->secret)), 0);
    assert_int_equal(fh_input_value(r.body, "csrf", csrf, sizeof(csrf)), 0);
    assert_non_null(strstr(r.body, "otpauth://totp/"));
    assert_non_null(strstr(r.body, "<svg"));
    fh_resp_free(&r);

    /* a reload shows the same secret */
    fh_run(&w->env, &get, &r);
    {
        char again[128];
        assert_int_equal(fh_enroll_secret(r.body, again, sizeof(again)), 0);
        assert_string_equal(again, w->secret);
    }
    fh_resp_free(&r);

    assert_int_equal(fh_oath(w->secret, T0, 6, 30, "sha1", code), 0);
    snprintf(body, sizeof(body), "csrf=%s&code=%s&r=%%2Flab%%2F", csrf, code);
    post.body = body;
    fh_run(&w->env, &post, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.set_cookie, "twostep="));
    assert_null(strstr(r.set_cookie, "Max-Age"));
    fh_cookie_pair(&r, w->cookie, sizeof(w->cookie));
    /* ten backup codes, in the download form's hidden field */
    {
        char all[256];
        char *tok, *save = NULL;
        assert_int_equal(fh_input_value(r.body, "codes", all, sizeof(all)), 0);
        for (i = 0, tok = strtok_r(all, " ", &save); tok && i < 10;
             tok = strtok_r(NULL, " ", &save), i++)
            snprintf(w->codes[i], sizeof(w->codes[i]), "%s", tok);
        assert_int_equal(i, 10);
    }
    p = strstr(r.body, w->codes[0]);
    assert_non_null(p);
    fh_resp_free(&r);
}

static int
setup(void **state)
{
    world *w = calloc(1, sizeof(*w));

    if (w == NULL || fh_setup(&w->env, NULL) != 0)
        return -1;
    *state = w;
    return 0;
}

static int
setup_prefix(void **state)
{
    static const char *d[] = { "twostep_bind_ip prefix 8 64", NULL };
    world *w = calloc(1, sizeof(*w));

    if (w == NULL || fh_setup(&w->env, d) != 0)
        return -1;
    *state = w;
    return 0;
}

static int
setup_deny(void **state)
{
    static const char *d[] = { "twostep_store_down deny",
                               "twostep_redis_timeout 300ms", NULL };
    world *w = calloc(1, sizeof(*w));

    if (w == NULL || fh_setup(&w->env, d) != 0)
        return -1;
    *state = w;
    return 0;
}

static int
setup_many_attempts(void **state)
{
    static const char *d[] = { "twostep_max_attempts 20 5m 15m", NULL };
    world *w = calloc(1, sizeof(*w));

    if (w == NULL || fh_setup(&w->env, d) != 0)
        return -1;
    *state = w;
    return 0;
}

static int
teardown(void **state)
{
    world *w = *state;

    fh_teardown(&w->env);
    free(w);
    return 0;
}

static void
protect(world *w, const char *user, const char *cookie, const char *ip,
        int64_t dt, fh_resp *r)
{
    fh_req rq = { .mode = TS_MODE_PROTECT, .method = "GET", .uri = "/lab/x",
                  .args = "a=1", .user = user, .cookie = cookie, .ip = ip,
                  NOW(dt) };
    fh_run(&w->env, &rq, r);
}

static int
verify(world *w, const char *user, const char *code, int trust, int64_t dt,
       fh_resp *r)
{
    char csrf[128], body[512];
    fh_req rq = { PAGES("POST", "/twostep/verify"), .user = user, NOW(dt) };

    get_csrf(w, user, csrf, sizeof(csrf));
    snprintf(body, sizeof(body), "csrf=%s&code=%s&r=%%2Flab%%2Fx%s", csrf,
             code, trust ? "&trust=1" : "");
    rq.body = body;
    fh_run(&w->env, &rq, r);
    return r->status;
}

/* ---- journeys ------------------------------------------------------- */

static void
test_enforced_user_goes_to_enrollment(void **state)
{
    world *w = *state;
    fh_resp r;

    protect(w, "bob", NULL, NULL, 0, &r);
    assert_int_equal(r.outcome, TS_RESPOND);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/twostep/enroll?r=%2Flab%2Fx%3Fa%3D1");
    fh_resp_free(&r);
    /* not in an enforced group, not enrolled: passes */
    protect(w, "dave", NULL, NULL, 0, &r);
    assert_int_equal(r.outcome, TS_PASS);
    assert_string_equal(r.status_var, "not-enrolled");
    fh_resp_free(&r);
}

static void
test_enroll_then_session_cookie(void **state)
{
    world *w = *state;
    fh_resp r;

    enroll(w, "alice");
    protect(w, "alice", w->cookie, NULL, 1, &r);
    assert_int_equal(r.outcome, TS_PASS);
    assert_string_equal(r.status_var, "verified");
    fh_resp_free(&r);
    /* no cookie: enrolled users verify */
    protect(w, "alice", NULL, NULL, 1, &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/twostep/verify?r=%2Flab%2Fx%3Fa%3D1");
    fh_resp_free(&r);
    /* the cookie is alice's: bob cannot use it */
    protect(w, "bob", w->cookie, NULL, 1, &r);
    assert_int_equal(r.status, 303);
    fh_resp_free(&r);
    /* the signed expiry: 12 h + 1 s later it no longer passes */
    protect(w, "alice", w->cookie, NULL, 12 * 3600 + 1, &r);
    assert_int_equal(r.status, 303);
    fh_resp_free(&r);
}

static void
test_verify_trust_replay_and_binding(void **state)
{
    world *w = *state;
    fh_resp r;
    char code[16], cookie[2048];

    enroll(w, "alice");
    /* the enrollment code's step is used: the same code is a replay */
    assert_int_equal(fh_oath(w->secret, T0, 6, 30, "sha1", code), 0);
    assert_int_equal(verify(w, "alice", code, 0, 0, &r), 403);
    assert_non_null(strstr(r.body, "didn"));
    fh_resp_free(&r);
    /* the next step's code, trusted */
    assert_int_equal(fh_oath(w->secret, T0 + 30, 6, 30, "sha1", code), 0);
    assert_int_equal(verify(w, "alice", code, 1, 0, &r), 303);
    assert_string_equal(r.location, "/lab/x");
    assert_non_null(strstr(r.set_cookie, "Max-Age=2592000"));
    assert_non_null(strstr(r.set_cookie, "HttpOnly"));
    assert_non_null(strstr(r.set_cookie, "SameSite=Lax"));
    fh_cookie_pair(&r, cookie, sizeof(cookie));
    fh_resp_free(&r);
    /* replayed again: refused */
    assert_int_equal(verify(w, "alice", code, 1, 1, &r), 403);
    fh_resp_free(&r);

    protect(w, "alice", cookie, NULL, 2, &r);
    assert_int_equal(r.outcome, TS_PASS);
    assert_string_equal(r.status_var, "trusted");
    fh_resp_free(&r);
    /* 29 days later still trusted; 31 days later not */
    protect(w, "alice", cookie, NULL, 29 * 86400, &r);
    assert_int_equal(r.outcome, TS_PASS);
    fh_resp_free(&r);
    protect(w, "alice", cookie, NULL, 31 * 86400, &r);
    assert_int_equal(r.status, 303);
    fh_resp_free(&r);
    /* bound to the address: another one is refused under exact */
    protect(w, "alice", cookie, "127.0.0.2", 3, &r);
    assert_int_equal(r.status, 303);
    fh_resp_free(&r);
}

static void
test_prefix_binding_accepts_neighbour(void **state)
{
    world *w = *state;
    fh_resp r;
    char code[16], cookie[2048];

    enroll(w, "alice");
    assert_int_equal(fh_oath(w->secret, T0 + 30, 6, 30, "sha1", code), 0);
    assert_int_equal(verify(w, "alice", code, 1, 0, &r), 303);
    fh_cookie_pair(&r, cookie, sizeof(cookie));
    fh_resp_free(&r);
    protect(w, "alice", cookie, "127.0.0.2", 1, &r);
    assert_int_equal(r.outcome, TS_PASS);
    fh_resp_free(&r);
    protect(w, "alice", cookie, "10.0.0.2", 1, &r);
    assert_int_equal(r.status, 303);
    fh_resp_free(&r);
}

static void
test_backup_code_once(void **state)
{
    world *w = *state;
    fh_resp r;
    char lower[16];
    size_t i;

    enroll(w, "alice");
    /* typed in lower case with spaces: still the code */
    for (i = 0; w->codes[3][i]; i++)
        lower[i] = (char)(w->codes[3][i] == '-' ? '+' : w->codes[3][i] | 0x20);
    lower[i] = '\0';
    assert_int_equal(verify(w, "alice", lower, 0, 0, &r), 303);
    fh_resp_free(&r);
    assert_int_equal(verify(w, "alice", w->codes[3], 0, 1, &r), 403);
    fh_resp_free(&r);
    assert_int_equal(verify(w, "alice", w->codes[4], 0, 2, &r), 303);
    fh_resp_free(&r);
}

static void
test_lockout_after_limit(void **state)
{
    world *w = *state;
    fh_resp r;
    int i;
    char code[16];

    enroll(w, "alice");
    for (i = 1; i <= 4; i++) {
        assert_int_equal(verify(w, "alice", "000000", 0, i, &r), 403);
        fh_resp_free(&r);
    }
    /* the fifth failure reaches the limit of 5 and locks */
    assert_int_equal(verify(w, "alice", "000000", 0, 5, &r), 429);
    assert_true(atoi(r.retry_after) > 800);
    assert_non_null(strstr(r.body, "minute"));
    fh_resp_free(&r);
    /* locked: even the right code is not checked */
    assert_int_equal(fh_oath(w->secret, T0 + 30, 6, 30, "sha1", code), 0);
    assert_int_equal(verify(w, "alice", code, 0, 6, &r), 429);
    fh_resp_free(&r);
    /* an administrator unlocks */
    assert_int_equal(fh_op(&w->env, TS_OP_UNLOCK, "alice", NULL, 0, NULL), 0);
    assert_int_equal(verify(w, "alice", code, 0, 7, &r), 303);
    fh_resp_free(&r);
}

static void
test_admin_disable_and_cache_revocation(void **state)
{
    world *w = *state;
    fh_resp r;
    char code[16], cookie[2048], csrf[128], body[256];
    fh_req adm = { PAGES("GET", "/twostep/admin"), .user = "alice", NOW(0) };

    enroll(w, "alice");
    assert_int_equal(fh_oath(w->secret, T0 + 30, 6, 30, "sha1", code), 0);
    assert_int_equal(verify(w, "alice", code, 1, 0, &r), 303);
    fh_cookie_pair(&r, cookie, sizeof(cookie));
    fh_resp_free(&r);

    /* a live cache answers without the store... */
    ts_cache_live(w->env.cache, 1);
    protect(w, "alice", cookie, NULL, 1, &r);   /* fills */
    assert_int_equal(r.outcome, TS_PASS);
    fh_resp_free(&r);
    fh_redis_cmd(&w->env, "CONFIG SET requirepass x");  /* store unusable */
    protect(w, "alice", cookie, NULL, 2, &r);
    assert_int_equal(r.outcome, TS_PASS);
    assert_string_equal(r.status_var, "trusted");
    fh_resp_free(&r);
    fh_redis_cmd(&w->env, "-a x CONFIG SET requirepass ''");

    /* non-admins get 403 on the admin page */
    fh_run(&w->env, &adm, &r);
    assert_int_equal(r.status, 403);
    fh_resp_free(&r);
    /* carol (admins) without 2-step of her own is sent to set it up: a
     * password alone does not reach the admin page */
    adm.user = "carol";
    fh_run(&w->env, &adm, &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/twostep/enroll?r=%2Ftwostep%2Fadmin");
    fh_resp_free(&r);
    enroll(w, "carol");
    /* enrolled but this browser not verified: sent to verify */
    fh_run(&w->env, &adm, &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/twostep/verify?r=%2Ftwostep%2Fadmin");
    fh_resp_free(&r);
    /* verified (the enrollment's session cookie): carol disables alice */
    adm.cookie = w->cookie;
    fh_run(&w->env, &adm, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "alice"));
    assert_int_equal(fh_input_value(r.body, "csrf", csrf, sizeof(csrf)), 0);
    fh_resp_free(&r);
    {
        fh_req post = { PAGES("POST", "/twostep/admin/disable"),
                        .user = "carol", NOW(3) };
        snprintf(body, sizeof(body), "csrf=%s&user=alice", csrf);
        post.body = body;
        /* without carol's cookie the action is refused, nothing changes */
        fh_run(&w->env, &post, &r);
        assert_int_equal(r.status, 303);
        assert_non_null(strstr(r.location, "/twostep/verify"));
        fh_resp_free(&r);
        post.cookie = w->cookie;
        fh_run(&w->env, &post, &r);
        assert_int_equal(r.status, 303);
        assert_string_equal(r.location,
                            "/twostep/admin?done=disabled&user=alice");
        fh_resp_free(&r);
        /* the page confirms it */
        adm.args = "done=disabled&user=alice";
        adm.now_ms = (T0 + 3) * 1000;
        fh_run(&w->env, &adm, &r);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "now off for alice"));
        fh_resp_free(&r);
    }
    /* the subscriber would deliver this message: */
    ts_cache_message(w->env.cache, "alice", 5);
    protect(w, "alice", cookie, NULL, 4, &r);
    assert_int_equal(r.outcome, TS_RESPOND);
    assert_int_equal(r.status, 303);
    assert_non_null(strstr(r.location, "/twostep/enroll"));
    fh_resp_free(&r);
}

static void
test_store_down_cookie_policy(void **state)
{
    world *w = *state;
    fh_resp r;

    enroll(w, "alice");
    fh_redis_stop(&w->env);
    protect(w, "alice", w->cookie, NULL, 1, &r);
    assert_int_equal(r.outcome, TS_PASS);
    assert_string_equal(r.status_var, "store-down");
    fh_resp_free(&r);
    protect(w, "alice", NULL, NULL, 1, &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "unavailable"));
    fh_resp_free(&r);
    /* back: works again without anything being restarted here */
    assert_int_equal(fh_redis_start(&w->env), 0);
    assert_int_equal(fh_op(&w->env, TS_OP_INIT, NULL, NULL, 0, NULL), 0);
    protect(w, "alice", NULL, NULL, 2, &r);
    assert_int_equal(r.status, 303);     /* data gone: fresh Redis, no user */
    fh_resp_free(&r);
}

static void
test_store_down_deny_policy(void **state)
{
    world *w = *state;
    fh_resp r;

    enroll(w, "alice");
    fh_redis_stop(&w->env);
    protect(w, "alice", w->cookie, NULL, 1, &r);
    assert_int_equal(r.status, 503);
    fh_resp_free(&r);
    assert_int_equal(fh_redis_start(&w->env), 0);
}

static void
test_lost_marker_fails_closed(void **state)
{
    world *w = *state;
    fh_resp r;

    fh_redis_cmd(&w->env, "FLUSHALL");
    protect(w, "dave", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 503);
    fh_resp_free(&r);
    assert_int_equal(fh_op(&w->env, TS_OP_STATUS, "dave", NULL, 0, NULL), 2);
}

static void
test_csrf_and_return_paths(void **state)
{
    world *w = *state;
    fh_resp r;
    char csrf[128], code[16], body[512];
    static const char *hostile[] = { "%2F%2Fevil", "%2F%5Cevil", "https%3Aevil",
        "%2F%250d%250aX", "%2F%252F%252Fevil", "javascript%3Aalert(1)", NULL };
    const char *const *h;
    int64_t dt = 30;
    fh_req rq = { PAGES("POST", "/twostep/verify"), .user = "alice", NOW(0) };

    enroll(w, "alice");
    rq.body = "code=123456";
    fh_run(&w->env, &rq, &r);
    assert_int_equal(r.status, 400);
    fh_resp_free(&r);
    rq.body = "code=123456&csrf=1.abc.def";
    fh_run(&w->env, &rq, &r);
    assert_int_equal(r.status, 400);
    fh_resp_free(&r);
    /* bob's token is not alice's */
    get_csrf(w, "bob", csrf, sizeof(csrf));
    snprintf(body, sizeof(body), "code=123456&csrf=%s", csrf);
    rq.body = body;
    fh_run(&w->env, &rq, &r);
    assert_int_equal(r.status, 400);
    fh_resp_free(&r);

    get_csrf(w, "alice", csrf, sizeof(csrf));
    for (h = hostile; *h; h++, dt += 30) {
        assert_int_equal(fh_oath(w->secret, T0 + dt, 6, 30, "sha1", code), 0);
        snprintf(body, sizeof(body), "csrf=%s&code=%s&r=%s", csrf, code, *h);
        rq.body = body;
        rq.now_ms = (T0 + dt) * 1000;
        fh_run(&w->env, &rq, &r);
        assert_int_equal(r.status, 303);
        assert_string_equal(r.location, "/");
        fh_resp_free(&r);
    }
}

/* ---- concurrency: exactly one success -------------------------------- */

typedef struct {
    world      *w;
    const char *code;
    const char *csrf;
    int         status;
} racer;

static void *
race(void *arg)
{
    racer *x = arg;
    fh_resp r;
    char body[256];
    fh_req rq = { PAGES("POST", "/twostep/verify"), .user = "alice", NOW(1) };

    snprintf(body, sizeof(body), "csrf=%s&code=%s", x->csrf, x->code);
    rq.body = body;
    fh_run(&x->w->env, &rq, &r);
    x->status = r.status;
    fh_resp_free(&r);
    return NULL;
}

static void
run_race(world *w, const char *code)
{
    pthread_t th[8];
    racer x[8];
    char csrf[128];
    int i, ok = 0;

    get_csrf(w, "alice", csrf, sizeof(csrf));
    for (i = 0; i < 8; i++) {
        x[i] = (racer){ w, code, csrf, 0 };
        pthread_create(&th[i], NULL, race, &x[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += x[i].status == 303;
    }
    assert_int_equal(ok, 1);
    fh_redis_cmd(&w->env, "DEL 'twostep:{alice}:fail'");
}

static void
test_parallel_uses_count_once(void **state)
{
    world *w = *state;
    char code[16];

    enroll(w, "alice");
    run_race(w, w->codes[0]);
    assert_int_equal(fh_oath(w->secret, T0 + 30, 6, 30, "sha1", code), 0);
    run_race(w, code);
}

static void
test_disable_by_user_needs_code_and_policy(void **state)
{
    world *w = *state;
    fh_resp r;
    char csrf[128], body[256], code[16];
    fh_req rq = { PAGES("POST", "/twostep/disable"), .user = "dave", NOW(0) };

    enroll(w, "dave");       /* staff: not enforced */
    get_csrf(w, "dave", csrf, sizeof(csrf));
    snprintf(body, sizeof(body), "csrf=%s&code=999999", csrf);
    rq.body = body;
    /* a browser that did not pass the second step does not see the
     * account page, even to be told the code was wrong */
    fh_run(&w->env, &rq, &r);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/twostep/verify?r=%2Ftwostep%2F");
    fh_resp_free(&r);
    rq.cookie = w->cookie;
    fh_run(&w->env, &rq, &r);
    assert_int_equal(r.status, 403);
    fh_resp_free(&r);
    assert_int_equal(fh_oath(w->secret, T0 + 30, 6, 30, "sha1", code), 0);
    snprintf(body, sizeof(body), "csrf=%s&code=%s", csrf, code);
    fh_run(&w->env, &rq, &r);
    assert_int_equal(r.status, 303);
    assert_non_null(strstr(r.set_cookie, "Max-Age=0"));
    fh_resp_free(&r);
    protect(w, "dave", w->cookie, NULL, 1, &r);
    assert_int_equal(r.outcome, TS_PASS);
    assert_string_equal(r.status_var, "not-enrolled");
    fh_resp_free(&r);

    /* alice's group requires 2-step: she cannot turn it off */
    enroll(w, "alice");
    get_csrf(w, "alice", csrf, sizeof(csrf));
    assert_int_equal(fh_oath(w->secret, T0 + 30, 6, 30, "sha1", code), 0);
    snprintf(body, sizeof(body), "csrf=%s&code=%s", csrf, code);
    rq.user = "alice";
    rq.cookie = w->cookie;
    fh_run(&w->env, &rq, &r);
    assert_int_equal(r.status, 403);
    fh_resp_free(&r);
}

static void
test_ctl_enroll_import_and_verify(void **state)
{
    world *w = *state;
    char code[16], *text = NULL;
    const char *b32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    assert_int_equal(fh_op(&w->env, TS_OP_ENROLL, "erin", b32, T0 * 1000,
                           &text), 0);
    assert_non_null(strstr(text, "otpauth://totp/"));
    free(text);
    assert_int_equal(fh_op(&w->env, TS_OP_ENROLL, "erin", b32, T0 * 1000,
                           NULL), 1);
    assert_int_equal(fh_oath(b32, T0, 6, 30, "sha1", code), 0);
    assert_int_equal(fh_op(&w->env, TS_OP_VERIFY, "erin", code, T0 * 1000,
                           NULL), 0);
    assert_int_equal(fh_op(&w->env, TS_OP_VERIFY, "erin", code, T0 * 1000,
                           NULL), 1);
    assert_int_equal(fh_op(&w->env, TS_OP_DISABLE, "erin", NULL, 0, NULL), 0);
    assert_int_equal(fh_op(&w->env, TS_OP_DISABLE, "erin", NULL, 0, NULL), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enforced_user_goes_to_enrollment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_then_session_cookie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_trust_replay_and_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_binding_accepts_neighbour, setup_prefix, teardown),
        cmocka_unit_test_setup_teardown(test_backup_code_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lockout_after_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_disable_and_cache_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_down_cookie_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_down_deny_policy, setup_deny, teardown),
        cmocka_unit_test_setup_teardown(test_lost_marker_fails_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csrf_and_return_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_uses_count_once, setup_many_attempts, teardown),
        cmocka_unit_test_setup_teardown(test_disable_by_user_needs_code_and_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctl_enroll_import_and_verify, setup, teardown),
    };
    T0 = (int64_t)time(NULL);
    T0 = T0 - T0 % 30 + 5;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
