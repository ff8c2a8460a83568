/*
 * alloc.c: the library's one allocator family. Everything allocates here so
 * that tests built with ES_TESTING can make any chosen allocation fail and
 * prove that every out-of-memory path returns ES_ENOMEM without leaking.
 * Arenas (esi_arena_*) carve many small allocations out of chunks taken here.
 */
#include "base.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#ifdef ES_TESTING
static _Atomic size_t alloc_count;   /* allocations since the last esi_alloc_fail_at;
                                        atomic: tests allocate from threads */
static _Atomic size_t alloc_fail_n;  /* fail from this allocation on; 0 = never */

size_t esi_alloc_fail_at(size_t n)
{
    size_t ran = alloc_count;
    alloc_count = 0;
    alloc_fail_n = n;
    return ran;
}

/* True when this allocation is one the test asked to fail. */
static bool should_fail(void)
{
    alloc_count++;
    return alloc_fail_n != 0 && alloc_count >= alloc_fail_n;
}
#else
static inline bool should_fail(void) { return false; }
#endif

void *esi_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *esi_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    if (count == 0 || size == 0)
        count = size = 1;
    return calloc(count, size);
}

void *esi_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void esi_free(void *p)
{
    free(p);
}

bool esi_grow_to(void **arr, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    size_t bytes;
    if (!esi_mul_ok(nc, sz, &bytes))
        return false;
    void *p = esi_realloc(*arr, bytes);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

char *esi_strndup(const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *d = esi_malloc(n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ---- arenas ------------------------------------------------------------- */

/* A chunk's header; its bytes follow, aligned like max_align_t. */
struct esi_arena_chunk {
    esi_arena_chunk *next;     /* the older chunk */
    size_t cap;                /* bytes after the header */
    alignas(max_align_t) unsigned char bytes[];
};

/* The first chunk's bytes: a search's matchers and cursor arrays of a
 * few-word query fit (a cursor is about 2 KB). */
#define ARENA_FIRST ((size_t)64 * 1024)

void *esi_arena_alloc(esi_arena *a, size_t n, bool zero)
{
    const size_t align = alignof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + align - 1) & ~(align - 1);
    if (!a->head || a->head->cap - a->used < n) {
        /* a new chunk at least twice the last and big enough for n */
        size_t cap = a->head ? a->head->cap * 2 : ARENA_FIRST;
        while (cap < n)
            cap *= 2;
        esi_arena_chunk *c = esi_malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->cap = cap;
        a->head = c;
        a->used = 0;
    }
    void *p = a->head->bytes + a->used;
    a->used += n;
    if (zero)
        memset(p, 0, n);
    return p;
}

void *esi_arena_calloc(esi_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return esi_arena_alloc(a, count * size, true);
}

void esi_arena_reset(esi_arena *a)
{
    if (!a->head)
        return;
    esi_arena_chunk *c = a->head->next;
    while (c) {
        esi_arena_chunk *next = c->next;
        esi_free(c);
        c = next;
    }
    a->head->next = NULL;
    a->used = 0;
}

void esi_arena_free(esi_arena *a)
{
    esi_arena_reset(a);
    esi_free(a->head);
    a->head = NULL;
    a->used = 0;
}

void esi_arena_trim(esi_arena *a, size_t max)
{
    size_t cap = 0;
    for (esi_arena_chunk *c = a->head; c; c = c->next)
        cap += c->cap;
    if (cap > max) {
        esi_arena_free(a);
        return;
    }
    if (a->head && a->head->next) {
        /* several chunks: one as large as all of them, so that the same
         * blocks again take no new chunk (if that fails, the newest stays) */
        esi_arena_chunk *one = esi_malloc(sizeof *one + cap);
        if (one) {
            one->next = a->head;
            one->cap = cap;
            a->head = one;
        }
    }
    esi_arena_reset(a);
}
