/* Directive parsing, merge, defaults and file loading. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "config.h"
#include "groups.h"
#include "ts_err.h"

#define SEC 1000LL

static char err[512];

/* ts_config_set with the arguments as one space-separated string. */
static int
set(ts_config *c, const char *d, const char *args)
{
    char buf[4096], *argv[16], *p, *save = NULL;
    int argc = 0;

    snprintf(buf, sizeof(buf), "%s", args ? args : "");
    for (p = strtok_r(buf, " ", &save); p && argc < 16;
         p = strtok_r(NULL, " ", &save))
        argv[argc++] = p;
    err[0] = '\0';
    return ts_config_set(c, d, argc, (const char *const *)argv, err,
                         sizeof(err));
}

static void
set_ok(ts_config *c, const char *d, const char *args)
{
    if (set(c, d, args) != 0)
        fail_msg("%s %s refused: %s", d, args, err);
    assert_string_equal(err, "");
}

/* Refused, with a message starting with the directive as spelled and
 * containing `want`. */
static void
set_bad(const char *d, const char *args, const char *want)
{
    ts_config c;
    char prefix[128];

    ts_config_init(&c);
    if (set(&c, d, args) != TS_EINVAL)
        fail_msg("%s %s accepted", d, args);
    snprintf(prefix, sizeof(prefix), "%s: ", d);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, want) == NULL)
        fail_msg("%s %s: message \"%s\" lacks \"%s\"", d, args, err, want);
}

/* ---- each directive ------------------------------------------------------ */

static void
test_on_pages(void **state)
{
    ts_config c;

    ts_config_init(&c);
    assert_int_equal(c.on, TS_UNSET);
    set_ok(&c, "twostep", "on");
    assert_int_equal(c.on, 1);
    set_ok(&c, "TwoStep", "Off");
    assert_int_equal(c.on, 0);
    set_ok(&c, "twostep", "ON");
    assert_int_equal(c.on, 1);
    set_bad("twostep", "yes", "is not on or off");
    set_bad("twostep", "1", "is not on or off");
    set_bad("TwoStep", "", "takes 1 argument");
    set_bad("twostep", "on off", "takes 1 argument, got 2");
    assert_string_equal(err, "twostep: takes 1 argument, got 2");

    set_ok(&c, "twostep_pages", NULL);
    assert_int_equal(c.pages, 1);
    set_ok(&c, "TwoStepPages", "off");
    assert_int_equal(c.pages, 0);
    set_bad("twostep_pages", "maybe", "is not on or off");
}

static void
test_path(void **state)
{
    static const char *bad[] = {
        "/", "twostep", "/twostep/", "//twostep", "/a//b", "/a b", "/a?b",
        "/a#b", "/a%20b", "/a\\b", "/a\"b", "/a<b", "/a'b", "/./x", "/x/..",
        "/a\tb", "/\x01", "/caf\xc3\xa9", "", "/a/./b",
    };
    ts_config c;
    size_t i;
    const char *argv[1];

    ts_config_init(&c);
    set_ok(&c, "twostep_path", "/twostep");
    assert_string_equal(c.path, "/twostep");
    set_ok(&c, "TwoStepPath", "/auth/2fa");
    assert_string_equal(c.path, "/auth/2fa");
    set_ok(&c, "twostep_path", "/a.b-c_d~e");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        argv[0] = bad[i];
        if (ts_config_set(&c, "twostep_path", 1, argv, err, sizeof(err)) == 0)
            fail_msg("path \"%s\" accepted", bad[i]);
        assert_non_null(strstr(err, "twostep_path: \""));
        assert_non_null(strstr(err, "is not a URL path"));
        /* the message never carries raw control bytes */
        for (const char *p = err; *p; p++)
            assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    }
    assert_string_equal(c.path, "/a.b-c_d~e");   /* refusals change nothing */
}

static void
test_numbers(void **state)
{
    ts_config c;

    ts_config_init(&c);
    set_ok(&c, "twostep_digits", "6");
    assert_int_equal(c.digits, 6);
    set_ok(&c, "TwoStepDigits", "8");
    assert_int_equal(c.digits, 8);
    set_ok(&c, "twostep_period", "1");
    assert_int_equal(c.period, 1);
    set_ok(&c, "twostep_period", "300");
    assert_int_equal(c.period, 300);
    set_ok(&c, "twostepPERIOD", "60");
    assert_int_equal(c.period, 60);
    set_ok(&c, "twostep_skew", "0");
    assert_int_equal(c.skew, 0);
    set_ok(&c, "TwoStepSkew", "10");
    assert_int_equal(c.skew, 10);

    set(&c, "twostep_skew", "x");
    assert_string_equal(err, "twostep_skew: \"x\" is not a whole number from 0 to 10");
    set_bad("TwoStepSkew", "11", "TwoStepSkew: \"11\" is not a whole number from 0 to 10");
    set_bad("twostep_skew", "-1", "from 0 to 10");
    set_bad("twostep_skew", "+1", "from 0 to 10");
    set_bad("twostep_skew", "1.0", "from 0 to 10");
    set_bad("twostep_skew", "0x1", "from 0 to 10");
    set_bad("twostep_skew", "99999999999999999999999", "from 0 to 10");
    set_bad("twostep_digits", "5", "from 6 to 8");
    set_bad("twostep_digits", "9", "from 6 to 8");
    set_bad("twostep_digits", "", "takes 1 argument");
    set_bad("twostep_period", "0", "from 1 to 300");
    set_bad("twostep_period", "301", "from 1 to 300");
    set_bad("twostep_period", "30s", "from 1 to 300");
    set_bad("twostep_period", "4294967326", "from 1 to 300");
}

