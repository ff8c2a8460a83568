/*
 * query_lower.c: step 2 of query building. Every TEXT leaf of the syntax
 * tree is analyzed with the same analyzer the index uses (so full-width,
 * Traditional/Simplified and case fold identically) and replaced:
 *
 *   "quoted"      one PHRASE: a CJK run of L >= 2 units becomes the bigrams
 *                 at offsets 0,2,4,...,L-2 (plus L-2), which cover every
 *                 character; for L >= 3 also every HAN term at its offset,
 *                 because most bigrams are stored without positions and
 *                 only narrow the documents (exec.c decides per segment
 *                 which positions to read); one CJK char its HAN term; Latin/number tokens
 *                 their own keys. Matching docs are exactly those whose N(text)
 *                 holds N(phrase) (the analyzer's phrase guarantee).
 *   bare text     an AND of its parts: each Latin/number token a one-key
 *                 PHRASE; each CJK run an AND of its ICU words, each word a
 *                 required exact sub-phrase, with the whole run attached as
 *                 a bonus phrase (only scored).
 *   word*         PREFIX on one Latin word or number.
 *   punctuation   NONE, removed by the simplification that follows.
 *
 * Field leaves use "<field>\x1f<key>" keys. Body phrases also record their
 * unit keys (for highlighting) and a title twin (for the title boost).
 * Finally the tree is simplified (NONE dropped, nested AND/OR flattened,
 * single-kid nodes collapsed) and checked: NOT may only narrow a search.
 */
#include "query.h"

#include <stdio.h>

/* One analyzed unit or bigram of a leaf. */
typedef struct unit {
    es_token_kind kind;
    uint32_t pos, span;
    uint32_t off, len;       /* key bytes in the lowering scratch buffer */
} unit;

typedef struct lower {
    es_query *q;
    esi_analyzer *a;
    esi_err *e;
    size_t *errpos;
    esi_buf scratch;         /* token key bytes of the current leaf */
    unit *toks;              /* tokens of the current leaf, analyzer order */
    size_t ntoks, tcap;
    es_status rc;
    int32_t *ux, *bx;        /* token index of the unit / bigram per position */
    uint32_t nunits;
} lower;

/* Record an error of the lowering pass at byte pos through l's esi_err
 * and error position; returns code. */
#define fail(l, ...) esi_query_fail((l)->e, (l)->errpos, __VA_ARGS__)

/* Analyzer callback: keep every token of the leaf. */
static int on_token(const es_token *t, void *payload)
{
    lower *l = payload;
    if (!esi_grow((void **)&l->toks, &l->tcap, l->ntoks + 1, sizeof *l->toks)) {
        l->rc = ES_ENOMEM;
        return 1;
    }
    size_t off = l->scratch.len;
    esi_buf_put(&l->rc, &l->scratch, t->term, t->term_len);
    if (l->rc != ES_OK)
        return 1;
    l->toks[l->ntoks++] = (unit){ t->kind, t->position, t->span, (uint32_t)off,
                                  (uint32_t)t->term_len };
    return 0;
}

/* The unit token (HAN/LATIN/NUMBER) at position pos (< units: indexed). */
static const unit *unit_at(const lower *l, uint32_t pos)
{
    return &l->toks[l->ux[pos]];
}

/* True if a bigram starts at position pos. */
static bool has_bigram(const lower *l, uint32_t pos)
{
    return pos < l->nunits && l->bx[pos] >= 0;
}

/* The bigram token at position pos (has_bigram must hold). */
static const unit *bigram_at(const lower *l, uint32_t pos)
{
    return &l->toks[l->bx[pos]];
}

/* Index the leaf's tokens by position; ES_ERROR if a position has no unit. */
static es_status index_units(lower *l, uint32_t units)
{
    esi_free(l->ux);
    esi_free(l->bx);
    l->ux = esi_malloc((units ? units : 1) * sizeof *l->ux);
    l->bx = esi_malloc((units ? units : 1) * sizeof *l->bx);
    if (!l->ux || !l->bx)
        return ES_ENOMEM;
    for (uint32_t i = 0; i < units; i++)
        l->ux[i] = l->bx[i] = -1;
    l->nunits = units;
    for (size_t i = 0; i < l->ntoks; i++) {
        const unit *t = &l->toks[i];
        if (t->pos >= units)
            continue;
        if (t->kind == ES_TOKEN_BIGRAM)
            l->bx[t->pos] = (int32_t)i;
        else if (t->kind != ES_TOKEN_WORD && l->ux[t->pos] < 0)
            l->ux[t->pos] = (int32_t)i;
    }
    for (uint32_t i = 0; i < units; i++)
        if (l->ux[i] < 0)
            return esi_err_set(l->e, ES_ERROR, "query: the analyzer gave no unit "
                               "at position %u; report this query", i);
    return ES_OK;
}

