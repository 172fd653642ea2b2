/* mod_twostep: two-step verification (TOTP) in front of Apache locations.
 *
 * The first factor stays what the site has (AuthType Basic, LDAP, ...);
 * this module adds the second step for locations with "TwoStep On" and
 * serves the verify/enroll/account/admin pages where "SetHandler twostep"
 * is set. Every decision is taken by the server-neutral core (common/); this
 * file only translates between request_rec and the core's structs, and runs
 * the store commands the core asks for with the blocking executor
 * (store/store_sync.c).
 *
 *   <Location "/twostep">
 *       AuthType Basic ... Require valid-user
 *       SetHandler twostep
 *   </Location>
 *   <Location "/lab/">
 *       AuthType Basic ... Require valid-user
 *       TwoStep On
 *   </Location>
 *
 * Hook contracts:
 *   fixups   (APR_HOOK_FIRST) the protection. Fixups run for every request,
 *            subrequest and internal redirect after the whole auth phase
 *            (access, authn, authz) has succeeded, whatever the Require
 *            lines say, so r->user is the authenticated user and the
 *            second step never runs for someone the first factor refused.
 *            The authz hooks would not do: check_authz is RUN_FIRST and
 *            mod_authz_core answers it, and the per-config auth shortcuts
 *            skip it for subrequests. A decision is noted on the request;
 *            a subrequest (r->main) or internal redirect (r->prev, mod_dir
 *            index pages, ErrorDocument) of a request that already passed
 *            passes too, without asking the core again. Running before
 *            mod_dir's fixup (APR_HOOK_LAST) means the index subrequest
 *            already finds the main request decided.
 *            A refusal or redirect of a main request is written here and the
 *            hook returns DONE, so our page (and not Apache's generic error
 *            document) is what the client gets; a POST body is discarded
 *            unread, as ap_die does, so the connection can be kept.
 *   handler  "twostep": the pages, in TS_MODE_PAGES.
 *   post_config  finishes each <Location>/<Directory> section with TwoStep
 *            On once, so that a missing key file fails the start.
 *   child_init   creates the child state (twostep_child.c).
 *
 * Logging goes through the module's own LogLevel ("LogLevel
 * twostep:notice" shows the audit lines). */
#include "mod_twostep.h"
#include "form.h"

#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

#include <string.h>
#include <strings.h>

#define TWOSTEP_HANDLER     "twostep"
/* Notes on a request that passed, read by its subrequests and internal
 * redirects. */
#define NOTE_STATUS         "twostep-status"
#define NOTE_USER           "twostep-user"
/* cmd_data of directives whose argument is a file name: resolved against
 * ServerRoot like every Apache file directive. */
#define ARG_IS_FILE         ((void *)1)

APLOG_USE_MODULE(twostep);

/* ---- configuration ---------------------------------------------------- */

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    twostep_dir_conf *dc = apr_pcalloc(p, sizeof *dc);

    ts_config_init(&dc->tc);
    dc->id = apr_psprintf(p, "%pp", (void *)dc);
    return dc;
}

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const twostep_dir_conf *base = basev, *add = addv;
    twostep_dir_conf *dc = apr_pcalloc(p, sizeof *dc);

    dc->tc = add->tc;
    ts_config_merge(&dc->tc, &base->tc);
    dc->touched = base->touched || add->touched;
    /* A side without directives does not change the meaning, so it does
     * not change the id either (see mod_twostep.h). */
    if (!add->touched)
        dc->id = base->id;
    else if (!base->touched)
        dc->id = add->id;
    else
        dc->id = apr_pstrcat(p, base->id, "+", add->id, NULL);
    return dc;
}

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(twostep_srv_conf));
}

/* Every directive ends here: the core parses the value, so Apache and nginx
 * accept and refuse the same things with the same message. */