static void
test_algorithm(void **state)
{
    ts_config c;

    ts_config_init(&c);
    set_ok(&c, "twostep_algorithm", "SHA1");
    assert_int_equal(c.alg, TS_ALG_SHA1);
    set_ok(&c, "TwoStepAlgorithm", "sha256");
    assert_int_equal(c.alg, TS_ALG_SHA256);
    set_ok(&c, "twostep_algorithm", "SHA512");
    assert_int_equal(c.alg, TS_ALG_SHA512);
    set_bad("twostep_algorithm", "MD5", "is not SHA1, SHA256 or SHA512");
    set_bad("twostep_algorithm", "SHA384", "is not SHA1, SHA256 or SHA512");
    set_bad("twostep_algorithm", "SHA1x", "is not SHA1, SHA256 or SHA512");
}

static void
test_durations_directives(void **state)
{
    ts_config c;

    ts_config_init(&c);
    set_ok(&c, "twostep_trust_duration", "0");
    assert_int_equal(c.trust_ms, 0);
    set_ok(&c, "TwoStepTrustDuration", "30d");
    assert_int_equal(c.trust_ms, 30 * 86400 * SEC);
    set_bad("twostep_trust_duration", "500ms", "is not 0");
    set_bad("twostep_trust_duration", "-1d", "is not 0");
    set_bad("twostep_trust_duration", "11y", "is not 0");

    set_ok(&c, "twostep_session_lifetime", "12h");
    assert_int_equal(c.session_ms, 12 * 3600 * SEC);
    set_ok(&c, "TwoStepSessionLifetime", "1h30m");
    assert_int_equal(c.session_ms, 90 * 60 * SEC);
    set_bad("twostep_session_lifetime", "0", "from 1s to 10 years");
    set_bad("twostep_session_lifetime", "0s", "from 1s to 10 years");
    set_bad("twostep_session_lifetime", "forever", "from 1s to 10 years");

    set_ok(&c, "twostep_redis_timeout", "500ms");
    assert_int_equal(c.redis_timeout_ms, 500);
    set_ok(&c, "TwoStepRedisTimeout", "1ms");
    assert_int_equal(c.redis_timeout_ms, 1);
    set_ok(&c, "twostep_redis_timeout", "60s");
    assert_int_equal(c.redis_timeout_ms, 60 * SEC);
    set_ok(&c, "twostep_redis_timeout", "1m");
    set_bad("twostep_redis_timeout", "0", "from 1ms to 60s");
    set_bad("twostep_redis_timeout", "61s", "from 1ms to 60s");
    set_bad("twostep_redis_timeout", "1m1ms", "from 1ms to 60s");
}

static void
test_parse_duration(void **state)
{
    static const struct { const char *s; int64_t ms; } good[] = {
        { "0", 0 }, { "1", SEC }, { "30", 30 * SEC }, { "0s", 0 },
        { "10s", 10 * SEC }, { "5m", 300 * SEC }, { "12h", 12 * 3600 * SEC },
        { "30d", 30 * 86400 * SEC }, { "500ms", 500 }, { "1h30m", 5400 * SEC },
        { "1d2h3m4s5ms", ((86400 + 7200 + 180 + 4) * SEC) + 5 },
        { "0005m", 300 * SEC }, { "3650d", 3650 * 86400 * SEC },
        { "315360000", 315360000 * SEC },
    };
    static const char *bad[] = {
        "", " ", "1 h", " 1h", "1h ", "h", "ms", "-1", "+1", "1.5h", "1H",
        "1w", "1y", "1hm", "30m1h", "1h1h", "1s1m", "1ms1s", "1h30",
        "3651d", "315360001", "99999999999999999999", "9223372036854775807ms",
        "1e3", "0x10", "5mm", "5sm", "1d\n",
    };
    int64_t v;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        v = -5;
        if (ts_parse_duration_ms(good[i].s, &v) != 0)
            fail_msg("duration \"%s\" refused", good[i].s);
        assert_int_equal(v, good[i].ms);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ts_parse_duration_ms(bad[i], &v) == 0)
            fail_msg("duration \"%s\" accepted", bad[i]);
    assert_int_equal(ts_parse_duration_ms(NULL, &v), TS_EINVAL);
}

static void
test_bind_ip(void **state)
{
    ts_config c;
    const char *why;
    const char *a3[] = { "prefix", "24", "64" };

    ts_config_init(&c);
    set_ok(&c, "twostep_bind_ip", "exact");
    assert_int_equal(c.bind.mode, TS_BIND_EXACT);
    assert_int_equal(c.bind_set, 1);
    set_ok(&c, "TwoStepBindIP", "off");
    assert_int_equal(c.bind.mode, TS_BIND_OFF);
    set_ok(&c, "twostep_bind_ip", "prefix 24 64");
    assert_int_equal(c.bind.mode, TS_BIND_PREFIX);
    assert_int_equal(c.bind.v4bits, 24);
    assert_int_equal(c.bind.v6bits, 64);
    set_ok(&c, "twostep_bind_ip", "PREFIX 0 0");
    set_ok(&c, "twostep_bind_ip", "prefix 32 128");
    assert_int_equal(c.bind.v6bits, 128);
    set_bad("twostep_bind_ip", "prefix 33 64", "0 to 32");
    set_bad("twostep_bind_ip", "prefix 24 129", "0 to 128");
    set_bad("twostep_bind_ip", "prefix 24", "needs two numbers");
    set_bad("twostep_bind_ip", "prefix -1 64", "0 to 32");
    set_bad("twostep_bind_ip", "prefix x y", "0 to 32");
    set_bad("twostep_bind_ip", "subnet", "is not exact, off or prefix");
    set_bad("twostep_bind_ip", "exact 1", "is not exact, off or prefix");
    set_bad("twostep_bind_ip", "a b c d", "takes 1 to 3 arguments, got 4");
    assert_int_equal(ts_parse_bindip(3, a3, &c.bind, &why), 0);
    assert_int_equal(ts_parse_bindip(0, a3, &c.bind, &why), TS_EINVAL);
}

