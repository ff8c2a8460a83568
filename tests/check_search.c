/*
 * check_search.c: suite "search": query lowering (bigram chains, ICU words
 * with the phrase bonus, fields, prefixes, normalization) and search end to
 * end over indexes built through the public writer: phrase hits equal a
 * brute-force substring search over N(text) for phrases sampled from the
 * corpus (property test), exact phrase above scattered words, OR / NOT /
 * field / date semantics, pagination equal to one big page, date sorting,
 * snippets and match ranges on UTF-8 boundaries that normalize to the query,
 * 8 threads on one index giving the single-thread results, and
 * es_query_explain's key counts equal to searches of each key.
 */
#include "search/query.h"
#include "search/search.h"
#include "base/pool.h"
#include "api/api.h"
#include "storage/storage_int.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- helpers ------------------------------------------------------------ */

/* Parse and lower q; return its dump (static) or "ERR <rc> @<pos>". */
static const char *low(const char *text)
{
    es_query *q = NULL;
    es_error err;
    es_status rc = es_query_parse(&q, text, strlen(text), &err);
    return tu_query_result(rc, q, err.position);
}

/* Add a document with optional title and date. */
static void add(es_writer *w, const char *id, const char *title, const char *date,
                const char *text, size_t len)
{
    es_doc *d = NULL;
    ck_assert_int_eq(es_doc_new(&d, id, strlen(id), NULL), ES_OK);
    ck_assert_int_eq(es_doc_set_text(d, text, len), ES_OK);
    if (title)
        ck_assert_int_eq(es_doc_set_field(d, "title", title, strlen(title)), ES_OK);
    if (date)
        ck_assert_int_eq(es_doc_set_field(d, "date", date, strlen(date)), ES_OK);
    ck_assert_int_eq(es_writer_add(w, d), ES_OK);
    es_doc_free(d);
}

/* Commit w, free it, and open the index at dir (free with es_index_free). */
static es_index *commit_and_open(es_writer *w, const char *dir)
{
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_index *ix = NULL;
    es_error err;
    ck_assert_msg(es_index_open(&ix, dir, &err) == ES_OK, "%s", err.message);
    return ix;
}

/* Run q with opts; the results (caller frees). */
static es_results *run(es_index *ix, const char *q, const es_search_options *o)
{
    es_error err;
    es_query *query = NULL;
    ck_assert_msg(es_query_parse(&query, q, strlen(q), &err) == ES_OK, "%s: %s",
                  q, err.message);
    es_results *r = NULL;
    es_status rc = es_search(&r, ix, query, o, &err);
    ck_assert_msg(rc == ES_OK, "%s: %s", q, err.message);
    es_query_free(query);
    return r;
}

/* The text es_query_explain gives for q on ix (malloc'ed), checked to be
 * as long as the length it reports. */
static char *explain(es_index *ix, const char *q)
{
    es_error err;
    es_query *query = NULL;
    ck_assert_msg(es_query_parse(&query, q, strlen(q), &err) == ES_OK, "%s: %s",
                  q, err.message);
    size_t len = 0, len2 = 0;
    ck_assert_int_eq(es_query_explain(ix, query, NULL, 0, &len, &err), ES_OK);
    char *text = malloc(len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(es_query_explain(ix, query, text, len + 1, &len2, &err), ES_OK);
    ck_assert_uint_eq(len2, len);
    ck_assert_uint_eq(strlen(text), len);
    es_query_free(query);
    return text;
}

/* The documents a search for key k (as explain prints it: field:text or
 * text) finds as a phrase. */
static uint64_t key_hits(es_index *ix, const char *k, size_t n)
{
    char key[64], search[96];
    ck_assert_uint_lt(n, sizeof key);
    memcpy(key, k, n);
    key[n] = 0;
    char *colon = strchr(key, ':');       /* a field key: field:"text" */
    if (colon) {
        *colon = 0;
        snprintf(search, sizeof search, "%s:\"%s\"", key, colon + 1);
    } else {
        snprintf(search, sizeof search, "\"%s\"", key);
    }
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    o.limit = 0;
    es_results *r = run(ix, search, &o);
    uint64_t n2 = es_results_total(r);
    es_results_free(r);
    return n2;
}

/* The ids of r joined with ',' (static buffer). */
static const char *ids(const es_results *r)
{
    static char out[4096];
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < es_results_count(r); i++) {
        size_t len;
        const char *id = es_results_id(r, i, &len);
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%s", i ? "," : "", id);
    }
    return out;
}

/* The small hand-made index. */
static char *small_dir;
static es_index *small;

static void small_setup(void)
{
    small_dir = tu_tmpdir();
    es_writer *w = NULL;
    es_error err;
    ck_assert_int_eq(es_writer_open(&w, small_dir, NULL, &err), ES_OK);
    static const struct { const char *id, *title, *date, *text; } docs[] = {
        { "exact", "关于推进集团化办学的通知", "2024-03-01",
          "推进集团化办学是促进教育均衡的重要途径。各地要加快落实。" },
        { "scattered", "学校文化建设", "2023-05-10",
          "集团内部的文化建设与办学理念相互促进。" },
        { "ai", "智慧校园", NULL,
          "建设AI数智校园，2027年前完成，覆盖60%的学校。濮教函〔2025〕93号。" },
        { "shuangjian", "“双减”工作", "2025-01-15",
          "深入落实“双减”政策，减轻学生作业负担。" },
        { "trad", NULL, "2022",
          "義務教育階段的集團化辦學試點。" },
        { "pdf", NULL, "2024-12-31",
          "加快建设教育\n\n强国，办好人民满意的教育。" },
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        add(w, docs[i].id, docs[i].title, docs[i].date, docs[i].text,
            strlen(docs[i].text));
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    ck_assert_int_eq(es_index_open(&small, small_dir, &err), ES_OK);
}

static void small_teardown(void)
{
    es_index_free(small);
    tu_rmrf(small_dir);
    free(small_dir);
}

/* Sorted, comma-joined ids of every hit of q (order-free comparisons). */
static const char *all_ids_in(es_index *ix, const char *q)
{
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    o.limit = 100;
    es_results *r = run(ix, q, &o);
    const char *v[100];
    size_t n = es_results_count(r);
    ck_assert_uint_eq(es_results_total(r), n);
    for (size_t i = 0; i < n; i++)
        v[i] = es_results_id(r, i, NULL);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
            const char *t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    static char out[1024];
    size_t m = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        m += (size_t)snprintf(out + m, sizeof out - m, "%s%s", i ? "," : "", v[i]);
    es_results_free(r);
    return out;
}

static const char *all_ids(const char *q)
{
    return all_ids_in(small, q);
}

/* ---- lowering ----------------------------------------------------------- */

START_TEST(test_search_lower_phrases)
{
    /* pairs cover the run and narrow the documents; from three characters
     * on, single characters at their offsets verify the positions */
    static const char *const cases[][2] = {
        { "\"教育强国\"", "[教育@0 强国@2 教@0 育@1 强@2 国@3]" },
        { "\"集团化办学\"", "[集团@0 化办@2 办学@3 集@0 团@1 化@2 办@3 学@4]" },
        { "\"校\"", "[校@0]" },
        { "“集團化辦學”", "[集团@0 化办@2 办学@3 集@0 团@1 化@2 办@3 学@4]" },
        { "\"教育，强国\"", "[教育@0 强国@2 教@0 育@1 强@2 国@3]" },
        { "title:\"双减\"", "[title:双减@0]" },
        { "ＡＩ", "[ai@0]" },
        { "\"AI数智\"", "[ai@0 数智@1]" },
        { "edu*", "pre[edu]" },
        { "2027年", "AND([2027@0] [年@0])" },
    };
    tu_expect_each(low, cases, TU_NCASES(cases));
}
END_TEST

START_TEST(test_search_lower_bare_runs)
{
    /* words required, whole run as the bonus */
    const char *d = low("集团化办学");
    ck_assert_msg(!strncmp(d, "AND(", 4) && strstr(d, " +[集团@0 化办@2 办学@3 集@0 团@1 化@2 办@3 学@4])"),
                  "%s", d);
    d = low("濮教函〔2025〕93号");
    ck_assert_msg(strstr(d, "[2025@0]") && strstr(d, "[93@0]"), "%s", d);
}
END_TEST

START_TEST(test_search_lower_errors)
{
    static const char *const cases[][2] = {
        { "〔〕", "ERR -10 @0" },
        { "“”", "ERR -10 @0" },
        { "-教育", "ERR -10 @0" },
        { "a OR -b", "ERR -10 @2" },
        { "教育*", "ERR -10 @0" },
        { "x 教育*", "ERR -10 @2" },
        { "〔〕 OR 教育", "[教育@0]" },
        { "a NOT NOT b", "AND([a@0] [b@0])" },
    };
    tu_expect_each(low, cases, TU_NCASES(cases));
}
END_TEST

/* ---- semantics on the small index --------------------------------------- */

/* A query on the small index and the ids of every hit it must give. */
typedef struct want_ids {
    const char *q, *ids;
} want_ids;

/* Check each query of w[0..n) against its expected ids. */
static void check_ids(const want_ids *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *got = all_ids(w[i].q);
        ck_assert_msg(!strcmp(got, w[i].ids), "%s: %s, expected %s", w[i].q, got,
                      w[i].ids);
    }
}

START_TEST(test_search_phrase_and_bare)
{
    static const want_ids w[] = {
        { "\"集团化办学\"", "exact,trad" }, { "\"教育强国\"", "pdf" },
        { "\"双减\"", "shuangjian" }, { "“双减”", "shuangjian" }, { "AI", "ai" },
        { "2025", "ai" }, { "93号", "ai" }, { "濮教函〔2025〕93号", "ai" },
        { "\"校\"", "ai" },
    };
    check_ids(w, sizeof w / sizeof *w);
    /* the exact phrase ranks above scattered words */
    es_results *r = run(small, "集团化办学", NULL);
    ck_assert_uint_ge(es_results_total(r), 2);     /* exact, trad (+ scattered) */
    ck_assert_str_ne(es_results_id(r, 0, NULL), "scattered");
    for (size_t i = 0; i + 1 < es_results_count(r); i++)
        ck_assert_str_ne(es_results_id(r, i, NULL), "scattered");
    es_results_free(r);
}
END_TEST

/* Several bare runs: the query's AND leapfrogs the words of every run at
 * once (plan_flat_and), and must still check each run's words of three or
 * more characters as phrases: 共和国 (keys 共和, 和国) is not in b, which
 * holds both keys ("共和、和国"). */
START_TEST(test_search_bare_runs_verify_words)
{
    char *dir = tu_tmpdir();
    es_writer *w = NULL;
    es_error err;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, &err), ES_OK);
    static const char *const docs[][2] = {
        { "a", "中华人民共和国报告。" },
        { "b", "中华人民共和、和国报告。" },
        { "c", "共和国的中华人民报告。" },
        { "d", "中华人民共和国的工作。" },
    };
    for (size_t i = 0; i < TU_NCASES(docs); i++)
        add(w, docs[i][0], NULL, NULL, docs[i][1], strlen(docs[i][1]));
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_index *ix = NULL;
    ck_assert_int_eq(es_index_open(&ix, dir, &err), ES_OK);
    static const want_ids want[] = {
        { "中华人民共和国 报告", "a,c" },
        { "报告 中华人民共和国", "a,c" },
        { "中华人民共和国 报告 -的", "a" },
        { "(中华人民共和国 报告) OR 工作", "a,c,d" },
        { "中华人民 共和国", "a,c,d" },
    };
    for (size_t i = 0; i < TU_NCASES(want); i++) {
        const char *got = all_ids_in(ix, want[i].q);
        ck_assert_msg(!strcmp(got, want[i].ids), "%s: %s, expected %s", want[i].q, got,
                      want[i].ids);
    }
    es_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_search_boolean_field_date)
{
    static const want_ids w[] = {
        { "双减 OR AI", "ai,shuangjian" }, { "\"集团化办学\" -试点", "exact" },
        { "\"集团化办学\" NOT (试点 OR 人民)", "exact" }, { "title:双减", "shuangjian" },
        { "title:\"集团化办学\"", "exact" }, { "date:2024", "exact,pdf" },
        { "date:2024-03", "exact" }, { "date:2023..2024", "exact,pdf,scattered" },
        { "date:2024-01-01..2025-06-30", "exact,pdf,shuangjian" },
        { "教育 date:2024", "exact,pdf" }, { "date:..2022", "trad" },
    };
    check_ids(w, sizeof w / sizeof *w);
}
END_TEST