/* Append a key (field-prefixed) at offset `at` to q->keys. */
static es_status add_key(lower *l, const char *field, size_t flen,
                         const uint8_t *bytes, size_t n, uint32_t at)
{
    es_query *q = l->q;
    if (q->nkeys >= ESI_QUERY_MAX_TERMS)
        return ES_ELIMIT;
    if (!esi_grow((void **)&q->keys, &q->kcap, q->nkeys + 1, sizeof *q->keys))
        return ES_ENOMEM;
    es_status rc = ES_OK;
    size_t off = q->bytes.len;
    if (flen) {
        esi_buf_put(&rc, &q->bytes, field, flen);
        esi_buf_put_u8(&rc, &q->bytes, ESI_FIELD_SEP);
    }
    esi_buf_put(&rc, &q->bytes, bytes, n);
    if (rc != ES_OK)
        return rc;
    if (q->bytes.len > UINT32_MAX)
        return ES_ELIMIT;
    q->keys[q->nkeys++] = (esi_qkey){ (uint32_t)off, (uint32_t)(q->bytes.len - off),
                                      at };
    return ES_OK;
}

/* Append a unit key (no field) to q->units. */
static es_status add_unit(lower *l, const uint8_t *bytes, size_t n, uint32_t at)
{
    es_query *q = l->q;
    if (!esi_grow((void **)&q->units, &q->ucap, q->nunits + 1, sizeof *q->units))
        return ES_ENOMEM;
    es_status rc = ES_OK;
    size_t off = q->bytes.len;
    esi_buf_put(&rc, &q->bytes, bytes, n);
    if (rc != ES_OK)
        return rc;
    if (q->bytes.len > UINT32_MAX)
        return ES_ELIMIT;
    q->units[q->nunits++] = (esi_qkey){ (uint32_t)off, (uint32_t)n, at };
    return ES_OK;
}

/* Add a phrase over the units [from, to) of the current leaf in field
 * (flen 0 = body); *out gets its index. With twin, a body phrase also gets
 * its title-field copy. */
static es_status add_phrase(lower *l, const char *field, size_t flen,
                            uint32_t from, uint32_t to, bool bonus, bool twin,
                            int32_t *out)
{
    es_query *q = l->q;
    if (!esi_grow((void **)&q->phrases, &q->phcap, q->nphrases + 1, sizeof *q->phrases))
        return ES_ENOMEM;
    if (q->nphrases >= INT32_MAX)
        return ES_ELIMIT;
    esi_qphrase ph = { (uint32_t)q->nkeys, 0, (uint32_t)q->nunits, 0, to - from,
                       flen == 0, false, bonus, -1 };
    const uint8_t *sb = l->scratch.data;
    es_status rc = ES_OK;
    uint32_t p = from;
    while (rc == ES_OK && p < to) {
        const unit *u = unit_at(l, p);
        if (u->kind != ES_TOKEN_HAN) {
            rc = add_key(l, field, flen, sb + u->off, u->len, p - from);
            p++;
            continue;
        }
        uint32_t e = p + 1;               /* the CJK run [p, e) */
        while (e < to && has_bigram(l, e - 1) && unit_at(l, e)->kind == ES_TOKEN_HAN)
            e++;
        if (e - p == 1) {
            rc = add_key(l, field, flen, sb + u->off, u->len, p - from);
        } else {
            for (uint32_t b = p; rc == ES_OK && b + 1 < e; b += 2) {
                const unit *g = bigram_at(l, b);
                rc = add_key(l, field, flen, sb + g->off, g->len, b - from);
            }
            if (rc == ES_OK && (e - p) % 2 == 1) {
                const unit *g = bigram_at(l, e - 2);
                rc = add_key(l, field, flen, sb + g->off, g->len, e - 2 - from);
            }
            /* Most pairs are indexed without positions (lib/api/writer.c):
             * they only narrow the documents. A run of three or more
             * characters is verified on the positions of its single
             * characters, or of the pairs that have them (exec.c). */
            for (uint32_t c = p; rc == ES_OK && e - p > 2 && c < e; c++) {
                const unit *h = unit_at(l, c);
                rc = add_key(l, field, flen, sb + h->off, h->len, c - from);
            }
        }
        p = e;
    }
    for (uint32_t i = from; rc == ES_OK && flen == 0 && i < to; i++) {
        const unit *u = unit_at(l, i);
        rc = add_unit(l, sb + u->off, u->len, i - from);
    }
    if (rc != ES_OK)
        return rc;
    ph.nkeys = (uint32_t)(q->nkeys - ph.first_key);
    ph.nunits = (uint32_t)(q->nunits - ph.first_unit);
    int32_t idx = (int32_t)q->nphrases;
    q->phrases[q->nphrases++] = ph;
    if (twin && flen == 0) {
        int32_t t;
        rc = add_phrase(l, "title", 5, from, to, false, false, &t);
        if (rc != ES_OK)
            return rc;
        q->phrases[idx].title_twin = t;
    }
    *out = idx;
    return ES_OK;
}