static void
test_limits(void **state)
{
    ts_config c;
    const char *why;
    const char *a[] = { "5", "5m", "15m" };

    ts_config_init(&c);
    set_ok(&c, "twostep_max_attempts", "5 5m 15m");
    assert_int_equal(c.max_user.max, 5);
    assert_int_equal(c.max_user.window_ms, 300 * SEC);
    assert_int_equal(c.max_user.lockout_ms, 900 * SEC);
    assert_int_equal(c.max_user_set, 1);
    assert_int_equal(c.max_ip_set, 0);
    set_ok(&c, "TwoStepMaxAttemptsPerIP", "100000 1h 1d");
    assert_int_equal(c.max_ip.max, 100000);
    assert_int_equal(c.max_ip.lockout_ms, 86400 * SEC);
    set_ok(&c, "twostep_max_attempts_per_ip", "1 1 1");
    assert_int_equal(c.max_ip.window_ms, SEC);
    set_bad("twostep_max_attempts", "0 5m 15m", "from 1 to 100000");
    set_bad("twostep_max_attempts", "100001 5m 15m", "from 1 to 100000");
    set_bad("twostep_max_attempts", "5 0 15m", "window");
    set_bad("twostep_max_attempts", "5 5m 0", "lockout");
    set_bad("twostep_max_attempts", "5 5m 500ms", "lockout");
    set_bad("twostep_max_attempts", "5 x 15m", "window");
    set_bad("twostep_max_attempts", "5 5m", "takes 3 arguments, got 2");
    set_bad("TwoStepMaxAttemptsPerIP", "5 5m 15m 1", "takes 3 arguments");
    assert_int_equal(ts_parse_limit(2, a, &c.max_user, &why), TS_EINVAL);
    assert_int_equal(ts_parse_limit(3, a, &c.max_user, &why), 0);
}

static void
test_strings(void **state)
{
    ts_config c;
    char longv[300];
    const char *argv[1];

    ts_config_init(&c);
    set_ok(&c, "twostep_key_file", "/etc/twostep/keys");
    assert_string_equal(c.key_file, "/etc/twostep/keys");
    set_ok(&c, "TwoStepKeyFile", "relative/keys");
    set_bad("twostep_key_file", "", "takes 1 argument");
    argv[0] = "";
    assert_int_equal(ts_config_set(&c, "twostep_key_file", 1, argv, err,
                                   sizeof(err)), TS_EINVAL);
    assert_non_null(strstr(err, "is not a file name"));
    set_ok(&c, "twostep_group_file", "/etc/twostep/groups");
    assert_string_equal(c.group_file, "/etc/twostep/groups");

    set_ok(&c, "twostep_issuer", "Lab-Intranet");
    assert_string_equal(c.issuer, "Lab-Intranet");
    argv[0] = "Labor M\xc3\xbcller & Co";
    assert_int_equal(ts_config_set(&c, "TwoStepIssuer", 1, argv, err,
                                   sizeof(err)), 0);
    assert_string_equal(c.issuer, argv[0]);
    set_bad("twostep_issuer", "a:b", "without ':'");
    argv[0] = "a\nb";
    assert_int_equal(ts_config_set(&c, "twostep_issuer", 1, argv, err,
                                   sizeof(err)), TS_EINVAL);
    assert_non_null(strstr(err, "\"a\\x0Ab\""));   /* escaped in the message */
    memset(longv, 'x', 65);
    longv[65] = '\0';
    set_bad("twostep_issuer", longv, "1 to 64 characters");

    set_ok(&c, "twostep_store_down", "cookie");
    assert_int_equal(c.store_down, TS_STORE_DOWN_COOKIE);
    assert_int_equal(c.store_down_set, 1);
    set_ok(&c, "TwoStepStoreDown", "deny");
    assert_int_equal(c.store_down, TS_STORE_DOWN_DENY);
    set_bad("twostep_store_down", "allow", "is not cookie or deny");

    set_ok(&c, "twostep_key_prefix", "twostep:");
    set_ok(&c, "TwoStepKeyPrefix", "lab.2fa_A-9:");
    assert_string_equal(c.prefix, "lab.2fa_A-9:");
    memset(longv, 'p', 64);
    longv[64] = '\0';
    set_ok(&c, "twostep_key_prefix", longv);
    longv[64] = 'p';
    longv[65] = '\0';
    set_bad("twostep_key_prefix", longv, "1 to 64 characters");
    set_bad("twostep_key_prefix", "a{b}", "1 to 64 characters");
    set_bad("twostep_key_prefix", "a*", "1 to 64 characters");
    set_bad("twostep_key_prefix", "a/b", "1 to 64 characters");
}

