/* Test harness for the decision engine: a private redis-server on a free
 * loopback port in a temp dir, a finished ts_config with a real key file
 * and group file, the blocking executor, and helpers to run requests and
 * read pages the way a browser would. Codes come from oathtool. */
#ifndef FLOW_HARNESS_H
#define FLOW_HARNESS_H

#include <stdint.h>
#include <sys/types.h>
#include "twostep.h"
#include "store_sync.h"

typedef struct {
    char       dir[256];
    int        port;
    pid_t      pid;
    ts_config  cfg;
    ts_sync   *sync;
    ts_cache  *cache;
} fh_env;

typedef struct {
    int         outcome;        /* TS_PASS / TS_RESPOND */
    int         status;
    char        location[2048];
    char        set_cookie[2048];
    char        retry_after[32];
    char        content_type[128];
    char        status_var[32];
    char       *body;           /* malloc'd, NUL-terminated */
    size_t      body_len;
} fh_resp;

/* Extra config directives "name value..." applied before finish. */
int  fh_setup(fh_env *e, const char *const *directives);
void fh_teardown(fh_env *e);
void fh_redis_stop(fh_env *e);
int  fh_redis_start(fh_env *e);
int  fh_redis_cmd(fh_env *e, const char *cmd);   /* via redis-cli; exit code */

int fh_op(fh_env *e, ts_op_kind kind, const char *user, const char *arg,
          int64_t now_ms, char **text);   /* returns exit_code */

typedef struct {
    ts_mode     mode;
    const char *method, *uri, *args, *cookie, *body, *ip, *user;
    int64_t     now_ms;
} fh_req;

void fh_run(fh_env *e, const fh_req *rq, fh_resp *out);
void fh_resp_free(fh_resp *r);

/* "name=value" part of a Set-Cookie (before the first ';'). */
void fh_cookie_pair(const fh_resp *r, char *out, size_t cap);
/* Value of <input name="NAME" value="..."> in a page (HTML-unescaped
 * only for &amp;). 0 on success. */
int  fh_input_value(const char *html, const char *name, char *out, size_t cap);
/* The secret= parameter of the otpauth link on the enrollment page. */
int  fh_enroll_secret(const char *html, char *out, size_t cap);
/* TOTP code from oathtool for base32 secret at unix time t. */
int  fh_oath(const char *b32, int64_t t, int digits, int period,
             const char *alg, char out[16]);

#endif
