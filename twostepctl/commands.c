/* The command table of twostepctl: names, help texts, operands. */
#include <stdio.h>
#include <string.h>
#include "twostepctl.h"

#define GLOBAL_HELP \
"Global options (before or after the command):\n" \
"  --redis URL        redis://[:pass@]host:port[/db], unix:/path[?db=N],\n" \
"                     sentinel://[:pass@]h:p,h:p/master[/db]\n" \
"                     (env TWOSTEP_REDIS; default redis://127.0.0.1:6379/0)\n" \
"  --key-file PATH    the key file the web servers use (env TWOSTEP_KEY_FILE)\n" \
"  --prefix P         Redis key prefix (env TWOSTEP_PREFIX; default twostep:)\n" \
"  --timeout DURATION connect and command timeout (default 500ms)\n" \
"  --json             print one JSON object instead of text\n" \
"  --help             this text; COMMAND --help for one command\n" \
"  --version          the version\n" \
"Options win over the environment. Exit status: 0 done, 1 refused,\n" \
"2 bad usage or store failure.\n"

/* Operands: USER only. */
static int
prep_user(const ctl_opts *o, ts_op *op, char *err, size_t errlen)
{
    if (o->args[0][0] == '\0') {
        snprintf(err, errlen, "the user name is empty");
        return -1;
    }
    op->user = o->args[0];
    return 0;
}

static int
prep_none(const ctl_opts *o, ts_op *op, char *err, size_t errlen)
{
    (void)o; (void)op; (void)err; (void)errlen;
    return 0;
}

static int
prep_enroll(const ctl_opts *o, ts_op *op, char *err, size_t errlen)
{
    if (prep_user(o, op, err, errlen) != 0)
        return -1;
    if (o->secret != NULL && o->secret[0] == '\0') {
        snprintf(err, errlen, "--secret is empty");
        return -1;
    }
    op->arg = o->secret;   /* NULL: the core generates one */
    return 0;
}

static int
prep_revoke(const ctl_opts *o, ts_op *op, char *err, size_t errlen)
{
    if (prep_user(o, op, err, errlen) != 0)
        return -1;
    if (o->all == (o->nargs == 2)) {
        snprintf(err, errlen, "give either a DEVICE id or --all");
        return -1;
    }
    op->arg = o->all ? "--all" : o->args[1];
    if (op->arg[0] == '\0') {
        snprintf(err, errlen, "the device id is empty");
        return -1;
    }
    return 0;
}

static int
prep_verify(const ctl_opts *o, ts_op *op, char *err, size_t errlen)
{
    if (prep_user(o, op, err, errlen) != 0)
        return -1;
    if (o->args[1][0] == '\0' || strlen(o->args[1]) > 64) {
        snprintf(err, errlen, "CODE must be a code or a backup code");
        return -1;
    }
    op->arg = o->args[1];
    return 0;
}

static int
prep_audit(const ctl_opts *o, ts_op *op, char *err, size_t errlen)
{
    const char *s = o->count;
    long v = 0;
    size_t i;

    if (s != NULL) {
        for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 7; i++)
            v = v * 10 + (s[i] - '0');
        if (i == 0 || s[i] != '\0' || v < 1 || v > 100000) {
            snprintf(err, errlen, "--count needs a number from 1 to 100000");
            return -1;
        }
    }
    op->arg = s;
    return 0;
}

