/* The blocking executor against real redis-server processes this test
 * starts on free loopback ports (temp dirs, stopped by PID): commands,
 * binary safety, errors, timeouts on a frozen Redis, reconnects, AUTH,
 * SELECT, unix sockets, Sentinel, the pool under threads, ts_sync_run on
 * admin ops, and the invalidation subscriber. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "store_sync.h"
#include "twostep.h"
#include "ts_buf.h"
#include "ts_err.h"
#include "keys.h"

/* ---- redis-server processes ----------------------------------------------- */

typedef struct {
    pid_t pid;
    int   port;
    char  dir[128];
    char  sock[160];
} server;

static char tmp_root[64];

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int
free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int
port_answers(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    char buf[16] = { 0 };

    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0
         && write(fd, "PING\r\n", 6) == 6 && read(fd, buf, sizeof(buf) - 1) > 0
         && (buf[0] == '+' || buf[0] == '-');   /* -NOAUTH is alive too */
    close(fd);
    return ok;
}

/* argv after redis-server, NULL-terminated. */
static void
spawn(server *s, const char *const *argv)
{
    int i;

    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execv("/usr/bin/redis-server", (char *const *)argv);
        _exit(127);
    }
    for (i = 0; i < 200 && !port_answers(s->port); i++)
        sleep_ms(25);
    assert_true(port_answers(s->port));
}

static void
redis_start(server *s, const char *password, int with_socket)
{
    char port[16];
    const char *argv[24];
    int n = 0;

    if (s->port == 0) {
        s->port = free_port();
        snprintf(s->dir, sizeof(s->dir), "%s/r%d", tmp_root, s->port);
        mkdir(s->dir, 0700);
        snprintf(s->sock, sizeof(s->sock), "%s/redis.sock", s->dir);
    }
    snprintf(port, sizeof(port), "%d", s->port);
    argv[n++] = "redis-server";
    argv[n++] = "--port";       argv[n++] = port;
    argv[n++] = "--bind";       argv[n++] = "127.0.0.1";
    argv[n++] = "--dir";        argv[n++] = s->dir;
    argv[n++] = "--save";       argv[n++] = "";
    argv[n++] = "--appendonly"; argv[n++] = "no";
    if (password != NULL) {
        argv[n++] = "--requirepass"; argv[n++] = password;
    }
    if (with_socket) {
        argv[n++] = "--unixsocket"; argv[n++] = s->sock;
    }
    argv[n] = NULL;
    spawn(s, argv);
}

static void
redis_stop(server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGCONT);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

/* A sentinel monitoring 127.0.0.1:master_port as "m". */
static void
sentinel_start(server *s, int master_port)
{
    char conf[200];
    const char *argv[4];
    FILE *f;

    s->port = free_port();
    snprintf(s->dir, sizeof(s->dir), "%s/s%d", tmp_root, s->port);
    mkdir(s->dir, 0700);
    snprintf(conf, sizeof(conf), "%s/sentinel.conf", s->dir);
    f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "port %d\nbind 127.0.0.1\ndir %s\n"
            "sentinel monitor m 127.0.0.1 %d 1\n", s->port, s->dir,
            master_port);
    fclose(f);
    argv[0] = "redis-server";
    argv[1] = conf;
    argv[2] = "--sentinel";
    argv[3] = NULL;
    spawn(s, argv);
}

/* ---- helpers ---------------------------------------------------------------- */

static server main_redis;

static ts_redis_url
tcp_url(int port)
{
    ts_redis_url u;

    memset(&u, 0, sizeof(u));
    u.kind = TS_REDIS_TCP;
    snprintf(u.host, sizeof(u.host), "127.0.0.1");
    u.port = port;
    return u;
}

/* Runs a command given as strings; returns the rc. */
static int
cmd(ts_sync *s, ts_reply **r, char *why, size_t whylen, int argc, ...)
{
    const char *argv[16];
    va_list ap;
    int i;

    va_start(ap, argc);
    for (i = 0; i < argc && i < 16; i++)
        argv[i] = va_arg(ap, const char *);
    va_end(ap);
    return ts_sync_command(s, argc, argv, NULL, r, why, whylen);
}