/* Make a leaf node of op over phrase ph. */
static es_status leaf_node(lower *l, esi_qop op, size_t pos, int32_t ph,
                           int32_t *out)
{
    int32_t n = esi_query_new_node(l->q, op, pos);
    if (n < 0)
        return ES_ENOMEM;
    l->q->nodes[n].phrase = ph;
    *out = n;
    return ES_OK;
}

/* True if units [a, a+n) and [b, b+n) of the leaf have the same keys. */
static bool same_units(const lower *l, uint32_t a, uint32_t b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const unit *x = unit_at(l, a + i), *y = unit_at(l, b + i);
        if (x->len != y->len ||
            memcmp(l->scratch.data + x->off, l->scratch.data + y->off, x->len))
            return false;
    }
    return true;
}

/* Lower a bare CJK run [s, e): its words as required phrases, the whole run
 * as bonus. Appends kids to the list ending at *last; *first set if empty. */
static es_status lower_run(lower *l, const char *field, size_t flen, size_t pos,
                           uint32_t s, uint32_t e, int32_t *out)
{
    es_status rc;
    int32_t ph;
    if (e - s == 1) {
        if ((rc = add_phrase(l, field, flen, s, e, false, true, &ph)) != ES_OK)
            return rc;
        return leaf_node(l, ESI_QOP_PHRASE, pos, ph, out);
    }
    int32_t and = esi_query_new_node(l->q, ESI_QOP_AND, pos);
    if (and < 0)
        return ES_ENOMEM;
    int32_t last = -1, nwords = 0;
    uint32_t ws[ESI_QUERY_MAX_TERMS], wl[ESI_QUERY_MAX_TERMS];
    uint32_t covered = s;
    size_t ti = 0;
    while (covered < e) {
        /* The next piece: the ICU word starting here, else one char. */
        uint32_t from = covered, to = covered + 1;
        while (ti < l->ntoks && (l->toks[ti].kind != ES_TOKEN_WORD ||
                                 l->toks[ti].pos < covered))
            ti++;
        if (ti < l->ntoks && l->toks[ti].pos == covered && l->toks[ti].pos < e) {
            to = covered + l->toks[ti].span;
            if (to > e || to <= from)
                to = to <= from ? from + 1 : e;
        }
        covered = to;
        bool dup = false;
        for (int32_t w = 0; w < nwords && !dup; w++)
            dup = wl[w] == to - from && same_units(l, ws[w], from, to - from);
        if (dup)
            continue;
        if (nwords >= ESI_QUERY_MAX_TERMS)
            return ES_ELIMIT;
        ws[nwords] = from;
        wl[nwords++] = to - from;
        int32_t n;
        if ((rc = add_phrase(l, field, flen, from, to, false, true, &ph)) != ES_OK ||
            (rc = leaf_node(l, ESI_QOP_PHRASE, pos, ph, &n)) != ES_OK)
            return rc;
        if (last >= 0)
            l->q->nodes[last].next = n;
        else
            l->q->nodes[and].kid = n;
        last = n;
    }
    if (nwords == 1) {
        *out = l->q->nodes[and].kid;
        l->q->nodes[and].op = ESI_QOP_NONE;   /* unreachable husk */
        l->q->nodes[and].kid = -1;
        return ES_OK;
    }
    if ((rc = add_phrase(l, field, flen, s, e, true, false, &ph)) != ES_OK)
        return rc;
    l->q->phrases[ph].bonus = true;
    l->q->nodes[and].phrase = ph;
    *out = and;
    return ES_OK;
}