START_TEST(test_search_paging_and_date_sort)
{
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    o.limit = 100;
    es_results *big = run(small, "教育 OR 学校 OR 校园 OR 办学", &o);
    size_t n = es_results_count(big);
    ck_assert_uint_ge(n, 4);
    for (size_t off = 0; off < n; off += 2) {
        o.offset = off;
        o.limit = 2;
        es_results *p = run(small, "教育 OR 学校 OR 校园 OR 办学", &o);
        ck_assert_uint_eq(es_results_total(p), es_results_total(big));
        for (size_t i = 0; i < es_results_count(p); i++) {
            ck_assert_str_eq(es_results_id(p, i, NULL), es_results_id(big, off + i, NULL));
            ck_assert(es_results_score(p, i) == es_results_score(big, off + i));
        }
        es_results_free(p);
    }
    for (size_t i = 1; i < n; i++)
        ck_assert(es_results_score(big, i - 1) >= es_results_score(big, i));
    es_results_free(big);
    o.offset = 0;
    o.limit = 100;
    o.sort = ES_SORT_DATE;
    es_results *d = run(small, "date:..2030", &o);
    ck_assert_str_eq(ids(d), "shuangjian,pdf,exact,scattered,trad");
    es_results_free(d);
    o.limit = 0;                                  /* count only */
    d = run(small, "date:..2030", &o);
    ck_assert_uint_eq(es_results_total(d), 5);
    ck_assert_uint_eq(es_results_count(d), 0);
    es_results_free(d);
}
END_TEST

START_TEST(test_search_snippets)
{
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    o.hl_open = "<b>";
    o.hl_close = "</b>";
    es_results *r = run(small, "\"教育强国\"", &o);
    ck_assert_uint_eq(es_results_count(r), 1);
    size_t len;
    const char *sn = es_results_snippet(r, 0, &len);
    ck_assert_msg(strstr(sn, "<b>教育\n\n强国</b>") == NULL, "control chars kept");
    ck_assert_msg(strstr(sn, "<b>教育  强国</b>"), "%s", sn);
    const es_range *rg;
    size_t nr = es_results_matches(r, 0, &rg);
    const char *text = es_results_text(r, 0, &len);
    ck_assert_uint_eq(nr, 1);
    ck_assert_uint_eq(rg[0].end - rg[0].start, strlen("教育\n\n强国"));
    ck_assert(!memcmp(text + rg[0].start, "教育\n\n强国", rg[0].end - rg[0].start));
    es_results_free(r);
    r = run(small, "“集團化辦學”", &o);
    ck_assert_uint_eq(es_results_total(r), 2);
    for (size_t i = 0; i < es_results_count(r); i++)
        ck_assert_msg(strstr(es_results_snippet(r, i, NULL), "化办学</b>") ||
                      strstr(es_results_snippet(r, i, NULL), "化辦學</b>"),
                      "%s", es_results_snippet(r, i, NULL));
    es_results_free(r);
}
END_TEST

/* The highlighted texts of hit i, "|"-joined (static buffer). */
static const char *ranges_text(const es_results *r, size_t i)
{
    static char out[1024];
    const es_range *rg;
    size_t nr = es_results_matches(r, i, &rg), n = 0;
    const char *t = es_results_text(r, i, NULL);
    out[0] = 0;
    for (size_t k = 0; k < nr; k++)
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%.*s", k ? "|" : "",
                              (int)(rg[k].end - rg[k].start), t + rg[k].start);
    return out;
}

START_TEST(test_search_highlight_run_words)
{
    char *dir = tu_tmpdir();
    es_writer *w = NULL;
    es_error err;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, &err), ES_OK);
    static const char *t_exact = "推进集团化办学是重要途径，文化建设也要跟上。";
    static const char *t_district = "实行学区化办学，集团内部统筹。文化活动丰富。";
    static const char *t_scattered = "集团内部的文化建设与办学理念相互促进。";
    add(w, "exact", NULL, NULL, t_exact, strlen(t_exact));
    add(w, "district", NULL, NULL, t_district, strlen(t_district));
    add(w, "scattered", NULL, NULL, t_scattered, strlen(t_scattered));
    es_index *ix = commit_and_open(w, dir);
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    o.snippet_sentences = 3;
    es_results *r = run(ix, "集团化办学", &o);
    ck_assert_uint_eq(es_results_count(r), 3);
    ck_assert_str_eq(es_results_id(r, 0, NULL), "exact");
    for (size_t i = 0; i < 3; i++) {
        const char *id = es_results_id(r, i, NULL);
        const char *sn = es_results_snippet(r, i, NULL);
        ck_assert_msg(!strstr(sn, "[化]") && strstr(sn, "文化"), "%s: %s", id, sn);
        if (!strcmp(id, "exact")) {
            ck_assert_msg(strstr(sn, "[集团化办学]"), "%s", sn);
            ck_assert_str_eq(ranges_text(r, i), "集团化办学");
        } else if (!strcmp(id, "district")) {
            ck_assert_msg(strstr(sn, "学区[化办学]") && strstr(sn, "[集团]"), "%s", sn);
            ck_assert_str_eq(ranges_text(r, i), "化办学|集团");
        } else {
            ck_assert_msg(strstr(sn, "[集团]") && strstr(sn, "[办学]"), "%s", sn);
            ck_assert_str_eq(ranges_text(r, i), "集团|办学");
        }
    }
    es_results_free(r);
    /* a quoted single character is highlighted wherever it occurs */
    r = run(ix, "\"化\"", &o);
    ck_assert_uint_eq(es_results_count(r), 3);
    for (size_t i = 0; i < 3; i++)
        ck_assert_msg(strstr(es_results_snippet(r, i, NULL), "文[化]"), "%s",
                      es_results_snippet(r, i, NULL));
    es_results_free(r);
    es_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- corpus property test ----------------------------------------------- */

typedef struct cdoc {
    char *id, *text, *norm;   /* norm = N(text) */
    size_t len, nlen;
} cdoc;

typedef struct corpus {
    cdoc d[128];
    size_t n;
    es_writer *w;
    esi_analyzer *a;
} corpus;

static void on_doc(const char *id, const char *title, const char *text,
                   size_t len, void *p)
{
    corpus *c = p;
    if (c->n >= 128)
        return;
    cdoc *d = &c->d[c->n++];
    d->id = strdup(id);
    d->text = malloc(len + 1);
    memcpy(d->text, text, len);
    d->text[len] = 0;
    d->len = len;
    esi_buf b = { 0 };
    esi_err e;
    ck_assert_int_eq(esi_normalize_key(c->a, text, len, &b, &e), ES_OK);
    d->norm = malloc(b.len + 1);
    if (b.len)
        memcpy(d->norm, b.data, b.len);
    d->norm[b.len] = 0;
    d->nlen = b.len;
    esi_buf_free(&b);
    add(c->w, id, title, NULL, text, len);
}

static corpus *cp;
static char *cdir;
static es_index *cix;

/* A writer on dir without fsync whose small RAM buffer makes several
 * segments; fields: extract official-document fields. */
static es_writer *small_writer(const char *dir, size_t ram, bool fields)
{
    es_writer *w = NULL;
    es_error err;
    es_writer_options wo = ES_WRITER_OPTIONS_INIT;
    wo.fsync = 0;
    wo.ram_buffer_bytes = ram;
    wo.extract_fields = fields;
    ck_assert_msg(es_writer_open(&w, dir, &wo, &err) == ES_OK, "%s", err.message);
    return w;
}

static void corpus_setup(void)
{
    cp = calloc(1, sizeof *cp);
    cdir = tu_tmpdir();
    esi_err e;
    es_error err;
    ck_assert_int_eq(esi_analyzer_new(&cp->a, &e), ES_OK);
    cp->w = small_writer(cdir, 1 << 20, true);
    tu_corpus_docs("edu-sample.jsonl", 128, on_doc, cp);
    ck_assert_uint_gt(cp->n, 10);
    ck_assert_int_eq(es_writer_commit(cp->w), ES_OK);
    es_writer_free(cp->w);
    ck_assert_int_eq(es_index_open(&cix, cdir, &err), ES_OK);
}

static void corpus_teardown(void)
{
    es_index_free(cix);
    for (size_t i = 0; i < cp->n; i++) {
        free(cp->d[i].id);
        free(cp->d[i].text);
        free(cp->d[i].norm);
    }
    esi_analyzer_free(cp->a);
    free(cp);
    tu_rmrf(cdir);
    free(cdir);
}

/* Byte length of k CJK-only code points starting at s[i], or 0 if one of
 * them is not CJK or the text ends. */
static size_t cjk_span(const char *s, size_t n, size_t i, size_t k)
{
    size_t j = i;
    for (size_t c = 0; c < k; c++) {
        if (j >= n)
            return 0;
        uint32_t u = esi_utf8_next((const uint8_t *)s, n, &j);
        if (!esi_is_cjk(u))
            return 0;
    }
    return j - i;
}

START_TEST(test_search_phrase_equals_substring)
{
    uint64_t seed = tu_seed(), st = seed;
    int checked = 0, absent = 0;
    for (int it = 0; it < 300; it++) {
        const cdoc *d = &cp->d[tu_rand(&st) % cp->n];
        if (d->nlen < 32)
            continue;
        size_t k = 1 + tu_rand(&st) % 8;
        size_t at = tu_rand(&st) % d->nlen;
        while (at < d->nlen && ((uint8_t)d->norm[at] & 0xc0) == 0x80)
            at++;
        size_t bl = cjk_span(d->norm, d->nlen, at, k);
        if (!bl)
            continue;
        char phrase[64];
        memcpy(phrase, d->norm + at, bl);
        phrase[bl] = 0;
        if (it % 5 == 0 && k >= 2) {       /* make an absent phrase: reverse two chars */
            size_t j = 0;
            esi_utf8_next((const uint8_t *)phrase, bl, &j);
            char tmp[64];
            memcpy(tmp, phrase + j, bl - j);
            memcpy(tmp + bl - j, phrase, j);
            memcpy(phrase, tmp, bl);
        }
        char q[80];
        snprintf(q, sizeof q, "\"%s\"", phrase);
        /* brute force over N(text) */
        uint64_t want = 0;
        for (size_t i = 0; i < cp->n; i++)
            want += strstr(cp->d[i].norm, phrase) != NULL;
        es_search_options o = ES_SEARCH_OPTIONS_INIT;
        o.limit = 128;
        es_results *r = run(cix, q, &o);
        ck_assert_msg(es_results_total(r) == want, "seed %llu: %s: %llu hits, "
                      "substring search finds %llu", (unsigned long long)seed, q,
                      (unsigned long long)es_results_total(r),
                      (unsigned long long)want);
        for (size_t i = 0; i < es_results_count(r); i++) {
            const char *id = es_results_id(r, i, NULL);
            bool ok = false;
            for (size_t j = 0; j < cp->n && !ok; j++)
                ok = !strcmp(cp->d[j].id, id) && strstr(cp->d[j].norm, phrase);
            ck_assert_msg(ok, "seed %llu: %s matched %s wrongly",
                          (unsigned long long)seed, q, id);
            /* every match range is on character boundaries and normalizes to
             * text holding the phrase */
            const es_range *rg;
            size_t nr = es_results_matches(r, i, &rg);
            size_t tl;
            const char *text = es_results_text(r, i, &tl);
            ck_assert_uint_gt(nr, 0);
            for (size_t m = 0; m < nr; m++) {
                ck_assert(rg[m].start < rg[m].end && rg[m].end <= tl);
                ck_assert(((uint8_t)text[rg[m].start] & 0xc0) != 0x80);
                ck_assert(rg[m].end == tl || ((uint8_t)text[rg[m].end] & 0xc0) != 0x80);
                ck_assert(m == 0 || rg[m - 1].end < rg[m].start);
                esi_buf nb = { 0 };
                esi_err e;
                ck_assert_int_eq(esi_normalize_key(cp->a, text + rg[m].start,
                                                   rg[m].end - rg[m].start, &nb, &e),
                                 ES_OK);
                esi_buf_terminate(&(es_status){ ES_OK }, &nb);
                ck_assert_msg(strstr((const char *)nb.data, phrase), "range %s vs %s",
                              (const char *)nb.data, phrase);
                esi_buf_free(&nb);
            }
            ck_assert(strstr(es_results_snippet(r, i, NULL), "["));
        }
        es_results_free(r);
        checked++;
        absent += want == 0;
    }
    ck_assert_int_gt(checked, 100);
    printf("phrase property: %d phrases checked (%d absent), seed %llu\n", checked,
           absent, (unsigned long long)seed);
}
END_TEST

