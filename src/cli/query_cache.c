/*
 * cli/query_cache.c — what makes a question and its data recognizable to
 * the answer cache (src/cache): the store's data version and the
 * canonical key of a `flowlens query` command line.
 *
 * The data version is computed before the scan starts: rows that arrive
 * during the scan may then sit in an answer filed under the older
 * version, which no later question can ask for (its version already
 * differs), so an answer is never older than the data its version names.
 */
#include "cli.h"
#include "cache/cache.h"
#include "query/query.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KEY_FILTER_FILE_MAX (1u << 20)

int cli_store_data_version(struct fl_store *st, fl_time start, fl_time end, uint64_t *version)
{
    fl_store_seginfo *v = NULL;
    size_t n = 0;
    uint64_t h = FL_CACHE_HASH_INIT;
    uint32_t nx;
    fl_err e;

    fl_err_clear(&e);
    /* every segment the window may touch, whatever the exporters: new rows,
     * a published slot, a rewritten or expired file all change the list */
    if (fl_store_list(st, start, end, NULL, 0, &v, &n, &e) != FL_OK)
        return -1;
    for (size_t i = 0; i < n; i++) {
        h = fl_cache_hash(h, v[i].name, strlen(v[i].name));
        h = fl_cache_hash(h, &v[i].rows, sizeof v[i].rows);
        h = fl_cache_hash(h, &v[i].bytes, sizeof v[i].bytes);
        h = fl_cache_hash(h, &v[i].tmin, sizeof v[i].tmin);
        h = fl_cache_hash(h, &v[i].tmax, sizeof v[i].tmax);
    }
    free(v);
    /* exporter names and sampling reach rendered answers */
    nx = fl_store_exporter_count(st);
    for (uint32_t i = 0; i < nx; i++) {
        fl_store_exporter x;
        if (fl_store_exporter_at(st, i, &x) != FL_OK)
            continue;
        h = fl_cache_hash(h, &x.id, sizeof x.id);
        h = fl_cache_hash(h, x.name, strlen(x.name));
        h = fl_cache_hash(h, &x.sampling, sizeof x.sampling);
    }
    *version = h;
    return 0;
}

/* Append the contents of path to f; -1 when unreadable or too large. */
static int append_file(FILE *f, const char *path)
{
    FILE *in = fopen(path, "rb");
    char buf[8192];
    size_t n, total = 0;
    int rc = 0;

    if (in == NULL)
        return -1;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        total += n;
        if (total > KEY_FILTER_FILE_MAX) {
            rc = -1;
            break;
        }
        fwrite(buf, 1, n, f);
    }
    fclose(in);
    return rc;
}

char *cli_query_cache_key(const cli_args *args, const struct fl_query_spec *qs)
{
    char *buf = NULL;
    size_t len = 0;
    struct stat exe;
    const char *tz = getenv("TZ");
    FILE *f;
    int ok = 1;

    /* a rebuilt binary may answer differently */
    if (stat("/proc/self/exe", &exe) != 0)
        return NULL;
    f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    fprintf(f, "flowlens-query 1\nexe %lld %lld.%09ld\ntz %s\nwindow %lld %lld\n",
            (long long)exe.st_size, (long long)exe.st_mtim.tv_sec, exe.st_mtim.tv_nsec,
            tz ? tz : "", (long long)qs->start, (long long)qs->end);
    for (int i = 0; i < args->n; i++) {
        const char *name = args->v[i].opt->lng, *val = args->v[i].val;
        /* how the answer is computed, not what it is */
        if (strcmp(name, "threads") == 0 || strcmp(name, "log") == 0)
            continue;
        fprintf(f, "opt %s=%s\n", name, val ? val : "");
        if (strcmp(name, "file") == 0 && append_file(f, val) != 0)
            ok = 0;
    }
    for (int i = 0; i < args->npos; i++) {
        fprintf(f, "pos %s\n", args->pos[i]);
        /* included filter files are read later; their text is not here */
        if (strstr(args->pos[i], "@include") != NULL)
            ok = 0;
    }
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || buf == NULL || (buf && strstr(buf, "@include") != NULL)) {
        free(buf);
        return NULL;
    }
    return buf;
}
