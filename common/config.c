/* Directive values: one parser for both servers, so Apache and nginx accept
 * and refuse exactly the same text with the same message.
 *
 * Messages name the directive as the administrator spelled it, quote the
 * value (escaped and shortened: it may be anything) and say what is
 * accepted. A Redis password never appears in a message. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "groups.h"
#include "ts_arena.h"
#include "ts_err.h"
#include "ts_text.h"

#define TS_DURATION_MAX_MS (10LL * 365 * 24 * 3600 * 1000)
#define TS_SECOND_MS       1000LL
#define TS_URL_MAX         2048
#define TS_NAME_MAX        256
#define TS_SUN_PATH_MAX    107   /* sockaddr_un.sun_path minus the NUL */

typedef int (*set_fn)(ts_config *c, const char *dn, int argc,
                      const char *const *argv, char *err, size_t errlen);

typedef struct {
    const char *name;   /* nginx spelling */
    int         min;    /* arguments */
    int         max;    /* -1: no upper bound */
    set_fn      set;
} directive;

/* ---- process-lifetime strings ------------------------------------------ */

/* Directive values live as long as the process (connectors copy configs
 * shallowly and merge shares pointers), so they come from one pool that is
 * never freed: no owner to track, and leak checkers see it reachable. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static ts_arena        pool;

static void *
pool_alloc(size_t n)
{
    void *p;

    pthread_mutex_lock(&pool_lock);
    p = ts_arena_alloc(&pool, n);
    pthread_mutex_unlock(&pool_lock);
    return p;
}

static char *
pool_strdup(const char *s)
{
    size_t n = strlen(s);
    char *p = pool_alloc(n + 1);

    if (p != NULL)
        memcpy(p, s, n + 1);
    return p;
}

void
ts_config_strings_free(void)
{
    pthread_mutex_lock(&pool_lock);
    ts_arena_free(&pool);
    pthread_mutex_unlock(&pool_lock);
}

/* ---- messages ------------------------------------------------------------ */

/* The arguments joined by spaces, in double quotes, with quotes, '\' and
 * non-printable bytes escaped and the whole cut to about 80 bytes: safe to
 * put into any log line. */
