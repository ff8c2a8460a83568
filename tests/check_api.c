/*
 * check_api.c: suite "api": the public API end to end, through
 * include/edusearch.h only: create an index, add documents, commit, reopen,
 * search Chinese, read documents back; replace and delete by id; the writer
 * lock; argument checking, options versions and error messages.
 */
#include <edusearch.h>

#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static void setup(void)
{
    dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

/* Add one document (id, title, text) through w. */
static void add(es_writer *w, const char *id, const char *title, const char *text)
{
    es_doc *d = NULL;
    ck_assert_int_eq(es_doc_new(&d, id, strlen(id), NULL), ES_OK);
    ck_assert_int_eq(es_doc_set_text(d, text, strlen(text)), ES_OK);
    if (title)
        ck_assert_int_eq(es_doc_set_field(d, "title", title, strlen(title)), ES_OK);
    ck_assert_int_eq(es_writer_add(w, d), ES_OK);
    es_doc_free(d);
}

/* Search q in dir; returns the results (caller frees) and the index. */
static es_results *search(es_index **ix, const char *q)
{
    es_error err;
    ck_assert_int_eq(es_index_open(ix, dir, &err), ES_OK);
    es_query *query = NULL;
    ck_assert_msg(es_query_parse(&query, q, strlen(q), &err) == ES_OK, "%s",
                  err.message);
    es_results *r = NULL;
    ck_assert_int_eq(es_search(&r, *ix, query, NULL, &err), ES_OK);
    es_query_free(query);
    return r;
}

START_TEST(test_api_end_to_end)
{
    es_writer *w = NULL;
    es_error err;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, &err), ES_OK);
    add(w, "a", "关于推进集团化办学的通知", "各校：\n为推进集团化办学，扩大优质教育资源。");
    add(w, "b", "其他", "本文件与此无关，只谈财政预算。");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);

    es_index *ix = NULL;
    es_results *r = search(&ix, "集团化办学");
    ck_assert_uint_eq(es_index_doc_count(ix), 2);
    ck_assert_uint_eq(es_results_total(r), 1);
    ck_assert_uint_eq(es_results_count(r), 1);
    size_t len;
    ck_assert_str_eq(es_results_id(r, 0, &len), "a");
    ck_assert_uint_eq(len, 1);
    const char *text = es_results_text(r, 0, &len);
    ck_assert_str_eq(text, "各校：\n为推进集团化办学，扩大优质教育资源。");
    ck_assert_str_eq(es_results_field(r, 0, "title", &len), "关于推进集团化办学的通知");
    ck_assert_ptr_null(es_results_field(r, 0, "nosuch", &len));
    ck_assert_ptr_null(es_results_id(r, 5, &len));
    ck_assert(es_results_score(r, 0) > 0);
    const es_range *m;
    ck_assert_uint_gt(es_results_matches(r, 0, &m), 0);
    es_results_free(r);
    /* snippets off: same hit, no snippet work */
    es_query *q = NULL;
    ck_assert_int_eq(es_query_parse(&q, "集团化办学", strlen("集团化办学"), NULL), ES_OK);
    es_search_options so = ES_SEARCH_OPTIONS_INIT;
    so.snippets = 0;
    ck_assert_int_eq(es_search(&r, ix, q, &so, NULL), ES_OK);
    ck_assert_uint_eq(es_results_count(r), 1);
    ck_assert_str_eq(es_results_snippet(r, 0, &len), "");
    ck_assert_uint_eq(es_results_matches(r, 0, &m), 0);
    ck_assert_str_eq(es_results_text(r, 0, &len), "各校：\n为推进集团化办学，扩大优质教育资源。");
    es_results_free(r);
    es_query_free(q);
    es_index_free(ix);
}
END_TEST

