/*
 * cli/cmd_serve.c — `flowlens serve`: collector, store writer, expiry and
 * the HTTP server in one process.
 *
 * Until the HTTP server lands this validates its options and says plainly
 * that the server is not built yet.
 */
#include "cli.h"

#include <stdio.h>

int cmd_serve(const cli_cmd *cmd, const cli_args *args)
{
    const char *store = cli_get(args, "store");

    if (args->npos > 0)
        return cli_usage_error(cmd, "unexpected argument '%s'", args->pos[0]);
    printf("flowlens serve: store %s, http %s\n", store ? store : "./var/store",
           cli_get(args, "http") ? cli_get(args, "http") : "127.0.0.1:8080");
    printf("flowlens serve: the server is not built yet in this version; "
           "nothing is listening.\n");
    return CLI_EXIT_OK;
}
