/* See flow_harness.h. Included by the flow tests (one translation unit
 * per test binary, so it is #included rather than linked). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flow_harness.h"
#include "keys.h"

static int
free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int
fh_redis_cmd(fh_env *e, const char *cmd)
{
    char buf[512];

    snprintf(buf, sizeof(buf), "redis-cli -p %d %s >/dev/null 2>&1",
             e->port, cmd);
    return system(buf);
}

int
fh_redis_start(fh_env *e)
{
    char port[16];
    int i;

    snprintf(port, sizeof(port), "%d", e->port);
    e->pid = fork();
    if (e->pid == 0) {
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
               e->dir, "--logfile", "redis.log", (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 100; i++) {
        if (fh_redis_cmd(e, "PING") == 0)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

void
fh_redis_stop(fh_env *e)
{
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        waitpid(e->pid, NULL, 0);
        e->pid = 0;
    }
}

static int
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -1;
    fputs(text, f);
    fclose(f);
    return chmod(path, mode);
}

int
fh_setup(fh_env *e, const char *const *directives)
{
    char path[512], url[64], err[256];
    ts_buf key;
    const char *argv[8];

    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/twostep-flow-XXXXXX");
    if (mkdtemp(e->dir) == NULL || (e->port = free_port()) < 0)
        return -1;
    if (fh_redis_start(e) != 0)
        return -1;
    ts_buf_init(&key);
    ts_keygen_line(&key);
    snprintf(path, sizeof(path), "%s/keys", e->dir);
    write_file(path, ts_buf_str(&key), 0600);
    ts_buf_free(&key);
    snprintf(path, sizeof(path), "%s/groups", e->dir);
    write_file(path, "lab: alice bob carol\nadmins: carol\nstaff: dave\n",
               0644);

    ts_config_init(&e->cfg);
#define SET1(name, val) do { argv[0] = (val); \
        if (ts_config_set(&e->cfg, name, 1, argv, err, sizeof(err))) { \
            fprintf(stderr, "%s\n", err); return -1; } } while (0)
    SET1("twostep", "on");
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", e->port);
    SET1("twostep_redis", url);
    snprintf(path, sizeof(path), "%s/keys", e->dir);
    SET1("twostep_key_file", path);
    snprintf(path, sizeof(path), "%s/groups", e->dir);
    SET1("twostep_group_file", path);
    SET1("twostep_enforce_groups", "lab");
    SET1("twostep_admin_groups", "admins");
    SET1("twostep_issuer", "Flow Lab");
    for (; directives && *directives; directives++) {
        char copy[256], *tok, *save = NULL, *name;
        int argc = 0;

        snprintf(copy, sizeof(copy), "%s", *directives);
        name = strtok_r(copy, " ", &save);
        while ((tok = strtok_r(NULL, " ", &save)) != NULL && argc < 8)
            argv[argc++] = tok;
        if (ts_config_set(&e->cfg, name, argc, argv, err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
    }
    if (ts_config_finish(&e->cfg, "flowtest", err, sizeof(err)) != 0) {
        fprintf(stderr, "finish: %s\n", err);
        return -1;
    }
    e->sync = ts_sync_new(&e->cfg.redis, e->cfg.redis_timeout_ms, 8);
    e->cache = ts_cache_new(100);
    if (e->sync == NULL || e->cache == NULL)
        return -1;
    return fh_op(e, TS_OP_INIT, NULL, NULL, 0, NULL) == 0 ? 0 : -1;
}

void
fh_teardown(fh_env *e)
{
    char cmd[300];

    fh_redis_stop(e);
    if (e->sync)
        ts_sync_free(e->sync);
    if (e->cache)
        ts_cache_free(e->cache);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    if (strncmp(e->dir, "/tmp/twostep-flow-", 18) == 0)
        system(cmd);
}

int
fh_op(fh_env *e, ts_op_kind kind, const char *user, const char *arg,
      int64_t now_ms, char **text)
{
    ts_op op = { kind, user, arg, "flowtest", now_ms ? now_ms
                 : (int64_t)time(NULL) * 1000 };
    ts_txn *t = ts_txn_new_op(&e->cfg, &op, NULL, NULL);
    const ts_op_result *r;
    int code;

    if (t == NULL)
        return -1;
    ts_sync_run(e->sync, t, NULL, 0);
    r = ts_txn_op_result(t);
    code = r->exit_code;
    if (text)
        *text = strdup(r->text ? r->text : "");
    ts_txn_free(t);
    return code;
}

static void
copy_header(const ts_response *r, const char *name, char *out, size_t cap)
{
    size_t i;

    out[0] = '\0';
    for (i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) {
            snprintf(out, cap, "%s", r->headers[i].value);
            return;
        }
}

void
fh_run(fh_env *e, const fh_req *rq, fh_resp *out)
{
    ts_request req;
    ts_txn *t;
    const ts_response *r;

    memset(&req, 0, sizeof(req));
    req.user = rq->user ? rq->user : "alice";
    req.client_ip = rq->ip ? rq->ip : "127.0.0.1";
    req.method = rq->method ? rq->method : "GET";
    req.uri = rq->uri;
    req.args = rq->args;
    req.cookie = rq->cookie;
    req.body = rq->body;
    req.body_len = rq->body ? strlen(rq->body) : 0;
    req.content_type = rq->body ? "application/x-www-form-urlencoded" : NULL;
    req.user_agent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36";
    req.now_ms = rq->now_ms ? rq->now_ms : (int64_t)time(NULL) * 1000;
    t = ts_txn_new(&e->cfg, e->cache, rq->mode, &req, NULL, NULL);
    memset(out, 0, sizeof(*out));
    if (t == NULL)
        return;
    ts_sync_run(e->sync, t, NULL, 0);
    r = ts_txn_response(t);
    out->outcome = r->outcome;
    out->status = r->status;
    copy_header(r, "Location", out->location, sizeof(out->location));
    copy_header(r, "Set-Cookie", out->set_cookie, sizeof(out->set_cookie));
    copy_header(r, "Retry-After", out->retry_after, sizeof(out->retry_after));
    copy_header(r, "Content-Type", out->content_type,
                sizeof(out->content_type));
    snprintf(out->status_var, sizeof(out->status_var), "%s",
             r->status_var ? r->status_var : "");
    out->body = malloc(r->body_len + 1);
    if (out->body) {
        memcpy(out->body, r->body ? r->body : "", r->body_len);
        out->body[r->body_len] = '\0';
        out->body_len = r->body_len;
    }
    ts_txn_free(t);
}

void
fh_resp_free(fh_resp *r)
{
    free(r->body);
    r->body = NULL;
}

void
fh_cookie_pair(const fh_resp *r, char *out, size_t cap)
{
    const char *semi = strchr(r->set_cookie, ';');
    size_t n = semi ? (size_t)(semi - r->set_cookie) : strlen(r->set_cookie);

    if (n >= cap)
        n = cap - 1;
    memcpy(out, r->set_cookie, n);
    out[n] = '\0';
}

int
fh_input_value(const char *html, const char *name, char *out, size_t cap)
{
    char pat[64];
    const char *p, *v, *end;
    size_t n = 0;

    snprintf(pat, sizeof(pat), "name=\"%s\"", name);
    if (html == NULL || (p = strstr(html, pat)) == NULL)
        return -1;
    /* value="..." within the same tag */
    end = strchr(p, '>');
    v = strstr(p, "value=\"");
    if (v == NULL || (end && v > end)) {
        /* value may come before name in the tag */
        const char *tag = p;
        while (tag > html && *tag != '<')
            tag--;
        v = strstr(tag, "value=\"");
        if (v == NULL || v > end)
            return -1;
    }
    v += 7;
    while (*v && *v != '"' && n + 1 < cap) {
        if (strncmp(v, "&amp;", 5) == 0) {
            out[n++] = '&';
            v += 5;
        } else {
            out[n++] = *v++;
        }
    }
    out[n] = '\0';
    return 0;
}

int
fh_enroll_secret(const char *html, char *out, size_t cap)
{
    const char *p = html ? strstr(html, "secret=") : NULL;
    size_t n = 0;

    if (p == NULL)
        return -1;
    p += 7;
    while (((*p >= 'A' && *p <= 'Z') || (*p >= '2' && *p <= '7')) &&
           n + 1 < cap)
        out[n++] = *p++;
    out[n] = '\0';
    return n > 0 ? 0 : -1;
}

int
fh_oath(const char *b32, int64_t t, int digits, int period, const char *alg,
        char out[16])
{
    char cmd[512];
    FILE *p;
    int ok;

    snprintf(cmd, sizeof(cmd), "oathtool --totp=%s -d %d -s %d -b -N @%lld "
             "'%s' 2>/dev/null", alg ? alg : "sha1", digits, period,
             (long long)t, b32);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    ok = fgets(out, 16, p) != NULL;
    pclose(p);
    if (!ok)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return (int)strlen(out) == digits ? 0 : -1;
}