START_TEST(test_api_replace_and_delete)
{
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, NULL), ES_OK);
    add(w, "x", NULL, "义务教育优质均衡");
    add(w, "y", NULL, "义务教育");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    add(w, "x", NULL, "学前教育");            /* replaces the committed x */
    ck_assert_int_eq(es_writer_delete(w, "y", 1), ES_OK);
    ck_assert_int_eq(es_writer_delete(w, "nosuch", 6), ES_OK);
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);

    es_index *ix = NULL;
    es_results *r = search(&ix, "义务教育");
    ck_assert_uint_eq(es_results_total(r), 0);
    es_results_free(r);
    es_index_free(ix);
    r = search(&ix, "学前");
    ck_assert_uint_eq(es_results_total(r), 1);
    ck_assert_uint_eq(es_index_doc_count(ix), 1);
    es_results_free(r);
    es_index_free(ix);
}
END_TEST

START_TEST(test_api_uncommitted_is_invisible)
{
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, NULL), ES_OK);
    add(w, "1", NULL, "教育强国");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    add(w, "2", NULL, "教育强国建设");
    es_writer_free(w);                         /* discards doc 2 */
    es_index *ix = NULL;
    es_results *r = search(&ix, "教育强国");
    ck_assert_uint_eq(es_results_total(r), 1);
    es_results_free(r);
    es_index_free(ix);
}
END_TEST

START_TEST(test_api_second_writer_locked)
{
    es_writer *w1 = NULL, *w2 = NULL;
    es_error err;
    ck_assert_int_eq(es_writer_open(&w1, dir, NULL, &err), ES_OK);
    ck_assert_int_eq(es_writer_open(&w2, dir, NULL, &err), ES_ELOCKED);
    ck_assert_ptr_null(w2);
    ck_assert_int_eq(err.code, ES_ELOCKED);
    ck_assert_ptr_nonnull(strstr(err.message, "another writer"));
    es_writer_free(w1);
    ck_assert_int_eq(es_writer_open(&w2, dir, NULL, &err), ES_OK);
    es_writer_free(w2);
}
END_TEST

START_TEST(test_api_missing_index)
{
    es_index *ix = (es_index *)1;
    es_error err;
    char *none = malloc(strlen(dir) + 8);
    sprintf(none, "%s/none", dir);
    ck_assert_int_eq(es_index_open(&ix, none, &err), ES_ENOTFOUND);
    ck_assert_ptr_null(ix);
    ck_assert(strlen(err.message) > 0);
    es_writer_options o = ES_WRITER_OPTIONS_INIT;
    o.create = 0;
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, none, &o, &err), ES_ENOTFOUND);
    free(none);
}
END_TEST

START_TEST(test_api_argument_checks)
{
    es_doc *d = NULL;
    es_error err;
    ck_assert_int_eq(es_doc_new(&d, "", 0, &err), ES_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "id"));
    ck_assert_int_eq(es_doc_new(&d, "a\0b", 3, &err), ES_EINVAL);
    ck_assert_int_eq(es_doc_new(&d, "ok", 2, &err), ES_OK);
    ck_assert_int_eq(es_doc_set_field(d, "Title", "x", 1), ES_EINVAL);
    ck_assert_int_eq(es_doc_set_field(d, "", "x", 1), ES_EINVAL);
    ck_assert_int_eq(es_doc_set_field(d, "title", NULL, 3), ES_EINVAL);
    ck_assert_int_eq(es_doc_set_field(d, "title", "a", 1), ES_OK);
    ck_assert_int_eq(es_doc_set_field(d, "title", "b", 1), ES_OK);   /* replace */
    ck_assert_int_eq(es_doc_set_text(d, NULL, 0), ES_OK);
    ck_assert_int_eq(es_doc_set_text(NULL, "x", 1), ES_EINVAL);
    es_doc_free(d);
    es_doc_free(NULL);
    es_writer_free(NULL);
    es_index_free(NULL);
    es_query_free(NULL);
    es_results_free(NULL);

    es_writer_options o = ES_WRITER_OPTIONS_INIT;
    o.version = 99;
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, &o, &err), ES_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "version"));
    ck_assert_int_eq(es_writer_options_init(&o, 99), ES_EINVAL);
    ck_assert_int_eq(es_writer_options_init(&o, ES_WRITER_OPTIONS_VERSION), ES_OK);
    ck_assert_uint_eq(o.ram_buffer_bytes, (size_t)64 << 20);
    es_search_options so;
    ck_assert_int_eq(es_search_options_init(&so, ES_SEARCH_OPTIONS_VERSION), ES_OK);
    ck_assert_uint_eq(so.limit, 10);
    ck_assert_int_eq(es_writer_open(NULL, dir, NULL, &err), ES_EINVAL);
}
END_TEST