/* ---- prefix* ------------------------------------------------------------ */

START_TEST(test_search_prefix_expansion)
{
    char *dir = tu_tmpdir();
    es_error err;
    es_writer *w = small_writer(dir, 1 << 12, false);
    uint64_t seed = tu_seed(), st = seed;
    enum { ND = 60, NW = 12 };
    static char words[ND][NW][8], title[ND][8];
    static const char alpha[] = "abc1";
    for (int d = 0; d < ND; d++) {
        char text[256], id[16];
        size_t n = 0;
        for (int k = 0; k <= NW; k++) {
            char *wd = k < NW ? words[d][k] : title[d];
            size_t len = 1 + tu_rand(&st) % 4;
            bool num = tu_rand(&st) % 4 == 0;
            for (size_t i = 0; i < len; i++)
                wd[i] = num ? (char)('1' + tu_rand(&st) % 3) : alpha[tu_rand(&st) % 3];
            wd[len] = 0;
            if (k < NW)
                n += (size_t)snprintf(text + n, sizeof text - n, "%s 的 ", wd);
        }
        snprintf(id, sizeof id, "d%02d", d);
        add(w, id, title[d], NULL, text, n);
    }
    /* a document with more than ESI_PREFIX_MAX distinct words starting x */
    {
        char *big = malloc(16 * 1100);
        size_t n = 0;
        for (int i = 0; i < 1100; i++)
            n += (size_t)sprintf(big + n, "x%04d ", i);
        add(w, "big", NULL, NULL, big, n);
        free(big);
    }
    es_index *ix = commit_and_open(w, dir);
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    o.limit = 100;
    static const char *pre[] = { "a", "b", "c", "ab", "ba", "cc", "abc", "1", "12",
                                 "23", "333", "aaaa", "title:a", "title:bc" };
    for (size_t p = 0; p < sizeof pre / sizeof *pre; p++) {
        bool field = !strncmp(pre[p], "title:", 6);
        const char *px = field ? pre[p] + 6 : pre[p];
        size_t pl = strlen(px);
        char q[32], want[ND + 1] = { 0 };
        snprintf(q, sizeof q, "%s*", pre[p]);
        int nwant = 0;
        for (int d = 0; d < ND; d++) {
            bool m = false;
            if (field)
                m = !strncmp(title[d], px, pl);
            for (int k = 0; k < NW && !field && !m; k++)
                m = !strncmp(words[d][k], px, pl);
            want[d] = m;
            nwant += m;
        }
        es_results *r = run(ix, q, &o);
        ck_assert_msg(es_results_total(r) == (uint64_t)nwant, "seed %llu: %s: %llu "
                      "hits, expected %d", (unsigned long long)seed, q,
                      (unsigned long long)es_results_total(r), nwant);
        for (size_t i = 0; i < es_results_count(r); i++) {
            int d = atoi(es_results_id(r, i, NULL) + 1);
            ck_assert_msg(want[d], "seed %llu: %s matched d%02d", (unsigned long long)seed,
                          q, d);
            ck_assert(i == 0 || es_results_score(r, i) <= es_results_score(r, i - 1));
            if (!field) {   /* highlights: whole words starting with the prefix */
                const es_range *rg;
                size_t nr = es_results_matches(r, i, &rg);
                const char *t = es_results_text(r, i, NULL);
                ck_assert_uint_gt(nr, 0);
                for (size_t k = 0; k < nr; k++)
                    ck_assert(!strncmp(t + rg[k].start, px, pl));
            }
        }
        es_results_free(r);
        /* explain lists the terms, commonest first, each with the documents
         * a search for it finds; all of them when there are 20 or fewer */
        char *text = explain(ix, q);
        const char *h = strstr(text, "PREFIX ");
        ck_assert_ptr_nonnull(h);
        h = strchr(h, '\n') + 1;
        size_t nterms = 0, lines = 0;
        uint64_t last = UINT64_MAX;
        if (sscanf(h, " %zu term", &nterms) != 1)
            ck_assert_msg(strstr(h, "no term starts so") != NULL, "%s", text);
        for (const char *l = strchr(h, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
            while (*++l == ' ')
                ;
            if (strncmp(l, "term ", 5))
                continue;
            const char *t = l + 5, *end = strstr(t, ": ");
            unsigned long long n = 0;
            ck_assert_ptr_nonnull(end);
            ck_assert_int_eq(sscanf(end + 2, "%llu", &n), 1);
            ck_assert_msg(!strncmp(t, pre[p], strlen(pre[p])), "%s", text);
            uint64_t hits = key_hits(ix, t, (size_t)(end - t));
            ck_assert_msg(hits == n, "%s: %.*s: explain says %llu, search %llu", q,
                          (int)(end - t), t, n, (unsigned long long)hits);
            ck_assert_uint_le(n, last);
            last = n;
            lines++;
        }
        /* the reference: the distinct words (titles) starting with px */
        static char seen[ND * (NW + 1)][8];
        size_t nseen = 0;
        for (int d = 0; d < ND; d++)
            for (int k = field ? NW : 0; k <= NW && (field || k < NW); k++) {
                const char *wd = k < NW ? words[d][k] : title[d];
                size_t j = 0;
                while (j < nseen && strcmp(seen[j], wd))
                    j++;
                if (j == nseen && !strncmp(wd, px, pl))
                    strcpy(seen[nseen++], wd);
            }
        ck_assert_msg(nterms == nseen, "seed %llu: %s: explain lists %zu terms, the "
                      "documents hold %zu", (unsigned long long)seed, q, nterms, nseen);
        ck_assert_uint_eq(lines, (nterms < 20 ? nterms : 20));
        ck_assert_uint_eq((nterms > 20), (strstr(text, "more\n") != NULL));
        free(text);
    }
    /* the cap */
    es_query *qq = NULL;
    es_results *r = NULL;
    ck_assert_int_eq(es_query_parse(&qq, "x*", 2, &err), ES_OK);
    ck_assert_int_eq(es_search(&r, ix, qq, &o, &err), ES_ELIMIT);
    ck_assert_msg(strstr(err.message, "x* matches more than 1024 terms"), "%s",
                  err.message);
    es_query_free(qq);
    char *text = explain(ix, "x*");      /* explain says why, and succeeds */
    ck_assert_msg(strstr(text, "more than 1024 terms start so: the search refuses it"),
                  "%s", text);
    free(text);
    text = explain(ix, "x10*");
    ck_assert_msg(strstr(text, "100 terms start so; any of them matches\n"
                          "  term x1000: 1 document\n") &&
                  strstr(text, "  ... and 80 more\n"), "%s", text);
    free(text);
    ck_assert_int_eq(es_query_parse(&qq, "x10*", 4, &err), ES_OK);
    ck_assert_int_eq(es_search(&r, ix, qq, &o, &err), ES_OK);
    ck_assert_uint_eq(es_results_total(r), 1);
    ck_assert_uint_eq(es_results_matches(r, 0, NULL), 100);   /* x1000..x1099 */
    es_results_free(r);
    es_query_free(qq);
    es_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- pruning ------------------------------------------------------------ */

typedef struct vocab {
    char w[4096][32];
    size_t n;
} vocab;

static int on_vocab(const es_token *t, void *p)
{
    vocab *v = p;
    if (v->n < 4096 && t->term_len < 32 &&
        ((t->kind == ES_TOKEN_WORD && t->span >= 2) || t->kind == ES_TOKEN_LATIN)) {
        memcpy(v->w[v->n], t->term, t->term_len);
        v->w[v->n++][t->term_len] = 0;
    }
    return 0;
}

/* Words of the corpus (every step-th document), for random queries. */
static vocab *corpus_vocab(size_t step)
{
    vocab *v = calloc(1, sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < cp->n; i += step)
        es_tokenize(cp->d[i].text, cp->d[i].len, ES_TOKENIZE_WORDS, on_vocab, v, NULL);
    ck_assert_uint_gt(v->n, 100);
    return v;
}

/* Run q through the executor; returns the hits (esi_free them). With a
 * pool, every search is split into chunks of chunk docs. */
static esi_hit *exec_split(const es_query *q, size_t off, size_t lim, bool prune,
                           bool exact, size_t *n, uint64_t *total, uint64_t *scored,
                           esi_pool *pool, uint32_t chunk, uint32_t look)
{
    esi_search_stats st = { 0 };
    /* look 41 and up: the workers woken at once (split_eager 1) */
    esi_search_params sp = { off, lim, ES_SORT_SCORE, 1.2, 0.75, exact, !prune, &st,
                             pool, 1, chunk, look, look > 40 ? 1 : 0, 1, false, NULL };
    esi_hit *h = NULL;
    esi_err e = { 0 };
    ck_assert_msg(esi_search_run(cix->snap, q, &sp, &h, n, total, &e) == ES_OK,
                  "%s (query %s, prune %d exact %d)", e.msg, q->text, prune, exact);
    *scored = st.scored;
    return h;
}

static esi_hit *exec_q(const es_query *q, size_t off, size_t lim, bool prune,
                       bool exact, size_t *n, uint64_t *total, uint64_t *scored)
{
    return exec_split(q, off, lim, prune, exact, n, total, scored, NULL, 0, 0);
}

/* Several bare runs, each of a few corpus words side by side (words of
 * three or more characters among them: phrases checked on positions),
 * with NOT and OR at times: leapfrogging all the runs' words at once
 * (plan_flat_and) gives the page, scores and totals of leapfrogging run
 * by run, exact and pruned, on the first page and from offset 5. */
START_TEST(test_search_flat_and_same_as_nested)
{
    vocab *v = corpus_vocab(3);
    uint64_t seed = tu_seed(), st = seed;
    size_t flat = 0;
    for (int it = 0; it < 300; it++) {
        char q[512];
        size_t len = 0, nr = 2 + tu_rand(&st) % 3;
        for (size_t k = 0; k < nr; k++) {
            const char *op = k == 0 ? "" : tu_rand(&st) % 8 == 0 ? " -" :
                             tu_rand(&st) % 8 == 0 ? " OR " : " ";
            len += (size_t)snprintf(q + len, sizeof q - len, "%s", op);
            size_t nw = 1 + tu_rand(&st) % 3;   /* one word: not an AND */
            for (size_t w = 0; w < nw; w++) {
                size_t i = tu_rand(&st) % (tu_rand(&st) % 2 ? v->n : 64);
                len += (size_t)snprintf(q + len, sizeof q - len, "%s", v->w[i]);
            }
        }
        es_query *pq = NULL;
        es_error err;
        if (es_query_parse(&pq, q, strlen(q), &err) != ES_OK)
            continue;
        for (int run = 0; run < 4; run++) {
            bool prune = run & 1;
            size_t off = run & 2 ? 5 : 0, n[2];
            uint64_t total[2];
            esi_hit *h[2];
            for (int nested = 0; nested < 2; nested++) {
                esi_search_params sp = { off, 10, ES_SORT_SCORE, 1.2, 0.75, true, !prune,
                                         NULL, NULL, 0, 0, 0, 0, 0, nested == 1, NULL };
                esi_err e = { 0 };
                h[nested] = NULL;
                ck_assert_msg(esi_search_run(cix->snap, pq, &sp, &h[nested], &n[nested],
                                             &total[nested], &e) == ES_OK, "%s", e.msg);
            }
            ck_assert_msg(total[0] == total[1] && n[0] == n[1], "seed %llu: %s: total "
                          "%llu vs %llu nested, %zu vs %zu hits", (unsigned long long)seed,
                          q, (unsigned long long)total[0], (unsigned long long)total[1],
                          n[0], n[1]);
            for (size_t k = 0; k < n[0]; k++)
                ck_assert_msg(h[0][k].seg == h[1][k].seg && h[0][k].doc == h[1][k].doc &&
                              h[0][k].score == h[1][k].score,
                              "seed %llu: %s: hit %zu differs from the nested leapfrog",
                              (unsigned long long)seed, q, k);
            flat += total[0] > 0;
            esi_free(h[0]);
            esi_free(h[1]);
        }
        es_query_free(pq);
    }
    printf("flat AND: %zu of 1200 searches with hits (seed %llu)\n", flat,
           (unsigned long long)seed);
    ck_assert_uint_gt(flat, 100);
    free(v);
}
END_TEST

/* Searches that keep their memory in one arena between them
 * (esi_search_params.keep), small and large queries in turn (one of them
 * refused), give the pages and totals of searches with arenas of their
 * own; the arena holds a chunk afterwards, and a search of a query as
 * large as the last one carves from that chunk instead of allocating. */
START_TEST(test_search_kept_arena_same_results)
{
    vocab *v = corpus_vocab(5);
    uint64_t seed = tu_seed(), st = seed;
    esi_arena keep = { 0 };
    for (int it = 0; it < 200; it++) {
        char q[2048];
        size_t len = 0, nw = it % 10 == 0 ? 40 : 1 + tu_rand(&st) % 4;   /* at times a
                                                                           long one */
        for (size_t w = 0; w < nw; w++)
            len += (size_t)snprintf(q + len, sizeof q - len, "%s%s", w ? " " : "",
                                    v->w[tu_rand(&st) % v->n]);
        es_query *pq = NULL;
        es_error err;
        if (es_query_parse(&pq, q, strlen(q), &err) != ES_OK)
            continue;
        size_t n[2], lim = it == 7 ? SIZE_MAX : 10;   /* it 7: offset + limit overflows */
        uint64_t total[2];
        esi_hit *h[2];
        es_status rc[2];
        for (int k = 0; k < 2; k++) {
            esi_search_params sp = { 1, lim, ES_SORT_SCORE, 1.2, 0.75, true, false,
                                     NULL, NULL, 0, 0, 0, 0, 0, false, k ? &keep : NULL };
            esi_err e = { 0 };
            h[k] = NULL;
            rc[k] = esi_search_run(cix->snap, pq, &sp, &h[k], &n[k], &total[k], &e);
        }
        ck_assert_int_eq(rc[0], rc[1]);
        if (rc[0] == ES_OK) {
            ck_assert_msg(total[0] == total[1] && n[0] == n[1], "seed %llu: %s",
                          (unsigned long long)seed, q);
            for (size_t k = 0; k < n[0]; k++)
                ck_assert_msg(h[0][k].doc == h[1][k].doc && h[0][k].score == h[1][k].score,
                              "seed %llu: %s: hit %zu", (unsigned long long)seed, q, k);
            ck_assert_ptr_nonnull(keep.head);
            /* the same query again: no new chunk */
            const void *head = keep.head;
            esi_search_params sp = { 1, 10, ES_SORT_SCORE, 1.2, 0.75, true, false,
                                     NULL, NULL, 0, 0, 0, 0, 0, false, &keep };
            esi_err e = { 0 };
            esi_hit *h2 = NULL;
            size_t n2;
            uint64_t t2;
            ck_assert_int_eq(esi_search_run(cix->snap, pq, &sp, &h2, &n2, &t2, &e), ES_OK);
            ck_assert_ptr_eq(keep.head, head);
            esi_free(h2);
        } else {
            ck_assert_int_eq(it, 7);
        }
        esi_free(h[0]);
        esi_free(h[1]);
        es_query_free(pq);
    }
    esi_arena_free(&keep);
    free(v);
}
END_TEST

START_TEST(test_search_pruning_same_top)
{
    vocab *v = corpus_vocab(3);
    uint64_t seed = tu_seed(), st = seed, scored_full = 0, scored_pruned = 0;
    static const char *ops[] = { " ", " ", " ", " OR ", " -" };
    esi_pool *pool = esi_pool_new(3);
    ck_assert_ptr_nonnull(pool);
    for (int it = 0; it < 400; it++) {
        char q[512];
        size_t len = 0, nw = 1 + tu_rand(&st) % 4;
        for (size_t w = 0; w < nw; w++) {
            /* common words come first in a text: bias towards the front */
            size_t i = tu_rand(&st) % (tu_rand(&st) % 2 ? v->n : 64);
            const char *op = w == 0 ? "" : ops[tu_rand(&st) % 5];
            bool quote = tu_rand(&st) % 6 == 0, title = tu_rand(&st) % 10 == 0;
            len += (size_t)snprintf(q + len, sizeof q - len, "%s%s%s%s%s", op,
                                    title ? "title:" : "", quote ? "\"" : "",
                                    v->w[i], quote ? "\"" : "");
        }
        if (tu_rand(&st) % 5 == 0) {   /* a bare run of two words: bonus phrase */
            size_t i = tu_rand(&st) % v->n, j = tu_rand(&st) % 64;
            snprintf(q, sizeof q, "%s%s", v->w[j], v->w[i]);
        }
        es_query *pq = NULL;
        es_error err;
        if (es_query_parse(&pq, q, strlen(q), &err) != ES_OK)
            continue;                  /* e.g. only excluded terms */
        size_t off = tu_rand(&st) % 3 == 0 ? 5 : 0;
        size_t n0, n1, n2, n3;
        uint64_t t0, t1, t2, t3, s0, s1, s2, s3;
        uint32_t chunk = 1 + (uint32_t)(tu_rand(&st) % 40);
        uint32_t look = 1 + (uint32_t)(tu_rand(&st) % 50);
        esi_hit *h0 = exec_q(pq, off, 10, false, true, &n0, &t0, &s0);
        esi_hit *h1 = exec_q(pq, off, 10, true, true, &n1, &t1, &s1);
        esi_hit *h2 = exec_q(pq, off, 10, true, false, &n2, &t2, &s2);
        /* split over 4 threads in chunks of 1..40 docs, woken after 1..40
         * root docs or at once: the same page */
        esi_hit *h3 = exec_split(pq, off, 10, true, true, &n3, &t3, &s3, pool, chunk, look);
        ck_assert_msg(t1 == t0 && t3 == t0, "seed %llu: %s: exact total %llu, "
                      "split %llu vs %llu", (unsigned long long)seed, q,
                      (unsigned long long)t1, (unsigned long long)t3,
                      (unsigned long long)t0);
        ck_assert_msg(t2 <= t0 && (t0 == 0) == (t2 == 0), "seed %llu: %s: lower "
                      "bound %llu of %llu", (unsigned long long)seed, q,
                      (unsigned long long)t2, (unsigned long long)t0);
        ck_assert_msg(n1 == n0 && n2 == n0 && n3 == n0, "seed %llu: %s: "
                      "%zu/%zu/%zu/%zu hits", (unsigned long long)seed, q, n0, n1,
                      n2, n3);
        for (size_t k = 0; k < n0; k++) {
            ck_assert_msg(h1[k].seg == h0[k].seg && h1[k].doc == h0[k].doc &&
                          h1[k].score == h0[k].score &&
                          h2[k].seg == h0[k].seg && h2[k].doc == h0[k].doc &&
                          h2[k].score == h0[k].score,
                          "seed %llu: %s: hit %zu differs with pruning",
                          (unsigned long long)seed, q, k);
            ck_assert_msg(h3[k].seg == h0[k].seg && h3[k].doc == h0[k].doc &&
                          h3[k].score == h0[k].score,
                          "seed %llu: %s: hit %zu differs when split in chunks of %u",
                          (unsigned long long)seed, q, k, chunk);
        }
        ck_assert(s1 <= s0 && s2 <= s0);
        scored_full += s0;
        scored_pruned += s2;
        esi_free(h0);
        esi_free(h1);
        esi_free(h2);
        esi_free(h3);
        es_query_free(pq);
    }
    esi_pool_free(pool);
    printf("pruning: %llu docs scored exhaustively, %llu pruned (seed %llu)\n",
           (unsigned long long)scored_full, (unsigned long long)scored_pruned,
           (unsigned long long)seed);
    ck_assert_uint_lt(scored_pruned, scored_full);
    free(v);
}
END_TEST


/* ---- split searches over damaged postings --------------------------------- */

/* Run q over ix through the executor, split over pool in chunks of chunk
 * docs (no pool: one thread); the status, and on ES_OK hits and total. */
static es_status exec_status(es_index *ix, const char *text, size_t limit,
                             esi_pool *pool, uint32_t chunk, esi_hit **h, size_t *n,
                             uint64_t *total, esi_err *e)
{
    es_query *q = NULL;
    ck_assert_int_eq(es_query_parse(&q, text, strlen(text), NULL), ES_OK);
    /* workers woken after 1..32 root docs, or at once (from the chunk
     * size: varied) */
    esi_search_params sp = { 0, limit, ES_SORT_SCORE, 1.2, 0.75, true, false, NULL,
                             pool, 1, chunk, 1 + chunk % 32, chunk % 3 == 0, 1, false, NULL };
    *h = NULL;
    *n = 0;
    *total = 0;
    es_status rc = esi_search_run(ix->snap, q, &sp, h, n, total, e);
    es_query_free(q);
    return rc;
}

/* Damaged postings under a split search: every thread stops at the first
 * error, the search returns ES_ECORRUPT naming the segment (never a
 * crash, a hang or a leak: ASan and TSan run this), and a search that
 * meets no damage gives the page and total of one thread. */
/* Add n documents d000, d001, ... of 100-3,000 characters drawn from a
 * small set (so every key has many postings, over several blocks); every
 * seventh has a title. */
static void add_random_docs(es_writer *w, int n, uint64_t *st)
{
    static const char chars[] = "教育学校发展规划管理办法第一二三条年月日人民";
    size_t nchars = (sizeof chars - 1) / 3;
    char *text = malloc(3 * 3000 + 1);
    for (int d = 0; d < n; d++) {
        size_t len = 100 + tu_rand(st) % 2900, b = 0;
        for (size_t i = 0; i < len; i++) {
            memcpy(text + b, chars + 3 * (tu_rand(st) % nchars), 3);
            b += 3;
        }
        char id[16];
        snprintf(id, sizeof id, "d%03d", d);
        add(w, id, d % 7 == 0 ? "教育规划" : NULL, NULL, text, b);
    }
    free(text);
}

/* An index in dir of n add_random_docs documents over several segments
 * (a small RAM buffer), then with d<from>, d<from + step>, ... deleted in a
 * second commit; opened. */
static es_index *random_index(const char *dir, int n, int from, int step, uint64_t *st)
{
    es_writer *w = small_writer(dir, 1 << 18, false);
    add_random_docs(w, n, st);
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    for (int d = from; d < n; d += step) {
        char id[16];
        snprintf(id, sizeof id, "d%03d", d);
        ck_assert_int_eq(es_writer_delete(w, id, strlen(id)), ES_OK);
    }
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_index *ix = NULL;
    ck_assert_int_eq(es_index_open(&ix, dir, NULL), ES_OK);
    return ix;
}

static const char *split_qs[] = { "\"教\"", "\"人民\"", "\"规划管理办法\"", "学校 发展",
                                  "\"第一条\"", "年 -月", "教育 OR 办法", "人民 title:教育" };
#define NSPLITQ (sizeof split_qs / sizeof *split_qs)

/* Over many segments with deleted documents, a split search (chunks of 1
 * to 30 docs, crossing segment ends, four threads) gives the page, scores
 * and total of one thread, at several pages and with counts only. */
START_TEST(test_search_split_segments_deletions)
{
    char *dir = tu_tmpdir();
    uint64_t seed = tu_seed(), st = seed;
    es_index *ix = random_index(dir, 600, 0, 7, &st);
    ck_assert_uint_gt(ix->snap->nsegs, 2);
    esi_pool *pool = esi_pool_new(3);
    for (int rep = 0; rep < 6; rep++)
        for (size_t k = 0; k < NSPLITQ; k++) {
            size_t lim = rep % 3 == 0 ? 0 : 10, n1, n2;
            uint32_t chunk = 1 + (uint32_t)(tu_rand(&st) % 30);
            esi_hit *h1, *h2;
            uint64_t t1, t2;
            esi_err e = { 0 };
            ck_assert_int_eq(exec_status(ix, split_qs[k], lim, NULL, 0, &h1, &n1, &t1, &e),
                             ES_OK);
            ck_assert_int_eq(exec_status(ix, split_qs[k], lim, pool, chunk, &h2, &n2, &t2,
                                         &e), ES_OK);
            ck_assert_msg(t1 == t2 && n1 == n2, "seed %llu: %s: total %llu, split in "
                          "chunks of %u %llu", (unsigned long long)seed, split_qs[k],
                          (unsigned long long)t1, chunk, (unsigned long long)t2);
            for (size_t i = 0; i < n1; i++)
                ck_assert(h1[i].seg == h2[i].seg && h1[i].doc == h2[i].doc &&
                          h1[i].score == h2[i].score);
            esi_free(h1);
            esi_free(h2);
        }
    esi_pool_free(pool);
    es_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A root of one key (a character, a pair) reads its postings in place and
 * rules docs out with a bound test of its own: over docs whose scores lie
 * close together (random lengths, every seventh with the key in its
 * title too, some deleted), its pages equal the exhaustive ones at every
 * limit and offset, pruned with and without an exact total, and split. */
START_TEST(test_search_single_key_pages)
{
    char *dir = tu_tmpdir();
    uint64_t seed = tu_seed(), st = seed;
    es_index *ix = random_index(dir, 700, 3, 11, &st);
    esi_pool *pool = esi_pool_new(3);
    static const char *qs[] = { "\"教\"", "\"规\"", "\"日\"", "\"教育\"", "\"人民\"",
                                "title:\"教\"" };
    static const size_t lims[] = { 1, 3, 10, 40 };
    for (size_t k = 0; k < sizeof qs / sizeof *qs; k++) {
        es_query *q = NULL;
        ck_assert_int_eq(es_query_parse(&q, qs[k], strlen(qs[k]), NULL), ES_OK);
        for (size_t l = 0; l < 8; l++) {
            size_t off = l < 4 ? 0 : 5, lim = lims[l % 4], n[4];
            uint32_t chunk = 1 + (uint32_t)(tu_rand(&st) % 60);
            esi_hit *h[4];
            uint64_t t[4];
            for (int v = 0; v < 4; v++) {  /* exhaustive, pruned, inexact, split */
                esi_search_params sp = { off, lim, ES_SORT_SCORE, 1.2, 0.75, v != 2,
                                         v == 0, NULL, v == 3 ? pool : NULL, 1, chunk,
                                         1 + chunk % 7, chunk % 3 == 0, 1, false, NULL };
                esi_err e = { 0 };
                ck_assert_msg(esi_search_run(ix->snap, q, &sp, &h[v], &n[v], &t[v], &e) ==
                              ES_OK, "%s", e.msg);
            }
            ck_assert_msg(t[1] == t[0] && t[3] == t[0] && t[2] <= t[0], "seed %llu: %s: "
                          "totals %llu %llu %llu %llu", (unsigned long long)seed, qs[k],
                          (unsigned long long)t[0], (unsigned long long)t[1],
                          (unsigned long long)t[2], (unsigned long long)t[3]);
            for (int v = 1; v < 4; v++) {
                ck_assert_msg(n[v] == n[0], "seed %llu: %s: %zu hits, not %zu (way %d)",
                              (unsigned long long)seed, qs[k], n[v], n[0], v);
                for (size_t i = 0; i < n[0]; i++)
                    ck_assert_msg(h[v][i].doc == h[0][i].doc && h[v][i].seg == h[0][i].seg &&
                                  h[v][i].score == h[0][i].score, "seed %llu: %s offset %zu "
                                  "limit %zu: hit %zu differs (way %d)",
                                  (unsigned long long)seed, qs[k], off, lim, i, v);
            }
            for (int v = 0; v < 4; v++)
                esi_free(h[v]);
        }
        es_query_free(q);
    }
    esi_pool_free(pool);
    es_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_search_split_damaged_postings)
{
    char *dir = tu_tmpdir();
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, NULL), ES_OK);
    uint64_t seed = tu_seed(), st = seed;
    add_random_docs(w, 500, &st);
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    char post[1024] = "";
    DIR *dh = opendir(dir);
    for (struct dirent *de; dh && (de = readdir(dh)) != NULL;) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".post") == 0)
            snprintf(post, sizeof post, "%s/%s", dir, de->d_name);
    }
    if (dh)
        closedir(dh);
    ck_assert_msg(post[0], "no .post file in %s", dir);
    size_t plen = 0;
    char *clean = tu_read_file(post, &plen);
    ck_assert_ptr_nonnull(clean);
    /* where the postings of the two counted keys lie in the file */
    uint64_t koff[2], klen[2];
    es_index *cl = NULL;
    ck_assert_int_eq(es_index_open(&cl, dir, NULL), ES_OK);
    const esi_segment *sg = cl->snap->segs[0];
    for (int k = 0; k < 2; k++) {
        const char *t = k ? "人民" : "教";
        esi_term_info ti;
        ck_assert_int_eq(esi_segment_lookup(sg, (const uint8_t *)t, strlen(t), &ti, NULL),
                         ES_OK);
        koff[k] = (uint64_t)(sg->post_p - (const uint8_t *)sg->post.data) + ti.post_off;
        klen[k] = ti.post_len;
        ck_assert_uint_gt(klen[k], 64);
    }
    es_index_free(cl);
    esi_pool *pool = esi_pool_new(3);
    int corrupt = 0, fine = 0, counted = 0;
    for (int trial = 0; trial < 40; trial++) {
        /* trial 0 undamaged; then 1..8 runs of 32 garbage bytes in the body */
        char *bad = malloc(plen);
        memcpy(bad, clean, plen);
        for (int spot = 0; trial > 0 && spot < 1 + trial % 8; spot++) {
            size_t at = 64 + tu_rand(&st) % (plen - 200);
            if (spot == 0 && trial % 2)    /* in a counted key's postings */
                at = koff[trial % 4 / 2] + tu_rand(&st) % (klen[trial % 4 / 2] - 32);
            for (size_t i = 0; i < 32; i++)
                bad[at + i] = (char)tu_rand(&st);
        }
        FILE *f = fopen(post, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(bad, 1, plen, f), plen);
        fclose(f);
        free(bad);
        es_index *ix = NULL;
        if (es_index_open(&ix, dir, NULL) != ES_OK)
            continue;                  /* damage the open checks already catch */
        for (size_t k = 0; k < NSPLITQ; k++) {
            esi_hit *h1, *h2;
            size_t n1, n2;
            uint64_t t1, t2;
            esi_err e1 = { 0 }, e2 = { 0 };
            uint32_t chunk = 1 + (uint32_t)(tu_rand(&st) % 20);
            /* the first two only count: every posting of their one key is
             * read by both, so damage one thread meets the split meets too */
            size_t lim = k < 2 ? 0 : 10;
            es_status r1 = exec_status(ix, split_qs[k], lim, NULL, 0, &h1, &n1, &t1, &e1);
            es_status r2 = exec_status(ix, split_qs[k], lim, pool, chunk, &h2, &n2, &t2, &e2);
            ck_assert_msg((r1 == ES_OK || r1 == ES_ECORRUPT) &&
                          (r2 == ES_OK || r2 == ES_ECORRUPT),
                          "seed %llu trial %d %s: status %d / %d",
                          (unsigned long long)seed, trial, split_qs[k], r1, r2);
            if (r2 == ES_ECORRUPT) {
                ck_assert_msg(strstr(e2.msg, "seg_") != NULL, "%s: \"%s\" (one thread: %d "
                              "\"%s\")", split_qs[k], e2.msg, r1, e1.msg);
                corrupt++;
            }
            if (trial == 0)
                ck_assert_int_eq(r1 | r2, ES_OK);
            counted += k < 2 && r1 == ES_ECORRUPT;
            if (k < 2)
                ck_assert_msg(r1 == ES_OK || r2 == ES_ECORRUPT, "seed %llu trial %d "
                              "%s: the split missed the damage (%s)",
                              (unsigned long long)seed, trial, split_qs[k], e1.msg);
            if (r1 == ES_OK && r2 == ES_OK) {
                fine++;
                ck_assert_msg(t1 == t2 && n1 == n2, "seed %llu trial %d %s: total "
                              "%llu vs %llu split", (unsigned long long)seed, trial,
                              split_qs[k], (unsigned long long)t1, (unsigned long long)t2);
                for (size_t i = 0; i < n1; i++)
                    ck_assert(h1[i].doc == h2[i].doc && h1[i].score == h2[i].score);
            }
            esi_free(h1);
            esi_free(h2);
        }
        es_index_free(ix);
    }
    esi_pool_free(pool);
    printf("split over damaged postings: %d ES_ECORRUPT (%d on counts), %d agreeing "
           "pages (seed %llu)\n", corrupt, counted, fine, (unsigned long long)seed);
    ck_assert_int_gt(corrupt, 0);
    ck_assert_int_gt(counted, 0);
    ck_assert_int_gt(fine, 0);
    free(clean);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- threads ------------------------------------------------------------ */

