/* Runs an admin operation of the core on the blocking store executor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "store_sync.h"
#include "ts_err.h"
#include "twostepctl.h"

static int
set1(ts_config *cfg, const char *directive, const char *value, char *err,
     size_t errlen)
{
    const char *argv[1] = { value };

    if (value == NULL)
        return 0;
    return ts_config_set(cfg, directive, 1, argv, err, errlen);
}

/* The same settings a web server would have, from options and env. */
static int
build_config(const ctl_opts *o, ts_config *cfg, char *err, size_t errlen)
{
    if (o->key_file == NULL) {
        snprintf(err, errlen, "no key file: give --key-file PATH or set "
                 "TWOSTEP_KEY_FILE");
        return -1;
    }
    ts_config_init(cfg);
    if (set1(cfg, "twostep_redis", o->redis, err, errlen) != 0
        || set1(cfg, "twostep_key_file", o->key_file, err, errlen) != 0
        || set1(cfg, "twostep_key_prefix", o->prefix, err, errlen) != 0
        || set1(cfg, "twostep_redis_timeout", o->timeout, err, errlen) != 0
        || set1(cfg, "twostep_digits", o->digits, err, errlen) != 0
        || set1(cfg, "twostep_period", o->period, err, errlen) != 0
        || set1(cfg, "twostep_algorithm", o->algorithm, err, errlen) != 0
        || set1(cfg, "twostep_issuer", o->issuer, err, errlen) != 0
        /* "on" makes the key file required, as on a protected location. */
        || set1(cfg, "twostep", "on", err, errlen) != 0)
        return -1;
    return ts_config_finish(cfg, "twostep", err, errlen) == 0 ? 0 : -1;
}

static const char *
actor(char *buf, size_t cap)
{
    const char *who = getenv("SUDO_USER");

    if (who == NULL || who[0] == '\0')
        who = getenv("USER");
    if (who == NULL || who[0] == '\0')
        who = "root";
    snprintf(buf, cap, "twostepctl:%.100s", who);
    return buf;
}

static int64_t
wall_ms(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Store warnings go to stderr; audit events are in the store already. */
static void
ctl_log(void *ctx, ts_log_level level, const char *msg)
{
    (void)ctx;
    if (level <= TS_LOG_WARN)
        fprintf(stderr, "twostepctl: %s\n", msg);
}

static int
print_result(const ctl_opts *o, const ts_op_result *res, int rc,
             const char *why)
{
    if (rc == TS_ESTORE && why[0] != '\0')
        fprintf(stderr, "twostepctl: store failure: %s\n", why);
    if (res == NULL) {
        fprintf(stderr, "twostepctl: the operation gave no result\n");
        return 2;
    }
    if (o->json) {
        printf("%s\n", res->json != NULL ? res->json : "{}");
    } else if (res->text != NULL) {
        /* A refusal is a message for the person, not output for a pipe. */
        fputs(res->text, res->exit_code == 0 ? stdout : stderr);
    }
    return res->exit_code >= 0 && res->exit_code <= 2 ? res->exit_code : 2;
}

int
ctl_run_op(const ctl_cmd *c, const ctl_opts *o)
{
    ts_config cfg;
    ts_op op;
    ts_sync *s;
    ts_txn *t;
    char err[512] = "", who[128];
    int rc, code;

    memset(&op, 0, sizeof(op));
    op.kind = c->kind;
    op.actor = actor(who, sizeof(who));
    op.now_ms = wall_ms();
    if (c->prepare(o, &op, err, sizeof(err)) != 0)
        return ctl_usage_error(c->name, err);
    if (build_config(o, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "twostepctl: %s\n", err);
        return 2;
    }
    s = ts_sync_new(&cfg.redis, cfg.redis_timeout_ms, 1);
    t = s != NULL ? ts_txn_new_op(&cfg, &op, ctl_log, NULL) : NULL;
    if (t == NULL) {
        fprintf(stderr, "twostepctl: out of memory\n");
        ts_sync_free(s);
        return 2;
    }
    rc = ts_sync_run(s, t, err, sizeof(err));
    fflush(stderr);
    code = print_result(o, ts_txn_op_result(t), rc, err);
    ts_txn_free(t);
    ts_sync_free(s);
    return code;
}
