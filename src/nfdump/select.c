/*
 * nfdump/select.c — which files a query reads, named as nfdump names them.
 *
 * -r FILE|DIR, -R DIR|FILE|first:last and -M base/a:b:c resolve to an
 * ordered list of paths before any file is opened: directories are walked
 * recursively in name order (as nfdump's fts walk with its name compare),
 * a first:last range keeps the files whose path relative to the range's
 * base directory sorts between first and last component by component (so
 * nfcapd's -S sub-directory layouts work), and -M applies the same spec in
 * each listed directory. Paths that do not exist stay in the list and are
 * reported when iteration reaches them, so a hole in an archive costs one
 * warning, never the query. Iteration opens one file at a time and hands
 * out its batches; any failure of a file is a warning and the next file
 * follows.
 */
#include "nfdump_int.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define SEL_MAX_FILES 10000000u /* hard maximum on a selection */
#define SEL_MAX_DEPTH 16

typedef struct strlist {
    char **v;
    size_t n, cap;
} strlist;

struct fl_nfdump_sel {
    strlist files;
    size_t next;           /* index of the next file to open */
    fl_nfdump_file *cur;   /* file being read */
    fl_nfdump_file *last;  /* file of the last batch (kept until next call) */
    fl_nfdump_warn_fn warn;
    void *warn_ctx;
    fl_nfdump_sel_stats st;
};

static int sl_push(strlist *l, const char *s)
{
    if (l->n >= SEL_MAX_FILES)
        return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **n = realloc(l->v, cap * sizeof *n);
        if (n == NULL)
            return -1;
        l->v = n;
        l->cap = cap;
    }
    l->v[l->n] = strdup(s);
    if (l->v[l->n] == NULL)
        return -1;
    l->n++;
    return 0;
}

static void sl_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* nfdump skips these names inside directories */
static int skip_name(const char *n)
{
    return n[0] == '.' || strncmp(n, "nfcapd.current", 14) == 0 || strstr(n, ".stat") != NULL ||
           strstr(n, "pcap") != NULL || strstr(n, ".DS_Store") != NULL;
}