static const char *tq[] = { "教育", "学校 教师", "\"义务教育\"", "职业教育 OR 学前教育",
                            "教师 -学生", "title:教育", "\"校\"", "集团化办学",
                            "幼儿园 安全", "第十条" };
#define NTQ (sizeof tq / sizeof *tq)

typedef struct tres {
    char ids[NTQ][2048];
    double score[NTQ][10];
    uint64_t total[NTQ];
} tres;

static void *searcher(void *p)
{
    tres *t = p;
    for (int rep = 0; rep < 3; rep++)
        for (size_t i = 0; i < NTQ; i++) {
            es_query *q = NULL;
            es_results *r = NULL;
            if (es_query_parse(&q, tq[i], strlen(tq[i]), NULL) != ES_OK ||
                es_search(&r, cix, q, NULL, NULL) != ES_OK) {
                t->total[i] = UINT64_MAX;
            } else {
                t->total[i] = es_results_total(r);
                size_t n = 0;
                t->ids[i][0] = 0;
                for (size_t k = 0; k < es_results_count(r); k++) {
                    n += (size_t)snprintf(t->ids[i] + n, sizeof t->ids[i] - n, "%s,",
                                          es_results_id(r, k, NULL));
                    t->score[i][k] = es_results_score(r, k);
                }
            }
            es_results_free(r);
            es_query_free(q);
        }
    return NULL;
}

