/*
 * prefix.c: what a prefix* phrase expands to over a snapshot — the distinct
 * terms of the segments' dictionaries that start with the prefix (body
 * words for a body prefix: a field term never matches one), sorted
 * bytewise, each with its documents summed over the segments and, when
 * asked, its term info in each segment. The executor opens one cursor per
 * term a segment holds (exec.c); explain lists them (explain.c).
 *
 * A prefix matching more than ESI_PREFIX_MAX distinct terms is refused
 * with ES_ELIMIT and a message asking for more letters, before any
 * postings are read: an expansion that large would be an OR over a large
 * part of the dictionary.
 */
#include "search.h"

#include <string.h>

/* The state of one pass over one segment's terms. */
typedef struct collect {
    esi_prefix_set *x;
    size_t plen;               /* prefix length: the rest must not hold 0x1F */
    size_t seg;                /* the segment being read */
    bool fill;                 /* pass 2: fill ti/found; pass 1: add terms */
    es_status rc;
} collect;

/* Index of term t in x (sorted) or where it would go; *hit if present. */
static size_t find(const esi_prefix_set *x, const uint8_t *t, size_t n, bool *hit)
{
    size_t lo = 0, hi = x->n;
    *hit = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t ml = x->len[mid], m = ml < n ? ml : n;
        int c = m ? memcmp(x->bytes.data + x->off[mid], t, m) : 0;
        if (c == 0)
            c = ml < n ? -1 : ml > n;
        if (c == 0) {
            *hit = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Room for one more term in x; false (c->rc set) when there is none. */
static bool grow(collect *c)
{
    esi_prefix_set *x = c->x;
    if (x->n >= ESI_PREFIX_MAX) {
        c->rc = ES_ELIMIT;
        return false;
    }
    if (x->n < x->cap)
        return true;
    size_t cap = x->cap ? x->cap * 2 : 16;
    uint32_t *o = esi_realloc(x->off, cap * sizeof *o);
    if (o)
        x->off = o;
    uint32_t *l = o ? esi_realloc(x->len, cap * sizeof *l) : NULL;
    if (l)
        x->len = l;
    uint64_t *d = l ? esi_realloc(x->df, cap * sizeof *d) : NULL;
    if (!d) {
        c->rc = ES_ENOMEM;
        return false;
    }
    x->df = d;
    x->cap = cap;
    return true;
}

/* esi_segment_prefix_terms callback: add (pass 1) or locate (pass 2). */
static int on_term(const uint8_t *t, size_t n, const esi_term_info *ti, void *p)
{
    collect *c = p;
    esi_prefix_set *x = c->x;
    if (memchr(t + c->plen, ESI_FIELD_SEP, n - c->plen))
        return 0;                      /* a field term, not a body word */
    bool hit;
    size_t at = find(x, t, n, &hit);
    if (c->fill) {
        if (hit) {
            x->ti[c->seg * x->n + at] = *ti;
            x->found[c->seg * x->n + at] = true;
        }
        return 0;
    }
    if (!hit) {
        if (!grow(c))
            return 1;
        size_t off = x->bytes.len;
        esi_buf_put(&c->rc, &x->bytes, t, n);
        if (c->rc != ES_OK)
            return 1;
        memmove(x->off + at + 1, x->off + at, (x->n - at) * sizeof *x->off);
        memmove(x->len + at + 1, x->len + at, (x->n - at) * sizeof *x->len);
        memmove(x->df + at + 1, x->df + at, (x->n - at) * sizeof *x->df);
        x->off[at] = (uint32_t)off;
        x->len[at] = (uint32_t)n;
        x->df[at] = 0;
        x->n++;
    }
    x->df[at] += ti->df;
    return 0;
}

/* The error of a prefix with too many terms, naming it as the user wrote
 * it (without its field). */
static es_status too_many(const uint8_t *pre, size_t n, esi_err *e)
{
    const char *t = (const char *)pre;
    const char *sep = memchr(t, ESI_FIELD_SEP, n);
    if (sep) {
        n -= (size_t)(sep + 1 - t);
        t = sep + 1;
    }
    return esi_err_set(e, ES_ELIMIT, "%.*s* matches more than %d terms; give more "
                       "letters before the *", (int)n, t, ESI_PREFIX_MAX);
}

es_status esi_prefix_expand(const esi_snapshot *snap, const es_query *q, int32_t ph,
                            bool per_segment, esi_prefix_set *x, esi_err *e)
{
    const esi_qkey *k = &q->keys[q->phrases[ph].first_key];
    const uint8_t *pre = esi_qkey_bytes(q, k);
    collect c = { x, k->len, 0, false, ES_OK };
    for (int pass = 0; pass < (per_segment ? 2 : 1); pass++) {
        c.fill = pass == 1;
        if (c.fill) {
            size_t n;
            if (!esi_mul_ok(snap->nsegs, x->n ? x->n : 1, &n))
                return esi_err_set(e, ES_ELIMIT, "prefix expansion too large");
            x->ti = esi_calloc(n, sizeof *x->ti);
            x->found = esi_calloc(n, sizeof *x->found);
            x->idf = esi_calloc(x->n ? x->n : 1, sizeof *x->idf);
            if (!x->ti || !x->found || !x->idf)
                return esi_err_set(e, ES_ENOMEM, "out of memory expanding a prefix");
            for (size_t i = 0; i < x->n; i++)
                x->idf[i] = esi_score_idf(x->df[i], snap->live_docs);
        }
        for (c.seg = 0; c.seg < snap->nsegs; c.seg++) {
            es_status rc = esi_segment_prefix_terms(snap->segs[c.seg], pre, k->len,
                                                    on_term, &c, e);
            if (rc == ES_OK)
                rc = c.rc;
            if (rc == ES_ELIMIT)
                return too_many(pre, k->len, e);
            if (rc == ES_ENOMEM)
                return esi_err_set(e, rc, "out of memory expanding a prefix");
            if (rc != ES_OK)
                return rc;
        }
    }
    return ES_OK;
}

void esi_prefix_set_free(esi_prefix_set *x)
{
    esi_buf_free(&x->bytes);
    esi_free(x->off);
    esi_free(x->len);
    esi_free(x->df);
    esi_free(x->idf);
    esi_free(x->ti);
    esi_free(x->found);
    memset(x, 0, sizeof *x);
}