/* compare two relative paths component by component */
static int cmp_rel(const char *a, const char *b)
{
    while (*a && *b) {
        size_t la = strcspn(a, "/"), lb = strcspn(b, "/");
        size_t m = la < lb ? la : lb;
        int c = strncmp(a, b, m);
        if (c != 0)
            return c;
        if (la != lb)
            return la < lb ? -1 : 1;
        a += la;
        b += lb;
        if (*a == '/')
            a++;
        if (*b == '/')
            b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

typedef struct walk {
    strlist *out;
    size_t baselen;
    const char *first, *last; /* relative bounds or NULL */
    int levels;               /* files must sit at this depth (0 = any) */
} walk;

static fl_rc walk_dir(walk *w, const char *dir, int depth, fl_err *e)
{
    DIR *d;
    struct dirent *de;
    strlist names = {0};
    fl_rc rc = FL_OK;

    if (depth > SEL_MAX_DEPTH)
        return FL_OK;
    d = opendir(dir);
    if (d == NULL)
        return FL_OK; /* unreadable directory: nothing from it */
    while ((de = readdir(d)) != NULL) {
        if (skip_name(de->d_name))
            continue;
        if (sl_push(&names, de->d_name) != 0) {
            rc = fl_err_set(e, FL_ENOMEM, "too many files under %s", dir);
            break;
        }
    }
    closedir(d);
    if (rc == FL_OK && names.n > 0)
        qsort(names.v, names.n, sizeof names.v[0], cmp_str);
    for (size_t i = 0; rc == FL_OK && i < names.n; i++) {
        char path[PATH_MAX];
        struct stat st;
        const char *rel;
        int n = snprintf(path, sizeof path, "%s/%s", dir, names.v[i]);
        if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0)
            continue;
        rel = path + w->baselen;
        if (S_ISDIR(st.st_mode)) {
            if (w->levels && depth + 1 >= w->levels)
                continue;
            /* prune directories wholly outside the range */
            if (w->first != NULL) {
                size_t rl = strlen(rel);
                if (strncmp(w->first, rel, rl) != 0 && cmp_rel(rel, w->first) < 0)
                    continue;
                if (strncmp(w->last, rel, rl) != 0 && cmp_rel(rel, w->last) > 0)
                    continue;
            }
            rc = walk_dir(w, path, depth + 1, e);
        } else if (S_ISREG(st.st_mode)) {
            if (w->levels && depth + 1 != w->levels)
                continue;
            if (w->first != NULL && (cmp_rel(rel, w->first) < 0 || cmp_rel(rel, w->last) > 0))
                continue;
            if (sl_push(w->out, path) != 0)
                rc = fl_err_set(e, FL_ENOMEM, "selection larger than %u files", SEL_MAX_FILES);
        }
    }
    sl_free(&names);
    return rc;
}

static int count_levels(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (*s == '/')
            n++;
    return n;
}

/* Resolve one -r/-R spec rooted at `root` ("" = as given). */
static fl_rc resolve(const char *root, const char *spec, int is_range, strlist *out, fl_err *e)
{
    char path[PATH_MAX], lastrel[PATH_MAX];
    const char *colon = is_range ? strchr(spec, ':') : NULL;
    struct stat st;
    int n;

    if (colon == NULL) {
        n = root[0] ? snprintf(path, sizeof path, "%s/%s", root, spec)
                    : snprintf(path, sizeof path, "%s", spec);
        if (n < 0 || (size_t)n >= sizeof path)
            return fl_err_set(e, FL_EINVAL, "path too long: %s", spec);
        while (n > 1 && path[n - 1] == '/')
            path[--n] = 0;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            walk w = {out, strlen(path) + 1, NULL, NULL, 0};
            return walk_dir(&w, path, 0, e);
        }
        /* a file, or a missing one: reported when read */
        return sl_push(out, path) == 0 ? FL_OK : fl_err_set(e, FL_ENOMEM, "out of memory");
    }
    /* first:last */
    {
        size_t flen = (size_t)(colon - spec);
        const char *last = colon + 1;
        int lv;
        char base[PATH_MAX], firstrel[PATH_MAX];
        char *cut;

        if (strchr(last, ':') != NULL)
            return fl_err_set(e, FL_EINVAL, "range '%s': more than one ':'", spec);
        if (flen == 0 || last[0] == 0)
            return fl_err_set(e, FL_EINVAL, "range '%s': needs first:last", spec);
        if (last[0] == '/')
            return fl_err_set(e, FL_EINVAL, "range '%s': last file must be relative", spec);
        n = root[0] ? snprintf(path, sizeof path, "%s/%.*s", root, (int)flen, spec)
                    : snprintf(path, sizeof path, "%.*s", (int)flen, spec);
        if (n < 0 || (size_t)n >= sizeof path)
            return fl_err_set(e, FL_EINVAL, "path too long: %s", spec);
        lv = count_levels(last);
        /* base = first's path minus (lv + 1) trailing components */
        snprintf(base, sizeof base, "%s", path);
        for (int i = 0; i <= lv; i++) {
            cut = strrchr(base, '/');
            if (cut == NULL) {
                if (i < lv)
                    return fl_err_set(e, FL_EINVAL,
                                      "range '%s': first has fewer directory levels than last",
                                      spec);
                base[0] = 0;
                break;
            }
            *cut = 0;
        }
        snprintf(firstrel, sizeof firstrel, "%s", path + (base[0] ? strlen(base) + 1 : 0));
        snprintf(lastrel, sizeof lastrel, "%s", last);
        if (base[0] == 0 && path[0] == '/')
            snprintf(base, sizeof base, "/");
        {
            const char *bdir = base[0] ? base : ".";
            walk w = {out, strcmp(bdir, "/") == 0 ? 1 : strlen(bdir) + 1, firstrel, lastrel,
                      lv + 1};
            size_t before = out->n;
            fl_rc rc;
            if (stat(bdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                /* the range's directory is missing: one warning-worthy entry */
                return sl_push(out, path) == 0 ? FL_OK
                                                : fl_err_set(e, FL_ENOMEM, "out of memory");
            }
            rc = walk_dir(&w, bdir, 0, e);
            if (rc != FL_OK)
                return rc;
            /* a missing first file is reported, like nfdump's stat() but
             * without ending the query */
            if (stat(path, &st) != 0 && (out->n == before || strcmp(out->v[before], path) != 0)) {
                if (sl_push(out, path) != 0)
                    return fl_err_set(e, FL_ENOMEM, "out of memory");
                /* keep order: move the missing first file to the front */
                char *m = out->v[out->n - 1];
                memmove(&out->v[before + 1], &out->v[before],
                        (out->n - 1 - before) * sizeof out->v[0]);
                out->v[before] = m;
            }
        }
    }
    return FL_OK;
}

fl_rc fl_nfdump_select(const fl_nfdump_spec *spec, fl_nfdump_warn_fn warn, void *warn_ctx,
                       fl_nfdump_sel **out, fl_err *e)
{
    fl_nfdump_sel *s;
    const char *what;
    int is_range;
    fl_rc rc = FL_OK;

    *out = NULL;
    if ((spec->read == NULL) == (spec->range == NULL))
        return fl_err_set(e, FL_EINVAL, "give exactly one of -r (read) or -R (range)");
    what = spec->read ? spec->read : spec->range;
    is_range = spec->range != NULL;
    if (what[0] == 0)
        return fl_err_set(e, FL_EINVAL, "empty file name");
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory");
    s->warn = warn;
    s->warn_ctx = warn_ctx;
    if (spec->multi == NULL) {
        rc = resolve("", what, is_range, &s->files, e);
    } else {
        /* base/dir1:dir2:... */
        char buf[PATH_MAX], prefix[PATH_MAX];
        const char *m = spec->multi, *slash;
        size_t plen;
        if (what[0] == '/') {
            rc = fl_err_set(e, FL_EINVAL, "with -M, '%s' must be relative to each directory",
                            what);
            goto out;
        }
        slash = strrchr(m, '/');
        /* the prefix ends at the last '/' before the first ':' */
        {
            const char *c = strchr(m, ':');
            const char *p = m, *lastslash = NULL;
            for (; *p && (c == NULL || p < c); p++)
                if (*p == '/')
                    lastslash = p;
            slash = lastslash;
        }
        plen = slash ? (size_t)(slash - m) : 0;
        if (plen >= sizeof prefix) {
            rc = fl_err_set(e, FL_EINVAL, "-M path too long");
            goto out;
        }
        memcpy(prefix, m, plen);
        prefix[plen] = 0;
        if (slash == m)
            snprintf(prefix, sizeof prefix, "/");
        {
            strlist dirs = {0};
            const char *p = slash ? slash + 1 : m;
            while (*p && rc == FL_OK) {
                size_t l = strcspn(p, ":");
                int n = plen || slash == m
                            ? snprintf(buf, sizeof buf, "%s/%.*s",
                                       strcmp(prefix, "/") == 0 ? "" : prefix, (int)l, p)
                            : snprintf(buf, sizeof buf, "%.*s", (int)l, p);
                if (l > 0 && n > 0 && (size_t)n < sizeof buf && sl_push(&dirs, buf) != 0)
                    rc = fl_err_set(e, FL_ENOMEM, "out of memory");
                p += l;
                if (*p == ':')
                    p++;
            }
            if (rc == FL_OK && dirs.n == 0)
                rc = fl_err_set(e, FL_EINVAL, "-M '%s' names no directory", m);
            if (rc == FL_OK)
                qsort(dirs.v, dirs.n, sizeof dirs.v[0], cmp_str);
            for (size_t i = 0; rc == FL_OK && i < dirs.n; i++)
                rc = resolve(dirs.v[i], what, is_range, &s->files, e);
            sl_free(&dirs);
        }
    }
out:
    if (rc != FL_OK) {
        fl_nfdump_sel_free(s);
        return rc;
    }
    *out = s;
    return FL_OK;
}

void fl_nfdump_sel_free(fl_nfdump_sel *s)
{
    if (s == NULL)
        return;
    fl_nfdump_close(s->cur);
    if (s->last != s->cur)
        fl_nfdump_close(s->last);
    sl_free(&s->files);
    free(s);
}

size_t fl_nfdump_sel_count(const fl_nfdump_sel *s)
{
    return s->files.n;
}

const char *fl_nfdump_sel_path(const fl_nfdump_sel *s, size_t i)
{
    return i < s->files.n ? s->files.v[i] : NULL;
}

const fl_nfdump_file *fl_nfdump_sel_file(const fl_nfdump_sel *s)
{
    return s->last;
}

void fl_nfdump_sel_stats_get(const fl_nfdump_sel *s, fl_nfdump_sel_stats *st)
{
    *st = s->st;
    if (s->cur != NULL)
        st->records_skipped += fl_nfdump_file_skipped(s->cur);
}

static void emit(fl_nfdump_sel *s, const fl_err *w)
{
    if (s->warn != NULL) {
        s->warn(s->warn_ctx, w);
    } else {
        char buf[900];
        fl_err_format(w, buf, sizeof buf);
        fl_log_warn("%s", buf);
    }
}

fl_rc fl_nfdump_sel_next(fl_nfdump_sel *s, fl_batch *b, fl_err *e)
{
    fl_err w;

    nfd_batch_clear(b);
    if (s->last != NULL && s->last != s->cur) {
        fl_nfdump_close(s->last);
    }
    s->last = NULL;
    for (;;) {
        fl_rc rc;
        if (s->cur == NULL) {
            const char *path;
            if (s->next >= s->files.n)
                return FL_OK;
            path = s->files.v[s->next++];
            fl_err_clear(&w);
            rc = fl_nfdump_open(path, &s->cur, &w);
            if (rc == FL_ENOMEM)
                return fl_err_set(e, rc, "%s", w.msg);
            if (rc != FL_OK) {
                s->st.files_skipped++;
                emit(s, &w);
                continue;
            }
            if (fl_nfdump_file_info(s->cur)->appendix_bad) {
                fl_err_at(&w, FL_ECORRUPT, path, 0, -1,
                          "appendix unreadable (ident/statistics missing); flows still read");
                emit(s, &w);
            }
        }
        fl_err_clear(&w);
        rc = fl_nfdump_read(s->cur, b, &w);
        if (rc != FL_OK) {
            s->st.blocks_bad++;
            emit(s, &w);
        }
        if (b->n > 0) {
            s->st.flows += b->n;
            s->last = s->cur;
            return FL_OK;
        }
        if (rc != FL_OK)
            continue; /* the bad block may be followed by good ones */
        /* end of this file */
        s->st.files_read++;
        s->st.records_skipped += fl_nfdump_file_skipped(s->cur);
        fl_nfdump_close(s->cur);
        s->cur = NULL;
    }
}

fl_rc fl_nfdump_sel_source_next(void *sel, fl_batch *b, fl_err *e)
{
    return fl_nfdump_sel_next(sel, b, e);
}

double fl_nfdump_sel_progress(void *sel)
{
    const fl_nfdump_sel *s = sel;
    return s->files.n == 0 ? 1.0 : (double)s->next / (double)s->files.n;
}
