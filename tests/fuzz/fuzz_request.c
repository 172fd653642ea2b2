/* Fuzzes the whole decision: a request whose user, path, query, Cookie
 * header and body come from the input, in protect and pages mode, against
 * a fake store whose replies (type and value) also come from the input.
 * Properties: the engine always ends (bounded rounds), never crashes, and
 * its decision is well formed: PASS only in protect mode, a RESPOND status
 * between 200 and 599, every header named and valued, a Location local. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "twostep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static ts_config cfg;
static int ready;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/twostep-fuzz-XXXXXX", path[64], gpath[64], err[256];
    const char *v[1];
    ts_buf key;
    FILE *f;

    if (mkdtemp(dir) == NULL)
        return 0;
    snprintf(path, sizeof(path), "%s/keys", dir);
    snprintf(gpath, sizeof(gpath), "%s/groups", dir);
    ts_buf_init(&key);
    ts_keygen_line(&key);
    if ((f = fopen(path, "w")) == NULL)
        return 0;
    fputs(ts_buf_str(&key), f);
    fclose(f);
    chmod(path, 0600);
    ts_buf_free(&key);
    if ((f = fopen(gpath, "w")) == NULL)
        return 0;
    fputs("lab: alice bob\nadmins: alice\n", f);
    fclose(f);
    ts_config_init(&cfg);
    v[0] = "on";
    ts_config_set(&cfg, "twostep", 1, v, err, sizeof(err));
    v[0] = path;
    ts_config_set(&cfg, "twostep_key_file", 1, v, err, sizeof(err));
    v[0] = gpath;
    ts_config_set(&cfg, "twostep_group_file", 1, v, err, sizeof(err));
    v[0] = "lab";
    ts_config_set(&cfg, "twostep_enforce_groups", 1, v, err, sizeof(err));
    v[0] = "admins";
    ts_config_set(&cfg, "twostep_admin_groups", 1, v, err, sizeof(err));
    ready = ts_config_finish(&cfg, "fuzz", err, sizeof(err)) == 0;
    return 0;
}

/* The next NUL-separated piece of the input (a copy), or "". */
static char *
piece(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
    size_t n = z ? (size_t)(z - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);

    memcpy(s, *p, n);
    s[n] = '\0';
    *p += n + (z ? 1 : 0);
    return s;
}

static uint8_t
next_byte(const uint8_t **p, const uint8_t *end)
{
    return *p < end ? *(*p)++ : 0;
}

/* A reply chosen by the input: nil, 0/1 integers, a short string, an error,
 * or an array of such. */
static ts_reply *
fake_reply(ts_txn *t, const uint8_t **p, const uint8_t *end, int depth)
{
    static const char *strs[] = { "1", "0", "7", "-1", "sealed", "a|b|c|d" };
    uint8_t b = next_byte(p, end);
    ts_reply *r;
    size_t i, n;

    switch (b % 6) {
    case 0:
        return ts_txn_reply_new(t, TS_REPLY_NIL);
    case 1:
        r = ts_txn_reply_new(t, TS_REPLY_INTEGER);
        r->integer = (long long)(b >> 3) - 8;
        return r;
    case 2:
        r = ts_txn_reply_new(t, TS_REPLY_STRING);
        ts_txn_reply_set_str(t, r, strs[(b >> 3) % 6],
                             strlen(strs[(b >> 3) % 6]));
        return r;
    case 3:
        r = ts_txn_reply_new(t, TS_REPLY_ERROR);
        ts_txn_reply_set_str(t, r, "ERR fuzz", 8);
        return r;
    default:
        r = ts_txn_reply_new(t, TS_REPLY_ARRAY);
        n = depth > 1 ? 0 : (b >> 3) % 9;
        ts_txn_reply_set_elems(t, r, n);
        for (i = 0; i < n; i++)
            r->elem[i] = fake_reply(t, p, end, depth + 1);
        return r;
    }
}

static void
check_response(const ts_response *r, ts_mode mode)
{
    size_t i;

    if (r->outcome == TS_PASS) {
        if (mode != TS_MODE_PROTECT)
            abort();
        return;
    }
    if (r->status < 200 || r->status > 599 || r->nheaders > TS_MAX_HEADERS)
        abort();
    for (i = 0; i < r->nheaders; i++) {
        if (r->headers[i].name == NULL || r->headers[i].value == NULL ||
            strpbrk(r->headers[i].value, "\r\n") != NULL)
            abort();
        if (strcmp(r->headers[i].name, "Location") == 0 &&
            (r->headers[i].value[0] != '/' || r->headers[i].value[1] == '/' ||
             r->headers[i].value[1] == '\\'))
            abort();
    }
    if (r->body_len && r->body == NULL)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    ts_request req;
    ts_txn *t;
    ts_mode mode;
    uint8_t flags;
    char *user, *uri, *args, *cookie, *body;
    int rounds = 0;

    if (!ready || size < 1)
        return 0;
    flags = next_byte(&p, end);
    mode = (flags & 1) ? TS_MODE_PAGES : TS_MODE_PROTECT;
    user = piece(&p, end);
    uri = piece(&p, end);
    args = piece(&p, end);
    cookie = piece(&p, end);
    body = piece(&p, end);
    memset(&req, 0, sizeof(req));
    req.user = user;
    req.client_ip = (flags & 2) ? "2001:db8::1" : "192.0.2.7";
    req.method = (flags & 4) ? "POST" : (flags & 8) ? "HEAD" : "GET";
    req.uri = uri;
    req.args = args[0] ? args : NULL;
    req.cookie = cookie[0] ? cookie : NULL;
    req.body = body;
    req.body_len = strlen(body);
    req.content_type = (flags & 16) ? "text/plain"
                                    : "application/x-www-form-urlencoded";
    req.user_agent = "fuzz";
    req.https = (flags & 32) != 0;
    req.now_ms = 1800000000000LL;
    t = ts_txn_new(&cfg, NULL, mode, &req, NULL, NULL);
    if (t != NULL) {
        while (ts_txn_run(t) == TS_NEED_STORE) {
            size_t i, n = ts_txn_ncmds(t);
            ts_reply **rep;

            if (++rounds > 16)
                abort();            /* a decision takes a few rounds */
            if (next_byte(&p, end) == 0xff) {
                ts_txn_store_failed(t, "fuzz");
                continue;
            }
            rep = calloc(n ? n : 1, sizeof(*rep));
            for (i = 0; i < n; i++)
                rep[i] = fake_reply(t, &p, end, 0);
            ts_txn_feed(t, rep, n);
            free(rep);
        }
        check_response(ts_txn_response(t), mode);
        ts_txn_free(t);
    }
    free(user);
    free(uri);
    free(args);
    free(cookie);
    free(body);
    return 0;
}
