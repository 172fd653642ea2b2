/* Micro-benchmarks of the twostep core, for `make bench`.
 *
 *   build/bench/microbench [SECONDS_PER_CASE [CASE]]
 *
 * Prints one line per case, "NAME NS_PER_OP OPS", each the median of five
 * timed batches (each batch runs for SECONDS_PER_CASE/5, default 0.5 s in
 * all). Cases:
 *   totp_verify      ts_totp_verify, SHA1, 6 digits, 30 s, window +-1 (a
 *                    wrong code: every step of the window is computed
 *                    anyway, so this is also the cost of a right one)
 *   cookie_decode    ts_cookie_decode of a valid trusted-device cookie
 *                    (parse + HMAC-SHA256 + constant-time compare)
 *   protect_cached   the whole valid-cookie decision a connector asks for:
 *                    ts_txn_new (protect mode) + ts_txn_run (cookie parse,
 *                    MAC, expiry/user/IP checks, cache hit) + ts_txn_free
 *   page_verify      ts_page_verify into a reused buffer
 *   page_enroll      ts_otpauth_uri + ts_qr_svg + ts_page_enroll (the
 *                    heaviest page)
 * Every case checks its own result once, so a broken setup fails loudly
 * instead of timing an error path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "config.h"
#include "cookie.h"
#include "keys.h"
#include "otp.h"
#include "otpauth.h"
#include "pages.h"
#include "qr_svg.h"
#include "ts_buf.h"
#include "ts_err.h"
#include "twostep.h"

#define BATCHES 5

typedef int (*bench_fn)(void *arg);

static double
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Runs fn in batches of doubling size until a batch lasts batch_s, then
 * BATCHES batches of that size; prints the median ns per call. */
static int
run_case(const char *name, bench_fn fn, void *arg, double batch_s)
{
    double per[BATCHES], t0, el = 0;
    long n = 16, i, total = 0;
    int b;

    if (fn(arg) != 0) {
        fprintf(stderr, "microbench: %s: the operation fails\n", name);
        return -1;
    }
    for (;;) {
        t0 = now_ns();
        for (i = 0; i < n; i++)
            fn(arg);
        el = now_ns() - t0;
        if (el >= batch_s * 1e9 / 4 || n > (1L << 30))
            break;
        n *= 2;
    }
    n = (long)((double)n * (batch_s * 1e9) / (el > 1 ? el : 1)) + 1;
    for (b = 0; b < BATCHES; b++) {
        t0 = now_ns();
        for (i = 0; i < n; i++)
            fn(arg);
        per[b] = (now_ns() - t0) / (double)n;
        total += n;
    }
    qsort(per, BATCHES, sizeof(per[0]), cmp_double);
    printf("%s %.1f %ld\n", name, per[BATCHES / 2], total);
    fflush(stdout);
    return 0;
}

/* ---- cases ---------------------------------------------------------- */

typedef struct {
    uint8_t key[20];
    int64_t now;
} totp_arg;

static int
bench_totp(void *p)
{
    totp_arg *a = p;
    int64_t step;
    int rc = ts_totp_verify(a->key, sizeof(a->key), TS_ALG_SHA1, 6, 30,
                            a->now, 1, "000000", 6, &step);

    /* "000000" may match by chance for some now; either answer is a full
     * window computation */
    return rc == TS_EMISMATCH || rc == TS_OK ? 0 : -1;
}

typedef struct {
    const ts_keyring *kr;
    const char       *val;
    size_t            len;
} cookie_arg;

static int
bench_cookie(void *p)
{
    cookie_arg *a = p;
    ts_cookie c;

    return ts_cookie_decode(a->kr, a->val, a->len, &c) == TS_OK ? 0 : -1;
}

typedef struct {
    const ts_config *cfg;
    ts_cache        *cache;
    ts_request       req;
} protect_arg;

static int
bench_protect(void *p)
{
    protect_arg *a = p;
    ts_txn *t = ts_txn_new(a->cfg, a->cache, TS_MODE_PROTECT, &a->req,
                           NULL, NULL);
    int ok;

    if (t == NULL)
        return -1;
    ok = ts_txn_run(t) == TS_DONE &&
         ts_txn_response(t)->outcome == TS_PASS &&
         strcmp(ts_txn_response(t)->status_var, "trusted") == 0;
    ts_txn_free(t);
    return ok ? 0 : -1;
}

typedef struct {
    ts_buf      out;
    ts_page_ctx ctx;
} page_arg;

static int
bench_page_verify(void *p)
{
    page_arg *a = p;

    ts_buf_reset(&a->out);
    return ts_page_verify(&a->out, &a->ctx, 30, NULL) == TS_OK &&
           a->out.len > 0 ? 0 : -1;
}

typedef struct {
    page_arg   page;
    ts_otpauth oa;
    ts_buf     uri, svg;
} enroll_arg;

static int
bench_page_enroll(void *p)
{
    enroll_arg *a = p;
    ts_enroll_view v;

    ts_buf_reset(&a->uri);
    ts_buf_reset(&a->svg);
    ts_buf_reset(&a->page.out);
    if (ts_otpauth_uri(&a->oa, &a->uri) != TS_OK ||
        ts_qr_svg(ts_buf_str(&a->uri), &a->svg) != TS_OK)
        return -1;
    memset(&v, 0, sizeof(v));
    v.uri = ts_buf_str(&a->uri);
    v.qr_svg = ts_buf_str(&a->svg);
    v.secret_b32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    v.alg_name = "SHA1";
    v.digits = 6;
    v.period = 30;
    return ts_page_enroll(&a->page.out, &a->page.ctx, &v, NULL) == TS_OK
           ? 0 : -1;
}

