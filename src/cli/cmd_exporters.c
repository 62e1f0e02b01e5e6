/*
 * cli/cmd_exporters.c — `flowlens exporters`: the exporter table of a
 * store with what each exporter sent.
 *
 * Identity (address, observation domain, name, sampling) comes from the
 * store's exporter table; flows, bytes and last-seen come from one query
 * over the store (stats by exporter), so the listing shows what is stored,
 * not what a daemon last counted.
 */
#include "cli.h"
#include "query/query.h"
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int cmd_exporters(const cli_cmd *cmd, const cli_args *args)
{
    const char *dir = cli_get(args, "store") ? cli_get(args, "store") : "./var/store";
    int json = cli_get(args, "output") && strcmp(cli_get(args, "output"), "json") == 0;
    fl_query_spec qs;
    fl_store *st = NULL;
    fl_store_scan *sc = NULL;
    fl_source src;
    fl_qresult *res = NULL;
    fl_err e;
    int rc;
    uint32_t n;

    if (args->npos > 0)
        return cli_usage_error(cmd, "unexpected argument '%s'", args->pos[0]);
    if (cli_get(args, "output") && !json && strcmp(cli_get(args, "output"), "table") != 0)
        return cli_usage_error(cmd, "-o: table or json, not '%s'", cli_get(args, "output"));
    fl_query_spec_init(&qs);
    fl_err_clear(&e);
    if (fl_query_parse_stat(&qs, "sysid", &e) != FL_OK)
        return CLI_EXIT_FAIL;
    qs.top = 0;
    rc = cli_store_source(cmd, dir, &qs, NULL, &st, &sc, &src);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (fl_query_run(&qs, src, &res, &e) != FL_OK) {
        char msg[900];
        fl_err_format(&e, msg, sizeof msg);
        fprintf(stderr, "flowlens exporters: %s\n", msg);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    n = fl_store_exporter_count(st);
    if (json)
        printf("[");
    else
        printf("%5s  %-39s %10s  %-20s %8s %12s %16s  %s\n", "id", "address", "domain", "name",
               "sampling", "flows", "bytes", "last flow");
    for (uint32_t i = 0; i < n; i++) {
        fl_store_exporter x;
        const fl_qrow *row = NULL;
        char addr[FL_ADDR_STRLEN], last[40] = "-";

        if (fl_store_exporter_at(st, i, &x) != FL_OK)
            continue;
        for (size_t k = 0; k < res->nrows; k++)
            if (res->rows[k].key[0].lo == x.id)
                row = &res->rows[k];
        fl_addr_format(x.addr, addr, sizeof addr);
        if (row)
            fl_time_format(row->c.last, FL_TFMT_ISO, 0, last, sizeof last);
        if (json)
            printf("%s{\"id\":%u,\"address\":\"%s\",\"domain\":%" PRIu32 ",\"name\":\"%s\","
                   "\"sampling\":%" PRIu32 ",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64
                   ",\"last\":%s%s%s}",
                   i ? "," : "", x.id, addr, x.domain, x.name, x.sampling,
                   row ? row->c.flows : 0, row ? row->c.bytes + row->c.out_bytes : 0,
                   row ? "\"" : "", row ? last : "null", row ? "\"" : "");
        else
            printf("%5u  %-39s %10" PRIu32 "  %-20s %8" PRIu32 " %12" PRIu64 " %16" PRIu64 "  %s\n",
                   x.id, addr, x.domain, x.name[0] ? x.name : "-", x.sampling,
                   row ? row->c.flows : 0, row ? row->c.bytes + row->c.out_bytes : 0, last);
    }
    if (json)
        printf("]\n");
    rc = CLI_EXIT_OK;
out:
    fl_qresult_free(res);
    fl_store_scan_free(sc);
    fl_store_close(st, NULL);
    return rc;
}
