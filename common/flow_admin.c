/* The admin page: members of the admin groups see every user (from the
 * group file and the store) and can disable 2-step, revoke devices and
 * lift a lockout. Every action is audited with the admin's name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "groups.h"
#include "ts_err.h"

#define TS_ADMIN_MAX_USERS 2000

typedef struct {
    ts_txn      *t;
    const char **names;
    size_t       n;
} user_list;

static int
has_name(const user_list *l, const char *u)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (strcmp(l->names[i], u) == 0)
            return 1;
    return 0;
}

static void
add_name(void *ctx, const char *u)
{
    user_list *l = ctx;

    if (l->n < TS_ADMIN_MAX_USERS && u[0] && !has_name(l, u))
        l->names[l->n++] = ts_arena_strdup(&l->t->arena, u);
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
not_admin(ts_txn *t)
{
    ts_logf(t, TS_LOG_WARN, "\"%s\" is not in twostep_admin_groups: admin "
            "page refused", t->user);
    ts_resp_message(t, 403, TS_MSG_NOT_ALLOWED, 0,
                    "Only members of the administrator groups can use this "
                    "page.");
    return TS_DONE;
}

/* The notice after an action (a fixed sentence; only the user name comes
 * from the query, and the page escapes it). */
static const char *
admin_notice(ts_txn *t)
{
    const char *done = ts_form_value(t, "done");
    const char *who = ts_form_value(t, "user");

    if (done == NULL || who == NULL || who[0] == '\0' ||
        strlen(who) > TS_USER_MAX)
        return NULL;
    if (strcmp(done, "disabled") == 0)
        return ts_arena_printf(&t->arena, "2-step verification is now off "
                               "for %s, and every trusted device of theirs "
                               "is revoked.", who);
    if (strcmp(done, "revoked") == 0)
        return ts_arena_printf(&t->arena, "Every trusted device of %s is "
                               "revoked: the next visit asks for a code.",
                               who);
    if (strcmp(done, "unlocked") == 0)
        return ts_arena_printf(&t->arena, "%s may try codes again.", who);
    return NULL;
}

static int
admin_render(ts_txn *t)
{
    const char **names = t->names;
    size_t i, n = t->nnames;
    ts_admin_row *rows;
    ts_page_ctx ctx;

    TS_PAGE_STORE_CHECK(t, -1);
    rows = ts_arena_alloc(&t->arena, (n + 1) * sizeof(*rows));
    if (rows == NULL)
        return ts_page_code_failed(t, TS_CODE_STORE);
    for (i = 0; i < n; i++) {
        long long ttl = ts_rep_int(ts_rep(t, 4 * i + 3), -2);
        rows[i].user = names[i];
        rows[i].enabled = ts_rep_int(ts_rep(t, 4 * i), 0) == 1;
        rows[i].enforced = ts_is_enforced(t, names[i]);
        rows[i].ndevices = (int)ts_rep_int(ts_rep(t, 4 * i + 1), 0);
        rows[i].backup_left = (int)ts_rep_int(ts_rep(t, 4 * i + 2), 0);
        rows[i].locked_for = ttl > 0 ? (ttl + 999) / 1000 : 0;
    }
    ts_page_ctx_fill(t, &ctx);
    ts_buf_reset(&t->body);
    ts_page_admin(&t->body, &ctx, rows, n, admin_notice(t), t->error);
    ts_resp_page(t, 200);
    return TS_DONE;
}

static int
admin_users_read(ts_txn *t)
{
    const ts_reply *members;
    user_list l;
    size_t i;

    TS_PAGE_STORE_CHECK(t, 1);
    l.t = t;
    l.n = 0;
    l.names = ts_arena_alloc(&t->arena, TS_ADMIN_MAX_USERS * sizeof(char *));
    if (l.names == NULL)
        return ts_page_code_failed(t, TS_CODE_STORE);
    if (t->cfg->groups)
        ts_groups_each_user(t->cfg->groups, NULL, add_name, &l);
    members = ts_rep(t, 0);
    for (i = 0; i < members->n; i++) {
        const char *u = ts_rep_str(ts_rep_elem(members, i));
        if (u)
            add_name(&l, u);
    }
    qsort(l.names, l.n, sizeof(char *), cmp_names);
    t->names = l.names;
    t->nnames = l.n;
    t->step = admin_render;
    for (i = 0; i < l.n; i++) {
        ts_cmd_add(t, "HGET", ts_rkey(t, l.names[i], "user"), "enabled", NULL);
        ts_cmd_add(t, "HLEN", ts_rkey(t, l.names[i], "devices"), NULL);
        ts_cmd_add(t, "SCARD", ts_rkey(t, l.names[i], "backup"), NULL);
        ts_cmd_add(t, "PTTL", ts_rkey(t, l.names[i], "lock"), NULL);
    }
    if (l.n == 0)
        return admin_render(t);
    return TS_NEED_STORE;
}

static int
admin_list_begin(ts_txn *t)
{
    t->step = admin_users_read;
    ts_cmd_add(t, "SMEMBERS", ts_rkey_global(t, "users"), NULL);
    ts_cmd_marker(t);
    return TS_NEED_STORE;
}

int
ts_admin_get(ts_txn *t)
{
    if (!ts_is_admin(t, t->user))
        return not_admin(t);
    return ts_gate(t, admin_list_begin, "/admin", 1);
}

static int
admin_done(ts_txn *t)
{
    ts_buf b;

    TS_PAGE_STORE_CHECK(t, -1);
    ts_buf_init(&b);
    ts_buf_printf(&b, "%s/admin?done=%s&user=", t->cfg->path,
                  strcmp(t->admin_action, "disable") == 0 ? "disabled"
                  : strcmp(t->admin_action, "revoke") == 0 ? "revoked"
                  : "unlocked");
    ts_buf_put_urlenc(&b, t->target, strlen(t->target));
    ts_resp_redirect(t, ts_arena_strdup(&t->arena, ts_buf_str(&b)));
    ts_buf_free(&b);
    return TS_DONE;
}

static int
admin_act(ts_txn *t)
{
    const char *action = t->admin_action, *target = t->target;

    t->step = admin_done;
    if (strcmp(action, "disable") == 0) {
        ts_cmd_disable(t, target);
        ts_cmd_publish(t, target);
        ts_audit(t, "admin-disabled", target, NULL);
    } else if (strcmp(action, "revoke") == 0) {
        ts_cmd_add(t, "DEL", ts_rkey(t, target, "devices"), NULL);
        ts_cmd_publish(t, target);
        ts_audit(t, "admin-revoked-devices", target, NULL);
    } else {
        ts_cmd_add(t, "DEL", ts_rkey(t, target, "fail"),
                   ts_rkey(t, target, "lock"), NULL);
        ts_audit(t, "admin-unlocked", target, NULL);
    }
    return TS_NEED_STORE;
}

int
ts_admin_post(ts_txn *t, const char *action)
{
    const char *target = ts_form_value(t, "user");

    if (!ts_is_admin(t, t->user))
        return not_admin(t);
    if (strcmp(action, "disable") != 0 && strcmp(action, "revoke") != 0 &&
        strcmp(action, "unlock") != 0) {
        ts_resp_message(t, 404, TS_MSG_NOT_FOUND, 0, NULL);
        return TS_DONE;
    }
    if (target == NULL || target[0] == '\0' || strlen(target) > TS_USER_MAX) {
        ts_resp_message(t, 400, TS_MSG_BAD_REQUEST, 0, "No user was chosen.");
        return TS_DONE;
    }
    t->admin_action = action;
    t->target = target;
    return ts_gate(t, admin_act, "/admin", 1);
}
