/*
 * search_api.c: the public "Queries and results" functions of edusearch.h:
 * es_query_parse (syntax, then lowering with an analyzer from a
 * process-wide pool),
 * es_search_options_init, es_search (the executor over the es_index
 * snapshot, then stored fields and snippets of the page's hits) and the
 * es_results accessors. A hit's id, text and fields are borrowed from the
 * cached store block it pins (one lock, no copy), so es_search's results
 * must not outlive the es_index (as edusearch.h says); without a cache,
 * and for es_index_get, they are copies. A search takes its scratch (analyzer, doc
 * reader on the index's shared block cache, snippet buffer, the memory the
 * executor keeps between searches) from the
 * index's mutex-protected free list, or makes new scratch when the list is
 * empty, and returns it afterwards: any
 * number of threads may search one es_index, each with scratch of its own,
 * and a warm index builds no ICU iterator per search. The snippets of a
 * page are built by the caller and the index's idle search workers (each
 * with scratch of its own), taking hits in turn.
 */
#include "api.h"
#include "../base/pool.h"
#include "../search/search.h"

#include <stdatomic.h>
#include <stdlib.h>

/* One hit of a results page. With a block cache, id, text and field
 * strings point into the cached block the hit pins (pin), and mem holds
 * only the field arrays; without one, mem holds copies of everything,
 * laid out by copy_doc. */
typedef struct rhit {
    esi_bc_entry *pin;         /* the block the strings live in, or NULL */
    void *mem;                 /* owns the field arrays (and copies) */
    const char *id;
    size_t id_len;
    const char *text;
    size_t text_len;
    const char **names, **values; /* fields, in name order */
    size_t *value_lens;
    size_t nfields;
    char *snippet;             /* NULL when empty */
    size_t snippet_len;
    es_range *ranges;
    size_t nranges;
    double score;
} rhit;

/* Per-search scratch, pooled in es_index (ix->pool). */
typedef struct scratch {
    esi_analyzer *a;           /* created on first need */
    esi_doc_reader *dr;
    esi_buf sb;                /* snippet text */
    esi_arena mem;             /* the executor's, kept between searches
                                  (esi_search_params.keep) */
} scratch;

/* Most idle scratch an index keeps (more threads than this just allocate). */
#define POOL_MAX 32

static void scratch_free(scratch *s)
{
    if (!s)
        return;
    esi_analyzer_free(s->a);
    esi_doc_reader_free(s->dr);
    esi_buf_free(&s->sb);
    esi_arena_free(&s->mem);
    esi_free(s);
}

/* Take idle scratch from ix's pool, or a new empty one; NULL on ENOMEM. */
static scratch *scratch_get(es_index *ix)
{
    scratch *s = NULL;
    pthread_mutex_lock(&ix->pool_mu);
    if (ix->npool > 0)
        s = ix->pool[--ix->npool];
    pthread_mutex_unlock(&ix->pool_mu);
    return s ? s : esi_calloc(1, sizeof *s);
}