static void
test_groups_directives(void **state)
{
    ts_config c;

    ts_config_init(&c);
    set_ok(&c, "twostep_enforce_groups", "staff");
    assert_string_equal(c.enforce_groups[0], "staff");
    assert_null(c.enforce_groups[1]);
    set_ok(&c, "TwoStepEnforceGroups", "a b c");
    assert_string_equal(c.enforce_groups[2], "c");
    assert_null(c.enforce_groups[3]);
    set_ok(&c, "twostep_enforce_groups", "*");
    assert_string_equal(c.enforce_groups[0], "*");
    set_ok(&c, "twostep_admin_groups", "admins wheel");
    assert_string_equal(c.admin_groups[1], "wheel");
    assert_null(c.admin_groups[2]);
    set_bad("twostep_admin_groups", "admins *", "is not allowed here");
    set_bad("twostep_admin_groups", "", "takes 1 or more arguments, got 0");
    set_bad("twostep_enforce_groups", "a:b", "is not a group name");
    set_bad("TwoStepEnforceGroups", "ok bad\x01", "is not a group name");
}

/* ---- Redis addresses ------------------------------------------------------ */

static void
test_redis_urls(void **state)
{
    ts_redis_url u;
    const char *why;

    assert_int_equal(ts_parse_redis_url("redis://127.0.0.1:6379/0", &u, &why), 0);
    assert_int_equal(u.kind, TS_REDIS_TCP);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_string_equal(u.password, "");

    assert_int_equal(ts_parse_redis_url("redis://:s%40cr%2Ft@redis.lab:7000/15", &u, &why), 0);
    assert_string_equal(u.password, "s@cr/t");
    assert_string_equal(u.host, "redis.lab");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 15);

    assert_int_equal(ts_parse_redis_url("redis://:p@ss@h", &u, &why), 0);
    assert_string_equal(u.password, "p@ss");
    assert_int_equal(u.port, 6379);

    assert_int_equal(ts_parse_redis_url("REDIS://[::1]:6380/", &u, &why), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(ts_parse_redis_url("redis://[2001:db8::1]", &u, &why), 0);
    assert_int_equal(u.port, 6379);

    assert_int_equal(ts_parse_redis_url("unix:/run/redis/redis.sock", &u, &why), 0);
    assert_int_equal(u.kind, TS_REDIS_UNIX);
    assert_string_equal(u.path, "/run/redis/redis.sock");
    assert_int_equal(u.db, 0);
    assert_int_equal(ts_parse_redis_url("unix:/tmp/r.sock?db=3", &u, &why), 0);
    assert_int_equal(u.db, 3);
    assert_int_equal(ts_parse_redis_url("unix:///tmp/r.sock?db=2&password=a%20b", &u, &why), 0);
    assert_string_equal(u.path, "/tmp/r.sock");
    assert_int_equal(u.db, 2);
    assert_string_equal(u.password, "a b");

    assert_int_equal(ts_parse_redis_url("sentinel://s1:26379,s2:26380,[::1]/mymaster/2", &u, &why), 0);
    assert_int_equal(u.kind, TS_REDIS_SENTINEL);
    assert_int_equal(u.nsentinels, 3);
    assert_string_equal(u.sentinels[0].host, "s1");
    assert_int_equal(u.sentinels[1].port, 26380);
    assert_string_equal(u.sentinels[2].host, "::1");
    assert_int_equal(u.sentinels[2].port, 26379);
    assert_string_equal(u.master, "mymaster");
    assert_int_equal(u.db, 2);
    assert_int_equal(ts_parse_redis_url("sentinel://:pw@a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8/m", &u, &why), 0);
    assert_int_equal(u.nsentinels, 8);
    assert_string_equal(u.password, "pw");
    assert_string_equal(u.sentinels[7].host, "h");
}

static void
test_redis_urls_bad(void **state)
{
    static const struct { const char *s; const char *why; } bad[] = {
        { "", "" }, { "localhost:6379", "does not start with" },
        { "http://h", "does not start with" }, { "rediss://h", "TLS" },
        { "redis://", "no host" }, { "redis://:6379", "no host" },
        { "redis://h:0", "port" }, { "redis://h:65536", "port" },
        { "redis://h:", "port" }, { "redis://h:-1", "port" },
        { "redis://h:99999999999", "port" }, { "redis://h:6379x", "port" },
        { "redis://h/16", "database" }, { "redis://h/-1", "database" },
        { "redis://h/0/x", "database" }, { "redis://h/x", "database" },
        { "redis://user:pw@h", "user name" }, { "redis://pw@h", "user name" },
        { "redis://:%zz@h", "password" }, { "redis://:%00@h", "password" },
        { "redis://h st", "spaces" }, { "redis://h\t", "spaces" },
        { "redis://h\xc3\xa9", "non-ASCII" }, { "redis://h?x=1", "host name" },
        { "redis://[::1", "closing" }, { "redis://[::1]x", "not :port" },
        { "redis://[zz]", "IPv6" }, { "redis://h;rm", "host name" },
        { "unix:", "absolute" }, { "unix:relative.sock", "absolute" },
        { "unix:/tmp/s?db=16", "database" }, { "unix:/tmp/s?db=", "database" },
        { "unix:/tmp/s?foo=1", "option" }, { "unix:/tmp/s?password=%4", "password" },
        { "sentinel://h:1", "master" }, { "sentinel://h:1/", "master" },
        { "sentinel://a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9/m", "more than 8" },
        { "sentinel://a:1,,b:2/m", "no host" }, { "sentinel://a:0/m", "port" },
        { "sentinel://a:1/m m", "spaces" }, { "sentinel://a:1/m$", "master name" },
        { "sentinel://a:1/m/99", "database" }, { "sentinel://u:p@a:1/m", "user name" },
    };
    ts_redis_url u;
    const char *why;
    size_t i;
    char huge[3000];

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (ts_parse_redis_url(bad[i].s, &u, &why) == 0)
            fail_msg("redis url \"%s\" accepted", bad[i].s);
        assert_non_null(why);
        if (strstr(why, bad[i].why) == NULL)
            fail_msg("\"%s\": why \"%s\" lacks \"%s\"", bad[i].s, why, bad[i].why);
    }
    /* a socket path longer than sun_path */
    memset(huge, 'a', sizeof(huge));
    memcpy(huge, "unix:/", 6);
    huge[5 + 108] = '\0';
    assert_int_equal(ts_parse_redis_url(huge, &u, &why), TS_EINVAL);
    assert_non_null(strstr(why, "107"));
    huge[5 + 107] = '\0';
    assert_int_equal(ts_parse_redis_url(huge, &u, &why), 0);
    /* host names of 256+ bytes, whole URL over 2048 bytes */
    memset(huge, 'h', sizeof(huge));
    memcpy(huge, "redis://", 8);
    huge[8 + 256] = '\0';
    assert_int_equal(ts_parse_redis_url(huge, &u, &why), TS_EINVAL);
    huge[8 + 255] = '\0';
    assert_int_equal(ts_parse_redis_url(huge, &u, &why), 0);
    huge[8 + 255] = 'h';
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(ts_parse_redis_url(huge, &u, &why), TS_EINVAL);
    assert_int_equal(ts_parse_redis_url(NULL, &u, &why), TS_EINVAL);
}

