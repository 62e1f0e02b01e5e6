/*
 * store/store.c — the store directory: writer, recovery, catalog, scans.
 *
 * DIR/FORMAT names the format version; DIR/seg/ holds the segments
 * (SLOT-SEQ.fls), the open slot (SLOT-SEQ.open, the crash journal) and
 * temporaries (*.tmp, removed by the next writer); DIR/catalog lists the
 * closed segments with their time range and exporters so a scan prunes
 * without opening files; DIR/lock is held by the one writer and
 * DIR/catalog.lock serialises catalog rewrites (writer and expire).
 *
 * The writer keeps up to STORE_OPEN_SLOTS slots open (flows straddle
 * slots; see "The writer's open slots" below), each with the current row
 * group raw in memory (one array per column that any row set); it appends
 * a final block to the slot's open file when the group fills up and a
 * delta block at every flush, then fdatasyncs. The timed flushes (append, tick) hand the fdatasyncs
 * to a syncer thread, so the writer goes on taking rows while the disk
 * works; see "Durability off the writer thread" below.
 * Publishing a slot — at close, on slot change, and in recovery for open
 * files left by a crash — copies the open file's live blocks into
 * SLOT-SEQ.fls.tmp with a footer, fsyncs, renames, fsyncs the directory,
 * then removes the open file and adds the catalog entry. A crash between
 * any two steps is repaired by the next open: the .fls exists -> the
 * .open is stale; no .fls -> publish again; catalog lacks it -> re-add.
 */
#include "store/store_int.h"
#include "store/byaddr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void fl_store_opts_default(fl_store_opts *o)
{
    o->slot_ms = 300000;
    o->flush_ms = 1000;
    o->codec = FL_STORE_ZSTD;
    o->level = 1;
    o->fsync = 1;
    o->by_addr = 1;
    o->seg_groups = 16;
}

/* ------------------------------------------------------------------ */
/* Names and small file helpers                                        */

int store_name_parse(const char *name, fl_time *slot, uint32_t *seq, int *type)
{
    const char *p = name;
    uint64_t a = 0, b = 0;
    int da = 0, db = 0;

    while (*p >= '0' && *p <= '9' && da < 16) {
        a = a * 10 + (uint64_t)(*p++ - '0');
        da++;
    }
    if (da == 0 || *p++ != '-')
        return -1;
    while (*p >= '0' && *p <= '9' && db < 9) {
        b = b * 10 + (uint64_t)(*p++ - '0');
        db++;
    }
    if (db == 0)
        return -1;
    if (strcmp(p, ".fls") == 0)
        *type = NAME_FLS;
    else if (strcmp(p, ".open") == 0)
        *type = NAME_OPEN;
    else if (strcmp(p, ".fls.tmp") == 0 || strcmp(p, ".fla.tmp") == 0)
        *type = NAME_TMP; /* a segment or a by-address copy being written */
    else
        return -1;
    *slot = (fl_time)a;
    *seq = (uint32_t)b;
    return 0;
}

static void seg_name(char *buf, size_t len, fl_time slot, uint32_t seq, const char *ext)
{
    snprintf(buf, len, "%013lld-%06u%s", (long long)slot, seq, ext);
}

static int path_join(char *out, size_t len, const char *a, const char *b)
{
    int n = snprintf(out, len, "%s/%s", a, b);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* mkdir -p: the default store ./var/store may lack its parent. */
static int mkdir_p(const char *dir)
{
    char p[STORE_PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof p)
        return -1;
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++)
        if (p[i] == '/' || p[i] == '\0') {
            char c = p[i];
            p[i] = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return -1;
            p[i] = c;
        }
    return 0;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

fl_rc store_write_atomic(const char *dir, const char *name, const void *p, size_t n,
                               int sync, fl_err *e)
{
    char path[STORE_PATH_MAX + 80], tmp[STORE_PATH_MAX + 100];
    const uint8_t *q = p;
    int fd;

    if (path_join(path, sizeof path, dir, name) != 0)
        return fl_err_set(e, FL_EINVAL, "path too long");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return fl_err_at(e, FL_EIO, tmp, 0, -1, "create: %s", strerror(errno));
    while (n) {
        ssize_t r = write(fd, q, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            unlink(tmp);
            return fl_err_at(e, FL_EIO, tmp, 0, -1, "write: %s", strerror(errno));
        }
        q += r;
        n -= (size_t)r;
    }
    if ((sync && fsync(fd) != 0) || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return fl_err_at(e, FL_EIO, path, 0, -1, "publish: %s", strerror(errno));
    }
    if (sync)
        fsync_dir(dir);
    return FL_OK;
}

/* ------------------------------------------------------------------ */
/* Catalog                                                             */

#define CAT_MAGIC "FLCATLOG"
#define CAT_ENTRY (8 + 4 + 4 + 8 + 8 + 8 + 8 + 2 * CAT_MAX_EXP)

typedef struct catalog {
    cat_entry *v;
    size_t n, cap;
} catalog;

static void cat_free(catalog *c)
{
    free(c->v);
    memset(c, 0, sizeof *c);
}

static int cat_push(catalog *c, const cat_entry *x)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cat_entry *v;
        if (cap > ((size_t)1 << 24))
            return -1;
        v = realloc(c->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *x;
    return 0;
}

/* Read DIR/catalog; a missing or damaged catalog reads as empty (the
 * directory listing fills the gaps). */
static void cat_load(const fl_store *s, catalog *c)
{
    char path[STORE_PATH_MAX + 16];
    uint8_t *buf = NULL;
    struct stat st;
    int fd;
    uint32_t n;

    memset(c, 0, sizeof *c);
    if (path_join(path, sizeof path, s->dir, "catalog") != 0)
        return;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || st.st_size < 20 || st.st_size > (1 << 30))
        goto out;
    buf = malloc((size_t)st.st_size);
    if (buf == NULL || read(fd, buf, (size_t)st.st_size) != st.st_size)
        goto out;
    if (memcmp(buf, CAT_MAGIC, 8) != 0 || get32(buf + 8) > FL_STORE_FORMAT_VERSION)
        goto out;
    n = get32(buf + 12);
    if ((uint64_t)n * CAT_ENTRY + 20 != (uint64_t)st.st_size ||
        store_crc32c(0, buf, (size_t)st.st_size - 4) != get32(buf + st.st_size - 4)) {
        fl_log_warn("%s: catalog checksum mismatch; rebuilding from the segments", path);
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = buf + 16 + (size_t)i * CAT_ENTRY;
        cat_entry x;
        x.slot_start = (fl_time)get64(p);
        x.seq = get32(p + 8);
        x.nexp = get32(p + 12);
        x.rows = get64(p + 16);
        x.bytes = get64(p + 24);
        x.tmin = (fl_time)get64(p + 32);
        x.tmax = (fl_time)get64(p + 40);
        for (int k = 0; k < CAT_MAX_EXP; k++)
            x.exp[k] = get16(p + 48 + 2 * k);
        if (x.nexp != UINT32_MAX && x.nexp > CAT_MAX_EXP)
            x.nexp = UINT32_MAX;
        if (cat_push(c, &x) != 0)
            break;
    }
out:
    free(buf);
    close(fd);
}