/* Give scratch back to ix's pool (or free it when the pool is full). */
static void scratch_put(es_index *ix, scratch *s)
{
    if (!s)
        return;
    esi_buf_reset(&s->sb);
    if (s->dr)
        esi_doc_reader_release(s->dr);   /* idle scratch pins no block */
    pthread_mutex_lock(&ix->pool_mu);
    if (!ix->pool && (ix->pool = esi_calloc(POOL_MAX, sizeof *ix->pool)) == NULL) {
        pthread_mutex_unlock(&ix->pool_mu);
        scratch_free(s);
        return;
    }
    if (ix->npool < POOL_MAX) {
        ix->pool[ix->npool++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&ix->pool_mu);
    scratch_free(s);
}

/* Give sc a doc reader on ix's block cache unless it has one. */
static es_status scratch_reader(es_index *ix, scratch *sc, esi_err *e)
{
    if (sc->dr)
        return ES_OK;
    es_status rc = esi_doc_reader_new(&sc->dr, e);
    if (rc == ES_OK)
        esi_doc_reader_set_cache(sc->dr, ix->shared->cache);
    return rc;
}

void esi_api_pool_free(es_index *ix)
{
    for (size_t i = 0; i < ix->npool; i++)
        scratch_free(ix->pool[i]);
    esi_free(ix->pool);
    ix->pool = NULL;
    ix->npool = 0;
}

struct es_results {
    uint64_t total;
    rhit *hits;
    size_t n;
    esi_blockcache *cache;     /* the index's, for the hits' pins */
};

/* Idle analyzers for es_query_parse, which has no es_index to keep scratch
 * in: shared by every thread under parse_mu. A parse takes one (or makes
 * one when none is idle) and gives it back, so a warm process clones no ICU
 * break iterator and allocates no analyzer buffers per parse (measured on
 * the 480 bench queries: ~5 of ~40 thousand instructions per parse, and the
 * calls into malloc and ICU behind them). At most PARSE_POOL_MAX stay idle;
 * they live until the process ends (still reachable, not leaked). */
#define PARSE_POOL_MAX 4
static pthread_mutex_t parse_mu = PTHREAD_MUTEX_INITIALIZER;
static esi_analyzer *parse_pool[PARSE_POOL_MAX];
static size_t parse_npool;

/* An idle analyzer from the parse pool, or a new one. */
static es_status parse_analyzer_get(esi_analyzer **a, esi_err *e)
{
    *a = NULL;
    pthread_mutex_lock(&parse_mu);
    if (parse_npool > 0)
        *a = parse_pool[--parse_npool];
    pthread_mutex_unlock(&parse_mu);
    return *a ? ES_OK : esi_analyzer_new(a, e);
}

/* Give a back to the parse pool, or free it when the pool is full or the
 * parse ended in an error other than the query's own (ICU, memory). */
static void parse_analyzer_put(esi_analyzer *a, es_status rc)
{
    if (a && (rc == ES_OK || rc == ES_ESYNTAX || rc == ES_ELIMIT)) {
        pthread_mutex_lock(&parse_mu);
        if (parse_npool < PARSE_POOL_MAX) {
            parse_pool[parse_npool++] = a;
            a = NULL;
        }
        pthread_mutex_unlock(&parse_mu);
    }
    esi_analyzer_free(a);
}

es_status es_query_parse(es_query **out, const char *text, size_t len,
                         es_error *err)
{
    esi_err e = { 0 };
    size_t pos = 0;
    es_query *q = NULL;
    esi_analyzer *a = NULL;
    if (!out) {
        esi_err_set(&e, ES_EINVAL, "es_query_parse: out is NULL");
        esi_err_export(&e, err);
        return ES_EINVAL;
    }
    *out = NULL;
    es_status rc = esi_query_syntax(&q, text, len, &pos, &e);
    if (rc == ES_OK)
        rc = parse_analyzer_get(&a, &e);
    if (rc == ES_OK)
        rc = esi_query_lower(q, a, &pos, &e);
    parse_analyzer_put(a, rc);
    if (rc != ES_OK) {
        esi_query_free(q);
        esi_err_export(&e, err);
        if (err)
            err->position = rc == ES_ESYNTAX || rc == ES_ELIMIT ? pos : 0;
        return rc;
    }
    *out = q;
    return ES_OK;
}

void es_query_free(es_query *q)
{
    esi_query_free(q);
}

es_status es_query_explain(es_index *ix, const es_query *q, char *buf, size_t cap,
                           size_t *len, es_error *err)
{
    esi_err e = { 0 };
    esi_buf b = { 0 };
    es_status rc;
    if (!ix || !ix->snap || !q || !len || (cap && !buf))
        rc = esi_err_set(&e, ES_EINVAL, "es_query_explain: ix, q and len are "
                         "required, and buf when cap > 0");
    else
        rc = esi_query_explain(q, ix->snap, &b, &e);
    if (rc == ES_OK) {
        *len = b.len;
        if (cap) {
            size_t n = b.len < cap - 1 ? b.len : cap - 1;
            memcpy(buf, b.data, n);
            buf[n] = 0;
        }
    } else {
        esi_err_export(&e, err);
    }
    esi_buf_free(&b);
    return rc;
}

es_status es_search_options_init(es_search_options *opts, unsigned version)
{
    if (!opts || version != ES_SEARCH_OPTIONS_VERSION)
        return ES_EINVAL;
    es_search_options d = ES_SEARCH_OPTIONS_INIT;
    *opts = d;
    return ES_OK;
}

/* Free one hit's data and drop its pin. */
static void free_hit(es_results *r, rhit *h)
{
    esi_blockcache_release(r->cache, h->pin);
    esi_free(h->mem);
    esi_free(h->snippet);
    esi_free(h->ranges);
}

void es_results_free(es_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free_hit(r, &r->hits[i]);
    esi_free(r->hits);
    esi_free(r);
}

/* Add n to *total unless that overflows. */
static bool add_ok(size_t *total, size_t n)
{
    return !__builtin_add_overflow(*total, n, total);
}

/* Allocate h's field arrays (names, values, lengths for nf fields) in
 * front of `extra` more bytes of h->mem; returns where those start. */
static char *alloc_fields(rhit *h, size_t nf, size_t extra)
{
    size_t arrays, total;
    if (!esi_mul_ok(nf, 2 * sizeof(char *) + sizeof(size_t), &arrays) ||
        __builtin_add_overflow(arrays, extra, &total))
        return NULL;
    if (total == 0)
        return (char *)"";   /* nothing to hold; never written */
    if (!(h->mem = esi_malloc(total)))
        return NULL;
    h->names = h->mem;
    h->values = h->names + nf;
    h->value_lens = (size_t *)(h->values + nf);
    h->nfields = nf;
    return (char *)h->mem + arrays;
}

/* Copy one string and its NUL to *p; returns the copy. */
static const char *put(char **p, const char *s, size_t n)
{
    char *out = *p;
    if (n)
        memcpy(out, s, n);
    out[n] = 0;
    *p += n + 1;
    return out;
}

/* Copy a stored document into h, in one allocation: the field arrays
 * first (aligned), then id, text, names and values, each NUL-terminated. */
static es_status copy_doc(rhit *h, const esi_stored_doc *d)
{
    size_t nf = d->nfields, total = 0;
    bool ok = add_ok(&total, d->id_len + 1) && add_ok(&total, d->text_len + 1);
    for (size_t i = 0; ok && i < nf; i++)
        ok = add_ok(&total, d->fields[i].name_len + 1) &&
             add_ok(&total, d->fields[i].value_len + 1);
    char *p = ok ? alloc_fields(h, nf, total) : NULL;
    if (!p)
        return ES_ENOMEM;
    h->id = put(&p, d->id, d->id_len);
    h->id_len = d->id_len;
    h->text = put(&p, d->text ? d->text : "", d->text_len);
    h->text_len = d->text_len;
    for (size_t i = 0; i < nf; i++) {
        const esi_field *f = &d->fields[i];
        h->names[i] = put(&p, f->name, f->name_len);
        h->values[i] = put(&p, f->value, f->value_len);
        h->value_lens[i] = f->value_len;
    }
    return ES_OK;
}

/* Make h point at d's strings (field arrays allocated, strings not
 * copied): they live as long as what holds d's block. */
static es_status point_doc(rhit *h, const esi_stored_doc *d)
{
    if (!alloc_fields(h, d->nfields, 0))
        return ES_ENOMEM;
    h->id = d->id;
    h->id_len = d->id_len;
    h->text = d->text;
    h->text_len = d->text_len;
    for (size_t i = 0; i < d->nfields; i++) {
        h->names[i] = d->fields[i].name;
        h->values[i] = d->fields[i].value;
        h->value_lens[i] = d->fields[i].value_len;
    }
    return ES_OK;
}

/* Make h the document dr just read: borrowed from the cached block, which
 * h then pins, or copied when dr has no cache. */
static es_status fill_hit(rhit *h, const esi_stored_doc *d, esi_doc_reader *dr)
{
    esi_bc_entry *pin = esi_doc_reader_hold(dr);
    if (!pin)
        return copy_doc(h, d);
    h->pin = pin;
    return point_doc(h, d);
}

/* The snippets of a page, shared by the threads that build them: each
 * takes the next hit until none is left or one of them failed. */
typedef struct snipwork {
    const es_query *q;
    const esi_snippet_params *snp;
    es_results *r;
    atomic_size_t next;
    atomic_bool stop;
} snipwork;

/* One thread's share: its scratch (analyzer, snippet buffer), its error. */
typedef struct snipper {
    snipwork *w;
    scratch *sc;
    esi_err *e;
    es_status rc;
} snipper;

/* Build the snippets (and match ranges) of hits taken in turn from s->w. */
static void snip_hits(void *p)
{
    snipper *s = p;
    snipwork *w = s->w;
    s->rc = ES_OK;
    while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
        size_t i = atomic_fetch_add_explicit(&w->next, 1, memory_order_relaxed);
        if (i >= w->r->n)
            return;
        rhit *h = &w->r->hits[i];
        esi_buf_reset(&s->sc->sb);
        s->rc = esi_snippet_make(s->sc->a, w->q, h->text, h->text_len, w->snp,
                                 &s->sc->sb, &h->ranges, &h->nranges, s->e);
        if (s->rc == ES_OK && s->sc->sb.len) {
            h->snippet = esi_strndup((const char *)s->sc->sb.data, s->sc->sb.len);
            h->snippet_len = s->sc->sb.len;
            if (!h->snippet)
                s->rc = esi_err_set(s->e, ES_ENOMEM, "out of memory copying a snippet");
        }
        if (s->rc != ES_OK) {
            atomic_store_explicit(&w->stop, true, memory_order_relaxed);
            return;
        }
    }
}

