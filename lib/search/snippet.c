/*
 * snippet.c: highlighted snippets and match ranges for one hit. The stored
 * text is analyzed with the index analyzer, which reports every unit (one
 * CJK char or one Latin/number token) with its byte range in the ORIGINAL
 * text; the query's body phrases (in unit keys) are matched against that
 * unit sequence, so a highlight covers exactly what the index matched,
 * through every normalization. Ranges are merged when they overlap or touch,
 * then the best 1-3 ICU sentences (those holding the most distinct phrases,
 * then the most matches) are copied in text order, long ones trimmed to a
 * window around their first match, with the markers inserted at range
 * boundaries — which are always UTF-8 character boundaries.
 * Phrases reachable only through NOT are not highlighted.
 *
 * Only small regions of the text are analyzed, yet every match of the whole
 * text is found (the ranges are exact). One scan folds each code point of
 * the text on its own (esi_fold_alone in analyzer.h: the key normalizer's
 * output for one code point alone, cached per process). A code point is
 * "risky" when that alone-value may differ in context (NFKC_CF has no boundary
 * before it, so it may combine with what precedes; it maps to several code
 * points; or it is supplementary and not cached). The first raw character
 * of any unit of a match either is risky or folds to that unit's first key
 * code point, so for each phrase one unit is chosen as the anchor (the one
 * whose code point the scan counted least often in this text) and every
 * occurrence of an anchor code point, and every risky code point, is a
 * candidate. Each candidate gets a region reaching a margin of plain CJK
 * characters on both sides (its phrase's units + 1; W + 1 for a risky code
 * point or a one-character run word, W = the longest phrase in units);
 * overlapping regions merge. Region ends are plain CJK characters:
 * NFKC_CF has a boundary there, a Latin/number run cannot continue across
 * them and CJK units do not depend on their neighbours, so analyzing a
 * region alone gives exactly the units the whole text has there. A barrier
 * unit that matches nothing separates regions, so no match spans two; the
 * margins keep every match, and every word next to a one-character run
 * word (drop_lone_chars), inside its anchor's region.
 *
 * Sentences are broken (ICU) only where they can be chosen, and chosen as
 * if the whole text had been broken. Matches are grouped between "sure
 * stops" (sure_stop: places where the whole text surely has a sentence
 * boundary); a group's score (distinct phrases, hits) bounds the score of
 * every sentence inside it. Groups are broken best first, each in a window
 * from the sure stop before it to a little past the sure stop after it
 * (the window's first and last sentences, maybe cut, are dropped; ICU
 * restarted at a boundary finds the same boundaries after it), until
 * `want` sentences are known that no remaining group can beat. Without
 * sure stops, a window of SENT_CTX bytes each side grows until its cut
 * sentences hold no match. Only when fewer sentences hold matches than are
 * wanted are the first sentences of the text broken too (the old choice:
 * earliest non-blank).
 *
 * Words of a bare run (the PHRASE kids of an AND with a bonus phrase): the
 * whole run is a phrase of its own, so where it occurs it is highlighted
 * as one piece. A word of ONE CJK character (化 of 集团/化/办学) is kept only
 * where it touches another matched word of the same run (化 in 学区化办学,
 * next to 办学), never alone (化 in 文化); the ranges of
 * es_results_matches are built from the same filtered matches.
 */
#include "search.h"

#include <stdlib.h>
#include <string.h>

/* Bytes of context each side of a group of matches for sentence breaking. */
#define SENT_CTX 768
/* A window grows (x4) until its cut sentences hold no match, up to this. */
#define SENT_CTX_MAX (64 * 1024)
/* Longest phrase (units) handled with regions; longer: analyze everything. */
#define REGION_W_MAX 256


/* Distinct first units of the wanted phrases that units are tagged with
 * (more, and the phrases look at every unit); NO_TAG: none of them. */
#define TAG_MAX 64
#define NO_TAG 0xff

/* One unit of the document. */
typedef struct dunit {
    uint32_t off, len;        /* key bytes in the scratch buffer (only for a
                                 Latin/number key or one over 4 bytes: head
                                 holds a CJK unit's whole key); len 0: barrier */
    uint32_t head;            /* first up to 4 key bytes (key_head) */
    size_t start, end;        /* original byte range */
    bool latin;               /* LATIN or NUMBER (prefix matching) */
} dunit;

/* A match: byte range plus the phrase it came from and its units. */
typedef struct match {
    size_t start, end;
    int32_t ph;
    uint32_t ustart, uend;     /* units [ustart, uend) */
} match;

/* A byte range of the text to analyze. */
typedef struct region {
    size_t s, e;
} region;

typedef struct sn {
    esi_analyzer *a;
    esi_err *e;
    esi_buf keys;
    dunit *u;
    size_t nu, ucap;
    es_status rc;
    size_t (*sent)[2];
    size_t nsent, scap;
    size_t base;               /* offset of the analyzed region in the text */
    /* a window's sentences, before they are kept */
    size_t (*ws)[2];
    size_t nws, wscap;
    /* per unit, which of the distinct first units of the wanted phrases
     * (thead, tlen) it is, NO_TAG if none (tag_units); NULL: not tagged */
    uint8_t *tag;
    uint32_t thead[TAG_MAX], tlen[TAG_MAX];
    size_t ntag;
} sn;

/* Grow a pair array to hold one more. */
static bool pairs_room(size_t (**v)[2], size_t n, size_t *cap)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 64, bytes;
    void *p;
    if (!esi_mul_ok(c, sizeof **v, &bytes) || !(p = esi_realloc(*v, bytes)))
        return false;
    *v = p;
    *cap = c;
    return true;
}

/* The first up to 4 bytes of a key as a number (zero-padded), so that a
 * unit comparison mostly needs no memcmp. */
static inline uint32_t key_head(const uint8_t *k, size_t len)
{
    switch (len) {                /* unrolled: a CJK unit's key is 3 bytes */
    case 0:
        return 0;
    case 1:
        return k[0];
    case 2:
        return k[0] | (uint32_t)k[1] << 8;
    case 3:
        return k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16;
    default:
        return k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
    }
}