START_TEST(test_search_threads_agree)
{
    tres *one = calloc(1, sizeof *one), *many = calloc(8, sizeof *many);
    searcher(one);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, searcher, &many[i]), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 8; i++)
        for (size_t k = 0; k < NTQ; k++) {
            ck_assert_uint_ne(one->total[k], UINT64_MAX);
            ck_assert_uint_eq(many[i].total[k], one->total[k]);
            ck_assert_str_eq(many[i].ids[k], one->ids[k]);
            ck_assert(!memcmp(many[i].score[k], one->score[k], sizeof one->score[k]));
        }
    ck_assert_uint_gt(one->total[0], 10);
    free(one);
    free(many);
}
END_TEST

/* ---- snippets over regions (snippet.c) ---------------------------------- */

/* The units of text as the whole-text analysis gives them. */
typedef struct refunit {
    char key[64];
    size_t klen, start, end;
} refunit;

typedef struct refunits {
    refunit *v;
    size_t n, cap;
} refunits;

static int ref_on_token(const es_token *t, void *p)
{
    refunits *u = p;
    if (t->kind != ES_TOKEN_HAN && t->kind != ES_TOKEN_LATIN && t->kind != ES_TOKEN_NUMBER)
        return 0;
    if (u->n == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 256;
        u->v = realloc(u->v, u->cap * sizeof *u->v);
        ck_assert_ptr_nonnull(u->v);
    }
    refunit *r = &u->v[u->n++];
    r->klen = t->term_len < sizeof r->key ? t->term_len : sizeof r->key;
    memcpy(r->key, t->term, r->klen);
    r->start = t->start;
    r->end = t->end;
    return 0;
}

