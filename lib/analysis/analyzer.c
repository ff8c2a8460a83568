/*
 * analyzer.c: turns UTF-8 text into index tokens (HAN, BIGRAM, LATIN,
 * NUMBER) and, on request, ICU dictionary words (WORD); also N(x), the key
 * text of the phrase guarantee. Contract in analyzer.h, rules in
 * docs/ANALYSIS.md.
 *
 * The text streams through the normalizer (normalize.c) in batches of
 * ESI_AN_CHUNK code points, so memory does not grow with the text. Units get
 * positions as they arrive. CJK units are buffered in a run of at most
 * ESI_AN_RUN_MAX units and emitted when the run ends (a Latin/number unit
 * or the end of the text) or, for a very long run, at a cut point (a place
 * where a separator stood, else anywhere): the units after the cut stay in
 * the buffer, so the bigram across the cut is still emitted and the phrase
 * index has no gaps. Only ICU words never cross a cut. Latin/number runs are
 * buffered (at most ESI_AN_LAT_MAX code points) until they end; then the
 * number rules split or join their digit groups.
 *
 * Tokens come out in position order; for one position: HAN, BIGRAM, WORD.
 * esi_analyze allocates nothing: every buffer belongs to the analyzer.
 */
#include "analyzer_int.h"

#include <unicode/ustring.h>

/* Per-call state of one esi_analyze. */
typedef struct actx {
    esi_analyzer *a;
    bool index;           /* emit HAN/BIGRAM/LATIN/NUMBER */
    bool bigrams;         /* with index: BIGRAM too (not ESI_ANALYZE_NO_BIGRAMS) */
    bool words;           /* emit WORD */
    es_token_cb cb;
    void *payload;
    uint32_t pos;         /* next free position */
    bool stop;            /* the callback asked to stop, or an error */
    es_status rc;         /* first error */
    esi_err *e;
    bool sep_seen;        /* a separator since the last unit */
    size_t run_n;         /* CJK units buffered in a->run */
    uint32_t run_pos;     /* position of a->run[0] */
    size_t lat_n;         /* chars buffered in a->lat */
    size_t ngrp;          /* digit groups in a->lat (1 if no . or ,) */
    uint32_t pend_sep;    /* '.' or ',' seen right after a digit run; 0 none */
    bool lat_digits;      /* every char in a->lat is a digit */
} actx;

bool esi_is_cjk(uint32_t cp)
{
    if (cp > 0x10ffff)
        return false;
    esi_norm_init(NULL);   /* tables if possible; falls back to ICU calls */
    return esi_norm_class(cp) == ESI_CLS_CJK;
}

/* ---- lifetime ----------------------------------------------------------- */

/* Map an ICU error to a status: allocation failures are ES_ENOMEM. */
static es_status icu_status(UErrorCode st)
{
    return st == U_MEMORY_ALLOCATION_ERROR ? ES_ENOMEM : ES_ERROR;
}

/* Clone the break iterator template t (of kind `what`, for the message)
 * into *out: ES_OK, or the ICU failure in e with *out NULL. */
static es_status clone_break(UBreakIterator **out, const UBreakIterator *t,
                             const char *what, esi_err *e)
{
    UErrorCode st = U_ZERO_ERROR;
    *out = ubrk_clone(t, &st);
    if (U_FAILURE(st)) {
        *out = NULL;
        return esi_err_set(e, icu_status(st), "ICU ubrk_clone (%s) failed: %s", what,
                           u_errorName(st));
    }
    return ES_OK;
}

