/*
 * check_analyzer.c: suite "analyzer": normalization (NFKC, case folding,
 * Traditional -> Simplified), the unit/position rules, tokens of mixed text,
 * offsets, bad input, large input, ICU words, sentences, the phrase
 * guarantee against a substring reference over the corpus, allocation
 * failure, and the public es_tokenize().
 */
#include "analysis/analyzer.h"
#include "analysis/normalize.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <unicode/ustring.h>
#include <unicode/utrans.h>

/* Sanitizer builds run the big cases smaller. */
#if defined(__SANITIZE_ADDRESS__)
#define SMALL_RUN 1
#else
#define SMALL_RUN 0
#endif

/* ---- helpers ------------------------------------------------------------ */

typedef struct tok {
    es_token_kind kind;
    char term[64];       /* truncated copy (tests use short terms) */
    size_t term_len;
    uint32_t pos, span;
    size_t start, end;
} tok;

typedef struct toks {
    tok *v;
    size_t n, cap;
    size_t stop_after;   /* 0 = never stop */
} toks;

/* Token callback collecting copies. */
static int collect(const es_token *t, void *p)
{
    toks *ts = p;
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 64;
        ts->v = realloc(ts->v, ts->cap * sizeof *ts->v);
        ck_assert_ptr_nonnull(ts->v);
    }
    tok *k = &ts->v[ts->n++];
    k->kind = t->kind;
    k->term_len = t->term_len;
    size_t c = t->term_len < sizeof k->term - 1 ? t->term_len : sizeof k->term - 1;
    memcpy(k->term, t->term, c);
    k->term[c] = '\0';
    k->pos = t->position;
    k->span = t->span;
    k->start = t->start;
    k->end = t->end;
    return ts->stop_after && ts->n >= ts->stop_after;
}

static esi_analyzer *new_an(void)
{
    esi_analyzer *a = NULL;
    esi_err e;
    ck_assert_int_eq(esi_analyzer_new(&a, &e), ES_OK);
    return a;
}

/* Analyze len bytes at s into ts (reset first). */
static void an_len(esi_analyzer *a, const char *s, size_t len, unsigned flags, toks *ts)
{
    esi_err e;
    ts->n = 0;
    ck_assert_int_eq(esi_analyze(a, s, len, flags, collect, ts, &e), ES_OK);
}

/* Analyze a NUL-terminated string into ts (reset first). */
static void an(esi_analyzer *a, const char *s, unsigned flags, toks *ts)
{
    an_len(a, s, strlen(s), flags, ts);
}

/* N(x) of bytes as a malloc'ed NUL-terminated string. */
static char *nkey(esi_analyzer *a, const char *s, size_t len)
{
    esi_buf b = { 0 };
    esi_err e;
    ck_assert_int_eq(esi_normalize_key(a, s, len, &b, &e), ES_OK);
    char *r = malloc(b.len + 1);
    if (b.len)
        memcpy(r, b.data, b.len);
    r[b.len] = '\0';
    esi_buf_free(&b);
    return r;
}

/* Render the tokens as "KIND:term@pos" joined by spaces (INDEX kinds). */
static const char *kind_name(es_token_kind k)
{
    switch (k) {
    case ES_TOKEN_HAN: return "H";
    case ES_TOKEN_BIGRAM: return "B";
    case ES_TOKEN_LATIN: return "L";
    case ES_TOKEN_NUMBER: return "N";
    case ES_TOKEN_WORD: return "W";
    }
    return "?";
}

static char *render(const toks *ts, bool with_bigrams)
{
    size_t cap = 64 + ts->n * 80, len = 0;
    char *r = malloc(cap);
    r[0] = '\0';
    for (size_t i = 0; i < ts->n; i++) {
        if (!with_bigrams && ts->v[i].kind == ES_TOKEN_BIGRAM)
            continue;
        len += (size_t)snprintf(r + len, cap - len, "%s%s:%s@%u", len ? " " : "",
                                kind_name(ts->v[i].kind), ts->v[i].term, ts->v[i].pos);
    }
    return r;
}

/* The tokens of ts, rendered, are want (text names the input). */
static void expect_rendered(const toks *ts, bool with_bigrams, const char *text,
                            const char *want)
{
    char *got = render(ts, with_bigrams);
    ck_assert_msg(strcmp(got, want) == 0, "text <%s>\n got: %s\nwant: %s", text, got, want);
    free(got);
}

static void expect_tokens(esi_analyzer *a, const char *text, unsigned flags,
                          bool with_bigrams, const char *want)
{
    toks ts = { 0 };
    an(a, text, flags, &ts);
    expect_rendered(&ts, with_bigrams, text, want);
    free(ts.v);
}

/* ---- normalization ------------------------------------------------------ */

START_TEST(test_analyzer_nfkc_fullwidth_basic)
{
    esi_analyzer *a = new_an();
    expect_tokens(a, "ＡＢＣ１２３", 0, true, "L:abc123@0");
    expect_tokens(a, "６０％　ＸＹＺ", 0, true, "N:60@0 L:xyz@1");
    expect_tokens(a, "Straße ①Ⅻ", 0, true, "L:strasse@0 L:1xii@1");
    char *k = nkey(a, "ＡＢＣ，１２３　ａｂｃ", strlen("ＡＢＣ，１２３　ａｂｃ"));
    ck_assert_str_eq(k, "abc123abc");
    free(k);
    toks ts = { 0 };
    an(a, "ﬁx", 0, &ts);   /* ligature: f and i both map to its 3 bytes */
    ck_assert_uint_eq(ts.n, 1);
    ck_assert_str_eq(ts.v[0].term, "fix");
    ck_assert_uint_eq(ts.v[0].start, 0);
    ck_assert_uint_eq(ts.v[0].end, 4);
    /* Combining sequence composed by ICU: e + U+0301 -> é, range of both. */
    an(a, "cafe\xcc\x81 x", 0, &ts);
    ck_assert_str_eq(ts.v[0].term, "caf\xc3\xa9");
    ck_assert_uint_eq(ts.v[0].end, 6);
    /* Default ignorables vanish: a soft hyphen joins the word. */
    an(a, "edu\xc2\xad" "cation", 0, &ts);
    ck_assert_uint_eq(ts.n, 1);
    ck_assert_str_eq(ts.v[0].term, "education");
    free(ts.v);
    esi_analyzer_free(a);
}
END_TEST