static void
quote_args(char *out, size_t cap, int argc, const char *const *argv)
{
    size_t o = 0, used = 0;
    int i;
    const char *s;

    if (cap < 16)
        return;
    out[o++] = '"';
    for (i = 0; i < argc; i++) {
        if (i > 0 && o < cap - 8)
            out[o++] = ' ';
        for (s = argv[i] ? argv[i] : ""; *s && o < cap - 8; s++, used++) {
            unsigned char c = (unsigned char)*s;

            if (used >= 80) {
                memcpy(out + o, "...", 3);
                o += 3;
                i = argc;
                break;
            }
            if (c == '"' || c == '\\') {
                out[o++] = '\\';
                out[o++] = (char)c;
            } else if (c < 0x20 || c >= 0x7f) {
                o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
            } else {
                out[o++] = (char)c;
            }
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

static int
bad1(char *err, size_t errlen, const char *dn, const char *v,
     const char *what)
{
    char q[128];

    quote_args(q, sizeof(q), 1, &v);
    ts_seterr(err, errlen, "%s: %s %s", dn, q, what);
    return TS_EINVAL;
}

static int
nomem(char *err, size_t errlen, const char *dn)
{
    ts_seterr(err, errlen, "%s: out of memory", dn);
    return TS_ENOMEM;
}

/* ---- small value parsers ------------------------------------------------- */

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A whole decimal number from min to max: digits only, no sign. */
static int
parse_int(const char *s, long min, long max, long *out)
{
    long v = 0;
    size_t i;

    if (s == NULL || s[0] == '\0')
        return TS_EINVAL;
    for (i = 0; s[i]; i++) {
        if (!is_digit(s[i]))
            return TS_EINVAL;
        v = v * 10 + (s[i] - '0');
        if (v > max)
            return TS_EINVAL;
    }
    if (v < min)
        return TS_EINVAL;
    *out = v;
    return TS_OK;
}

/* One duration unit at s: its length in ms, its rank (larger units rank
 * higher, each may appear once, in decreasing order) and its length. */
static int
duration_unit(const char *s, int64_t *mult, int *rank, size_t *len)
{
    static const struct { const char *u; int64_t ms; } units[] = {
        { "ms", 1 }, { "d", 86400000LL }, { "h", 3600000LL },
        { "m", 60000LL }, { "s", 1000LL },
    };
    static const int ranks[] = { 1, 5, 4, 3, 2 };
    size_t i, n;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        n = strlen(units[i].u);
        if (strncmp(s, units[i].u, n) == 0) {
            *mult = units[i].ms;
            *rank = ranks[i];
            *len = n;
            return TS_OK;
        }
    }
    return TS_EINVAL;
}

int
ts_parse_duration_ms(const char *s, int64_t *out)
{
    int64_t total = 0, num, mult;
    int rank, last = 6;
    size_t ulen;
    long secs;

    if (s == NULL || out == NULL || s[0] == '\0')
        return TS_EINVAL;
    if (parse_int(s, 0, (long)(TS_DURATION_MAX_MS / 1000), &secs) == TS_OK) {
        *out = (int64_t)secs * 1000;
        return TS_OK;
    }
    while (*s) {
        if (!is_digit(*s))
            return TS_EINVAL;
        for (num = 0; is_digit(*s); s++) {
            num = num * 10 + (*s - '0');
            if (num > TS_DURATION_MAX_MS)
                return TS_EINVAL;
        }
        if (duration_unit(s, &mult, &rank, &ulen) != TS_OK || rank >= last)
            return TS_EINVAL;
        last = rank;
        s += ulen;
        if (num > (TS_DURATION_MAX_MS - total) / mult)
            return TS_EINVAL;
        total += num * mult;
    }
    *out = total;
    return TS_OK;
}

/* A duration from min to max ms. */
static int
parse_duration_range(const char *s, int64_t min, int64_t max, int64_t *out)
{
    int64_t v;

    if (ts_parse_duration_ms(s, &v) != TS_OK || v < min || v > max)
        return TS_EINVAL;
    *out = v;
    return TS_OK;
}

int
ts_parse_bindip(int argc, const char *const *argv, ts_bindip *out,
                const char **why)
{
    static const char expected[] =
        "is not exact, off or prefix V4BITS V6BITS (0-32 and 0-128)";
    long v4, v6;

    *why = expected;
    if (argc < 1 || argv == NULL || argv[0] == NULL)
        return TS_EINVAL;
    if (argc == 1 && strcasecmp(argv[0], "exact") == 0) {
        out->mode = TS_BIND_EXACT;
        out->v4bits = 32;
        out->v6bits = 128;
        return TS_OK;
    }
    if (argc == 1 && strcasecmp(argv[0], "off") == 0) {
        out->mode = TS_BIND_OFF;
        out->v4bits = out->v6bits = 0;
        return TS_OK;
    }
    if (strcasecmp(argv[0], "prefix") != 0)
        return TS_EINVAL;
    if (argc != 3) {
        *why = "needs two numbers after prefix: V4BITS (0-32) V6BITS (0-128)";
        return TS_EINVAL;
    }
    if (parse_int(argv[1], 0, 32, &v4) != TS_OK) {
        *why = "has an IPv4 prefix length that is not a whole number from 0 to 32";
        return TS_EINVAL;
    }
    if (parse_int(argv[2], 0, 128, &v6) != TS_OK) {
        *why = "has an IPv6 prefix length that is not a whole number from 0 to 128";
        return TS_EINVAL;
    }
    out->mode = TS_BIND_PREFIX;
    out->v4bits = (int)v4;
    out->v6bits = (int)v6;
    *why = NULL;
    return TS_OK;
}

int
ts_parse_limit(int argc, const char *const *argv, ts_limit *out,
               const char **why)
{
    long n;
    int64_t w, l;

    if (argc != 3 || argv == NULL) {
        *why = "is not three values N WINDOW LOCKOUT, such as 5 5m 15m";
        return TS_EINVAL;
    }
    if (parse_int(argv[0], 1, 100000, &n) != TS_OK) {
        *why = "has a number of attempts that is not a whole number from 1 to 100000";
        return TS_EINVAL;
    }
    if (parse_duration_range(argv[1], TS_SECOND_MS, TS_DURATION_MAX_MS,
                             &w) != TS_OK) {
        *why = "has a window that is not a duration from 1s to 10 years, such as 5m";
        return TS_EINVAL;
    }
    if (parse_duration_range(argv[2], TS_SECOND_MS, TS_DURATION_MAX_MS,
                             &l) != TS_OK) {
        *why = "has a lockout that is not a duration from 1s to 10 years, such as 15m";
        return TS_EINVAL;
    }
    out->max = (int)n;
    out->window_ms = w;
    out->lockout_ms = l;
    *why = NULL;
    return TS_OK;
}

/* ---- Redis addresses ------------------------------------------------------ */

/* Percent-decodes [s, s + n) into out[cap]; refuses bad escapes, NUL and
 * overflow. */
static int
pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    int hi, lo;
    unsigned char c;

    for (i = 0; i < n; i++) {
        c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3 || (hi = ts_hexval((unsigned char)s[i + 1])) < 0 ||
                (lo = ts_hexval((unsigned char)s[i + 2])) < 0)
                return TS_EINVAL;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return TS_EINVAL;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return TS_OK;
}

static int
host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
           c == '.' || c == '-' || c == '_';
}

/* A port number in [s, s + n). */
static int
parse_port(const char *s, size_t n, int *port)
{
    char num[8];
    long v;

    if (n >= sizeof(num))
        return TS_EINVAL;
    memcpy(num, s, n);
    num[n] = '\0';
    if (parse_int(num, 1, 65535, &v) != TS_OK)
        return TS_EINVAL;
    *port = (int)v;
    return TS_OK;
}

/* "host[:port]" or "[v6]:port" in [s, s + n). */
static int
parse_hostport(const char *s, size_t n, int defport, char *host, int *port,
               const char **why)
{
    const char *hs = s, *colon = NULL, *e = s + n;
    size_t hl, i;

    if (n > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', n);

        if (rb == NULL) {
            *why = "has an IPv6 address without its closing ']'";
            return TS_EINVAL;
        }
        hs = s + 1;
        hl = (size_t)(rb - hs);
        for (i = 0; i < hl; i++)
            if (ts_hexval((unsigned char)hs[i]) < 0 && hs[i] != ':' && hs[i] != '.') {
                *why = "has an IPv6 address with characters other than hex digits, ':' and '.'";
                return TS_EINVAL;
            }
        if (rb + 1 < e && rb[1] != ':') {
            *why = "has text after the IPv6 address that is not :port";
            return TS_EINVAL;
        }
        colon = rb + 1 < e ? rb + 1 : NULL;
    } else {
        colon = memchr(s, ':', n);
        hl = colon ? (size_t)(colon - s) : n;
        for (i = 0; i < hl; i++)
            if (!host_char(s[i])) {
                *why = "has a host name with characters other than letters, digits, '.', '-' and '_'";
                return TS_EINVAL;
            }
    }
    if (hl == 0) {
        *why = "has no host";
        return TS_EINVAL;
    }
    if (hl >= 256) {
        *why = "has a host name longer than 255 characters";
        return TS_EINVAL;
    }
    memcpy(host, hs, hl);
    host[hl] = '\0';
    *port = defport;
    if (colon == NULL)
        return TS_OK;
    if (parse_port(colon + 1, (size_t)(e - colon - 1), port) != TS_OK) {
        *why = "has a port that is not a number from 1 to 65535";
        return TS_EINVAL;
    }
    return TS_OK;
}