es_status esi_analyzer_new(esi_analyzer **out, esi_err *e)
{
    es_status rc;
    esi_analyzer *a = NULL;
    *out = NULL;
    rc = esi_norm_init(e);
    if (rc < 0)
        return rc;
    a = esi_calloc(1, sizeof *a);
    if (!a)
        return esi_err_set(e, ES_ENOMEM, "out of memory creating an analyzer");
    a->chunk = esi_malloc(ESI_AN_CHUNK * sizeof *a->chunk);
    a->run = esi_malloc(ESI_AN_RUN_MAX * sizeof *a->run);
    a->lat = esi_malloc(ESI_AN_LAT_MAX * sizeof *a->lat);
    a->grp = esi_malloc((ESI_AN_LAT_MAX + 1) * sizeof *a->grp);
    a->grpsep = esi_malloc((ESI_AN_LAT_MAX + 1) * sizeof *a->grpsep);
    a->u16 = esi_malloc((2 * ESI_AN_RUN_MAX + 1) * sizeof *a->u16);
    a->u16map = esi_malloc((2 * ESI_AN_RUN_MAX + 1) * sizeof *a->u16map);
    a->words = esi_malloc(ESI_AN_RUN_MAX * sizeof *a->words);
    a->term = esi_malloc(4 * ESI_AN_RUN_MAX + 64);
    if (!a->chunk || !a->run || !a->lat || !a->grp || !a->grpsep || !a->u16 ||
        !a->u16map || !a->words || !a->term) {
        rc = esi_err_set(e, ES_ENOMEM, "out of memory creating an analyzer");
        goto fail;
    }
    if ((rc = clone_break(&a->wbrk, esi_norm_word_template(), "word", e)) != ES_OK ||
        (rc = clone_break(&a->sbrk, esi_norm_sentence_template(), "sentence", e)) != ES_OK)
        goto fail;
    *out = a;
    return ES_OK;
fail:
    esi_analyzer_free(a);
    return rc;
}

void esi_analyzer_free(esi_analyzer *a)
{
    if (!a)
        return;
    if (a->wbrk)
        ubrk_close(a->wbrk);
    if (a->sbrk)
        ubrk_close(a->sbrk);
    esi_free(a->chunk);
    esi_free(a->run);
    esi_free(a->lat);
    esi_free(a->grp);
    esi_free(a->grpsep);
    esi_free(a->u16);
    esi_free(a->u16map);
    esi_free(a->words);
    esi_free(a->term);
    esi_free(a->s16);
    esi_free(a->soff);
    esi_free(a);
}

/* ---- emitting ----------------------------------------------------------- */

/* Hand one token to the callback unless analysis has stopped. */
static void emit(actx *c, es_token_kind kind, const uint8_t *term, size_t tl,
                 uint32_t pos, uint32_t span, size_t start, size_t end)
{
    if (c->stop)
        return;
    es_token t;
    t.kind = kind;
    t.term = (const char *)term;
    t.term_len = tl;
    t.position = pos;
    t.span = span;
    t.start = start;
    t.end = end;
    if (c->cb(&t, c->payload))
        c->stop = true;
}

/* Take the next position; false (and ES_ELIMIT) when positions run out. */
static bool next_pos(actx *c, uint32_t *out)
{
    if (c->pos == UINT32_MAX) {
        if (c->rc == ES_OK)
            c->rc = esi_err_set(c->e, ES_ELIMIT, "text has more than %u units",
                                UINT32_MAX - 1);
        c->stop = true;
        return false;
    }
    *out = c->pos++;
    return true;
}

/* ---- CJK runs ----------------------------------------------------------- */

/* Run ICU's word iterator over run[0..m); fills a->words, returns the count
 * (0 on an ICU failure, recorded in c->rc). */