START_TEST(test_analyzer_trad_to_simp_keys)
{
    esi_analyzer *a = new_an();
    toks t1 = { 0 }, t2 = { 0 };
    const char *pairs[][2] = {
        { "集團化辦學", "集团化办学" }, { "義務教育", "义务教育" },
        { "優質均衡", "优质均衡" }, { "縣管校聘", "县管校聘" },
        { "濮陽市", "濮阳市" }, { "臺灣", "台湾" },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        an(a, pairs[i][0], ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS, &t1);
        an(a, pairs[i][1], ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS, &t2);
        char *r1 = render(&t1, true), *r2 = render(&t2, true);
        ck_assert_msg(strcmp(r1, r2) == 0, "%s: %s vs %s", pairs[i][0], r1, r2);
        free(r1);
        free(r2);
    }
    /* The documented caveat: ICU also folds some simplified text. */
    char *k = nkey(a, "显著", strlen("显著"));
    ck_assert_str_eq(k, "显着");
    free(k);
    free(t1.v);
    free(t2.v);
    esi_analyzer_free(a);
}
END_TEST

/* Transliterate one code point alone with ICU; 0 if not one code point. */
static uint32_t icu_ts(UTransliterator *t, uint32_t cp)
{
    UChar u[32];
    int32_t n = 0;
    UErrorCode st = U_ZERO_ERROR;
    U16_APPEND_UNSAFE(u, n, cp);
    int32_t limit = n;
    utrans_transUChars(t, u, &n, 32, 0, &limit, &st);
    ck_assert(U_SUCCESS(st));
    UChar32 r;
    int32_t j = 0;
    U16_NEXT(u, j, n, r);
    return j == n ? (uint32_t)r : 0;
}

/* The table equals ICU's transliterator applied to each code point alone
 * (composed to a fixed point), for every code point of the CJK blocks. */
START_TEST(test_analyzer_trad_to_simp_table_matches_icu)
{
    esi_analyzer *a = new_an();
    UErrorCode st = U_ZERO_ERROR;
    UChar id[32];
    u_charsToUChars("Traditional-Simplified", id, 23);
    UTransliterator *t = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, NULL, &st);
    ck_assert(U_SUCCESS(st));
    size_t mapped = 0;
    static const uint32_t blocks[][2] = { { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff },
                                          { 0x20000, 0x2a6df } };
    for (size_t b = 0; b < 3; b++)
        for (uint32_t cp = blocks[b][0]; cp <= blocks[b][1]; cp++) {
            /* Follow ICU to a fixed point; a cycle folds to its smallest. */
            uint32_t path[16], want = cp;
            int np = 0;
            for (;;) {
                int seen = -1;
                for (int i = 0; i < np; i++)
                    if (path[i] == want)
                        seen = i;
                if (seen >= 0) {
                    for (int i = seen; i < np; i++)
                        want = path[i] < want ? path[i] : want;
                    break;
                }
                path[np++] = want;
                uint32_t r = icu_ts(t, want);
                if (r == 0 || r == want || !esi_is_cjk(r) || np == 16)
                    break;
                want = r;
            }
            ck_assert_msg(esi_norm_simplify(cp) == want, "U+%04X: table U+%04X, ICU U+%04X",
                          cp, esi_norm_simplify(cp), want);
            mapped += want != cp;
        }
    ck_assert_uint_gt(mapped, 2000);
    utrans_close(t);
    esi_analyzer_free(a);
}
END_TEST

/* N(N(x)) == N(x) on the sample documents. */
START_TEST(test_analyzer_nfkc_idempotent_keys)
{
    esi_analyzer *a = new_an();
    const char *names[] = { "puyang-2025-93.txt", "xinyang-2024-194.txt" };
    for (int i = 0; i < 2; i++) {
        size_t len;
        char *text = tu_read_sample(names[i], &len);
        char *k1 = nkey(a, text, len);
        char *k2 = nkey(a, k1, strlen(k1));
        ck_assert_str_eq(k1, k2);
        free(k1);
        free(k2);
        free(text);
    }
    esi_analyzer_free(a);
}
END_TEST

/* ---- units, positions, tokens ------------------------------------------- */

/* Does a chain of BIGRAM tokens at consecutive positions spell q (CJK)? */
static bool bigram_chain(const toks *ts, const char *q)
{
    char *pairs[16];
    size_t np = 0;
    const char *p = q;
    size_t qlen = strlen(q);
    size_t i = 0;
    size_t starts[17], nc = 0;
    while (i < qlen) {
        starts[nc++] = i;
        esi_utf8_next((const uint8_t *)q, qlen, &i);
    }
    starts[nc] = qlen;
    for (size_t c = 0; c + 1 < nc; c++) {
        size_t l = starts[c + 2] - starts[c];
        pairs[np] = strndup(p + starts[c], l);
        np++;
    }
    bool found = false;
    for (size_t s = 0; s < ts->n && !found; s++) {
        if (ts->v[s].kind != ES_TOKEN_BIGRAM || strcmp(ts->v[s].term, pairs[0]) != 0)
            continue;
        uint32_t pos = ts->v[s].pos;
        size_t k = 1;
        for (size_t t = s + 1; t < ts->n && k < np; t++)
            if (ts->v[t].kind == ES_TOKEN_BIGRAM && ts->v[t].pos == pos + k) {
                if (strcmp(ts->v[t].term, pairs[k]) != 0)
                    break;
                k++;
            }
        found = k == np;
    }
    for (size_t c = 0; c < np; c++)
        free(pairs[c]);
    return found;
}

