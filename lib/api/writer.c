/*
 * writer.c: es_writer, the public writer. It is the one place where the
 * analysis and storage layers meet on the way in (Lucene's IndexWriter
 * role): each added document is analyzed here into its grouped terms
 * (esi_grp: body terms and "<field>\x1f<term>" field terms, each distinct
 * key once with its frequency and positions) and handed to the storage
 * writer (esi_ixw) with its stored text, fields, length and date. Fields
 * the document does not set are filled from the official-document field
 * extractor (docfields.h) when the writer's options ask for it.
 *
 * With threads, es_writer_add copies the document into a slot of a ring
 * of jobs; worker threads, each with its own analyzer, take slots in order
 * and prepare them (extract fields, analyze, group); the caller's thread
 * hands prepared slots to esi_ixw strictly in submission order, so the
 * index is the same as without threads. The ring is bounded by slots and by
 * queued bytes; deletes, commits and frees drain it first. A worker's
 * failure is kept in its slot and reported by the call that integrates the
 * slot ("pending" error, see es_writer_add in edusearch.h).
 */
#include "api.h"
#include "doc.h"
#include "../analysis/analyzer.h"
#include "../analysis/docfields.h"
#include "../search/termkey.h"

#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 8                      /* for threads = 0 */
#define HUGE_DOC ((size_t)8 << 20)         /* analyzed in the caller's thread */
#define QUEUE_BYTES ((size_t)32 << 20)     /* copied text waiting in the ring */
#define SLOTS_PER_THREAD 4
/* Text below this many bytes is analyzed in the caller's thread when nothing
 * is queued: handing a tiny document to a worker (copy, lock, wake-up)
 * costs more than analyzing it (1,000,000 two-word documents: 11.0 s with
 * every one queued, 4.0 s without threads). */
#define SMALL_DOC ((size_t)2048)
#define KEEP_COPY ((size_t)256 << 10)      /* a slot's copy buffer kept for reuse */

/* A document analyzed and ready for esi_ixw_add_grouped. */
typedef struct prepared {
    esi_docfields ex;        /* extracted fields (owned) */
    esi_field fields[ES_MAX_FIELDS + ESI_DOCFIELDS_MAX];  /* merged, sorted */
    size_t nfields;
    esi_grp *grp;
    uint32_t doclen, date;
} prepared;

/* One slot of the ring: a copied document and what a worker made of it. */
typedef struct job {
    es_doc doc;              /* strings point into copy (not owned one by one) */
    esi_buf copy;
    prepared pr;
    size_t bytes;            /* counted against QUEUE_BYTES */
    bool done;               /* prepared (under mu) */
    es_status rc;            /* the preparation's status */
    esi_err err;             /* and its message */
} job;

/* Per-thread analysis state. */
typedef struct worker {
    es_writer *w;
    esi_analyzer *an;
    esi_buf key;             /* scratch for field term keys */
    pthread_t th;
} worker;

struct es_writer {
    esi_ixw *ixw;
    bool extract;            /* fill missing fields from esi_docfields_extract */
    esi_pairset pairs;       /* the pairs indexed with positions */
    worker self;             /* the caller's thread's analysis state */
    prepared pr;             /* the caller's thread's document */
    esi_err err;             /* last error; its message is es_writer_errmsg() */
    /* threads */
    worker *workers;
    size_t nworkers;         /* started; 0 = everything in the caller's thread */
    size_t nworkers_alloc;   /* entries of workers */
    bool mu_ready;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* a slot was queued, or stop */
    pthread_cond_t done_cv;  /* a slot was prepared */
    job *ring;
    size_t nslots;
    size_t head, next, tail; /* next to integrate, to prepare, to fill */
    size_t qbytes;           /* bytes of slots head..tail */
    bool stop;               /* workers exit (under mu) */
    esi_err pend;            /* first failure of a queued doc not yet reported */
    size_t pend_more;        /* further failures since */
};

es_status es_writer_options_init(es_writer_options *opts, unsigned version)
{
    if (!opts || version < 1 || version > ES_WRITER_OPTIONS_VERSION)
        return ES_EINVAL;
    es_writer_options d = ES_WRITER_OPTIONS_INIT;
    d.version = version;
    const size_t bytes[] = { offsetof(es_writer_options, threads),
                             offsetof(es_writer_options, position_pairs), sizeof d };
    esi_api_options_fill(opts, &d, bytes, version);
    return ES_OK;
}

/* ---- preparing a document ----------------------------------------------- */