static void
expect_status(ts_sync *s, const char *want, int argc, ...)
{
    const char *argv[16];
    ts_reply *r = NULL;
    char why[256];
    va_list ap;
    int i;

    va_start(ap, argc);
    for (i = 0; i < argc && i < 16; i++)
        argv[i] = va_arg(ap, const char *);
    va_end(ap);
    assert_int_equal(ts_sync_command(s, argc, argv, NULL, &r, why,
                                     sizeof(why)), TS_OK);
    assert_non_null(r);
    assert_int_equal(r->type, TS_REPLY_STATUS);
    assert_string_equal(r->str, want);
    ts_sync_reply_free(r);
}

static int
setup_main(void **state)
{
    (void)state;
    memset(&main_redis, 0, sizeof(main_redis));
    redis_start(&main_redis, NULL, 1);
    return 0;
}

static int
teardown_main(void **state)
{
    (void)state;
    redis_stop(&main_redis);
    return 0;
}

/* ---- tests -------------------------------------------------------------------- */

static void
test_ping(void **state)
{
    ts_redis_url u = tcp_url(main_redis.port);
    ts_sync *s = ts_sync_new(&u, 500, 2);

    (void)state;
    assert_non_null(s);
    expect_status(s, "PONG", 1, "PING");
    ts_sync_free(s);
}

static void
test_new_refuses_bad_args(void **state)
{
    ts_redis_url u = tcp_url(main_redis.port);

    (void)state;
    assert_null(ts_sync_new(&u, 500, 0));
    assert_null(ts_sync_new(NULL, 500, 1));
}

static void
test_binary_safe(void **state)
{
    static const char key[] = "ts-test:\0key";
    static const char val[] = "a\0b\r\n\0\xff$3\r\n";
    const char *argv[3] = { "SET", key, val };
    size_t lens[3] = { 3, sizeof(key) - 1, sizeof(val) - 1 };
    ts_redis_url u = tcp_url(main_redis.port);
    ts_sync *s = ts_sync_new(&u, 500, 1);
    ts_reply *r = NULL;

    (void)state;
    assert_int_equal(ts_sync_command(s, 3, argv, lens, &r, NULL, 0), TS_OK);
    assert_int_equal(r->type, TS_REPLY_STATUS);
    ts_sync_reply_free(r);
    argv[0] = "GET";
    lens[0] = 3;
    assert_int_equal(ts_sync_command(s, 2, argv, lens, &r, NULL, 0), TS_OK);
    assert_int_equal(r->type, TS_REPLY_STRING);
    assert_int_equal(r->len, sizeof(val) - 1);
    assert_memory_equal(r->str, val, sizeof(val) - 1);
    assert_int_equal(r->str[r->len], '\0');
    ts_sync_reply_free(r);
    /* The key without its NUL tail is another key. */
    lens[1] = strlen(key);
    assert_int_equal(ts_sync_command(s, 2, argv, lens, &r, NULL, 0), TS_OK);
    assert_int_equal(r->type, TS_REPLY_NIL);
    ts_sync_reply_free(r);
    ts_sync_free(s);
}

static void
test_eval_tree_and_types(void **state)
{
    ts_redis_url u = tcp_url(main_redis.port);
    ts_sync *s = ts_sync_new(&u, 500, 1);
    ts_reply *r = NULL;
    char why[256];

    (void)state;
    assert_int_equal(cmd(s, &r, why, sizeof(why), 3, "EVAL",
                         "return {7, 'two', {-3, 'x'}, false, 'end'}", "0"),
                     TS_OK);
    assert_int_equal(r->type, TS_REPLY_ARRAY);
    /* Lua stops an array at the first nil (false becomes nil). */
    assert_int_equal(r->n, 5);
    assert_int_equal(r->elem[0]->type, TS_REPLY_INTEGER);
    assert_int_equal(r->elem[0]->integer, 7);
    assert_int_equal(r->elem[1]->type, TS_REPLY_STRING);
    assert_string_equal(r->elem[1]->str, "two");
    assert_int_equal(r->elem[2]->type, TS_REPLY_ARRAY);
    assert_int_equal(r->elem[2]->n, 2);
    assert_int_equal(r->elem[2]->elem[0]->integer, -3);
    assert_string_equal(r->elem[2]->elem[1]->str, "x");
    assert_int_equal(r->elem[3]->type, TS_REPLY_NIL);
    assert_string_equal(r->elem[4]->str, "end");
    ts_sync_reply_free(r);

    assert_int_equal(cmd(s, &r, why, sizeof(why), 2, "SET", "ts-test:n"),
                     TS_OK);
    assert_int_equal(r->type, TS_REPLY_ERROR);   /* a reply, not a failure */
    ts_sync_reply_free(r);
    assert_int_equal(cmd(s, &r, why, sizeof(why), 3, "EVAL",
                         "return redis.error_reply('boom')", "0"), TS_OK);
    assert_int_equal(r->type, TS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "boom"));
    ts_sync_reply_free(r);
    assert_int_equal(cmd(s, &r, why, sizeof(why), 1, "NOSUCHCOMMAND"), TS_OK);
    assert_int_equal(r->type, TS_REPLY_ERROR);
    ts_sync_reply_free(r);
    /* The connection survived the error replies. */
    expect_status(s, "PONG", 1, "PING");
    assert_int_equal(cmd(s, &r, why, sizeof(why), 2, "INCR", "ts-test:ctr"),
                     TS_OK);
    assert_int_equal(r->type, TS_REPLY_INTEGER);
    assert_true(r->integer >= 1);
    ts_sync_reply_free(r);
    ts_sync_free(s);
}