static const char *apply_directive(cmd_parms *cmd, void *mconfig, int argc,
                                   const char *const *argv)
{
    twostep_dir_conf *dc = mconfig;
    const char *args[8];
    char err[512] = "";
    int i;

    if (argc > (int)(sizeof args / sizeof args[0]))
        return apr_psprintf(cmd->pool, "%s: too many arguments",
                            cmd->cmd->name);
    for (i = 0; i < argc; i++) {
        args[i] = argv[i];
        if (cmd->info == ARG_IS_FILE) {
            args[i] = ap_server_root_relative(cmd->pool, argv[i]);
            if (args[i] == NULL)
                return apr_pstrcat(cmd->pool, cmd->cmd->name,
                                   ": invalid file path ", argv[i], NULL);
        }
    }
    if (ts_config_set(&dc->tc, cmd->cmd->name, argc, args, err,
                      sizeof err) != 0)
        return apr_pstrdup(cmd->pool, err[0] ? err : "invalid value");
    dc->touched = 1;
    return NULL;
}

static const char *set_flag(cmd_parms *cmd, void *mconfig, int on)
{
    const char *argv[1] = { on ? "on" : "off" };

    return apply_directive(cmd, mconfig, 1, argv);
}

static const char *set_take1(cmd_parms *cmd, void *mconfig, const char *a)
{
    const char *argv[1] = { a };

    return apply_directive(cmd, mconfig, 1, argv);
}

static const char *set_take13(cmd_parms *cmd, void *mconfig, const char *a,
                              const char *b, const char *c)
{
    const char *argv[3] = { a, b, c };

    return apply_directive(cmd, mconfig, b ? 3 : 1, argv);
}

static const char *set_take3(cmd_parms *cmd, void *mconfig, const char *a,
                             const char *b, const char *c)
{
    const char *argv[3] = { a, b, c };

    return apply_directive(cmd, mconfig, 3, argv);
}

static const char *set_argv(cmd_parms *cmd, void *mconfig, int argc,
                            char *const argv[])
{
    return apply_directive(cmd, mconfig, argc, (const char *const *)argv);
}

#define WHERE (RSRC_CONF | ACCESS_CONF)

static const command_rec twostep_cmds[] = {
    AP_INIT_FLAG("TwoStep", set_flag, NULL, WHERE,
                 "On to require two-step verification here (default Off)"),
    AP_INIT_TAKE1("TwoStepPath", set_take1, NULL, WHERE,
                  "URL prefix of the twostep pages (default /twostep)"),
    AP_INIT_TAKE1("TwoStepRedis", set_take1, NULL, WHERE,
                  "redis://[:pass@]host:port[/db], unix:/path[?db=N] or "
                  "sentinel://h:p,h:p/master"),
    AP_INIT_TAKE1("TwoStepRedisTimeout", set_take1, NULL, WHERE,
                  "connect and command timeout of Redis (default 500ms)"),
    AP_INIT_TAKE1("TwoStepKeyFile", set_take1, ARG_IS_FILE, WHERE,
                  "key file written by 'twostepctl keygen' (required)"),
    AP_INIT_TAKE1("TwoStepIssuer", set_take1, NULL, WHERE,
                  "issuer shown in the authenticator app (default: the "
                  "server name)"),
    AP_INIT_TAKE1("TwoStepDigits", set_take1, NULL, WHERE,
                  "digits of new enrollments: 6 or 8 (default 6)"),
    AP_INIT_TAKE1("TwoStepPeriod", set_take1, NULL, WHERE,
                  "step of new enrollments in seconds (default 30)"),
    AP_INIT_TAKE1("TwoStepAlgorithm", set_take1, NULL, WHERE,
                  "SHA1, SHA256 or SHA512 for new enrollments (default SHA1)"),
    AP_INIT_TAKE1("TwoStepSkew", set_take1, NULL, WHERE,
                  "steps accepted either side of now (default 1)"),
    AP_INIT_TAKE1("TwoStepTrustDuration", set_take1, NULL, WHERE,
                  "lifetime of 'trust this computer' (default 30d, 0 hides "
                  "the option)"),
    AP_INIT_TAKE1("TwoStepSessionLifetime", set_take1, NULL, WHERE,
                  "lifetime of a verification without trust (default 12h)"),
    AP_INIT_TAKE13("TwoStepBindIP", set_take13, NULL, WHERE,
                   "exact, off, or prefix V4BITS V6BITS (default exact)"),
    AP_INIT_TAKE1("TwoStepGroupFile", set_take1, ARG_IS_FILE, WHERE,
                  "group file, 'group: user user ...' lines"),
    AP_INIT_TAKE_ARGV("TwoStepEnforceGroups", set_argv, NULL, WHERE,
                      "groups whose members must use two-step "
                      "verification; * for everyone"),
    AP_INIT_TAKE_ARGV("TwoStepAdminGroups", set_argv, NULL, WHERE,
                      "groups allowed on the admin page"),
    AP_INIT_TAKE3("TwoStepMaxAttempts", set_take3, NULL, WHERE,
                  "failures per user, window, lockout (default 5 5m 15m)"),
    AP_INIT_TAKE3("TwoStepMaxAttemptsPerIP", set_take3, NULL, WHERE,
                  "failures per client IP, window, lockout "
                  "(default 100 5m 15m)"),
    AP_INIT_TAKE1("TwoStepStoreDown", set_take1, NULL, WHERE,
                  "on a Redis outage: cookie (valid cookies pass) or deny"),
    AP_INIT_TAKE1("TwoStepKeyPrefix", set_take1, NULL, WHERE,
                  "prefix of the Redis keys (default twostep:)"),
    { NULL }
};