/* State for one analyzer pass over the body or one field. */
typedef struct collect {
    worker *k;
    esi_grp *g;
    const char *field;    /* NULL for the body */
    uint32_t units;       /* positions seen (the body's length in units) */
    es_status rc;
    esi_err *e;
} collect;

/* Token callback: count the token in the group, track the length in units.
 * Pairs are stored without positions: a pair's presence and count are all a
 * two-character phrase needs, and longer phrases are verified on
 * single-character positions (query_lower.c). This halves the postings.
 * The writer's position pairs in the body (pospairs.c: by default common
 * pairs of policy text) keep theirs: they verify a phrase of very common
 * characters through far fewer positions. */
static int on_token(const es_token *t, void *p)
{
    collect *c = p;
    uint32_t pos = t->position;
    if (t->kind == ES_TOKEN_BIGRAM &&
        (c->field || !esi_pairset_has(&c->k->w->pairs, t->term, t->term_len)))
        pos = ESI_POS_NONE;
    if (!c->field) {
        c->rc = esi_grp_add(c->g, (const uint8_t *)t->term, t->term_len, pos, c->e);
    } else {
        esi_buf_reset(&c->k->key);
        esi_termkey(&c->rc, &c->k->key, c->field, t->term, t->term_len);
        if (c->rc != ES_OK)
            c->rc = esi_err_set(c->e, c->rc, "out of memory");
        else
            c->rc = esi_grp_add(c->g, c->k->key.data, c->k->key.len, pos, c->e);
    }
    if (t->position + t->span > c->units)
        c->units = t->position + t->span;
    return c->rc != ES_OK;
}

/* Analyze text into g; *units gets its length. */
static es_status collect_terms(worker *k, esi_grp *g, const char *field,
                               const char *text, size_t len, uint32_t *units,
                               esi_err *e)
{
    collect c = { k, g, field, 0, ES_OK, e };
    es_status rc = esi_analyze(k->an, text, len, ES_TOKENIZE_INDEX, on_token, &c, e);
    if (rc == ES_OK)
        rc = c.rc;
    if (units)
        *units = c.units;
    return rc;
}

/* Order of fields by name. */
static int cmp_field(const void *a, const void *b)
{
    const esi_field *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* The document's fields plus the extracted ones it does not set (borrowed
 * from doc and pr->ex), sorted by name, in pr->fields. */
static void merge_fields(prepared *pr, const es_doc *doc)
{
    size_t n = doc->nfields;
    memcpy(pr->fields, doc->fields, n * sizeof doc->fields[0]);
    for (size_t i = 0; i < pr->ex.n; i++)
        if (!esi_doc_field(doc, pr->ex.f[i].name))
            pr->fields[n++] = (esi_field){ pr->ex.f[i].name, strlen(pr->ex.f[i].name),
                                           pr->ex.f[i].value, pr->ex.f[i].value_len };
    qsort(pr->fields, n, sizeof pr->fields[0], cmp_field);
    pr->nfields = n;
}

/* Release what pr holds for one document, keeping its group for reuse. */
static void prepared_clear(prepared *pr)
{
    esi_docfields_free(&pr->ex);
    pr->nfields = 0;
    esi_grp_reset(pr->grp);
}

/* Prepare doc with k's analyzer: extract fields, analyze body and fields
 * into pr->grp, find the date. Messages name the document. */
static es_status prepare(worker *k, bool extract, const es_doc *doc, prepared *pr,
                         esi_err *e)
{
    esi_err e2 = { 0 };
    es_status rc = ES_OK;
    prepared_clear(pr);
    if (extract)
        rc = esi_docfields_extract(doc->text, doc->text_len, &pr->ex, &e2);
    if (rc == ES_OK) {
        merge_fields(pr, doc);
        rc = collect_terms(k, pr->grp, NULL, doc->text, doc->text_len,
                           &pr->doclen, &e2);
    }
    for (size_t i = 0; rc == ES_OK && i < pr->nfields; i++)
        rc = collect_terms(k, pr->grp, pr->fields[i].name, pr->fields[i].value,
                           pr->fields[i].value_len, NULL, &e2);
    if (rc != ES_OK)
        return esi_err_set(e, rc, "document '%.*s': %s",
                           (int)(doc->id_len > 64 ? 64 : doc->id_len), doc->id,
                           e2.msg);
    pr->date = 0;
    for (size_t i = 0; i < pr->nfields; i++)
        if (strcmp(pr->fields[i].name, "date") == 0)
            esi_date_parse(pr->fields[i].value, pr->fields[i].value_len, &pr->date);
    return ES_OK;
}