/* "[:password@]" at the start of an authority [s, s + n); *used is how many
 * bytes it took. */
static int
parse_userinfo(const char *s, size_t n, ts_redis_url *out, size_t *used,
               const char **why)
{
    const char *at = NULL, *p;

    for (p = s; p < s + n; p++)
        if (*p == '@')
            at = p;
    *used = 0;
    if (at == NULL)
        return TS_OK;
    if (s[0] != ':') {
        *why = "has a user name, which is not supported: write the password "
               "after a colon, redis://:password@host";
        return TS_EINVAL;
    }
    if (pct_decode(s + 1, (size_t)(at - s - 1), out->password,
                   sizeof(out->password)) != TS_OK) {
        *why = "has a password with a bad %-escape, a %00 or more than 255 bytes";
        return TS_EINVAL;
    }
    *used = (size_t)(at - s) + 1;
    return TS_OK;
}

/* "/db" or "" at the end of a URL. */
static int
parse_db_path(const char *s, int *db, const char **why)
{
    long v;

    *db = 0;
    if (*s == '\0' || strcmp(s, "/") == 0)
        return TS_OK;
    if (*s != '/' || parse_int(s + 1, 0, 15, &v) != TS_OK) {
        *why = "has a database that is not a number from 0 to 15 (or text after it)";
        return TS_EINVAL;
    }
    *db = (int)v;
    return TS_OK;
}

static int
parse_redis_tcp(const char *s, ts_redis_url *out, const char **why)
{
    size_t alen = strcspn(s, "/"), used;
    int rc;

    out->kind = TS_REDIS_TCP;
    if ((rc = parse_userinfo(s, alen, out, &used, why)) != TS_OK)
        return rc;
    if ((rc = parse_hostport(s + used, alen - used, 6379, out->host,
                             &out->port, why)) != TS_OK)
        return rc;
    return parse_db_path(s + alen, &out->db, why);
}

/* The ?db=N&password=P options of a unix: address. */
static int
parse_unix_options(const char *q, ts_redis_url *out, const char **why)
{
    size_t len;
    char num[8];
    long v;

    while (*q) {
        len = strcspn(q, "&");
        if (strncmp(q, "db=", 3) == 0) {
            if (len - 3 >= sizeof(num))
                goto bad_db;
            memcpy(num, q + 3, len - 3);
            num[len - 3] = '\0';
            if (parse_int(num, 0, 15, &v) != TS_OK)
                goto bad_db;
            out->db = (int)v;
        } else if (strncmp(q, "password=", 9) == 0) {
            if (pct_decode(q + 9, len - 9, out->password,
                           sizeof(out->password)) != TS_OK) {
                *why = "has a password with a bad %-escape, a %00 or more than 255 bytes";
                return TS_EINVAL;
            }
        } else {
            *why = "has an option other than db=N or password=P after '?'";
            return TS_EINVAL;
        }
        q += len + (q[len] == '&');
    }
    return TS_OK;
bad_db:
    *why = "has a database that is not a number from 0 to 15";
    return TS_EINVAL;
}

static int
parse_redis_unix(const char *s, ts_redis_url *out, const char **why)
{
    size_t plen;

    out->kind = TS_REDIS_UNIX;
    if (strncmp(s, "//", 2) == 0)   /* unix:///run/redis.sock */
        s += 2;
    plen = strcspn(s, "?");
    if (plen == 0 || s[0] != '/') {
        *why = "has a socket path that is not absolute, as in unix:/run/redis/redis.sock";
        return TS_EINVAL;
    }
    if (plen > TS_SUN_PATH_MAX) {
        *why = "has a socket path longer than 107 bytes";
        return TS_EINVAL;
    }
    memcpy(out->path, s, plen);
    out->path[plen] = '\0';
    if (s[plen] == '?')
        return parse_unix_options(s + plen + 1, out, why);
    return TS_OK;
}

static int
master_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n >= sizeof(((ts_redis_url *)0)->master))
        return 0;
    for (i = 0; i < n; i++)
        if (!host_char(s[i]))
            return 0;
    return 1;
}

static int
parse_redis_sentinel(const char *s, ts_redis_url *out, const char **why)
{
    size_t alen = strcspn(s, "/"), used, len;
    const char *p, *e, *m;
    int rc;

    out->kind = TS_REDIS_SENTINEL;
    if ((rc = parse_userinfo(s, alen, out, &used, why)) != TS_OK)
        return rc;
    for (p = s + used, e = s + alen; p <= e; p += len + 1) {
        len = strcspn(p, ",/");
        if (out->nsentinels == 8) {
            *why = "lists more than 8 sentinels";
            return TS_EINVAL;
        }
        rc = parse_hostport(p, len, 26379,
                            out->sentinels[out->nsentinels].host,
                            &out->sentinels[out->nsentinels].port, why);
        if (rc != TS_OK)
            return rc;
        out->nsentinels++;
        if (p + len >= e)
            break;
    }
    if (*e != '/' || (len = strcspn(e + 1, "/")) == 0) {
        *why = "has no master name, as in sentinel://host:26379/mymaster";
        return TS_EINVAL;
    }
    m = e + 1;
    if (!master_name_ok(m, len)) {
        *why = "has a master name that is not 1 to 127 letters, digits, '.', '-' or '_'";
        return TS_EINVAL;
    }
    memcpy(out->master, m, len);
    out->master[len] = '\0';
    return parse_db_path(m + len, &out->db, why);
}

