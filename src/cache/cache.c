/*
 * cache/cache.c — the on-disk answer cache (cache.h says what it is for).
 *
 * One file per key, named by the key's hash; the file repeats the whole
 * key, so two keys with the same hash only cost each other a miss. Layout
 * (host byte order: the cache belongs to this machine; a foreign file
 * fails its checks and misses):
 *
 *   "FLCACHE1"  u64 version  u32 key_len  u32 0  u64 body_len
 *   u64 fnv1a(body)  key bytes  body bytes
 *
 * Recency is the file's mtime, refreshed on every hit, so eviction needs
 * no index file that could go stale or be torn by a crash.
 */
#include "cache/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "FLCACHE1"
#define HEAD_LEN 40
#define KEY_MAX (64u << 10)
#define PATH_MAX_LEN 4096
#define SCAN_MAX 100000 /* entries looked at by one eviction pass */

struct fl_cache {
    char dir[PATH_MAX_LEN];
    uint64_t max_bytes;
    unsigned seq; /* temporary names of this process */
};

uint64_t fl_cache_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

fl_rc fl_cache_open(const char *dir, uint64_t max_bytes, fl_cache **out, fl_err *e)
{
    fl_cache *c;
    struct stat st;

    *out = NULL;
    if (strlen(dir) >= PATH_MAX_LEN - 64)
        return fl_err_set(e, FL_EINVAL, "cache directory path too long");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fl_err_set(e, FL_EIO, "cache directory %s: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fl_err_set(e, FL_EIO, "cache directory %s: not a directory", dir);
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return fl_err_set(e, FL_ENOMEM, "out of memory");
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    c->max_bytes = max_bytes ? max_bytes : FL_CACHE_DEFAULT_BYTES;
    *out = c;
    return FL_OK;
}

void fl_cache_close(fl_cache *c) { free(c); }

static void entry_path(const fl_cache *c, const char *key, char *buf, size_t len)
{
    uint64_t h = fl_cache_hash(FL_CACHE_HASH_INIT, key, strlen(key));
    snprintf(buf, len, "%s/%016llx.res", c->dir, (unsigned long long)h);
}

static int read_all(int fd, void *p, size_t n)
{
    char *b = p;
    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        b += r;
        n -= (size_t)r;
    }
    return 1;
}

int fl_cache_get(fl_cache *c, const char *key, uint64_t version, char **body, size_t *len)
{
    char path[PATH_MAX_LEN + 32];
    unsigned char head[HEAD_LEN];
    uint64_t ver, blen, bhash;
    uint32_t klen;
    size_t key_len = strlen(key);
    char *kbuf = NULL, *b = NULL;
    struct stat st;
    int fd, hit = 0;

    *body = NULL;
    *len = 0;
    if (c == NULL || key_len > KEY_MAX)
        return 0;
    entry_path(c, key, path, sizeof path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !read_all(fd, head, sizeof head) || memcmp(head, MAGIC, 8) != 0)
        goto out;
    memcpy(&ver, head + 8, 8);
    memcpy(&klen, head + 16, 4);
    memcpy(&blen, head + 24, 8);
    memcpy(&bhash, head + 32, 8);
    /* every length is checked against the file before it is trusted */
    if (ver != version || klen != key_len || blen > c->max_bytes ||
        (uint64_t)st.st_size != HEAD_LEN + (uint64_t)klen + blen)
        goto out;
    kbuf = malloc(klen + 1);
    b = malloc((size_t)blen + 1);
    if (kbuf == NULL || b == NULL || !read_all(fd, kbuf, klen) || memcmp(kbuf, key, klen) != 0 ||
        !read_all(fd, b, (size_t)blen) || fl_cache_hash(FL_CACHE_HASH_INIT, b, blen) != bhash)
        goto out;
    b[blen] = '\0';
    *body = b;
    *len = (size_t)blen;
    b = NULL;
    hit = 1;
    futimens(fd, NULL); /* recency for eviction; a read-only cache just ages */
out:
    close(fd);
    free(kbuf);
    free(b);
    return hit;
}

typedef struct ent {
    char name[64];
    off_t size;
    struct timespec mtime;
} ent;

static int ent_older(const void *pa, const void *pb)
{
    const ent *a = pa, *b = pb;
    if (a->mtime.tv_sec != b->mtime.tv_sec)
        return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
    if (a->mtime.tv_nsec != b->mtime.tv_nsec)
        return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Remove least recently used entries until the directory fits, and
 * temporary files a crashed writer left more than an hour ago. */
static void evict(fl_cache *c)
{
    DIR *d = opendir(c->dir);
    ent *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    struct dirent *de;
    time_t now = time(NULL);

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL && n < SCAN_MAX) {
        size_t l = strlen(de->d_name);
        struct stat st;
        int tmp = l > 4 && strcmp(de->d_name + l - 4, ".tmp") == 0;
        if (l >= sizeof v->name || (!tmp && (l < 5 || strcmp(de->d_name + l - 4, ".res") != 0)))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (tmp) {
            if (st.st_mtime < now - 3600)
                unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            ent *nv = realloc(v, nc * sizeof *nv);
            if (nv == NULL)
                break;
            v = nv;
            cap = nc;
        }
        memcpy(v[n].name, de->d_name, l + 1);
        v[n].size = st.st_size;
        v[n].mtime = st.st_mtim;
        total += (uint64_t)st.st_size;
        n++;
    }
    if (total > c->max_bytes) {
        qsort(v, n, sizeof *v, ent_older);
        for (size_t i = 0; i < n && total > c->max_bytes; i++)
            if (unlinkat(dirfd(d), v[i].name, 0) == 0)
                total -= (uint64_t)v[i].size;
    }
    closedir(d);
    free(v);
}

void fl_cache_put(fl_cache *c, const char *key, uint64_t version, const void *body, size_t len)
{
    char path[PATH_MAX_LEN + 32], tmp[PATH_MAX_LEN + 64];
    unsigned char head[HEAD_LEN];
    uint32_t klen;
    uint64_t blen = len, bhash;
    size_t key_len = strlen(key);
    FILE *f;
    int ok;

    if (c == NULL || key_len > KEY_MAX || len > c->max_bytes / 8)
        return;
    klen = (uint32_t)key_len;
    bhash = fl_cache_hash(FL_CACHE_HASH_INIT, body, len);
    memcpy(head, MAGIC, 8);
    memcpy(head + 8, &version, 8);
    memcpy(head + 16, &klen, 4);
    memset(head + 20, 0, 4);
    memcpy(head + 24, &blen, 8);
    memcpy(head + 32, &bhash, 8);
    entry_path(c, key, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s/.%ld.%u.tmp", c->dir, (long)getpid(), c->seq++);
    f = fopen(tmp, "wbx");
    if (f == NULL)
        return;
    ok = fwrite(head, 1, sizeof head, f) == sizeof head && fwrite(key, 1, key_len, f) == key_len &&
         fwrite(body, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return;
    }
    evict(c);
}