/* The pieces random documents are made of: plain and traditional CJK,
 * full-width and ASCII letters and digits, sentence ends, line breaks,
 * combining marks (U+0301, U+3099), compatibility jamo, a ligature, a
 * square era name (two units from one character), a supplementary
 * ideograph and invalid UTF-8. */
static const char *const pieces[] = {
    "学", "學", "办", "辦", "集", "团", "團", "化", "教", "育", "的", "规", "規",
    "か", "\xe3\x82\x99", "e", "E", "\xcc\x81", "2025", "２０", "ｅ", "ﬁ", "㍻",
    "平成", "ㅎ", "ㅏ", "한", "𠀀", "。", "，", "！", "？", "!", "\n", " ", "　",
    "”", "（", "）", "1,000", "44.8", "\xff", "\xe5\xad", "\x80", "a", "b",
};

/* Append n random pieces to out. */
static size_t random_doc(uint64_t *st, char *out, size_t cap, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[tu_rand(st) % (sizeof pieces / sizeof *pieces)];
        size_t l = strlen(p);
        if (len + l > cap)
            break;
        memcpy(out + len, p, l);
        len += l;
    }
    return len;
}

/* Append to r[*n..cap) every occurrence of the unit sequence of ph in the
 * doc units d, unmerged. */
static void ref_occurrences(const refunits *d, const refunits *ph, es_range *r, size_t *n,
                            size_t cap)
{
    for (size_t i = 0; ph->n && i + ph->n <= d->n; i++) {
        size_t j = 0;
        while (j < ph->n && d->v[i + j].klen == ph->v[j].klen &&
               !memcmp(d->v[i + j].key, ph->v[j].key, ph->v[j].klen))
            j++;
        if (j == ph->n && *n < cap)
            r[(*n)++] = (es_range){ d->v[i].start, d->v[i + ph->n - 1].end };
    }
}

/* Order ranges by start, then end (qsort). */
static int cmp_range(const void *x, const void *y)
{
    const es_range *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->end < b->end ? -1 : a->end > b->end;
}

/* Sort r[0..n) and merge the ranges that overlap or touch, as snippet.c
 * merges them; returns the count left. */
static size_t merge_ranges(es_range *r, size_t n)
{
    qsort(r, n, sizeof *r, cmp_range);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && r[i].start <= r[m - 1].end) {
            if (r[i].end > r[m - 1].end)
                r[m - 1].end = r[i].end;
        } else {
            r[m++] = r[i];
        }
    }
    return m;
}

/* Every occurrence of the unit sequence of ph in the doc units d, merged,
 * into r (returns the count). */
static size_t ref_ranges(const refunits *d, const refunits *ph, es_range *r, size_t cap)
{
    size_t n = 0;
    ref_occurrences(d, ph, r, &n, cap);
    return merge_ranges(r, n);
}

/* A phrase for a property test, into out (cap bytes): 1..maxu units cut
 * from the document (units du of doc) three times in four, else 1..maxp
 * random pieces; its length, 0 when the cut does not fit. */
static size_t pick_phrase(uint64_t *st, const refunits *du, const char *doc, char *out,
                          size_t cap, size_t maxu, size_t maxp)
{
    if (du->n && tu_rand(st) % 4) {
        size_t k = 1 + tu_rand(st) % maxu, i0 = tu_rand(st) % du->n;
        if (i0 + k > du->n)
            k = du->n - i0;
        size_t plen = du->v[i0 + k - 1].end - du->v[i0].start;
        if (plen > cap)
            return 0;
        memcpy(out, doc + du->v[i0].start, plen);
        return plen;
    }
    return random_doc(st, out, cap, 1 + tu_rand(st) % maxp);
}

/* The snippet of doc for q (markers "[" "]", two sentences) into *out and
 * its ranges into *rg; asserts they are want[0..nw), in order. */
static size_t snippet_ranges_are(esi_analyzer *a, const es_query *q, const char *doc,
                                 size_t len, const es_range *want, size_t nw, int it,
                                 const char *qt, esi_buf *out, es_range **rg)
{
    esi_snippet_params sp = { "[", "]", 2, 120 };
    esi_err e = { 0 };
    size_t nr = 0;
    ck_assert_int_eq(esi_snippet_make(a, q, doc, len, &sp, out, rg, &nr, &e), ES_OK);
    ck_assert_msg(nr == nw, "it %d: %zu ranges, whole-text analysis %zu (query %s, doc "
                  "%zu bytes)", it, nr, nw, qt, len);
    for (size_t k = 0; k < nr; k++)
        ck_assert_msg((*rg)[k].start == want[k].start && (*rg)[k].end == want[k].end,
                      "it %d range %zu: %zu-%zu, expected %zu-%zu (query %s)", it, k,
                      (*rg)[k].start, (*rg)[k].end, want[k].start, want[k].end, qt);
    return nr;
}

/* Property: for random documents and quoted phrases (cut from the document
 * or random), the ranges equal every occurrence found by analyzing the
 * whole document, each on character boundaries, and the snippet holds a
 * highlight exactly when there is a range. */
START_TEST(test_search_snippet_regions_exact)
{
    uint64_t st = tu_seed();
    esi_analyzer *a = NULL;
    esi_err e = { 0 };
    ck_assert_int_eq(esi_analyzer_new(&a, &e), ES_OK);
    static char doc[24000], qt[512];
    static es_range want[4096];
    static bool bound[sizeof doc + 1];
    size_t checked = 0, with_hits = 0;
    for (int it = 0; it < 400; it++) {
        size_t n = 1 + tu_rand(&st) % (it % 10 == 0 ? 4000 : 400);
        size_t len = random_doc(&st, doc, sizeof doc, n);
        refunits du = { 0 }, pu = { 0 };
        ck_assert_int_eq(es_tokenize(doc, len, ES_TOKENIZE_INDEX, ref_on_token, &du, NULL),
                         ES_OK);
        /* the phrase: 1..6 units of the document, or random pieces */
        size_t plen = pick_phrase(&st, &du, doc, qt + 1, sizeof qt - 3, 6, 4);
        qt[0] = '"';
        qt[plen + 1] = '"';
        qt[plen + 2] = 0;
        es_query *q = NULL;
        if (memchr(qt + 1, '"', plen) ||
            es_query_parse(&q, qt, plen + 2, NULL) != ES_OK) {
            free(du.v);
            continue;
        }
        ck_assert_int_eq(es_tokenize(qt + 1, plen, ES_TOKENIZE_INDEX, ref_on_token, &pu,
                                     NULL), ES_OK);
        size_t nw = ref_ranges(&du, &pu, want, sizeof want / sizeof *want);
        /* character boundaries of the decoding (invalid bytes included) */
        memset(bound, 0, len + 1);
        for (size_t i = 0; i < len;) {
            bound[i] = true;
            esi_utf8_next((const uint8_t *)doc, len, &i);
        }
        bound[len] = true;
        esi_buf out = { 0 };
        es_range *rg = NULL;
        size_t nr = snippet_ranges_are(a, q, doc, len, want, nw, it, qt, &out, &rg);
        for (size_t k = 0; k < nr; k++) {
            ck_assert(rg[k].start < rg[k].end && rg[k].end <= len);
            ck_assert_msg(bound[rg[k].start] && bound[rg[k].end],
                          "it %d: range %zu-%zu splits a character", it, rg[k].start,
                          rg[k].end);
        }
        bool marked = out.data && strchr((const char *)out.data, '[');
        /* (a range may start at white space that a combining character
         * after it joined to its unit; the snippet trims that sentence's
         * trailing white space, so such a range can show unmarked) */
        bool ws_start = nr && (strchr(" \t\r\n", doc[rg[0].start]) ||
                               !memcmp(doc + rg[0].start, "\xe3\x80\x80", 3));
        ck_assert_msg(marked == (nr > 0) || ws_start, "it %d: snippet %s, %zu ranges",
                      it, out.data ? (const char *)out.data : "", nr);
        checked++;
        with_hits += nr > 0;
        esi_free(rg);
        esi_buf_free(&out);
        es_query_free(q);
        free(du.v);
        free(pu.v);
    }
    ck_assert_uint_gt(checked, 200);
    ck_assert_uint_gt(with_hits, 100);
    esi_analyzer_free(a);
}
END_TEST

/* Property: for random documents and queries of two or three quoted
 * phrases (AND), each cut from the document or random and so often sharing
 * first units, the ranges equal the merged occurrences of all of them
 * found by analyzing the whole document (snippet.c looks for each phrase
 * only where the units are tagged with its first unit). */
START_TEST(test_search_snippet_ranges_several_phrases)
{
    uint64_t st = tu_seed();
    esi_analyzer *a = NULL;
    esi_err e = { 0 };
    ck_assert_int_eq(esi_analyzer_new(&a, &e), ES_OK);
    static char doc[8000], qt[1024];
    static es_range occ[8192];
    size_t checked = 0, with_hits = 0;
    for (int it = 0; it < 300; it++) {
        size_t len = random_doc(&st, doc, sizeof doc, 1 + tu_rand(&st) % 600);
        refunits du = { 0 };
        ck_assert_int_eq(es_tokenize(doc, len, ES_TOKENIZE_INDEX, ref_on_token, &du, NULL),
                         ES_OK);
        size_t nphr = 2 + tu_rand(&st) % 2, ql = 0, no = 0;
        bool ok = true;
        for (size_t p = 0; p < nphr && ok; p++) {
            char one[64];
            size_t plen = pick_phrase(&st, &du, doc, one, sizeof one, 4, 3);
            refunits pu = { 0 };
            if (plen == 0 || memchr(one, '"', plen) ||
                es_tokenize(one, plen, ES_TOKENIZE_INDEX, ref_on_token, &pu, NULL) != ES_OK ||
                pu.n == 0) {
                ok = false;
                free(pu.v);
                break;
            }
            qt[ql++] = p ? ' ' : '"';
            if (p)
                qt[ql++] = '"';
            memcpy(qt + ql, one, plen);
            ql += plen;
            qt[ql++] = '"';
            ref_occurrences(&du, &pu, occ, &no, sizeof occ / sizeof *occ);
            free(pu.v);
        }
        qt[ql] = 0;
        es_query *q = NULL;
        if (!ok || es_query_parse(&q, qt, ql, NULL) != ES_OK) {
            free(du.v);
            continue;
        }
        esi_buf out = { 0 };
        es_range *rg = NULL;
        size_t nr = snippet_ranges_are(a, q, doc, len, occ, merge_ranges(occ, no), it, qt,
                                       &out, &rg);
        checked++;
        with_hits += nr > 0;
        esi_free(rg);
        esi_buf_free(&out);
        es_query_free(q);
        free(du.v);
    }
    ck_assert_uint_gt(checked, 100);
    ck_assert_uint_gt(with_hits, 50);
    esi_analyzer_free(a);
}
END_TEST

/* A match 1 MB deep in a large document still gets its snippet and its
 * exact range; the same text through the public API. */