/* Append a unit (a barrier when t is NULL). */
static int push_unit(sn *s, const es_token *t)
{
    if (s->nu == s->ucap) {
        size_t cap = s->ucap ? s->ucap * 2 : 256, bytes;
        dunit *p;
        if (!esi_mul_ok(cap, sizeof *p, &bytes) || !(p = esi_realloc(s->u, bytes))) {
            s->rc = ES_ENOMEM;
            return 1;
        }
        s->u = p;
        s->ucap = cap;
    }
    if (!t) {
        s->u[s->nu++] = (dunit){ 0, 0, 0, s->base, s->base, false };
        return 0;
    }
    bool latin = t->kind != ES_TOKEN_HAN;
    size_t off = 0;
    if (latin || t->term_len > 4) {        /* else the head is the whole key */
        off = s->keys.len;
        esi_buf_put(&s->rc, &s->keys, t->term, t->term_len);
        if (s->rc != ES_OK || s->keys.len > UINT32_MAX)
            return s->rc = s->rc ? s->rc : ES_ELIMIT, 1;
    }
    s->u[s->nu++] = (dunit){ (uint32_t)off, (uint32_t)t->term_len,
                             key_head((const uint8_t *)t->term, t->term_len),
                             s->base + t->start, s->base + t->end, latin };
    return 0;
}

/* Analyzer callback: keep the units (not bigrams or words). */
static int on_token(const es_token *t, void *payload)
{
    sn *s = payload;
    if (t->kind != ES_TOKEN_HAN && t->kind != ES_TOKEN_LATIN &&
        t->kind != ES_TOKEN_NUMBER)
        return 0;
    return push_unit(s, t);
}

static bool space_at(const char *t, size_t i, size_t end, size_t *n);

/* Sentence callback of a window: record [base+start, base+end). */
static int on_sentence(size_t start, size_t end, void *payload)
{
    sn *s = payload;
    if (!pairs_room(&s->ws, s->nws, &s->wscap)) {
        s->rc = ES_ENOMEM;
        return 1;
    }
    s->ws[s->nws][0] = s->base + start;
    s->ws[s->nws][1] = s->base + end;
    s->nws++;
    return 0;
}

/* ---- folding and regions ------------------------------------------------- */

/* A small set of code points: a 1024-bit filter and a sorted list. */
typedef struct cpset {
    uint64_t bits[16];
    uint32_t *v;
    size_t n;
} cpset;