/* Most workers one page's snippets use (the pool has at most 7). */
#define SNIP_WORKERS 7

/* Build the snippets of r's hits with sc, and with the idle search workers
 * of ix, each on scratch of its own, as many as there are hits beyond the
 * first (snippets are pure functions of query and text: the same whichever
 * thread builds them). A worker that has not begun by the time the others
 * are done is taken back instead of waited for. */
static es_status make_snippets(es_index *ix, scratch *sc, const es_query *q,
                               const esi_snippet_params *snp, es_results *r,
                               esi_err *e)
{
    snipwork w = { q, snp, r, 0, false };
    atomic_init(&w.next, 0);
    atomic_init(&w.stop, false);
    snipper me = { &w, sc, e, ES_OK };
    snipper other[SNIP_WORKERS];
    esi_err we[SNIP_WORKERS];
    esi_pool_worker *wk[SNIP_WORKERS];
    size_t nw = 0;
    while (ix->shared->workers && nw < SNIP_WORKERS && nw + 1 < r->n) {
        snipper *o = &other[nw];
        memset(&we[nw], 0, sizeof we[nw]);
        *o = (snipper){ &w, scratch_get(ix), &we[nw], ES_OK };
        if (!o->sc)
            break;
        if ((o->sc->a || esi_analyzer_new(&o->sc->a, &we[nw]) == ES_OK) &&
            (wk[nw] = esi_pool_start(ix->shared->workers, snip_hits, o, false)) != NULL) {
            nw++;
            continue;
        }
        scratch_put(ix, o->sc);        /* no worker idle: the rest here */
        break;
    }
    snip_hits(&me);
    es_status rc = me.rc;
    for (size_t i = 0; i < nw; i++) {
        if (!esi_pool_cancel(ix->shared->workers, wk[i]))   /* else it never began */
            esi_pool_wait(ix->shared->workers, wk[i]);
        scratch_put(ix, other[i].sc);
        if (rc == ES_OK && other[i].rc != ES_OK) {
            rc = other[i].rc;
            if (e)
                *e = we[i];
        }
    }
    return rc;
}