static int cat_cmp(const void *a, const void *b)
{
    const cat_entry *x = a, *y = b;
    if (x->slot_start != y->slot_start)
        return x->slot_start < y->slot_start ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static fl_rc cat_save(const fl_store *s, catalog *c, fl_err *e)
{
    size_t len = 20 + c->n * CAT_ENTRY;
    uint8_t *buf = calloc(1, len);
    fl_rc rc;

    if (buf == NULL)
        return FL_ENOMEM;
    qsort(c->v, c->n, sizeof *c->v, cat_cmp);
    memcpy(buf, CAT_MAGIC, 8);
    put32(buf + 8, FL_STORE_FORMAT_VERSION);
    put32(buf + 12, (uint32_t)c->n);
    for (size_t i = 0; i < c->n; i++) {
        uint8_t *p = buf + 16 + i * CAT_ENTRY;
        const cat_entry *x = &c->v[i];
        put64(p, (uint64_t)x->slot_start);
        put32(p + 8, x->seq);
        put32(p + 12, x->nexp);
        put64(p + 16, x->rows);
        put64(p + 24, x->bytes);
        put64(p + 32, (uint64_t)x->tmin);
        put64(p + 40, (uint64_t)x->tmax);
        for (int k = 0; k < CAT_MAX_EXP; k++)
            put16(p + 48 + 2 * k, x->exp[k]);
    }
    put32(buf + len - 4, store_crc32c(0, buf, len - 4));
    rc = store_write_atomic(s->dir, "catalog", buf, len, s->o.fsync, e);
    free(buf);
    return rc;
}

static int cat_lock(const fl_store *s)
{
    char path[STORE_PATH_MAX + 16];
    int fd;

    if (path_join(path, sizeof path, s->dir, "catalog.lock") != 0)
        return -1;
    fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
        ;
    return fd;
}

static void cat_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* Add (or replace) one entry / drop entries: read-modify-write under the
 * catalog lock. del: entries to drop (slot, seq pairs). */
static fl_rc cat_update(const fl_store *s, const cat_entry *add, const cat_entry *del,
                        size_t ndel, fl_err *e)
{
    catalog c;
    int lk = cat_lock(s);
    size_t w = 0;
    fl_rc rc;

    cat_load(s, &c);
    for (size_t i = 0; i < c.n; i++) {
        int drop = add && c.v[i].slot_start == add->slot_start && c.v[i].seq == add->seq;
        for (size_t j = 0; j < ndel && !drop; j++)
            drop = c.v[i].slot_start == del[j].slot_start && c.v[i].seq == del[j].seq;
        if (!drop)
            c.v[w++] = c.v[i];
    }
    c.n = w;
    if (add && cat_push(&c, add) != 0) {
        rc = FL_ENOMEM;
        goto out;
    }
    rc = cat_save(s, &c, e);
out:
    cat_free(&c);
    cat_unlock(lk);
    return rc;
}

fl_rc store_cat_drop(const fl_store *s, const cat_entry *del, size_t n, fl_err *e)
{
    return cat_update(s, NULL, del, n, e);
}

/* Entry of a closed segment from its footer head. */
static fl_rc entry_from_file(const fl_store *s, const char *name, cat_entry *x, fl_err *e)
{
    char path[STORE_PATH_MAX + 80];
    uint8_t tr[SEG_TRAILER], head[40], ex[2 * CAT_MAX_EXP];
    seg_src src = {-1, NULL, 0, name};
    struct stat st;
    fl_rc rc;
    int type;

    memset(x, 0, sizeof *x);
    if (store_name_parse(name, &x->slot_start, &x->seq, &type) != 0)
        return fl_err_set(e, FL_EINVAL, "%s: not a segment name", name);
    if (path_join(path, sizeof path, s->segdir, name) != 0)
        return fl_err_set(e, FL_EINVAL, "path too long");
    src.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (src.fd < 0)
        return fl_err_at(e, errno == ENOENT ? FL_ENOTFOUND : FL_EIO, name, 0, -1, "open: %s",
                         strerror(errno));
    if (fstat(src.fd, &st) != 0) {
        rc = fl_err_at(e, FL_EIO, name, 0, -1, "stat: %s", strerror(errno));
        goto out;
    }
    src.size = (uint64_t)st.st_size;
    x->bytes = src.size;
    {
        /* the disk a segment takes counts its by-address copy */
        char cname[64], cpath[STORE_PATH_MAX + 80];
        struct stat cst;
        byaddr_name(cname, sizeof cname, x->slot_start, x->seq);
        if (path_join(cpath, sizeof cpath, s->segdir, cname) == 0 && stat(cpath, &cst) == 0)
            x->bytes += (uint64_t)cst.st_size;
    }
    {
        seg_header h;
        if ((rc = seg_header_parse(&src, &h, e)) != FL_OK)
            goto out;
    }
    if ((rc = seg_read(&src, src.size >= SEG_TRAILER ? src.size - SEG_TRAILER : 0, tr, sizeof tr,
                       e)) != FL_OK)
        goto out;
    if (memcmp(tr + 16, SEG_TAIL_MAGIC, 8) != 0) {
        rc = fl_err_at(e, FL_ECORRUPT, name, 0, (long long)src.size - 8, "no trailer");
        goto out;
    }
    if ((rc = seg_read(&src, get64(tr), head, sizeof head, e)) != FL_OK)
        goto out;
    if (get32(head) != FOOT_MAGIC) {
        rc = fl_err_at(e, FL_ECORRUPT, name, 0, (long long)get64(tr), "bad footer magic");
        goto out;
    }
    x->rows = get64(head + 8);
    x->tmin = (fl_time)get64(head + 16);
    x->tmax = (fl_time)get64(head + 24);
    x->nexp = (get32(head + 32) & 1) ? UINT32_MAX : get32(head + 36);
    if (x->nexp != UINT32_MAX) {
        if (x->nexp > CAT_MAX_EXP) {
            x->nexp = UINT32_MAX;
        } else if ((rc = seg_read(&src, get64(tr) + 40, ex, 2 * x->nexp, e)) != FL_OK) {
            goto out;
        }
        for (uint32_t i = 0; x->nexp != UINT32_MAX && i < x->nexp; i++)
            x->exp[i] = get16(ex + 2 * i);
    }
    rc = FL_OK;
out:
    close(src.fd);
    return rc;
}

fl_rc store_cat_recount(fl_store *s, const char *name, fl_err *e)
{
    cat_entry x;
    fl_rc rc = entry_from_file(s, name, &x, e);
    return rc == FL_OK ? cat_update(s, &x, NULL, 0, e) : rc;
}

/* ------------------------------------------------------------------ */
/* Directory listing                                                   */

typedef struct dir_item {
    char name[64];
    fl_time slot;
    uint32_t seq;
    int type;
    uint64_t bytes;
} dir_item;

static int item_cmp(const void *a, const void *b)
{
    const dir_item *x = a, *y = b;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->type - y->type;
}

#define DIR_MAX_ITEMS (1u << 22)

static fl_rc list_dir(const fl_store *s, int want_types, dir_item **out, size_t *n, fl_err *e)
{
    DIR *d = opendir(s->segdir);
    struct dirent *de;
    dir_item *v = NULL;
    size_t cap = 0, k = 0;

    *out = NULL;
    *n = 0;
    if (d == NULL)
        return errno == ENOENT ? FL_OK
                               : fl_err_at(e, FL_EIO, s->segdir, 0, -1, "%s", strerror(errno));
    while ((de = readdir(d)) != NULL) {
        dir_item it;
        if (strlen(de->d_name) >= sizeof it.name ||
            store_name_parse(de->d_name, &it.slot, &it.seq, &it.type) != 0 ||
            !(want_types & (1 << it.type)))
            continue;
        memcpy(it.name, de->d_name, strlen(de->d_name) + 1);
        it.bytes = 0;
        if (k == cap) {
            dir_item *nv;
            cap = cap ? cap * 2 : 256;
            if (cap > DIR_MAX_ITEMS || (nv = realloc(v, cap * sizeof *v)) == NULL) {
                free(v);
                closedir(d);
                return fl_err_set(e, FL_ENOMEM, "too many files in %s", s->segdir);
            }
            v = nv;
        }
        v[k++] = it;
    }
    closedir(d);
    if (k)
        qsort(v, k, sizeof *v, item_cmp);
    *out = v;
    *n = k;
    return FL_OK;
}

/* ------------------------------------------------------------------ */
/* Publishing an open slot file                                        */

static fl_rc publish(fl_store *s, fl_time slot, uint32_t seq, fl_err *e)
{
    char oname[64], fname[64], tname[64];
    char opath[STORE_PATH_MAX + 80], fpath[STORE_PATH_MAX + 80], tpath[STORE_PATH_MAX + 80];
    seg_src src = {-1, NULL, 0, oname};
    seg_header h;
    seg_blocks bl;
    struct stat st;
    cat_entry x;
    int fd = -1;
    fl_rc rc;

    memset(&bl, 0, sizeof bl);
    seg_name(oname, sizeof oname, slot, seq, ".open");
    seg_name(fname, sizeof fname, slot, seq, ".fls");
    seg_name(tname, sizeof tname, slot, seq, ".fls.tmp");
    path_join(opath, sizeof opath, s->segdir, oname);
    path_join(fpath, sizeof fpath, s->segdir, fname);
    path_join(tpath, sizeof tpath, s->segdir, tname);
    if (access(fpath, F_OK) == 0) {
        /* published before a crash; the open file is stale */
        unlink(opath);
        fsync_dir(s->segdir);
        if (entry_from_file(s, fname, &x, e) == FL_OK)
            return cat_update(s, &x, NULL, 0, e);
        return FL_OK;
    }
    src.fd = open(opath, O_RDONLY | O_CLOEXEC);
    if (src.fd < 0)
        return fl_err_at(e, FL_EIO, oname, 0, -1, "open: %s", strerror(errno));
    if (fstat(src.fd, &st) != 0) {
        rc = fl_err_at(e, FL_EIO, oname, 0, -1, "stat: %s", strerror(errno));
        goto out;
    }
    src.size = (uint64_t)st.st_size;
    rc = seg_header_parse(&src, &h, e);
    if (rc == FL_ETRUNCATED && src.size < 4096) {
        /* created but no header flushed: nothing was acknowledged */
        fl_log_info("%s: empty open slot removed", oname);
        unlink(opath);
        rc = FL_OK;
        goto out;
    }
    if (rc != FL_OK)
        goto out;
    if ((rc = seg_load_blocks(&src, &h, &bl, e)) != FL_OK)
        goto out;
    if (bl.tail_bad)
        fl_log_warn("%s: torn tail after byte %llu cut off (unflushed rows of a crash)", oname,
                    (unsigned long long)bl.valid_end);
    if (bl.n == 0) {
        unlink(opath);
        fsync_dir(s->segdir);
        rc = FL_OK;
        goto out;
    }
    fd = open(tpath, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = fl_err_at(e, FL_EIO, tname, 0, -1, "create: %s", strerror(errno));
        goto out;
    }
    memset(&x, 0, sizeof x);
    x.slot_start = slot;
    x.seq = seq;
    if ((rc = seg_write_closed(&src, &h, &bl, fd, &s->pub, &x.rows, &x.tmin, &x.tmax, x.exp, &x.nexp, e)) !=
        FL_OK)
        goto out;
    if ((s->o.fsync && fsync(fd) != 0) || fstat(fd, &st) != 0) {
        rc = fl_err_at(e, FL_EIO, tname, 0, -1, "fsync: %s", strerror(errno));
        goto out;
    }
    x.bytes = (uint64_t)st.st_size;
    close(fd);
    fd = -1;
    if (rename(tpath, fpath) != 0) {
        rc = fl_err_at(e, FL_EIO, fname, 0, -1, "rename: %s", strerror(errno));
        goto out;
    }
    if (s->o.fsync)
        fsync_dir(s->segdir);
    unlink(opath);
    if (s->o.fsync)
        fsync_dir(s->segdir);
    rc = cat_update(s, &x, NULL, 0, e);
    /* its by-address copy, on the copier's thread when there is one */
    /* (a collector queues a few at most: the rest wait for backfill, and
     * closing the store never waits on a long queue) */
    if (rc == FL_OK && s->o.by_addr &&
        (s->cp == NULL ||
         (byaddr_copier_post(s->cp, slot, seq, s->o.by_addr == 1 ? UINT32_MAX : 4) != 0 &&
          s->o.by_addr == 1)))
        byaddr_make(s, s->enc, slot, seq);
out:
    if (fd >= 0) {
        close(fd);
        unlink(tpath);
    }
    seg_blocks_free(&bl);
    if (src.fd >= 0)
        close(src.fd);
    return rc;
}

/* Writer start-up: temporaries removed, open files published, catalog
 * made to match the directory. */
static fl_rc recover(fl_store *s, fl_err *e)
{
    dir_item *v = NULL;
    size_t n = 0;
    catalog c;
    fl_rc rc;
    int changed = 0;

    if ((rc = list_dir(s, 1 << NAME_TMP | 1 << NAME_OPEN, &v, &n, e)) != FL_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        char p[STORE_PATH_MAX + 80];
        path_join(p, sizeof p, s->segdir, v[i].name);
        if (v[i].type == NAME_TMP) {
            fl_log_info("%s: removing temporary leftover", v[i].name);
            unlink(p);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].type != NAME_OPEN)
            continue;
        fl_log_info("%s: recovering open slot", v[i].name);
        rc = publish(s, v[i].slot, v[i].seq, e);
        if (rc != FL_OK) {
            /* never delete what we cannot read: set it aside */
            char p[STORE_PATH_MAX + 80], q[STORE_PATH_MAX + 96];
            path_join(p, sizeof p, s->segdir, v[i].name);
            snprintf(q, sizeof q, "%s.corrupt", p);
            fl_log_error("%s: cannot recover (%s); moved aside to %s.corrupt", v[i].name,
                         e ? e->msg : "", v[i].name);
            rename(p, q);
        }
    }
    free(v);
    /* catalog <-> directory */
    if ((rc = list_dir(s, 1 << NAME_FLS, &v, &n, e)) != FL_OK)
        return rc;
    cat_load(s, &c);
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t j = 0; j < c.n && !found; j++)
            found = c.v[j].slot_start == v[i].slot && c.v[j].seq == v[i].seq;
        if (!found) {
            cat_entry x;
            fl_err le;
            if (entry_from_file(s, v[i].name, &x, &le) == FL_OK) {
                if (cat_push(&c, &x) == 0)
                    changed = 1;
            } else {
                fl_log_warn("%s: not added to the catalog: %s", v[i].name, le.msg);
            }
        }
    }
    {
        size_t w = 0;
        for (size_t j = 0; j < c.n; j++) {
            int found = 0;
            for (size_t i = 0; i < n && !found; i++)
                found = c.v[j].slot_start == v[i].slot && c.v[j].seq == v[i].seq;
            if (found)
                c.v[w++] = c.v[j];
            else
                changed = 1;
        }
        c.n = w;
    }
    rc = FL_OK;
    if (changed) {
        int lk = cat_lock(s);
        rc = cat_save(s, &c, e);
        cat_unlock(lk);
    }
    cat_free(&c);
    free(v);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The writer's open slots                                             */

