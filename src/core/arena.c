/*
 * core/arena.c — region allocator: one per query, one per HTTP request.
 *
 * Memory comes from a chain of blocks that doubles in size; everything is
 * released by one fl_arena_free (or kept for reuse by fl_arena_reset). A
 * hard maximum bounds what one request can take, so a runaway query fails
 * cleanly with NULL instead of taking the machine down.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_FIRST_BLOCK (64 * 1024)

typedef struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    /* data follows, aligned */
} arena_block;

struct fl_arena {
    arena_block *head; /* current block; older ones follow */
    size_t max;        /* maximum bytes taken from malloc */
    size_t taken;      /* bytes taken from malloc so far */
    size_t used;       /* bytes handed out */
};

#define BLOCK_HDR ((sizeof(arena_block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static unsigned char *block_data(arena_block *b) { return (unsigned char *)b + BLOCK_HDR; }

fl_arena *fl_arena_new(size_t max_bytes)
{
    fl_arena *a = calloc(1, sizeof *a);

    if (a == NULL)
        return NULL;
    a->max = max_bytes ? max_bytes : (size_t)1 << 30;
    return a;
}

void fl_arena_free(fl_arena *a)
{
    if (a == NULL)
        return;
    for (arena_block *b = a->head, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void fl_arena_reset(fl_arena *a)
{
    arena_block *keep;

    if (a == NULL || a->head == NULL)
        return;
    /* keep the oldest block (the last in the chain), free the rest */
    keep = a->head;
    while (keep->next != NULL) {
        arena_block *b = keep;
        keep = keep->next;
        a->taken -= BLOCK_HDR + b->size;
        free(b);
    }
    keep->used = 0;
    a->head = keep;
    a->used = 0;
}

static arena_block *arena_grow(fl_arena *a, size_t need)
{
    size_t size = a->head ? a->head->size * 2 : ARENA_FIRST_BLOCK;
    arena_block *b;

    if (size < need)
        size = need;
    if (size > a->max - a->taken || BLOCK_HDR > a->max - a->taken - size) {
        /* try the smallest block that fits before giving up */
        size = need;
        if (size > a->max - a->taken || BLOCK_HDR > a->max - a->taken - size)
            return NULL;
    }
    b = malloc(BLOCK_HDR + size);
    if (b == NULL)
        return NULL;
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    a->taken += BLOCK_HDR + size;
    return b;
}

void *fl_arena_alloc(fl_arena *a, size_t n)
{
    arena_block *b;
    void *p;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    b = a->head;
    if (b == NULL || b->size - b->used < n) {
        b = arena_grow(a, n);
        if (b == NULL)
            return NULL;
    }
    p = block_data(b) + b->used;
    b->used += n;
    a->used += n;
    return p;
}

void *fl_arena_calloc(fl_arena *a, size_t count, size_t size)
{
    void *p;

    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    p = fl_arena_alloc(a, count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

char *fl_arena_strndup(fl_arena *a, const char *s, size_t len)
{
    char *p = fl_arena_alloc(a, len + 1);

    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t fl_arena_used(const fl_arena *a) { return a->used; }
