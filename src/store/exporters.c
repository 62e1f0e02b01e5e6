/*
 * store/exporters.c — the exporter table: small ids for exporters.
 *
 * Flows carry a 16-bit exporter id; this table maps it to what identifies
 * the exporter (address + observation domain / source id / engine) and
 * what describes it (name, sampling, interface names). It is small and
 * changes rarely, so it is a text file (DIR/exporters, readable with
 * `cat`), loaded whole at open and rewritten atomically on every change.
 * Lines are tab-separated; names never hold tabs or control characters
 * (they are replaced by '?'), so a name is always one field.
 *
 *   flowlens-exporters 1
 *   x ID ADDR DOMAIN SAMPLING NAME
 *   i ID IFINDEX NAME
 *   v ID VRFID NAME
 */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XTAB_MAX_IFS (1u << 20)
#define XTAB_MAX_FILE (64u << 20)

typedef struct xifn {
    uint16_t id;
    uint8_t vrf;      /* 0 interface name, 1 VRF name */
    uint32_t ifindex;
    char name[FL_STORE_NAME_MAX];
} xifn;

struct xtab {
    fl_store_exporter *v; /* sorted by id; ids are dense from 1 */
    uint32_t n, cap;
    xifn *ifs;
    size_t nifs, capifs;
};

void xtab_free(xtab *x)
{
    if (x == NULL)
        return;
    free(x->v);
    free(x->ifs);
    free(x);
}

static void clean_name(char *dst, const char *src, size_t len)
{
    size_t i = 0;
    for (; i < len && i < FL_STORE_NAME_MAX - 1 && src[i]; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[i] = '\0';
}

static int push_exp(xtab *x, const fl_store_exporter *r)
{
    if (x->n == x->cap) {
        uint32_t cap = x->cap ? x->cap * 2 : 16;
        fl_store_exporter *v = realloc(x->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        x->v = v;
        x->cap = cap;
    }
    x->v[x->n++] = *r;
    return 0;
}

static xifn *find_if(xtab *x, uint16_t id, uint32_t ifindex, int vrf)
{
    for (size_t i = 0; i < x->nifs; i++)
        if (x->ifs[i].id == id && x->ifs[i].ifindex == ifindex && x->ifs[i].vrf == vrf)
            return &x->ifs[i];
    return NULL;
}

static int put_if(xtab *x, uint16_t id, uint32_t ifindex, int vrf, const char *name,
                  size_t len)
{
    xifn *f = find_if(x, id, ifindex, vrf);
    if (f == NULL) {
        if (x->nifs == x->capifs) {
            size_t cap = x->capifs ? x->capifs * 2 : 64;
            xifn *v;
            if (cap > XTAB_MAX_IFS || (v = realloc(x->ifs, cap * sizeof *v)) == NULL)
                return -1;
            x->ifs = v;
            x->capifs = cap;
        }
        f = &x->ifs[x->nifs++];
        f->id = id;
        f->ifindex = ifindex;
        f->vrf = (uint8_t)(vrf != 0);
    }
    clean_name(f->name, name, len);
    return 0;
}

/* Split line[0..len) at tabs into at most max fields. */
static int split(const char *line, size_t len, const char **f, size_t *fl, int max)
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && k < max; i++)
        if (i == len || line[i] == '\t') {
            f[k] = line + start;
            fl[k] = i - start;
            k++;
            start = i + 1;
        }
    return k;
}

