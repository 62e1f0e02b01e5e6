/*
 * cli/cmd_store.c — `flowlens verify` and `flowlens expire`: the store's
 * maintenance commands.
 *
 * Both open the store read-only (no writer lock), so they run beside a
 * collector writing the same store. verify prints one line per problem
 * (file, then column and chunk when it concerns one) and exits 1 when it
 * found any; expire prints each segment it deletes and never touches the
 * open slot.
 */
#include "cli.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_STORE "./var/store"

static const char *store_dir(const cli_args *a)
{
    const char *d = cli_get(a, "store");
    return d ? d : DEFAULT_STORE;
}

static int open_store(const cli_cmd *cmd, const char *dir, fl_store **s)
{
    fl_err e;
    char msg[900];

    fl_err_clear(&e);
    if (fl_store_open(dir, NULL, FL_STORE_READ, s, &e) == FL_OK)
        return 0;
    fl_err_format(&e, msg, sizeof msg);
    fprintf(stderr, "flowlens %s: %s\n", cmd->name, msg);
    return -1;
}

static void print_problem(void *ctx, const char *file, const char *msg)
{
    const char *dir = ctx;
    printf("%s/seg/%s: %s\n", dir, file, msg);
}

int cmd_verify(const cli_cmd *cmd, const cli_args *args)
{
    const char *dir = store_dir(args);
    fl_store_verify_stats st;
    char ctx[1024];
    fl_store *s;
    fl_err e;
    fl_rc rc;

    if (args->npos > 0)
        return cli_usage_error(cmd, "unexpected argument '%s'", args->pos[0]);
    if (open_store(cmd, dir, &s) != 0)
        return CLI_EXIT_FAIL;
    fl_err_clear(&e);
    snprintf(ctx, sizeof ctx, "%s", dir);
    rc = fl_store_verify(s, cli_has(args, "deep"), print_problem, ctx, &st, &e);
    fl_store_close(s, NULL);
    if (rc != FL_OK && rc != FL_ECORRUPT) {
        char msg[900];
        fl_err_format(&e, msg, sizeof msg);
        fprintf(stderr, "flowlens verify: %s\n", msg);
        return CLI_EXIT_FAIL;
    }
    printf("verify: %llu of %llu segments have a by-address copy\n",
           (unsigned long long)st.copies, (unsigned long long)st.segments);
    printf("verify%s: %llu segments, %llu open slots, %llu row groups, %llu chunks, %llu rows: ",
           cli_has(args, "deep") ? " --deep" : "", (unsigned long long)st.segments,
           (unsigned long long)st.open_slots, (unsigned long long)st.groups,
           (unsigned long long)st.chunks, (unsigned long long)st.rows);
    if (st.problems == 0) {
        printf("OK\n");
        return CLI_EXIT_OK;
    }
    printf("%llu problem(s)\n", (unsigned long long)st.problems);
    return CLI_EXIT_FAIL;
}

/* "30d", "12h", "90m", "3600s", "2w"; a unit is required. */
int cli_parse_duration(const char *s, fl_time *out)
{
    uint64_t v = 0, mult;
    const char *p = s;
    int digits = 0;

    while (*p >= '0' && *p <= '9' && digits < 12) {
        v = v * 10 + (uint64_t)(*p++ - '0');
        digits++;
    }
    if (digits == 0 || p[0] == '\0' || p[1] != '\0')
        return -1;
    switch (*p) {
    case 's': mult = 1000; break;
    case 'm': mult = 60000; break;
    case 'h': mult = 3600000; break;
    case 'd': mult = 86400000; break;
    case 'w': mult = 604800000; break;
    default: return -1;
    }
    *out = (fl_time)(v * mult);
    return 0;
}

/* "500G", "10M", "2048K", "1T", "12345" (bytes); binary units, optional
 * trailing B. */
int cli_parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0, mult = 1;
    const char *p = s;
    int digits = 0;

    while (*p >= '0' && *p <= '9' && digits < 15) {
        v = v * 10 + (uint64_t)(*p++ - '0');
        digits++;
    }
    if (digits == 0)
        return -1;
    switch (*p) {
    case 'K': case 'k': mult = 1ULL << 10; p++; break;
    case 'M': mult = 1ULL << 20; p++; break;
    case 'G': case 'g': mult = 1ULL << 30; p++; break;
    case 'T': case 't': mult = 1ULL << 40; p++; break;
    default: break;
    }
    if (*p == 'B' || *p == 'b')
        p++;
    if (*p != '\0')
        return -1;
    *out = v * mult;
    return 0;
}

static void print_deleted(void *ctx, const char *file, const char *msg)
{
    const char *dir = ctx;
    printf("%s/seg/%s: %s\n", dir, file, msg);
}

int cmd_expire(const cli_cmd *cmd, const cli_args *args)
{
    const char *dir = store_dir(args), *age = cli_get(args, "max-age"),
               *size = cli_get(args, "max-size");
    fl_store_expire_opts o;
    fl_store_expire_stats st;
    char ctx[1024];
    fl_store *s;
    fl_err e;
    fl_rc rc;

    if (args->npos > 0)
        return cli_usage_error(cmd, "unexpected argument '%s'", args->pos[0]);
    memset(&o, 0, sizeof o);
    if (age == NULL && size == NULL)
        return cli_usage_error(cmd, "give --max-age, --max-size or both");
    if (age && cli_parse_duration(age, &o.max_age_ms) != 0)
        return cli_usage_error(cmd, "--max-age '%s': expected a number and a unit s, m, h, d or w",
                               age);
    if (size && cli_parse_size(size, &o.max_bytes) != 0)
        return cli_usage_error(cmd, "--max-size '%s': expected bytes, or a number and K, M, G or T",
                               size);
    o.dry_run = cli_has(args, "dry-run");
    if (open_store(cmd, dir, &s) != 0)
        return CLI_EXIT_FAIL;
    fl_err_clear(&e);
    snprintf(ctx, sizeof ctx, "%s", dir);
    rc = fl_store_expire(s, &o, print_deleted, ctx, &st, &e);
    fl_store_close(s, NULL);
    if (rc != FL_OK) {
        char msg[900];
        fl_err_format(&e, msg, sizeof msg);
        fprintf(stderr, "flowlens expire: %s\n", msg);
        return CLI_EXIT_FAIL;
    }
    printf("expire%s: %llu segments (%llu bytes) %s, %llu segments (%llu bytes) kept\n",
           o.dry_run ? " --dry-run" : "", (unsigned long long)st.deleted,
           (unsigned long long)st.deleted_bytes, o.dry_run ? "would be deleted" : "deleted",
           (unsigned long long)st.kept, (unsigned long long)st.kept_bytes);
    return CLI_EXIT_OK;
}
