/*
 * base.h: the bottom layer every other module uses: allocation, error
 * messages, growable byte buffers, bounds-checked readers and varints.
 *
 * Conventions:
 *  - esi_err carries a status and a message; esi_err_set() fills it and
 *    returns the status so that `return esi_err_set(e, ES_EIO, ...)` reads well.
 *  - esi_buf writers use SQLite FTS5's sticky rc: each takes `es_status *rc`
 *    and does nothing once *rc is an error, so a long run of appends needs
 *    one check at the end.
 *  - esi_rd is a (p, end) cursor; every read checks the bounds and returns
 *    false on overrun instead of reading past the end. Data from disk or from
 *    the caller is never checked with assert().
 */
#ifndef ES_BASE_H
#define ES_BASE_H

#include "edusearch.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- allocation ---------------------------------------------------------
 * One allocator family. Under ES_TESTING the Nth allocation can be made to
 * fail (see esi_alloc_fail_at) so that tests can prove every ENOMEM path. */
void *esi_malloc(size_t n);
void *esi_calloc(size_t count, size_t size);
void *esi_realloc(void *p, size_t n);
void esi_free(void *p);
char *esi_strndup(const char *s, size_t n);
/* Overflow-checked count*size; returns false on overflow. */
static inline bool esi_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
/* Grow the array *arr of *cap elements of size sz so that it holds at least
 * need, doubling the capacity (from 16). True when it does; false on ENOMEM
 * or overflow, with *arr and *cap unchanged. esi_grow_to is the slow path. */
bool esi_grow_to(void **arr, size_t *cap, size_t need, size_t sz);
static inline bool esi_grow(void **arr, size_t *cap, size_t need, size_t sz)
{
    return need <= *cap || esi_grow_to(arr, cap, need, sz);
}

/* The index of the first of the n ascending values p[0..n) that is >= x,
 * n if none: halving steps that compile to conditional moves, not
 * branches. Where a search lands depends on the data, so a scan's exit
 * or a branching search's steps are mispredicted often, and across a
 * sweep of different queries such misses are the largest share of a
 * median search's time (docs/PERFORMANCE.md, stop 24). Each step's load
 * waits for the last: for arrays in L1 (a postings block, a doc's
 * positions), not for large ones, where a branching search runs ahead. */
static inline uint32_t esi_first_at_least(const uint32_t *p, uint32_t n, uint64_t x)
{
    if (n == 0)
        return 0;
    const uint32_t *b = p;
    for (uint32_t len = n; len > 1;) {
        uint32_t half = len / 2;
        b = b[half] < x ? b + half : b;
        len -= half;
    }
    return (uint32_t)(b - p) + (*b < x);
}

#ifdef ES_TESTING
/* Make the allocation numbered `n` (counting from 1 after this call) and all
 * later ones fail; 0 disables. Returns how many allocations ran since the
 * last call. Test-only; the counter is atomic, so threads may allocate
 * meanwhile (set the failure point from one thread). */
size_t esi_alloc_fail_at(size_t n);
#endif

/* ---- errors ------------------------------------------------------------- */
typedef struct esi_err {
    es_status code;
    char msg[512];
} esi_err;