/* Where cp is or would be in the set's sorted list. */
static size_t cpset_index(const cpset *c, uint32_t cp)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->v[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* True if cp is in the set. */
static inline bool cpset_has(const cpset *c, uint32_t cp)
{
    if (!(c->bits[(cp >> 6) & 15] & (1ull << (cp & 63))))
        return false;
    size_t i = cpset_index(c, cp);
    return i < c->n && c->v[i] == cp;
}

/* Order code points ascending. */
static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

/* Make the set of the n code points v (sorted and deduplicated in place). */
static void cpset_make(cpset *c, uint32_t *v, size_t n)
{
    memset(c->bits, 0, sizeof c->bits);
    if (n)
        qsort(v, n, sizeof *v, cmp_u32);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    c->v = v;
    c->n = k;
    for (size_t i = 0; i < k; i++)
        c->bits[(v[i] >> 6) & 15] |= 1ull << (v[i] & 63);
}

/* First code point of a query unit key. */
static uint32_t key_cp(const es_query *q, const esi_qkey *k)
{
    size_t i = 0;
    return k->len ? esi_utf8_next(esi_qkey_bytes(q, k), k->len, &i) : 0;
}

/* A candidate: byte offset and the index of its code point in the unit
 * set, or CAND_RISKY. */
typedef struct cand {
    size_t off;
    uint32_t idx;
} cand;
#define CAND_RISKY UINT32_MAX

/* Decode the code point at t[*i] (i < len), advancing: valid two- and
 * three-byte sequences without special cases inline, the rest by
 * esi_utf8_next (the decoder the normalizer uses). */
static inline uint32_t decode(const uint8_t *t, size_t len, size_t *i)
{
    size_t k = *i;
    uint32_t b = t[k];
    if (b < 0x80) {
        *i = k + 1;
        return b;
    }
    if (b >= 0xe1 && b <= 0xef && b != 0xed && k + 2 < len &&
        (t[k + 1] & 0xc0) == 0x80 && (t[k + 2] & 0xc0) == 0x80) {
        *i = k + 3;
        return (b & 0x0f) << 12 | (uint32_t)(t[k + 1] & 0x3f) << 6 | (t[k + 2] & 0x3f);
    }
    return esi_utf8_next(t, len, i);
}

/* Alone-fold of code point c (analyzer.h, esi_fold_alone). */
static inline uint32_t fold_of(sn *s, uint32_t c)
{
    return esi_fold_alone(s->a, c);
}

/* True for a plain CJK code point: one unit, a boundary before it. */
static inline bool plain_cjk(uint32_t f)
{
    return (f & (ESI_FOLD_CJK | ESI_FOLD_RISKY)) == ESI_FOLD_CJK;
}

/* One pass over the text: every risky code point and every plain one whose
 * fold is in set c, in text order, into *out (esi_free it); cnt[] counts
 * the plain ones per set member, *risky the risky ones. */
static es_status scan_cands(sn *s, const uint8_t *t, size_t len, const cpset *c,
                            uint32_t *cnt, size_t *risky, cand **out, size_t *nout)
{
    cand *v = NULL;
    size_t n = 0, cap = 0, r = 0;
    for (size_t i = 0; i < len;) {
        size_t o = i;
        uint32_t f = fold_of(s, decode(t, len, &i));
        uint32_t idx;
        if (f & ESI_FOLD_RISKY) {
            idx = CAND_RISKY;
            r++;
        } else if (!(f & ESI_FOLD_SEP) && cpset_has(c, ESI_FOLD_CP(f))) {
            idx = (uint32_t)cpset_index(c, ESI_FOLD_CP(f));
            cnt[idx]++;
        } else {
            continue;
        }
        if (n == cap) {
            size_t c2 = cap ? cap * 2 : 256, bytes;
            cand *p;
            if (!esi_mul_ok(c2, sizeof *p, &bytes) || !(p = esi_realloc(v, bytes))) {
                esi_free(v);
                return ES_ENOMEM;
            }
            v = p;
            cap = c2;
        }
        v[n++] = (cand){ o, idx };
    }
    if (s->rc != ES_OK) {
        esi_free(v);
        return s->rc;
    }
    *out = v;
    *nout = n;
    *risky = r;
    return ES_OK;
}

/* Offset of the r-th (r >= 1) plain CJK code point outward from the
 * character at byte o (a character boundary): before it when back, else
 * after it; or the text's edge on that side (0 or len) if there are fewer.
 * Going back, any byte that is not a UTF-8 continuation byte starts a
 * character of the forward decoding, so stepping back to one is exact. */
static size_t nth_plain(sn *s, const uint8_t *t, size_t len, size_t o, size_t r,
                        bool back)
{
    size_t p = o;   /* back: start of the last character seen; else its end */
    if (!back)
        decode(t, len, &p);
    for (;;) {
        size_t q = p;   /* start of the next character outward */
        if (back) {
            if (q == 0)
                return 0;
            q--;
            while (q > 0 && (t[q] & 0xc0) == 0x80)
                q--;
        } else if (q >= len) {
            return len;
        }
        size_t k = q;
        if (plain_cjk(fold_of(s, decode(t, len, &k))) && --r == 0)
            return q;
        p = back ? q : k;
    }
}

/* Mark in want[] the body phrases reachable from node n without a NOT. */
static void collect(const es_query *q, int32_t n, bool *want)
{
    const esi_qnode *nd = &q->nodes[n];
    if (nd->op == ESI_QOP_NOT)
        return;
    if ((nd->op == ESI_QOP_PHRASE || nd->op == ESI_QOP_PREFIX ||
         nd->op == ESI_QOP_AND) && nd->phrase >= 0 && q->phrases[nd->phrase].body)
        want[nd->phrase] = true;
    for (int32_t k = nd->kid; k >= 0; k = q->nodes[k].next)
        collect(q, k, want);
}

/* For every phrase, the bare run (1 + its index among runs, up to 32) it is
 * a word of, or 0; single[ph] is true for a run word of one CJK char. */
static void runs_of(const es_query *q, int32_t n, uint8_t *run, bool *single,
                    uint8_t *nruns)
{
    const esi_qnode *nd = &q->nodes[n];
    if (nd->op == ESI_QOP_AND && nd->phrase >= 0 && *nruns < 32) {
        uint8_t id = ++*nruns;
        for (int32_t k = nd->kid; k >= 0; k = q->nodes[k].next) {
            const esi_qnode *kd = &q->nodes[k];
            if (kd->op != ESI_QOP_PHRASE || kd->phrase < 0)
                continue;
            const esi_qphrase *f = &q->phrases[kd->phrase];
            run[kd->phrase] = id;
            if (f->nunits == 1) {
                const esi_qkey *u = &q->units[f->first_unit];
                size_t i = 0;
                uint32_t cp = esi_utf8_next(esi_qkey_bytes(q, u), u->len, &i);
                single[kd->phrase] = i == u->len && esi_is_cjk(cp);
            }
        }
    }
    for (int32_t k = nd->kid; k >= 0; k = q->nodes[k].next)
        runs_of(q, k, run, single, nruns);
}

/* Drop the matches of one-character run words that touch no other matched
 * word of their run; compacts m, returns the new count. */
static size_t drop_lone_chars(const es_query *q, match *m, size_t nm, size_t nu,
                              es_status *rc)
{
    uint8_t *run = esi_calloc(q->nphrases ? q->nphrases : 1, 1);
    bool *single = esi_calloc(q->nphrases ? q->nphrases : 1, sizeof *single);
    uint32_t *starts = NULL, *ends = NULL;    /* per unit: runs starting/ending */
    uint8_t nruns = 0;
    size_t out = nm;
    if (!run || !single) {
        *rc = ES_ENOMEM;
        goto done;
    }
    runs_of(q, q->root, run, single, &nruns);
    bool any = false;
    for (size_t i = 0; i < nm && !any; i++)
        any = single[m[i].ph];
    if (!any)
        goto done;
    starts = esi_calloc(nu + 1, sizeof *starts);
    ends = esi_calloc(nu + 1, sizeof *ends);
    if (!starts || !ends) {
        *rc = ES_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nm; i++) {
        uint8_t id = run[m[i].ph];
        if (id) {
            starts[m[i].ustart] |= 1u << (id - 1);
            ends[m[i].uend] |= 1u << (id - 1);   /* ends[u]: a word ends before u */
        }
    }
    out = 0;
    for (size_t i = 0; i < nm; i++) {
        if (single[m[i].ph]) {
            uint32_t bit = 1u << (run[m[i].ph] - 1);
            bool left = (ends[m[i].ustart] & bit) != 0;
            bool right = m[i].uend <= nu && (starts[m[i].uend] & bit) != 0;
            if (!left && !right)
                continue;
        }
        m[out++] = m[i];
    }
done:
    esi_free(run);
    esi_free(single);
    esi_free(starts);
    esi_free(ends);
    return out;
}

/* True if document unit u equals query unit k, whose key_head is kh (a
 * prefix for PREFIX). */
static inline bool unit_eq(const sn *s, const es_query *q, const dunit *u,
                           const esi_qkey *k, uint32_t kh, bool prefix)
{
    const uint8_t *b = esi_qkey_bytes(q, k);
    if (prefix)
        return u->latin && u->len >= k->len && !memcmp(s->keys.data + u->off, b, k->len);
    return u->len == k->len && u->head == kh &&
           (k->len <= 4 || !memcmp(s->keys.data + u->off, b, k->len));
}

/* Order matches by start, then end. */
static int cmp_match(const void *x, const void *y)
{
    const match *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->end < b->end ? -1 : a->end > b->end;
}

/* Append text[from, to) with control characters as spaces. */
static void put_clean(es_status *rc, esi_buf *out, const char *text, size_t from,
                      size_t to)
{
    for (size_t i = from; i < to; i++) {
        uint8_t c = (uint8_t)text[i];
        esi_buf_put_u8(rc, out, c < 0x20 || c == 0x7f ? ' ' : c);
    }
}

/* Byte offset `chars` characters after i (bounded by end). */
static size_t skip_chars(const char *t, size_t i, size_t end, size_t chars)
{
    while (chars-- > 0 && i < end)
        esi_utf8_next((const uint8_t *)t, end, &i);
    return i;
}

/* Byte offset about `chars` characters before i (not before lo): steps back
 * over continuation bytes so the result is a character boundary. */
static size_t back_chars(const char *t, size_t i, size_t lo, size_t chars)
{
    while (chars-- > 0 && i > lo) {
        i--;
        while (i > lo && ((uint8_t)t[i] & 0xc0) == 0x80)
            i--;
    }
    return i;
}

/* True for white space at t[i] (ASCII or U+3000); *n its byte length. */
static bool space_at(const char *t, size_t i, size_t end, size_t *n)
{
    uint8_t c = (uint8_t)t[i];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d)) {
        *n = 1;
        return true;
    }
    if (i + 3 <= end && !memcmp(t + i, "\xe3\x80\x80", 3)) {
        *n = 3;
        return true;
    }
    return false;
}