START_TEST(test_analyzer_pdf_linebreak_join_sample)
{
    esi_analyzer *a = new_an();
    size_t len;
    char *text = tu_read_sample("puyang-2025-93.txt", &len);
    /* The sample has 教育, a blank line, then 强国. */
    const char *wrap = strstr(text, "加快建设教育\n");
    ck_assert_ptr_nonnull(wrap);
    ck_assert_ptr_null(strstr(text, "教育强国"));
    toks ts = { 0 };
    esi_err e;
    ck_assert_int_eq(esi_analyze(a, text, len, ES_TOKENIZE_INDEX, collect, &ts, &e), ES_OK);
    ck_assert(bigram_chain(&ts, "教育强国"));
    ck_assert(bigram_chain(&ts, "加快建设教育强国"));
    /* The bigram 育强 spans the line break in the original text. */
    bool seen = false;
    for (size_t i = 0; i < ts.n; i++)
        if (ts.v[i].kind == ES_TOKEN_BIGRAM && strcmp(ts.v[i].term, "育强") == 0 &&
            memchr(text + ts.v[i].start, '\n', ts.v[i].end - ts.v[i].start))
            seen = true;
    ck_assert(seen);
    /* And within a short text too, with page-break and spaces. */
    an(a, "教育\r\n \f 强国", 0, &ts);
    ck_assert(bigram_chain(&ts, "教育强国"));
    free(ts.v);
    free(text);
    esi_analyzer_free(a);
}
END_TEST

START_TEST(test_analyzer_mixed_tokens)
{
    esi_analyzer *a = new_an();
    expect_tokens(a, "AI数智校园", 0, true,
                  "L:ai@0 H:数@1 B:数智@1 H:智@2 B:智校@2 H:校@3 B:校园@3 H:园@4");
    expect_tokens(a, "2027年", 0, true, "N:2027@0 H:年@1");
    expect_tokens(a, "60%", 0, true, "N:60@0");
    expect_tokens(a, "44.8万", 0, true, "N:44.8@0 H:万@1");
    expect_tokens(a, "濮教函〔2025〕93号", 0, true,
                  "H:濮@0 B:濮教@0 H:教@1 B:教函@1 H:函@2 N:2025@3 N:93@4 H:号@5");
    expect_tokens(a, "“1+1+N”", 0, true, "N:1@0 N:1@1 L:n@2");
    expect_tokens(a, "h5n1病毒", 0, false, "L:h5n1@0 H:病@1 H:毒@2");
    /* 〇 is a CJK unit; kana and hangul too. */
    expect_tokens(a, "二〇二五", 0, false, "H:二@0 H:〇@1 H:二@2 H:五@3");
    expect_tokens(a, "カナ한글", 0, false, "H:カ@0 H:ナ@1 H:한@2 H:글@3");
    esi_analyzer_free(a);
}
END_TEST

START_TEST(test_analyzer_number_rules)
{
    esi_analyzer *a = new_an();
    expect_tokens(a, "1,000", 0, true, "N:1000@0");
    expect_tokens(a, "12,345,678.9元", 0, true, "N:12345678.9@0 H:元@1");
    expect_tokens(a, "1,2", 0, true, "N:1@0 N:2@1");
    expect_tokens(a, "1234,567", 0, true, "N:1234@0 N:567@1");
    expect_tokens(a, "3.14", 0, true, "N:3.14@0");
    expect_tokens(a, "2025.01.02", 0, true, "N:2025@0 N:01@1 N:02@2");
    expect_tokens(a, "1,000abc", 0, true, "N:1@0 L:000abc@1");
    expect_tokens(a, "5.", 0, true, "N:5@0");
    expect_tokens(a, "a.5", 0, true, "L:a@0 N:5@1");
    expect_tokens(a, "1..2", 0, true, "N:1@0 N:2@1");
    expect_tokens(a, "１，０００", 0, true, "N:1000@0");   /* full-width */
    esi_analyzer_free(a);
}
END_TEST

START_TEST(test_analyzer_latin_whole_words)
{
    esi_analyzer *a = new_an();
    toks ts = { 0 };
    an(a, "Education, EDUCATION-edu", 0, &ts);
    ck_assert_uint_eq(ts.n, 3);
    ck_assert_str_eq(ts.v[0].term, "education");
    ck_assert_str_eq(ts.v[1].term, "education");
    ck_assert_str_eq(ts.v[2].term, "edu");
    an(a, "education", 0, &ts);
    for (size_t i = 0; i < ts.n; i++)
        ck_assert_str_ne(ts.v[i].term, "edu");
    /* A very long Latin run is cut into tokens of at most 256 chars. */
    char *longw = malloc(1001);
    memset(longw, 'x', 1000);
    longw[1000] = '\0';
    an(a, longw, 0, &ts);
    ck_assert_uint_eq(ts.n, 4);
    ck_assert_uint_eq(ts.v[0].term_len, 256);
    ck_assert_uint_eq(ts.v[3].end, 1000);
    free(longw);
    free(ts.v);
    esi_analyzer_free(a);
}
END_TEST

