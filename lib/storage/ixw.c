/*
 * ixw.c: the index writer. It owns the directory lock, the RAM buffer of
 * documents not yet in a segment, the list of segments of the next commit
 * (committed ones plus segments flushed since) with their deletion bitsets,
 * and the commit protocol (docs/FORMAT.md §7):
 *
 *   1. flush the RAM buffer to new segment files (written and fsynced);
 *   2. run the merge policy (merged segments are new files too);
 *   3. write seg_<n>_<gen>.del for every segment whose deletions changed;
 *   4. write MANIFEST-<gen> atomically (tmp, fsync, rename, fsync dir);
 *   5. remove every file the new manifest does not reference, except the
 *      previous manifest (readers mmap their files, and unlinking a mapped
 *      file is safe on POSIX systems).
 *
 * Until step 4 completes nothing a reader looks at has changed, so a failed
 * or killed commit leaves the previous generation as the newest one.
 *
 * The RAM buffer: a hash of term -> growing posting list (varint docno
 * delta, freq, position deltas; no positions for a term added with
 * ESI_POS_NONE), the encoded stored records, and a hash of
 * ids -> buffered docno. Everything allocated for it (by capacity: postings,
 * records, terms, hash tables, arrays) is compared with ram_buffer_bytes
 * after each add; passing it flushes an uncommitted segment.
 *
 * An allocation failure in the middle of esi_ixw_add leaves the buffer
 * half-updated, so the writer then refuses further work (ES_ENOMEM says to
 * discard it); committed data on disk is never affected.
 */
#include "storage_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define MERGE_FACTOR 10   /* segments of one size tier that trigger a merge */

typedef struct wseg {
    esi_segment *seg;
    uint8_t *del;          /* deletion bitset (owned) or NULL */
    uint32_t ndel;
    uint64_t del_gen;      /* generation of its .del file on disk, 0 none */
    bool dirty;            /* deletions changed since the last commit */
} wseg;

typedef struct bterm {
    uint32_t off;          /* bytes in the term arena */
    uint16_t len;          /* <= ESI_MAX_TERM */
    bool nopos;            /* buffered without positions (ESI_POS_NONE) */
    uint32_t last;         /* last docno + 1 that has a posting, 0 none */
    uint32_t hash;
    esi_buf post;          /* buffered postings */
} bterm;

typedef struct bdoc {
    size_t off, len;       /* record in the records buffer */
    uint32_t doclen, date;
} bdoc;

struct esi_ixw {
    char *dir;
    int lock_fd;
    esi_ixw_opts o;
    uint64_t gen;           /* last committed generation */
    uint64_t next_seg_id;
    wseg *segs;
    size_t nsegs, segs_cap;
    es_status broken;       /* sticky failure of a half-done add */
    /* RAM buffer */
    esi_buf arena;          /* term bytes */
    bterm *terms;
    size_t nterms, terms_cap;
    uint32_t *thash;        /* term index + 1, open addressing */
    size_t thash_cap;
    esi_buf recs;
    bdoc *docs;
    size_t ndocs, docs_cap;
    uint32_t *idhash;       /* buffered docno + 1 */
    size_t idhash_cap;
    esi_buf bdel;           /* deleted buffered docs */
    size_t mem;             /* bytes allocated for buffered postings */
    uint32_t *scratch;      /* per add: buffer term of each grouped term */
    size_t scratch_cap;
    esi_grp *grp;           /* esi_ixw_add's grouping of its occurrences */
    bool threads;           /* esi_ixw_set_threads */
    uint32_t *posbuf;       /* positions while flushing */
    size_t posbuf_cap;
};

/* FNV-1a hash of n bytes. */
static uint32_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

/* True if the n bytes at a and b are equal. Term keys are mostly 3 to 6
 * bytes, for which a call to memcmp costs more than the comparison. */
static inline bool key_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n > 16)
        return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}


/* ---- buffered ids ------------------------------------------------------- */

/* The id of buffered doc d (borrowed from its record). */
static void bdoc_id(const esi_ixw *w, size_t d, const uint8_t **id, size_t *n)
{
    esi_rd r = esi_rd_make(w->recs.data + w->docs[d].off, w->docs[d].len);
    esi_rd_bytes(&r, id, n);   /* our own encoding: cannot fail */
}