static size_t run_words(actx *c, size_t m)
{
    esi_analyzer *a = c->a;
    int32_t n = 0;
    for (size_t k = 0; k < m; k++) {
        a->u16map[n] = (int32_t)k;
        if (a->run[k].cp >= 0x10000)
            a->u16map[n + 1] = (int32_t)k;
        if (a->run[k].cp < 0x10000) {
            a->u16[n++] = (UChar)a->run[k].cp;
        } else {
            a->u16[n++] = (UChar)(0xd7c0 + (a->run[k].cp >> 10));
            a->u16[n++] = (UChar)(0xdc00 | (a->run[k].cp & 0x3ff));
        }
    }
    a->u16map[n] = (int32_t)m;
    UErrorCode st = U_ZERO_ERROR;
    ubrk_setText(a->wbrk, a->u16, n, &st);
    if (U_FAILURE(st)) {
        c->rc = esi_err_set(c->e, ES_ERROR, "ICU word break failed: %s",
                            u_errorName(st));
        c->stop = true;
        return 0;
    }
    size_t nw = 0;
    int32_t p = ubrk_first(a->wbrk);
    for (int32_t q = ubrk_next(a->wbrk); q != UBRK_DONE; q = ubrk_next(a->wbrk)) {
        if (q > p && q <= n && a->u16map[q] > a->u16map[p]) {
            a->words[nw].u0 = (uint32_t)a->u16map[p];
            a->words[nw].u1 = (uint32_t)a->u16map[q];
            nw++;
        }
        p = q;
    }
    /* Release the pointer to our buffer before it changes. */
    ubrk_setText(a->wbrk, NULL, 0, &st);
    return nw;
}

/* Emit the tokens of run[0..m) (m <= run_n) and drop those units; the
 * bigram of unit m-1 uses unit m when it is buffered. */
static void run_emit(actx *c, size_t m)
{
    esi_analyzer *a = c->a;
    size_t nw = 0, wi = 0;
    if (c->words && !c->stop)
        nw = run_words(c, m);
    uint8_t buf[8];
    for (size_t k = 0; k < m && !c->stop; k++) {
        const esi_unit *u = &a->run[k];
        uint32_t pos = c->run_pos + (uint32_t)k;
        if (c->index) {
            size_t l1 = esi_utf8_put(buf, u->cp);
            emit(c, ES_TOKEN_HAN, buf, l1, pos, 1, u->start, u->end);
            if (c->bigrams && k + 1 < c->run_n) {
                const esi_unit *v = &a->run[k + 1];
                size_t l2 = esi_utf8_put(buf + l1, v->cp);
                emit(c, ES_TOKEN_BIGRAM, buf, l1 + l2, pos, 2, u->start, v->end);
            }
        }
        while (wi < nw && a->words[wi].u0 == k) {
            const esi_word *w = &a->words[wi++];
            size_t tl = 0;
            for (uint32_t j = w->u0; j < w->u1; j++)
                tl += esi_utf8_put(a->term + tl, a->run[j].cp);
            emit(c, ES_TOKEN_WORD, a->term, tl, pos, w->u1 - w->u0, u->start,
                 a->run[w->u1 - 1].end);
        }
    }
    memmove(a->run, a->run + m, (c->run_n - m) * sizeof *a->run);
    c->run_n -= m;
    c->run_pos += (uint32_t)m;
}

/* The run ended: emit all of it. */
static void run_finish(actx *c)
{
    if (c->run_n)
        run_emit(c, c->run_n);
}

/* The run buffer is full: emit up to a cut point, preferring the last place
 * in its second half where a separator stood, keeping the rest. */
static void run_cut(actx *c)
{
    size_t cut = c->run_n - 1;
    for (size_t k = c->run_n - 1; k > c->run_n / 2; k--)
        if (c->a->run[k].sep_before) {
            cut = k;
            break;
        }
    run_emit(c, cut);
}

/* ---- Latin / number runs ------------------------------------------------ */

/* Emit digit groups [g0, g1) of the Latin/number buffer (whose chars end
 * at nchars_end) as one token: NUMBER if all digits, else LATIN. A '.'
 * between groups stays in the term, a ',' is dropped. */
static void lat_token(actx *c, size_t g0, size_t g1, size_t nchars_end)
{
    esi_analyzer *a = c->a;
    size_t from = a->grp[g0];
    size_t to = g1 < c->ngrp ? a->grp[g1] : nchars_end;
    bool digits = true;
    size_t tl = 0;
    for (size_t g = g0; g < g1; g++) {
        if (g > g0 && a->grpsep[g] == '.')
            a->term[tl++] = '.';
        size_t ge = g + 1 < c->ngrp ? a->grp[g + 1] : nchars_end;
        for (size_t i = a->grp[g]; i < ge; i++) {
            if (a->lat[i].cls != ESI_CLS_DIGIT)
                digits = false;
            tl += esi_utf8_put(a->term + tl, a->lat[i].cp);
        }
    }
    uint32_t pos;
    if (to <= from || !next_pos(c, &pos))
        return;
    emit(c, digits ? ES_TOKEN_NUMBER : ES_TOKEN_LATIN, a->term, tl, pos, 1,
         a->lat[from].start, a->lat[to - 1].end);
}