int
ts_parse_redis_url(const char *s, ts_redis_url *out, const char **why)
{
    static const char nowhy[] = "is not a Redis address";
    size_t i, n;

    *why = nowhy;
    memset(out, 0, sizeof(*out));
    if (s == NULL || (n = strlen(s)) == 0)
        return TS_EINVAL;
    if (n > TS_URL_MAX) {
        *why = "is longer than 2048 bytes";
        return TS_EINVAL;
    }
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
            *why = "contains spaces, control characters or non-ASCII bytes";
            return TS_EINVAL;
        }
    if (strncasecmp(s, "redis://", 8) == 0)
        return parse_redis_tcp(s + 8, out, why);
    if (strncasecmp(s, "unix:", 5) == 0)
        return parse_redis_unix(s + 5, out, why);
    if (strncasecmp(s, "sentinel://", 11) == 0)
        return parse_redis_sentinel(s + 11, out, why);
    if (strncasecmp(s, "rediss://", 9) == 0)
        *why = "uses TLS (rediss://), which is not supported";
    else
        *why = "does not start with redis://, unix: or sentinel://";
    return TS_EINVAL;
}

/* The address with any password replaced by "***", for messages. */
static void
redis_masked(const char *s, char *out, size_t cap)
{
    const char *sep = strstr(s, "://"), *auth, *at = NULL, *p, *pw;
    size_t alen;

    if (sep != NULL) {
        auth = sep + 3;
        alen = strcspn(auth, "/");
        for (p = auth; p < auth + alen; p++)
            if (*p == '@')
                at = p;
        if (at != NULL) {
            snprintf(out, cap, "%.*s***%s", (int)(auth - s), s, at);
            return;
        }
    }
    if ((pw = strstr(s, "password=")) != NULL) {
        p = pw + 9 + strcspn(pw + 9, "&");
        snprintf(out, cap, "%.*s***%s", (int)(pw + 9 - s), s, p);
        return;
    }
    snprintf(out, cap, "%s", s);
}

/* ---- directive setters ---------------------------------------------------- */

static int
set_on(ts_config *c, const char *dn, int argc, const char *const *argv,
       char *err, size_t errlen)
{
    if (strcasecmp(argv[0], "on") == 0)
        c->on = 1;
    else if (strcasecmp(argv[0], "off") == 0)
        c->on = 0;
    else
        return bad1(err, errlen, dn, argv[0], "is not on or off");
    return TS_OK;
}

static int
set_pages(ts_config *c, const char *dn, int argc, const char *const *argv,
          char *err, size_t errlen)
{
    if (argc == 0 || strcasecmp(argv[0], "on") == 0)
        c->pages = 1;
    else if (strcasecmp(argv[0], "off") == 0)
        c->pages = 0;
    else
        return bad1(err, errlen, dn, argv[0],
                    "is not on or off (or write it without a value)");
    return TS_OK;
}

static int
path_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("?#%\\\"'<>`", c) == NULL;
}

/* "/twostep": absolute, no trailing '/', no empty, "." or ".." segment. */
static int
path_ok(const char *s)
{
    size_t i, n = strlen(s), seg;

    if (n < 2 || n > TS_NAME_MAX || s[0] != '/' || s[n - 1] == '/')
        return 0;
    for (i = 0; i < n; i++)
        if (!path_char_ok((unsigned char)s[i]))
            return 0;
    for (i = 0; i < n; i += seg + 1) {
        seg = strcspn(s + i + 1, "/");
        if (seg == 0 || (seg == 1 && s[i + 1] == '.') ||
            (seg == 2 && s[i + 1] == '.' && s[i + 2] == '.'))
            return 0;
    }
    return 1;
}

static int
set_string(const char **field, const char *dn, const char *v, char *err,
           size_t errlen)
{
    char *copy = pool_strdup(v);

    if (copy == NULL)
        return nomem(err, errlen, dn);
    *field = copy;
    return TS_OK;
}

static int
set_path(ts_config *c, const char *dn, int argc, const char *const *argv,
         char *err, size_t errlen)
{
    if (!path_ok(argv[0]))
        return bad1(err, errlen, dn, argv[0],
                    "is not a URL path such as /twostep: it must start with "
                    "'/', not end with '/', have no empty, '.' or '..' part, "
                    "and contain no spaces, control characters or any of "
                    "? # % \\ \" ' < > `");
    return set_string(&c->path, dn, argv[0], err, errlen);
}

static int
set_redis(ts_config *c, const char *dn, int argc, const char *const *argv,
          char *err, size_t errlen)
{
    char masked[TS_URL_MAX + 8], *copy;
    const char *why;
    ts_redis_url u;

    redis_masked(argv[0], masked, sizeof(masked));
    if (ts_parse_redis_url(argv[0], &u, &why) != TS_OK) {
        const char *m = masked;
        char q[128];

        quote_args(q, sizeof(q), 1, &m);
        ts_seterr(err, errlen, "%s: %s %s; expected redis://[:password@]host"
               "[:port][/db], unix:/path[?db=N] or "
               "sentinel://[:password@]host:port[,host:port...]/master[/db]",
               dn, q, why);
        return TS_EINVAL;
    }
    if ((copy = pool_strdup(masked)) == NULL)
        return nomem(err, errlen, dn);
    c->redis = u;
    c->redis_text = copy;
    c->redis_set = 1;
    return TS_OK;
}

static int
set_redis_timeout(ts_config *c, const char *dn, int argc,
                  const char *const *argv, char *err, size_t errlen)
{
    if (parse_duration_range(argv[0], 1, 60 * TS_SECOND_MS,
                             &c->redis_timeout_ms) != TS_OK)
        return bad1(err, errlen, dn, argv[0],
                    "is not a duration from 1ms to 60s, such as 500ms or 2s");
    return TS_OK;
}

static int
set_file(const char **field, const char *dn, const char *v, char *err,
         size_t errlen)
{
    if (v[0] == '\0')
        return bad1(err, errlen, dn, v, "is not a file name");
    return set_string(field, dn, v, err, errlen);
}