START_TEST(test_search_snippet_deep_match)
{
    static const char fill[] = "各地要统筹推进教育发展规划，落实各项政策措施。\n";
    static const char needle[] = "积极探索集团化办学的新路径。";
    size_t fl = strlen(fill), nl = strlen(needle);
    size_t reps = (1u << 20) / fl + 1, len = reps * fl + nl + 2 * fl;
    char *doc = malloc(len + 1);
    ck_assert_ptr_nonnull(doc);
    size_t at = 0;
    for (size_t i = 0; i < reps; i++, at += fl)
        memcpy(doc + at, fill, fl);
    size_t deep = at;
    memcpy(doc + at, needle, nl);
    at += nl;
    memcpy(doc + at, fill, fl);
    at += fl;
    memcpy(doc + at, fill, fl);
    at += fl;
    doc[at] = 0;
    ck_assert_uint_eq(at, len);
    ck_assert_uint_gt(deep, 1u << 20);
    esi_analyzer *a = NULL;
    esi_err e = { 0 };
    ck_assert_int_eq(esi_analyzer_new(&a, &e), ES_OK);
    const char *qs[] = { "集团化办学", "\"集团化办学\"" };
    for (size_t k = 0; k < 2; k++) {
        es_query *q = NULL;
        ck_assert_int_eq(es_query_parse(&q, qs[k], strlen(qs[k]), NULL), ES_OK);
        esi_snippet_params sp = { "[", "]", 2, 120 };
        esi_buf out = { 0 };
        es_range *rg = NULL;
        size_t nr = 0;
        ck_assert_int_eq(esi_snippet_make(a, q, doc, len, &sp, &out, &rg, &nr, &e), ES_OK);
        size_t off = deep + strlen("积极探索");
        ck_assert_uint_eq(nr, 1);
        ck_assert_uint_eq(rg[0].start, off);
        ck_assert_uint_eq(rg[0].end, off + strlen("集团化办学"));
        ck_assert_msg(strstr((const char *)out.data, "积极探索[集团化办学]的新路径。"), "%s",
                      (const char *)out.data);
        esi_free(rg);
        esi_buf_free(&out);
        es_query_free(q);
    }
    esi_analyzer_free(a);
    /* through the index and es_search */
    char *dir = tu_tmpdir();
    es_writer *w = NULL;
    es_error err;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, &err), ES_OK);
    add(w, "big", NULL, NULL, doc, len);
    es_index *ix = commit_and_open(w, dir);
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    es_results *r = run(ix, "集团化办学", &o);
    ck_assert_uint_eq(es_results_count(r), 1);
    ck_assert_msg(strstr(es_results_snippet(r, 0, NULL), "[集团化办学]"), "%s",
                  es_results_snippet(r, 0, NULL));
    es_results_free(r);
    es_index_free(ix);
    tu_rmrf(dir);
    free(dir);
    free(doc);
}
END_TEST

/* ---- phrase existence and exact tf: brute force ------------------------ */

enum { XD = 120, XA = 4 };                       /* documents, alphabet */
/* Two alphabets: pairs of the first have no positions; of the second,
 * 第二 第十 二十 第三 三十 十二 十三 are in the writer's built-in list of
 * position pairs (lib/api/pospairs.c) and 二三 三二 十十 … are not. */
static const char *const xalpha[2][XA] = { { "甲", "乙", "丙", "丁" },
                                           { "第", "二", "十", "三" } };
static const char *const *xchar;

/* Occurrences of ph[0..pl) in doc[0..dl) (overlapping). */
static uint32_t x_count(const uint8_t *doc, size_t dl, const uint8_t *ph, size_t pl)
{
    uint32_t n = 0;
    for (size_t i = 0; i + pl <= dl; i++)
        n += !memcmp(doc + i, ph, pl);
    return n;
}

/* Reference idf of phrase ph: from the df of its rarest index key (bigrams
 * at 0, 2, ..., L-2 and L-2; every character when L >= 3; the character
 * when L = 1). */
static double x_idf(uint8_t *const *doc, const size_t *len, const uint8_t *ph, size_t pl)
{
    uint64_t df = UINT64_MAX;
    for (size_t o = 0; o < pl; o++) {
        size_t kl = pl == 1 ? 1 : (o % 2 == 0 || o == pl - 2) && o + 2 <= pl ? 2 : 0;
        for (int pass = 0; pass < 2; pass++, kl = pl >= 3 ? 1 : 0) {
            if (kl == 0)
                continue;
            uint64_t n = 0;
            for (size_t e = 0; e < XD; e++)
                n += x_count(doc[e], len[e], ph + o, kl) > 0;
            df = n < df ? n : df;
        }
    }
    return esi_score_idf(df, XD);
}

/* Reference BM25 of phrase ph (of idf) in doc d: tf by brute force; 0 if
 * absent. */
static double x_score(uint8_t *const *doc, const size_t *len, size_t d,
                      const uint8_t *ph, size_t pl, double idf, double avgdl)
{
    uint32_t tf = x_count(doc[d], len[d], ph, pl);
    return tf ? esi_score_bm25(idf, tf, (uint32_t)len[d], avgdl, 1.2, 0.75) : 0;
}

/* A random phrase of 1..6 characters into ph (its length), often cut from
 * a document so that it occurs. */
static size_t x_phrase(uint64_t *st, uint8_t *const *doc, const size_t *len, uint8_t *ph)
{
    size_t pl = 1 + tu_rand(st) % 6, d = tu_rand(st) % XD;
    if (tu_rand(st) % 3 && len[d] >= pl) {
        memcpy(ph, doc[d] + tu_rand(st) % (len[d] - pl + 1), pl);
    } else {
        for (size_t i = 0; i < pl; i++)
            ph[i] = (uint8_t)(tu_rand(st) % XA);
    }
    return pl;
}

/* A writer for the reference test's index (16 KiB buffer, so several
 * segments) with its own list of position pairs (NULL: the built-in one). */
static es_writer *pairs_writer(const char *dir, const char *const *pairs, size_t n)
{
    es_writer *w = NULL;
    es_error err;
    es_writer_options wo = ES_WRITER_OPTIONS_INIT;
    wo.fsync = 0;
    wo.ram_buffer_bytes = 1 << 14;
    wo.extract_fields = 0;
    wo.position_pairs = pairs;
    wo.nposition_pairs = n;
    ck_assert_msg(es_writer_open(&w, dir, &wo, &err) == ES_OK, "%s", err.message);
    return w;
}

/* Whether pair t has positions in segment i of ix (-1: not there). */
static int pair_positions(const es_index *ix, size_t i, const char *t)
{
    esi_term_info ti;
    es_status rc = esi_segment_lookup(ix->snap->segs[i], (const uint8_t *)t, strlen(t),
                                      &ti, NULL);
    return rc == ES_ENOTFOUND ? -1 : ti.positions;
}

/* Counts and the top hits' scores of random phrase queries (one phrase;
 * two with AND, OR, NOT) against brute force over the texts, on indexes of
 * several segments whose documents are long runs of a four-letter
 * alphabet, in four shapes (_i): 0 the alphabet whose pairs have no
 * positions; 1 the one whose common pairs do (pospairs.c); 2 the same with
 * the second half of the documents written by a writer with another list
 * (第二 and 十三 only, so segments disagree on the rest); 3 that index
 * merged into one segment by a writer with no list (a merge keeps a pair's
 * positions only where every segment has them). */