static void
test_redis_directive(void **state)
{
    ts_config c;

    ts_config_init(&c);
    set_ok(&c, "twostep_redis", "redis://:hunter2@db.lab:6379/1");
    assert_int_equal(c.redis_set, 1);
    assert_string_equal(c.redis.password, "hunter2");
    assert_int_equal(c.redis.db, 1);
    /* the text kept for messages hides the password */
    assert_null(strstr(c.redis_text, "hunter2"));
    assert_string_equal(c.redis_text, "redis://***@db.lab:6379/1");
    set_ok(&c, "TwoStepRedis", "unix:/run/redis.sock?password=hunter2&db=1");
    assert_null(strstr(c.redis_text, "hunter2"));
    /* refused: the message names the problem, never the password */
    set_bad("twostep_redis", "redis://:hunter2@db.lab:0", "port");
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "redis://***@db.lab:0"));
    set_bad("TwoStepRedis", "redis://me:hunter2@db.lab", "user name");
    assert_null(strstr(err, "hunter2"));
    set_bad("twostep_redis", "unix:/x?password=hunter2&db=99", "database");
    assert_null(strstr(err, "hunter2"));
    set_bad("twostep_redis", "memcached://x", "expected redis://");
}

/* ---- names, arguments ------------------------------------------------------ */

static void
test_directive_names(void **state)
{
    static const struct { const char *ngx, *apache, *args; } all[] = {
        { "twostep", "TwoStep", "on" },
        { "twostep_pages", "TwoStepPages", "" },
        { "twostep_path", "TwoStepPath", "/p" },
        { "twostep_redis", "TwoStepRedis", "redis://h" },
        { "twostep_redis_timeout", "TwoStepRedisTimeout", "1s" },
        { "twostep_key_file", "TwoStepKeyFile", "/k" },
        { "twostep_issuer", "TwoStepIssuer", "x" },
        { "twostep_digits", "TwoStepDigits", "7" },
        { "twostep_period", "TwoStepPeriod", "60" },
        { "twostep_algorithm", "TwoStepAlgorithm", "SHA256" },
        { "twostep_skew", "TwoStepSkew", "2" },
        { "twostep_trust_duration", "TwoStepTrustDuration", "7d" },
        { "twostep_session_lifetime", "TwoStepSessionLifetime", "1h" },
        { "twostep_bind_ip", "TwoStepBindIP", "off" },
        { "twostep_group_file", "TwoStepGroupFile", "/g" },
        { "twostep_enforce_groups", "TwoStepEnforceGroups", "g" },
        { "twostep_admin_groups", "TwoStepAdminGroups", "a" },
        { "twostep_max_attempts", "TwoStepMaxAttempts", "3 1m 2m" },
        { "twostep_max_attempts_per_ip", "TwoStepMaxAttemptsPerIP", "9 1m 2m" },
        { "twostep_store_down", "TwoStepStoreDown", "deny" },
        { "twostep_key_prefix", "TwoStepKeyPrefix", "p:" },
    };
    ts_config c;
    size_t i;
    char lower[64];

    ts_config_init(&c);
    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        set_ok(&c, all[i].ngx, all[i].args);
        set_ok(&c, all[i].apache, all[i].args);
        snprintf(lower, sizeof(lower), "%s", all[i].apache);
        for (char *p = lower; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        set_ok(&c, lower, all[i].args);
        /* a missing argument is refused with the name as spelled */
        if (all[i].args[0]) {
            set_bad(all[i].apache, "", "takes");
            set_bad(all[i].ngx, "", "takes");
        }
    }
    assert_int_equal(c.on, 1);
    assert_int_equal(c.pages, 1);
    assert_int_equal(c.digits, 7);
    assert_int_equal(c.max_ip.max, 9);

    assert_int_equal(set(&c, "twostep_nonsense", "1"), TS_EINVAL);
    assert_string_equal(err, "\"twostep_nonsense\" is not a twostep directive");
    assert_int_equal(set(&c, "TwoStep_Skew", "1"), TS_EINVAL);
    assert_int_equal(set(&c, "TWOSTEP_SKEW", "1"), TS_EINVAL);
    assert_int_equal(set(&c, "twostep_user", "$x"), TS_EINVAL);
    assert_int_equal(set(&c, "TwoStepSkewX", "1"), TS_EINVAL);
    assert_int_equal(set(&c, "TwoStepSke", "1"), TS_EINVAL);
    assert_int_equal(set(&c, "", "1"), TS_EINVAL);
    assert_int_equal(set(&c, "bad\nname", "1"), TS_EINVAL);
    assert_non_null(strstr(err, "bad\\x0Aname"));
    assert_int_equal(ts_config_set(&c, NULL, 0, NULL, err, sizeof(err)), TS_EINVAL);
    assert_int_equal(ts_config_set(&c, "twostep", 1, NULL, err, sizeof(err)), TS_EINVAL);
    assert_int_equal(ts_config_set(&c, "twostep", -1, NULL, err, sizeof(err)), TS_EINVAL);
    /* err may be NULL or tiny */
    assert_int_equal(ts_config_set(&c, "twostep_skew", 0, NULL, NULL, 0), TS_EINVAL);
    {
        const char *argv[] = { "x" };
        char tiny[4];

        assert_int_equal(ts_config_set(&c, "twostep_skew", 1, argv, tiny,
                                       sizeof(tiny)), TS_EINVAL);
        assert_string_equal(tiny, "two");
    }
}