static void
test_large_value(void **state)
{
    size_t n = 4u << 20;
    char *big = malloc(n);
    const char *argv[3] = { "SET", "ts-test:big", big };
    size_t lens[3] = { 3, 11, n };
    ts_redis_url u = tcp_url(main_redis.port);
    ts_sync *s = ts_sync_new(&u, 2000, 1);
    ts_reply *r = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < n; i++)
        big[i] = (char)(i * 131 + 7);
    assert_int_equal(ts_sync_command(s, 3, argv, lens, &r, NULL, 0), TS_OK);
    ts_sync_reply_free(r);
    argv[0] = "GET";
    assert_int_equal(ts_sync_command(s, 2, argv, lens, &r, NULL, 0), TS_OK);
    assert_int_equal(r->len, n);
    assert_memory_equal(r->str, big, n);
    ts_sync_reply_free(r);
    ts_sync_free(s);
    free(big);
}

static void
test_timeout_then_recovery(void **state)
{
    ts_redis_url u = tcp_url(main_redis.port);
    ts_sync *s = ts_sync_new(&u, 300, 1);
    ts_reply *r = NULL;
    char why[256] = "";
    int64_t t0;

    (void)state;
    expect_status(s, "PONG", 1, "PING");
    kill(main_redis.pid, SIGSTOP);
    t0 = now_ms();
    assert_int_equal(cmd(s, &r, why, sizeof(why), 1, "PING"), TS_ESTORE);
    assert_null(r);
    assert_true(now_ms() - t0 < 1500);
    assert_true(now_ms() - t0 >= 250);
    assert_true(why[0] != '\0');
    /* A fresh connection to a frozen Redis times out as well. */
    t0 = now_ms();
    assert_int_equal(cmd(s, &r, why, sizeof(why), 1, "PING"), TS_ESTORE);
    assert_true(now_ms() - t0 < 1500);
    kill(main_redis.pid, SIGCONT);
    expect_status(s, "PONG", 1, "PING");
    ts_sync_free(s);
}

static void
test_reconnect_after_restart(void **state)
{
    ts_redis_url u = tcp_url(main_redis.port);
    ts_sync *s = ts_sync_new(&u, 500, 2);
    ts_reply *r = NULL;
    char why[256] = "";

    (void)state;
    expect_status(s, "PONG", 1, "PING");
    redis_stop(&main_redis);
    assert_int_equal(cmd(s, &r, why, sizeof(why), 1, "PING"), TS_ESTORE);
    assert_non_null(strstr(why, "refused"));
    redis_start(&main_redis, NULL, 1);
    /* The first command after the restart works: no stale connection. */
    expect_status(s, "PONG", 1, "PING");
    /* A restart while a connection idles in the pool is noticed too. */
    redis_stop(&main_redis);
    redis_start(&main_redis, NULL, 1);
    expect_status(s, "PONG", 1, "PING");
    ts_sync_free(s);
}

static void
test_auth(void **state)
{
    server a;
    ts_redis_url u;
    ts_sync *s;
    ts_reply *r = NULL;
    char why[256] = "";

    (void)state;
    memset(&a, 0, sizeof(a));
    redis_start(&a, "s3cret pass", 0);
    u = tcp_url(a.port);
    snprintf(u.password, sizeof(u.password), "s3cret pass");
    s = ts_sync_new(&u, 500, 1);
    expect_status(s, "PONG", 1, "PING");
    ts_sync_free(s);

    snprintf(u.password, sizeof(u.password), "wrong");
    s = ts_sync_new(&u, 500, 1);
    assert_int_equal(cmd(s, &r, why, sizeof(why), 1, "PING"), TS_ESTORE);
    assert_non_null(strstr(why, "AUTH"));
    ts_sync_free(s);

    u.password[0] = '\0';
    s = ts_sync_new(&u, 500, 1);
    assert_int_equal(cmd(s, &r, why, sizeof(why), 1, "PING"), TS_OK);
    assert_int_equal(r->type, TS_REPLY_ERROR);   /* NOAUTH */
    ts_sync_reply_free(r);
    ts_sync_free(s);
    redis_stop(&a);
}