/* True if text[from, to) is white space only. */
static bool blank_range(const char *text, size_t from, size_t to)
{
    size_t sp;
    for (size_t b = from; b < to; b += sp)
        if (!space_at(text, b, to, &sp))
            return false;
    return true;
}

/* Analyze the regions of text (all of it when rg is NULL) into s->u, with a
 * barrier unit between two regions. */
static es_status analyze_regions(sn *s, const char *text, size_t len,
                                 const region *rg, size_t nrg)
{
    region all = { 0, len };
    if (!rg) {
        rg = &all;
        nrg = 1;
    }
    /* room for the units of CJK text at once (3 bytes each), rather than
     * doubling the array from 256 (its copies were 3% of a snippet) */
    size_t bytes = 0, want;
    for (size_t r = 0; r < nrg; r++)
        bytes += rg[r].e - rg[r].s;
    want = bytes / 3 + nrg + 16;
    if (want > s->ucap) {
        dunit *p;
        size_t sz;
        if (!esi_mul_ok(want, sizeof *p, &sz) || !(p = esi_realloc(s->u, sz)))
            return ES_ENOMEM;
        s->u = p;
        s->ucap = want;
    }
    for (size_t r = 0; r < nrg; r++) {
        s->base = rg[r].s;
        if (r > 0 && push_unit(s, NULL))
            return s->rc;
        es_status rc = esi_analyze(s->a, text + rg[r].s, rg[r].e - rg[r].s,
                                   ES_TOKENIZE_INDEX | ESI_ANALYZE_NO_BIGRAMS,
                                   on_token, s, s->e);
        if (rc == ES_OK && s->rc != ES_OK)
            rc = s->rc;
        if (rc != ES_OK)
            return rc;
    }
    return ES_OK;
}

/* Find the units of text that may hold a match of the wanted phrases and
 * analyze just those (see the top of the file). */
static es_status find_units(sn *s, const es_query *q, const bool *want,
                            const char *text, size_t len)
{
    const uint8_t *t = (const uint8_t *)text;
    size_t nuk = 0, w = 0;
    for (size_t ph = 0; ph < q->nphrases; ph++)
        if (want[ph]) {
            nuk += q->phrases[ph].nunits;
            if (q->phrases[ph].nunits > w)
                w = q->phrases[ph].nunits;
        }
    if (nuk == 0)
        return ES_OK;
    if (w > REGION_W_MAX)
        return analyze_regions(s, text, len, NULL, 0);
    size_t nph = q->nphrases ? q->nphrases : 1;
    uint32_t *all = esi_calloc(nuk, sizeof *all), *cnt = esi_calloc(nuk, sizeof *cnt);
    uint32_t *margin = esi_calloc(nuk, sizeof *margin);
    uint8_t *run = esi_calloc(nph, 1);
    bool *single = esi_calloc(nph, sizeof *single);
    uint8_t nruns = 0;
    region *rg = NULL;
    cand *cv = NULL;
    size_t nrg = 0, rcap = 0, ncv = 0, k = 0, risky = 0;
    cpset cs;
    es_status rc = ES_OK;
    if (!all || !cnt || !margin || !run || !single) {
        rc = ES_ENOMEM;
        goto done;
    }
    runs_of(q, q->root, run, single, &nruns);
    for (size_t ph = 0; ph < q->nphrases; ph++) {
        const esi_qphrase *f = &q->phrases[ph];
        if (!want[ph])
            continue;
        for (uint32_t j = 0; j < f->nunits; j++)
            all[k++] = key_cp(q, &q->units[f->first_unit + j]);
    }
    cpset_make(&cs, all, k);
    if ((rc = scan_cands(s, t, len, &cs, cnt, &risky, &cv, &ncv)) != ES_OK)
        goto done;
    /* per phrase, the unit whose code point is rarest here anchors it; with
     * no risky code point, a unit that never occurs rules the phrase out.
     * Its margin: the phrase's units + 1 on each side (the anchor may be any
     * of them), for a one-character run word w + 1 (the words it may touch
     * must lie in the same region for drop_lone_chars). */
    for (size_t ph = 0; ph < q->nphrases; ph++) {
        const esi_qphrase *f = &q->phrases[ph];
        if (!want[ph] || f->nunits == 0)
            continue;
        size_t best = 0;
        uint32_t bc = UINT32_MAX;
        for (uint32_t j = 0; j < f->nunits; j++) {
            size_t x = cpset_index(&cs, key_cp(q, &q->units[f->first_unit + j]));
            if (cnt[x] < bc) {
                bc = cnt[x];
                best = x;
            }
        }
        uint32_t need = (uint32_t)(single[ph] ? w + 1 : f->nunits + 1);
        if ((bc > 0 || risky > 0) && need > margin[best])
            margin[best] = need;
    }
    for (size_t i = 0; i < ncv; i++) {
        size_t r = cv[i].idx == CAND_RISKY ? w + 1 : margin[cv[i].idx];
        if (r == 0)
            continue;
        size_t o = cv[i].off;
        size_t e = nth_plain(s, t, len, o, r, false);
        size_t st = nth_plain(s, t, len, o, r, true);
        while (nrg && st <= rg[nrg - 1].e) {      /* merge what it reaches */
            st = rg[nrg - 1].s < st ? rg[nrg - 1].s : st;
            e = rg[nrg - 1].e > e ? rg[nrg - 1].e : e;
            nrg--;
        }
        if (nrg == rcap) {
            size_t c2 = rcap ? rcap * 2 : 16, bytes;
            region *p;
            if (!esi_mul_ok(c2, sizeof *p, &bytes) || !(p = esi_realloc(rg, bytes))) {
                rc = ES_ENOMEM;
                goto done;
            }
            rg = p;
            rcap = c2;
        }
        rg[nrg++] = (region){ st, e };
    }
    if ((rc = s->rc) != ES_OK)
        goto done;
    if (nrg)
        rc = analyze_regions(s, text, len, rg, nrg);
done:
    esi_free(all);
    esi_free(cnt);
    esi_free(margin);
    esi_free(run);
    esi_free(single);
    esi_free(cv);
    esi_free(rg);
    return rc;
}

/* Put the sentences of text[ws, we) into s->ws (cleared first). */
static es_status break_window(sn *s, const char *text, size_t ws, size_t we)
{
    s->nws = 0;
    s->base = ws;
    es_status rc = esi_sentences(s->a, text + ws, we - ws, on_sentence, s, s->e);
    if (rc == ES_OK && s->rc != ES_OK)
        rc = s->rc;
    return rc;
}