es_status es_search(es_results **out, es_index *ix, const es_query *q,
                    const es_search_options *opts, es_error *err)
{
    esi_err e = { 0 };
    es_search_options d = ES_SEARCH_OPTIONS_INIT;
    esi_hit *hits = NULL;
    size_t nhits = 0;
    es_results *r = NULL;
    scratch *sc = NULL;
    es_status rc;
    if (out)
        *out = NULL;
    if (!out || !ix || !ix->snap || !q) {
        rc = esi_err_set(&e, ES_EINVAL, "es_search: out, ix and q are required");
        goto done;
    }
    rc = esi_api_options_version(&e, opts ? &opts->version : NULL,
                                 ES_SEARCH_OPTIONS_VERSION, ES_SEARCH_OPTIONS_VERSION,
                                 "es_search_options", "ES_SEARCH_OPTIONS_INIT");
    if (rc != ES_OK)
        goto done;
    if (!opts)
        opts = &d;
    if ((opts->sort != ES_SORT_SCORE && opts->sort != ES_SORT_DATE) ||
        !(opts->bm25_k1 >= 0) || !(opts->bm25_b >= 0 && opts->bm25_b <= 1)) {
        rc = esi_err_set(&e, ES_EINVAL, "es_search: sort must be ES_SORT_SCORE "
                         "or ES_SORT_DATE, bm25_k1 >= 0 and 0 <= bm25_b <= 1");
        goto done;
    }
    esi_search_params sp = { opts->offset, opts->limit, opts->sort,
                             opts->bm25_k1, opts->bm25_b, opts->exact_total != 0,
                             false, NULL, ix->shared->workers, 0, 0, 0, 0, 0, false, NULL };
    r = esi_calloc(1, sizeof *r);
    if (!r) {
        rc = esi_err_set(&e, ES_ENOMEM, "out of memory running a search");
        goto done;
    }
    r->cache = ix->shared->cache;
    if (!(sc = scratch_get(ix))) {
        rc = esi_err_set(&e, ES_ENOMEM, "out of memory running a search");
        goto done;
    }
    sp.keep = &sc->mem;
    rc = esi_search_run(ix->snap, q, &sp, &hits, &nhits, &r->total, &e);
    if (rc != ES_OK)
        goto done;
    if (nhits) {
        r->hits = esi_calloc(nhits, sizeof *r->hits);
        if (!r->hits) {
            rc = esi_err_set(&e, ES_ENOMEM, "out of memory running a search");
            goto done;
        }
        if ((opts->snippets && !sc->a &&
             (rc = esi_analyzer_new(&sc->a, &e)) != ES_OK) ||
            (rc = scratch_reader(ix, sc, &e)) != ES_OK)
            goto done;
    }
    esi_snippet_params snp = { opts->hl_open ? opts->hl_open : "[",
                               opts->hl_close ? opts->hl_close : "]",
                               opts->snippet_sentences ? opts->snippet_sentences : 2,
                               120 };
    for (size_t i = 0; i < nhits; i++) {
        rhit *h = &r->hits[r->n++];
        h->score = hits[i].score;
        esi_stored_doc sd;
        rc = esi_doc_read(sc->dr, ix->snap->segs[hits[i].seg], hits[i].doc, &sd, &e);
        if (rc != ES_OK)
            goto done;
        if ((rc = fill_hit(h, &sd, sc->dr)) != ES_OK) {
            esi_err_set(&e, rc, "out of memory copying a hit");
            goto done;
        }
    }
    if (opts->snippets && r->n > 0 &&
        (rc = make_snippets(ix, sc, q, &snp, r, &e)) != ES_OK)
        goto done;
    *out = r;
    r = NULL;
    rc = ES_OK;
done:
    esi_free(hits);
    if (rc == ES_OK || rc == ES_ENOMEM)
        scratch_put(ix, sc);
    else
        scratch_free(sc);              /* after damage, start afresh */
    es_results_free(r);
    if (rc != ES_OK)
        esi_err_export(&e, err);
    return rc;
}