/*
 * Up to STORE_OPEN_SLOTS slots are open at once, each with its own
 * SLOT-SEQ.open journal and in-memory row group, so an exporter whose flow
 * times straddle slots (long flows, buffered exports, a skewed clock) does
 * not make the writer close and reopen slots back and forth. A row whose
 * slot is not open opens it while there is room; when all are taken, a row
 * newer than the oldest open slot closes (publishes) that one and takes its
 * place, and a row older than every open slot joins the oldest one (a late
 * flow: a segment's real time range is the one of its data). A slot is
 * also closed by fl_store_tick once the clock is a whole slot past its end
 * and no row came for STORE_IDLE_FLUSHES flush intervals. So a slot is
 * reopened (a new SEQ) only after such a quiet period, never within one
 * batch. Row-group arrays grow with the rows a slot gets, so a slot that
 * only sees a few late flows costs a few KiB.
 */
#define STORE_OPEN_SLOTS 4
#define STORE_IDLE_FLUSHES 10
#define STORE_IDLE_MAX_MS 60000
#define WS_MIN_CAP 1024u

typedef struct store_wslot {
    int open;
    fl_time slot_start;
    uint32_t seq;
    int fd;
    int unsynced;             /* bytes written since the last fdatasync */
    char name[64];            /* SLOT-SEQ.open */
    void *cols[FL_COL_COUNT]; /* row group, raw; NULL until a row sets it */
    uint32_t cap;             /* rows the column arrays hold */
    uint64_t present[FL_PRESENT_WORDS];
    uint32_t n, flushed, group;
    fl_time last_row;         /* wall clock of the last row appended */
} store_wslot;