/* Sort s->sent by start and make it disjoint: a sentence inside another is
 * dropped, an overlap is clipped (windows may break the same part twice). */
static void sent_normalize(sn *s)
{
    size_t (*v)[2] = s->sent;
    size_t n = s->nsent, out = 0;
    for (size_t x = 1; x < n; x++)
        for (size_t y = x; y > 0 && (v[y - 1][0] > v[y][0] ||
                                     (v[y - 1][0] == v[y][0] && v[y - 1][1] < v[y][1])); y--) {
            size_t t0 = v[y][0], t1 = v[y][1];
            v[y][0] = v[y - 1][0];
            v[y][1] = v[y - 1][1];
            v[y - 1][0] = t0;
            v[y - 1][1] = t1;
        }
    for (size_t x = 0; x < n; x++) {
        size_t a = v[x][0], b = v[x][1];
        if (out && b <= v[out - 1][1])
            continue;
        if (out && a < v[out - 1][1])
            a = v[out - 1][1];
        v[out][0] = a;
        v[out][1] = b;
        out++;
    }
    s->nsent = out;
}

/* Append sentences [from, to) of the window list to s->sent. */
static es_status keep_window(sn *s, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++) {
        if (!pairs_room(&s->sent, s->nsent, &s->scap))
            return ES_ENOMEM;
        s->sent[s->nsent][0] = s->ws[k][0];
        s->sent[s->nsent][1] = s->ws[k][1];
        s->nsent++;
    }
    return ES_OK;
}

/* Character boundary at or after i (not past hi). */
static size_t char_start(const char *t, size_t i, size_t hi)
{
    while (i < hi && ((uint8_t)t[i] & 0xc0) == 0x80)
        i++;
    return i;
}

/* Break the ICU sentences holding text[ms, me) into s->sent: a window of
 * SENT_CTX bytes each side, grown until its possibly cut first and last
 * sentences hold none of [ms, me). */
static es_status window_sentences(sn *s, const char *text, size_t len, size_t ms,
                                  size_t me)
{
    for (size_t ctx = SENT_CTX;; ctx *= 4) {
        bool last_try = ctx >= SENT_CTX_MAX;
        size_t ws = ms > ctx ? char_start(text, ms - ctx, ms) : 0;
        size_t we = len - me > ctx ? char_start(text, me + ctx, len) : len;
        es_status rc = break_window(s, text, ws, we);
        if (rc != ES_OK)
            return rc;
        size_t a = 0, b = s->nws;
        if (ws > 0 && b > a)
            a++;                               /* maybe cut at its start */
        if (we < len && b > a)
            b--;                               /* maybe cut at its end */
        bool ok = a < b && s->ws[a][0] <= ms && s->ws[b - 1][1] >= me;
        if (ok || last_try)
            return ok ? keep_window(s, a, b) : keep_window(s, 0, s->nws);
    }
}

/* Byte length of the closing mark or space at t[i] that ICU's sentence
 * rules may attach to a sentence end (a conservative subset of Close, Sp
 * and ParaSep: ASCII space, tab, CR, LF, " ' ) ] and ” ’ 」 』 】 》 〉 ）
 * U+3000), or 0. */
static size_t closer_at(const uint8_t *t, size_t i, size_t len)
{
    uint8_t c = t[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'' ||
        c == ')' || c == ']')
        return 1;
    if (i + 3 > len)
        return 0;
    if (c == 0xe2 && t[i + 1] == 0x80 && (t[i + 2] == 0x9d || t[i + 2] == 0x99))
        return 3;
    if (c == 0xe3 && t[i + 1] == 0x80 &&
        (t[i + 2] == 0x80 || t[i + 2] == 0x89 || t[i + 2] == 0x8b ||
         t[i + 2] == 0x8d || t[i + 2] == 0x8f || t[i + 2] == 0x91))
        return 3;
    if (c == 0xef && t[i + 1] == 0xbc && t[i + 2] == 0x89)
        return 3;
    return 0;
}

/* True if the character ending right before byte i is one after which a
 * line break is surely a sentence boundary: printable ASCII or a common
 * full-width mark (。，、；：？！”’）》」』】), never a CJK character. */
static bool plain_before(const uint8_t *t, size_t i)
{
    if (i >= 1 && t[i - 1] > 0x20 && t[i - 1] < 0x7f)
        return true;
    if (i < 3)
        return false;
    const uint8_t *p = t + i - 3;
    if (p[0] == 0xe3 && p[1] == 0x80)
        return p[2] == 0x82 || p[2] == 0x81 || p[2] == 0x8b || p[2] == 0x8d ||
               p[2] == 0x8f || p[2] == 0x91;
    if (p[0] == 0xef && p[1] == 0xbc)
        return p[2] == 0x8c || p[2] == 0x9b || p[2] == 0x9a || p[2] == 0x9f ||
               p[2] == 0x81 || p[2] == 0x89;
    if (p[0] == 0xe2 && p[1] == 0x80)
        return p[2] == 0x9d || p[2] == 0x99;
    return false;
}

/* First "sure stop" in text[from, to): a place where the whole text surely
 * has an ICU sentence boundary (esi_sentences kept it) between the stop and
 * `to`. Either 。！？!? followed, after closers and spaces (closer_at), by
 * a character that is a unit of the index (so no rule joins it to the
 * sentence before), or a line feed whose preceding non-space character is
 * plain_before (so it is no line wrap between CJK characters). Returns the
 * stop's byte offset, or SIZE_MAX. */
static size_t sure_stop(sn *s, const char *text, size_t len, size_t from, size_t to)
{
    /* the bytes a sentence end or a line break can start with: most bytes
     * of CJK text (lead bytes 0xe4-0xe9, continuation bytes) are none */
    static const bool lead[256] = { ['!'] = true, ['?'] = true, ['\n'] = true,
                                    [0xe3] = true, [0xef] = true };
    const uint8_t *t = (const uint8_t *)text;
    for (size_t i = from; i < to; i++) {
        uint8_t c = t[i];
        if (!lead[c])
            continue;
        size_t cl = 0;
        if (c == '!' || c == '?')
            cl = 1;
        else if (c == 0xe3 && i + 2 < len && t[i + 1] == 0x80 && t[i + 2] == 0x82)
            cl = 3;
        else if (c == 0xef && i + 2 < len && t[i + 1] == 0xbc &&
                 (t[i + 2] == 0x81 || t[i + 2] == 0x9f))
            cl = 3;
        if (cl) {
            size_t j = i + cl, n;
            while (j < to && (n = closer_at(t, j, len)) > 0)
                j += n;
            if (j < to) {
                size_t k = j;
                uint32_t f = fold_of(s, decode(t, len, &k));
                if (!(f & (ESI_FOLD_RISKY | ESI_FOLD_SEP)))
                    return i;
            }
            continue;
        }
        if (c == '\n') {
            size_t j = i;
            while (j > 0 && (t[j - 1] == ' ' || t[j - 1] == '\t' || t[j - 1] == '\r' ||
                             t[j - 1] == '\n'))
                j--;
            if (j > 0 && plain_before(t, j))
                return i;
        }
    }
    return SIZE_MAX;
}