/* Group length in chars. */
static size_t grp_len(const actx *c, size_t g, size_t nchars_end)
{
    size_t ge = g + 1 < c->ngrp ? c->a->grp[g + 1] : nchars_end;
    return ge - c->a->grp[g];
}

/* Emit groups [g0, g1) of an all-digit run as numbers: comma-joined if the
 * commas are valid thousands separators (first group 1-3 digits, every
 * group after a comma exactly 3, no comma after the dot), else split at
 * every comma. At most one dot occurs here. */
static void num_piece(actx *c, size_t g0, size_t g1, size_t nend)
{
    bool valid = grp_len(c, g0, nend) >= 1 && grp_len(c, g0, nend) <= 3;
    bool dot = false;
    for (size_t g = g0 + 1; g < g1 && valid; g++) {
        if (c->a->grpsep[g] == '.')
            dot = true;
        else if (dot || grp_len(c, g, nend) != 3)
            valid = false;
    }
    bool has_comma = false;
    for (size_t g = g0 + 1; g < g1; g++)
        has_comma |= c->a->grpsep[g] == ',';
    if (valid || !has_comma) {
        lat_token(c, g0, g1, nend);
        return;
    }
    size_t s = g0;
    for (size_t g = g0 + 1; g <= g1; g++)
        if (g == g1 || c->a->grpsep[g] == ',') {
            lat_token(c, s, g, nend);
            s = g;
        }
}

/* Emit groups [0, g1) of the buffered run, whose chars end at nend. */
static void lat_emit_groups(actx *c, size_t g1, size_t nend)
{
    if (g1 == 1) {
        lat_token(c, 0, 1, nend);
        return;
    }
    size_t dots = 0;
    for (size_t g = 1; g < g1; g++)
        dots += c->a->grpsep[g] == '.';
    if (dots < 2) {
        num_piece(c, 0, g1, nend);
        return;
    }
    size_t s = 0;
    for (size_t g = 1; g <= g1; g++)
        if (g == g1 || c->a->grpsep[g] == '.') {
            num_piece(c, s, g, nend);
            s = g;
        }
}

/* The Latin/number run ended: emit it and clear the state. */
static void lat_finish(actx *c)
{
    if (c->lat_n)
        lat_emit_groups(c, c->ngrp, c->lat_n);
    c->lat_n = 0;
    c->ngrp = 0;
    c->pend_sep = 0;
    c->lat_digits = true;
}

/* Add a letter/digit to the Latin/number run. */
static void lat_add(actx *c, const esi_nchar *ch)
{
    esi_analyzer *a = c->a;
    if (c->pend_sep) {
        if (ch->cls == ESI_CLS_DIGIT && c->lat_digits && c->lat_n < ESI_AN_LAT_MAX) {
            a->grp[c->ngrp] = (uint32_t)c->lat_n;
            a->grpsep[c->ngrp] = c->pend_sep;
            c->ngrp++;
            c->pend_sep = 0;
        } else {
            lat_finish(c);
        }
    }
    if (c->lat_n == ESI_AN_LAT_MAX)
        lat_finish(c);
    if (c->lat_n == 0) {
        c->ngrp = 1;
        a->grp[0] = 0;
        a->grpsep[0] = 0;
        c->lat_digits = true;
    }
    if (ch->cls != ESI_CLS_DIGIT) {
        if (c->ngrp > 1) {
            /* "1,000abc": the groups before become numbers; the current
             * group goes on as a Latin token. */
            size_t g0 = a->grp[c->ngrp - 1];
            lat_emit_groups(c, c->ngrp - 1, g0);
            memmove(a->lat, a->lat + g0, (c->lat_n - g0) * sizeof *a->lat);
            c->lat_n -= g0;
            c->ngrp = 1;
        }
        c->lat_digits = false;
    }
    a->lat[c->lat_n++] = *ch;
}

