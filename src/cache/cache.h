/*
 * cache/cache.h — answers already computed, kept on disk and reused while
 * the data they were computed from is unchanged.
 *
 * An entry is (key, version, body): the key is the canonical text of a
 * question (everything that shapes the answer, down to the output format),
 * the version a fingerprint of the data it read (for the store: the
 * segments of its window, see cli_store_data_version). A lookup hits only
 * when both are equal, so new flows, expiry or a rewritten file make the
 * old answer unreachable without anyone invalidating it.
 *
 * Entries are files DIR/<hash of key>.res written whole (temporary file,
 * rename), so readers in other processes never see half an entry. The
 * directory is bounded: after each put the least recently used entries go
 * until the total is under max_bytes. Every failure (read-only store,
 * full disk, a corrupt entry) only means a miss: a cache never makes a
 * question fail.
 */
#ifndef FL_CACHE_H
#define FL_CACHE_H

#include "core/core.h"

typedef struct fl_cache fl_cache;

/* Entries larger than max_bytes / 8 are not kept. */
#define FL_CACHE_DEFAULT_BYTES ((uint64_t)64 << 20)

/*
 * Use DIR (created when missing, mode 0700) as a cache of at most
 * max_bytes (0 = FL_CACHE_DEFAULT_BYTES). FL_EIO with the path when the
 * directory cannot be created or is not a directory.
 */
fl_rc fl_cache_open(const char *dir, uint64_t max_bytes, fl_cache **out, fl_err *e);
void fl_cache_close(fl_cache *c); /* accepts NULL */

/*
 * The body stored for (key, version): 1 with *body (malloc'd, NUL after
 * the last byte, caller frees) and *len; 0 on a miss of any kind.
 */
int fl_cache_get(fl_cache *c, const char *key, uint64_t version, char **body, size_t *len);

/* Store body for (key, version), replacing an older entry for key. Quiet
 * on failure (the next get misses). */
void fl_cache_put(fl_cache *c, const char *key, uint64_t version, const void *body, size_t len);

/* 64-bit FNV-1a of p[0..n), chained from h (start with FL_CACHE_HASH_INIT):
 * what versions and file names are built from. */
#define FL_CACHE_HASH_INIT 14695981039346656037ull
uint64_t fl_cache_hash(uint64_t h, const void *p, size_t n);

#endif
