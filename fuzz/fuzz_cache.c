/*
 * fuzz/fuzz_cache.c — the answer cache's entry reader (src/cache) on
 * arbitrary file contents. Each input becomes the entry file of key "k";
 * invariants: no crash, no read past the file, and a hit returns exactly
 * the file's last len bytes (the body) for the version asked.
 */
#include "cache/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fl_cache *cache;
static char dir[128], path[256];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

static void setup(void)
{
    fl_err e;
    uint64_t h = fl_cache_hash(FL_CACHE_HASH_INIT, "k", 1);

    snprintf(dir, sizeof dir, "/tmp/fuzz_cache.%ld", (long)getpid());
    if (fl_cache_open(dir, 1 << 20, &cache, &e) != FL_OK)
        abort();
    snprintf(path, sizeof path, "%s/%016llx.res", dir, (unsigned long long)h);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f;
    char *body = NULL;
    size_t len = 0;
    uint64_t version = 0;

    if (cache == NULL)
        setup();
    f = fopen(path, "wb");
    if (f == NULL)
        abort();
    if (size > 0 && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    if (size >= 16)
        memcpy(&version, data + 8, 8);
    if (fl_cache_get(cache, "k", version, &body, &len)) {
        if (len > size || memcmp(body, data + size - len, len) != 0 || body[len] != '\0')
            abort();
        free(body);
    }
    return 0;
}