/* Check the offset/position invariants of every token of text. */
static void check_offsets(esi_analyzer *a, const char *text, size_t len, unsigned flags)
{
    toks ts = { 0 };
    esi_err e;
    ck_assert_int_eq(esi_analyze(a, text, len, flags, collect, &ts, &e), ES_OK);
    uint32_t last_pos = 0;
    int last_rank = 0;
    for (size_t i = 0; i < ts.n; i++) {
        const tok *t = &ts.v[i];
        ck_assert(t->start < t->end && t->end <= len);
        /* On UTF-8 character boundaries of the decoded text. */
        ck_assert((((const uint8_t *)text)[t->start] & 0xc0) != 0x80 ||
                  !esi_utf8_valid((const uint8_t *)text, len));
        ck_assert(t->end == len || (((const uint8_t *)text)[t->end] & 0xc0) != 0x80 ||
                  !esi_utf8_valid((const uint8_t *)text, len));
        /* Position order; at one position HAN < BIGRAM < WORD. */
        int rank = t->kind == ES_TOKEN_WORD ? 3 : t->kind == ES_TOKEN_BIGRAM ? 2 : 1;
        ck_assert(t->pos > last_pos || i == 0 || (t->pos == last_pos && rank >= last_rank));
        last_pos = t->pos;
        last_rank = rank;
        /* The original bytes normalize to the term (dots aside). */
        char *k = nkey(a, text + t->start, t->end - t->start);
        char want[64];
        size_t w = 0;
        for (size_t j = 0; j < t->term_len && j < sizeof want - 1; j++)
            if (t->term[j] != '.')
                want[w++] = t->term[j];
        want[w] = '\0';
        if (t->term_len < sizeof t->term - 1)
            ck_assert_msg(strcmp(k, want) == 0, "token %s [%zu,%zu): N(bytes)=%s",
                          t->term, t->start, t->end, k);
        free(k);
    }
    free(ts.v);
}

