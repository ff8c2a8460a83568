/*
 * facet.c: es_index_facet(), counts of live documents per value of a stored
 * field (for `edusearch stats --facet FIELD`). It walks every live document
 * of the snapshot, collects the field's values, sorts them and counts runs;
 * "year" is derived from the per-document date column without reading text.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct value {
    char *s;
    size_t len;
} value;

typedef struct values {
    value *v;
    size_t n, cap;
} values;

/* Append a copy of s to vs. */
static es_status push(values *vs, const char *s, size_t len)
{
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? vs->cap * 2 : 256, bytes;
        if (!esi_mul_ok(cap, sizeof *vs->v, &bytes))
            return ES_ELIMIT;
        value *nv = esi_realloc(vs->v, bytes);
        if (!nv)
            return ES_ENOMEM;
        vs->v = nv;
        vs->cap = cap;
    }
    char *c = esi_strndup(s, len);
    if (!c)
        return ES_ENOMEM;
    vs->v[vs->n++] = (value){ c, len };
    return ES_OK;
}

/* Byte order of two values. */
static int cmp_value(const void *a, const void *b)
{
    const value *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

typedef struct bucket {
    const value *v;
    uint64_t count;
} bucket;

/* Most frequent first; ties in byte order. */
static int cmp_bucket(const void *a, const void *b)
{
    const bucket *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return cmp_value(x->v, y->v);
}

/* What collect_one looks for and where it puts it. */
typedef struct want {
    const char *field;
    size_t len;
    values *vs;
} want;

/* The field's value of document d into the values (esi_api_each_doc). */
static es_status collect_one(const esi_stored_doc *d, void *p, esi_err *e)
{
    (void)e;
    const want *w = p;
    for (size_t f = 0; f < d->nfields; f++)
        if (d->fields[f].name_len == w->len &&
            memcmp(d->fields[f].name, w->field, w->len) == 0 &&
            d->fields[f].value_len > 0)
            return push(w->vs, d->fields[f].value, d->fields[f].value_len);
    return ES_OK;
}

/* Collect the field's value of every live document into vs. */
static es_status collect(const esi_snapshot *snap, const char *field,
                         values *vs, esi_err *e)
{
    es_status rc = ES_OK;
    if (strcmp(field, "year") == 0) {
        for (size_t s = 0; rc == ES_OK && s < snap->nsegs; s++) {
            const esi_segment *seg = snap->segs[s];
            uint32_t n = esi_segment_doc_count(seg);
            for (uint32_t d = 0; rc == ES_OK && d < n; d++) {
                uint32_t date = esi_segment_date(seg, d);
                if (date && !esi_snapshot_is_deleted(snap, s, d)) {
                    char y[16];
                    int len = snprintf(y, sizeof y, "%u", date / 10000);
                    rc = push(vs, y, (size_t)len);
                }
            }
        }
    } else {
        want w = { field, strlen(field), vs };
        rc = esi_api_each_doc(snap, collect_one, &w, e);
    }
    if (rc != ES_OK && e && e->msg[0] == '\0')
        esi_err_set(e, rc, "facet %s: %s", field, es_strerror(rc));
    return rc;
}

es_status es_index_facet(es_index *ix, const char *field, es_facet_cb cb,
                         void *payload, es_error *err)
{
    esi_err e = { 0 };
    values vs = { 0 };
    bucket *b = NULL;
    es_status rc;
    if (!ix || !field || !cb) {
        rc = esi_err_set(&e, ES_EINVAL, "es_index_facet: ix, field and cb are required");
        goto done;
    }
    rc = collect(ix->snap, field, &vs, &e);
    if (rc != ES_OK)
        goto done;
    qsort(vs.v, vs.n, sizeof *vs.v, cmp_value);
    b = esi_calloc(vs.n ? vs.n : 1, sizeof *b);
    if (!b) {
        rc = esi_err_set(&e, ES_ENOMEM, "out of memory counting facet %s", field);
        goto done;
    }
    size_t nb = 0;
    for (size_t i = 0; i < vs.n; i++) {
        if (nb && cmp_value(b[nb - 1].v, &vs.v[i]) == 0)
            b[nb - 1].count++;
        else
            b[nb++] = (bucket){ &vs.v[i], 1 };
    }
    qsort(b, nb, sizeof *b, cmp_bucket);
    for (size_t i = 0; i < nb; i++)
        if (cb(b[i].v->s, b[i].v->len, b[i].count, payload) != 0)
            break;
done:
    for (size_t i = 0; i < vs.n; i++)
        esi_free(vs.v[i].s);
    esi_free(vs.v);
    esi_free(b);
    if (rc != ES_OK)
        esi_err_export(&e, err);
    return rc;
}