/* Hand a prepared document to storage (which empties pr->grp). */
static es_status integrate(es_writer *w, const es_doc *doc, prepared *pr,
                           esi_err *e)
{
    esi_doc_in in = {
        doc->id, doc->id_len, doc->text ? doc->text : "", doc->text_len,
        pr->fields, pr->nfields, NULL, 0, pr->doclen, pr->date
    };
    return esi_ixw_add_grouped(w->ixw, &in, pr->grp, e);
}

/* ---- threads ------------------------------------------------------------ */

/* A worker: prepare queued slots in order until told to stop. */
static void *worker_main(void *p)
{
    worker *k = p;
    es_writer *w = k->w;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && w->next == w->tail)
            pthread_cond_wait(&w->work_cv, &w->mu);
        if (w->stop)
            break;
        job *j = &w->ring[w->next++ % w->nslots];
        pthread_mutex_unlock(&w->mu);
        j->rc = prepare(k, w->extract, &j->doc, &j->pr, &j->err);
        pthread_mutex_lock(&w->mu);
        j->done = true;
        pthread_cond_signal(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Remember a queued document's failure until a call can report it. */
static void note_pending(es_writer *w, es_status rc, const char *msg)
{
    if (w->pend.code == ES_OK)
        esi_err_set(&w->pend, rc, "%s", msg);
    else
        w->pend_more++;
}

/* Move the pending failure (if any) to w->err and return its status. */
static es_status take_pending(es_writer *w)
{
    es_status rc = w->pend.code;
    if (rc == ES_OK)
        return ES_OK;
    if (w->pend_more)
        esi_err_set(&w->err, rc, "%s (and %zu later queued documents failed "
                    "too; they were not added)", w->pend.msg, w->pend_more);
    else
        esi_err_set(&w->err, rc, "%s (the document was not added)", w->pend.msg);
    esi_err_clear(&w->pend);
    w->pend_more = 0;
    return rc;
}

/* Integrate the oldest slot, waiting for its worker if `wait`; false if
 * it is not prepared yet and not waiting. */
static bool integrate_head(es_writer *w, bool wait)
{
    job *j = &w->ring[w->head % w->nslots];
    pthread_mutex_lock(&w->mu);
    while (wait && !j->done)
        pthread_cond_wait(&w->done_cv, &w->mu);
    bool done = j->done;
    pthread_mutex_unlock(&w->mu);
    if (!done)
        return false;
    es_status rc = j->rc;
    esi_err e;
    if (rc == ES_OK) {
        rc = integrate(w, &j->doc, &j->pr, &e);
        if (rc != ES_OK)
            note_pending(w, rc, e.msg);
    } else {
        note_pending(w, rc, j->err.msg);
    }
    prepared_clear(&j->pr);
    if (j->copy.cap > KEEP_COPY)
        esi_buf_free(&j->copy);
    j->done = false;   /* no worker looks at slots outside next..tail */
    w->qbytes -= j->bytes;
    w->head++;
    return true;
}

/* Integrate every queued slot (waiting for the workers). */
static void drain(es_writer *w)
{
    while (w->head != w->tail)
        integrate_head(w, true);
}

/* Bytes doc takes when copied into a slot. */
static size_t doc_bytes(const es_doc *doc)
{
    size_t n = doc->id_len + 1 + doc->text_len + 1;
    for (size_t i = 0; i < doc->nfields; i++)
        n += doc->fields[i].name_len + 1 + doc->fields[i].value_len + 1;
    return n;
}

/* Copy doc into slot j (one buffer; strings NUL-terminated). */
static es_status copy_doc(job *j, const es_doc *doc, size_t bytes)
{
    es_status rc = ES_OK;
    esi_buf *b = &j->copy;
    esi_buf_reset(b);
    esi_buf_reserve(&rc, b, bytes);
    if (rc != ES_OK)
        return rc;
    /* reserved: the puts below do not move b->data */
    j->doc.id = (char *)b->data + b->len;
    esi_buf_put(&rc, b, doc->id, doc->id_len);
    esi_buf_put_u8(&rc, b, 0);
    j->doc.id_len = doc->id_len;
    j->doc.text = (char *)b->data + b->len;
    esi_buf_put(&rc, b, doc->text ? doc->text : "", doc->text_len);
    esi_buf_put_u8(&rc, b, 0);
    j->doc.text_len = doc->text_len;
    for (size_t i = 0; i < doc->nfields; i++) {
        const esi_field *f = &doc->fields[i];
        esi_field *g = &j->doc.fields[i];
        g->name = (const char *)b->data + b->len;
        esi_buf_put(&rc, b, f->name, f->name_len);
        esi_buf_put_u8(&rc, b, 0);
        g->name_len = f->name_len;
        g->value = (const char *)b->data + b->len;
        esi_buf_put(&rc, b, f->value, f->value_len);
        esi_buf_put_u8(&rc, b, 0);
        g->value_len = f->value_len;
    }
    j->doc.nfields = doc->nfields;
    return rc;
}

/* Queue doc for the workers (after making room), then integrate the slots
 * already prepared. */
static es_status enqueue(es_writer *w, const es_doc *doc)
{
    size_t bytes = doc_bytes(doc);
    while (w->tail - w->head == w->nslots ||
           (w->tail != w->head && w->qbytes + bytes > QUEUE_BYTES))
        integrate_head(w, true);
    job *j = &w->ring[w->tail % w->nslots];
    if (copy_doc(j, doc, bytes) != ES_OK)
        return esi_err_set(&w->err, ES_ENOMEM, "out of memory copying document "
                           "'%.*s'", (int)(doc->id_len > 64 ? 64 : doc->id_len),
                           doc->id);
    j->bytes = bytes;
    w->qbytes += bytes;
    pthread_mutex_lock(&w->mu);
    w->tail++;
    pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
    while (w->head != w->tail && integrate_head(w, false))
        ;
    return ES_OK;
}

/* Stop and join the workers. */
static void stop_workers(es_writer *w)
{
    if (w->nworkers) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_broadcast(&w->work_cv);
        pthread_mutex_unlock(&w->mu);
        for (size_t i = 0; i < w->nworkers; i++)
            pthread_join(w->workers[i].th, NULL);
        w->nworkers = 0;
    }
}