static int
set_key_file(ts_config *c, const char *dn, int argc, const char *const *argv,
             char *err, size_t errlen)
{
    return set_file(&c->key_file, dn, argv[0], err, errlen);
}

static int
set_group_file(ts_config *c, const char *dn, int argc,
               const char *const *argv, char *err, size_t errlen)
{
    return set_file(&c->group_file, dn, argv[0], err, errlen);
}

/* An issuer goes into the otpauth label "Issuer:user", where a ':' would
 * split it wrongly, and into pages (escaped there). */
static int
issuer_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ':')
            return 0;
    return 1;
}

static int
set_issuer(ts_config *c, const char *dn, int argc, const char *const *argv,
           char *err, size_t errlen)
{
    if (!issuer_ok(argv[0]))
        return bad1(err, errlen, dn, argv[0],
                    "is not 1 to 64 characters without ':' or control "
                    "characters");
    return set_string(&c->issuer, dn, argv[0], err, errlen);
}

static int
set_number(int *field, const char *dn, const char *v, long min, long max,
           char *err, size_t errlen)
{
    char what[64];
    long n;

    if (parse_int(v, min, max, &n) != TS_OK) {
        snprintf(what, sizeof(what), "is not a whole number from %ld to %ld",
                 min, max);
        return bad1(err, errlen, dn, v, what);
    }
    *field = (int)n;
    return TS_OK;
}

static int
set_digits(ts_config *c, const char *dn, int argc, const char *const *argv,
           char *err, size_t errlen)
{
    return set_number(&c->digits, dn, argv[0], TS_OTP_MIN_DIGITS,
                      TS_OTP_MAX_DIGITS, err, errlen);
}

static int
set_period(ts_config *c, const char *dn, int argc, const char *const *argv,
           char *err, size_t errlen)
{
    return set_number(&c->period, dn, argv[0], TS_OTP_MIN_PERIOD,
                      TS_OTP_MAX_PERIOD, err, errlen);
}

static int
set_skew(ts_config *c, const char *dn, int argc, const char *const *argv,
         char *err, size_t errlen)
{
    return set_number(&c->skew, dn, argv[0], 0, TS_OTP_MAX_SKEW, err, errlen);
}

static int
set_algorithm(ts_config *c, const char *dn, int argc,
              const char *const *argv, char *err, size_t errlen)
{
    ts_alg alg;

    if (ts_alg_parse(argv[0], &alg) != TS_OK)
        return bad1(err, errlen, dn, argv[0], "is not SHA1, SHA256 or SHA512");
    c->alg = (int)alg;
    return TS_OK;
}

static int
set_trust(ts_config *c, const char *dn, int argc, const char *const *argv,
          char *err, size_t errlen)
{
    int64_t v;

    /* Cookies count in seconds: below 1s the option would do nothing. */
    if (ts_parse_duration_ms(argv[0], &v) != TS_OK ||
        (v != 0 && v < TS_SECOND_MS))
        return bad1(err, errlen, dn, argv[0],
                    "is not 0 (no \"trust this computer\") or a duration "
                    "from 1s to 10 years, such as 30d");
    c->trust_ms = v;
    return TS_OK;
}

static int
set_session(ts_config *c, const char *dn, int argc, const char *const *argv,
            char *err, size_t errlen)
{
    if (parse_duration_range(argv[0], TS_SECOND_MS, TS_DURATION_MAX_MS,
                             &c->session_ms) != TS_OK)
        return bad1(err, errlen, dn, argv[0],
                    "is not a duration from 1s to 10 years, such as 12h");
    return TS_OK;
}

static int
set_bind_ip(ts_config *c, const char *dn, int argc, const char *const *argv,
            char *err, size_t errlen)
{
    const char *why;
    char q[128];

    if (ts_parse_bindip(argc, argv, &c->bind, &why) != TS_OK) {
        quote_args(q, sizeof(q), argc, argv);
        ts_seterr(err, errlen, "%s: %s %s", dn, q, why);
        return TS_EINVAL;
    }
    c->bind_set = 1;
    return TS_OK;
}

static int
set_limit(ts_limit *l, int *set, const char *dn, int argc,
          const char *const *argv, char *err, size_t errlen)
{
    const char *why;
    char q[128];

    if (ts_parse_limit(argc, argv, l, &why) != TS_OK) {
        quote_args(q, sizeof(q), argc, argv);
        ts_seterr(err, errlen, "%s: %s %s; expected N WINDOW LOCKOUT, such as "
               "5 5m 15m", dn, q, why);
        return TS_EINVAL;
    }
    *set = 1;
    return TS_OK;
}

static int
set_max_user(ts_config *c, const char *dn, int argc, const char *const *argv,
             char *err, size_t errlen)
{
    return set_limit(&c->max_user, &c->max_user_set, dn, argc, argv, err,
                     errlen);
}

static int
set_max_ip(ts_config *c, const char *dn, int argc, const char *const *argv,
           char *err, size_t errlen)
{
    return set_limit(&c->max_ip, &c->max_ip_set, dn, argc, argv, err, errlen);
}

static int
set_store_down(ts_config *c, const char *dn, int argc,
               const char *const *argv, char *err, size_t errlen)
{
    if (strcasecmp(argv[0], "cookie") == 0)
        c->store_down = TS_STORE_DOWN_COOKIE;
    else if (strcasecmp(argv[0], "deny") == 0)
        c->store_down = TS_STORE_DOWN_DENY;
    else
        return bad1(err, errlen, dn, argv[0], "is not cookie or deny");
    c->store_down_set = 1;
    return TS_OK;
}

