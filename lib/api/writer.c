/*
 * writer.c: es_writer, the public writer. It is the one place where the
 * analysis and storage layers meet on the way in (Lucene's IndexWriter
 * role): each added document is analyzed here into term occurrences — body
 * terms and "<field>\x1f<term>" field terms — and handed to the storage
 * writer (esi_ixw) with its stored text, fields, length and date. Fields
 * the document does not set are filled from the official-document field
 * extractor (docfields.h) when the writer's options ask for it.
 */
#include "api.h"
#include "doc.h"
#include "../analysis/analyzer.h"
#include "../analysis/docfields.h"

#include <stdlib.h>
#include "../search/termkey.h"

#include <stdio.h>

struct es_writer {
    esi_ixw *ixw;
    esi_analyzer *an;
    esi_buf keys;        /* term key bytes of the document being added */
    esi_occ *occs;       /* its occurrences; term = offset into keys until fixed */
    size_t nocc, cap;
    bool extract;        /* fill missing fields from esi_docfields_extract */
    esi_field fields[ES_MAX_FIELDS + ESI_DOCFIELDS_MAX];  /* merged, sorted */
    esi_err err;         /* last error; its message is es_writer_errmsg() */
};

es_status es_writer_options_init(es_writer_options *opts, unsigned version)
{
    if (!opts || version != ES_WRITER_OPTIONS_VERSION)
        return ES_EINVAL;
    es_writer_options d = ES_WRITER_OPTIONS_INIT;
    *opts = d;
    return ES_OK;
}

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
    if (opts && opts->version != ES_WRITER_OPTIONS_VERSION) {
        rc = esi_err_set(&e, ES_EINVAL,
                         "es_writer_options version %u unknown (this library "
                         "knows %u); use ES_WRITER_OPTIONS_INIT",
                         opts->version, ES_WRITER_OPTIONS_VERSION);
        goto fail;
    }
    if (!opts)
        opts = &d;
    w = esi_calloc(1, sizeof *w);
    if (!w) {
        rc = esi_err_set(&e, ES_ENOMEM, "out of memory opening a writer");
        goto fail;
    }
    rc = esi_analyzer_new(&w->an, &e);
    if (rc != ES_OK)
        goto fail;
    esi_ixw_opts o = { opts->create != 0,
                       opts->ram_buffer_bytes ? opts->ram_buffer_bytes
                                              : (size_t)64 << 20,
                       opts->fsync != 0 };
    rc = esi_ixw_open(&w->ixw, dir, &o, &e);
    if (rc != ES_OK)
        goto fail;
    w->extract = opts->extract_fields != 0;
    *out = w;
    return ES_OK;
fail:
    es_writer_free(w);
    esi_err_export(&e, err);
    return rc;
}

/* Record one occurrence of key bytes (prefixed by field, if any). */
static es_status add_occ(es_writer *w, const char *field, const es_token *t)
{
    if (w->nocc == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024, bytes;
        if (!esi_mul_ok(cap, sizeof *w->occs, &bytes))
            return ES_ELIMIT;
        esi_occ *p = esi_realloc(w->occs, bytes);
        if (!p)
            return ES_ENOMEM;
        w->occs = p;
        w->cap = cap;
    }
    es_status rc = ES_OK;
    size_t off = w->keys.len;
    esi_termkey(&rc, &w->keys, field, t->term, t->term_len);
    if (rc != ES_OK)
        return rc;
    if (w->keys.len - off > UINT32_MAX)
        return ES_ELIMIT;
    /* Pairs are stored without positions: a pair's presence and count are
     * all a two-character phrase needs, and longer phrases are verified on
     * single-character positions (query_lower.c). This halves the postings. */
    uint32_t pos = t->kind == ES_TOKEN_BIGRAM ? ESI_POS_NONE : t->position;
    w->occs[w->nocc++] = (esi_occ){ (const uint8_t *)(uintptr_t)off,
                                    (uint32_t)(w->keys.len - off), pos };
    return ES_OK;
}

/* State for one analyzer pass over the body or one field. */
typedef struct collect {
    es_writer *w;
    const char *field;    /* NULL for the body */
    uint32_t units;       /* positions seen (the body's length in units) */
    es_status rc;
} collect;

