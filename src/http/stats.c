/*
 * http/stats.c — the collector's statistics file, read for /api/v1/exporters.
 *
 * The collector (src/collect, started by `flowlens serve`) rewrites
 * STORE/collector-stats.jsonl atomically every 5 s and at shutdown: a
 * "server" line (datagrams, kernel and queue drops, ...), one "exporter"
 * line per exporter it knows (sequence loss, malformed packets by reason,
 * templates, sampling, ...) carrying the store's exporter id (`store_id`,
 * the id in the flows' exporter column), and "counters" lines with sFlow
 * interface counters. The HTTP server reads it at request time, so the
 * API never holds collector state of its own and works the same when the
 * collector runs in another process.
 *
 * The file is advisory: missing, unreadable, too large or malformed, it is
 * reported in the answer's "collector" status and the exporter list is
 * served without it. Lines of one store id are summed field by field (a
 * store exporter may be fed by more than one collector exporter, e.g. one
 * per protocol); first_seen takes the earliest, last_seen the latest.
 */
#include "http_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define COUNTERS_PER_EXPORTER 1024

/* a + b, saturating (the file is not trusted to keep sums in range). */
json_int_t http_sat_add(json_int_t a, json_int_t b)
{
    json_int_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* dst += src, field by field (numbers add, objects recurse, times min/max). */
static void merge_sum(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;

    json_object_foreach(src, k, v)
    {
        json_t *d = json_object_get(dst, k);
        if (d == NULL) {
            json_object_set_new(dst, k, json_deep_copy(v));
        } else if (json_is_integer(d) && json_is_integer(v) && strcmp(k, "store_id") != 0 &&
                   strcmp(k, "sampling_rate") != 0 && strcmp(k, "domain") != 0 &&
                   strcmp(k, "exporter") != 0) {
            json_integer_set(d, http_sat_add(json_integer_value(d), json_integer_value(v)));
        } else if (json_is_object(d) && json_is_object(v)) {
            merge_sum(d, v);
        } else if (json_is_string(d) && json_is_string(v)) {
            int c = strcmp(json_string_value(v), json_string_value(d));
            if ((strcmp(k, "last_seen") == 0 && c > 0) || (strcmp(k, "first_seen") == 0 && c < 0))
                json_object_set(dst, k, v);
        }
    }
}

static json_t *status(const char *st, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *status(const char *st, const char *path, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    json_t *j = json_pack("{s:s}", "status", st);

    if (path)
        json_object_set_new(j, "file", json_string(path));
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        json_object_set_new(j, "message", json_string(msg));
    }
    return j;
}

/* The whole file, NUL-terminated; NULL with *why set. */
static char *slurp(const char *path, size_t *len, const char **why, int *missing)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    *missing = 0;
    if (f == NULL) {
        *missing = errno == ENOENT;
        *why = strerror(errno);
        return NULL;
    }
    buf = malloc(HTTP_STATS_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        *why = "out of memory";
        return NULL;
    }
    n = fread(buf, 1, HTTP_STATS_MAX_BYTES + 1, f);
    fclose(f);
    if (n > HTTP_STATS_MAX_BYTES) {
        free(buf);
        *why = "larger than 16 MiB";
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

json_t *http_stats_read(const char *path, json_t **server, json_t **by_store)
{
    const char *why = NULL;
    char *buf;
    size_t len = 0;
    int missing;
    json_t *st;

    *server = NULL;
    *by_store = NULL;
    if (path == NULL)
        return status("unavailable", NULL,
                      "no collector in this mode (generated demo data held in memory)");
    buf = slurp(path, &len, &why, &missing);
    if (buf == NULL)
        return missing ? status("missing", path,
                                "%s does not exist yet: the collector writes it every 5 s "
                                "once it runs",
                                path)
                       : status("malformed", path, "cannot read %s: %s", path, why);
    st = http_stats_parse(buf, len, server, by_store);
    json_object_set_new(st, "file", json_string(path));
    free(buf);
    return st;
}

json_t *http_stats_parse(const char *buf, size_t len, json_t **server, json_t **by_store)
{
    size_t lineno = 0, bad = 0, first_bad = 0;
    char first_msg[300] = "";
    json_t *idx, *st;

    *server = NULL;
    *by_store = NULL;
    idx = json_object();
    for (const char *p = buf, *end; p < buf + len; p = end + 1) {
        json_error_t je;
        json_t *j, *sid;
        const char *type;
        char key[24], tbuf[16];

        end = memchr(p, '\n', (size_t)(buf + len - p));
        if (end == NULL)
            end = buf + len;
        lineno++;
        if (end == p || (end == p + 1 && *p == '\r'))
            continue;
        j = json_loadb(p, (size_t)(end - p), JSON_REJECT_DUPLICATES, &je);
        type = j ? json_string_value(json_object_get(j, "type")) : NULL;
        sid = j ? json_object_get(j, "store_id") : NULL;
        if (j == NULL || !json_is_object(j) || type == NULL ||
            (strcmp(type, "server") != 0 && !json_is_integer(sid))) {
            if (bad++ == 0) {
                first_bad = lineno;
                snprintf(first_msg, sizeof first_msg, "%s",
                         j == NULL ? je.text
                         : type == NULL ? "no \"type\""
                                        : "no integer \"store_id\"");
            }
            json_decref(j);
            continue;
        }
        snprintf(tbuf, sizeof tbuf, "%s", type);
        type = tbuf; /* the object's own string goes with json_object_del */
        if (strcmp(type, "server") == 0) {
            if (*server == NULL) {
                json_object_del(j, "type");
                *server = json_incref(j);
            }
        } else if (strcmp(type, "exporter") == 0 || strcmp(type, "counters") == 0) {
            snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT, json_integer_value(sid));
            json_t *x = json_object_get(idx, key);
            if (x == NULL) {
                x = json_pack("{s:I}", "store_id", json_integer_value(sid));
                json_object_set_new(idx, key, x);
            }
            json_object_del(j, "type");
            if (strcmp(type, "exporter") == 0) {
                json_t *n = json_object_get(x, "lines");
                merge_sum(x, j);
                json_object_set_new(x, "lines", json_integer(n ? json_integer_value(n) + 1 : 1));
            } else {
                json_t *a = json_object_get(x, "interface_counters");
                if (a == NULL) {
                    a = json_array();
                    json_object_set_new(x, "interface_counters", a);
                }
                json_object_del(j, "store_id");
                if (json_array_size(a) < COUNTERS_PER_EXPORTER)
                    json_array_append(a, j);
            }
        }
        /* other types: newer writers may add lines; ignored */
        json_decref(j);
    }
    if (bad)
        st = status("malformed", NULL, "%zu of %zu lines unreadable (first: line %zu: %s)", bad,
                    lineno, first_bad, first_msg);
    else if (*server == NULL)
        st = status("malformed", NULL, "no \"server\" line");
    else
        st = status("ok", NULL, NULL);
    if (*server) {
        const char *w = json_string_value(json_object_get(*server, "written"));
        fl_time t;
        fl_err e;
        if (w && fl_time_parse(w, strlen(w), fl_time_now(), 0, &t, &e) == FL_OK)
            json_object_set_new(st, "age_ms", json_integer(fl_time_now() - t));
    }
    *by_store = idx;
    return st;
}