/* A separator arrived: '.' or ',' right after digits may join the next
 * digit group; anything else ends the Latin/number run. */
static void lat_sep(actx *c, uint32_t cp)
{
    if (!c->lat_n)
        return;
    if (!c->pend_sep && c->lat_digits && (cp == '.' || cp == ','))
        c->pend_sep = cp;
    else
        lat_finish(c);
}

/* ---- the pipeline ------------------------------------------------------- */

/* Route one normalized code point. */
static inline void feed(actx *c, const esi_nchar *ch)
{
    switch (ch->cls) {
    case ESI_CLS_CJK: {
        if (c->lat_n)
            lat_finish(c);
        uint32_t pos;
        if (!next_pos(c, &pos))
            return;
        if (c->run_n == 0)
            c->run_pos = pos;
        esi_unit *u = &c->a->run[c->run_n++];
        u->cp = ch->cp;
        u->sep_before = c->sep_seen;
        u->start = ch->start;
        u->end = ch->end;
        c->sep_seen = false;
        if (c->run_n == ESI_AN_RUN_MAX)
            run_cut(c);
        break;
    }
    case ESI_CLS_DIGIT:
    case ESI_CLS_WORD:
        if (c->run_n)
            run_finish(c);
        lat_add(c, ch);
        c->sep_seen = false;
        break;
    default:
        lat_sep(c, ch->cp);
        c->sep_seen = true;
        break;
    }
}

es_status esi_analyze(esi_analyzer *a, const char *text, size_t len,
                      unsigned flags, es_token_cb cb, void *payload,
                      esi_err *e)
{
    if (!a || !cb || (!text && len))
        return esi_err_set(e, ES_EINVAL, "esi_analyze: NULL analyzer, callback or text");
    actx c;
    memset(&c, 0, sizeof c);
    c.a = a;
    c.index = (flags & ES_TOKENIZE_INDEX) || !(flags & ES_TOKENIZE_WORDS);
    c.words = (flags & ES_TOKENIZE_WORDS) != 0;
    c.bigrams = !(flags & ESI_ANALYZE_NO_BIGRAMS);
    c.cb = cb;
    c.payload = payload;
    c.e = e;
    c.lat_digits = true;
    esi_norm nm;
    esi_norm_start(&nm, text, len);
    while (!c.stop) {
        size_t n = 0;
        es_status rc = esi_norm_fill(&nm, a->chunk, ESI_AN_CHUNK, &n, e);
        if (rc < 0)
            return rc;
        if (n == 0)
            break;
        for (size_t i = 0; i < n && !c.stop; i++)
            feed(&c, &a->chunk[i]);
    }
    if (!c.stop) {
        lat_finish(&c);
        run_finish(&c);
    }
    return c.rc;
}

es_status esi_normalize_key(esi_analyzer *a, const char *text, size_t len,
                            esi_buf *out, esi_err *e)
{
    if (!a || !out || (!text && len))
        return esi_err_set(e, ES_EINVAL, "esi_normalize_key: NULL argument");
    esi_norm nm;
    esi_norm_start(&nm, text, len);
    es_status rc = ES_OK;
    for (;;) {
        size_t n = 0;
        rc = esi_norm_fill(&nm, a->chunk, ESI_AN_CHUNK, &n, e);
        if (rc < 0)
            return rc;
        if (n == 0)
            break;
        esi_buf_reserve(&rc, out, 4 * n);
        if (rc < 0)
            return esi_err_set(e, rc, "out of memory normalizing a key");
        for (size_t i = 0; i < n; i++)
            if (a->chunk[i].cls != ESI_CLS_SEP)
                out->len += esi_utf8_put(out->data + out->len, a->chunk[i].cp);
    }
    return ES_OK;
}
