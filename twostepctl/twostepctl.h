/* twostepctl: the administrators' command-line tool (DESIGN.md).
 *
 * main.c parses (options.c), finds the command (commands.c) and runs it:
 * keygen locally (keygen.c), everything else as an admin operation of the
 * core on the blocking store executor (run.c). */
#ifndef TWOSTEPCTL_H
#define TWOSTEPCTL_H

#include <stdio.h>
#include "twostep.h"

#define CTL_MAX_ARGS 4

/* Options that only some commands accept (bits of ctl_opts.seen). */
enum {
    CTL_OPT_SECRET = 1 << 0,   /* enroll --secret B32 */
    CTL_OPT_ALL    = 1 << 1,   /* revoke --all */
    CTL_OPT_COUNT  = 1 << 2,   /* audit --count N */
    CTL_OPT_OUT    = 1 << 3,   /* keygen --out FILE */
    CTL_OPT_ROTATE = 1 << 4,   /* keygen --rotate FILE */
    CTL_OPT_DIGITS = 1 << 5,   /* enroll --digits N */
    CTL_OPT_PERIOD = 1 << 6,   /* enroll --period S */
    CTL_OPT_ALG    = 1 << 7,   /* enroll --algorithm A */
    CTL_OPT_ISSUER = 1 << 8    /* enroll --issuer NAME */
};

typedef struct {
    /* global */
    const char *redis, *key_file, *prefix, *timeout;
    int         json, help, version;
    /* per command */
    const char *secret, *count, *out, *rotate;
    const char *digits, *period, *algorithm, *issuer;
    int         all;
    unsigned    seen;                 /* CTL_OPT_* given */
    /* the command and its operands */
    const char *cmd;
    const char *args[CTL_MAX_ARGS];
    int         nargs;
    int         too_many;             /* more operands than CTL_MAX_ARGS */
} ctl_opts;

/* Parses argv (options may come before or after the command; "--" ends
 * them; "--name=value" and "--name value" both work) and then fills unset
 * globals from TWOSTEP_REDIS, TWOSTEP_KEY_FILE, TWOSTEP_PREFIX. 0, or -1
 * with err naming the problem. */
int ctl_parse(int argc, char **argv, ctl_opts *o, char *err, size_t errlen);

typedef struct ctl_cmd ctl_cmd;
struct ctl_cmd {
    const char *name;
    const char *usage;       /* "status USER" */
    const char *help;        /* paragraph(s) after the usage line */
    ts_op_kind  kind;        /* the admin operation; unused for keygen */
    int         min_args, max_args;
    unsigned    opts;        /* CTL_OPT_* accepted */
    /* Builds op->user/op->arg from the operands; 0 or -1 with err. */
    int       (*prepare)(const ctl_opts *o, ts_op *op, char *err,
                         size_t errlen);
    /* NULL = run as an admin operation (run.c). */
    int       (*run)(const ctl_cmd *c, const ctl_opts *o);
};

const ctl_cmd *ctl_find(const char *name);
void ctl_print_help(FILE *f);
void ctl_print_cmd_help(const ctl_cmd *c, FILE *f);
/* Checks options and operand counts against the command; 0 or -1. */
int ctl_check(const ctl_cmd *c, const ctl_opts *o, char *err, size_t errlen);

/* Prints "twostepctl: MSG" and the --help hint on stderr; returns 2. */
int ctl_usage_error(const char *cmd, const char *msg);

int ctl_run_op(const ctl_cmd *c, const ctl_opts *o);   /* run.c */
int ctl_keygen(const ctl_cmd *c, const ctl_opts *o);   /* keygen.c */

#endif