/* Analysis threads for the threads option (0 = online CPUs, capped). */
static size_t thread_count(unsigned threads)
{
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (size_t)n;
    }
    return threads > 64 ? 64 : threads;
}

/* Set up the ring and start n workers (fewer if the system refuses
 * threads; none at all means working in the caller's thread). */
static es_status start_workers(es_writer *w, size_t n, esi_err *e)
{
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        return esi_err_set(e, ES_ERROR, "cannot create a mutex");
    if (pthread_cond_init(&w->work_cv, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        return esi_err_set(e, ES_ERROR, "cannot create a condition variable");
    }
    if (pthread_cond_init(&w->done_cv, NULL) != 0) {
        pthread_cond_destroy(&w->work_cv);
        pthread_mutex_destroy(&w->mu);
        return esi_err_set(e, ES_ERROR, "cannot create a condition variable");
    }
    w->mu_ready = true;
    w->nslots = n * SLOTS_PER_THREAD;
    w->ring = esi_calloc(w->nslots, sizeof *w->ring);
    w->workers = esi_calloc(n, sizeof *w->workers);
    if (!w->ring || !w->workers)
        return esi_err_set(e, ES_ENOMEM, "out of memory opening a writer");
    w->nworkers_alloc = n;
    for (size_t i = 0; i < w->nslots; i++)
        if (esi_grp_new(&w->ring[i].pr.grp, e) != ES_OK)
            return ES_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        worker *k = &w->workers[i];
        k->w = w;
        es_status rc = esi_analyzer_new(&k->an, e);
        if (rc != ES_OK)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (pthread_create(&w->workers[i].th, NULL, worker_main, &w->workers[i]) != 0)
            break;
        w->nworkers++;
    }
    return ES_OK;
}

/* ---- the public functions ----------------------------------------------- */

