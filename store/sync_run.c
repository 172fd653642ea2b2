/* ts_sync_run: drives a txn to TS_DONE on the blocking pool. Each batch the
 * txn asks for is one pipeline on one connection; the replies are copied
 * into the txn's arena so they die with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store_sync.h"
#include "sync_internal.h"
#include "ts_err.h"

/* A txn needs a handful of round trips; more means a loop in the core, and
 * a connector must not spin on it forever. */
#define MAX_ROUNDS 64

static ts_reply *
txn_node(void *ctx, ts_reply_type type)
{
    return ts_txn_reply_new(ctx, type);
}

static int
txn_str(void *ctx, ts_reply *r, const char *s, size_t n)
{
    return ts_txn_reply_set_str(ctx, r, s, n);
}

static int
txn_elems(void *ctx, ts_reply *r, size_t n)
{
    return ts_txn_reply_set_elems(ctx, r, n);
}

/* Runs the txn's current batch; 0, or TS_ESTORE with why filled. */
static int
run_batch(ts_sync *s, ts_txn *t, char *why, size_t whylen)
{
    const ts_reply_alloc arena = { txn_node, txn_str, txn_elems, NULL, t };
    size_t n = ts_txn_ncmds(t), i;
    int *argc = NULL;
    const char *const **argv = NULL;
    const size_t **lens = NULL;
    redisReply **raw = NULL;
    ts_reply *holder;
    int rc = TS_ENOMEM;

    if (n == 0) {
        snprintf(why, whylen, "the core asked for an empty batch");
        return TS_ESTORE;
    }
    /* The reply vector lives in the txn too: the core may keep it. */
    holder = ts_txn_reply_new(t, TS_REPLY_ARRAY);
    argc = calloc(n, sizeof(*argc));
    argv = calloc(n, sizeof(*argv));
    lens = calloc(n, sizeof(*lens));
    raw = calloc(n, sizeof(*raw));
    if (holder == NULL || ts_txn_reply_set_elems(t, holder, n) != 0
        || argc == NULL || argv == NULL || lens == NULL || raw == NULL)
        goto out;
    for (i = 0; i < n; i++) {
        const ts_cmd *c = ts_txn_cmd(t, i);
        argc[i] = c->argc;
        argv[i] = c->argv;
        lens[i] = c->argvlen;
    }
    rc = ts_sync_pipeline(s, n, argc, argv, lens, raw, why, whylen);
    if (rc != TS_OK)
        goto out;
    for (i = 0; i < n && rc == TS_OK; i++) {
        holder->elem[i] = ts_reply_convert(raw[i], &arena);
        if (holder->elem[i] == NULL)
            rc = TS_ENOMEM;
    }
    for (i = 0; i < n; i++)
        freeReplyObject(raw[i]);
    if (rc == TS_OK)
        ts_txn_feed(t, holder->elem, n);
out:
    if (rc == TS_ENOMEM)
        snprintf(why, whylen, "out of memory");
    free(argc);
    free(argv);
    free(lens);
    free(raw);
    return rc == TS_OK ? TS_OK : TS_ESTORE;
}

int
ts_sync_run(ts_sync *s, ts_txn *t, char *why, size_t whylen)
{
    char scratch[256];
    int failed = 0, rounds = 0;

    if (why == NULL || whylen == 0) {
        why = scratch;
        whylen = sizeof(scratch);
    }
    why[0] = '\0';
    for (;;) {
        int r = ts_txn_run(t);
        if (r != TS_NEED_STORE)
            return failed ? TS_ESTORE : (r < 0 ? r : TS_OK);
        if (++rounds > MAX_ROUNDS) {
            if (rounds > MAX_ROUNDS + 1)
                return TS_ESTORE;   /* it ignored the failure: give up */
            snprintf(why, whylen, "too many store round trips");
            ts_txn_store_failed(t, why);
            failed = 1;
            continue;
        }
        if (run_batch(s, t, why, whylen) != TS_OK) {
            ts_txn_store_failed(t, why);
            failed = 1;
        }
    }
}