static int num(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

static fl_rc parse(xtab *x, const char *buf, size_t len, const char *path, fl_err *e)
{
    size_t pos = 0;
    long line = 0;

    while (pos < len) {
        const char *l = buf + pos, *nl = memchr(l, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - l) : len - pos;
        const char *f[6];
        size_t fl[6];
        uint64_t a, b, c, d;
        int k;
        pos += ll + 1;
        line++;
        if (line == 1) {
            if (ll < 19 || memcmp(l, "flowlens-exporters ", 19) != 0)
                return fl_err_at(e, FL_ECORRUPT, path, 1, 0, "not an exporter table");
            if (num(l + 19, ll - 19, 1000000, &a) != 0 || a == 0)
                return fl_err_at(e, FL_ECORRUPT, path, 1, 19, "bad version");
            if (a > FL_STORE_FORMAT_VERSION)
                return fl_err_at(e, FL_EVERSION, path, 1, 19,
                                 "exporter table version %llu is newer than this flowlens (%d)",
                                 (unsigned long long)a, FL_STORE_FORMAT_VERSION);
            continue;
        }
        if (ll == 0)
            continue;
        k = split(l, ll, f, fl, 6);
        if (k == 6 && fl[0] == 1 && f[0][0] == 'x') {
            fl_store_exporter r;
            memset(&r, 0, sizeof r);
            if (num(f[1], fl[1], 65535, &a) != 0 || a == 0 ||
                fl_addr_parse(f[2], fl[2], &r.addr, NULL) != FL_OK ||
                num(f[3], fl[3], UINT32_MAX, &c) != 0 || num(f[4], fl[4], UINT32_MAX, &d) != 0 ||
                a != (uint64_t)x->n + 1)
                return fl_err_at(e, FL_ECORRUPT, path, line, -1, "bad exporter line");
            r.id = (uint16_t)a;
            r.domain = (uint32_t)c;
            r.sampling = (uint32_t)d;
            clean_name(r.name, f[5], fl[5]);
            if (push_exp(x, &r) != 0)
                return FL_ENOMEM;
        } else if (k == 4 && fl[0] == 1 && (f[0][0] == 'i' || f[0][0] == 'v')) {
            if (num(f[1], fl[1], 65535, &a) != 0 || num(f[2], fl[2], UINT32_MAX, &b) != 0 ||
                a == 0 || a > x->n)
                return fl_err_at(e, FL_ECORRUPT, path, line, -1, "bad interface line");
            if (put_if(x, (uint16_t)a, (uint32_t)b, f[0][0] == 'v', f[3], fl[3]) != 0)
                return fl_err_at(e, FL_ELIMIT, path, line, -1, "too many interface names");
        } else {
            return fl_err_at(e, FL_ECORRUPT, path, line, -1, "unknown line");
        }
    }
    return FL_OK;
}

fl_rc xtab_parse_buf(const char *buf, size_t len, uint32_t *count, fl_err *e)
{
    xtab *x = calloc(1, sizeof *x);
    fl_rc rc;

    if (x == NULL)
        return FL_ENOMEM;
    rc = parse(x, buf, len, "exporters", e);
    *count = x->n;
    xtab_free(x);
    return rc;
}

fl_rc xtab_load(const char *dir, xtab **out, fl_err *e)
{
    char path[STORE_PATH_MAX + 16];
    xtab *x = calloc(1, sizeof *x);
    char *buf = NULL;
    struct stat st;
    int fd = -1;
    fl_rc rc = FL_OK;

    *out = NULL;
    if (x == NULL)
        return FL_ENOMEM;
    snprintf(path, sizeof path, "%s/exporters", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            rc = fl_err_at(e, FL_EIO, path, 0, -1, "%s", strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || st.st_size > XTAB_MAX_FILE) {
        rc = fl_err_at(e, FL_ELIMIT, path, 0, -1, "unreadable or larger than %u bytes",
                       XTAB_MAX_FILE);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
        rc = fl_err_at(e, FL_EIO, path, 0, -1, "short read");
        goto out;
    }
    rc = parse(x, buf, (size_t)st.st_size, path, e);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    if (rc != FL_OK) {
        xtab_free(x);
        return rc;
    }
    *out = x;
    return FL_OK;
}

static fl_rc save(fl_store *s, fl_err *e)
{
    sbuf b = {0};
    char line[512];
    fl_rc rc = FL_ENOMEM;
    int n;

    b.max = XTAB_MAX_FILE;
    n = snprintf(line, sizeof line, "flowlens-exporters %d\n", FL_STORE_FORMAT_VERSION);
    if (sbuf_put(&b, line, (size_t)n) != 0)
        goto out;
    for (uint32_t i = 0; i < s->x->n; i++) {
        const fl_store_exporter *r = &s->x->v[i];
        char a[FL_ADDR_STRLEN];
        fl_addr_format(r->addr, a, sizeof a);
        n = snprintf(line, sizeof line, "x\t%u\t%s\t%u\t%u\t%s\n", r->id, a, r->domain,
                     r->sampling, r->name);
        if (sbuf_put(&b, line, (size_t)n) != 0)
            goto out;
    }
    for (size_t i = 0; i < s->x->nifs; i++) {
        const xifn *f = &s->x->ifs[i];
        n = snprintf(line, sizeof line, "%c\t%u\t%u\t%s\n", f->vrf ? 'v' : 'i', f->id,
                     f->ifindex, f->name);
        if (sbuf_put(&b, line, (size_t)n) != 0)
            goto out;
    }
    rc = store_write_atomic(s->dir, "exporters", b.p, b.n, s->o.fsync, e);
out:
    sbuf_free(&b);
    return rc;
}

fl_rc fl_store_exporter_id(fl_store *s, fl_addr addr, uint32_t domain, uint16_t *id, fl_err *e)
{
    fl_store_exporter r;
    fl_rc rc;

    for (uint32_t i = 0; i < s->x->n; i++)
        if (s->x->v[i].domain == domain && fl_addr_cmp(s->x->v[i].addr, addr) == 0) {
            *id = s->x->v[i].id;
            return FL_OK;
        }
    if (s->mode != FL_STORE_WRITE)
        return fl_err_set(e, FL_ENOTFOUND, "unknown exporter");
    if (s->x->n >= 65535)
        return fl_err_set(e, FL_ELIMIT, "exporter table full (65535 exporters)");
    memset(&r, 0, sizeof r);
    r.id = (uint16_t)(s->x->n + 1);
    r.addr = addr;
    r.domain = domain;
    if (push_exp(s->x, &r) != 0)
        return FL_ENOMEM;
    if ((rc = save(s, e)) != FL_OK) {
        s->x->n--;
        return rc;
    }
    *id = r.id;
    return FL_OK;
}

fl_rc fl_store_exporter_get(fl_store *s, uint16_t id, fl_store_exporter *out)
{
    if (id == 0 || id > s->x->n)
        return FL_ENOTFOUND;
    *out = s->x->v[id - 1];
    return FL_OK;
}

uint32_t fl_store_exporter_count(fl_store *s) { return s->x->n; }

fl_rc fl_store_exporter_at(fl_store *s, uint32_t i, fl_store_exporter *out)
{
    if (i >= s->x->n)
        return FL_ENOTFOUND;
    *out = s->x->v[i];
    return FL_OK;
}

fl_rc fl_store_exporter_update(fl_store *s, uint16_t id, const char *name, uint32_t sampling,
                               fl_err *e)
{
    if (s->mode != FL_STORE_WRITE)
        return fl_err_set(e, FL_EINVAL, "store opened read-only");
    if (id == 0 || id > s->x->n)
        return fl_err_set(e, FL_ENOTFOUND, "no exporter %u", id);
    clean_name(s->x->v[id - 1].name, name ? name : "", FL_STORE_NAME_MAX);
    s->x->v[id - 1].sampling = sampling;
    return save(s, e);
}

static fl_rc set_name(fl_store *s, uint16_t id, uint32_t key, int vrf, const char *name,
                      fl_err *e)
{
    xifn *f;

    if (s->mode != FL_STORE_WRITE)
        return fl_err_set(e, FL_EINVAL, "store opened read-only");
    if (id == 0 || id > s->x->n)
        return fl_err_set(e, FL_ENOTFOUND, "no exporter %u", id);
    f = find_if(s->x, id, key, vrf);
    if (name == NULL || name[0] == '\0') {
        if (f == NULL)
            return FL_OK;
        *f = s->x->ifs[--s->x->nifs];
    } else {
        char clean[FL_STORE_NAME_MAX];
        clean_name(clean, name, strlen(name));
        if (f != NULL && strcmp(f->name, clean) == 0)
            return FL_OK; /* unchanged: no rewrite */
        if (put_if(s->x, id, key, vrf, name, strlen(name)) != 0)
            return fl_err_set(e, FL_ELIMIT, "too many interface names");
    }
    return save(s, e);
}

fl_rc fl_store_exporter_set_ifname(fl_store *s, uint16_t id, uint32_t ifindex, const char *name,
                                   fl_err *e)
{
    return set_name(s, id, ifindex, 0, name, e);
}

fl_rc fl_store_exporter_set_vrfname(fl_store *s, uint16_t id, uint32_t vrf, const char *name,
                                    fl_err *e)
{
    return set_name(s, id, vrf, 1, name, e);
}

const char *fl_store_exporter_ifname(fl_store *s, uint16_t id, uint32_t ifindex)
{
    xifn *f = find_if(s->x, id, ifindex, 0);
    return f ? f->name : NULL;
}

const char *fl_store_exporter_vrfname(fl_store *s, uint16_t id, uint32_t vrf)
{
    xifn *f = find_if(s->x, id, vrf, 1);
    return f ? f->name : NULL;
}

fl_rc fl_store_exporter_name_at(fl_store *s, size_t i, uint16_t *id, int *vrf, uint32_t *key,
                                const char **name)
{
    if (i >= s->x->nifs)
        return FL_ENOTFOUND;
    *id = s->x->ifs[i].id;
    *vrf = s->x->ifs[i].vrf;
    *key = s->x->ifs[i].ifindex;
    *name = s->x->ifs[i].name;
    return FL_OK;
}