/* Slot of id in idhash: holding it, or the empty slot where it would go. */
static size_t id_slot(const esi_ixw *w, const char *id, size_t n)
{
    size_t mask = w->idhash_cap - 1, i = hash_bytes(id, n) & mask;
    while (w->idhash[i]) {
        const uint8_t *p;
        size_t len;
        bdoc_id(w, w->idhash[i] - 1, &p, &len);
        if (len == n && (n == 0 || memcmp(p, id, n) == 0))
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

/* Make room for one more id (rehash at 50% load); false on ENOMEM. */
static bool id_reserve(esi_ixw *w)
{
    if ((w->ndocs + 1) * 2 <= w->idhash_cap)
        return true;
    size_t nc = w->idhash_cap ? w->idhash_cap * 2 : 64;
    uint32_t *old = w->idhash;
    size_t oc = w->idhash_cap;
    w->idhash = esi_calloc(nc, sizeof *w->idhash);
    if (!w->idhash) {
        w->idhash = old;
        return false;
    }
    w->idhash_cap = nc;
    for (size_t i = 0; i < oc; i++) {
        if (!old[i])
            continue;
        const uint8_t *p;
        size_t len;
        bdoc_id(w, old[i] - 1, &p, &len);
        w->idhash[id_slot(w, (const char *)p, len)] = old[i];
    }
    esi_free(old);
    return true;
}

/* ---- buffered terms ----------------------------------------------------- */

static size_t term_slot(const esi_ixw *w, const uint8_t *t, size_t n, uint32_t h)
{
    size_t mask = w->thash_cap - 1, i = h & mask;
    while (w->thash[i]) {
        const bterm *bt = &w->terms[w->thash[i] - 1];
        if (bt->hash == h && bt->len == n &&
            key_eq(w->arena.data + bt->off, t, n))
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

/* Index of term t (h = hash_bytes(t, n)) in the buffer, inserting it; -1
 * on ENOMEM/ELIMIT. */
static int64_t term_get(esi_ixw *w, const uint8_t *t, size_t n, uint32_t h)
{
    if ((w->nterms + 1) * 2 > w->thash_cap) {
        size_t nc = w->thash_cap ? w->thash_cap * 2 : 1024;
        uint32_t *nh = esi_calloc(nc, sizeof *nh);
        if (!nh)
            return -1;
        esi_free(w->thash);
        w->thash = nh;
        w->thash_cap = nc;
        for (size_t i = 0; i < w->nterms; i++) {
            const bterm *bt = &w->terms[i];
            const uint8_t *p = w->arena.data + bt->off;
            w->thash[term_slot(w, p, bt->len, bt->hash)] = (uint32_t)i + 1;
        }
    }
    size_t s = term_slot(w, t, n, h);
    if (w->thash[s])
        return w->thash[s] - 1;
    if (w->nterms >= UINT32_MAX - 1 || w->arena.len > UINT32_MAX - n ||
        !esi_grow((void **)&w->terms, &w->terms_cap, w->nterms + 1, sizeof *w->terms))
        return -1;
    es_status rc = ES_OK;
    size_t off = w->arena.len;
    esi_buf_put(&rc, &w->arena, t, n);
    if (rc != ES_OK)
        return -1;
    bterm *bt = &w->terms[w->nterms];
    memset(bt, 0, sizeof *bt);
    bt->off = (uint32_t)off;
    bt->len = (uint16_t)n;
    bt->hash = h;
    w->thash[s] = (uint32_t)++w->nterms;
    return (int64_t)w->nterms - 1;
}

/* Free the RAM buffer's contents, keeping nothing. */
static void buffer_clear(esi_ixw *w)
{
    for (size_t i = 0; i < w->nterms; i++)
        esi_buf_free(&w->terms[i].post);
    esi_free(w->terms);
    esi_free(w->thash);
    esi_free(w->docs);
    esi_free(w->idhash);
    w->terms = NULL;
    w->thash = NULL;
    w->docs = NULL;
    w->idhash = NULL;
    w->nterms = w->terms_cap = w->thash_cap = 0;
    w->ndocs = w->docs_cap = w->idhash_cap = 0;
    esi_buf_free(&w->arena);
    esi_buf_free(&w->recs);
    esi_buf_free(&w->bdel);
    w->mem = 0;
}

/* ---- grouped documents (esi_grp) ---------------------------------------- */

#define GRP_PAGE ((size_t)64 << 10)  /* bump pages for short position lists */
#define GRP_SMALL 256                /* lists up to this size live in pages */
#define GRP_KEEP ((size_t)512 << 10) /* memory esi_grp_reset may keep */

/* One distinct key of the document being grouped. */
typedef struct gterm {
    uint32_t hash;
    uint32_t key_off;      /* in keys */
    uint32_t len;
    uint32_t freq;
    uint32_t last;         /* last position counted */
    bool nopos;            /* counted with ESI_POS_NONE */
    uint8_t *pos;          /* position deltas: in a page while pos_cap <=
                              GRP_SMALL, else an allocation of its own */
    size_t pos_len, pos_cap;
} gterm;

struct esi_grp {
    esi_buf keys;          /* key bytes */
    gterm *terms;          /* in order of first occurrence */
    size_t n, cap;
    uint32_t *hash;        /* term index + 1, open addressing */
    size_t hcap;
    uint8_t **pages;       /* GRP_PAGE bytes each */
    size_t npages, pages_cap;
    size_t cur, used;      /* page being filled and bytes used in it */
    size_t own;            /* bytes of lists with their own allocation */
};

es_status esi_grp_new(esi_grp **out, esi_err *e)
{
    *out = esi_calloc(1, sizeof **out);
    return *out ? ES_OK : esi_err_set(e, ES_ENOMEM, "out of memory");
}

/* Free the position lists that have their own allocation. */
static void grp_free_own(esi_grp *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->terms[i].pos_cap > GRP_SMALL)
            esi_free(g->terms[i].pos);
    g->own = 0;
}

void esi_grp_free(esi_grp *g)
{
    if (!g)
        return;
    grp_free_own(g);
    for (size_t i = 0; i < g->npages; i++)
        esi_free(g->pages[i]);
    esi_free(g->pages);
    esi_free(g->terms);
    esi_free(g->hash);
    esi_buf_free(&g->keys);
    esi_free(g);
}

void esi_grp_reset(esi_grp *g)
{
    grp_free_own(g);
    g->n = 0;
    if (g->keys.cap > GRP_KEEP)
        esi_buf_free(&g->keys);
    esi_buf_reset(&g->keys);
    if (g->cap * sizeof *g->terms > GRP_KEEP) {
        esi_free(g->terms);
        g->terms = NULL;
        g->cap = 0;
    }
    if (g->hcap * sizeof *g->hash > GRP_KEEP / 4) {
        esi_free(g->hash);
        g->hash = NULL;
        g->hcap = 0;
    } else if (g->hcap) {
        memset(g->hash, 0, g->hcap * sizeof *g->hash);
    }
    while (g->npages > GRP_KEEP / GRP_PAGE)
        esi_free(g->pages[--g->npages]);
    g->cur = g->used = 0;
}

size_t esi_grp_terms(const esi_grp *g)
{
    return g->n;
}

size_t esi_grp_bytes(const esi_grp *g)
{
    return g->keys.cap + g->cap * sizeof *g->terms + g->hcap * sizeof *g->hash +
           g->npages * GRP_PAGE + g->own;
}

/* n <= GRP_SMALL bytes from the pages; NULL on ENOMEM. */
static uint8_t *grp_bump(esi_grp *g, size_t n)
{
    if (g->used + n > GRP_PAGE) {
        g->cur++;
        g->used = 0;
    }
    if (g->cur == g->npages) {
        if (!esi_grow((void **)&g->pages, &g->pages_cap, g->npages + 1,
                      sizeof *g->pages))
            return NULL;
        g->pages[g->npages] = esi_malloc(GRP_PAGE);
        if (!g->pages[g->npages])
            return NULL;
        g->npages++;
    }
    uint8_t *p = g->pages[g->cur] + g->used;
    g->used += n;
    return p;
}

/* Room for one more varint in t's position list; false on ENOMEM. */
static bool grp_pos_room(esi_grp *g, gterm *t)
{
    if (t->pos_cap - t->pos_len >= 5)
        return true;
    size_t nc = t->pos_cap ? t->pos_cap * 2 : 8;
    uint8_t *p;
    if (nc <= GRP_SMALL) {
        p = grp_bump(g, nc);
        if (p && t->pos_len)
            memcpy(p, t->pos, t->pos_len);
    } else if (t->pos_cap > GRP_SMALL) {
        p = esi_realloc(t->pos, nc);
    } else {
        p = esi_malloc(nc);
        if (p)
            memcpy(p, t->pos, t->pos_len);
    }
    if (!p)
        return false;
    g->own += nc > GRP_SMALL ? nc - (t->pos_cap > GRP_SMALL ? t->pos_cap : 0) : 0;
    t->pos = p;
    t->pos_cap = nc;
    return true;
}

/* Double the hash table (at 50% load); false on ENOMEM. */
static bool grp_rehash(esi_grp *g)
{
    size_t nc = g->hcap ? g->hcap * 2 : 1024;
    uint32_t *h = esi_calloc(nc, sizeof *h);
    if (!h)
        return false;
    for (size_t i = 0; i < g->n; i++) {
        size_t s = g->terms[i].hash & (nc - 1);
        while (h[s])
            s = (s + 1) & (nc - 1);
        h[s] = (uint32_t)i + 1;
    }
    esi_free(g->hash);
    g->hash = h;
    g->hcap = nc;
    return true;
}

es_status esi_grp_add(esi_grp *g, const uint8_t *term, size_t len, uint32_t pos,
                      esi_err *e)
{
    if (len == 0 || len > ESI_MAX_TERM)
        return esi_err_set(e, ES_ELIMIT, "a term of %zu bytes: terms must be "
                           "1..%d bytes", len, ESI_MAX_TERM);
    if ((g->n + 1) * 2 > g->hcap && !grp_rehash(g))
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    uint32_t h = hash_bytes(term, len);
    size_t mask = g->hcap - 1, s = h & mask;
    gterm *t = NULL;
    while (g->hash[s]) {
        gterm *c = &g->terms[g->hash[s] - 1];
        if (c->hash == h && c->len == len &&
            key_eq(g->keys.data + c->key_off, term, len)) {
            t = c;
            break;
        }
        s = (s + 1) & mask;
    }
    bool none = pos == ESI_POS_NONE, fresh = t == NULL;
    if (t && t->nopos != none)
        return esi_err_set(e, ES_EINVAL, "a term has both ESI_POS_NONE and "
                           "real positions; give a term positions always or "
                           "never");
    if (t && !none && pos < t->last)
        return esi_err_set(e, ES_EINVAL, "positions of a term must be "
                           "non-decreasing");
    if (t && t->freq == UINT32_MAX)
        return esi_err_set(e, ES_ELIMIT, "a term occurs more than %" PRIu32
                           " times", UINT32_MAX);
    if (fresh) {
        es_status rc = ES_OK;
        if (g->keys.len > UINT32_MAX - len ||
            !esi_grow((void **)&g->terms, &g->cap, g->n + 1, sizeof *g->terms))
            return esi_err_set(e, ES_ENOMEM, "out of memory");
        esi_buf_put(&rc, &g->keys, term, len);
        if (rc != ES_OK)
            return esi_err_set(e, rc, "out of memory");
        t = &g->terms[g->n];
        *t = (gterm){ h, (uint32_t)(g->keys.len - len), (uint32_t)len, 0, 0,
                      none, NULL, 0, 0 };
    }
    if (!none) {
        if (!grp_pos_room(g, t)) {
            if (fresh)
                g->keys.len -= len;
            return esi_err_set(e, ES_ENOMEM, "out of memory");
        }
        uint32_t v = pos - (t->freq ? t->last : 0);
        uint8_t *p = t->pos + t->pos_len;
        while (v >= 0x80) {
            *p++ = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        *p++ = (uint8_t)v;
        t->pos_len = (size_t)(p - t->pos);
        t->last = pos;
    }
    if (fresh)
        g->hash[s] = (uint32_t)++g->n;
    t->freq++;
    return ES_OK;
}
/* ---- segments ----------------------------------------------------------- */

/* Mark docno of segment i deleted (allocating its bitset). */
static es_status seg_delete(esi_ixw *w, size_t i, uint32_t docno, esi_err *e)
{
    wseg *ws = &w->segs[i];
    if (!ws->del) {
        ws->del = esi_calloc(((size_t)ws->seg->ndocs + 7) / 8 + 1, 1);
        if (!ws->del)
            return esi_err_set(e, ES_ENOMEM, "out of memory");
    }
    uint8_t bit = (uint8_t)(1u << (docno & 7));
    if (!(ws->del[docno >> 3] & bit)) {
        ws->del[docno >> 3] |= bit;
        ws->ndel++;
        ws->dirty = true;
    }
    return ES_OK;
}

/* Append a segment to the writer's list. */
static es_status seg_push(esi_ixw *w, esi_segment *s, uint8_t *del,
                          uint32_t ndel, uint64_t del_gen, esi_err *e)
{
    if (!esi_grow((void **)&w->segs, &w->segs_cap, w->nsegs + 1, sizeof *w->segs))
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    wseg *ws = &w->segs[w->nsegs++];
    ws->seg = s;
    ws->del = del;
    ws->ndel = ndel;
    ws->del_gen = del_gen;
    ws->dirty = false;
    return ES_OK;
}

/* Read a varint of the buffer's own postings (written by put_v and
 * esi_grp_add: at most 32 bits, never truncated), advancing *p. */
static inline uint32_t get_v(const uint8_t **p)
{
    const uint8_t *q = *p;
    uint32_t v = *q & 0x7f;
    for (int sh = 7; *q++ & 0x80; sh += 7)
        v |= (uint32_t)(*q & 0x7f) << sh;
    *p = q;
    return v;
}

/* Order of buffered terms for flushing: bytewise. */
static int cmp_term_ix(const void *a, const void *b, void *p)
{
    const esi_ixw *w = p;
    const bterm *x = &w->terms[*(const uint32_t *)a];
    const bterm *y = &w->terms[*(const uint32_t *)b];
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(w->arena.data + x->off, w->arena.data + y->off, m);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* The stored records of a flush, written by store_main. */
typedef struct store_job {
    const esi_ixw *w;
    esi_segw *sw;
    es_status rc;
    esi_err err;           /* the .store sink's I/O error while threaded */
    pthread_t th;
} store_job;

/* Feed the buffered records to the segment's store writer (which
 * compresses them: with threads, alongside the postings). */
static void *store_main(void *p)
{
    store_job *sj = p;
    const esi_ixw *w = sj->w;
    for (size_t d = 0; d < w->ndocs; d++)
        esi_storew_add(&sj->rc, &sj->sw->store, w->recs.data + w->docs[d].off,
                       w->docs[d].len, w->docs[d].doclen, w->docs[d].date);
    return NULL;
}

/* Write the RAM buffer as a new segment (uncommitted) and clear it. With
 * the threads option the .store file is written by a second thread while
 * this one writes postings and dictionary (different files; the same
 * bytes). */
static es_status flush(esi_ixw *w, esi_err *e)
{
    if (w->ndocs == 0)
        return ES_OK;
    esi_segw sw;
    uint32_t *order = esi_malloc((w->nterms ? w->nterms : 1) * sizeof *order);
    esi_segment *seg = NULL;
    uint8_t *del = NULL;
    es_status rc = esi_segw_open(&sw, w->dir, w->next_seg_id, e);
    if (rc != ES_OK)
        goto done;
    if (!order) {
        rc = esi_err_set(e, ES_ENOMEM, "out of memory flushing a segment");
        goto done;
    }
    store_job sj = { .w = w, .sw = &sw, .rc = ES_OK };
    bool threaded = false;
    if (w->threads) {   /* the .store file in a thread of its own */
        sw.files[2].err = &sj.err;
        threaded = pthread_create(&sj.th, NULL, store_main, &sj) == 0;
        if (!threaded)
            sw.files[2].err = &sw.ioerr;
    }
    if (!threaded)
        store_main(&sj);
    for (size_t i = 0; i < w->nterms; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, w->nterms, sizeof *order, cmp_term_ix, w);
    for (size_t k = 0; k < w->nterms && rc == ES_OK; k++) {
        const bterm *bt = &w->terms[order[k]];
        if (bt->post.len == 0)
            continue;
        esi_postenc_begin(&sw.pe, ESI_SEGW_POST(&sw), !bt->nopos);
        const uint8_t *r = bt->post.data, *end = r + bt->post.len;
        uint32_t doc = 0;
        while (r < end && rc == ES_OK) {
            doc += get_v(&r);
            uint32_t f = get_v(&r);
            if (bt->nopos) {
                esi_postenc_add(&rc, &sw.pe, doc, NULL, f);
                continue;
            }
            if (!esi_grow((void **)&w->posbuf, &w->posbuf_cap, (size_t)f,
                          sizeof *w->posbuf)) {
                rc = ES_ENOMEM;
                break;
            }
            uint32_t p = 0;
            for (uint32_t j = 0; j < f; j++) {
                p += get_v(&r);
                w->posbuf[j] = p;
            }
            esi_postenc_add(&rc, &sw.pe, doc, w->posbuf, f);
        }
        esi_term_info ti;
        esi_postenc_finish(&rc, &sw.pe, &ti);
        esi_dictw_add(&rc, &sw.dict, w->arena.data + bt->off, bt->len, &ti);
    }
    if (threaded) {
        pthread_join(sj.th, NULL);
        sw.files[2].err = &sw.ioerr;
        if (sj.err.code != ES_OK && sw.ioerr.code == ES_OK)
            sw.ioerr = sj.err;
    }
    if (rc == ES_OK)
        rc = sj.rc;
    uint64_t sizes[3];
    rc = esi_segw_finish(&sw, rc, w->o.sync, sizes, e);
    if (rc == ES_OK)
        rc = esi_segment_open(&seg, w->dir, w->next_seg_id, false, e);
    if (rc != ES_OK)
        goto done;
    uint32_t ndel = 0;
    if (w->bdel.len > 0) {
        for (size_t i = 0; i < w->bdel.len; i++)
            ndel += (uint32_t)__builtin_popcount(w->bdel.data[i]);
        if (ndel) {
            del = esi_calloc(((size_t)seg->ndocs + 7) / 8 + 1, 1);
            if (!del) {
                rc = esi_err_set(e, ES_ENOMEM, "out of memory");
                goto done;
            }
            memcpy(del, w->bdel.data, w->bdel.len);
        }
    }
    rc = seg_push(w, seg, del, ndel, 0, e);
    if (rc != ES_OK)
        goto done;
    w->segs[w->nsegs - 1].dirty = ndel > 0;
    seg = NULL;
    del = NULL;
    w->next_seg_id++;
    buffer_clear(w);
done:
    esi_segment_free(seg);
    esi_free(del);
    esi_free(order);
    esi_segw_free(&sw);
    return rc;
}

/* Merge segs[from..to) into one new segment placed at the end of the list. */
static es_status merge_range(esi_ixw *w, size_t from, size_t to, esi_err *e)
{
    size_t n = to - from;
    esi_segment **ss = esi_calloc(n ? n : 1, sizeof *ss);
    const uint8_t **ds = (const uint8_t **)esi_calloc(n ? n : 1, sizeof *ds);
    esi_segment *merged = NULL;
    es_status rc = ES_OK;
    if (!ss || !ds) {
        rc = esi_err_set(e, ES_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        ss[i] = w->segs[from + i].seg;
        ds[i] = w->segs[from + i].del;
    }
    rc = esi_merge_segments(ss, ds, n, w->dir, w->next_seg_id, w->o.sync,
                            &merged, e);
    if (rc != ES_OK)
        goto done;
    if (merged && !esi_grow((void **)&w->segs, &w->segs_cap, w->nsegs + 1,
                            sizeof *w->segs)) {
        rc = esi_err_set(e, ES_ENOMEM, "out of memory");
        goto done;
    }
    w->next_seg_id++;
    for (size_t i = from; i < to; i++) {
        esi_segment_free(w->segs[i].seg);
        esi_free(w->segs[i].del);
    }
    memmove(&w->segs[from], &w->segs[to], (w->nsegs - to) * sizeof *w->segs);
    w->nsegs -= n;
    if (merged) {
        wseg *ws = &w->segs[w->nsegs++];
        memset(ws, 0, sizeof *ws);
        ws->seg = merged;
        merged = NULL;
    }
done:
    esi_segment_free(merged);
    esi_free(ss);
    esi_free((void *)ds);
    return rc;
}

/* Size tier of a segment: floor(log10(live docs)). */
static int tier(const wseg *ws)
{
    uint64_t live = ws->seg->ndocs - ws->ndel;
    int t = 0;
    while (live >= 10) {
        live /= 10;
        t++;
    }
    return t;
}

/* The merge policy: while MERGE_FACTOR segments share a tier, merge the
 * oldest MERGE_FACTOR of them (contiguous in the list once the earlier
 * merges have moved their results to the end); fully deleted segments are
 * dropped. Deterministic: depends only on the segment list. */
static es_status merge_policy(esi_ixw *w, esi_err *e)
{
    for (size_t i = 0; i < w->nsegs;) {
        if (w->segs[i].ndel == w->segs[i].seg->ndocs) {
            esi_segment_free(w->segs[i].seg);
            esi_free(w->segs[i].del);
            memmove(&w->segs[i], &w->segs[i + 1],
                    (w->nsegs - i - 1) * sizeof *w->segs);
            w->nsegs--;
        } else {
            i++;
        }
    }
    for (;;) {
        bool merged = false;
        for (int t = 0; t < 20 && !merged; t++) {
            size_t cnt = 0, first = 0, i;
            for (i = 0; i < w->nsegs; i++) {
                if (tier(&w->segs[i]) != t)
                    continue;
                if (cnt == 0)
                    first = i;
                cnt++;
            }
            if (cnt < MERGE_FACTOR)
                continue;
            /* bring the members of this tier together, keeping order */
            size_t k = first;
            for (i = first; i < w->nsegs && k - first < MERGE_FACTOR; i++) {
                if (tier(&w->segs[i]) != t)
                    continue;
                wseg tmp = w->segs[i];
                memmove(&w->segs[k + 1], &w->segs[k], (i - k) * sizeof *w->segs);
                w->segs[k++] = tmp;
            }
            es_status rc = merge_range(w, first, first + MERGE_FACTOR, e);
            if (rc != ES_OK)
                return rc;
            merged = true;
        }
        if (!merged)
            return ES_OK;
    }
}

/* ---- opening ------------------------------------------------------------ */

typedef struct names {
    char **v;
    size_t n, cap;
    bool oom;
} names;

static int collect(const char *name, void *p)
{
    names *ns = p;
    if (!esi_grow((void **)&ns->v, &ns->cap, ns->n + 1, sizeof *ns->v)) {
        ns->oom = true;
        return 1;
    }
    ns->v[ns->n] = esi_strndup(name, strlen(name));
    if (!ns->v[ns->n]) {
        ns->oom = true;
        return 1;
    }
    ns->n++;
    return 0;
}

/* True if name is a file of ours that the current state does not need. */
static bool unneeded(const esi_ixw *w, const char *name)
{
    uint64_t id, g;
    int used = 0;
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".tmp") == 0)
        return true;
    if (strncmp(name, "MANIFEST-", 9) == 0) {
        char *end;
        g = strtoull(name + 9, &end, 10);
        return *end == '\0' && name[9] >= '0' && name[9] <= '9' && g + 1 < w->gen;
    }
    if (sscanf(name, "seg_%" SCNu64 "_%" SCNu64 ".del%n", &id, &g, &used) == 2 &&
        used == (int)len) {
        for (size_t i = 0; i < w->nsegs; i++)
            if (w->segs[i].seg->id == id && w->segs[i].del_gen == g)
                return false;
        return true;
    }
    char ext[8];
    if (sscanf(name, "seg_%" SCNu64 ".%5[a-z]%n", &id, ext, &used) == 2 &&
        used == (int)len &&
        (!strcmp(ext, "dict") || !strcmp(ext, "post") || !strcmp(ext, "store"))) {
        for (size_t i = 0; i < w->nsegs; i++)
            if (w->segs[i].seg->id == id)
                return false;
        return true;
    }
    return false;
}

/* Remove files the newest commit does not need (best effort). */
static void cleanup(esi_ixw *w)
{
    names ns = { 0 };
    esi_err e2;
    if (esi_io_list_dir(w->dir, collect, &ns, &e2) == ES_OK && !ns.oom) {
        for (size_t i = 0; i < ns.n; i++) {
            if (!unneeded(w, ns.v[i]))
                continue;
            char *p = esi_path_join(w->dir, ns.v[i]);
            if (p)
                esi_io_unlink(p, &e2);
            esi_free(p);
        }
    }
    for (size_t i = 0; i < ns.n; i++)
        esi_free(ns.v[i]);
    esi_free(ns.v);
}

/* Write the manifest of gen from the writer's segment list. */
static es_status write_manifest(esi_ixw *w, uint64_t gen, esi_err *e)
{
    esi_manifest m = { gen, w->next_seg_id, w->nsegs, NULL, { 0, 0, 0, 0, 0 } };
    es_status rc = ES_OK;
    esi_buf b = { 0 };
    if (w->nsegs) {
        m.segs = esi_calloc(w->nsegs, sizeof *m.segs);
        if (!m.segs)
            return esi_err_set(e, ES_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < w->nsegs; i++) {
        const wseg *ws = &w->segs[i];
        esi_manifest_seg *ms = &m.segs[i];
        ms->id = ws->seg->id;
        ms->ndocs = ws->seg->ndocs;
        ms->ndel = ws->ndel;
        ms->del_gen = ws->ndel == 0 ? 0 : ws->dirty ? gen : ws->del_gen;
        memcpy(ms->sizes, ws->seg->sizes, sizeof ms->sizes);
    }
    rc = esi_manifest_encode(&m, &b);
    char name[64];
    snprintf(name, sizeof name, "MANIFEST-%" PRIu64, gen);
    if (rc != ES_OK)
        rc = esi_err_set(e, rc, "out of memory writing %s", name);
    else
        rc = esi_io_write_atomic(w->dir, name, b.data, b.len, w->o.sync, e);
    esi_buf_free(&b);
    esi_free(m.segs);
    return rc;
}

es_status esi_ixw_open(esi_ixw **out, const char *dir, const esi_ixw_opts *o,
                       esi_err *e)
{
    *out = NULL;
    esi_ixw *w = esi_calloc(1, sizeof *w);
    if (!w)
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    w->lock_fd = -1;
    w->o = *o;
    if (w->o.ram_buffer_bytes == 0)
        w->o.ram_buffer_bytes = (size_t)64 << 20;
    esi_snapshot *snap = NULL;
    esi_manifest m = { 0 };
    es_status rc;
    w->dir = esi_strndup(dir, strlen(dir));
    if (!w->dir) {
        rc = esi_err_set(e, ES_ENOMEM, "out of memory");
        goto done;
    }
    rc = esi_io_is_dir(dir, e);
    if (rc == ES_ENOTFOUND && o->create)
        rc = esi_io_mkdirs(dir, e);
    if (rc != ES_OK)
        goto done;
    rc = esi_io_lock(dir, &w->lock_fd, e);
    if (rc != ES_OK)
        goto done;
    rc = esi_manifest_newest(dir, &w->gen, e);
    if (rc != ES_OK)
        goto done;
    if (w->gen == 0) {
        if (!o->create) {
            rc = esi_err_set(e, ES_ENOTFOUND, "%s: no index here (no MANIFEST "
                             "file); create one first", dir);
            goto done;
        }
        w->next_seg_id = 1;
        rc = write_manifest(w, 1, e);
        if (rc != ES_OK)
            goto done;
        w->gen = 1;
    } else {
        rc = esi_manifest_read(dir, w->gen, &m, e);
        if (rc == ES_OK)
            rc = esi_snapshot_open(&snap, dir, false, e);
        if (rc != ES_OK)
            goto done;
        if (snap->generation != w->gen || snap->nsegs != m.nsegs) {
            rc = esi_err_set(e, ES_ECORRUPT, "%s: the index changed while "
                             "opening it; retry", dir);
            goto done;
        }
        w->next_seg_id = m.next_seg_id;
        for (size_t i = 0; i < snap->nsegs; i++) {
            rc = seg_push(w, snap->segs[i], (uint8_t *)snap->deleted[i],
                          snap->del_count[i], m.segs[i].del_gen, e);
            if (rc != ES_OK)
                goto done;
            snap->segs[i] = NULL;
            snap->deleted[i] = NULL;
        }
    }
    cleanup(w);
done:
    esi_manifest_free(&m);
    esi_snapshot_free(snap);
    if (rc != ES_OK) {
        esi_ixw_free(w);
        return rc;
    }
    *out = w;
    return ES_OK;
}

void esi_ixw_set_threads(esi_ixw *w, bool on)
{
    w->threads = on;
}

void esi_ixw_free(esi_ixw *w)
{
    if (!w)
        return;
    buffer_clear(w);
    for (size_t i = 0; i < w->nsegs; i++) {
        esi_segment_free(w->segs[i].seg);
        esi_free(w->segs[i].del);
    }
    esi_free(w->segs);
    esi_free(w->scratch);
    esi_grp_free(w->grp);
    esi_free(w->posbuf);
    esi_io_unlock(w->lock_fd);
    esi_free(w->dir);
    esi_free(w);
}

/* ---- adding and deleting ------------------------------------------------ */

/* Bytes the RAM buffer holds: everything allocated for it, by capacity. */
static size_t buffer_bytes(const esi_ixw *w)
{
    return w->mem + w->arena.cap + w->terms_cap * sizeof(bterm) +
           w->thash_cap * sizeof(uint32_t) + w->recs.cap +
           w->docs_cap * sizeof(bdoc) + w->idhash_cap * sizeof(uint32_t) +
           w->bdel.cap + w->scratch_cap * sizeof(uint32_t);
}

static es_status check_usable(const esi_ixw *w, esi_err *e)
{
    if (w->broken)
        return esi_err_set(e, w->broken, "this writer failed earlier (%s) and "
                           "holds a half-updated buffer; free it and open a "
                           "new one (committed data is intact)",
                           es_strerror(w->broken));
    return ES_OK;
}

es_status esi_ixw_delete(esi_ixw *w, const char *id, size_t id_len, esi_err *e)
{
    es_status rc = check_usable(w, e);
    if (rc != ES_OK)
        return rc;
    if (w->idhash_cap) {
        size_t s = id_slot(w, id, id_len);
        if (w->idhash[s]) {
            uint32_t d = w->idhash[s] - 1;
            w->bdel.data[d >> 3] |= (uint8_t)(1u << (d & 7));
        }
    }
    for (size_t i = 0; i < w->nsegs; i++) {
        uint32_t d;
        rc = esi_segment_find_id(w->segs[i].seg, id, id_len, &d);
        if (rc == ES_ENOTFOUND)
            continue;
        if (rc == ES_ECORRUPT)
            return esi_err_set(e, rc, "%s.store: damaged id index; run "
                               "'edusearch check'", w->segs[i].seg->name);
        rc = seg_delete(w, i, d, e);
        if (rc != ES_OK)
            return rc;
    }
    return ES_OK;
}

/* Make room for n more bytes in a term's postings, growing them from 16
 * bytes (most terms are rare: esi_buf's 64-byte minimum would dominate the
 * buffer) and counting what is allocated in w->mem; false on ENOMEM. */
static inline bool post_room(esi_ixw *w, bterm *bt, size_t n)
{
    esi_buf *b = &bt->post;
    if (b->cap - b->len >= n)
        return true;
    size_t cap = b->cap ? b->cap * 2 : 16;
    if (cap - b->len < n)   /* a long list at once (a huge document): exact */
        cap = b->len + n;
    uint8_t *p = esi_realloc(b->data, cap);
    if (!p)
        return false;
    w->mem += cap - b->cap;
    b->data = p;
    b->cap = cap;
    return true;
}

/* Append varint v to a term's postings (room for it was made). */
static inline void put_v(bterm *bt, uint64_t v)
{
    esi_buf *b = &bt->post;
    uint8_t *p = b->data + b->len;
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    b->len = (size_t)(p - b->data);
}

/* The id of doc for messages: at most 64 bytes of it. */
#define DOC_ID(doc) (int)((doc)->id_len > 64 ? 64 : (doc)->id_len), (doc)->id

/* The body of esi_ixw_add_grouped once the doc is validated: look each
 * distinct term up in the buffer once, refuse a term whose positions
 * disagree with the buffer's (ES_EINVAL, before anything visible changed),
 * then append each term's posting: docno delta, frequency and g's encoded
 * positions as they are. Any other failure may leave the buffer
 * half-updated. */
static es_status add_doc(esi_ixw *w, const esi_doc_in *doc, const esi_grp *g,
                         esi_err *e)
{
    size_t docno = w->ndocs, nd = g->n;
    if (!esi_grow((void **)&w->scratch, &w->scratch_cap, nd ? nd : 1,
                  sizeof *w->scratch) ||
        !esi_grow((void **)&w->docs, &w->docs_cap, w->ndocs + 1, sizeof *w->docs) ||
        !id_reserve(w))
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    for (size_t k = 0; k < nd; k++) {
        const gterm *gt = &g->terms[k];
        if (k + 8 < nd && w->thash_cap)   /* the buffer's hash is much larger than the caches */
            __builtin_prefetch(&w->thash[g->terms[k + 8].hash & (w->thash_cap - 1)]);
        int64_t t = term_get(w, g->keys.data + gt->key_off, gt->len, gt->hash);
        if (t < 0)
            return esi_err_set(e, ES_ENOMEM, "out of memory");
        const bterm *bt = &w->terms[t];
        if (bt->last && bt->nopos != gt->nopos)
            return esi_err_set(e, ES_EINVAL, "document %.*s: a term has both "
                               "ESI_POS_NONE and real positions (against "
                               "buffered documents); give a term positions "
                               "always or never", DOC_ID(doc));
        w->scratch[k] = (uint32_t)t;
    }
    es_status rc = esi_ixw_delete(w, doc->id, doc->id_len, e);
    if (rc != ES_OK)
        return rc;
    for (size_t k = 0; k < nd; k++) {
        const gterm *gt = &g->terms[k];
        bterm *bt = &w->terms[w->scratch[k]];
        if (!post_room(w, bt, 20 + gt->pos_len))
            return esi_err_set(e, ES_ENOMEM, "out of memory");
        put_v(bt, docno - (bt->last ? bt->last - 1 : 0));
        put_v(bt, gt->freq);
        if (gt->pos_len) {
            memcpy(bt->post.data + bt->post.len, gt->pos, gt->pos_len);
            bt->post.len += gt->pos_len;
        }
        bt->nopos = gt->nopos;
        bt->last = (uint32_t)docno + 1;
    }
    size_t roff = w->recs.len;
    esi_store_encode(&rc, &w->recs, doc->id, doc->id_len, doc->text,
                     doc->text_len, doc->fields, doc->nfields);
    if (rc == ES_OK && (docno >> 3) >= w->bdel.len)
        esi_buf_put_u8(&rc, &w->bdel, 0);
    if (rc != ES_OK)
        return esi_err_set(e, rc, "out of memory");
    bdoc *bd = &w->docs[w->ndocs++];
    bd->off = roff;
    bd->len = w->recs.len - roff;
    bd->doclen = doc->doclen;
    bd->date = doc->date;
    w->idhash[id_slot(w, doc->id, doc->id_len)] = (uint32_t)docno + 1;
    return ES_OK;
}

es_status esi_ixw_add_grouped(esi_ixw *w, const esi_doc_in *doc, esi_grp *g,
                              esi_err *e)
{
    es_status rc = check_usable(w, e);
    if (rc == ES_OK && doc->id_len == 0)
        rc = esi_err_set(e, ES_EINVAL, "a document needs a non-empty id");
    if (rc == ES_OK && w->ndocs >= UINT32_MAX - 1)
        rc = esi_err_set(e, ES_ELIMIT, "too many buffered documents");
    if (rc == ES_OK)
        rc = add_doc(w, doc, g, e);
    esi_grp_reset(g);   /* before a flush: a huge document's lists are copied */
    if (rc == ES_EINVAL)
        return rc;   /* refused before any change */
    if (rc != ES_OK) {
        w->broken = rc;
        return rc;
    }
    if (buffer_bytes(w) >= w->o.ram_buffer_bytes)
        return flush(w, e);
    return ES_OK;
}

es_status esi_ixw_add(esi_ixw *w, const esi_doc_in *doc, esi_err *e)
{
    es_status rc = check_usable(w, e);
    if (rc != ES_OK)
        return rc;
    if (doc->id_len == 0)
        return esi_err_set(e, ES_EINVAL, "a document needs a non-empty id");
    if (!w->grp && esi_grp_new(&w->grp, e) != ES_OK)
        return ES_ENOMEM;
    esi_grp_reset(w->grp);
    for (size_t i = 0; i < doc->nocc; i++) {
        esi_err ge;
        rc = esi_grp_add(w->grp, doc->occs[i].term, doc->occs[i].term_len,
                         doc->occs[i].pos, &ge);
        if (rc != ES_OK)
            return esi_err_set(e, rc, "document %.*s: %s", DOC_ID(doc), ge.msg);
    }
    return esi_ixw_add_grouped(w, doc, w->grp, e);
}

/* ---- committing --------------------------------------------------------- */

/* Write deletion files and the manifest of gen+1; then clean up. */
static es_status publish(esi_ixw *w, esi_err *e)
{
    uint64_t gen = w->gen + 1;
    es_status rc;
    for (size_t i = 0; i < w->nsegs; i++) {
        wseg *ws = &w->segs[i];
        if (!ws->dirty || ws->ndel == 0)
            continue;
        rc = esi_del_write(w->dir, ws->seg->id, gen, ws->del, ws->seg->ndocs,
                           ws->ndel, w->o.sync, e);
        if (rc != ES_OK)
            return rc;
    }
    rc = write_manifest(w, gen, e);
    if (rc != ES_OK)
        return rc;
    w->gen = gen;
    for (size_t i = 0; i < w->nsegs; i++) {
        wseg *ws = &w->segs[i];
        if (ws->dirty)
            ws->del_gen = ws->ndel ? gen : 0;
        ws->dirty = false;
    }
    cleanup(w);
    return ES_OK;
}

es_status esi_ixw_commit(esi_ixw *w, esi_err *e)
{
    es_status rc = check_usable(w, e);
    if (rc == ES_OK)
        rc = flush(w, e);
    if (rc == ES_OK)
        rc = merge_policy(w, e);
    if (rc == ES_OK)
        rc = publish(w, e);
    return rc;
}

es_status esi_ixw_optimize(esi_ixw *w, esi_err *e)
{
    es_status rc = check_usable(w, e);
    if (rc == ES_OK)
        rc = flush(w, e);
    bool need = w->nsegs > 1 || (w->nsegs == 1 && w->segs[0].ndel > 0);
    if (rc == ES_OK && need)
        rc = merge_range(w, 0, w->nsegs, e);
    if (rc == ES_OK)
        rc = publish(w, e);
    return rc;
}