/* A group of matches m[a, b) that no ICU sentence crosses the borders of:
 * a sure stop lies before it (at ps, SIZE_MAX if unknown) and after it (at
 * ns). Its score bounds the score of every sentence inside it. */
typedef struct grp {
    size_t a, b;
    size_t ps, ns;
    int score;
} grp;

/* Order groups by score, then text order. */
static int cmp_grp(const void *x, const void *y)
{
    const grp *g = x, *h = y;
    if (g->score != h->score)
        return g->score > h->score ? -1 : 1;
    return g->a < h->a ? -1 : g->a > h->a;
}

/* Score of matches m[a, b): distinct phrases (up to 8) * 100 + hits (up
 * to 99), the sentence score. */
static int score_of(const match *m, size_t a, size_t b)
{
    int hits = 0, distinct = 0;
    int32_t seen[8];
    for (size_t k = a; k < b; k++) {
        bool dup = false;
        for (int d = 0; d < distinct && !dup; d++)
            dup = seen[d] == m[k].ph;
        if (!dup && distinct < 8)
            seen[distinct++] = m[k].ph;
        hits++;
    }
    return distinct * 100 + (hits > 99 ? 99 : hits);
}

/* The matches starting in sentence i of s->sent, for a caller visiting the
 * sentences in order: advances *mi past the matches before the sentence and
 * returns the end of those that start before it ends (m[*mi, end)). */
static size_t sentence_matches(const sn *s, const match *m, size_t nm, size_t i, size_t *mi)
{
    while (*mi < nm && m[*mi].start < s->sent[i][0])
        (*mi)++;
    size_t k = *mi;
    while (k < nm && m[k].start < s->sent[i][1])
        k++;
    return k;
}

/* Number of sentences of s->sent (normalized) holding a match start, and
 * in *kth the want-th best of them (score, start), as the chooser ranks. */
static size_t sentences_held(const sn *s, const match *m, size_t nm, size_t want,
                             int *kth_score, size_t *kth_start)
{
    size_t held = 0, mi = 0;
    int best[3] = { -1, -1, -1 };
    size_t bstart[3] = { 0, 0, 0 };
    for (size_t i = 0; i < s->nsent; i++) {
        size_t k = sentence_matches(s, m, nm, i, &mi);
        if (k == mi)
            continue;
        held++;
        int sc = score_of(m, mi, k);
        /* keep the top `want` (score desc, then earlier first) */
        for (size_t x = 0; x < want; x++)
            if (sc > best[x]) {
                for (size_t y = want - 1; y > x; y--) {
                    best[y] = best[y - 1];
                    bstart[y] = bstart[y - 1];
                }
                best[x] = sc;
                bstart[x] = s->sent[i][0];
                break;
            }
    }
    *kth_score = best[want - 1];
    *kth_start = bstart[want - 1];
    return held;
}

/* How far past a sure stop a window reaches (ICU's look-ahead). */
#define STOP_AHEAD 256
/* How far a sure stop is looked for before the first and after the last
 * group. */
#define STOP_SEARCH 8192

/* Break the ICU sentences of one group into s->sent. With sure stops on
 * both sides the window runs from the stop before (its first, partial
 * sentence dropped) to STOP_AHEAD past the stop after (its last dropped),
 * so the sentences kept are exactly those of the whole text; else (or if
 * that misses a match) window_sentences. */
static es_status group_sentences(sn *s, const char *text, size_t len,
                                 const match *m, const grp *g)
{
    size_t ms = m[g->a].start, me = 0;
    for (size_t x = g->a; x < g->b; x++)
        me = m[x].end > me ? m[x].end : me;
    if (g->ps != SIZE_MAX && g->ns != SIZE_MAX) {
        size_t ws = g->ps;
        size_t we = len - g->ns > STOP_AHEAD ? char_start(text, g->ns + STOP_AHEAD, len)
                                             : len;
        es_status rc = break_window(s, text, ws, we);
        if (rc != ES_OK)
            return rc;
        size_t a = 0, b = s->nws;
        if (ws > 0 && b > a)
            a++;
        if (we < len && b > a)
            b--;
        if (a < b && s->ws[a][0] <= ms && s->ws[b - 1][1] >= me)
            return keep_window(s, a, b);
    }
    return window_sentences(s, text, len, ms, me);
}

/* Break the sentences that can hold the best matches into s->sent, exactly
 * as breaking the whole text would choose them: matches are grouped
 * between sure stops, groups are broken best score first, and breaking
 * stops once `want` sentences are known that no later group can beat (a
 * group's score bounds its sentences'; ties go to the earlier text). */
static es_status match_sentences(sn *s, const char *text, size_t len,
                                 const match *m, size_t nm, size_t want)
{
    grp *g = NULL;
    size_t ng = 0;
    es_status rc = ES_OK;
    if (nm == 0)
        return ES_OK;
    g = esi_calloc(nm, sizeof *g);
    if (!g)
        return ES_ENOMEM;
    size_t lo = m[0].start > STOP_SEARCH ? m[0].start - STOP_SEARCH : 0, ps = SIZE_MAX;
    for (size_t at = lo, p; at < m[0].start &&
                            (p = sure_stop(s, text, len, at, m[0].start)) != SIZE_MAX;)
        ps = p, at = p + 1;
    if (ps == SIZE_MAX && lo == 0)
        ps = 0;                                /* the text's start */
    for (size_t i = 0; i < nm;) {
        size_t j = i + 1, end = m[i].end, ns = SIZE_MAX;
        while (j < nm) {
            if (m[j].start > end &&
                (ns = sure_stop(s, text, len, end, m[j].start)) != SIZE_MAX)
                break;
            if (m[j].end > end)
                end = m[j].end;
            j++;
        }
        if (j == nm) {
            size_t hi = len - end > STOP_SEARCH ? end + STOP_SEARCH : len;
            ns = sure_stop(s, text, len, end, hi);
            if (ns == SIZE_MAX && hi == len)
                ns = len;
        }
        g[ng++] = (grp){ i, j, ps, ns, score_of(m, i, j) };
        ps = ns;
        i = j;
    }
    if ((rc = s->rc) != ES_OK)
        goto done;
    qsort(g, ng, sizeof *g, cmp_grp);
    for (size_t k = 0; k < ng; k++) {
        if ((rc = group_sentences(s, text, len, m, &g[k])) != ES_OK)
            break;
        sent_normalize(s);
        int ks;
        size_t kst;
        if (sentences_held(s, m, nm, want, &ks, &kst) < want || k + 1 == ng)
            continue;
        const grp *nx = &g[k + 1];
        size_t nx_from = nx->ps == SIZE_MAX ? 0 : nx->ps;
        if (ks > nx->score || (ks == nx->score && kst < nx_from))
            break;
    }
done:
    esi_free(g);
    return rc;
}