/* ------------------------------------------------------------------ */
/* Open / close                                                        */

static void syncer_start(fl_store *s);

static fl_rc check_format(fl_store *s, fl_err *e)
{
    char path[STORE_PATH_MAX + 16], buf[64];
    int fd;
    ssize_t r;
    unsigned v = 0;

    path_join(path, sizeof path, s->dir, "FORMAT");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            return fl_err_at(e, FL_EIO, path, 0, -1, "%s", strerror(errno));
        if (s->mode != FL_STORE_WRITE)
            return FL_OK; /* an empty or foreign directory reads as empty */
        r = snprintf(buf, sizeof buf, "flowlens-store %d\n", FL_STORE_FORMAT_VERSION);
        return store_write_atomic(s->dir, "FORMAT", buf, (size_t)r, s->o.fsync, e);
    }
    r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r < 0)
        return fl_err_at(e, FL_EIO, path, 0, -1, "%s", strerror(errno));
    buf[r] = '\0';
    if (strncmp(buf, "flowlens-store ", 15) != 0)
        return fl_err_at(e, FL_ECORRUPT, path, 1, 0, "not a flowlens store FORMAT file");
    for (const char *p = buf + 15; *p >= '0' && *p <= '9' && v < 100000; p++)
        v = v * 10 + (unsigned)(*p - '0');
    if (v > FL_STORE_FORMAT_VERSION)
        return fl_err_at(e, FL_EVERSION, s->dir, 0, -1,
                         "store format version %u is newer than this flowlens supports (%d); "
                         "upgrade flowlens to use this store",
                         v, FL_STORE_FORMAT_VERSION);
    if (v == 0)
        return fl_err_at(e, FL_ECORRUPT, path, 1, 15, "bad version number");
    return FL_OK;
}

fl_rc fl_store_open(const char *dir, const fl_store_opts *opts, int mode, fl_store **out,
                    fl_err *e)
{
    fl_store *s;
    fl_rc rc;
    char lp[STORE_PATH_MAX + 16];

    *out = NULL;
    if (dir == NULL || strlen(dir) > STORE_PATH_MAX - 100)
        return fl_err_set(e, FL_EINVAL, "store directory name missing or too long");
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return FL_ENOMEM;
    s->lockfd = -1;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->segdir, sizeof s->segdir, "%s/seg", dir);
    if (opts)
        s->o = *opts;
    else
        fl_store_opts_default(&s->o);
    if (s->o.slot_ms <= 0)
        s->o.slot_ms = 300000;
    if (s->o.flush_ms == 0)
        s->o.flush_ms = 1000;
    s->mode = mode;
    if (mode == FL_STORE_WRITE) {
        if (mkdir_p(dir) != 0 ||
            (mkdir(s->segdir, 0755) != 0 && errno != EEXIST)) {
            rc = fl_err_at(e, FL_EIO, dir, 0, -1, "mkdir: %s", strerror(errno));
            goto fail;
        }
        path_join(lp, sizeof lp, dir, "lock");
        s->lockfd = open(lp, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
        if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
            rc = fl_err_at(e, errno == EWOULDBLOCK ? FL_EEXIST : FL_EIO, dir, 0, -1,
                           "cannot take the writer lock: %s",
                           errno == EWOULDBLOCK ? "another process writes this store"
                                                : strerror(errno));
            goto fail;
        }
    } else {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            rc = fl_err_at(e, FL_ENOTFOUND, dir, 0, -1, "no store here");
            goto fail;
        }
    }
    if ((rc = check_format(s, e)) != FL_OK)
        goto fail;
    if ((rc = xtab_load(dir, &s->x, e)) != FL_OK)
        goto fail;
    if (mode == FL_STORE_WRITE) {
        int codec = s->o.codec == FL_STORE_LZ4 ? CODEC_LZ4
                    : s->o.codec == FL_STORE_NONE ? CODEC_NONE : CODEC_ZSTD;
        s->enc = chunk_enc_new(codec, s->o.level);
        s->ws = calloc(STORE_OPEN_SLOTS, sizeof *s->ws);
        for (int i = 0; s->ws && i < STORE_OPEN_SLOTS; i++)
            s->ws[i].fd = -1;
        if (s->enc == NULL || s->ws == NULL) {
            rc = FL_ENOMEM;
            goto fail;
        }
        s->out.max = (size_t)SEG_MAX_DATA;
        s->mtmp.max = (size_t)SEG_MAX_META;
        s->dtmp.max = (size_t)SEG_MAX_DATA;
        if ((rc = recover(s, e)) != FL_OK)
            goto fail;
        if (s->o.fsync)
            syncer_start(s);
        if (s->o.by_addr)
            s->cp = byaddr_copier_start(s);
    }
    s->last_flush = fl_time_now();
    *out = s;
    return FL_OK;
