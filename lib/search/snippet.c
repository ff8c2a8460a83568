/*
 * snippet.c: highlighted snippets and match ranges for one hit. The stored
 * text is re-analyzed with the index analyzer, which reports every unit (one
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
 * Words of a bare run (the PHRASE kids of an AND with a bonus phrase): the
 * whole run is a phrase of its own, so where it occurs it is highlighted
 * as one piece. A word of ONE CJK character (化 of 集团/化/办学) is kept only
 * where it touches another matched word of the same run (化 in 学区化办学,
 * next to 办学), never alone (化 in 文化); the ranges of
 * es_results_matches are built from the same filtered matches.
 */
#include "search.h"

#include <stdlib.h>

/* One unit of the document. */
typedef struct dunit {
    uint32_t off, len;        /* key bytes in the scratch buffer */
    size_t start, end;        /* original byte range */
    bool latin;               /* LATIN or NUMBER (prefix matching) */
} dunit;

/* A match: byte range plus the phrase it came from and its units. */
typedef struct match {
    size_t start, end;
    int32_t ph;
    uint32_t ustart, uend;     /* units [ustart, uend) */
} match;

typedef struct sn {
    esi_buf keys;
    dunit *u;
    size_t nu, ucap;
    es_status rc;
    size_t (*sent)[2];
    size_t nsent, scap;
    const char *text;
    size_t last_end;           /* end of the last match (0: none) */
    size_t want, nonblank;     /* sentences to choose; non-blank ones seen */
} sn;

/* Analyzer callback: keep the units (not bigrams or words). */
static int on_token(const es_token *t, void *payload)
{
    sn *s = payload;
    if (t->kind != ES_TOKEN_HAN && t->kind != ES_TOKEN_LATIN &&
        t->kind != ES_TOKEN_NUMBER)
        return 0;
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
    size_t off = s->keys.len;
    esi_buf_put(&s->rc, &s->keys, t->term, t->term_len);
    if (s->rc != ES_OK || s->keys.len > UINT32_MAX)
        return s->rc = s->rc ? s->rc : ES_ELIMIT, 1;
    s->u[s->nu++] = (dunit){ (uint32_t)off, (uint32_t)t->term_len, t->start, t->end,
                             t->kind != ES_TOKEN_HAN };
    return 0;
}

static bool space_at(const char *t, size_t i, size_t end, size_t *n);

/* Sentence callback: record [start, end). Stops once a sentence starts
 * after the last match and enough non-blank sentences are known: later
 * sentences score 0 and come last in text order, so they could only be
 * chosen if fewer than `want` non-blank sentences came before. */
static int on_sentence(size_t start, size_t end, void *payload)
{
    sn *s = payload;
    if (s->text && start >= s->last_end && s->nonblank >= s->want)
        return 1;
    if (s->text) {
        size_t sp;
        bool blank = true;
        for (size_t b = start; b < end && blank; b += sp)
            blank = space_at(s->text, b, end, &sp);
        s->nonblank += !blank;
    }
    if (s->nsent == s->scap) {
        size_t cap = s->scap ? s->scap * 2 : 64, bytes;
        void *p;
        if (!esi_mul_ok(cap, sizeof *s->sent, &bytes) ||
            !(p = esi_realloc(s->sent, bytes))) {
            s->rc = ES_ENOMEM;
            return 1;
        }
        s->sent = p;
        s->scap = cap;
    }
    s->sent[s->nsent][0] = start;
    s->sent[s->nsent][1] = end;
    s->nsent++;
    return 0;
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

/* True if document unit u equals query unit k (a prefix for PREFIX). */
static bool unit_eq(const sn *s, const es_query *q, const dunit *u,
                    const esi_qkey *k, bool prefix)
{
    const uint8_t *a = s->keys.data + u->off, *b = esi_qkey_bytes(q, k);
    if (prefix)
        return u->latin && u->len >= k->len && !memcmp(a, b, k->len);
    return u->len == k->len && !memcmp(a, b, k->len);
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
    rc = esi_analyze(a, text, len, ES_TOKENIZE_INDEX, on_token, &s, e);
    if (rc == ES_OK && s.rc != ES_OK)
        rc = s.rc;
    if (rc != ES_OK)
        goto done;
    want = esi_calloc(q->nphrases ? q->nphrases : 1, sizeof *want);
    if (!want) {
        rc = ES_ENOMEM;
        goto done;
    }
    collect(q, q->root, want);
    /* 1. matches of every wanted phrase */
    for (size_t ph = 0; ph < q->nphrases; ph++) {
        const esi_qphrase *f = &q->phrases[ph];
        if (!want[ph] || f->nunits == 0)
            continue;
        const esi_qkey *uk = &q->units[f->first_unit];
        for (size_t i = 0; i + f->nunits <= s.nu; i++) {
            uint32_t j = 0;
            while (j < f->nunits && unit_eq(&s, q, &s.u[i + j], &uk[j], f->prefix))
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
    s.text = text;
    s.want = p->sentences < 1 ? 1 : p->sentences > 3 ? 3 : p->sentences;
    for (size_t i = 0; i < nm; i++)
        if (m[i].end > s.last_end)
            s.last_end = m[i].end;
    rc = esi_sentences(a, text, len, on_sentence, &s, e);
    if (rc == ES_OK && s.rc != ES_OK)
        rc = s.rc;
    if (rc != ES_OK)
        goto done;
    s.text = NULL;                           /* no early stop from here on */
    if (s.nsent == 0 && len > 0 && on_sentence(0, len, &s))
        rc = ES_ENOMEM;
    if (rc != ES_OK)
        goto done;
    sscore = esi_calloc(s.nsent ? s.nsent : 1, sizeof *sscore);
    if (!sscore) {
        rc = ES_ENOMEM;
        goto done;
    }
    {
        size_t mi = 0;
        for (size_t i = 0; i < s.nsent; i++) {
            int hits = 0, distinct = 0;
            int32_t seen[8];
            while (mi < nm && m[mi].start < s.sent[i][0])
                mi++;
            for (size_t k = mi; k < nm && m[k].start < s.sent[i][1]; k++) {
                bool dup = false;
                for (int d = 0; d < distinct && !dup; d++)
                    dup = seen[d] == m[k].ph;
                if (!dup && distinct < 8)
                    seen[distinct++] = m[k].ph;
                hits++;
            }
            sscore[i] = distinct * 100 + (hits > 99 ? 99 : hits);
        }
    }
    /* 4. choose the best sentences, keep text order */
    size_t want_n = p->sentences < 1 ? 1 : p->sentences > 3 ? 3 : p->sentences;
    size_t chosen[3], nch = 0;
    for (size_t c = 0; c < want_n && c < s.nsent; c++) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < s.nsent; i++) {
            bool taken = false;
            for (size_t k = 0; k < nch; k++)
                taken |= chosen[k] == i;
            size_t sp;
            bool blank = true;
            for (size_t b = s.sent[i][0]; b < s.sent[i][1] && blank; b += sp)
                if (!space_at(text, b, s.sent[i][1], &sp))
                    blank = false;
            if (!taken && !blank && (best == SIZE_MAX || sscore[i] > sscore[best]))
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
        if (c > 0 && chosen[c] != chosen[c - 1] + 1)
            esi_buf_put(&brc, out, "…", 3);
        else if (c > 0)
            esi_buf_put_u8(&brc, out, ' ');
        if (ws > a0 && (c == 0 || chosen[c] == chosen[c - 1] + 1))
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
    esi_free(s.sent);
    esi_free(m);
    esi_free(want);
    esi_free(sscore);
    return rc;
}