/* Set e (may be NULL) to code and a printf-style message; returns code. */
es_status esi_err_set(esi_err *e, es_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clear e to ES_OK with an empty message. */
void esi_err_clear(esi_err *e);
/* Copy an internal error into the public es_error (which may be NULL). */
void esi_err_export(const esi_err *e, es_error *out);

/* ---- arenas -------------------------------------------------------------
 * Many small allocations released together: carved from chunks taken with
 * esi_malloc (so ES_TESTING can fail them), 16-byte aligned. A search builds
 * dozens of matchers and cursor arrays per segment and drops them all at
 * once; from an arena that costs a pointer bump each instead of a malloc
 * and a free. */
typedef struct esi_arena_chunk esi_arena_chunk;
typedef struct esi_arena {
    esi_arena_chunk *head;     /* the chunk being carved, newest first */
    size_t used;               /* bytes of head already given out */
} esi_arena;

/* n bytes (zeroed when zero is true), valid until the next reset or free;
 * NULL when out of memory or n would overflow. */
void *esi_arena_alloc(esi_arena *a, size_t n, bool zero);
/* count * size zeroed bytes; NULL on overflow or out of memory. */
void *esi_arena_calloc(esi_arena *a, size_t count, size_t size);
/* Give everything back but keep the newest (largest) chunk for reuse. */
void esi_arena_reset(esi_arena *a);
/* Release every chunk; the arena is then empty and reusable. */
void esi_arena_free(esi_arena *a);
/* Empty a, to be kept for a later owner: it is left with one chunk as
 * large as all the chunks it had (one allocation when it had several;
 * should that fail, its newest chunk), so that the same blocks again take
 * no new chunk; or with none if they held more than max bytes. */
void esi_arena_trim(esi_arena *a, size_t max);

/* ---- buffers ------------------------------------------------------------ */
typedef struct esi_buf {
    uint8_t *data;   /* NULL until the first append */
    size_t len;      /* bytes used */
    size_t cap;      /* bytes allocated */
} esi_buf;

/* Make room for `extra` more bytes. */
void esi_buf_reserve(es_status *rc, esi_buf *b, size_t extra);
void esi_buf_put(es_status *rc, esi_buf *b, const void *p, size_t n);
void esi_buf_put_u8(es_status *rc, esi_buf *b, uint8_t v);
void esi_buf_put_u16(es_status *rc, esi_buf *b, uint16_t v);  /* little-endian */
void esi_buf_put_u32(es_status *rc, esi_buf *b, uint32_t v);
void esi_buf_put_u64(es_status *rc, esi_buf *b, uint64_t v);
/* LEB128-style varint: 7 bits per byte, high bit = more. */
void esi_buf_put_varint(es_status *rc, esi_buf *b, uint64_t v);
/* A varint length followed by the bytes. */
void esi_buf_put_bytes(es_status *rc, esi_buf *b, const void *p, size_t n);
/* Keep a NUL after the data without counting it in len. */
void esi_buf_terminate(es_status *rc, esi_buf *b);
void esi_buf_reset(esi_buf *b);   /* len = 0, keeps memory */
void esi_buf_free(esi_buf *b);    /* releases memory, leaves an empty buffer */
/* Write little-endian integers at a fixed place (for back-patching). */
void esi_le32_write(uint8_t *p, uint32_t v);
void esi_le64_write(uint8_t *p, uint64_t v);
uint16_t esi_le16_read(const uint8_t *p);
uint32_t esi_le32_read(const uint8_t *p);
uint64_t esi_le64_read(const uint8_t *p);
/* Bytes a varint of v takes. */
size_t esi_varint_len(uint64_t v);

/* ---- readers ------------------------------------------------------------ */
typedef struct esi_rd {
    const uint8_t *p;    /* next byte */
    const uint8_t *end;  /* one past the last readable byte */
} esi_rd;

static inline esi_rd esi_rd_make(const void *p, size_t n)
{
    esi_rd r = { (const uint8_t *)p, (const uint8_t *)p + n };
    return r;
}
static inline size_t esi_rd_left(const esi_rd *r) { return (size_t)(r->end - r->p); }
bool esi_rd_u8(esi_rd *r, uint8_t *out);
bool esi_rd_u16(esi_rd *r, uint16_t *out);
bool esi_rd_u32(esi_rd *r, uint32_t *out);
bool esi_rd_u64(esi_rd *r, uint64_t *out);
/* Fails on overrun and on varints longer than 10 bytes. One-byte varints
 * (most of them) are read inline; longer ones by esi_rd_varint_long. */
bool esi_rd_varint_long(esi_rd *r, uint64_t *out);
static inline bool esi_rd_varint(esi_rd *r, uint64_t *out)
{
    if (r->p < r->end && *r->p < 0x80) {
        *out = *r->p++;
        return true;
    }
    return esi_rd_varint_long(r, out);
}
/* A varint that must fit in 32 bits. */
bool esi_rd_varint32(esi_rd *r, uint32_t *out);
/* Borrow n bytes. */
bool esi_rd_take(esi_rd *r, size_t n, const uint8_t **out);
/* A varint length followed by that many bytes (borrowed). */
bool esi_rd_bytes(esi_rd *r, const uint8_t **out, size_t *n);

/* ---- UTF-8 -------------------------------------------------------------- */
/* Decode one code point at s[*i] (i < n), advancing *i. Invalid sequences
 * yield U+FFFD and advance over one maximal invalid subsequence (Unicode's
 * "substitution of maximal subparts"). Never reads at or past s[n]. */
uint32_t esi_utf8_next(const uint8_t *s, size_t n, size_t *i);
/* Encode cp into out (4 bytes room); returns the byte count. */
size_t esi_utf8_put(uint8_t *out, uint32_t cp);
/* True if s[0..n) is valid UTF-8. */
bool esi_utf8_valid(const uint8_t *s, size_t n);

/* ---- dates -------------------------------------------------------------- */
/* Parse an ISO date "YYYY", "YYYY-MM" or "YYYY-MM-DD" into yyyymmdd with 00
 * for missing parts (2024 -> 20240000). False if s is not such a date. */
bool esi_date_parse(const char *s, size_t len, uint32_t *out);

#endif /* ES_BASE_H */