/* ---- post_config: fail the start on a configuration that cannot work -- */

static int check_section(server_rec *s, apr_pool_t *ptemp,
                         const twostep_dir_conf *dc)
{
    ts_config tc;
    char err[512] = "";

    if (dc->tc.on != 1)
        return OK;
    tc = dc->tc;
    if (ts_config_finish(&tc, s->server_hostname, err, sizeof err) != 0) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "twostep: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int check_sections(server_rec *s, apr_pool_t *ptemp,
                          const twostep_dir_conf *defaults,
                          const apr_array_header_t *secs)
{
    ap_conf_vector_t **v = (ap_conf_vector_t **)secs->elts;
    int i, rc;

    for (i = 0; i < secs->nelts; i++) {
        const twostep_dir_conf *dc = ap_get_module_config(v[i],
                                                          &twostep_module);

        if (dc == NULL || !dc->touched)
            continue;
        rc = check_section(s, ptemp, merge_dir_conf(ptemp, (void *)defaults,
                                                    (void *)dc));
        if (rc != OK)
            return rc;
    }
    return OK;
}

static int twostep_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *main_s)
{
    server_rec *s;
    int rc;

    for (s = main_s; s; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        const twostep_dir_conf *defaults =
            ap_get_module_config(s->lookup_defaults, &twostep_module);

        if ((rc = check_section(s, ptemp, defaults)) != OK
            || (rc = check_sections(s, ptemp, defaults, core->sec_dir)) != OK
            || (rc = check_sections(s, ptemp, defaults, core->sec_url)) != OK)
            return rc;
    }
    return OK;
}

static void twostep_child_init(apr_pool_t *pchild, server_rec *s)
{
    twostep_srv_conf *sc = ap_get_module_config(s->module_config,
                                                &twostep_module);

    sc->child = twostep_child_create(pchild, s);
    if (sc->child == NULL)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "twostep: cannot create the child state");
}

/* ---- requests --------------------------------------------------------- */

static twostep_child *child_of(void)
{
    twostep_srv_conf *sc = ap_get_module_config(ap_server_conf->module_config,
                                                &twostep_module);

    return sc->child;
}

struct cookie_join {
    apr_pool_t *p;
    const char *all;
};