START_TEST(test_search_phrase_existence_reference)
{
    char *dir = tu_tmpdir();
    xchar = xalpha[_i >= 1];
    static const char *const half[] = { "第二", "十三" };
    es_writer *w = _i >= 1 ? pairs_writer(dir, NULL, 0) : small_writer(dir, 1 << 14, false);
    uint64_t seed = tu_seed(), st = seed;
    static uint8_t *doc[XD];
    static size_t len[XD];
    char *text = malloc(3 * 3000 + 1);
    for (size_t d = 0; d < XD; d++) {
        uint64_t k = tu_rand(&st) % 20;   /* short, medium, a few long (> 128 of a char) */
        len[d] = k < 14 ? 1 + tu_rand(&st) % 60 : k < 19 ? 60 + tu_rand(&st) % 340
                                                         : 1500 + tu_rand(&st) % 1500;
        doc[d] = malloc(len[d]);
        for (size_t i = 0; i < len[d]; i++) {
            uint64_t c = tu_rand(&st) % 20;   /* skewed: 丁 is the rare one */
            doc[d][i] = c < 10 ? 0 : c < 15 ? 1 : c < 18 ? 2 : 3;
            memcpy(text + 3 * i, xchar[doc[d][i]], 3);
        }
        char id[16];
        snprintf(id, sizeof id, "x%03zu", d);
        add(w, id, NULL, NULL, text, 3 * len[d]);
        if (_i >= 2 && d == XD / 2) {
            ck_assert_int_eq(es_writer_commit(w), ES_OK);
            es_writer_free(w);
            w = pairs_writer(dir, half, 2);
        }
    }
    free(text);
    if (_i == 3) {
        ck_assert_int_eq(es_writer_commit(w), ES_OK);
        es_writer_free(w);
        w = pairs_writer(dir, half, 0);
        ck_assert_int_eq(es_writer_optimize(w), ES_OK);
    }
    es_index *ix = commit_and_open(w, dir);
    size_t ns = ix->snap->nsegs;
    ck_assert_uint_gt(ns, _i == 3 ? 0 : 1);
    /* the shape is what the case says: which pairs have positions where
     * (a small segment may lack a pair; the merge policy may have joined
     * segments of both writers in 2); with[p]: segments where 二十 is
     * there with (1) or without (0) positions */
    size_t with[2] = { 0, 0 };
    for (size_t i = 0; i < ns; i++) {
        int p = pair_positions(ix, i, "二十");
        ck_assert(_i ? pair_positions(ix, i, "第二") != 0 : pair_positions(ix, i, "第二") < 0);
        ck_assert(_i ? pair_positions(ix, i, "二三") != 1 : pair_positions(ix, i, "二三") < 0);
        ck_assert(_i || p < 0);
        if (p >= 0)
            with[p]++;
    }
    ck_assert(_i != 1 || (with[1] > 0 && with[0] == 0));
    ck_assert(_i != 2 || (with[1] > 0 && with[0] > 0));
    ck_assert(_i != 3 || (with[0] == 1 && with[1] == 0));
    double avgdl = ix->snap->avg_doclen;
    static const char *const op[] = { "", " ", " OR ", " -" };
    for (int it = 0; it < 150; it++) {
        uint8_t p1[6], p2[6];
        size_t l1 = x_phrase(&st, doc, len, p1), l2 = x_phrase(&st, doc, len, p2);
        int f = (int)(tu_rand(&st) % 4);
        if (f > 0 && l1 == l2 && !memcmp(p1, p2, l1))
            f = 0;
        char q1[32] = "\"", q2[32] = "\"", q[80];
        for (size_t i = 0; i < l1; i++)
            strcat(q1, xchar[p1[i]]);
        for (size_t i = 0; i < l2; i++)
            strcat(q2, xchar[p2[i]]);
        strcat(q1, "\"");
        strcat(q2, "\"");
        snprintf(q, sizeof q, "%s%s%s", q1, op[f], f ? q2 : "");
        double ref[XD], sorted[XD];
        uint64_t want = 0;
        double i1 = x_idf(doc, len, p1, l1), i2 = x_idf(doc, len, p2, l2);
        for (size_t d = 0; d < XD; d++) {
            double a = x_score(doc, len, d, p1, l1, i1, avgdl);
            double b = f ? x_score(doc, len, d, p2, l2, i2, avgdl) : 0;
            bool m = f == 0 ? a > 0 : f == 1 ? a > 0 && b > 0 : f == 2 ? a > 0 || b > 0
                                                               : a > 0 && b == 0;
            ref[d] = !m ? -1 : f == 3 ? a : a + b;
            want += m;
        }
        memcpy(sorted, ref, sizeof ref);
        for (size_t i = 1; i < XD; i++)       /* descending */
            for (size_t j = i; j > 0 && sorted[j - 1] < sorted[j]; j--) {
                double t = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = t;
            }
        es_search_options o = ES_SEARCH_OPTIONS_INIT;
        o.snippets = 0;
        o.limit = 0;
        es_results *r = run(ix, q, &o);
        ck_assert_msg(es_results_total(r) == want, "seed %llu: %s: count %llu, "
                      "expected %llu", (unsigned long long)seed, q,
                      (unsigned long long)es_results_total(r), (unsigned long long)want);
        es_results_free(r);
        for (int exact = 1; exact >= 0; exact--) {
            o.limit = 10;
            o.offset = it % 4 == 0 ? 3 : 0;
            o.exact_total = exact;
            r = run(ix, q, &o);
            uint64_t tot = es_results_total(r);
            ck_assert_msg(exact ? tot == want : tot <= want && (tot == 0) == (want == 0),
                          "seed %llu: %s: total %llu of %llu (exact %d)",
                          (unsigned long long)seed, q, (unsigned long long)tot,
                          (unsigned long long)want, exact);
            size_t n = es_results_count(r);
            size_t top = want > o.offset ? (size_t)want - o.offset : 0;
            ck_assert_uint_eq(n, top < 10 ? top : 10);
            for (size_t i = 0; i < n; i++) {
                double sc = es_results_score(r, i), tol = 1e-9 * (1 + fabs(sc));
                size_t d = (size_t)atoi(es_results_id(r, i, NULL) + 1);
                ck_assert_msg(fabs(ref[d] - sc) <= tol && fabs(sorted[o.offset + i] - sc) <= tol,
                              "seed %llu: %s: hit %zu is %s with %.12g; reference %.12g, "
                              "rank %zu wants %.12g", (unsigned long long)seed, q, i,
                              es_results_id(r, i, NULL), sc, ref[d], i + o.offset,
                              sorted[o.offset + i]);
            }
            es_results_free(r);
        }
    }
    es_index_free(ix);
    for (size_t d = 0; d < XD; d++)
        free(doc[d]);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Phrases decided from pair counts (exec.c plan_pairs, chain_bounds): a
 * pair is indexed only for CJK characters at adjacent positions (a Latin
 * token between them takes a position, punctuation does not), the
 * pigeonhole bound must not claim a phrase whose pairs sit apart, and a
 * document lacking a pair the query does not key (乙丙 of 甲乙丙丁) is
 * out. Counts and ids against the texts. */
START_TEST(test_search_phrase_pair_counts)
{
    static const struct { const char *id, *text; } docs[] = {
        { "p1", "甲乙丙乙丙" },      /* 甲乙丙 once: 甲乙 + 乙丙 > 乙 */
        { "p2", "甲乙乙丙" },        /* every pair, no 甲乙丙 */
        { "p3", "甲乙a丙" },         /* 乙 and 丙 not adjacent */
        { "p4", "甲乙，丙" },        /* adjacent across punctuation */
        { "p5", "甲乙丁丙丁甲乙" },  /* 甲乙, 丙丁, no 乙丙 */
        { "p6", "甲乙丙丁甲乙丙丁" },
        { "p7", "乙丙甲乙乙丙丁丙丁" },
    };
    static const struct { const char *q; uint64_t n; const char *ids; } want[] = {
        { "\"甲乙丙\"", 3, "p1 p4 p6" },
        { "\"甲乙丙丁\"", 1, "p6" },
        { "\"乙丙丁\"", 2, "p6 p7" },
        { "\"甲乙丙\" -\"甲乙丙丁\"", 2, "p1 p4" },
    };
    char *dir = tu_tmpdir();
    es_error err;
    es_writer *w = small_writer(dir, 1 << 20, false);
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        add(w, docs[i].id, NULL, NULL, docs[i].text, strlen(docs[i].text));
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_index *ix = NULL;
    ck_assert_int_eq(es_index_open(&ix, dir, &err), ES_OK);
    for (size_t i = 0; i < 2 * sizeof want / sizeof *want; i++) {
        es_search_options o = ES_SEARCH_OPTIONS_INIT;
        o.snippets = 0;
        o.limit = i % 2 ? 10 : 0;      /* count only: existence; else exact tf */
        es_results *r = run(ix, want[i / 2].q, &o);
        ck_assert_msg(es_results_total(r) == want[i / 2].n, "%s: %llu", want[i / 2].q,
                      (unsigned long long)es_results_total(r));
        ck_assert_uint_eq(es_results_count(r), o.limit ? want[i / 2].n : 0);
        for (size_t k = 0; k < es_results_count(r); k++)
            ck_assert_msg(strstr(want[i / 2].ids, es_results_id(r, k, NULL)), "%s: %s",
                          want[i / 2].q, ids(r));
        es_results_free(r);
    }
    es_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- explain ------------------------------------------------------------ */

/* es_query_explain over an index of three segments: every key line's (and
 * implied pair line's) count equals the hits of that key searched alone as
 * a phrase (no document is deleted, so both count the same documents,
 * across every segment); the tree's nodes are there; a short buffer gets a
 * cut, NUL-terminated prefix and the whole length; bad arguments are
 * ES_EINVAL. */
START_TEST(test_search_explain_key_counts)
{
    char *dir = tu_tmpdir();
    es_error err;
    static const char *const texts[] = {
        "推进集团化办学是促进教育均衡的重要途径。", "集团内部的文化建设与办学理念相互促进。",
        "義務教育階段的集團化辦學試點。", "深入落实“双减”政策，减轻学生作业负担。",
        "建设AI数智校园，2027年前完成。", "办好人民满意的教育，加快建设教育强国。",
        "集团化办学覆盖全部乡镇学校。",
    };
    static const char *const titles[] = { "关于推进集团化办学的通知", NULL, "试点通知",
                                          NULL, "智慧校园", "教育强国", NULL };
    for (size_t c = 0, i = 0; c < 3; c++) {            /* three commits: three segments */
        es_writer *w = NULL;
        ck_assert_int_eq(es_writer_open(&w, dir, NULL, &err), ES_OK);
        for (; i < (c + 1) * 7 / 3; i++) {
            char id[8];
            snprintf(id, sizeof id, "d%zu", i);
            add(w, id, titles[i], i % 2 ? "2024-05-01" : "2023", texts[i], strlen(texts[i]));
        }
        ck_assert_int_eq(es_writer_commit(w), ES_OK);
        es_writer_free(w);
    }
    es_index *ix = NULL;
    ck_assert_int_eq(es_index_open(&ix, dir, &err), ES_OK);
    es_stats st = { .version = ES_STATS_VERSION };
    ck_assert_int_eq(es_index_stats(ix, &st), ES_OK);
    ck_assert_uint_eq(st.segments, 3);
    static const char *const qs[] = { "集团化办学 -双减 date:2024 title:通知 ai*",
                                      "\"教育强国\" OR 義務教育",
                                      "学校 (集团 OR 校园) title:\"推进集团化\"",
                                      "\"集团化办学\"" };
    for (size_t k = 0; k < sizeof qs / sizeof *qs; k++) {
        es_query *q = NULL;
        ck_assert_int_eq(es_query_parse(&q, qs[k], strlen(qs[k]), &err), ES_OK);
        char *text = explain(ix, qs[k]);
        size_t len = strlen(text), len2 = 0;
        ck_assert_msg(!strncmp(text, "query: ", 7) && !strncmp(text + 7, qs[k], strlen(qs[k])),
                      "%s", text);
        char cut[12];
        ck_assert_int_eq(es_query_explain(ix, q, cut, sizeof cut, &len2, &err), ES_OK);
        ck_assert_uint_eq(len2, len);
        ck_assert_uint_eq(strlen(cut), sizeof cut - 1);
        ck_assert(!strncmp(cut, text, sizeof cut - 1));
        size_t keys = 0;
        for (const char *next = text, *l; next && *next; ) {   /* each line */
            const char *nl = strchr(next, '\n');
            for (l = next; *l == ' '; l++)
                ;
            next = nl ? nl + 1 : NULL;
            size_t skip = !strncmp(l, "key ", 4) ? 4 : !strncmp(l, "implied pair ", 13) ? 13 : 0;
            if (!skip)
                continue;
            l += skip - 4;                      /* the key starts 4 bytes on */
            const char *end = strstr(l, " (offset ");
            unsigned long long n = 0;
            ck_assert_ptr_nonnull(end);
            ck_assert_int_eq(sscanf(strstr(end, "): ") + 3, "%llu", &n), 1);
            uint64_t hits = key_hits(ix, l + 4, (size_t)(end - l - 4));
            ck_assert_msg(hits == n, "%.*s: explain says %llu, search %llu",
                          (int)(end - l - 4), l + 4, n, (unsigned long long)hits);
            keys++;
        }
        ck_assert_uint_gt(keys, 2);
        if (k == 0) {
            ck_assert_ptr_nonnull(strstr(text, "\nAND"));
            ck_assert_ptr_nonnull(strstr(text, "  NOT\n"));
            ck_assert_ptr_nonnull(strstr(text, "BONUS PHRASE 集团化办学"));
            ck_assert_ptr_nonnull(strstr(text, "[20240000, 20249999]"));
            ck_assert_ptr_nonnull(strstr(text, "PREFIX ai*"));
            ck_assert_ptr_nonnull(strstr(text, "key title:通知 (offset 0): 2 documents"));
        }
        if (k == 1)
            ck_assert_ptr_nonnull(strstr(text, "\nOR"));
        if (k == 3)   /* pairs at 0, 2 and 3 are keys; 团化 at 1 is implied */
            ck_assert_msg(strstr(text, "implied pair 团化 (offset 1): ") != NULL, "%s", text);
        if (k == 2)   /* a field phrase keeps no units: its text from its keys */
            ck_assert_msg(strstr(text, "PHRASE title:推进集团化\n") != NULL, "%s", text);
        free(text);
        es_query *none = q;
        ck_assert_int_eq(es_query_explain(ix, none, NULL, 0, NULL, &err), ES_EINVAL);
        ck_assert_int_eq(es_query_explain(ix, none, NULL, 1, &len, &err), ES_EINVAL);
        ck_assert_int_eq(es_query_explain(NULL, none, NULL, 0, &len, &err), ES_EINVAL);
        es_query_free(q);
    }
    es_index_free(ix);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *search_suite(void)
{
    Suite *s = suite_create("search");
    tu_case plain[] = {
        { "lower_phrases", test_search_lower_phrases },
        { "lower_bare_runs", test_search_lower_bare_runs },
        { "lower_errors", test_search_lower_errors },
    };
    tu_add_cases(s, plain, TU_NCASES(plain), NULL, NULL, 0);
    tu_case smalls[] = {
        { "phrase_and_bare", test_search_phrase_and_bare },
        { "boolean_field_date", test_search_boolean_field_date },
        { "paging_and_date_sort", test_search_paging_and_date_sort },
        { "snippets", test_search_snippets },
    };
    tu_add_cases(s, smalls, TU_NCASES(smalls), small_setup, small_teardown, 0);
    tu_add_case(s, "phrase_pair_counts", test_search_phrase_pair_counts, 0, 1, 0);
    tu_add_case(s, "bare_runs_verify_words", test_search_bare_runs_verify_words, 0, 1, 0);
    tu_add_case(s, "split_damaged_postings", test_search_split_damaged_postings, 0, 1, 120);
    tu_add_case(s, "split_segments_deletions", test_search_split_segments_deletions, 0, 1,
                120);
    tu_add_case(s, "single_key_pages", test_search_single_key_pages, 0, 1, 120);
    tu_add_case(s, "highlight_run_words", test_search_highlight_run_words, 0, 1, 0);
    tu_add_case(s, "snippet_regions_exact", test_search_snippet_regions_exact, 0, 1, 120);
    tu_add_case(s, "snippet_ranges_several_phrases",
                test_search_snippet_ranges_several_phrases, 0, 1, 120);
    tu_add_case(s, "snippet_deep_match", test_search_snippet_deep_match, 0, 1, 120);
    tu_add_case(s, "prefix_expansion", test_search_prefix_expansion, 0, 1, 60);
    tu_add_case(s, "phrase_existence_reference", test_search_phrase_existence_reference,
                0, 4, 120);
    tu_add_case(s, "explain_key_counts", test_search_explain_key_counts, 0, 1, 60);
    if (!tu_corpus_dir()) {
        printf("SKIP: ../shared/corpus not found (set ES_CORPUS_DIR)\n");
        return s;
    }
    tu_case on_corpus[] = {
        { "phrase_equals_substring", test_search_phrase_equals_substring },
        { "pruning_same_top", test_search_pruning_same_top },
        { "flat_and_same_as_nested", test_search_flat_and_same_as_nested },
        { "kept_arena_same_results", test_search_kept_arena_same_results },
        { "threads_agree", test_search_threads_agree },
    };
    for (size_t i = 0; i < TU_NCASES(on_corpus); i++) {
        TCase *tc = tu_add_case(s, on_corpus[i].name, on_corpus[i].fn, 0, 1, 120);
        tcase_add_unchecked_fixture(tc, corpus_setup, corpus_teardown);
    }
    return s;
}

int main(void)
{
    return tu_run(search_suite());
}