static int
set_prefix(ts_config *c, const char *dn, int argc, const char *const *argv,
           char *err, size_t errlen)
{
    const char *s = argv[0];
    size_t n = strlen(s);

    if (n == 0 || n > 64 ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789:_.-") != n)
        return bad1(err, errlen, dn, s,
                    "is not 1 to 64 characters of A-Z a-z 0-9 : _ . -");
    return set_string(&c->prefix, dn, s, err, errlen);
}

/* A group name as a group file can hold it: no spaces, ':' or controls. */
static int
group_name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > TS_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == ':')
            return 0;
    return 1;
}

static int
set_groups(const char ***field, int star_ok, const char *dn, int argc,
           const char *const *argv, char *err, size_t errlen)
{
    const char **list;
    int i;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "*") == 0 && !star_ok)
            return bad1(err, errlen, dn, argv[i],
                        "is not allowed here: name the groups whose members "
                        "may use the admin page");
        if (!group_name_ok(argv[i]))
            return bad1(err, errlen, dn, argv[i],
                        "is not a group name (1 to 256 characters without "
                        "spaces, ':' or control characters)");
    }
    list = pool_alloc(((size_t)argc + 1) * sizeof(*list));   /* zeroed */
    if (list == NULL)
        return nomem(err, errlen, dn);
    for (i = 0; i < argc; i++)
        if ((list[i] = pool_strdup(argv[i])) == NULL)
            return nomem(err, errlen, dn);
    *field = list;
    return TS_OK;
}

static int
set_enforce(ts_config *c, const char *dn, int argc, const char *const *argv,
            char *err, size_t errlen)
{
    return set_groups(&c->enforce_groups, 1, dn, argc, argv, err, errlen);
}

static int
set_admin(ts_config *c, const char *dn, int argc, const char *const *argv,
          char *err, size_t errlen)
{
    return set_groups(&c->admin_groups, 0, dn, argc, argv, err, errlen);
}

static const directive directives[] = {
    { "twostep",                     1,  1, set_on },
    { "twostep_pages",               0,  1, set_pages },
    { "twostep_path",                1,  1, set_path },
    { "twostep_redis",               1,  1, set_redis },
    { "twostep_redis_timeout",       1,  1, set_redis_timeout },
    { "twostep_key_file",            1,  1, set_key_file },
    { "twostep_issuer",              1,  1, set_issuer },
    { "twostep_digits",              1,  1, set_digits },
    { "twostep_period",              1,  1, set_period },
    { "twostep_algorithm",           1,  1, set_algorithm },
    { "twostep_skew",                1,  1, set_skew },
    { "twostep_trust_duration",      1,  1, set_trust },
    { "twostep_session_lifetime",    1,  1, set_session },
    { "twostep_bind_ip",             1,  3, set_bind_ip },
    { "twostep_group_file",          1,  1, set_group_file },
    { "twostep_enforce_groups",      1, -1, set_enforce },
    { "twostep_admin_groups",        1, -1, set_admin },
    { "twostep_max_attempts",        3,  3, set_max_user },
    { "twostep_max_attempts_per_ip", 3,  3, set_max_ip },
    { "twostep_store_down",          1,  1, set_store_down },
    { "twostep_key_prefix",          1,  1, set_prefix },
};

/* Whether s is the nginx name with the underscores dropped, ignoring case:
 * "TwoStepBindIP" for "twostep_bind_ip". */
static int
apache_name_eq(const char *ngx, const char *s)
{
    for (;; ngx++) {
        if (*ngx == '_')
            continue;
        if (strncasecmp(ngx, s, 1) != 0)
            return 0;
        if (*ngx == '\0')
            return 1;
        s++;
    }
}

static const directive *
find_directive(const char *name)
{
    size_t i, nd = sizeof(directives) / sizeof(directives[0]);

    for (i = 0; i < nd; i++)
        if (strcmp(directives[i].name, name) == 0)
            return &directives[i];
    if (strchr(name, '_') != NULL)
        return NULL;
    for (i = 0; i < nd; i++)
        if (apache_name_eq(directives[i].name, name))
            return &directives[i];
    return NULL;
}

static int
argc_error(const directive *d, const char *dn, int argc, char *err,
           size_t errlen)
{
    if (d->min == d->max)
        ts_seterr(err, errlen, "%s: takes %d argument%s, got %d", dn, d->min,
               d->min == 1 ? "" : "s", argc);
    else if (d->max < 0)
        ts_seterr(err, errlen, "%s: takes %d or more arguments, got %d", dn,
               d->min, argc);
    else
        ts_seterr(err, errlen, "%s: takes %d to %d arguments, got %d", dn,
               d->min, d->max, argc);
    return TS_EINVAL;
}

/* ---- the public API ------------------------------------------------------- */

void
ts_config_init(ts_config *c)
{
    memset(c, 0, sizeof(*c));
    c->on = c->pages = TS_UNSET;
    c->redis_timeout_ms = TS_UNSET;
    c->digits = c->period = c->alg = c->skew = TS_UNSET;
    c->trust_ms = c->session_ms = TS_UNSET;
}

int
ts_config_set(ts_config *c, const char *directive_name, int argc,
              const char *const *argv, char *err, size_t errlen)
{
    const directive *d;
    const char *dn = directive_name;
    char q[128];
    int i;

    if (err && errlen)
        err[0] = '\0';
    if (c == NULL || dn == NULL || argc < 0 || (argc > 0 && argv == NULL)) {
        ts_seterr(err, errlen, "twostep: bad call to ts_config_set");
        return TS_EINVAL;
    }
    if ((d = find_directive(dn)) == NULL) {
        quote_args(q, sizeof(q), 1, &dn);
        ts_seterr(err, errlen, "%s is not a twostep directive", q);
        return TS_EINVAL;
    }
    if (argc < d->min || (d->max >= 0 && argc > d->max))
        return argc_error(d, dn, argc, err, errlen);
    for (i = 0; i < argc; i++)
        if (argv[i] == NULL) {
            ts_seterr(err, errlen, "%s: missing argument", dn);
            return TS_EINVAL;
        }
    return d->set(c, dn, argc, argv, err, errlen);
}