static int join_cookie(void *rec, const char *key, const char *val)
{
    struct cookie_join *j = rec;

    j->all = j->all ? apr_pstrcat(j->p, j->all, "; ", val, NULL) : val;
    return 1;
}

static void fill_request(request_rec *r, ts_request *req)
{
    struct cookie_join j = { r->pool, NULL };

    memset(req, 0, sizeof *req);
    apr_table_do(join_cookie, &j, r->headers_in, "Cookie", NULL);
    req->user = r->user;
    req->client_ip = r->useragent_ip;
    req->method = r->method;
    /* As received, not decoded: the return path is re-sent as is. */
    req->uri = r->parsed_uri.path ? r->parsed_uri.path : r->uri;
    req->args = r->args;
    req->cookie = j.all;
    req->user_agent = apr_table_get(r->headers_in, "User-Agent");
    req->https = strcmp(ap_http_scheme(r), "https") == 0;
    req->now_ms = apr_time_as_msec(apr_time_now());
}

/* TWOSTEP_STATUS / TWOSTEP_USER for logs, CGI and SSI. */
static void set_env(request_rec *r, const char *status, const char *user)
{
    if (status)
        apr_table_set(r->subprocess_env, "TWOSTEP_STATUS", status);
    if (user)
        apr_table_set(r->subprocess_env, "TWOSTEP_USER", user);
}

/* The request (main or earlier in the redirect chain) that already passed,
 * or NULL. */
static const request_rec *passed_before(const request_rec *r)
{
    const request_rec *p;

    for (p = r->main ? r->main : r->prev; p; p = p->main ? p->main : p->prev)
        if (apr_table_get(p->notes, NOTE_STATUS))
            return p;
    return NULL;
}

/* Applies a RESPOND decision. Headers of an error or redirect status go to
 * err_headers_out (kept by every error path), those of a page to
 * headers_out; each is set once (only Set-Cookie may repeat), and removed
 * from the other table so that nothing is sent twice. */
static int respond(request_rec *r, const ts_response *resp, int in_fixups)
{
    apr_table_t *out = resp->status >= 300 ? r->err_headers_out
                                           : r->headers_out;
    apr_table_t *other = out == r->headers_out ? r->err_headers_out
                                               : r->headers_out;
    size_t i;

    for (i = 0; i < resp->nheaders && i < TS_MAX_HEADERS; i++) {
        const char *name = resp->headers[i].name;
        const char *value = resp->headers[i].value;

        if (strcasecmp(name, "Content-Type") == 0)
            ap_set_content_type(r, apr_pstrdup(r->pool, value));
        else if (strcasecmp(name, "Set-Cookie") == 0)
            apr_table_add(out, name, value);
        else {
            apr_table_unset(other, name);
            apr_table_set(out, name, value);
        }
    }
    if (in_fixups && r->main)
        /* A subrequest's caller only needs the verdict; its body must not
         * end up inside the parent's output. */
        return resp->status;
    if (in_fixups && ap_discard_request_body(r) != OK)
        r->connection->keepalive = AP_CONN_CLOSE;
    r->status = resp->status;
    ap_set_content_length(r, (apr_off_t)resp->body_len);
    if (!r->header_only && resp->body_len > 0)
        ap_rwrite(resp->body, (int)resp->body_len, r);
    return in_fixups ? DONE : OK;
}

/* Runs one transaction to its decision. NULL only when out of memory. */
static ts_txn *run_txn(request_rec *r, const twostep_finished *f,
                       ts_mode mode, const ts_request *req)
{
    ts_txn *t;
    char why[256] = "";

    t = ts_txn_new(&f->cfg, f->store->cache, mode, req, twostep_log_request,
                   r);
    if (t == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "twostep: out of memory");
        return NULL;
    }
    /* A store failure has already been turned into the core's store-down
     * decision; it is logged by the core through the callback. */
    if (ts_sync_run(f->store->pool->sync, t, why, sizeof why) != 0)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "twostep: store failed: %s", why);
    return t;
}