/* Add the first sentences of the text until `want` non-blank ones that hold
 * no match are known (the old choice for filling up a snippet). */
static es_status head_sentences(sn *s, const char *text, size_t len,
                                const match *m, size_t nm, size_t want)
{
    for (size_t ctx = 2048;; ctx *= 4) {
        size_t we = len > ctx ? char_start(text, ctx, len) : len;
        es_status rc = break_window(s, text, 0, we);
        if (rc != ES_OK)
            return rc;
        size_t b = s->nws, got = 0, mi = 0, k;
        if (we < len && b > 0)
            b--;
        for (k = 0; k < b && got < want; k++) {
            while (mi < nm && m[mi].start < s->ws[k][0])
                mi++;
            bool hit = mi < nm && m[mi].start < s->ws[k][1];
            got += !hit && !blank_range(text, s->ws[k][0], s->ws[k][1]);
        }
        if (got < want && we < len)
            continue;
        if ((rc = keep_window(s, 0, k)) != ES_OK)
            return rc;
        sent_normalize(s);
        return ES_OK;
    }
}

/* The tag of first unit (head, len) of a phrase, or -1 if not tagged. */
static int first_tag(const sn *s, uint32_t head, uint32_t len)
{
    for (size_t d = 0; d < s->ntag; d++)
        if (s->thead[d] == head && s->tlen[d] == len)
            return (int)d;
    return -1;
}

/* Tag every unit with the distinct first unit of the wanted non-prefix
 * phrases it is (s->tag), so that each phrase finds its candidate starts
 * with memchr instead of comparing every unit: one pass over the units
 * instead of one per phrase. A 256-bit filter of the first units' heads
 * rules most units out. Without tags (too many first units) s->tag stays
 * NULL. ES_OK or ES_ENOMEM. */
static es_status tag_units(sn *s, const es_query *q, const bool *want)
{
    uint64_t filt[4] = { 0 };
    s->ntag = 0;
    for (size_t ph = 0; ph < q->nphrases; ph++) {
        const esi_qphrase *f = &q->phrases[ph];
        if (!want[ph] || f->nunits == 0 || f->prefix)
            continue;
        const esi_qkey *k = &q->units[f->first_unit];
        uint32_t h = key_head(esi_qkey_bytes(q, k), k->len);
        if (first_tag(s, h, k->len) >= 0)
            continue;
        if (s->ntag == TAG_MAX)
            return ES_OK;                      /* too many: no tags */
        s->thead[s->ntag] = h;
        s->tlen[s->ntag++] = k->len;
        uint8_t b = (uint8_t)((h * 0x9E3779B1u) >> 24);
        filt[b >> 6] |= 1ull << (b & 63);
    }
    if (s->ntag == 0 || s->nu == 0)
        return ES_OK;
    if (!(s->tag = esi_malloc(s->nu)))
        return ES_ENOMEM;
    for (size_t i = 0; i < s->nu; i++) {
        uint32_t h = s->u[i].head;
        uint8_t b = (uint8_t)((h * 0x9E3779B1u) >> 24);
        int t = -1;
        if (s->u[i].len && (filt[b >> 6] >> (b & 63) & 1))
            t = first_tag(s, h, s->u[i].len);
        s->tag[i] = t < 0 ? NO_TAG : (uint8_t)t;
    }
    return ES_OK;
}

