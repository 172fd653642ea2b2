/* Command-line and environment parsing for twostepctl. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "twostepctl.h"

typedef struct {
    const char *name;
    int         takes_value;
    size_t      field;      /* offsetof a const char * or int in ctl_opts */
    unsigned    bit;        /* CTL_OPT_* for per-command options, else 0 */
} opt_def;

static const opt_def defs[] = {
    { "redis",    1, offsetof(ctl_opts, redis),    0 },
    { "key-file", 1, offsetof(ctl_opts, key_file), 0 },
    { "prefix",   1, offsetof(ctl_opts, prefix),   0 },
    { "timeout",  1, offsetof(ctl_opts, timeout),  0 },
    { "json",     0, offsetof(ctl_opts, json),     0 },
    { "help",     0, offsetof(ctl_opts, help),     0 },
    { "version",  0, offsetof(ctl_opts, version),  0 },
    { "secret",   1, offsetof(ctl_opts, secret),   CTL_OPT_SECRET },
    { "all",      0, offsetof(ctl_opts, all),      CTL_OPT_ALL },
    { "count",    1, offsetof(ctl_opts, count),    CTL_OPT_COUNT },
    { "out",      1, offsetof(ctl_opts, out),      CTL_OPT_OUT },
    { "rotate",   1, offsetof(ctl_opts, rotate),   CTL_OPT_ROTATE },
    { "digits",   1, offsetof(ctl_opts, digits),   CTL_OPT_DIGITS },
    { "period",   1, offsetof(ctl_opts, period),   CTL_OPT_PERIOD },
    { "algorithm", 1, offsetof(ctl_opts, algorithm), CTL_OPT_ALG },
    { "issuer",   1, offsetof(ctl_opts, issuer),   CTL_OPT_ISSUER },
};

static const opt_def *
find_def(const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
        if (strlen(defs[i].name) == n && strncmp(defs[i].name, name, n) == 0)
            return &defs[i];
    return NULL;
}

/* One "--name[=value]" at argv[*i]; may consume the next word. */
static int
parse_long(int argc, char **argv, int *i, ctl_opts *o, char *err,
           size_t errlen)
{
    const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    const opt_def *d = find_def(arg, n);
    const char *value = eq ? eq + 1 : NULL;

    if (d == NULL) {
        snprintf(err, errlen, "unknown option \"%s\"", argv[*i]);
        return -1;
    }
    if (!d->takes_value) {
        if (value != NULL) {
            snprintf(err, errlen, "option --%s takes no value", d->name);
            return -1;
        }
        *(int *)((char *)o + d->field) = 1;
    } else {
        if (value == NULL) {
            if (*i + 1 >= argc) {
                snprintf(err, errlen, "option --%s needs a value", d->name);
                return -1;
            }
            value = argv[++*i];
        }
        *(const char **)((char *)o + d->field) = value;
    }
    o->seen |= d->bit;
    return 0;
}

static void
add_operand(ctl_opts *o, const char *s)
{
    if (o->cmd == NULL)
        o->cmd = s;
    else if (o->nargs < CTL_MAX_ARGS)
        o->args[o->nargs++] = s;
    else
        o->too_many = 1;
}

static void
from_env(const char **field, const char *name)
{
    const char *v = getenv(name);

    if (*field == NULL && v != NULL && v[0] != '\0')
        *field = v;
}

int
ctl_parse(int argc, char **argv, ctl_opts *o, char *err, size_t errlen)
{
    int i, only_operands = 0;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_operands || a[0] != '-' || a[1] == '\0') {
            add_operand(o, a);
        } else if (strcmp(a, "--") == 0) {
            only_operands = 1;
        } else if (strcmp(a, "-h") == 0) {
            o->help = 1;
        } else if (a[1] == '-') {
            if (parse_long(argc, argv, &i, o, err, errlen) != 0)
                return -1;
        } else {
            snprintf(err, errlen, "unknown option \"%s\"", a);
            return -1;
        }
    }
    from_env(&o->redis, "TWOSTEP_REDIS");
    from_env(&o->key_file, "TWOSTEP_KEY_FILE");
    from_env(&o->prefix, "TWOSTEP_PREFIX");
    return 0;
}