static int twostep_fixups(request_rec *r)
{
    const twostep_dir_conf *dc = ap_get_module_config(r->per_dir_config,
                                                      &twostep_module);
    const request_rec *prev;
    const twostep_finished *f;
    const ts_response *resp;
    twostep_child *ch;
    ts_request req;
    ts_txn *t;
    int rc = DECLINED;

    if (dc == NULL || dc->tc.on != 1)
        return DECLINED;
    /* The pages have their own rules and must stay reachable. */
    if (r->handler && strcmp(r->handler, TWOSTEP_HANDLER) == 0)
        return DECLINED;
    if ((prev = passed_before(r)) != NULL) {
        set_env(r, apr_table_get(prev->notes, NOTE_STATUS),
                apr_table_get(prev->notes, NOTE_USER));
        return DECLINED;
    }
    if ((ch = child_of()) == NULL
        || (f = twostep_child_finished(ch, dc, r, TS_MODE_PROTECT)) == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    fill_request(r, &req);
    if ((t = run_txn(r, f, TS_MODE_PROTECT, &req)) == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    resp = ts_txn_response(t);
    set_env(r, resp->status_var, resp->user_var);
    if (resp->outcome == TS_PASS) {
        apr_table_set(r->notes, NOTE_STATUS,
                      resp->status_var ? resp->status_var : "pass");
        if (resp->user_var)
            apr_table_set(r->notes, NOTE_USER, resp->user_var);
    } else {
        rc = respond(r, resp, 1);
    }
    ts_txn_free(t);
    return rc;
}

/* Reads a form body of at most TS_FORM_MAX_BYTES (the core's limit). */
static int read_body(request_rec *r, char **body, size_t *len)
{
    apr_size_t cap = TS_FORM_MAX_BYTES + 1;
    long n;
    int rc;

    *body = NULL;
    *len = 0;
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return rc;
    if (!ap_should_client_block(r))
        return OK;
    if (r->remaining > TS_FORM_MAX_BYTES)
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    *body = apr_palloc(r->pool, cap);
    while ((n = ap_get_client_block(r, *body + *len, cap - *len)) > 0) {
        *len += (size_t)n;
        if (*len > TS_FORM_MAX_BYTES)
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    return n < 0 ? HTTP_BAD_REQUEST : OK;
}

static int twostep_handler(request_rec *r)
{
    const twostep_dir_conf *dc;
    const twostep_finished *f;
    const ts_response *resp;
    twostep_child *ch;
    ts_request req;
    char *body = NULL;
    size_t len = 0;
    ts_txn *t;
    int rc;

    if (r->handler == NULL || strcmp(r->handler, TWOSTEP_HANDLER) != 0)
        return DECLINED;
    dc = ap_get_module_config(r->per_dir_config, &twostep_module);
    if ((ch = child_of()) == NULL
        || (f = twostep_child_finished(ch, dc, r, TS_MODE_PAGES)) == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (ts_pages_wants_body(r->method)
        && (rc = read_body(r, &body, &len)) != OK)
        return rc;
    fill_request(r, &req);
    req.body = body;
    req.body_len = len;
    req.content_type = apr_table_get(r->headers_in, "Content-Type");
    if ((t = run_txn(r, f, TS_MODE_PAGES, &req)) == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    resp = ts_txn_response(t);
    set_env(r, resp->status_var, resp->user_var);
    rc = resp->outcome == TS_RESPOND ? respond(r, resp, 0)
                                     : HTTP_INTERNAL_SERVER_ERROR;
    ts_txn_free(t);
    return rc;
}

static void twostep_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(twostep_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(twostep_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(twostep_fixups, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(twostep_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

/* Not AP_DECLARE_MODULE: APLOG_USE_MODULE is needed at the top already. */
module AP_MODULE_DECLARE_DATA twostep_module = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_srv_conf,
    NULL,
    twostep_cmds,
    twostep_register_hooks,
    0
};