START_TEST(test_api_bad_input_text)
{
    /* invalid UTF-8, NUL bytes and an empty body are indexed, not rejected */
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, NULL), ES_OK);
    static const char bad[] = "\xff\xfe教育\0局\x80\xe6\x95";
    es_doc *d = NULL;
    ck_assert_int_eq(es_doc_new(&d, "bad", 3, NULL), ES_OK);
    ck_assert_int_eq(es_doc_set_text(d, bad, sizeof bad - 1), ES_OK);
    ck_assert_int_eq(es_writer_add(w, d), ES_OK);
    es_doc_free(d);
    ck_assert_int_eq(es_doc_new(&d, "empty", 5, NULL), ES_OK);
    ck_assert_int_eq(es_writer_add(w, d), ES_OK);
    es_doc_free(d);
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_index *ix = NULL;
    es_results *r = search(&ix, "教育");
    ck_assert_uint_eq(es_results_total(r), 1);
    size_t len;
    const char *t = es_results_text(r, 0, &len);
    ck_assert_uint_eq(len, sizeof bad - 1);
    ck_assert(memcmp(t, bad, len) == 0);       /* stored byte for byte */
    es_results_free(r);
    ck_assert_uint_eq(es_index_doc_count(ix), 2);
    es_index_free(ix);
}
END_TEST

START_TEST(test_api_check_and_stats)
{
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, NULL), ES_OK);
    add(w, "a", "标题", "教育强国建设规划纲要");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_error rep;
    ck_assert_int_eq(es_index_check(dir, &rep), ES_OK);
    es_index *ix = NULL;
    ck_assert_int_eq(es_index_open(&ix, dir, NULL), ES_OK);
    es_stats st = { .version = ES_STATS_VERSION };
    ck_assert_int_eq(es_index_stats(ix, &st), ES_OK);
    ck_assert_uint_eq(st.documents, 1);
    ck_assert_uint_ge(st.segments, 1);
    ck_assert_uint_gt(st.terms, 5);
    ck_assert_uint_gt(st.bytes_postings, 0);
    ck_assert_uint_gt(st.bytes_store, 0);
    ck_assert_uint_eq(st.text_bytes, strlen("教育强国建设规划纲要"));
    es_stats bad = { .version = 99 };
    ck_assert_int_eq(es_index_stats(ix, &bad), ES_EINVAL);
    es_index_free(ix);
}
END_TEST

START_TEST(test_api_seed_documents)
{
    const char *samples = tu_samples_dir();
    const char *names[] = { "puyang-2025-93.txt", "xinyang-2024-194.txt" };
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, NULL), ES_OK);
    for (int i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", samples, names[i]);
        size_t len;
        char *text = tu_read_file(path, &len);
        ck_assert_msg(text != NULL, "cannot read %s", path);
        es_doc *d = NULL;
        ck_assert_int_eq(es_doc_new(&d, names[i], strlen(names[i]), NULL), ES_OK);
        ck_assert_int_eq(es_doc_set_text(d, text, len), ES_OK);
        ck_assert_int_eq(es_writer_add(w, d), ES_OK);
        es_doc_free(d);
        free(text);
    }
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_index *ix = NULL;
    es_results *r = search(&ix, "集团化办学");
    ck_assert_uint_ge(es_results_total(r), 1);
    es_results_free(r);
    es_index_free(ix);
    /* the PDF line break inside 教育强国 (puyang) does not hide the phrase */
    r = search(&ix, "\"教育强国\"");
    ck_assert_uint_ge(es_results_total(r), 1);
    size_t len;
    int found = 0;
    for (size_t i = 0; i < es_results_count(r); i++)
        found |= strcmp(es_results_id(r, i, &len), "puyang-2025-93.txt") == 0;
    ck_assert(found);
    es_results_free(r);
    es_index_free(ix);
}
END_TEST

/* Facet callback: append "value=count;" to the buffer in p. */
static int facet_cb(const char *value, size_t len, uint64_t count, void *p)
{
    char *out = p;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%.*s=%llu;", (int)len, value,
             (unsigned long long)count);
    return 0;
}