es_status es_writer_open(es_writer **out, const char *dir,
                         const es_writer_options *opts, es_error *err)
{
    esi_err e = { 0 };
    es_writer_options d = ES_WRITER_OPTIONS_INIT;
    es_status rc;
    es_writer *w = NULL;
    if (out)
        *out = NULL;
    if (!out || !dir || !*dir) {
        rc = esi_err_set(&e, ES_EINVAL, "es_writer_open: out and dir are required");
        goto fail;
    }
    rc = esi_api_options_version(&e, opts ? &opts->version : NULL, 1,
                                 ES_WRITER_OPTIONS_VERSION, "es_writer_options",
                                 "ES_WRITER_OPTIONS_INIT");
    if (rc != ES_OK)
        goto fail;
    if (!opts)
        opts = &d;
    unsigned threads = opts->version >= 2 ? opts->threads : 1;
    w = esi_calloc(1, sizeof *w);
    if (!w) {
        rc = esi_err_set(&e, ES_ENOMEM, "out of memory opening a writer");
        goto fail;
    }
    w->self.w = w;
    rc = esi_analyzer_new(&w->self.an, &e);
    if (rc == ES_OK)
        rc = esi_grp_new(&w->pr.grp, &e);
    if (rc == ES_OK)
        rc = esi_pairset_build(&w->pairs, w->self.an,
                               opts->version >= 3 ? opts->position_pairs : NULL,
                               opts->version >= 3 ? opts->nposition_pairs : 0, &e);
    if (rc != ES_OK)
        goto fail;
    size_t n = thread_count(threads);
    esi_ixw_opts o = { opts->create != 0,
                       opts->ram_buffer_bytes ? opts->ram_buffer_bytes
                                              : (size_t)64 << 20,
                       opts->fsync != 0 };
    rc = esi_ixw_open(&w->ixw, dir, &o, &e);
    if (rc != ES_OK)
        goto fail;
    esi_ixw_set_threads(w->ixw, n > 1);
    w->extract = opts->extract_fields != 0;
    if (n > 1) {
        rc = start_workers(w, n, &e);
        if (rc != ES_OK)
            goto fail;
    }
    *out = w;
    return ES_OK;
fail:
    es_writer_free(w);
    esi_err_export(&e, err);
    return rc;
}

es_status es_writer_add(es_writer *w, const es_doc *doc)
{
    if (!w)
        return ES_EINVAL;
    esi_err_clear(&w->err);
    if (!doc)
        return esi_err_set(&w->err, ES_EINVAL, "es_writer_add: doc is NULL");
    es_status rc;
    bool inline_small = doc->text_len < SMALL_DOC && w->head == w->tail;
    if (w->nworkers && doc->text_len <= HUGE_DOC && !inline_small) {
        rc = enqueue(w, doc);
    } else {
        if (w->nworkers)
            drain(w);   /* in order, and at most one huge doc in memory
                           (a no-op for an inline small one) */
        rc = prepare(&w->self, w->extract, doc, &w->pr, &w->err);
        if (rc == ES_OK)
            rc = integrate(w, doc, &w->pr, &w->err);
        prepared_clear(&w->pr);
    }
    return rc != ES_OK ? rc : take_pending(w);
}

es_status es_writer_delete(es_writer *w, const char *id, size_t id_len)
{
    if (!w)
        return ES_EINVAL;
    esi_err_clear(&w->err);
    if (!id || id_len == 0 || id_len > ES_MAX_ID_LEN)
        return esi_err_set(&w->err, ES_EINVAL, "document id must be 1..%d bytes",
                           ES_MAX_ID_LEN);
    drain(w);
    es_status rc = esi_ixw_delete(w->ixw, id, id_len, &w->err);
    return rc != ES_OK ? rc : take_pending(w);
}

/* Commit or optimize: every queued document integrated first, then step
 * (esi_ixw_commit or esi_ixw_optimize) on the storage writer. */
static es_status finish(es_writer *w, es_status (*step)(esi_ixw *, esi_err *))
{
    if (!w)
        return ES_EINVAL;
    esi_err_clear(&w->err);
    drain(w);
    es_status rc = take_pending(w);
    return rc != ES_OK ? rc : step(w->ixw, &w->err);
}

es_status es_writer_commit(es_writer *w)
{
    return finish(w, esi_ixw_commit);
}

es_status es_writer_optimize(es_writer *w)
{
    return finish(w, esi_ixw_optimize);
}

const char *es_writer_errmsg(const es_writer *w)
{
    return w ? w->err.msg : "";
}

void es_writer_free(es_writer *w)
{
    if (!w)
        return;
    stop_workers(w);
    for (size_t i = 0; w->workers && i < w->nworkers_alloc; i++) {
        esi_analyzer_free(w->workers[i].an);
        esi_buf_free(&w->workers[i].key);
    }
    esi_free(w->workers);
    for (size_t i = 0; w->ring && i < w->nslots; i++) {
        esi_docfields_free(&w->ring[i].pr.ex);
        esi_grp_free(w->ring[i].pr.grp);
        esi_buf_free(&w->ring[i].copy);
    }
    esi_free(w->ring);
    if (w->mu_ready) {
        pthread_cond_destroy(&w->done_cv);
        pthread_cond_destroy(&w->work_cv);
        pthread_mutex_destroy(&w->mu);
    }
    esi_ixw_free(w->ixw);
    esi_analyzer_free(w->self.an);
    esi_buf_free(&w->self.key);
    esi_docfields_free(&w->pr.ex);
    esi_grp_free(w->pr.grp);
    esi_pairset_free(&w->pairs);
    esi_free(w);
}