es_status es_index_get(es_results **out, es_index *ix, const char *id,
                       size_t id_len, es_error *err)
{
    esi_err e = { 0 };
    es_results *r = NULL;
    scratch *sc = NULL;
    es_status rc = ES_ENOTFOUND;
    if (out)
        *out = NULL;
    if (!out || !ix || !id) {
        rc = esi_err_set(&e, ES_EINVAL, "es_index_get: out, ix and id are required");
        goto done;
    }
    const esi_snapshot *snap = ix->snap;
    for (size_t s = snap->nsegs; s-- > 0;) {   /* newest segment first */
        uint32_t doc;
        if (esi_segment_find_id(snap->segs[s], id, id_len, &doc) != ES_OK ||
            esi_snapshot_is_deleted(snap, s, doc))
            continue;
        esi_stored_doc sd;
        r = esi_calloc(1, sizeof *r);
        if (!r || !(r->hits = esi_calloc(1, sizeof *r->hits))) {
            rc = esi_err_set(&e, ES_ENOMEM, "out of memory fetching a document");
            goto done;
        }
        r->cache = ix->shared->cache;
        if (!(sc = scratch_get(ix))) {
            rc = esi_err_set(&e, ES_ENOMEM, "out of memory fetching a document");
            goto done;
        }
        if ((rc = scratch_reader(ix, sc, &e)) != ES_OK ||
            (rc = esi_doc_read(sc->dr, snap->segs[s], doc, &sd, &e)) != ES_OK)
            goto done;
        r->n = 1;
        r->total = 1;
        /* a copy: es_index_get's results may outlive ix (edusearch.h) */
        if ((rc = copy_doc(&r->hits[0], &sd)) != ES_OK) {
            esi_err_set(&e, rc, "out of memory fetching a document");
            goto done;
        }
        *out = r;
        r = NULL;
        goto done;
    }
    esi_err_set(&e, ES_ENOTFOUND, "no document with id %.*s",
                (int)(id_len > 200 ? 200 : id_len), id);
done:
    if (rc == ES_OK || rc == ES_ENOMEM || rc == ES_ENOTFOUND)
        scratch_put(ix, sc);
    else
        scratch_free(sc);
    es_results_free(r);
    if (rc != ES_OK)
        esi_err_export(&e, err);
    return rc;
}