/* Lower TEXT node n in place. */
static es_status lower_leaf(lower *l, int32_t n)
{
    es_query *q = l->q;
    esi_qnode nd = q->nodes[n];
    const char *field = q->text + nd.field_start;
    size_t flen = nd.field_len;
    esi_buf_reset(&l->scratch);
    l->ntoks = 0;
    l->rc = ES_OK;
    unsigned flags = ES_TOKENIZE_INDEX | (nd.quoted ? 0 : ES_TOKENIZE_WORDS);
    es_status rc = esi_analyze(l->a, q->text + nd.text_start, nd.text_len, flags,
                               on_token, l, l->e);
    if (rc == ES_OK)
        rc = l->rc;
    if (rc != ES_OK)
        return rc;
    uint32_t units = 0;
    for (size_t i = 0; i < l->ntoks; i++)
        if (l->toks[i].kind != ES_TOKEN_WORD && l->toks[i].pos + 1 > units)
            units = l->toks[i].pos + 1;
    int32_t repl;
    if ((rc = index_units(l, units)) != ES_OK)
        return rc;
    if (units == 0) {
        q->nodes[n].op = ESI_QOP_NONE;
        return ES_OK;
    }
    if (nd.prefix) {
        const unit *u = unit_at(l, 0);
        if (units != 1 || (u->kind != ES_TOKEN_LATIN && u->kind != ES_TOKEN_NUMBER))
            return fail(l, ES_ESYNTAX, nd.pos, "prefix search (*) works on one "
                        "Latin word or number, e.g. edu* or 202*");
        int32_t ph;
        if ((rc = add_phrase(l, field, flen, 0, 1, false, true, &ph)) != ES_OK)
            return rc;
        q->phrases[ph].prefix = true;
        if (q->phrases[ph].title_twin >= 0)
            q->phrases[q->phrases[ph].title_twin].prefix = true;
        q->nodes[n].op = ESI_QOP_PREFIX;
        q->nodes[n].phrase = ph;
        return ES_OK;
    }
    if (nd.quoted) {
        int32_t ph;
        if ((rc = add_phrase(l, field, flen, 0, units, false, true, &ph)) != ES_OK)
            return rc;
        q->nodes[n].op = ESI_QOP_PHRASE;
        q->nodes[n].phrase = ph;
        return ES_OK;
    }
    /* Bare: split into Latin/number tokens and CJK runs. */
    int32_t first = -1, last = -1, count = 0;
    for (uint32_t p = 0; p < units;) {
        const unit *u = unit_at(l, p);
        uint32_t e = p + 1;
        int32_t k, ph;
        if (u->kind == ES_TOKEN_HAN) {
            while (e < units && has_bigram(l, e - 1))
                e++;
            rc = lower_run(l, field, flen, nd.pos, p, e, &k);
        } else {
            rc = add_phrase(l, field, flen, p, e, false, true, &ph);
            if (rc == ES_OK)
                rc = leaf_node(l, ESI_QOP_PHRASE, nd.pos, ph, &k);
        }
        if (rc != ES_OK)
            return rc;
        if (last >= 0)
            q->nodes[last].next = k;
        else
            first = k;
        last = k;
        count++;
        p = e;
    }
    if (count == 1) {
        repl = first;
        int32_t next = q->nodes[n].next;
        q->nodes[n] = q->nodes[repl];
        q->nodes[n].next = next;
        q->nodes[repl].op = ESI_QOP_NONE;
        q->nodes[repl].kid = -1;
        return ES_OK;
    }
    q->nodes[n].op = ESI_QOP_AND;
    q->nodes[n].kid = first;
    q->nodes[n].phrase = -1;
    return ES_OK;
}

/* Lower every TEXT node under n (the node array may grow: index, not pointer). */
static es_status lower_tree(lower *l, int32_t n)
{
    if (l->q->nodes[n].op == ESI_QOP_TEXT)
        return lower_leaf(l, n);
    for (int32_t k = l->q->nodes[n].kid; k >= 0; k = l->q->nodes[k].next) {
        es_status rc = lower_tree(l, k);
        if (rc != ES_OK)
            return rc;
    }
    return ES_OK;
}