static void
test_select_db(void **state)
{
    ts_redis_url u0 = tcp_url(main_redis.port), u3 = u0;
    ts_sync *s0, *s3;
    ts_reply *r = NULL;
    char why[256];

    (void)state;
    u3.db = 3;
    s0 = ts_sync_new(&u0, 500, 1);
    s3 = ts_sync_new(&u3, 500, 1);
    assert_int_equal(cmd(s0, &r, why, sizeof(why), 2, "DEL", "ts-test:db"),
                     TS_OK);
    ts_sync_reply_free(r);
    expect_status(s3, "OK", 3, "SET", "ts-test:db", "three");
    assert_int_equal(cmd(s0, &r, why, sizeof(why), 2, "GET", "ts-test:db"),
                     TS_OK);
    assert_int_equal(r->type, TS_REPLY_NIL);
    ts_sync_reply_free(r);
    assert_int_equal(cmd(s3, &r, why, sizeof(why), 2, "GET", "ts-test:db"),
                     TS_OK);
    assert_string_equal(r->str, "three");
    ts_sync_reply_free(r);
    /* A database Redis does not have fails the connect. */
    u3.db = 99;
    ts_sync_free(s3);
    s3 = ts_sync_new(&u3, 500, 1);
    assert_int_equal(cmd(s3, &r, why, sizeof(why), 1, "PING"), TS_ESTORE);
    assert_non_null(strstr(why, "SELECT"));
    ts_sync_free(s3);
    ts_sync_free(s0);
}

static void
test_unix_socket(void **state)
{
    ts_redis_url u;
    ts_sync *s;
    ts_reply *r = NULL;
    char why[256] = "";

    (void)state;
    memset(&u, 0, sizeof(u));
    u.kind = TS_REDIS_UNIX;
    snprintf(u.path, sizeof(u.path), "%s", main_redis.sock);
    s = ts_sync_new(&u, 500, 1);
    expect_status(s, "PONG", 1, "PING");
    ts_sync_free(s);
    snprintf(u.path, sizeof(u.path), "%s/none.sock", tmp_root);
    s = ts_sync_new(&u, 500, 1);
    assert_int_equal(cmd(s, &r, why, sizeof(why), 1, "PING"), TS_ESTORE);
    assert_non_null(strstr(why, "unix:"));
    ts_sync_free(s);
}

static void
test_sentinel(void **state)
{
    server sen;
    ts_redis_url u;
    ts_sync *s;
    ts_reply *r = NULL;
    char why[256] = "";

    (void)state;
    memset(&sen, 0, sizeof(sen));
    sentinel_start(&sen, main_redis.port);
    memset(&u, 0, sizeof(u));
    u.kind = TS_REDIS_SENTINEL;
    /* The first sentinel is down: the second one answers. */
    snprintf(u.sentinels[0].host, sizeof(u.sentinels[0].host), "127.0.0.1");
    u.sentinels[0].port = free_port();
    snprintf(u.sentinels[1].host, sizeof(u.sentinels[1].host), "127.0.0.1");
    u.sentinels[1].port = sen.port;
    u.nsentinels = 2;
    snprintf(u.master, sizeof(u.master), "m");
    s = ts_sync_new(&u, 500, 1);
    expect_status(s, "OK", 3, "SET", "ts-test:sentinel", "via");
    assert_int_equal(cmd(s, &r, why, sizeof(why), 2, "GET",
                         "ts-test:sentinel"), TS_OK);
    assert_string_equal(r->str, "via");
    ts_sync_reply_free(r);
    ts_sync_free(s);

    snprintf(u.master, sizeof(u.master), "unknown");
    s = ts_sync_new(&u, 500, 1);
    assert_int_equal(cmd(s, &r, why, sizeof(why), 1, "PING"), TS_ESTORE);
    assert_non_null(strstr(why, "sentinel"));
    ts_sync_free(s);
    redis_stop(&sen);
}

typedef struct {
    ts_sync *s;
    int      failures;
} worker_arg;