START_TEST(test_api_fields_get_and_facets)
{
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, NULL), ES_OK);
    /* an official letter: its fields are recognized from the text */
    add(w, "letter", NULL,
        "濮阳市教育局文件\n\n濮教函〔2025〕93号\n\n签发人：葛磊\n\n"
        "濮阳市教育局关于对市政协九届三次会议第392号提案的答复\n\n王传利委员：\n\n"
        "您提出的提案收悉。现答复如下：推进集团化办学。\n\n濮阳市教育局\n\n2025年6月26日\n");
    /* fields the document sets itself win over extracted ones */
    es_doc *d = NULL;
    const char *t = "信阳市教育体育局\n\n关于学前教育的答复\n\n2024年7月2日";
    ck_assert_int_eq(es_doc_new(&d, "given", 5, NULL), ES_OK);
    ck_assert_int_eq(es_doc_set_text(d, t, strlen(t)), ES_OK);
    ck_assert_int_eq(es_doc_set_field(d, "agency", "自定机关", strlen("自定机关")), ES_OK);
    ck_assert_int_eq(es_doc_set_field(d, "date", "2023-01-05", 10), ES_OK);
    ck_assert_int_eq(es_writer_add(w, d), ES_OK);
    es_doc_free(d);
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);

    es_index *ix = NULL;
    ck_assert_int_eq(es_index_open(&ix, dir, NULL), ES_OK);
    es_results *r = NULL;
    es_error err;
    ck_assert_int_eq(es_index_get(&r, ix, "letter", 6, &err), ES_OK);
    size_t len;
    ck_assert_str_eq(es_results_field(r, 0, "agency", &len), "濮阳市教育局");
    ck_assert_str_eq(es_results_field(r, 0, "docno", &len), "濮教函〔2025〕93号");
    ck_assert_str_eq(es_results_field(r, 0, "date", &len), "2025-06-26");
    ck_assert_str_eq(es_results_field(r, 0, "signer", &len), "葛磊");
    es_results_free(r);
    ck_assert_int_eq(es_index_get(&r, ix, "given", 5, &err), ES_OK);
    ck_assert_str_eq(es_results_field(r, 0, "agency", &len), "自定机关");
    ck_assert_str_eq(es_results_field(r, 0, "date", &len), "2023-01-05");
    es_results_free(r);
    ck_assert_int_eq(es_index_get(&r, ix, "nosuch", 6, &err), ES_ENOTFOUND);
    ck_assert_ptr_null(r);

    char facets[512] = "";
    ck_assert_int_eq(es_index_facet(ix, "agency", facet_cb, facets, &err), ES_OK);
    ck_assert_str_eq(facets, "濮阳市教育局=1;自定机关=1;");
    facets[0] = '\0';
    ck_assert_int_eq(es_index_facet(ix, "year", facet_cb, facets, &err), ES_OK);
    ck_assert_str_eq(facets, "2023=1;2025=1;");
    es_index_free(ix);

    /* the extracted fields are searchable and filterable */
    r = search(&ix, "docno:\"濮教函〔2025〕93号\" date:2025");
    ck_assert_uint_eq(es_results_total(r), 1);
    es_results_free(r);
    es_index_free(ix);
}
END_TEST

static Suite *api_suite(void)
{
    const tu_case cases[] = {
        { "end_to_end", test_api_end_to_end },
        { "replace_delete", test_api_replace_and_delete },
        { "uncommitted_invisible", test_api_uncommitted_is_invisible },
        { "writer_lock", test_api_second_writer_locked },
        { "missing_index", test_api_missing_index },
        { "argument_checks", test_api_argument_checks },
        { "bad_input_text", test_api_bad_input_text },
        { "check_stats", test_api_check_and_stats },
        { "seed_documents", test_api_seed_documents },
        { "fields_get_facets", test_api_fields_get_and_facets },
    };
    Suite *s = suite_create("api");
    tu_add_cases(s, cases, TU_NCASES(cases), setup, teardown, 60);
    return s;
}

int main(void)
{
    return tu_run(api_suite());
}