static void
test_hostile_values(void **state)
{
    /* Every directive fed long, control-laden and quote-laden values: a
     * clean refusal whose message is printable and bounded. */
    static const char *dirs[] = {
        "twostep", "twostep_path", "twostep_redis", "twostep_redis_timeout",
        "twostep_issuer", "twostep_digits", "twostep_period",
        "twostep_algorithm", "twostep_skew", "twostep_trust_duration",
        "twostep_session_lifetime", "twostep_bind_ip", "twostep_store_down",
        "twostep_key_prefix", "twostep_admin_groups", "twostep_enforce_groups",
    };
    char *big = malloc(100001);
    const char *vals[4];
    size_t i, k;
    ts_config c;

    memset(big, 'A', 100000);
    big[100000] = '\0';
    vals[0] = big;
    vals[1] = "\"\\\x01\x1b[31m\x7f\xff";
    vals[2] = "on\n";
    vals[3] = "";
    ts_config_init(&c);
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        for (k = 0; k < 4; k++) {
            err[0] = '\0';
            assert_int_equal(ts_config_set(&c, dirs[i], 1, &vals[k], err,
                                           sizeof(err)), TS_EINVAL);
            assert_true(strlen(err) > 10 && strlen(err) < 500);
            for (const char *p = err; *p; p++)
                assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
        }
    free(big);
}

/* ---- merge, defaults, finish ---------------------------------------------- */

static void
test_merge(void **state)
{
    ts_config parent, child, empty;

    ts_config_init(&parent);
    set_ok(&parent, "twostep", "on");
    set_ok(&parent, "twostep_path", "/p");
    set_ok(&parent, "twostep_redis", "redis://parent:1/2");
    set_ok(&parent, "twostep_skew", "3");
    set_ok(&parent, "twostep_digits", "8");
    set_ok(&parent, "twostep_trust_duration", "0");
    set_ok(&parent, "twostep_bind_ip", "prefix 24 48");
    set_ok(&parent, "twostep_max_attempts", "7 1m 2m");
    set_ok(&parent, "twostep_store_down", "deny");
    set_ok(&parent, "twostep_enforce_groups", "staff");
    set_ok(&parent, "twostep_key_prefix", "par:");
    set_ok(&parent, "twostep_issuer", "Parent");

    ts_config_init(&child);
    set_ok(&child, "twostep", "off");
    set_ok(&child, "twostep_skew", "0");
    set_ok(&child, "twostep_redis", "unix:/c.sock");
    set_ok(&child, "twostep_max_attempts_per_ip", "50 1m 2m");
    ts_config_merge(&child, &parent);

    assert_int_equal(child.on, 0);              /* own "off" wins */
    assert_int_equal(child.skew, 0);            /* own 0 is not "unset" */
    assert_int_equal(child.redis.kind, TS_REDIS_UNIX);
    assert_int_equal(child.max_ip.max, 50);
    assert_string_equal(child.path, "/p");      /* inherited */
    assert_int_equal(child.digits, 8);
    assert_int_equal(child.trust_ms, 0);
    assert_int_equal(child.bind.mode, TS_BIND_PREFIX);
    assert_int_equal(child.bind.v6bits, 48);
    assert_int_equal(child.max_user.max, 7);
    assert_int_equal(child.store_down, TS_STORE_DOWN_DENY);
    assert_string_equal(child.enforce_groups[0], "staff");
    assert_string_equal(child.prefix, "par:");
    assert_string_equal(child.issuer, "Parent");
    assert_int_equal(child.period, TS_UNSET);   /* unset in both */
    assert_int_equal(child.pages, TS_UNSET);

    /* an empty child becomes the parent */
    ts_config_init(&empty);
    ts_config_merge(&empty, &parent);
    assert_int_equal(empty.on, 1);
    assert_string_equal(empty.redis.host, "parent");
    assert_int_equal(empty.redis.db, 2);
    assert_int_equal(empty.redis_set, 1);

    /* merging an unset parent changes nothing */
    ts_config_init(&empty);
    ts_config_merge(&child, &empty);
    assert_int_equal(child.on, 0);
    assert_int_equal(child.digits, 8);
}