START_TEST(test_analyzer_offsets_invariants)
{
    esi_analyzer *a = new_an();
    const char *samples[] = {
        "濮教函〔2025〕93号 AI数智校园 2027年 60% 44.8万 “1+1+N” ＡＢＣ１２３",
        "ﬁx ①② 集團化辦學 cafe\xcc\x81 Straße ㎡ ｶﾞｷﾞ 한글 Ⅻ 1,000.5",
        "教育\n\n强国 𠀀𠀁 𪚥 \xef\xbf\xbd 显著",
    };
    for (size_t i = 0; i < 3; i++) {
        check_offsets(a, samples[i], strlen(samples[i]), ES_TOKENIZE_INDEX);
        check_offsets(a, samples[i], strlen(samples[i]), ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS);
    }
    size_t len;
    char *text = tu_read_sample("xinyang-2024-194.txt", &len);
    check_offsets(a, text, len, ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS);
    free(text);
    /* Random byte soup mixing CJK, ASCII and invalid bytes. */
    uint64_t st = tu_seed();
    static const char *parts[] = { "教", "育", "集團", "ａ", "Ｂ", "1", ",", ".", " ",
                                   "\n", "\xff", "\xe6\x95", "\x00", "ﬁ", "e\xcc\x81",
                                   "\xcc\x81", "①", "x", "〔", "𠀀" };
    for (int round = 0; round < 200; round++) {
        char buf[400];
        size_t n = 0;
        while (n < sizeof buf - 8) {
            const char *p = parts[tu_rand(&st) % 20];
            size_t pl = p[0] ? strlen(p) : 1;
            memcpy(buf + n, p, pl);
            n += pl;
        }
        check_offsets(a, buf, n, ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS);
    }
    esi_analyzer_free(a);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(test_analyzer_invalid_utf8_policy)
{
    esi_analyzer *a = new_an();
    toks ts = { 0 };
    /* U+FFFD is a separator: 教 and 育 stay adjacent. */
    const char bad[] = "\xff\xfe教\xe6\x95育\xc0\xaf" "ab\xed\xa0\x80" "cd\xf4\x90";
    an_len(a, bad, sizeof bad - 1, 0, &ts);
    expect_rendered(&ts, true, "bad", "H:教@0 B:教育@0 H:育@1 L:ab@2 L:cd@3");
    ck_assert_uint_eq(ts.v[0].start, 2);
    ck_assert_uint_eq(ts.v[2].start, 7);
    /* Truncated at the very end. */
    an(a, "教\xe8", 0, &ts);
    ck_assert_uint_eq(ts.n, 1);
    free(ts.v);
    esi_analyzer_free(a);
}
END_TEST

START_TEST(test_analyzer_nul_and_empty)
{
    esi_analyzer *a = new_an();
    toks ts = { 0 };
    esi_err e;
    const char t1[] = "ab\0cd\0教\0育";
    an_len(a, t1, sizeof t1 - 1, 0, &ts);
    expect_rendered(&ts, true, "t1", "L:ab@0 L:cd@1 H:教@2 B:教育@2 H:育@3");
    ts.n = 0;
    ck_assert_int_eq(esi_analyze(a, "", 0, 0, collect, &ts, &e), ES_OK);
    ck_assert_int_eq(esi_analyze(a, NULL, 0, ES_TOKENIZE_WORDS, collect, &ts, &e), ES_OK);
    ck_assert_uint_eq(ts.n, 0);
    ck_assert_int_eq(esi_analyze(a, NULL, 3, 0, collect, &ts, &e), ES_EINVAL);
    ck_assert_int_eq(esi_analyze(a, "x", 1, 0, NULL, &ts, &e), ES_EINVAL);
    esi_buf b = { 0 };
    ck_assert_int_eq(esi_normalize_key(a, NULL, 0, &b, &e), ES_OK);
    ck_assert_uint_eq(b.len, 0);
    esi_buf_free(&b);
    /* Separators only. */
    an(a, " \n\t。，、！\xef\xbf\xbd", 0, &ts);
    ck_assert_uint_eq(ts.n, 0);
    free(ts.v);
    esi_analyzer_free(a);
}
END_TEST

START_TEST(test_analyzer_stop_early)
{
    esi_analyzer *a = new_an();
    toks ts = { 0 };
    ts.stop_after = 3;
    an(a, "教育强国 abc def 集团", ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS, &ts);
    ck_assert_uint_eq(ts.n, 3);
    free(ts.v);
    esi_analyzer_free(a);
}
END_TEST

/* Counting callback for the large document. */
typedef struct counts {
    size_t han, bigram, other, words;
    uint32_t last_pos;
    size_t last_end;
    bool order_ok;
} counts;

static int count_cb(const es_token *t, void *p)
{
    counts *c = p;
    if (t->position < c->last_pos)
        c->order_ok = false;
    c->last_pos = t->position;
    c->last_end = t->end;
    if (t->kind == ES_TOKEN_HAN)
        c->han++;
    else if (t->kind == ES_TOKEN_BIGRAM)
        c->bigram++;
    else if (t->kind == ES_TOKEN_WORD)
        c->words++;
    else
        c->other++;
    return 0;
}

START_TEST(test_analyzer_large_document)
{
    size_t slen;
    char *sample = tu_read_sample("puyang-2025-93.txt", &slen);
    /* 100 MB; 20 MB under AddressSanitizer (which is about 5x slower). */
    size_t target = SMALL_RUN ? ((size_t)20 << 20) : ((size_t)100 << 20);
    char *big = malloc(target);
    ck_assert_ptr_nonnull(big);
    size_t n = 0;
    while (n + slen <= target) {
        memcpy(big + n, sample, slen);
        n += slen;
    }
    memset(big + n, 'a', target - n);   /* one long Latin run at the end */
    n = target;
    esi_analyzer *a = new_an();
    esi_err e;
    counts c = { .order_ok = true };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(esi_analyze(a, big, n, ES_TOKENIZE_INDEX, count_cb, &c, &e), ES_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("large_document: %zu MB in %.2f s (%.1f MB/s), %zu HAN %zu BIGRAM %zu other\n",
           n >> 20, s, (double)n / 1048576.0 / s, c.han, c.bigram, c.other);
    ck_assert(c.order_ok);
    ck_assert_uint_eq(c.last_end, n);
    /* Every HAN has a bigram except the last unit of each CJK run. */
    ck_assert_uint_gt(c.han, n / 5);
    ck_assert_uint_le(c.han - c.bigram, c.other + 1);
    esi_analyzer_free(a);
    free(big);
    free(sample);
}
END_TEST

/* ---- words and sentences ------------------------------------------------ */

START_TEST(test_analyzer_words_icu)
{
    esi_analyzer *a = new_an();
    toks ts = { 0 };
    an(a, "集团化办学", ES_TOKENIZE_WORDS, &ts);
    char *r = render(&ts, true);
    ck_assert_str_eq(r, "W:集团@0 W:化@2 W:办学@3");
    free(r);
    ck_assert_uint_eq(ts.v[0].span, 2);
    ck_assert_uint_eq(ts.v[2].start, 9);
    ck_assert_uint_eq(ts.v[2].end, 15);
    /* Traditional input gives the same words; a line wrap is joined. */
    an(a, "集團化辦學 加快建设教育\n\n强国", ES_TOKENIZE_WORDS, &ts);
    r = render(&ts, true);
    ck_assert_str_eq(r, "W:集团@0 W:化@2 W:办学@3 W:加快@5 W:建设@7 W:教育@9 W:强国@11");
    free(r);
    /* Both flags: units and words interleaved by position. */
    an(a, "义务教育2027年", ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS, &ts);
    r = render(&ts, true);
    ck_assert_str_eq(r, "H:义@0 B:义务@0 W:义务@0 H:务@1 B:务教@1 H:教@2 B:教育@2 W:教育@2 "
                        "H:育@3 N:2027@4 H:年@5 W:年@5");
    free(r);
    free(ts.v);
    esi_analyzer_free(a);
}
END_TEST

typedef struct sents {
    size_t n;
    size_t s[64], e[64];
} sents;

static int sent_cb(size_t start, size_t end, void *p)
{
    sents *ss = p;
    if (ss->n < 64) {
        ss->s[ss->n] = start;
        ss->e[ss->n] = end;
    }
    ss->n++;
    return 0;
}

/* Sentence callback checking that the sentences tile the text. */
typedef struct tiling {
    size_t next, count;
    const char *text;
    bool ok, wrap_ok;
} tiling;

static int tile_cb(size_t start, size_t end, void *p)
{
    tiling *t = p;
    if (start != t->next || end <= start)
        t->ok = false;
    t->next = end;
    t->count++;
    /* No sentence ends with CJK + newline when CJK follows. */
    size_t k = end;
    while (k > start && (t->text[k - 1] == '\n' || t->text[k - 1] == ' '))
        k--;
    if (k < end && k >= start + 3) {
        uint32_t before = 0, after = 0;
        size_t i = k - 3;
        before = esi_utf8_next((const uint8_t *)t->text, k, &i);
        size_t j = end, len = strlen(t->text);
        while (j < len && (t->text[j] == '\n' || t->text[j] == ' '))
            j++;
        if (j < len)
            after = esi_utf8_next((const uint8_t *)t->text, len, &j);
        if (esi_is_cjk(before) && esi_is_cjk(after))
            t->wrap_ok = false;
    }
    return 0;
}

START_TEST(test_analyzer_sentences_rules)
{
    esi_analyzer *a = new_an();
    esi_err e;
    const char *t = "党的二十大对加快建设教育\n\n强国、办好人民满意的教育。第二句！"
                    "第五句：“引号内。”\n最后 abc.\n\n下一段";
    sents ss = { 0 };
    ck_assert_int_eq(esi_sentences(a, t, strlen(t), sent_cb, &ss, &e), ES_OK);
    ck_assert_uint_eq(ss.n, 6);
    ck_assert_uint_eq(ss.s[0], 0);
    ck_assert(strncmp(t + ss.e[0] - 3, "。", 3) == 0);   /* the wrap is joined */
    ck_assert(strncmp(t + ss.s[1], "第二句", 9) == 0);
    ck_assert(strncmp(t + ss.s[2], "第五句", 9) == 0);
    ck_assert_uint_eq(ss.e[5], strlen(t));
    /* Empty text: no sentence. */
    ss.n = 0;
    ck_assert_int_eq(esi_sentences(a, "", 0, sent_cb, &ss, &e), ES_OK);
    ck_assert_uint_eq(ss.n, 0);
    /* The samples tile exactly and never break at a CJK line wrap. */
    const char *names[] = { "puyang-2025-93.txt", "xinyang-2024-194.txt" };
    for (int i = 0; i < 2; i++) {
        size_t len;
        char *text = tu_read_sample(names[i], &len);
        tiling tl = { 0, 0, text, true, true };
        ck_assert_int_eq(esi_sentences(a, text, len, tile_cb, &tl, &e), ES_OK);
        ck_assert(tl.ok && tl.wrap_ok);
        ck_assert_uint_eq(tl.next, len);
        ck_assert_uint_gt(tl.count, 20);
        free(text);
    }
    esi_analyzer_free(a);
}
END_TEST

START_TEST(test_analyzer_sentences_windows)
{
    /* Longer than several windows, with invalid bytes: still tiles. */
    esi_analyzer *a = new_an();
    esi_err e;
    size_t n = 0, cap = (size_t)3 << 20;
    char *big = malloc(cap + 1);
    const char *piece = "教育强国建设。\xff第二句\n\n继续！";
    size_t pl = strlen(piece);
    while (n + pl <= 1000000) {
        memcpy(big + n, piece, pl);
        n += pl;
    }
    /* Then 400 KB with no sentence end at all. */
    while (n + 3 <= (size_t)1400000) {
        memcpy(big + n, "字", 3);
        n += 3;
    }
    big[n] = '\0';
    tiling tl = { 0, 0, big, true, true };
    ck_assert_int_eq(esi_sentences(a, big, n, tile_cb, &tl, &e), ES_OK);
    ck_assert(tl.ok);
    ck_assert_uint_eq(tl.next, n);
    free(big);
    esi_analyzer_free(a);
}
END_TEST

/* ---- the phrase guarantee ----------------------------------------------- */

typedef struct corpus {
    char **text;
    size_t *len;
    size_t n, cap;
} corpus;

static void corpus_add(const char *id, const char *title, const char *text,
                       size_t len, void *p)
{
    (void)id;
    (void)title;
    corpus *c = p;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 128;
        c->text = realloc(c->text, c->cap * sizeof *c->text);
        c->len = realloc(c->len, c->cap * sizeof *c->len);
    }
    c->text[c->n] = malloc(len + 1);
    memcpy(c->text[c->n], text, len);
    c->text[c->n][len] = '\0';
    c->len[c->n] = len;
    c->n++;
}

/* A document's phrase index: HAN code point and BIGRAM pair per position,
 * decoded from the emitted token terms. */
typedef struct pindex {
    uint32_t *han;       /* 0 = no HAN at that position */
    uint64_t *bigram;    /* (cp1 << 21 | cp2), 0 = none */
    size_t npos;
} pindex;

typedef struct pbuild {
    pindex *ix;
    size_t cap;
} pbuild;

static int pindex_cb(const es_token *t, void *p)
{
    pbuild *b = p;
    if (t->position >= b->cap) {
        size_t nc = (t->position + 1) * 2;
        b->ix->han = realloc(b->ix->han, nc * sizeof *b->ix->han);
        b->ix->bigram = realloc(b->ix->bigram, nc * sizeof *b->ix->bigram);
        memset(b->ix->han + b->cap, 0, (nc - b->cap) * sizeof *b->ix->han);
        memset(b->ix->bigram + b->cap, 0, (nc - b->cap) * sizeof *b->ix->bigram);
        b->cap = nc;
    }
    if (t->position + 1 > b->ix->npos)
        b->ix->npos = t->position + 1;
    size_t i = 0;
    const uint8_t *s = (const uint8_t *)t->term;
    if (t->kind == ES_TOKEN_HAN) {
        b->ix->han[t->position] = esi_utf8_next(s, t->term_len, &i);
    } else if (t->kind == ES_TOKEN_BIGRAM) {
        uint64_t c1 = esi_utf8_next(s, t->term_len, &i);
        uint64_t c2 = esi_utf8_next(s, t->term_len, &i);
        ck_assert_uint_eq(i, t->term_len);
        b->ix->bigram[t->position] = c1 << 21 | c2;
    }
    return 0;
}

/* Query terms: the HAN code points and BIGRAM pairs of the analyzed query;
 * false if the query has a non-CJK unit (not a CJK phrase). */
static bool query_terms(esi_analyzer *a, const char *q, size_t ql, uint32_t *han,
                        uint64_t *bg, size_t *nh)
{
    pindex ix = { 0 };
    pbuild b = { &ix, 0 };
    esi_err e;
    ck_assert_int_eq(esi_analyze(a, q, ql, ES_TOKENIZE_INDEX, pindex_cb, &b, &e), ES_OK);
    bool ok = ix.npos > 0 && ix.npos <= 16;
    for (size_t p = 0; ok && p < ix.npos; p++) {
        if (!ix.han[p])
            ok = false;
        else {
            han[p] = ix.han[p];
            bg[p] = ix.bigram[p];
        }
    }
    *nh = ix.npos;
    free(ix.han);
    free(ix.bigram);
    return ok;
}

/* Positional phrase match of the query over the document index. */
static bool phrase_match(const pindex *d, const uint32_t *han, const uint64_t *bg, size_t L)
{
    for (size_t p = 0; p + L <= d->npos; p++) {
        if (L == 1) {
            if (d->han[p] == han[0])
                return true;
            continue;
        }
        size_t i = 0;
        while (i + 1 < L && d->bigram[p + i] == bg[i])
            i++;
        if (i + 1 == L)
            return true;
    }
    return false;
}

/* Append the UTF-8 of code points cps[0..n) to out (NUL-terminated). */
static size_t utf8_of(const uint32_t *cps, size_t n, char *out)
{
    size_t l = 0;
    for (size_t i = 0; i < n; i++)
        l += esi_utf8_put((uint8_t *)out + l, cps[i]);
    out[l] = '\0';
    return l;
}

START_TEST(test_analyzer_property_phrase_guarantee)
{
    corpus c = { 0 };
    size_t nd = tu_corpus_docs("edu-sample.jsonl", 89, corpus_add, &c);
    ck_assert_uint_gt(nd, 10);
    esi_analyzer *a = new_an();
    uint64_t st = tu_seed();
    size_t docs = SMALL_RUN ? 12 : 30;
    size_t hits = 0, misses = 0, checked = 0;
    esi_err e;
    for (size_t di = 0; di < docs; di++) {
        size_t d = tu_rand(&st) % c.n;
        char *N = nkey(a, c.text[d], c.len[d]);
        size_t nl = strlen(N);
        /* N as code points. */
        uint32_t *cps = malloc((nl + 1) * sizeof *cps);
        size_t ncp = 0;
        for (size_t i = 0; i < nl;)
            cps[ncp++] = esi_utf8_next((const uint8_t *)N, nl, &i);
        pindex ix = { 0 };
        pbuild b = { &ix, 0 };
        ck_assert_int_eq(esi_analyze(a, c.text[d], c.len[d], ES_TOKENIZE_INDEX, pindex_cb,
                                     &b, &e), ES_OK);
        for (int qi = 0; qi < 120 && ncp > 8; qi++) {
            char q[128];
            size_t ql = 0, L = 1 + tu_rand(&st) % 8;
            uint32_t qc[8];
            int mode = (int)(tu_rand(&st) % 4);
            if (mode == 0 || mode == 1) {   /* a substring of N(doc) */
                size_t s = tu_rand(&st) % (ncp - L);
                memcpy(qc, cps + s, L * sizeof *qc);
                if (mode == 1)               /* with one char changed */
                    qc[tu_rand(&st) % L] = cps[tu_rand(&st) % ncp];
            } else if (mode == 2) {          /* random chars of the doc */
                for (size_t i = 0; i < L; i++)
                    qc[i] = cps[tu_rand(&st) % ncp];
            } else {                         /* a substring of another doc */
                size_t o = tu_rand(&st) % c.n;
                char *No = nkey(a, c.text[o], c.len[o]);
                size_t nol = strlen(No), k = 0, i = 0, want = tu_rand(&st) % (nol / 3 + 1);
                while (i < nol && k < want) {
                    esi_utf8_next((const uint8_t *)No, nol, &i);
                    k++;
                }
                size_t got = 0;
                while (i < nol && got < L)
                    qc[got++] = esi_utf8_next((const uint8_t *)No, nol, &i);
                L = got ? got : 1;
                if (!got)
                    qc[0] = 0x4e00;
                free(No);
            }
            bool cjk = true;
            for (size_t i = 0; i < L; i++)
                cjk &= esi_is_cjk(qc[i]);
            if (!cjk)
                continue;
            ql = utf8_of(qc, L, q);
            /* Reference: substring of N(doc) after normalizing the query. */
            char *Nq = nkey(a, q, ql);
            bool ref = strstr(N, Nq) != NULL;
            free(Nq);
            uint32_t han[16];
            uint64_t bg[16];
            size_t nh;
            ck_assert(query_terms(a, q, ql, han, bg, &nh));
            bool got = phrase_match(&ix, han, bg, nh);
            ck_assert_msg(got == ref, "doc %zu query <%s>: index %d, substring %d", d, q,
                          got, ref);
            hits += ref;
            misses += !ref;
            checked++;
        }
        free(ix.han);
        free(ix.bigram);
        free(cps);
        free(N);
    }
    printf("phrase guarantee: %zu queries, %zu present, %zu absent\n", checked, hits, misses);
    ck_assert_uint_gt(hits, 100);
    ck_assert_uint_gt(misses, 100);
    for (size_t i = 0; i < c.n; i++)
        free(c.text[i]);
    free(c.text);
    free(c.len);
    esi_analyzer_free(a);
}
END_TEST

/* Traditional queries find simplified documents and the reverse. */
START_TEST(test_analyzer_property_trad_queries)
{
    esi_analyzer *a = new_an();
    const char *doc = "推进集团化办学，实现义务教育优质均衡发展，加快建设教育\n强国。";
    const char *queries[] = { "集團化辦學", "義務教育", "優質均衡", "教育強國", "辦" };
    toks ts = { 0 };
    an(a, doc, 0, &ts);
    for (size_t i = 0; i < 5; i++) {
        toks qt = { 0 };
        an(a, queries[i], 0, &qt);
        uint32_t han[16];
        uint64_t bg[16];
        size_t nh;
        ck_assert(query_terms(a, queries[i], strlen(queries[i]), han, bg, &nh));
        pindex ix = { 0 };
        pbuild b = { &ix, 0 };
        esi_err e;
        ck_assert_int_eq(esi_analyze(a, doc, strlen(doc), 0, pindex_cb, &b, &e), ES_OK);
        ck_assert_msg(phrase_match(&ix, han, bg, nh), "%s not found", queries[i]);
        free(ix.han);
        free(ix.bigram);
        free(qt.v);
    }
    free(ts.v);
    esi_analyzer_free(a);
}
END_TEST

/* ---- chaos and the public API ------------------------------------------- */

static int sink_tok(const es_token *t, void *p)
{
    (void)t;
    (void)p;
    return 0;
}

static int sink_sent(size_t s, size_t e, void *p)
{
    (void)s;
    (void)e;
    (void)p;
    return 0;
}

START_TEST(test_analyzer_chaos_alloc)
{
    esi_analyzer_free(new_an());   /* the process-wide tables exist now */
    const char *text = "集團化辦學 AI数智校园 2027年。第二句！\n教育\n强国 1,000.5";
    bool done = false;
    size_t n;
    for (n = 1; n < 1000 && !done; n++) {
        esi_alloc_fail_at(n);
        esi_analyzer *a = NULL;
        esi_err e;
        es_status rc = esi_analyzer_new(&a, &e);
        ck_assert(rc == ES_OK || rc == ES_ENOMEM);
        if (rc == ES_ENOMEM) {
            ck_assert_ptr_null(a);
            continue;
        }
        rc = esi_analyze(a, text, strlen(text), ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS,
                         sink_tok, NULL, &e);
        ck_assert_int_eq(rc, ES_OK);   /* analysis itself never allocates */
        esi_buf b = { 0 };
        es_status r2 = esi_normalize_key(a, text, strlen(text), &b, &e);
        ck_assert(r2 == ES_OK || r2 == ES_ENOMEM);
        esi_buf_free(&b);
        es_status r3 = esi_sentences(a, text, strlen(text), sink_sent, NULL, &e);
        ck_assert(r3 == ES_OK || r3 == ES_ENOMEM);
        es_error pe;
        es_status r4 = es_tokenize(text, strlen(text), 0, sink_tok, NULL, &pe);
        ck_assert(r4 == ES_OK || r4 == ES_ENOMEM);
        if (r4 == ES_ENOMEM)
            ck_assert_int_eq(pe.code, ES_ENOMEM);
        esi_analyzer_free(a);
        done = r2 == ES_OK && r3 == ES_OK && r4 == ES_OK;
    }
    esi_alloc_fail_at(0);
    ck_assert(done);
    ck_assert_uint_gt(n, 5);
}
END_TEST

START_TEST(test_analyzer_public_tokenize)
{
    toks ts = { 0 };
    es_error err;
    const char *t = "2027年AI";
    ck_assert_int_eq(es_tokenize(t, strlen(t), 0, collect, &ts, &err), ES_OK);
    char *r = render(&ts, true);
    ck_assert_str_eq(r, "N:2027@0 H:年@1 L:ai@2");
    free(r);
    ck_assert_int_eq(es_tokenize(t, strlen(t), 0, NULL, &ts, &err), ES_EINVAL);
    ck_assert_int_eq(err.code, ES_EINVAL);
    ck_assert_int_eq(es_tokenize(NULL, 2, 0, collect, &ts, &err), ES_EINVAL);
    ck_assert_int_eq(es_tokenize(t, strlen(t), 0x80, collect, &ts, &err), ES_EINVAL);
    ck_assert_int_eq(es_tokenize(NULL, 0, 0, collect, &ts, NULL), ES_OK);
    free(ts.v);
    ck_assert(esi_is_cjk(0x6559) && esi_is_cjk(0x3007) && esi_is_cjk(0xac00));
    ck_assert(!esi_is_cjk('a') && !esi_is_cjk(0x3002) && !esi_is_cjk(0xfffd) &&
              !esi_is_cjk(0x110000));
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

static Suite *analyzer_suite(void)
{
    Suite *s = suite_create("analyzer");
    struct {
        const char *name;
        const TTest *test;
        int timeout;
    } cases[] = {
        { "nfkc_fullwidth", test_analyzer_nfkc_fullwidth_basic, 0 },
        { "nfkc_idempotent", test_analyzer_nfkc_idempotent_keys, 0 },
        { "trad_to_simp", test_analyzer_trad_to_simp_keys, 0 },
        { "trad_to_simp_table", test_analyzer_trad_to_simp_table_matches_icu, 60 },
        { "pdf_linebreak_join", test_analyzer_pdf_linebreak_join_sample, 0 },
        { "mixed_tokens", test_analyzer_mixed_tokens, 0 },
        { "number_rules", test_analyzer_number_rules, 0 },
        { "latin_whole_words", test_analyzer_latin_whole_words, 0 },
        { "offsets", test_analyzer_offsets_invariants, 60 },
        { "invalid_utf8", test_analyzer_invalid_utf8_policy, 0 },
        { "nul_and_empty", test_analyzer_nul_and_empty, 0 },
        { "stop_early", test_analyzer_stop_early, 0 },
        { "large_document", test_analyzer_large_document, 120 },
        { "words", test_analyzer_words_icu, 0 },
        { "sentences", test_analyzer_sentences_rules, 0 },
        { "sentences_windows", test_analyzer_sentences_windows, 60 },
        { "trad_queries", test_analyzer_property_trad_queries, 0 },
        { "chaos", test_analyzer_chaos_alloc, 60 },
        { "public_tokenize", test_analyzer_public_tokenize, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        tu_add_case(s, cases[i].name, cases[i].test, 0, 1, cases[i].timeout);
    if (tu_corpus_dir()) {
        tu_add_case(s, "property_phrase", test_analyzer_property_phrase_guarantee, 0, 1,
                    120);
    } else {
        printf("SKIP: ../shared/corpus not found (set ES_CORPUS_DIR); "
               "property_phrase not run\n");
    }
    return s;
}

int main(void)
{
    return tu_run(analyzer_suite());
}