es_status esi_snippet_make(esi_analyzer *a, const es_query *q, const char *text,
                           size_t len, const esi_snippet_params *p, esi_buf *out,
                           es_range **ranges, size_t *nranges, esi_err *e)
{
    sn s = { 0 };
    match *m = NULL;
    size_t nm = 0, mcap = 0;
    bool *want = NULL;
    int *sscore = NULL;
    es_status rc;
    *ranges = NULL;
    *nranges = 0;
    s.a = a;
    s.e = e;
    want = esi_calloc(q->nphrases ? q->nphrases : 1, sizeof *want);
    if (!want) {
        rc = ES_ENOMEM;
        goto done;
    }
    collect(q, q->root, want);
    if ((rc = find_units(&s, q, want, text, len)) != ES_OK)
        goto done;
    /* 1. matches of every wanted phrase, each phrase's in unit order */
    if ((rc = tag_units(&s, q, want)) != ES_OK)
        goto done;
    for (size_t ph = 0; ph < q->nphrases; ph++) {
        const esi_qphrase *f = &q->phrases[ph];
        if (!want[ph] || f->nunits == 0 || f->nunits > s.nu)
            continue;
        const esi_qkey *uk = &q->units[f->first_unit];
        uint32_t kh[8];
        for (uint32_t j = 0; j < f->nunits && j < 8; j++)
            kh[j] = key_head(esi_qkey_bytes(q, &uk[j]), uk[j].len);
        int tag = f->prefix || !s.tag ? -1 : first_tag(&s, kh[0], uk[0].len);
        size_t last = s.nu - f->nunits;           /* the last start */
        for (size_t i = 0; i <= last; i++) {
            if (tag >= 0) {                        /* the next unit tagged so */
                const uint8_t *at = memchr(s.tag + i, tag, last + 1 - i);
                if (!at)
                    break;
                i = (size_t)(at - s.tag);
            } else if (!f->prefix && (s.u[i].head != kh[0] || s.u[i].len != uk[0].len)) {
                continue;
            }
            uint32_t j = 0;
            while (j < f->nunits &&
                   unit_eq(&s, q, &s.u[i + j], &uk[j],
                           j < 8 ? kh[j] : key_head(esi_qkey_bytes(q, &uk[j]), uk[j].len),
                           f->prefix))
                j++;
            if (j < f->nunits)
                continue;
            if (nm == mcap) {
                size_t cap = mcap ? mcap * 2 : 64, bytes;
                match *np;
                if (!esi_mul_ok(cap, sizeof *np, &bytes) ||
                    !(np = esi_realloc(m, bytes))) {
                    rc = ES_ENOMEM;
                    goto done;
                }
                m = np;
                mcap = cap;
            }
            m[nm++] = (match){ s.u[i].start, s.u[i + f->nunits - 1].end, (int32_t)ph,
                               (uint32_t)i, (uint32_t)(i + f->nunits) };
        }
    }
    nm = drop_lone_chars(q, m, nm, s.nu, &rc);
    if (rc != ES_OK)
        goto done;
    if (nm)
        qsort(m, nm, sizeof *m, cmp_match);
    /* 2. merged ranges */
    if (nm) {
        es_range *r = esi_calloc(nm, sizeof *r);
        if (!r) {
            rc = ES_ENOMEM;
            goto done;
        }
        size_t n = 0;
        for (size_t i = 0; i < nm; i++) {
            if (n && m[i].start <= r[n - 1].end) {
                if (m[i].end > r[n - 1].end)
                    r[n - 1].end = m[i].end;
            } else {
                r[n++] = (es_range){ m[i].start, m[i].end };
            }
        }
        *ranges = r;
        *nranges = n;
    }
    /* 3. sentences, scored */
    size_t want_n = p->sentences < 1 ? 1 : p->sentences > 3 ? 3 : p->sentences;
    if ((rc = match_sentences(&s, text, len, m, nm, want_n)) != ES_OK)
        goto done;
    int kth_score;
    size_t kth_start;
    if (sentences_held(&s, m, nm, want_n, &kth_score, &kth_start) < want_n &&
        (rc = head_sentences(&s, text, len, m, nm, want_n)) != ES_OK)
        goto done;
    if (s.nsent == 0 && len > 0) {
        if (!pairs_room(&s.sent, 0, &s.scap)) {
            rc = ES_ENOMEM;
            goto done;
        }
        s.sent[0][0] = 0;
        s.sent[0][1] = len;
        s.nsent = 1;
    }
    sscore = esi_calloc(s.nsent ? s.nsent : 1, sizeof *sscore);
    if (!sscore) {
        rc = ES_ENOMEM;
        goto done;
    }
    {
        size_t mi = 0;
        for (size_t i = 0; i < s.nsent; i++) {
            size_t k = sentence_matches(&s, m, nm, i, &mi);
            sscore[i] = score_of(m, mi, k);
        }
    }
    /* 4. choose the best sentences, keep text order */
    size_t chosen[3], nch = 0;
    for (size_t c = 0; c < want_n && c < s.nsent; c++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < s.nsent; i++) {
            bool taken = false;
            for (size_t k = 0; k < nch; k++)
                taken |= chosen[k] == i;
            if (!taken && (best == SIZE_MAX || sscore[i] > sscore[best]) &&
                !blank_range(text, s.sent[i][0], s.sent[i][1]))
                best = i;
        }
        if (best == SIZE_MAX)
            break;
        chosen[nch++] = best;
    }
    for (size_t i = 1; i < nch; i++)
        for (size_t k = i; k > 0 && chosen[k - 1] > chosen[k]; k--) {
            size_t t = chosen[k];
            chosen[k] = chosen[k - 1];
            chosen[k - 1] = t;
        }
    /* 5. emit */
    es_status brc = ES_OK;
    const es_range *rg = *ranges;
    size_t ho = strlen(p->hl_open), hc = strlen(p->hl_close);
    size_t window = p->window ? p->window : 120;
    for (size_t c = 0; c < nch; c++) {
        size_t a0 = s.sent[chosen[c]][0], b0 = s.sent[chosen[c]][1], sp;
        /* the sentence follows the one before it in the text */
        bool next_to = c > 0 && s.sent[chosen[c - 1]][1] == a0;
        while (a0 < b0 && space_at(text, a0, b0, &sp))
            a0 += sp;
        while (b0 > a0) {                       /* trailing white space */
            size_t k = back_chars(text, b0, a0, 1);
            if (!space_at(text, k, b0, &sp))
                break;
            b0 = k;
        }
        size_t ws = a0, we = b0;
        if (skip_chars(text, a0, b0, window) < b0) {   /* too long: trim */
            size_t first = a0;
            for (size_t k = 0; k < *nranges; k++)
                if (rg[k].start >= a0 && rg[k].start < b0) {
                    first = rg[k].start;
                    break;
                }
            ws = back_chars(text, first, a0, window / 3);
            we = skip_chars(text, ws, b0, window);
            for (size_t k = 0; k < *nranges; k++)   /* never cut a match */
                if (rg[k].start < we && rg[k].end > we)
                    we = rg[k].end > b0 ? b0 : rg[k].end;
        }
        if (c > 0 && !next_to)
            esi_buf_put(&brc, out, "…", 3);
        else if (c > 0)
            esi_buf_put_u8(&brc, out, ' ');
        if (ws > a0 && (c == 0 || next_to))
            esi_buf_put(&brc, out, "…", 3);
        size_t at = ws;
        for (size_t k = 0; k < *nranges; k++) {
            if (rg[k].end <= ws || rg[k].start >= we)
                continue;
            size_t rs = rg[k].start < ws ? ws : rg[k].start;
            size_t re = rg[k].end > we ? we : rg[k].end;
            put_clean(&brc, out, text, at, rs);
            esi_buf_put(&brc, out, p->hl_open, ho);
            put_clean(&brc, out, text, rs, re);
            esi_buf_put(&brc, out, p->hl_close, hc);
            at = re;
        }
        put_clean(&brc, out, text, at, we);
        if (we < b0)
            esi_buf_put(&brc, out, "…", 3);
    }
    esi_buf_terminate(&brc, out);
    rc = brc;

done:
    if (rc != ES_OK) {
        esi_free(*ranges);
        *ranges = NULL;
        *nranges = 0;
        if (rc == ES_ENOMEM)
            esi_err_set(e, rc, "out of memory building a snippet");
    }
    esi_buf_free(&s.keys);
    esi_free(s.u);
    esi_free(s.tag);
    esi_free(s.sent);
    esi_free(s.ws);
    esi_free(m);
    esi_free(want);
    esi_free(sscore);
    return rc;
}