/* Token callback: store the token, track the length in units. */
static int on_token(const es_token *t, void *p)
{
    collect *c = p;
    c->rc = add_occ(c->w, c->field, t);
    if (t->position + t->span > c->units)
        c->units = t->position + t->span;
    return c->rc != ES_OK;
}

/* Analyze text into w's occurrence list; *units gets its length. */
static es_status collect_terms(es_writer *w, const char *field, const char *text,
                               size_t len, uint32_t *units)
{
    collect c = { w, field, 0, ES_OK };
    es_status rc = esi_analyze(w->an, text, len, ES_TOKENIZE_INDEX, on_token, &c,
                               &w->err);
    if (rc == ES_OK && c.rc != ES_OK)
        rc = esi_err_set(&w->err, c.rc, "adding a document: %s",
                         es_strerror(c.rc));
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
 * from doc and ex), sorted by name, in w->fields; returns the count. */
static size_t merge_fields(es_writer *w, const es_doc *doc, const esi_docfields *ex)
{
    size_t n = doc->nfields;
    memcpy(w->fields, doc->fields, n * sizeof doc->fields[0]);
    for (size_t i = 0; i < ex->n; i++)
        if (!esi_doc_field(doc, ex->f[i].name))
            w->fields[n++] = (esi_field){ ex->f[i].name, strlen(ex->f[i].name),
                                          ex->f[i].value, ex->f[i].value_len };
    qsort(w->fields, n, sizeof w->fields[0], cmp_field);
    return n;
}

es_status es_writer_add(es_writer *w, const es_doc *doc)
{
    if (!w)
        return ES_EINVAL;
    esi_err_clear(&w->err);
    if (!doc)
        return esi_err_set(&w->err, ES_EINVAL, "es_writer_add: doc is NULL");
    esi_docfields ex = { .n = 0 };
    es_status rc = ES_OK;
    if (w->extract)
        rc = esi_docfields_extract(doc->text, doc->text_len, &ex, &w->err);
    if (rc != ES_OK)
        return rc;
    size_t nfields = merge_fields(w, doc, &ex);
    esi_buf_reset(&w->keys);
    w->nocc = 0;
    uint32_t doclen = 0;
    rc = collect_terms(w, NULL, doc->text, doc->text_len, &doclen);
    for (size_t i = 0; rc == ES_OK && i < nfields; i++)
        rc = collect_terms(w, w->fields[i].name, w->fields[i].value,
                           w->fields[i].value_len, NULL);
    if (rc == ES_OK) {
        for (size_t i = 0; i < w->nocc; i++)     /* offsets -> pointers */
            w->occs[i].term = w->keys.data + (uintptr_t)w->occs[i].term;
        uint32_t date = 0;
        for (size_t i = 0; i < nfields; i++)
            if (strcmp(w->fields[i].name, "date") == 0)
                esi_date_parse(w->fields[i].value, w->fields[i].value_len, &date);
        esi_doc_in in = {
            doc->id, doc->id_len, doc->text ? doc->text : "", doc->text_len,
            w->fields, nfields, w->occs, w->nocc, doclen, date
        };
        rc = esi_ixw_add(w->ixw, &in, &w->err);
    }
    esi_docfields_free(&ex);
    return rc;
}

es_status es_writer_delete(es_writer *w, const char *id, size_t id_len)
{
    if (!w)
        return ES_EINVAL;
    esi_err_clear(&w->err);
    if (!id || id_len == 0 || id_len > ES_MAX_ID_LEN)
        return esi_err_set(&w->err, ES_EINVAL, "document id must be 1..%d bytes",
                           ES_MAX_ID_LEN);
    return esi_ixw_delete(w->ixw, id, id_len, &w->err);
}

es_status es_writer_commit(es_writer *w)
{
    if (!w)
        return ES_EINVAL;
    esi_err_clear(&w->err);
    return esi_ixw_commit(w->ixw, &w->err);
}

es_status es_writer_optimize(es_writer *w)
{
    if (!w)
        return ES_EINVAL;
    esi_err_clear(&w->err);
    return esi_ixw_optimize(w->ixw, &w->err);
}

const char *es_writer_errmsg(const es_writer *w)
{
    return w ? w->err.msg : "";
}

void es_writer_free(es_writer *w)
{
    if (!w)
        return;
    esi_ixw_free(w->ixw);
    esi_analyzer_free(w->an);
    esi_buf_free(&w->keys);
    esi_free(w->occs);
    esi_free(w);
}