static void *
worker(void *p)
{
    worker_arg *w = p;
    ts_reply *r;
    int i;

    for (i = 0; i < 50; i++) {
        r = NULL;
        if (cmd(w->s, &r, NULL, 0, 2, "INCR", "ts-test:pool") != TS_OK
            || r->type != TS_REPLY_INTEGER)
            w->failures++;
        ts_sync_reply_free(r);
    }
    return NULL;
}

static void
test_pool_threads(void **state)
{
    ts_redis_url u = tcp_url(main_redis.port);
    ts_sync *s = ts_sync_new(&u, 1000, 2);
    pthread_t th[8];
    worker_arg w[8];
    ts_reply *r = NULL;
    char why[256];
    int i;

    (void)state;
    assert_int_equal(cmd(s, &r, why, sizeof(why), 2, "DEL", "ts-test:pool"),
                     TS_OK);
    ts_sync_reply_free(r);
    for (i = 0; i < 8; i++) {
        w[i].s = s;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(cmd(s, &r, why, sizeof(why), 2, "GET", "ts-test:pool"),
                     TS_OK);
    assert_string_equal(r->str, "400");
    ts_sync_reply_free(r);
    /* Only pool_size connections were ever opened to Redis. */
    assert_int_equal(cmd(s, &r, why, sizeof(why), 2, "CLIENT", "LIST"), TS_OK);
    assert_int_equal(r->type, TS_REPLY_STRING);
    {
        int lines = 0;
        const char *p;
        for (p = r->str; (p = strstr(p, "cmd=")) != NULL; p++)
            lines++;
        assert_true(lines >= 1 && lines <= 2);
    }
    ts_sync_reply_free(r);
    ts_sync_free(s);
}

/* ---- ts_sync_run on admin operations (needs the engine) ------------------------ */

static ts_config cfg;

static void
make_config(int port)
{
    char path[128], redis[64], err[256];
    const char *a[1];
    ts_buf line;
    FILE *f;

    ts_buf_init(&line);
    assert_int_equal(ts_keygen_line(&line), TS_OK);
    snprintf(path, sizeof(path), "%s/keys", tmp_root);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(ts_buf_str(&line), f);
    fclose(f);
    chmod(path, 0600);
    ts_buf_free(&line);

    ts_config_init(&cfg);
    snprintf(redis, sizeof(redis), "redis://127.0.0.1:%d/0", port);
    a[0] = redis;
    assert_int_equal(ts_config_set(&cfg, "twostep_redis", 1, a, err,
                                   sizeof(err)), TS_OK);
    a[0] = path;
    assert_int_equal(ts_config_set(&cfg, "twostep_key_file", 1, a, err,
                                   sizeof(err)), TS_OK);
    a[0] = "ts-test-run:";
    assert_int_equal(ts_config_set(&cfg, "twostep_key_prefix", 1, a, err,
                                   sizeof(err)), TS_OK);
    a[0] = "on";
    assert_int_equal(ts_config_set(&cfg, "twostep", 1, a, err, sizeof(err)),
                     TS_OK);
    assert_int_equal(ts_config_finish(&cfg, "test", err, sizeof(err)), TS_OK);
}

static const ts_op_result *
run_op(ts_sync *s, ts_txn **t, ts_op_kind kind, const char *user, int *rc)
{
    ts_op op = { .kind = kind, .user = user, .actor = "test",
                 .now_ms = (int64_t)time(NULL) * 1000 };
    char why[256];

    *t = ts_txn_new_op(&cfg, &op, NULL, NULL);
    assert_non_null(*t);
    *rc = ts_sync_run(s, *t, why, sizeof(why));
    return ts_txn_op_result(*t);
}

static void
test_run_ops(void **state)
{
    ts_sync *s;
    ts_txn *t;
    const ts_op_result *res;
    ts_reply *r = NULL;
    int rc;

    (void)state;
    make_config(main_redis.port);
    s = ts_sync_new(&cfg.redis, 500, 1);

    res = run_op(s, &t, TS_OP_INIT, NULL, &rc);
    assert_int_equal(rc, TS_OK);
    assert_int_equal(res->exit_code, 0);
    assert_non_null(res->text);
    ts_txn_free(t);
    /* INIT wrote the marker under the prefix. */
    assert_int_equal(cmd(s, &r, NULL, 0, 2, "EXISTS", "ts-test-run:marker"),
                     TS_OK);
    assert_int_equal(r->integer, 1);
    ts_sync_reply_free(r);

    res = run_op(s, &t, TS_OP_STATUS, "nobody", &rc);
    assert_int_equal(rc, TS_OK);
    assert_int_equal(res->exit_code, 0);
    assert_non_null(res->json);
    assert_non_null(strstr(res->json, "nobody"));
    ts_txn_free(t);

    /* A frozen store: the txn is told, exit code 2. */
    kill(main_redis.pid, SIGSTOP);
    res = run_op(s, &t, TS_OP_STATUS, "nobody", &rc);
    kill(main_redis.pid, SIGCONT);
    assert_int_equal(rc, TS_ESTORE);
    assert_int_equal(res->exit_code, 2);
    ts_txn_free(t);

    /* And recovered without anything done. */
    res = run_op(s, &t, TS_OP_STATUS, "nobody", &rc);
    assert_int_equal(rc, TS_OK);
    assert_int_equal(res->exit_code, 0);
    ts_txn_free(t);
    ts_sync_free(s);
}

/* ---- the subscriber (needs the engine's cache) --------------------------------- */

static int
wait_live(ts_cache *c, int want, int max_ms)
{
    int64_t end = now_ms() + max_ms;

    while (now_ms() < end) {
        if (ts_cache_is_live(c) == want)
            return 1;
        sleep_ms(20);
    }
    return ts_cache_is_live(c) == want;
}

static void
test_subscriber(void **state)
{
    ts_redis_url u = tcp_url(main_redis.port);
    ts_cache *c = ts_cache_new(100);
    ts_subscriber *sub;
    ts_sync *s = ts_sync_new(&u, 500, 1);
    ts_reply *r = NULL;
    int64_t t0;

    (void)state;
    assert_non_null(c);
    assert_int_equal(ts_cache_is_live(c), 0);
    sub = ts_sync_subscriber_start(&u, 500, "ts-test:invalidate", c, NULL,
                                   NULL);
    assert_non_null(sub);
    assert_true(wait_live(c, 1, 2000));
    /* Messages are delivered (the cache takes user names). */
    assert_int_equal(cmd(s, &r, NULL, 0, 3, "PUBLISH", "ts-test:invalidate",
                         "alice"), TS_OK);
    assert_int_equal(r->integer, 1);
    ts_sync_reply_free(r);

    /* A frozen Redis is noticed within about a second. */
    kill(main_redis.pid, SIGSTOP);
    t0 = now_ms();
    assert_true(wait_live(c, 0, 2500));
    assert_true(now_ms() - t0 < 2000);
    kill(main_redis.pid, SIGCONT);
    assert_true(wait_live(c, 1, 3000));

    /* A restart is noticed and followed. */
    redis_stop(&main_redis);
    assert_true(wait_live(c, 0, 1500));
    redis_start(&main_redis, NULL, 1);
    assert_true(wait_live(c, 1, 3000));

    /* Stop is prompt even while connected. */
    t0 = now_ms();
    ts_sync_subscriber_stop(sub);
    assert_true(now_ms() - t0 < 500);
    assert_int_equal(ts_cache_is_live(c), 0);

    /* And while Redis is down. */
    sub = ts_sync_subscriber_start(&u, 500, "ts-test:invalidate", c, NULL,
                                   NULL);
    redis_stop(&main_redis);
    sleep_ms(300);
    t0 = now_ms();
    ts_sync_subscriber_stop(sub);
    assert_true(now_ms() - t0 < 800);
    redis_start(&main_redis, NULL, 1);
    ts_sync_free(s);
    ts_cache_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_new_refuses_bad_args),
        cmocka_unit_test(test_binary_safe),
        cmocka_unit_test(test_eval_tree_and_types),
        cmocka_unit_test(test_large_value),
        cmocka_unit_test(test_timeout_then_recovery),
        cmocka_unit_test(test_reconnect_after_restart),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_select_db),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_sentinel),
        cmocka_unit_test(test_pool_threads),
        cmocka_unit_test(test_run_ops),
        cmocka_unit_test(test_subscriber),
    };
    char cmdline[128];
    int rc;

    signal(SIGPIPE, SIG_IGN);
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/ts-store-sync-XXXXXX");
    if (mkdtemp(tmp_root) == NULL)
        return 1;
    rc = cmocka_run_group_tests(tests, setup_main, teardown_main);
    snprintf(cmdline, sizeof(cmdline), "rm -rf '%s'", tmp_root);
    if (system(cmdline) != 0)
        rc = rc ? rc : 1;
    return rc;
}