/* Simplify the subtree at n: returns the replacement index (-1 = NONE). */
static int32_t simplify(es_query *q, int32_t n)
{
    esi_qnode *nd = &q->nodes[n];
    if (nd->op == ESI_QOP_NONE)
        return -1;
    if (nd->op != ESI_QOP_AND && nd->op != ESI_QOP_OR && nd->op != ESI_QOP_NOT)
        return n;
    int32_t first = -1, last = -1, count = 0;
    for (int32_t k = nd->kid, next; k >= 0; k = next) {
        next = q->nodes[k].next;
        int32_t s = simplify(q, k);
        if (s < 0)
            continue;
        esi_qnode *sk = &q->nodes[s];
        bool flatten = sk->op == q->nodes[n].op && q->nodes[n].op != ESI_QOP_NOT &&
                       sk->phrase < 0;
        int32_t from = flatten ? sk->kid : s;
        for (int32_t c = from, cn; c >= 0; c = cn) {
            cn = flatten ? q->nodes[c].next : -1;
            q->nodes[c].next = -1;
            if (last >= 0)
                q->nodes[last].next = c;
            else
                first = c;
            last = c;
            count++;
        }
    }
    nd = &q->nodes[n];
    nd->kid = first;
    if (count == 0)
        return -1;
    if (nd->op == ESI_QOP_NOT && q->nodes[first].op == ESI_QOP_NOT)
        return q->nodes[first].kid;           /* NOT NOT x = x */
    if (count == 1 && nd->op != ESI_QOP_NOT && nd->phrase < 0)
        return first;
    return n;
}

/* True if the subtree at n selects documents by itself (not only excludes). */
static bool positive(const es_query *q, int32_t n, size_t *badpos,
                     const char **why)
{
    const esi_qnode *nd = &q->nodes[n];
    switch (nd->op) {
    case ESI_QOP_NOT:
        *badpos = nd->pos;
        *why = "a search cannot consist only of excluded terms (NOT, -); add a "
               "term to search for";
        return false;
    case ESI_QOP_AND: {
        bool any = false;
        for (int32_t k = nd->kid; k >= 0; k = q->nodes[k].next) {
            const esi_qnode *kn = &q->nodes[k];
            if (kn->op == ESI_QOP_NOT) {
                size_t bp;
                const char *w;
                if (kn->kid >= 0 && q->nodes[kn->kid].op != ESI_QOP_NOT &&
                    !positive(q, kn->kid, &bp, &w)) {
                    *badpos = bp;
                    *why = w;
                    return false;
                }
                if (!any)
                    *badpos = kn->pos;
                continue;
            }
            if (!positive(q, k, badpos, why))
                return false;
            any = true;
        }
        if (!any)
            *why = "a search cannot consist only of excluded terms (NOT, -); add "
                   "a term to search for";
        return any;
    }
    case ESI_QOP_OR:
        for (int32_t k = nd->kid; k >= 0; k = q->nodes[k].next)
            if (!positive(q, k, badpos, why)) {
                if (q->nodes[k].op == ESI_QOP_NOT) {
                    *badpos = nd->pos;
                    *why = "each side of OR needs a term to search for, not only "
                           "excluded ones";
                }
                return false;
            }
        return true;
    default:
        return true;
    }
}

es_status esi_query_lower(es_query *q, esi_analyzer *a, size_t *errpos,
                          esi_err *e)
{
    lower l = { q, a, e, errpos, { 0 }, NULL, 0, 0, ES_OK, NULL, NULL, 0 };
    es_status rc = lower_tree(&l, q->root);
    esi_buf_free(&l.scratch);
    esi_free(l.toks);
    esi_free(l.ux);
    esi_free(l.bx);
    if (rc == ES_ENOMEM)
        return esi_err_set(e, rc, "out of memory analyzing a query");
    if (rc == ES_ELIMIT)
        return fail(&l, ES_ELIMIT, 0, "more than %d terms in one query after "
                    "analysis (each Chinese character pair counts)",
                    ESI_QUERY_MAX_TERMS);
    if (rc != ES_OK)
        return rc;
    q->root = simplify(q, q->root);
    if (q->root < 0)
        return fail(&l, ES_ESYNTAX, 0, "the query has no searchable term (only "
                    "punctuation or spaces); type a word, a number or a Chinese "
                    "character");
    size_t bad = 0;
    const char *why = "";
    if (!positive(q, q->root, &bad, &why))
        return fail(&l, ES_ESYNTAX, bad, "%s", why);
    return ES_OK;
}
