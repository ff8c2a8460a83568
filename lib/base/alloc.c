/*
 * alloc.c: the library's one allocator family. Everything allocates here so
 * that tests built with ES_TESTING can make any chosen allocation fail and
 * prove that every out-of-memory path returns ES_ENOMEM without leaking.
 */
#include "base.h"

#include <stdlib.h>

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