fail:
    fl_store_close(s, NULL);
    return rc;
}


/* ------------------------------------------------------------------ */
/* Durability off the writer thread                                    */
/*
 * A timed flush (fl_store_append, fl_store_tick) writes its blocks on the
 * writer thread, then gives duplicates of the files written to to the
 * syncer thread, which fdatasyncs and closes them; the writer goes on
 * taking rows meanwhile. The next flush waits for that sync before it
 * posts its own, and only a finished sync moves rows_durable. A row is
 * durable at the end of the first sync after the flush that wrote it —
 * the same moment as with the sync inline, where the writer would have
 * stalled for it — so the crash guarantee (docs/store-format.md) is
 * unchanged: kill -9 loses what was not yet written, power loss what
 * was not yet synced. fl_store_flush and closing a slot still sync inline.
 * A failed background sync is reported by every later flush.
 */
typedef struct store_syncer {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd[STORE_OPEN_SLOTS], nfd;
    char name[STORE_OPEN_SLOTS][64];
    uint64_t rows;    /* rows_total when the job was posted */
    uint64_t durable; /* rows of the last job that synced */
    int pending, stop;
    int err;          /* errno of a failed sync, sticky */
    char errname[64];
} store_syncer;

static void *syncer_main(void *arg)
{
    store_syncer *y = arg;

    pthread_mutex_lock(&y->mu);
    for (;;) {
        int fd[STORE_OPEN_SLOTS], nfd, err = 0, bad = 0;
        uint64_t rows;
        while (!y->pending && !y->stop)
            pthread_cond_wait(&y->cv, &y->mu);
        if (!y->pending)
            break;
        nfd = y->nfd;
        memcpy(fd, y->fd, sizeof fd);
        rows = y->rows;
        pthread_mutex_unlock(&y->mu);
        for (int i = 0; i < nfd; i++) {
            if (fdatasync(fd[i]) != 0 && err == 0) {
                err = errno;
                bad = i;
            }
            close(fd[i]);
        }
        pthread_mutex_lock(&y->mu);
        if (err != 0 && y->err == 0) {
            y->err = err;
            memcpy(y->errname, y->name[bad], sizeof y->errname);
        } else if (err == 0) {
            y->durable = rows;
        }
        y->pending = 0;
        pthread_cond_broadcast(&y->cv);
    }
    pthread_mutex_unlock(&y->mu);
    return NULL;
}

/* Start the syncer; without one (thread creation failed) timed flushes
 * sync inline. */
static void syncer_start(fl_store *s)
{
    store_syncer *y = calloc(1, sizeof *y);

    if (y == NULL)
        return;
    pthread_mutex_init(&y->mu, NULL);
    pthread_cond_init(&y->cv, NULL);
    if (pthread_create(&y->th, NULL, syncer_main, y) != 0) {
        pthread_mutex_destroy(&y->mu);
        pthread_cond_destroy(&y->cv);
        free(y);
        return;
    }
    s->sy = y;
}

/* Wait until no sync is pending; takes what it made durable. FL_EIO if a
 * background sync ever failed. */
static fl_rc syncer_wait(fl_store *s, fl_err *e)
{
    store_syncer *y = s->sy;
    char name[64];
    int err;

    if (y == NULL)
        return FL_OK;
    pthread_mutex_lock(&y->mu);
    while (y->pending)
        pthread_cond_wait(&y->cv, &y->mu);
    if (y->durable > s->rows_durable)
        s->rows_durable = y->durable;
    err = y->err;
    memcpy(name, y->errname, sizeof name);
    pthread_mutex_unlock(&y->mu);
    if (err != 0)
        return fl_err_at(e, FL_EIO, name, 0, -1, "fsync: %s", strerror(err));
    return FL_OK;
}

static void syncer_stop(fl_store *s)
{
    store_syncer *y = s->sy;

    if (y == NULL)
        return;
    pthread_mutex_lock(&y->mu);
    y->stop = 1;
    pthread_cond_broadcast(&y->cv);
    pthread_mutex_unlock(&y->mu);
    pthread_join(y->th, NULL);
    pthread_mutex_destroy(&y->mu);
    pthread_cond_destroy(&y->cv);
    free(y);
    s->sy = NULL;
}

static void grp_reset(store_wslot *w)
{
    for (int c = 0; c < FL_COL_COUNT; c++)
        if (w->cols[c] && (w->present[c / 64] >> (c % 64) & 1))
            memset(w->cols[c], 0, (size_t)fl_col_get((fl_col)c)->width * w->n);
    memset(w->present, 0, sizeof w->present);
    w->n = 0;
    w->flushed = 0;
}