#define INHERIT(f, unset) do {                 \
        if (child->f == (unset))               \
            child->f = parent->f;              \
    } while (0)

#define INHERIT_SET(f, flag) do {              \
        if (!child->flag) {                    \
            child->f = parent->f;              \
            child->flag = parent->flag;        \
        }                                      \
    } while (0)

void
ts_config_merge(ts_config *child, const ts_config *parent)
{
    /* Loaded files go with the file name: a child naming its own file
     * loads it in ts_config_finish. */
    int own_keys = child->key_file != NULL;
    int own_groups = child->group_file != NULL;

    INHERIT(on, TS_UNSET);
    INHERIT(pages, TS_UNSET);
    INHERIT(path, NULL);
    if (!child->redis_set) {
        child->redis = parent->redis;
        child->redis_text = parent->redis_text;
        child->redis_set = parent->redis_set;
    }
    INHERIT(redis_timeout_ms, TS_UNSET);
    INHERIT(key_file, NULL);
    INHERIT(issuer, NULL);
    INHERIT(digits, TS_UNSET);
    INHERIT(period, TS_UNSET);
    INHERIT(alg, TS_UNSET);
    INHERIT(skew, TS_UNSET);
    INHERIT(trust_ms, TS_UNSET);
    INHERIT(session_ms, TS_UNSET);
    INHERIT_SET(bind, bind_set);
    INHERIT(group_file, NULL);
    INHERIT(enforce_groups, NULL);
    INHERIT(admin_groups, NULL);
    INHERIT_SET(max_user, max_user_set);
    INHERIT_SET(max_ip, max_ip_set);
    INHERIT_SET(store_down, store_down_set);
    INHERIT(prefix, NULL);
    if (!own_keys)
        INHERIT(keys, NULL);
    if (!own_groups)
        INHERIT(groups, NULL);
}

/* ---- loaded files, shared per process ------------------------------------ */

/* What identifies one version of a file. */
typedef struct {
    dev_t           dev;
    ino_t           ino;
    off_t           size;
    struct timespec mtime;
    int             missing;
} file_id;

typedef struct key_entry {
    struct key_entry *next;
    char             *path;
    file_id           id;
    ts_keyring       *kr;
} key_entry;

typedef struct group_entry {
    struct group_entry *next;
    char               *path;
    file_id             id;
    int64_t             checked_ms;   /* monotonic; atomic access */
    int                 broken;       /* the last reload failed */
    ts_groups          *g;
} group_entry;

/* Entries are only ever added (configs and old configuration cycles may
 * still point at what they hold), at the head, under cache_lock; readers
 * that skip the lock load the head with acquire semantics. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static key_entry      *key_cache;
static group_entry    *group_cache;

static void
file_id_of(const char *path, file_id *id)
{
    struct stat st;

    memset(id, 0, sizeof(*id));
    if (stat(path, &st) != 0) {
        id->missing = 1;
        return;
    }
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
}

static int
file_id_eq(const file_id *a, const file_id *b)
{
    return a->missing == b->missing && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int64_t
monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The keyring of this version of the file: loaded once, shared after. A
 * changed file (a rotation, then a reload) is a new version. */
static int
keys_get(const char *path, const ts_keyring **out, char *err, size_t errlen)
{
    key_entry *e;
    file_id id;
    char e2[256];
    int rc = TS_OK;

    file_id_of(path, &id);
    pthread_mutex_lock(&cache_lock);
    for (e = key_cache; e != NULL; e = e->next)
        if (strcmp(e->path, path) == 0 && file_id_eq(&e->id, &id))
            break;
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL || (e->kr = calloc(1, sizeof(*e->kr))) == NULL ||
            (e->path = strdup(path)) == NULL) {
            rc = TS_ENOMEM;
            ts_seterr(err, errlen, "twostep_key_file: out of memory");
        } else {
            e2[0] = '\0';
            rc = ts_keyring_load(path, e->kr, e2, sizeof(e2));
            if (rc != TS_OK && strstr(e2, path) != NULL)
                ts_seterr(err, errlen, "twostep_key_file: %s", e2);
            else if (rc != TS_OK)
                ts_seterr(err, errlen, "twostep_key_file: %s: %s", path,
                       e2[0] ? e2 : ts_strerror(rc));
        }
        if (rc != TS_OK) {
            if (e && e->kr)
                ts_keyring_clear(e->kr);
            if (e)
                free(e->kr), free(e->path);
            free(e);
            e = NULL;
        } else {
            e->id = id;
            e->next = key_cache;
            key_cache = e;
        }
    }
    if (e != NULL)
        *out = e->kr;
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* Re-reads an entry's file into its groups object. Called with the lock. */
static int
groups_reload(group_entry *e, const file_id *id, char *err, size_t errlen)
{
    ts_groups *fresh;
    int rc;

    /* Remembered even on failure, so a broken file is reported once per
     * change and not at every check. */
    e->id = *id;
    rc = ts_groups_load(e->path, &fresh, err, errlen);
    if (rc == TS_OK)
        ts_groups_swap(e->g, fresh);
    e->broken = rc != TS_OK;
    return rc;
}

static group_entry *
groups_find(const char *path)
{
    group_entry *e = __atomic_load_n(&group_cache, __ATOMIC_ACQUIRE);

    for (; e != NULL; e = e->next)
        if (strcmp(e->path, path) == 0)
            return e;
    return NULL;
}