static void
test_defaults(void **state)
{
    ts_config c;

    ts_config_init(&c);
    assert_int_equal(ts_config_finish(&c, "www.lab.example", err, sizeof(err)), 0);
    assert_int_equal(c.on, 0);
    assert_int_equal(c.pages, 0);
    assert_string_equal(c.path, "/twostep");
    assert_int_equal(c.redis.kind, TS_REDIS_TCP);
    assert_string_equal(c.redis.host, "127.0.0.1");
    assert_int_equal(c.redis.port, 6379);
    assert_int_equal(c.redis.db, 0);
    assert_string_equal(c.redis_text, "redis://127.0.0.1:6379/0");
    assert_int_equal(c.redis_timeout_ms, 500);
    assert_int_equal(c.digits, 6);
    assert_int_equal(c.period, 30);
    assert_int_equal(c.alg, TS_ALG_SHA1);
    assert_int_equal(c.skew, 1);
    assert_int_equal(c.trust_ms, 30 * 86400 * SEC);
    assert_int_equal(c.session_ms, 12 * 3600 * SEC);
    assert_int_equal(c.bind.mode, TS_BIND_EXACT);
    assert_int_equal(c.max_user.max, 5);
    assert_int_equal(c.max_user.window_ms, 300 * SEC);
    assert_int_equal(c.max_user.lockout_ms, 900 * SEC);
    assert_int_equal(c.max_ip.max, 100);
    assert_int_equal(c.max_ip.window_ms, 300 * SEC);
    assert_int_equal(c.max_ip.lockout_ms, 900 * SEC);
    assert_int_equal(c.store_down, TS_STORE_DOWN_COOKIE);
    assert_string_equal(c.prefix, "twostep:");
    assert_string_equal(c.issuer, "www.lab.example");
    assert_null(c.keys);          /* off, no pages: no key file needed */
    assert_null(c.groups);

    ts_config_init(&c);
    assert_int_equal(ts_config_finish(&c, NULL, err, sizeof(err)), 0);
    assert_string_equal(c.issuer, "twostep");
    ts_config_init(&c);
    assert_int_equal(ts_config_finish(&c, "host.example:8443", err, sizeof(err)), 0);
    assert_string_equal(c.issuer, "host.example");
    ts_config_init(&c);
    set_ok(&c, "twostep_issuer", "Mine");
    assert_int_equal(ts_config_finish(&c, "host", err, sizeof(err)), 0);
    assert_string_equal(c.issuer, "Mine");
}

/* A key file with one random key, mode 0600. */
static void
write_key_file(const char *path, const char *id)
{
    unsigned char key[32], b64[64];
    FILE *f;

    assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
    EVP_EncodeBlock(b64, key, sizeof(key));
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# test key\n%s:%s\n", id, b64);
    fclose(f);
    chmod(path, 0600);
}

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_finish_keys(void **state)
{
    char dir[] = "/tmp/ts_config_XXXXXX";
    char kpath[128], kpath2[128];
    ts_config a, b, pages, child;
    const ts_keyring *first;
    struct timespec later[2];

    assert_non_null(mkdtemp(dir));
    snprintf(kpath, sizeof(kpath), "%s/keys", dir);
    snprintf(kpath2, sizeof(kpath2), "%s/keys2", dir);

    /* on without a key file */
    ts_config_init(&a);
    set_ok(&a, "twostep", "on");
    assert_int_equal(ts_config_finish(&a, "h", err, sizeof(err)), TS_EINVAL);
    assert_non_null(strstr(err, "twostep_key_file is required"));
    ts_config_init(&pages);
    set_ok(&pages, "twostep_pages", NULL);
    assert_int_equal(ts_config_finish(&pages, "h", err, sizeof(err)), TS_EINVAL);
    assert_non_null(strstr(err, "twostep_key_file is required"));

    /* missing file */
    ts_config_init(&a);
    set_ok(&a, "twostep", "on");
    set_ok(&a, "twostep_key_file", kpath);
    assert_int_equal(ts_config_finish(&a, "h", err, sizeof(err)) < 0, 1);
    assert_non_null(strstr(err, kpath));

    /* a real key file: loaded once, shared by configs naming it */
    write_key_file(kpath, "k1");
    ts_config_init(&a);
    set_ok(&a, "twostep", "on");
    set_ok(&a, "twostep_key_file", kpath);
    assert_int_equal(ts_config_finish(&a, "h", err, sizeof(err)), 0);
    assert_non_null(a.keys);
    assert_int_equal(a.keys->n, 1);
    assert_string_equal(a.keys->keys[0].id, "k1");
    first = a.keys;
    ts_config_init(&b);
    set_ok(&b, "twostep_pages", NULL);
    set_ok(&b, "TwoStepKeyFile", kpath);
    assert_int_equal(ts_config_finish(&b, "h", err, sizeof(err)), 0);
    assert_ptr_equal(b.keys, first);

    /* a child inheriting the key file inherits the loaded keys */
    ts_config_init(&child);
    set_ok(&child, "twostep_skew", "2");
    ts_config_merge(&child, &a);
    assert_ptr_equal(child.keys, first);
    assert_int_equal(ts_config_finish(&child, "h", err, sizeof(err)), 0);
    assert_ptr_equal(child.keys, first);

    /* a child naming its own file gets its own keys */
    write_key_file(kpath2, "k2");
    ts_config_init(&child);
    set_ok(&child, "twostep_key_file", kpath2);
    ts_config_merge(&child, &a);
    assert_null(child.keys);
    assert_int_equal(ts_config_finish(&child, "h", err, sizeof(err)), 0);
    assert_string_equal(child.keys->keys[0].id, "k2");

    /* a rotated file (new content, new mtime) is loaded afresh at the next
     * finish, as after a server reload */
    write_key_file(kpath, "k3");
    later[0].tv_sec = later[1].tv_sec = time(NULL) + 10;
    later[0].tv_nsec = later[1].tv_nsec = 0;
    utimensat(AT_FDCWD, kpath, later, 0);
    ts_config_init(&b);
    set_ok(&b, "twostep", "on");
    set_ok(&b, "twostep_key_file", kpath);
    assert_int_equal(ts_config_finish(&b, "h", err, sizeof(err)), 0);
    assert_ptr_not_equal(b.keys, first);
    assert_string_equal(b.keys->keys[0].id, "k3");
    assert_string_equal(first->keys[0].id, "k1");   /* old one stays valid */

    /* a broken key file: a clear error naming the file */
    write_text(kpath2, "k1:bm90IDMyIGJ5dGVz\n");
    chmod(kpath2, 0600);
    later[0].tv_sec = later[1].tv_sec = time(NULL) + 20;
    utimensat(AT_FDCWD, kpath2, later, 0);
    ts_config_init(&b);
    set_ok(&b, "twostep", "on");
    set_ok(&b, "twostep_key_file", kpath2);
    assert_int_equal(ts_config_finish(&b, "h", err, sizeof(err)) < 0, 1);
    assert_non_null(strstr(err, kpath2));
    assert_null(b.keys);

    /* world-readable key file refused (keys.c's rule, surfaced here) */
    write_key_file(kpath2, "k4");
    chmod(kpath2, 0644);
    ts_config_init(&b);
    set_ok(&b, "twostep", "on");
    set_ok(&b, "twostep_key_file", kpath2);
    assert_int_equal(ts_config_finish(&b, "h", err, sizeof(err)) < 0, 1);

    unlink(kpath);
    unlink(kpath2);
    rmdir(dir);
}

