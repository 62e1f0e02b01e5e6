/*
 * http/filters.c — the saved-filter library as files: one filter per file
 * in the filters directory (FlowGraph's `%filters%`), the same directory
 * `@include NAME` reads, so a filter saved from the page can be used by
 * `flowlens query --filters-dir DIR '@include NAME'` too.
 *
 * Names are restricted to [A-Za-z0-9._-]{1,64} without a leading dot, so a
 * name is always one plain file inside the directory (no separators, no
 * `..`, no hidden or temporary files). Writes go to a temporary file that
 * is synced and renamed into place: a reader (a query's @include, another
 * request) sees the old text or the new one, never half of it. Sizes are
 * bounded by the caller's maximum; listings stop at HTTP_FILTERS_MAX files.
 */
#include "http_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int http_filter_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > HTTP_FILTER_NAME_MAX || name[0] == '.')
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

fl_rc http_filters_mkdir(const char *dir, fl_err *e)
{
    char p[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof p)
        return fl_err_set(e, FL_EINVAL, "filters directory path is empty or too long");
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return fl_err_set(e, FL_EIO, "cannot create the filters directory %s: %s", p,
                              strerror(errno));
        p[i] = c;
    }
    return FL_OK;
}

static int path_of(char *buf, size_t len, const char *dir, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

fl_rc http_filter_read(const char *dir, const char *name, size_t max_bytes, char **text,
                       size_t *len, fl_err *e)
{
    char path[4200];
    struct stat st;
    char *buf = NULL;
    size_t n = 0;
    FILE *f;
    fl_rc rc = FL_OK;

    *text = NULL;
    *len = 0;
    if (path_of(path, sizeof path, dir, name) != 0)
        return fl_err_set(e, FL_EINVAL, "filters directory path too long");
    f = fopen(path, "rb");
    if (f == NULL)
        return fl_err_set(e, errno == ENOENT ? FL_ENOTFOUND : FL_EIO, "filter '%s': %s", name,
                          errno == ENOENT ? "no such saved filter" : strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fl_err_set(e, FL_ENOTFOUND, "filter '%s' is not a regular file", name);
        goto out;
    }
    if ((size_t)st.st_size > max_bytes) {
        rc = fl_err_set(e, FL_ELIMIT, "filter '%s' is larger than %zu bytes", name, max_bytes);
        goto out;
    }
    buf = malloc(max_bytes + 2);
    if (buf == NULL) {
        rc = fl_err_set(e, FL_ENOMEM, "out of memory");
        goto out;
    }
    n = fread(buf, 1, max_bytes + 1, f);
    if (ferror(f)) {
        rc = fl_err_set(e, FL_EIO, "filter '%s': read error", name);
        goto out;
    }
    if (n > max_bytes) {
        rc = fl_err_set(e, FL_ELIMIT, "filter '%s' is larger than %zu bytes", name, max_bytes);
        goto out;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}

fl_rc http_filter_write(const char *dir, const char *name, const char *text, size_t len,
                        fl_err *e)
{
    char path[4200], tmp[4300];
    int fd, ok;

    if (path_of(path, sizeof path, dir, name) != 0 ||
        snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, name, (long)getpid()) >= (int)sizeof tmp)
        return fl_err_set(e, FL_EINVAL, "filters directory path too long");
    if (http_filters_mkdir(dir, e) != FL_OK)
        return e ? e->rc : FL_EIO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fl_err_set(e, FL_EIO, "cannot write %s: %s", tmp, strerror(errno));
    ok = 1;
    for (size_t off = 0; off < len && ok;) {
        ssize_t k = write(fd, text + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            ok = 0;
        else
            off += (size_t)k;
    }
    if (ok && fsync(fd) != 0)
        ok = 0;
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return fl_err_set(e, FL_EIO, "cannot save filter '%s' in %s: %s", name, dir,
                          strerror(err));
    }
    return FL_OK;
}

fl_rc http_filter_delete(const char *dir, const char *name, fl_err *e)
{
    char path[4200];
    struct stat st;

    if (path_of(path, sizeof path, dir, name) != 0)
        return fl_err_set(e, FL_EINVAL, "filters directory path too long");
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return fl_err_set(e, FL_ENOTFOUND, "filter '%s': no such saved filter", name);
    if (unlink(path) != 0)
        return fl_err_set(e, FL_EIO, "cannot delete filter '%s': %s", name, strerror(errno));
    return FL_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *http_filters_list(const char *dir, size_t max_bytes, fl_err *e)
{
    DIR *d = opendir(dir);
    char *names[HTTP_FILTERS_MAX];
    size_t n = 0;
    struct dirent *de;
    json_t *arr = json_array(), *out = NULL;

    if (arr == NULL) {
        fl_err_set(e, FL_ENOMEM, "out of memory");
        goto done;
    }
    if (d == NULL) {
        if (errno != ENOENT) {
            fl_err_set(e, FL_EIO, "cannot read the filters directory %s: %s", dir,
                       strerror(errno));
            goto done;
        }
        out = json_pack("{s:o,s:s}", "filters", arr, "dir", dir);
        arr = NULL;
        goto done;
    }
    while ((de = readdir(d)) != NULL && n < HTTP_FILTERS_MAX)
        if (http_filter_name_ok(de->d_name) && (names[n] = strdup(de->d_name)) != NULL)
            n++;
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_name);
    for (size_t i = 0; i < n; i++) {
        char *text = NULL, path[4200];
        size_t len = 0;
        struct stat st;
        fl_err fe;
        char iso[40] = "";

        fl_err_clear(&fe);
        if (http_filter_read(dir, names[i], max_bytes, &text, &len, &fe) == FL_OK &&
            path_of(path, sizeof path, dir, names[i]) == 0 && stat(path, &st) == 0) {
            fl_time_format((fl_time)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000,
                           FL_TFMT_ISO, 0, iso, sizeof iso);
            json_array_append_new(arr, json_pack("{s:s,s:s%,s:I,s:s}", "name", names[i], "text",
                                                 text, len, "bytes", (json_int_t)len,
                                                 "modified", iso));
        }
        free(text);
    }
    out = json_pack("{s:o,s:s}", "filters", arr, "dir", dir);
    arr = NULL;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
done:
    json_decref(arr);
    return out;
}

uint64_t http_filters_fingerprint(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    uint64_t fp = 0x9e3779b97f4a7c15ULL;
    unsigned n = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL && n++ < 4 * HTTP_FILTERS_MAX) {
        char path[4200];
        struct stat st;
        uint64_t h = 1469598103934665603ULL;
        if (de->d_name[0] == '.' || path_of(path, sizeof path, dir, de->d_name) != 0 ||
            stat(path, &st) != 0)
            continue;
        for (const char *c = de->d_name; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        h ^= (uint64_t)st.st_size * 0xff51afd7ed558ccdULL;
        h ^= ((uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec) *
             0xc4ceb9fe1a85ec53ULL;
        fp += h * 0x94d049bb133111ebULL; /* order-independent */
    }
    closedir(d);
    return fp;
}