static fl_rc write_out(fl_store *s, store_wslot *w, fl_err *e)
{
    const uint8_t *p = s->out.p;
    size_t n = s->out.n;

    while (n) {
        ssize_t r = write(w->fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return fl_err_at(e, FL_EIO, w->name, 0, -1, "write: %s", strerror(errno));
        p += r;
        n -= (size_t)r;
    }
    s->out.n = 0;
    w->unsynced = 1;
    return FL_OK;
}

static fl_rc emit(fl_store *s, store_wslot *w, int kind, fl_err *e)
{
    void *tmp[FL_COL_COUNT];
    uint32_t from = kind == BLK_DELTA ? w->flushed : 0;
    fl_rc rc;

    for (int c = 0; c < FL_COL_COUNT; c++)
        tmp[c] = (w->present[c / 64] >> (c % 64) & 1) ? w->cols[c] : NULL;
    s->out.n = 0;
    rc = block_build(s->enc, tmp, from, w->n - from, w->group, kind, 1, &s->out, &s->mtmp,
                     &s->dtmp);
    if (rc != FL_OK)
        return fl_err_set(e, rc, "%s: building a block: %s", w->name, fl_strerror(rc));
    return write_out(s, w, e);
}

static uint32_t next_seq(fl_store *s, fl_time slot)
{
    dir_item *v = NULL;
    size_t n = 0;
    uint32_t seq = 1;

    if (list_dir(s, 1 << NAME_FLS | 1 << NAME_OPEN | 1 << NAME_TMP, &v, &n, NULL) == FL_OK)
        for (size_t i = 0; i < n; i++)
            if (v[i].slot == slot && v[i].seq >= seq)
                seq = v[i].seq + 1;
    free(v);
    return seq;
}

static fl_rc slot_open(fl_store *s, store_wslot *w, fl_time slot, fl_err *e)
{
    char path[STORE_PATH_MAX + 80];
    sbuf hb = {0};
    fl_rc rc;

    w->seq = next_seq(s, slot);
    w->slot_start = slot;
    seg_name(w->name, sizeof w->name, slot, w->seq, ".open");
    path_join(path, sizeof path, s->segdir, w->name);
    w->fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return fl_err_at(e, FL_EIO, w->name, 0, -1, "create: %s", strerror(errno));
    if ((rc = seg_header_build(&hb, slot, s->o.slot_ms, w->seq)) != FL_OK)
        goto out;
    s->out.n = 0;
    if (sbuf_put(&s->out, hb.p, hb.n) != 0) {
        rc = FL_ENOMEM;
        goto out;
    }
    if ((rc = write_out(s, w, e)) != FL_OK)
        goto out;
    if (s->o.fsync)
        fsync_dir(s->segdir);
    w->open = 1;
    w->group = 0;
    w->last_row = fl_time_now();
    grp_reset(w);
out:
    sbuf_free(&hb);
    if (rc != FL_OK) {
        close(w->fd);
        w->fd = -1;
        unlink(path);
    }
    return rc;
}

/* Publish one open slot: its last rows as a final block, fsync, then the
 * closed segment (publish). On error the open file stays for recovery. */
static fl_rc ws_close(fl_store *s, store_wslot *w, fl_err *e)
{
    fl_rc rc;

    if (!w->open)
        return FL_OK;
    if (w->n > 0 && (rc = emit(s, w, BLK_FINAL, e)) != FL_OK)
        return rc;
    if (s->o.fsync && fdatasync(w->fd) != 0)
        return fl_err_at(e, FL_EIO, w->name, 0, -1, "fsync: %s", strerror(errno));
    close(w->fd);
    w->fd = -1;
    w->open = 0;
    w->unsynced = 0;
    grp_reset(w);
    return publish(s, w->slot_start, w->seq, e);
}

fl_rc fl_store_close_slot(fl_store *s, fl_err *e)
{
    fl_rc rc = FL_OK;

    if (s->mode != FL_STORE_WRITE || s->ws == NULL)
        return FL_OK;
    for (int i = 0; i < STORE_OPEN_SLOTS && rc == FL_OK; i++)
        rc = ws_close(s, &s->ws[i], e);
    if (rc == FL_OK)
        s->rows_durable = s->rows_total;
    return rc;
}

/* Write w's rows not yet in its open file as a delta block. (Ending a
 * group early with a final block instead, so its rows are encoded once,
 * was tried: no CPU change measurable, and at a few thousand rows a
 * second row groups would stay at 16-20 k rows instead of 65536 for good,
 * which every later scan pays for.) */
static fl_rc slot_flush(fl_store *s, store_wslot *w, fl_err *e)
{
    fl_rc rc;

    if (w->n <= w->flushed)
        return FL_OK;
    if ((rc = emit(s, w, BLK_DELTA, e)) != FL_OK)
        return rc;
    w->flushed = w->n;
    return FL_OK;
}

fl_rc fl_store_flush(fl_store *s, uint64_t *durable, fl_err *e)
{
    fl_rc rc = FL_OK;

    if (s->mode != FL_STORE_WRITE)
        return fl_err_set(e, FL_EINVAL, "store opened read-only");
    if ((rc = syncer_wait(s, e)) != FL_OK)
        return rc;
    for (int i = 0; s->ws && i < STORE_OPEN_SLOTS; i++) {
        store_wslot *w = &s->ws[i];
        if (!w->open)
            continue;
        if ((rc = slot_flush(s, w, e)) != FL_OK)
            return rc;
        if (w->unsynced && s->o.fsync && fdatasync(w->fd) != 0)
            return fl_err_at(e, FL_EIO, w->name, 0, -1, "fsync: %s", strerror(errno));
        w->unsynced = 0;
    }
    s->rows_durable = s->rows_total;
    s->last_flush = fl_time_now();
    if (durable)
        *durable = s->rows_durable;
    return rc;
}

/* The timed flush: blocks written here, their fdatasync on the syncer
 * thread (see "Durability off the writer thread"). */
static fl_rc flush_timed(fl_store *s, fl_err *e)
{
    store_syncer *y = s->sy;
    int fd[STORE_OPEN_SLOTS], nfd = 0;
    fl_rc rc;

    if (y == NULL || !s->o.fsync)
        return fl_store_flush(s, NULL, e);
    if ((rc = syncer_wait(s, e)) != FL_OK)
        return rc;
    for (int i = 0; i < STORE_OPEN_SLOTS; i++) {
        store_wslot *w = &s->ws[i];
        if (!w->open)
            continue;
        if ((rc = slot_flush(s, w, e)) != FL_OK)
            goto fail;
        if (!w->unsynced)
            continue;
        fd[nfd] = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
        if (fd[nfd] < 0) { /* no descriptor to spare: sync here */
            if (fdatasync(w->fd) != 0) {
                rc = fl_err_at(e, FL_EIO, w->name, 0, -1, "fsync: %s", strerror(errno));
                goto fail;
            }
        } else {
            memcpy(y->name[nfd], w->name, sizeof y->name[nfd]);
            nfd++;
        }
        w->unsynced = 0;
    }
    s->last_flush = fl_time_now();
    if (nfd == 0) {
        s->rows_durable = s->rows_total;
        return FL_OK;
    }
    pthread_mutex_lock(&y->mu);
    memcpy(y->fd, fd, sizeof fd);
    y->nfd = nfd;
    y->rows = s->rows_total;
    y->pending = 1;
    pthread_cond_broadcast(&y->cv);
    pthread_mutex_unlock(&y->mu);
    return FL_OK;
fail:
    for (int i = 0; i < nfd; i++)
        close(fd[i]);
    return rc;
}

static fl_time idle_ms(const fl_store *s)
{
    fl_time t = (fl_time)s->o.flush_ms * STORE_IDLE_FLUSHES;
    return t < STORE_IDLE_MAX_MS ? t : STORE_IDLE_MAX_MS;
}

/* Whether the copy at path (named name) was made with sums: one made
 * before them, or unreadable, is to be made again. */
static int byaddr_current(const char *path, const char *name)
{
    seg_src src = {-1, NULL, 0, name};
    struct stat st;
    byaddr_dir d;
    fl_err le;
    int ok;

    if ((src.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    if (fstat(src.fd, &st) != 0) {
        close(src.fd);
        return 0;
    }
    src.size = (uint64_t)st.st_size;
    ok = byaddr_dir_read(&src, &d, &le) == FL_OK && (d.flags & BYADDR_F_SUMS);
    byaddr_dir_free(&d);
    close(src.fd);
    return ok;
}

fl_rc fl_store_backfill(fl_store *s, int *more, fl_err *e)
{
    *more = 0;
    if (s->mode != FL_STORE_WRITE || !s->o.by_addr || s->bf_done)
        return FL_OK;
    if (s->cp && !byaddr_copier_idle(s->cp)) {
        *more = 1; /* the copier may be making one of those listed */
        return FL_OK;
    }
    if (s->bf == NULL) {
        fl_rc rc = fl_store_list(s, 0, 0, NULL, 0, &s->bf, &s->bf_n, e);
        if (rc != FL_OK)
            return rc;
        s->bf_i = s->bf_n;
    }
    /* newest first: recent traffic is what gets searched */
    for (int checked = 0; s->bf_i > 0 && checked < 64; checked++) {
        const fl_store_seginfo *si = &s->bf[--s->bf_i];
        char cname[64], path[STORE_PATH_MAX + 80];
        if (si->open || si->rows == 0 || si->rows > BYADDR_MAX_ROWS)
            continue;
        byaddr_name(cname, sizeof cname, si->slot_start, si->seq);
        if (path_join(path, sizeof path, s->segdir, cname) != 0 ||
            (access(path, F_OK) == 0 && byaddr_current(path, cname)))
            continue;
        if (path_join(path, sizeof path, s->segdir, si->name) != 0 || access(path, F_OK) != 0)
            continue; /* expired since the listing */
        byaddr_make(s, s->enc, si->slot_start, si->seq);
        break;
    }
    if (s->bf_i == 0) {
        free(s->bf);
        s->bf = NULL;
        s->bf_done = 1;
    } else {
        *more = 1;
    }
    return FL_OK;
}

fl_rc fl_store_tick(fl_store *s, fl_time now, fl_err *e)
{
    fl_time wall = fl_time_now();

    if (s->mode != FL_STORE_WRITE || s->ws == NULL)
        return FL_OK;
    for (int i = 0; i < STORE_OPEN_SLOTS; i++) {
        store_wslot *w = &s->ws[i];
        fl_rc rc;
        /* past, or more than a slot ahead of the clock (a far-future
         * time from a broken exporter clock must not hold a slot) */
        int away = now >= w->slot_start + 2 * s->o.slot_ms || w->slot_start > now + s->o.slot_ms;
        if (w->open && away && wall - w->last_row >= idle_ms(s) &&
            (rc = ws_close(s, w, e)) != FL_OK)
            return rc;
    }
    if (wall - s->last_flush >= (fl_time)s->o.flush_ms)
        return flush_timed(s, e);
    return FL_OK;
}

/* The open slot that takes rows of `slot` (opening or closing slots as the
 * comment above says). */
static fl_rc ws_target(fl_store *s, fl_time slot, store_wslot **out, fl_err *e)
{
    store_wslot *free_w = NULL, *oldest = NULL;
    fl_rc rc;

    for (int i = 0; i < STORE_OPEN_SLOTS; i++) {
        store_wslot *w = &s->ws[i];
        if (!w->open) {
            if (free_w == NULL)
                free_w = w;
            continue;
        }
        if (w->slot_start == slot) {
            *out = w;
            return FL_OK;
        }
        if (oldest == NULL || w->slot_start < oldest->slot_start)
            oldest = w;
    }
    if (free_w == NULL) {
        if (slot < oldest->slot_start) {
            *out = oldest; /* late: older than every open slot */
            return FL_OK;
        }
        if ((rc = ws_close(s, oldest, e)) != FL_OK)
            return rc;
        free_w = oldest;
    }
    if ((rc = slot_open(s, free_w, slot, e)) != FL_OK)
        return rc;
    *out = free_w;
    return FL_OK;
}

/* Column arrays of w for the columns of b, holding at least `need` rows.
 * Invariant: every array is zero past w->n, and an array of a column not
 * present in the group is all zero. */
static fl_rc ws_reserve(store_wslot *w, const fl_batch *b, uint32_t need, fl_err *e)
{
    uint32_t cap = w->cap ? w->cap : WS_MIN_CAP;

    while (cap < need)
        cap *= 2;
    if (cap > FL_STORE_GROUP_ROWS)
        cap = FL_STORE_GROUP_ROWS;
    for (int c = 0; c < FL_COL_COUNT; c++) {
        size_t wd = fl_col_get((fl_col)c)->width;
        if (w->cols[c] != NULL && cap > w->cap) {
            void *p = realloc(w->cols[c], wd * cap);
            if (p == NULL)
                return fl_err_set(e, FL_ENOMEM, "row group buffers");
            memset((uint8_t *)p + wd * w->cap, 0, wd * (cap - w->cap));
            w->cols[c] = p;
        } else if (w->cols[c] == NULL && fl_batch_has(b, (fl_col)c)) {
            w->cols[c] = calloc(cap, wd);
            if (w->cols[c] == NULL)
                return fl_err_set(e, FL_ENOMEM, "row group buffers");
        }
    }
    w->cap = cap;
    return FL_OK;
}

/* Rows [r, r+k) of b into slot w, emitting final blocks as groups fill. */
static fl_rc ws_put(fl_store *s, store_wslot *w, const fl_batch *b, uint32_t r, uint32_t k,
                    fl_err *e)
{
    fl_rc rc;

    while (k > 0) {
        uint32_t m = FL_STORE_GROUP_ROWS - w->n;
        if (m > k)
            m = k;
        if ((rc = ws_reserve(w, b, w->n + m, e)) != FL_OK)
            return rc;
        for (int c = 0; c < FL_COL_COUNT; c++) {
            size_t wd;
            if (!fl_batch_has(b, (fl_col)c))
                continue;
            wd = fl_col_get((fl_col)c)->width;
            memcpy((uint8_t *)w->cols[c] + (size_t)w->n * wd,
                   (const uint8_t *)b->col[c] + (size_t)r * wd, (size_t)m * wd);
            w->present[c / 64] |= (uint64_t)1 << (c % 64);
        }
        w->n += m;
        s->rows_total += m;
        r += m;
        k -= m;
        if (w->n == FL_STORE_GROUP_ROWS) {
            if ((rc = emit(s, w, BLK_FINAL, e)) != FL_OK)
                return rc;
            w->group++;
            grp_reset(w);
            if (s->o.seg_groups && w->group >= s->o.seg_groups) {
                /* the slot goes on in its next segment: this one is
                 * published (and gets its by-address copy, which a
                 * segment of over 2 M rows would not) */
                fl_time slot = w->slot_start;
                if ((rc = ws_close(s, w, e)) != FL_OK || (rc = slot_open(s, w, slot, e)) != FL_OK)
                    return rc;
            }
        }
    }
    return FL_OK;
}

fl_rc fl_store_append(fl_store *s, const fl_batch *b, fl_err *e)
{
    const fl_time *tf = FL_TIMES(b, FL_COL_TIME_FIRST);
    int has_tf = fl_batch_has(b, FL_COL_TIME_FIRST);
    fl_time now = fl_time_now();
    uint32_t r = 0;
    fl_rc rc;

    if (s->mode != FL_STORE_WRITE)
        return fl_err_set(e, FL_EINVAL, "store opened read-only");
    while (r < b->n) {
        fl_time t = has_tf ? tf[r] : 0, slot, end;
        store_wslot *w;
        uint32_t k = r + 1;
        if (t < 0)
            t = 0;
        else if (t > FL_TIME_MAX)
            t = FL_TIME_MAX; /* garbage from the wire: keep slot arithmetic in range */
        slot = t - t % s->o.slot_ms;
        end = slot + s->o.slot_ms;
        /* the run of rows of the same slot */
        if (has_tf)
            while (k < b->n && tf[k] >= slot && tf[k] < end)
                k++;
        else
            k = b->n;
        if ((rc = ws_target(s, slot, &w, e)) != FL_OK)
            return rc;
        if ((rc = ws_put(s, w, b, r, k - r, e)) != FL_OK)
            return rc;
        w->last_row = now;
        r = k;
    }
    if (now - s->last_flush >= (fl_time)s->o.flush_ms)
        return flush_timed(s, e);
    return FL_OK;
}

fl_rc fl_store_close(fl_store *s, fl_err *e)
{
    fl_rc rc = FL_OK;

    if (s == NULL)
        return FL_OK;
    if (s->mode == FL_STORE_WRITE) {
        fl_rc r2 = syncer_wait(s, e);
        rc = fl_store_close_slot(s, e);
        if (rc == FL_OK)
            rc = r2;
        syncer_stop(s);
        byaddr_copier_stop(s->cp); /* the copies of what was just published too */
    }
    for (int i = 0; s->ws && i < STORE_OPEN_SLOTS; i++) {
        if (s->ws[i].fd >= 0)
            close(s->ws[i].fd);
        for (int c = 0; c < FL_COL_COUNT; c++)
            free(s->ws[i].cols[c]);
    }
    free(s->ws);
    if (s->lockfd >= 0)
        close(s->lockfd);
    chunk_enc_free(s->enc);
    sbuf_free(&s->out);
    sbuf_free(&s->mtmp);
    sbuf_free(&s->dtmp);
    seg_pubbufs_free(&s->pub);
    free(s->bf);
    xtab_free(s->x);
    free(s);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Listing                                                             */

static int exp_overlap(const cat_entry *x, const uint16_t *exp, uint32_t nexp)
{
    if (nexp == 0 || x->nexp == UINT32_MAX)
        return 1;
    for (uint32_t i = 0; i < nexp; i++)
        for (uint32_t j = 0; j < x->nexp; j++)
            if (x->exp[j] == exp[i])
                return 1;
    return 0;
}

fl_rc fl_store_list(fl_store *s, fl_time t_start, fl_time t_end, const uint16_t *exp,
                    uint32_t nexp, fl_store_seginfo **out, size_t *nout, fl_err *e)
{
    dir_item *v = NULL;
    size_t n = 0, k = 0;
    catalog c;
    fl_store_seginfo *r = NULL;
    fl_rc rc;

    *out = NULL;
    *nout = 0;
    /* open files first: one published meanwhile shows up as .fls below */
    if ((rc = list_dir(s, 1 << NAME_OPEN | 1 << NAME_FLS, &v, &n, e)) != FL_OK)
        return rc;
    cat_load(s, &c);
    r = calloc(n ? n : 1, sizeof *r);
    if (r == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        fl_store_seginfo *o = &r[k];
        cat_entry x, *xp = NULL;
        if (v[i].type == NAME_OPEN) {
            /* skip an open file already published (its .fls sorts just
             * before it: same slot and seq, smaller type) */
            if (i > 0 && v[i - 1].slot == v[i].slot && v[i - 1].seq == v[i].seq)
                continue;
            memset(o, 0, sizeof *o);
            snprintf(o->name, sizeof o->name, "%s", v[i].name);
            o->slot_start = v[i].slot;
            o->seq = v[i].seq;
            o->open = 1;
            o->tmin = 0; /* late rows may be older than the slot */
            o->tmax = FL_TIME_MAX;
            {
                char p[STORE_PATH_MAX + 80];
                struct stat st;
                path_join(p, sizeof p, s->segdir, v[i].name);
                if (stat(p, &st) == 0)
                    o->bytes = (uint64_t)st.st_size;
            }
            k++;
            continue;
        }
        for (size_t j = 0; j < c.n; j++)
            if (c.v[j].slot_start == v[i].slot && c.v[j].seq == v[i].seq) {
                xp = &c.v[j];
                break;
            }
        if (xp == NULL) {
            fl_err le;
            if (entry_from_file(s, v[i].name, &x, &le) != FL_OK) {
                /* unreadable: keep it listed so the scan reports it */
                memset(&x, 0, sizeof x);
                x.slot_start = v[i].slot;
                x.seq = v[i].seq;
                x.tmax = FL_TIME_MAX;
                x.nexp = UINT32_MAX;
            }
            xp = &x;
        }
        if ((t_end > 0 && xp->tmin >= t_end) || xp->tmax < t_start || !exp_overlap(xp, exp, nexp))
            continue;
        memset(o, 0, sizeof *o);
        snprintf(o->name, sizeof o->name, "%s", v[i].name);
        o->slot_start = xp->slot_start;
        o->seq = xp->seq;
        o->rows = xp->rows;
        o->bytes = xp->bytes;
        o->tmin = xp->tmin;
        o->tmax = xp->tmax;
        k++;
    }
    /* closed segments first (slot order), then open slots */
    {
        size_t w = 0;
        fl_store_seginfo *sorted = calloc(k ? k : 1, sizeof *sorted);
        if (sorted == NULL) {
            rc = FL_ENOMEM;
            goto out;
        }
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < k; i++)
                if (r[i].open == pass)
                    sorted[w++] = r[i];
        free(r);
        r = sorted;
    }
    *out = r;
    *nout = k;
    r = NULL;
    rc = FL_OK;
out:
    free(r);
    free(v);
    cat_free(&c);
    return rc;
}