static void
test_finish_groups_and_refresh(void **state)
{
    char dir[] = "/tmp/ts_config_XXXXXX";
    char gpath[128], tmp[128];
    ts_config a, b;
    ts_groups *g;
    const char *staff[] = { "staff", NULL };

    assert_non_null(mkdtemp(dir));
    snprintf(gpath, sizeof(gpath), "%s/groups", dir);
    snprintf(tmp, sizeof(tmp), "%s/groups.new", dir);

    ts_config_init(&a);
    set_ok(&a, "twostep_group_file", gpath);
    assert_int_equal(ts_config_finish(&a, "h", err, sizeof(err)) < 0, 1);
    assert_non_null(strstr(err, "twostep_group_file"));
    assert_non_null(strstr(err, gpath));

    write_text(gpath, "staff: alice\n");
    ts_config_init(&a);
    set_ok(&a, "twostep_group_file", gpath);
    assert_int_equal(ts_config_finish(&a, "h", err, sizeof(err)), 0);
    assert_non_null(a.groups);
    assert_true(ts_groups_member_any(a.groups, "alice", staff));
    g = a.groups;
    ts_config_init(&b);
    set_ok(&b, "TwoStepGroupFile", gpath);
    assert_int_equal(ts_config_finish(&b, "h", err, sizeof(err)), 0);
    assert_ptr_equal(b.groups, g);         /* loaded once per path */

    /* nothing changed: refresh is a no-op */
    assert_int_equal(ts_config_groups_refresh(&a), 0);

    /* replaced by rename (as editors do): seen within about a second */
    write_text(tmp, "staff: bob\n");
    rename(tmp, gpath);
    usleep(1100 * 1000);
    assert_int_equal(ts_config_groups_refresh(&a), 0);
    assert_ptr_equal(a.groups, g);         /* same object, new contents */
    assert_false(ts_groups_member_any(g, "alice", staff));
    assert_true(ts_groups_member_any(b.groups, "bob", staff));

    /* a broken edit: reported once, old contents stay */
    write_text(tmp, "staff bob carol\n");
    rename(tmp, gpath);
    usleep(1100 * 1000);
    assert_int_equal(ts_config_groups_refresh(&a), TS_EINVAL);
    assert_true(ts_groups_member_any(g, "bob", staff));
    usleep(1100 * 1000);
    assert_int_equal(ts_config_groups_refresh(&a), 0);
    /* ... and a config finished now refuses it */
    ts_config_init(&b);
    set_ok(&b, "twostep_group_file", gpath);
    assert_int_equal(ts_config_finish(&b, "h", err, sizeof(err)), TS_EINVAL);
    assert_non_null(strstr(err, "line 1"));

    /* fixed again */
    write_text(tmp, "staff: carol\n");
    rename(tmp, gpath);
    usleep(1100 * 1000);
    assert_int_equal(ts_config_groups_refresh(&a), 0);
    assert_true(ts_groups_member_any(g, "carol", staff));

    /* deleted: error once, contents stay */
    unlink(gpath);
    usleep(1100 * 1000);
    assert_int_equal(ts_config_groups_refresh(&a), TS_EIO);
    usleep(1100 * 1000);
    assert_int_equal(ts_config_groups_refresh(&a), 0);
    assert_true(ts_groups_member_any(g, "carol", staff));

    /* no group file: nothing to do */
    ts_config_init(&b);
    assert_int_equal(ts_config_groups_refresh(&b), 0);
    assert_int_equal(ts_config_groups_refresh(NULL), 0);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_pages),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_algorithm),
        cmocka_unit_test(test_durations_directives),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_bind_ip),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_groups_directives),
        cmocka_unit_test(test_redis_urls),
        cmocka_unit_test(test_redis_urls_bad),
        cmocka_unit_test(test_redis_directive),
        cmocka_unit_test(test_directive_names),
        cmocka_unit_test(test_hostile_values),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_finish_keys),
        cmocka_unit_test(test_finish_groups_and_refresh),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
