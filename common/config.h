/* Directive values, parsed once here so Apache and nginx accept and refuse
 * exactly the same things with the same message.
 *
 * A connector keeps one ts_config per location/directory: ts_config_init()
 * marks everything unset, ts_config_set() parses one directive (by its nginx
 * name, "twostep_skew"; the Apache name "TwoStepSkew" is accepted too),
 * ts_config_merge() lets a child inherit what it left unset, and
 * ts_config_finish() fills defaults and loads the key file and the group
 * file (shared between configs naming the same file). */
#ifndef TS_CONFIG_H
#define TS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "otp.h"
#include "cookie.h"
#include "keys.h"

#define TS_UNSET (-1)

typedef struct {
    enum { TS_REDIS_TCP = 0, TS_REDIS_UNIX = 1, TS_REDIS_SENTINEL = 2 } kind;
    char   host[256];       /* TCP: host name or address */
    int    port;
    char   path[256];       /* UNIX: socket path */
    char   password[256];   /* "" = no AUTH */
    int    db;              /* SELECT */
    /* SENTINEL: up to 8 sentinels and the master name */
    struct { char host[256]; int port; } sentinels[8];
    int    nsentinels;
    char   master[128];
} ts_redis_url;

typedef struct {
    int     max;            /* failures allowed in the window */
    int64_t window_ms;
    int64_t lockout_ms;
} ts_limit;

/* A loaded group file: group -> members. Opaque; see groups.h. */
typedef struct ts_groups ts_groups;

typedef struct {
    int          on;                 /* twostep on|off */
    int          pages;              /* twostep_pages / SetHandler twostep */
    const char  *path;               /* "/twostep" */
    const char  *redis_text;         /* as written, for messages */
    ts_redis_url redis;
    int          redis_set;
    int64_t      redis_timeout_ms;
    const char  *key_file;
    const char  *issuer;             /* NULL = server name */
    int          digits;
    int          period;
    int          alg;                /* ts_alg */
    int          skew;
    int64_t      trust_ms;           /* 0 hides "trust this computer" */
    int64_t      session_ms;
    ts_bindip    bind;
    int          bind_set;
    const char  *group_file;
    const char **enforce_groups;     /* NULL-terminated; "*" = everyone */
    const char **admin_groups;
    ts_limit     max_user;
    int          max_user_set;
    ts_limit     max_ip;
    int          max_ip_set;
    enum { TS_STORE_DOWN_COOKIE = 0, TS_STORE_DOWN_DENY = 1 } store_down;
    int          store_down_set;
    const char  *prefix;             /* "twostep:" */

    /* Filled by ts_config_finish: */
    const ts_keyring *keys;
    ts_groups        *groups;
} ts_config;

void ts_config_init(ts_config *c);
/* Parses one directive with its arguments. Strings are copied (into a pool
 * that is never freed) and live as long as the process. err receives e.g.
 * "twostep_skew: \"x\" is not a whole number from 0 to 10" (the directive as
 * the caller spelled it, the value quoted with non-printable bytes escaped,
 * a Redis password replaced by ***). redis_text keeps the address with the
 * password masked. The Apache spelling is the nginx name without '_',
 * compared case-insensitively. */
int ts_config_set(ts_config *c, const char *directive, int argc,
                  const char *const *argv, char *err, size_t errlen);
void ts_config_merge(ts_config *child, const ts_config *parent);
/* Defaults, then loads the key file (required when `on` or `pages`) and the
 * group file. server_name is the issuer default. */
int ts_config_finish(ts_config *c, const char *server_name,
                     char *err, size_t errlen);
/* Re-reads the group file of a finished config when the file changed (its
 * mtime, size or inode), looking at most once a second per file and process,
 * so it is cheap to call on every request. c->groups keeps its address and
 * lookups running in other threads stay safe (see ts_groups_swap).
 * 0 when nothing changed, the reload worked, or there is no group file;
 * a negative TS_E* when the changed file could not be read or parsed: the
 * previous contents stay in force, and the error is returned once per change
 * of the file (so the caller may log every error it gets). */
int ts_config_groups_refresh(const ts_config *c);
/* Frees the memory behind the strings of every ts_config of this process
 * (values copied by ts_config_set, defaults made by ts_config_finish); every
 * config becomes invalid. Loaded key and group files are kept. Only for
 * fuzzers and tests that build many configs; a server never calls it. */
void ts_config_strings_free(void);

/* The individual value parsers, public for tests, fuzzing and twostepctl. */
/* "30d", "12h", "5m", "10s", "500ms", "0"; a bare number is seconds;
 * combinations like "1h30m" are accepted. Bounded to 10 years. */
int ts_parse_duration_ms(const char *s, int64_t *out);
/* "exact" | "off" | "prefix V4BITS V6BITS" as argc/argv. */
int ts_parse_bindip(int argc, const char *const *argv, ts_bindip *out,
                    const char **why);
/* "N WINDOW LOCKOUT", e.g. "5 5m 15m". */
int ts_parse_limit(int argc, const char *const *argv, ts_limit *out,
                   const char **why);
/* redis://[:pass@]host:port[/db], unix:/path[?db=N],
 * sentinel://[:pass@]h:p,h:p/master[/db]. */
int ts_parse_redis_url(const char *s, ts_redis_url *out, const char **why);

/* Key names: "PREFIX{USER}:SUFFIX", user as raw bytes. */
#endif
