/*
 * cli/cmd_filter.c — `flowlens filter [--explain] 'EXPR'`: check an
 * nfdump-syntax filter and optionally print its compiled plan.
 *
 * Exit 0 when the filter compiles, 1 with the positioned error on stderr
 * when it does not ("filter:1:17: unknown keyword 'prot' (did you mean
 * 'proto'?)" followed by the line and a caret), 2 for usage errors. Several
 * arguments are joined with spaces, as nfdump does with its filter words.
 */
#include "cli.h"
#include "filter/filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_ARG_MAX (1u << 20)

/* Print the offending line of text and a caret under byte offset off. */
static void show_caret(const char *text, size_t len, long long off)
{
    size_t s, e;

    if (off < 0 || (size_t)off > len)
        return;
    s = (size_t)off;
    while (s > 0 && text[s - 1] != '\n')
        s--;
    e = (size_t)off;
    while (e < len && text[e] != '\n')
        e++;
    if (e - s > 200)
        return;
    fprintf(stderr, "  %.*s\n  %*s^\n", (int)(e - s), text + s, (int)((size_t)off - s), "");
}

int cmd_filter(const cli_cmd *cmd, const cli_args *args)
{
    fl_filter_opts o;
    fl_filter *f = NULL;
    fl_err e;
    char *text = NULL;
    const char *file = cli_get(args, "file");
    size_t len = 0;
    fl_rc rc;
    int ret = CLI_EXIT_FAIL;

    memset(&o, 0, sizeof o);
    o.filters_dir = cli_get(args, "filters-dir");
    if (file == NULL && args->npos == 0)
        return cli_usage_error(cmd, "missing filter expression");
    if (file != NULL && args->npos > 0)
        return cli_usage_error(cmd, "give either --file or an expression, not both");
    if (file != NULL) {
        rc = fl_filter_compile_file(file, &o, &f, &e);
    } else {
        for (int i = 0; i < args->npos; i++)
            len += strlen(args->pos[i]) + 1;
        if (len > FILTER_ARG_MAX)
            return cli_usage_error(cmd, "filter expression longer than %u bytes", FILTER_ARG_MAX);
        text = malloc(len + 1);
        if (text == NULL) {
            fprintf(stderr, "flowlens filter: out of memory\n");
            return CLI_EXIT_FAIL;
        }
        len = 0;
        for (int i = 0; i < args->npos; i++) {
            size_t n = strlen(args->pos[i]);
            if (i > 0)
                text[len++] = ' ';
            memcpy(text + len, args->pos[i], n);
            len += n;
        }
        text[len] = '\0';
        rc = fl_filter_compile(text, len, &o, &f, &e);
    }
    if (rc != FL_OK) {
        char msg[1024];
        fl_err_format(&e, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        if (text != NULL && strcmp(e.where, "filter") == 0)
            show_caret(text, len, e.offset);
        goto out;
    }
    if (cli_has(args, "explain")) {
        size_t need = fl_filter_explain(f, NULL, 0) + 1;
        char *buf = malloc(need);
        if (buf == NULL) {
            fprintf(stderr, "flowlens filter: out of memory\n");
            goto out;
        }
        fl_filter_explain(f, buf, need);
        fputs(buf, stdout);
        free(buf);
    }
    ret = CLI_EXIT_OK;
out:
    fl_filter_free(f);
    free(text);
    return ret;
}