es_status esi_api_each_doc(const esi_snapshot *snap,
                           es_status (*fn)(const esi_stored_doc *d, void *p, esi_err *e),
                           void *p, esi_err *e)
{
    esi_doc_reader *dr = NULL;
    es_status rc = esi_doc_reader_new(&dr, e);
    for (size_t s = 0; rc == ES_OK && s < snap->nsegs; s++) {
        uint32_t n = esi_segment_doc_count(snap->segs[s]);
        for (uint32_t d = 0; rc == ES_OK && d < n; d++) {
            esi_stored_doc sd;
            if (!esi_snapshot_is_deleted(snap, s, d) &&
                (rc = esi_doc_read(dr, snap->segs[s], d, &sd, e)) == ES_OK)
                rc = fn(&sd, p, e);
        }
    }
    esi_doc_reader_free(dr);
    return rc == ES_DONE ? ES_OK : rc;
}

/* es_index_documents' walk: the user's callback and its payload. */
typedef struct docwalk {
    es_doc_cb cb;
    void *payload;
} docwalk;

/* Hand document d to the user's callback as a one-hit result. */
static es_status walk_one(const esi_stored_doc *d, void *p, esi_err *e)
{
    const docwalk *w = p;
    rhit h = { 0 };
    es_results r = { 1, &h, 1, NULL };
    if (point_doc(&h, d) != ES_OK)
        return esi_err_set(e, ES_ENOMEM, "out of memory reading documents");
    int stop = w->cb(&r, w->payload);
    esi_free(h.mem);
    return stop ? ES_DONE : ES_OK;
}

es_status es_index_documents(es_index *ix, es_doc_cb cb, void *payload, es_error *err)
{
    esi_err e = { 0 };
    docwalk w = { cb, payload };
    es_status rc = !ix || !cb
        ? esi_err_set(&e, ES_EINVAL, "es_index_documents: ix and cb are required")
        : esi_api_each_doc(ix->snap, walk_one, &w, &e);
    if (rc != ES_OK)
        esi_err_export(&e, err);
    return rc;
}

uint64_t es_results_total(const es_results *r)
{
    return r ? r->total : 0;
}

size_t es_results_count(const es_results *r)
{
    return r ? r->n : 0;
}

/* Hit i, or NULL when out of range. */
static const rhit *hit(const es_results *r, size_t i)
{
    return r && i < r->n ? &r->hits[i] : NULL;
}

const char *es_results_id(const es_results *r, size_t i, size_t *len)
{
    const rhit *h = hit(r, i);
    if (len)
        *len = h ? h->id_len : 0;
    return h ? h->id : NULL;
}

double es_results_score(const es_results *r, size_t i)
{
    const rhit *h = hit(r, i);
    return h ? h->score : 0.0;
}

const char *es_results_text(const es_results *r, size_t i, size_t *len)
{
    const rhit *h = hit(r, i);
    if (len)
        *len = h ? h->text_len : 0;
    return h ? h->text : NULL;
}

const char *es_results_field(const es_results *r, size_t i, const char *name,
                             size_t *len)
{
    const rhit *h = hit(r, i);
    if (len)
        *len = 0;
    if (!h || !name)
        return NULL;
    for (size_t k = 0; k < h->nfields; k++)
        if (!strcmp(h->names[k], name)) {
            if (len)
                *len = h->value_lens[k];
            return h->values[k];
        }
    return NULL;
}

es_status es_results_field_at(const es_results *r, size_t i, size_t j,
                              const char **name, const char **value,
                              size_t *value_len)
{
    const rhit *h = hit(r, i);
    if (!h || !name || !value)
        return ES_EINVAL;
    if (j >= h->nfields)
        return ES_DONE;
    *name = h->names[j];
    *value = h->values[j];
    if (value_len)
        *value_len = h->value_lens[j];
    return ES_OK;
}

const char *es_results_snippet(const es_results *r, size_t i, size_t *len)
{
    const rhit *h = hit(r, i);
    if (len)
        *len = h ? h->snippet_len : 0;
    return h ? (h->snippet ? h->snippet : "") : NULL;
}

size_t es_results_matches(const es_results *r, size_t i, const es_range **ranges)
{
    const rhit *h = hit(r, i);
    if (ranges)
        *ranges = h ? h->ranges : NULL;
    return h ? h->nranges : 0;
}
