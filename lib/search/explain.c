/*
 * explain.c: the text of es_query_explain — the lowered query tree, one
 * node a line, with every index key a phrase needs (and every pair it
 * implies), its offset in the phrase and the number of documents of the
 * snapshot holding it. For a person asking why a query matches what it
 * does (Manticore's users live on CALL KEYWORDS for this); a format to
 * read, not to parse.
 */
#include "search.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct xctx {
    es_status rc;
    esi_buf *b;
    const es_query *q;
    const esi_snapshot *snap;
    esi_err *e;
} xctx;

static void putf(xctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(xctx *x, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        esi_buf_put(&x->rc, x->b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void indent(xctx *x, int depth)
{
    for (int i = 0; i < depth; i++)
        esi_buf_put(&x->rc, x->b, "  ", 2);
}

/* A key as the user would write it: a field's separator shown as ':'. */
static void put_key(xctx *x, const uint8_t *k, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        esi_buf_put_u8(&x->rc, x->b, k[i] == ESI_FIELD_SEP ? ':' : k[i]);
}

/* Documents of the snapshot whose segments hold key k (deleted ones not
 * yet merged away included). */
static es_status key_docs(xctx *x, const uint8_t *k, uint32_t len, uint64_t *df)
{
    *df = 0;
    for (size_t s = 0; s < x->snap->nsegs; s++) {
        esi_term_info ti;
        es_status rc = esi_segment_lookup(x->snap->segs[s], k, len, &ti, x->e);
        if (rc == ES_OK)
            *df += ti.df;
        else if (rc != ES_ENOTFOUND)
            return rc;
    }
    return ES_OK;
}

/* Code points of the UTF-8 bytes t[0..n). */
static uint32_t code_points(const uint8_t *t, uint32_t n)
{
    uint32_t c = 0;
    for (uint32_t i = 0; i < n; i++)
        c += (t[i] & 0xc0) != 0x80;
    return c;
}

/* A field phrase's text (it keeps no units): its field, then from offset 0
 * on the key of fewest code points at each offset (a character, or a
 * Latin/number token, rather than a pair), skipping the second character
 * of a pair that has no single character under it. */
static void field_text(xctx *x, const esi_qphrase *f)
{
    const es_query *q = x->q;
    const uint8_t *prev = NULL;
    for (uint32_t a = 0; a < f->span;) {
        const uint8_t *best = NULL;
        uint32_t blen = 0, bcp = UINT32_MAX, flen = 0;
        for (uint32_t i = 0; i < f->nkeys; i++) {
            const esi_qkey *k = &q->keys[f->first_key + i];
            const uint8_t *kb = esi_qkey_bytes(q, k);
            const uint8_t *sep = memchr(kb, ESI_FIELD_SEP, k->len);
            uint32_t fl = sep ? (uint32_t)(sep - kb) + 1 : 0;
            uint32_t cp = code_points(kb + fl, k->len - fl);
            if (k->at == a && fl < k->len && cp < bcp) {
                best = kb;
                blen = k->len;
                bcp = cp;
                flen = fl;
            }
        }
        if (!best)
            break;
        if (!prev)
            put_key(x, best, flen);                /* "title:" */
        const uint8_t *t = best + flen;
        if (prev && t[0] < 0x80 && prev[0] < 0x80)
            esi_buf_put_u8(&x->rc, x->b, ' ');   /* two Latin/number units */
        esi_buf_put(&x->rc, x->b, t, blen - flen);
        prev = t;
        a += bcp == 2 && t[0] >= 0x80 ? 2 : 1;  /* a pair covers two units */
    }
}

/* esi_pair_fn of phrase(): a line for an implied pair. */
typedef struct xpair {
    xctx *x;
    int depth;
} xpair;

static es_status implied_line(void *p, uint32_t at, const uint8_t *term, uint32_t len)
{
    xpair *xp = p;
    xctx *x = xp->x;
    uint64_t df = 0;
    es_status rc = key_docs(x, term, len, &df);
    if (rc != ES_OK)
        return rc;
    indent(x, xp->depth);
    putf(x, "implied pair ");
    put_key(x, term, len);
    putf(x, " (offset %u): %llu document%s\n", at, (unsigned long long)df,
         df == 1 ? "" : "s");
    return ES_OK;
}

/* A line of an expansion: a term's documents and its index in the set;
 * most documents first, then the set's (bytewise) order. */
typedef struct xterm {
    uint64_t df;
    size_t i;
} xterm;

static int by_docs(const void *a, const void *b)
{
    const xterm *u = a, *v = b;
    return u->df != v->df ? (u->df < v->df ? 1 : -1) : (u->i > v->i) - (u->i < v->i);
}

/* The terms prefix phrase ph expands to over the snapshot, the commonest
 * ESI_EXPLAIN_PREFIX_TERMS of them a line each (the search ORs them all);
 * a prefix the search refuses (too many terms) says so instead. */
enum { ESI_EXPLAIN_PREFIX_TERMS = 20 };

static es_status expansion(xctx *x, int32_t ph, int depth)
{
    esi_prefix_set px = { 0 };
    esi_err quiet;
    esi_err_clear(&quiet);
    es_status rc = esi_prefix_expand(x->snap, x->q, ph, false, &px, &quiet);
    indent(x, depth);
    if (rc == ES_ELIMIT) {
        putf(x, "more than %d terms start so: the search refuses it (%s)\n",
             ESI_PREFIX_MAX, quiet.msg);
        esi_prefix_set_free(&px);
        return ES_OK;
    }
    if (rc != ES_OK) {
        *x->e = quiet;
        esi_prefix_set_free(&px);
        return rc;
    }
    if (px.n == 0)
        putf(x, "no term starts so: it matches nothing\n");
    else if (px.n == 1)
        putf(x, "1 term starts so\n");
    else
        putf(x, "%zu terms start so; any of them matches\n", px.n);
    xterm *ord = esi_malloc((px.n ? px.n : 1) * sizeof *ord);
    if (!ord) {
        esi_prefix_set_free(&px);
        return esi_err_set(x->e, ES_ENOMEM, "out of memory explaining a query");
    }
    for (size_t i = 0; i < px.n; i++)
        ord[i] = (xterm){ px.df[i], i };
    qsort(ord, px.n, sizeof *ord, by_docs);
    size_t shown = px.n < ESI_EXPLAIN_PREFIX_TERMS ? px.n : ESI_EXPLAIN_PREFIX_TERMS;
    for (size_t k = 0; k < shown; k++) {
        size_t i = ord[k].i;
        indent(x, depth);
        putf(x, "term ");
        put_key(x, (const uint8_t *)px.bytes.data + px.off[i], px.len[i]);
        putf(x, ": %llu document%s\n", (unsigned long long)px.df[i],
             px.df[i] == 1 ? "" : "s");
    }
    if (shown < px.n) {
        indent(x, depth);
        putf(x, "... and %zu more\n", px.n - shown);
    }
    esi_free(ord);
    esi_prefix_set_free(&px);
    return ES_OK;
}

/* Phrase ph: what it is, then a line per key and per implied pair (a pair
 * of adjacent characters that is not a key, checked before any position:
 * esi_phrase_implied_pairs). */
static es_status phrase(xctx *x, int32_t ph, int depth, bool bonus)
{
    const es_query *q = x->q;
    const esi_qphrase *f = &q->phrases[ph];
    indent(x, depth);
    putf(x, "%s%s", bonus ? "BONUS " : "", f->prefix ? "PREFIX " : "PHRASE ");
    if (f->nunits) {               /* a body phrase: its units, as analyzed */
        for (uint32_t i = 0; i < f->nunits; i++) {
            const esi_qkey *u = &q->units[f->first_unit + i];
            const uint8_t *t = esi_qkey_bytes(q, u);
            const esi_qkey *p = i ? u - 1 : NULL;
            if (p && t[0] < 0x80 && esi_qkey_bytes(q, p)[0] < 0x80)
                esi_buf_put_u8(&x->rc, x->b, ' ');   /* two Latin/number units */
            put_key(x, t, u->len);
        }
    } else if (f->prefix) {        /* one key */
        const esi_qkey *k = &q->keys[f->first_key];
        put_key(x, esi_qkey_bytes(q, k), k->len);
    } else {
        field_text(x, f);
    }
    if (f->prefix)
        putf(x, "*");
    else if (bonus)
        putf(x, ": not required; scored where the whole run occurs");
    if (f->title_twin >= 0)
        putf(x, "%s also scored in the title", bonus ? ";" : ":");
    putf(x, "\n");
    if (f->prefix)
        return expansion(x, ph, depth + 1);
    for (uint32_t i = 0; i < f->nkeys && !f->prefix; i++) {
        const esi_qkey *k = &q->keys[f->first_key + i];
        uint64_t df;
        es_status rc = key_docs(x, esi_qkey_bytes(q, k), k->len, &df);
        if (rc != ES_OK)
            return rc;
        indent(x, depth + 1);
        putf(x, "key ");
        put_key(x, esi_qkey_bytes(q, k), k->len);
        putf(x, " (offset %u): %llu document%s\n", k->at, (unsigned long long)df,
             df == 1 ? "" : "s");
    }
    xpair xp = { x, depth + 1 };
    bool chain;
    es_status rc = esi_phrase_implied_pairs(q, f, &chain, implied_line, &xp);
    if (rc == ES_ENOMEM)
        rc = esi_err_set(x->e, rc, "out of memory explaining a query");
    return rc;
}

static es_status node(xctx *x, int32_t n, int depth)
{
    const es_query *q = x->q;
    const esi_qnode *nd = &q->nodes[n];
    es_status rc = ES_OK;
    switch (nd->op) {
    case ESI_QOP_AND: case ESI_QOP_OR: case ESI_QOP_NOT:
        indent(x, depth);
        putf(x, "%s\n", nd->op == ESI_QOP_AND ? "AND: every kid (NOT kids exclude)" :
                        nd->op == ESI_QOP_OR ? "OR: any kid" : "NOT");
        for (int32_t k = nd->kid; k >= 0 && rc == ES_OK; k = q->nodes[k].next)
            rc = node(x, k, depth + 1);
        if (rc == ES_OK && nd->op == ESI_QOP_AND && nd->phrase >= 0)
            rc = phrase(x, nd->phrase, depth + 1, true);
        return rc;
    case ESI_QOP_DATE:
        indent(x, depth);
        putf(x, "DATE: the date column (yyyymmdd; a year alone is yyyy0000) in "
             "[%08u, %08u]\n", nd->date_lo, nd->date_hi);
        return ES_OK;
    case ESI_QOP_PHRASE: case ESI_QOP_PREFIX:
        return phrase(x, nd->phrase, depth, false);
    default:                       /* TEXT and NONE do not survive lowering */
        indent(x, depth);
        putf(x, "NOTHING: no searchable character\n");
        return ES_OK;
    }
}

es_status esi_query_explain(const es_query *q, const esi_snapshot *snap, esi_buf *out,
                            esi_err *e)
{
    xctx x = { ES_OK, out, q, snap, e };
    putf(&x, "query: ");
    esi_buf_put(&x.rc, out, q->text, q->len);
    putf(&x, "\nindex: %llu live documents in %zu segment%s\n",
         (unsigned long long)snap->live_docs, snap->nsegs, snap->nsegs == 1 ? "" : "s");
    es_status rc = q->root >= 0 ? node(&x, q->root, 0) : ES_OK;
    if (q->root < 0)
        putf(&x, "NOTHING: no searchable character\n");
    esi_buf_terminate(&x.rc, out);
    if (rc == ES_OK && x.rc != ES_OK)
        rc = esi_err_set(e, x.rc, "out of memory explaining a query");
    return rc;
}
