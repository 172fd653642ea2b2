/* twostepctl: parse, find the command, run it. See twostepctl.h. */
#include <signal.h>
#include <stdio.h>
#include "twostepctl.h"

int
main(int argc, char **argv)
{
    const ctl_cmd *c;
    ctl_opts o;
    char err[256];

    /* A Redis that closes the connection must give an error, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (ctl_parse(argc, argv, &o, err, sizeof(err)) != 0)
        return ctl_usage_error(o.cmd, err);
    if (o.version) {
        printf("twostepctl %s\n", TWOSTEP_VERSION);
        return 0;
    }
    if (o.cmd == NULL) {
        if (o.help) {
            ctl_print_help(stdout);
            return 0;
        }
        return ctl_usage_error(NULL, "no command given");
    }
    c = ctl_find(o.cmd);
    if (c == NULL) {
        snprintf(err, sizeof(err), "unknown command \"%.100s\"", o.cmd);
        return ctl_usage_error(NULL, err);
    }
    if (o.help) {
        ctl_print_cmd_help(c, stdout);
        return 0;
    }
    if (ctl_check(c, &o, err, sizeof(err)) != 0)
        return ctl_usage_error(c->name, err);
    return c->run != NULL ? c->run(c, &o) : ctl_run_op(c, &o);
}