static int
groups_new(const char *path, const file_id *id, group_entry **out, char *err,
           size_t errlen)
{
    group_entry *e = calloc(1, sizeof(*e));
    int rc;

    if (e == NULL || (e->path = strdup(path)) == NULL) {
        free(e);
        ts_seterr(err, errlen, "twostep_group_file: out of memory");
        return TS_ENOMEM;
    }
    rc = ts_groups_load(path, &e->g, err, errlen);
    if (rc != TS_OK) {
        free(e->path);
        free(e);
        return rc;
    }
    e->id = *id;
    e->checked_ms = monotonic_ms();
    e->next = group_cache;
    __atomic_store_n(&group_cache, e, __ATOMIC_RELEASE);
    *out = e;
    return TS_OK;
}

static int
groups_get(const char *path, ts_groups **out, char *err, size_t errlen)
{
    group_entry *e;
    file_id id;
    char e2[512];
    int rc = TS_OK;

    e2[0] = '\0';
    file_id_of(path, &id);
    pthread_mutex_lock(&cache_lock);
    e = groups_find(path);
    if (e == NULL)
        rc = groups_new(path, &id, &e, e2, sizeof(e2));
    else if (!file_id_eq(&e->id, &id) || e->broken)
        rc = groups_reload(e, &id, e2, sizeof(e2));
    if (rc == TS_OK)
        *out = e->g;
    pthread_mutex_unlock(&cache_lock);
    if (rc != TS_OK)
        ts_seterr(err, errlen, "twostep_group_file: %s",
               e2[0] ? e2 : ts_strerror(rc));
    return rc;
}

int
ts_config_groups_refresh(const ts_config *c)
{
    group_entry *e;
    int64_t now = monotonic_ms();
    file_id id;
    int rc = TS_OK;

    if (c == NULL || c->group_file == NULL || c->groups == NULL)
        return TS_OK;
    if ((e = groups_find(c->group_file)) == NULL)
        return TS_OK;
    if (now - __atomic_load_n(&e->checked_ms, __ATOMIC_RELAXED) < 1000)
        return TS_OK;
    pthread_mutex_lock(&cache_lock);
    if (now - e->checked_ms >= 1000) {
        __atomic_store_n(&e->checked_ms, now, __ATOMIC_RELAXED);
        file_id_of(e->path, &id);
        if (!file_id_eq(&e->id, &id))
            rc = groups_reload(e, &id, NULL, 0);
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* ---- defaults --------------------------------------------------------------- */

/* The issuer default: the server name up to any ':' (a port), without
 * control bytes; "twostep" when that leaves nothing. */
static int
default_issuer(ts_config *c, const char *server_name)
{
    char buf[65];
    size_t i, o = 0;

    for (i = 0; server_name && server_name[i] && server_name[i] != ':' &&
                o < sizeof(buf) - 1; i++)
        if ((unsigned char)server_name[i] >= 0x20 && server_name[i] != 0x7f)
            buf[o++] = server_name[i];
    buf[o] = '\0';
    c->issuer = pool_strdup(o ? buf : "twostep");
    return c->issuer ? TS_OK : TS_ENOMEM;
}

static void
default_limit(ts_limit *l, int *set, int max)
{
    if (*set)
        return;
    l->max = max;
    l->window_ms = 5 * 60 * TS_SECOND_MS;
    l->lockout_ms = 15 * 60 * TS_SECOND_MS;
    *set = 1;
}

static void
apply_defaults(ts_config *c)
{
    const char *why;

    if (c->on == TS_UNSET)
        c->on = 0;
    if (c->pages == TS_UNSET)
        c->pages = 0;
    if (c->path == NULL)
        c->path = "/twostep";
    if (!c->redis_set) {
        ts_parse_redis_url("redis://127.0.0.1:6379/0", &c->redis, &why);
        c->redis_text = "redis://127.0.0.1:6379/0";
        c->redis_set = 1;
    }
    if (c->redis_timeout_ms == TS_UNSET)
        c->redis_timeout_ms = 500;
    if (c->digits == TS_UNSET)
        c->digits = 6;
    if (c->period == TS_UNSET)
        c->period = 30;
    if (c->alg == TS_UNSET)
        c->alg = TS_ALG_SHA1;
    if (c->skew == TS_UNSET)
        c->skew = 1;
    if (c->trust_ms == TS_UNSET)
        c->trust_ms = 30LL * 86400 * TS_SECOND_MS;
    if (c->session_ms == TS_UNSET)
        c->session_ms = 12LL * 3600 * TS_SECOND_MS;
    if (!c->bind_set) {
        c->bind.mode = TS_BIND_EXACT;
        c->bind.v4bits = 32;
        c->bind.v6bits = 128;
        c->bind_set = 1;
    }
    default_limit(&c->max_user, &c->max_user_set, 5);
    default_limit(&c->max_ip, &c->max_ip_set, 100);
    if (!c->store_down_set) {
        c->store_down = TS_STORE_DOWN_COOKIE;
        c->store_down_set = 1;
    }
    if (c->prefix == NULL)
        c->prefix = "twostep:";
}

int
ts_config_finish(ts_config *c, const char *server_name, char *err,
                 size_t errlen)
{
    int rc;

    if (err && errlen)
        err[0] = '\0';
    apply_defaults(c);
    if (c->issuer == NULL && default_issuer(c, server_name) != TS_OK)
        return nomem(err, errlen, "twostep_issuer");
    if ((c->on || c->pages) && c->keys == NULL) {
        if (c->key_file == NULL) {
            ts_seterr(err, errlen, "twostep_key_file is required (TwoStepKeyFile "
                   "in Apache) where twostep is on or the pages are served; "
                   "create one with \"twostepctl keygen\"");
            return TS_EINVAL;
        }
        if ((rc = keys_get(c->key_file, &c->keys, err, errlen)) != TS_OK)
            return rc;
    }
    if (c->group_file != NULL && c->groups == NULL &&
        (rc = groups_get(c->group_file, &c->groups, err, errlen)) != TS_OK)
        return rc;
    return TS_OK;
}