/* ---- setup ---------------------------------------------------------- */

static int
write_key_file(char *path, size_t cap)
{
    ts_buf line;
    FILE *f;
    int fd;

    snprintf(path, cap, "/tmp/twostep-microbench-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    f = fdopen(fd, "w");
    ts_buf_init(&line);
    if (f == NULL || ts_keygen_line(&line) != TS_OK) {
        ts_buf_free(&line);
        return -1;
    }
    fputs(ts_buf_str(&line), f);
    ts_buf_free(&line);
    return fclose(f) == 0 ? 0 : -1;
}

static int
setup_config(ts_config *cfg, const char *key_path)
{
    const char *on[] = { "on" };
    const char *kf[] = { key_path };
    char err[256];

    ts_config_init(cfg);
    if (ts_config_set(cfg, "twostep", 1, on, err, sizeof(err)) != TS_OK ||
        ts_config_set(cfg, "twostep_key_file", 1, kf, err, sizeof(err))
        != TS_OK ||
        ts_config_finish(cfg, "bench.example", err, sizeof(err)) != TS_OK) {
        fprintf(stderr, "microbench: config: %s\n", err);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    double per_case = argc > 1 ? atof(argv[1]) : 0.5;
    double batch_s = (per_case > 0 ? per_case : 0.5) / BATCHES;
    char key_path[64], cookie_hdr[TS_COOKIE_MAX + 16];
    ts_config cfg;
    ts_cookie c;
    ts_buf cv;
    ts_cache_entry e;
    totp_arg ta;
    cookie_arg ca;
    protect_arg pa;
    page_arg pg;
    enroll_arg ea;
    int rc = 0;

    if (write_key_file(key_path, sizeof(key_path)) != 0 ||
        setup_config(&cfg, key_path) != 0) {
        unlink(key_path);
        return 2;
    }
    unlink(key_path);

    memcpy(ta.key, "12345678901234567890", 20);
    ta.now = (int64_t)time(NULL);

    /* A trusted-device cookie as the verify page issues it. */
    memset(&c, 0, sizeof(c));
    c.kind = TS_COOKIE_DEVICE;
    strcpy(c.user, "bench");
    c.user_len = 5;
    if (ts_device_id_new(c.device) != TS_OK)
        return 2;
    c.issued = (int64_t)time(NULL);
    c.expires = c.issued + 30 * 86400;
    strcpy(c.bind, "127.0.0.1");
    c.epoch = 1;
    ts_buf_init(&cv);
    if (ts_cookie_encode(cfg.keys, &c, &cv) != TS_OK)
        return 2;
    ca.kr = cfg.keys;
    ca.val = ts_buf_str(&cv);
    ca.len = cv.len;

    /* The per-process cache as it is after the first request of the user. */
    pa.cfg = &cfg;
    pa.cache = ts_cache_new(1000);
    ts_cache_live(pa.cache, 1);
    memset(&e, 0, sizeof(e));
    e.enabled = 1;
    e.epoch = 1;
    e.ndevices = 1;
    strcpy(e.devices[0], c.device);
    ts_cache_fill(pa.cache, ts_cache_gen(pa.cache), "bench", &e);
    snprintf(cookie_hdr, sizeof(cookie_hdr), "other=1; twostep=%s",
             ts_buf_str(&cv));
    memset(&pa.req, 0, sizeof(pa.req));
    pa.req.user = "bench";
    pa.req.client_ip = "127.0.0.1";
    pa.req.method = "GET";
    pa.req.uri = "/ts/1k.html";
    pa.req.cookie = cookie_hdr;
    pa.req.user_agent = "wrk";
    pa.req.now_ms = (int64_t)time(NULL) * 1000;

    memset(&pg, 0, sizeof(pg));
    ts_buf_init(&pg.out);
    pg.ctx.base = "/twostep";
    pg.ctx.issuer = "Bench Lab";
    pg.ctx.user = "bench";
    pg.ctx.csrf = "1.1700000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    pg.ctx.ret = "/ts/1k.html";

    memset(&ea, 0, sizeof(ea));
    ea.page = pg;
    ts_buf_init(&ea.page.out);
    ts_buf_init(&ea.uri);
    ts_buf_init(&ea.svg);
    strcpy(ea.oa.issuer, "Bench Lab");
    strcpy(ea.oa.account, "bench");
    memcpy(ea.oa.secret, "12345678901234567890", 20);
    ea.oa.secret_len = 20;
    ea.oa.alg = TS_ALG_SHA1;
    ea.oa.digits = 6;
    ea.oa.period = 30;

    {
        /* one case only (argv[2]) is for profiling with perf/callgrind */
        const char *only = argc > 2 ? argv[2] : NULL;
        const struct { const char *name; bench_fn fn; void *arg; } cases[] = {
            { "totp_verify", bench_totp, &ta },
            { "cookie_decode", bench_cookie, &ca },
            { "protect_cached", bench_protect, &pa },
            { "page_verify", bench_page_verify, &pg },
            { "page_enroll", bench_page_enroll, &ea },
        };
        size_t i;

        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            if (only == NULL || strcmp(only, cases[i].name) == 0)
                rc |= run_case(cases[i].name, cases[i].fn, cases[i].arg,
                               batch_s);
    }

    ts_buf_free(&cv);
    ts_buf_free(&pg.out);
    ts_buf_free(&ea.page.out);
    ts_buf_free(&ea.uri);
    ts_buf_free(&ea.svg);
    ts_cache_free(pa.cache);
    return rc ? 1 : 0;
}
