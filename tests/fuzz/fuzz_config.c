/* Fuzzes directive parsing. The input is lines of "directive arg arg ...":
 * each line is set as written (so directive-name matching is fuzzed), and
 * its arguments are also given to every directive under both spellings.
 * Every token goes through ts_parse_duration_ms, every line through
 * ts_parse_redis_url. Properties: a message is always printable and
 * bounded, empty on success; after ts_config_finish every value is within
 * its documented bounds. Key and group files are not loaded (the input
 * names arbitrary paths). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ts_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 8

static const char *names[] = {
    "twostep", "twostep_pages", "twostep_path", "twostep_redis",
    "twostep_redis_timeout", "twostep_key_file", "twostep_issuer",
    "twostep_digits", "twostep_period", "twostep_algorithm", "twostep_skew",
    "twostep_trust_duration", "twostep_session_lifetime", "twostep_bind_ip",
    "twostep_group_file", "twostep_enforce_groups", "twostep_admin_groups",
    "twostep_max_attempts", "twostep_max_attempts_per_ip",
    "twostep_store_down", "twostep_key_prefix", "TwoStepBindIP",
    "TwoStepMaxAttemptsPerIP", "TwoStepRedis", "TwoStepSkew",
};

static void
check_err(int rc, const char *err)
{
    size_t i, n = strlen(err);

    if (rc == TS_OK && n != 0)
        abort();
    if (rc != TS_OK && n == 0)
        abort();
    for (i = 0; i < n; i++)
        if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] >= 0x7f)
            abort();
}

static void
check_finished(const ts_config *c)
{
    if (c->digits < 6 || c->digits > 8 || c->period < 1 || c->period > 300 ||
        c->skew < 0 || c->skew > 10 || c->alg < 0 || c->alg > 2)
        abort();
    if (c->redis_timeout_ms < 1 || c->redis_timeout_ms > 60000 ||
        c->trust_ms < 0 || c->session_ms < 1000)
        abort();
    if (c->max_user.max < 1 || c->max_user.max > 100000 ||
        c->max_ip.max < 1 || c->max_ip.window_ms < 1000 ||
        c->max_user.lockout_ms < 1000)
        abort();
    if (c->path == NULL || c->path[0] != '/' || c->prefix == NULL ||
        c->issuer == NULL || c->redis_text == NULL)
        abort();
    if (c->redis.db < 0 || c->redis.db > 15 || c->redis.nsentinels > 8)
        abort();
    if (c->bind.mode == TS_BIND_PREFIX &&
        (c->bind.v4bits < 0 || c->bind.v4bits > 32 || c->bind.v6bits < 0 ||
         c->bind.v6bits > 128))
        abort();
}

static void
one_line(ts_config *c, char *line)
{
    const char *argv[MAX_ARGS + 1], *why;
    char *tok, *save = NULL, err[256];
    ts_redis_url u;
    int64_t ms;
    int argc = 0, rc;
    size_t i;

    rc = ts_parse_redis_url(line, &u, &why);
    if (rc != TS_OK && (why == NULL || why[0] == '\0'))
        abort();
    if (rc == TS_OK && (u.db < 0 || u.db > 15 || u.nsentinels > 8))
        abort();
    for (tok = strtok_r(line, " \t", &save); tok && argc <= MAX_ARGS;
         tok = strtok_r(NULL, " \t", &save)) {
        argv[argc++] = tok;
        if (ts_parse_duration_ms(tok, &ms) == TS_OK &&
            (ms < 0 || ms > 10LL * 365 * 86400 * 1000))
            abort();
    }
    if (argc == 0)
        return;
    rc = ts_config_set(c, argv[0], argc - 1, argv + 1, err, sizeof(err));
    check_err(rc, err);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        rc = ts_config_set(c, names[i], argc - 1, argv + 1, err, sizeof(err));
        check_err(rc, err);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ts_config parent, child;
    char *text, *line, *save = NULL, err[512];
    int rc;

    if (size > 64 * 1024)
        return 0;
    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';   /* a NUL inside simply ends the text early */
    ts_config_init(&parent);
    ts_config_init(&child);
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        one_line(line[0] == '+' ? &child : &parent,
                 line[0] == '+' ? line + 1 : line);
    ts_config_merge(&child, &parent);
    child.key_file = child.group_file = NULL;
    child.on = child.pages = 0;
    rc = ts_config_finish(&child, "fuzz.example", err, sizeof(err));
    check_err(rc, err);
    if (rc == TS_OK)
        check_finished(&child);
    ts_config_strings_free();   /* or memory would grow with every run */
    free(text);
    return 0;
}