static const ctl_cmd commands[] = {
    { "keygen", "keygen [--out FILE | --rotate FILE]",
      "Prints a new key line (KEYID:BASE64, 32 random bytes).\n"
      "  --out FILE     write a new key file (mode 0600); an existing FILE\n"
      "                 is never overwritten\n"
      "  --rotate FILE  put a new key first in an existing key file, keeping\n"
      "                 the old keys (they still verify); drop the last line\n"
      "                 once the trust duration has passed\n"
      "Needs no Redis and no key file.\n",
      TS_OP_INIT, 0, 0, CTL_OPT_OUT | CTL_OPT_ROTATE, prep_none, ctl_keygen },
    { "init", "init",
      "Writes the store marker (idempotent). Until it exists the modules\n"
      "answer 503: a Redis that lost its data fails closed.\n",
      TS_OP_INIT, 0, 0, 0, prep_none, NULL },
    { "status", "status USER",
      "Shows whether USER has 2-step on, since when, the code parameters,\n"
      "the number of trusted devices and backup codes left, and any lock.\n",
      TS_OP_STATUS, 1, 1, 0, prep_user, NULL },
    { "list", "list",
      "Lists every user the store knows, with their 2-step state.\n",
      TS_OP_LIST, 0, 0, 0, prep_none, NULL },
    { "enroll", "enroll USER [--secret B32] [--digits N] [--period S] "
      "[--algorithm A] [--issuer NAME]",
      "Turns 2-step on for USER with a new secret (or the base32 secret\n"
      "given, e.g. of a hardware token) and prints the otpauth:// URI to\n"
      "load into the authenticator, and 10 backup codes. Older cookies of\n"
      "USER stop working.\n"
      "  --digits N     6 to 8 (default 6)\n"
      "  --period S     seconds per code, 1 to 300 (default 30; many\n"
      "                 hardware tokens such as Protectimus SLIM use 60)\n"
      "  --algorithm A  SHA1, SHA256 or SHA512 (default SHA1)\n"
      "  --issuer NAME  the name the app shows (default \"twostep\"; use the\n"
      "                 web servers' TwoStepIssuer)\n",
      TS_OP_ENROLL, 1, 1, CTL_OPT_SECRET | CTL_OPT_DIGITS | CTL_OPT_PERIOD |
      CTL_OPT_ALG | CTL_OPT_ISSUER, prep_enroll, NULL },
    { "disable", "disable USER",
      "Turns 2-step off for USER and revokes every trusted device.\n",
      TS_OP_DISABLE, 1, 1, 0, prep_user, NULL },
    { "backup-codes", "backup-codes USER",
      "Makes 10 new single-use backup codes for USER and prints them once;\n"
      "the old ones stop working.\n",
      TS_OP_BACKUP_CODES, 1, 1, 0, prep_user, NULL },
    { "devices", "devices USER",
      "Lists USER's trusted devices: id, created, last seen, IP, browser.\n",
      TS_OP_DEVICES, 1, 1, 0, prep_user, NULL },
    { "revoke", "revoke USER DEVICE | revoke USER --all",
      "Revokes one trusted device of USER (an id from `devices`), or all.\n",
      TS_OP_REVOKE, 1, 2, CTL_OPT_ALL, prep_revoke, NULL },
    { "unlock", "unlock USER",
      "Clears USER's failed-attempt counter and lockout.\n",
      TS_OP_UNLOCK, 1, 1, 0, prep_user, NULL },
    { "verify", "verify USER CODE",
      "Checks a code (or backup code) of USER as the login page would: a\n"
      "TOTP step is accepted once, a backup code is consumed. Exit 0 when\n"
      "accepted, 1 when refused.\n",
      TS_OP_VERIFY, 2, 2, 0, prep_verify, NULL },
    { "audit", "audit [--count N]",
      "Prints the newest N audit events (default 100), newest first.\n",
      TS_OP_AUDIT, 0, 0, CTL_OPT_COUNT, prep_audit, NULL },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const ctl_cmd *
ctl_find(const char *name)
{
    size_t i;

    for (i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void
ctl_print_help(FILE *f)
{
    size_t i;

    fprintf(f, "usage: twostepctl [OPTIONS] COMMAND [ARGS]\n"
            "Administers twostep, two-step verification for Apache and "
            "nginx.\n\nCommands:\n");
    for (i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %s\n", commands[i].usage);
    fprintf(f, "\n%s", GLOBAL_HELP);
}

void
ctl_print_cmd_help(const ctl_cmd *c, FILE *f)
{
    fprintf(f, "usage: twostepctl [OPTIONS] %s\n\n%s\n%s", c->usage, c->help,
            GLOBAL_HELP);
}

static const char *
opt_name(unsigned bit)
{
    switch (bit) {
    case CTL_OPT_SECRET: return "--secret";
    case CTL_OPT_ALL:    return "--all";
    case CTL_OPT_COUNT:  return "--count";
    case CTL_OPT_OUT:    return "--out";
    case CTL_OPT_DIGITS: return "--digits";
    case CTL_OPT_PERIOD: return "--period";
    case CTL_OPT_ALG:    return "--algorithm";
    case CTL_OPT_ISSUER: return "--issuer";
    default:             return "--rotate";
    }
}

int
ctl_check(const ctl_cmd *c, const ctl_opts *o, char *err, size_t errlen)
{
    unsigned extra = o->seen & ~c->opts, bit;

    for (bit = 1; bit <= CTL_OPT_ISSUER; bit <<= 1)
        if (extra & bit) {
            snprintf(err, errlen, "%s does not take %s", c->name,
                     opt_name(bit));
            return -1;
        }
    if (o->too_many || o->nargs > c->max_args) {
        snprintf(err, errlen, "too many arguments for %s", c->name);
        return -1;
    }
    if (o->nargs < c->min_args) {
        snprintf(err, errlen, "%s needs %s", c->name,
                 c->min_args == 1 ? "a USER" : "USER and CODE");
        return -1;
    }
    return 0;
}

int
ctl_usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "twostepctl: %s\n", msg);
    if (cmd != NULL)
        fprintf(stderr, "see twostepctl %s --help\n", cmd);
    else
        fprintf(stderr, "see twostepctl --help\n");
    return 2;
}
