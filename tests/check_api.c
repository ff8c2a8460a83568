/*
 * check_api.c: suite "api": the public API end to end, through
 * include/edusearch.h only: create an index, add documents, commit, reopen,
 * search Chinese, read documents back; replace and delete by id; the writer
 * lock; argument checking, options versions and error messages; the index
 * options (the block cache: every size gives the same pages, 8 threads).
 */
#include <edusearch.h>

#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <pthread.h>
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

/* A writer on the test's index (dir) with the default options. */
static es_writer *open_writer(void)
{
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, NULL, NULL), ES_OK);
    return w;
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

/* The total of q in dir (the index opened and freed again). */
static uint64_t total(const char *q)
{
    es_index *ix = NULL;
    es_results *r = search(&ix, q);
    uint64_t n = es_results_total(r);
    es_results_free(r);
    es_index_free(ix);
    return n;
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
    es_writer *w = open_writer();
    add(w, "x", NULL, "义务教育优质均衡");
    add(w, "y", NULL, "义务教育");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    add(w, "x", NULL, "学前教育");            /* replaces the committed x */
    ck_assert_int_eq(es_writer_delete(w, "y", 1), ES_OK);
    ck_assert_int_eq(es_writer_delete(w, "nosuch", 6), ES_OK);
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);

    ck_assert_uint_eq(total("义务教育"), 0);
    es_index *ix = NULL;
    es_results *r = search(&ix, "学前");
    ck_assert_uint_eq(es_results_total(r), 1);
    ck_assert_uint_eq(es_index_doc_count(ix), 1);
    es_results_free(r);
    es_index_free(ix);
}
END_TEST

START_TEST(test_api_uncommitted_is_invisible)
{
    es_writer *w = open_writer();
    add(w, "1", NULL, "教育强国");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    add(w, "2", NULL, "教育强国建设");
    es_writer_free(w);                         /* discards doc 2 */
    ck_assert_uint_eq(total("教育强国"), 1);
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
    es_writer *w = open_writer();
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
    es_writer *w = open_writer();
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
    const char *names[] = { "puyang-2025-93.txt", "xinyang-2024-194.txt" };
    es_writer *w = open_writer();
    for (int i = 0; i < 2; i++) {
        size_t len;
        char *text = tu_read_sample(names[i], &len);
        es_doc *d = NULL;
        ck_assert_int_eq(es_doc_new(&d, names[i], strlen(names[i]), NULL), ES_OK);
        ck_assert_int_eq(es_doc_set_text(d, text, len), ES_OK);
        ck_assert_int_eq(es_writer_add(w, d), ES_OK);
        es_doc_free(d);
        free(text);
    }
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    ck_assert_uint_ge(total("集团化办学"), 1);
    /* the PDF line break inside 教育强国 (puyang) does not hide the phrase */
    es_index *ix = NULL;
    es_results *r = search(&ix, "\"教育强国\"");
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
    es_writer *w = open_writer();
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
    ck_assert_uint_eq(total("docno:\"濮教函〔2025〕93号\" date:2025"), 1);
}
END_TEST

/* ---- threads ------------------------------------------------------------- */

/* The allocation fault hook of lib/base (the tests link the ES_TESTING
 * build): the nth allocation from now on and every later one fail. */
size_t esi_alloc_fail_at(size_t n);

/* One operation of a writer script. */
typedef struct wop {
    enum { OP_ADD, OP_DELETE, OP_COMMIT } kind;
    char id[32];
    char *text;
    size_t len;
    char title[64];
    char date[16];
} wop;

typedef struct wscript {
    wop *ops;
    size_t n, cap;
} wscript;

static wop *push_op(wscript *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->ops = realloc(s->ops, s->cap * sizeof *s->ops);
        ck_assert_ptr_nonnull(s->ops);
    }
    wop *o = &s->ops[s->n++];
    memset(o, 0, sizeof *o);
    return o;
}

static void free_script(wscript *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->ops[i].text);
    free(s->ops);
}

/* Random text: CJK characters of a small set, Latin words, numbers,
 * punctuation and line breaks, so that terms repeat across documents. */
static char *random_text(uint64_t *st, size_t *len)
{
    static const char *const pieces[] = {
        "教", "育", "部", "关", "于", "学", "校", "的", "通", "知", "强", "国",
        "义", "务", "双", "减", "，", "。", "\n", " ", "AI ", "2025", "年",
        "Policy ", "44.8", "第", "号", "（", "）", "〔2025〕", "发", "文",
    };
    size_t n = tu_rand(st) % 400, cap = n * 12 + 1, k = 0;
    char *t = malloc(cap);
    ck_assert_ptr_nonnull(t);
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[tu_rand(st) % (sizeof pieces / sizeof pieces[0])];
        size_t l = strlen(p);
        memcpy(t + k, p, l);
        k += l;
    }
    t[k] = 0;
    *len = k;
    return t;
}

/* A random script: adds (ids reused: replacements), deletes, commits. */
static void random_script(wscript *s, uint64_t *st, size_t nops)
{
    for (size_t i = 0; i < nops; i++) {
        wop *o = push_op(s);
        unsigned r = (unsigned)(tu_rand(st) % 100);
        snprintf(o->id, sizeof o->id, "r%u", (unsigned)(tu_rand(st) % 150));
        if (r < 8) {
            o->kind = OP_DELETE;
        } else if (r < 10) {
            o->kind = OP_COMMIT;
        } else {
            o->kind = OP_ADD;
            o->text = random_text(st, &o->len);
            if (tu_rand(st) % 2)
                snprintf(o->title, sizeof o->title, "关于%u的通知",
                         (unsigned)(tu_rand(st) % 1000));
            if (tu_rand(st) % 3 == 0)
                snprintf(o->date, sizeof o->date, "20%02u-0%u-1%u",
                         (unsigned)(tu_rand(st) % 30), 1 + (unsigned)(tu_rand(st) % 9),
                         (unsigned)(tu_rand(st) % 10));
        }
    }
}

/* Add a script's document through w; returns the writer's status. */
static es_status add_op(es_writer *w, const wop *o)
{
    es_doc *d = NULL;
    ck_assert_int_eq(es_doc_new(&d, o->id, strlen(o->id), NULL), ES_OK);
    ck_assert_int_eq(es_doc_set_text(d, o->text, o->len), ES_OK);
    if (o->title[0])
        ck_assert_int_eq(es_doc_set_field(d, "title", o->title, strlen(o->title)), ES_OK);
    if (o->date[0])
        ck_assert_int_eq(es_doc_set_field(d, "date", o->date, strlen(o->date)), ES_OK);
    es_status rc = es_writer_add(w, d);
    es_doc_free(d);
    return rc;
}

/* Run script s into directory d with the given threads and RAM buffer,
 * then commit and, when optimize, merge everything. */
static void run_script(const char *d, const wscript *s, unsigned threads, size_t ram,
                       bool optimize)
{
    es_writer_options o = ES_WRITER_OPTIONS_INIT;
    o.threads = threads;
    o.ram_buffer_bytes = ram;
    o.fsync = 0;
    es_writer *w = NULL;
    es_error err;
    ck_assert_msg(es_writer_open(&w, d, &o, &err) == ES_OK, "%s", err.message);
    for (size_t i = 0; i < s->n; i++) {
        const wop *op = &s->ops[i];
        es_status rc = op->kind == OP_ADD ? add_op(w, op)
                     : op->kind == OP_DELETE ? es_writer_delete(w, op->id, strlen(op->id))
                     : es_writer_commit(w);
        ck_assert_msg(rc == ES_OK, "%s", es_writer_errmsg(w));
    }
    ck_assert_msg(es_writer_commit(w) == ES_OK, "%s", es_writer_errmsg(w));
    ck_assert_msg(!optimize || es_writer_optimize(w) == ES_OK, "%s", es_writer_errmsg(w));
    es_writer_free(w);
}

/* Every file of directory a (LOCK aside) has the same bytes in b, and b
 * has no other file; returns the number of files compared. */
static size_t same_dirs(const char *a, const char *b)
{
    size_t n = 0, nb = 0;
    DIR *da = opendir(a), *db = opendir(b);
    ck_assert_ptr_nonnull(da);
    ck_assert_ptr_nonnull(db);
    struct dirent *de;
    while ((de = readdir(da)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "LOCK") == 0)
            continue;
        char pa[4096], pb[4096];
        snprintf(pa, sizeof pa, "%s/%s", a, de->d_name);
        snprintf(pb, sizeof pb, "%s/%s", b, de->d_name);
        size_t la = 0, lb = 0;
        char *x = tu_read_file(pa, &la), *y = tu_read_file(pb, &lb);
        ck_assert_msg(x && y, "%s is missing from one index", de->d_name);
        ck_assert_msg(la == lb && memcmp(x, y, la) == 0, "%s differs", de->d_name);
        free(x);
        free(y);
        n++;
    }
    while ((de = readdir(db)) != NULL)
        if (de->d_name[0] != '.' && strcmp(de->d_name, "LOCK") != 0)
            nb++;
    closedir(da);
    closedir(db);
    ck_assert_uint_eq(n, nb);
    return n;
}

/* Run s with threads = 1 and with threads = 4: the same files. */
static void same_with_threads(const wscript *s, size_t ram)
{
    char *d1 = tu_tmpdir(), *d4 = tu_tmpdir();
    run_script(d1, s, 1, ram, true);
    run_script(d4, s, 4, ram, true);
    ck_assert_uint_ge(same_dirs(d1, d4), 3);
    tu_rmrf(d1);
    tu_rmrf(d4);
    free(d1);
    free(d4);
}

/* Property: random scripts of adds, replacements, deletes and commits give
 * byte-identical index files with threads = 1 and threads = 4 (small RAM
 * buffers: flushes and merges happen mid-script). */
START_TEST(test_api_threads_deterministic)
{
    uint64_t st = tu_seed() + (uint64_t)_i * 104729;
    wscript s = { 0 };
    random_script(&s, &st, 300);
    same_with_threads(&s, _i % 2 ? (size_t)64 << 10 : (size_t)64 << 20);
    free_script(&s);
}
END_TEST

/* Collects corpus documents into a script. */
static void corpus_op(const char *id, const char *title, const char *text,
                      size_t len, void *p)
{
    wop *o = push_op(p);
    o->kind = OP_ADD;
    snprintf(o->id, sizeof o->id, "%.31s", id);
    if (title)
        snprintf(o->title, sizeof o->title, "%.63s", title);
    while (o->title[0] && ((unsigned char)o->title[strlen(o->title) - 1] & 0xC0) == 0x80)
        o->title[strlen(o->title) - 1] = 0;   /* cut to whole characters */
    if (o->title[0] && (unsigned char)o->title[strlen(o->title) - 1] >= 0xC0)
        o->title[strlen(o->title) - 1] = 0;
    o->text = malloc(len + 1);
    ck_assert_ptr_nonnull(o->text);
    memcpy(o->text, text, len);
    o->text[len] = 0;
    o->len = len;
}

/* The sample corpus, with threads = 1 and 4: byte-identical files. */
START_TEST(test_api_threads_deterministic_corpus)
{
    if (!tu_corpus_dir()) {
        printf("SKIP: threads_deterministic_corpus: no corpus\n");
        return;
    }
    wscript s = { 0 };
    size_t n = tu_corpus_docs("edu-sample.jsonl", 1000, corpus_op, &s);
    if (n == 0) {
        printf("SKIP: threads_deterministic_corpus: edu-sample.jsonl unreadable\n");
        free_script(&s);
        return;
    }
    same_with_threads(&s, (size_t)1 << 20);
    free_script(&s);
}
END_TEST

/* Replacements and deletes interleaved with queued adds keep their order;
 * version-1 options still open a writer. */
START_TEST(test_api_threads_order)
{
    es_writer_options o;
    ck_assert_int_eq(es_writer_options_init(&o, 1), ES_OK);
    ck_assert_uint_eq(o.version, 1);
    ck_assert_int_eq(es_writer_options_init(&o, ES_WRITER_OPTIONS_VERSION), ES_OK);
    ck_assert_uint_eq(o.threads, 0);
    o.threads = 4;
    o.fsync = 0;
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, &o, NULL), ES_OK);
    char id[16], text[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 60; i++) {
            snprintf(id, sizeof id, "d%d", i);
            snprintf(text, sizeof text, "第%d轮 教育 编号%d", round, i);
            add(w, id, NULL, text);
            if (i % 3 == 0)
                ck_assert_int_eq(es_writer_delete(w, id, strlen(id)), ES_OK);
        }
    }
    add(w, "d0", NULL, "最后 教育");   /* re-added after its delete */
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    ck_assert_uint_eq(total("教育"), 41);         /* 40 survivors + d0 */
    ck_assert_uint_eq(total("\"第2轮\""), 40);
    ck_assert_uint_eq(total("\"第1轮\""), 0);     /* all replaced */
    ck_assert_uint_eq(total("最后"), 1);
    /* a version-1 options struct (no threads field) opens a writer */
    es_writer_options v1;
    ck_assert_int_eq(es_writer_options_init(&v1, 1), ES_OK);
    ck_assert_int_eq(es_writer_open(&w, dir, &v1, NULL), ES_OK);
    ck_assert_int_eq(es_writer_optimize(w), ES_OK);
    es_writer_free(w);
}
END_TEST

/* Index the position-pair test's documents into dir/sub with pairs[0..n)
 * (opts of version v); its postings bytes. */
static uint64_t pairs_index(const char *sub, unsigned v, const char *const *pairs, size_t n)
{
    char path[4096], text[512];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    es_writer_options o;
    ck_assert_int_eq(es_writer_options_init(&o, v), ES_OK);
    o.fsync = 0;
    if (v >= 3) {
        o.position_pairs = pairs;
        o.nposition_pairs = n;
    }
    es_writer *w = NULL;
    es_error err;
    ck_assert_msg(es_writer_open(&w, path, &o, &err) == ES_OK, "%s", err.message);
    for (int i = 0; i < 40; i++) {
        char id[16];
        size_t k = (size_t)snprintf(text, sizeof text, "第%d条 课程", i);
        static const char *const num[] = { "一", "二", "三", "四", "五", "六", "七" };
        for (int j = 0; j <= i % 7; j++)
            k += (size_t)snprintf(text + k, sizeof text - k, "第二十%s条规定课程第二%s。",
                                  num[j], j % 2 ? "课" : "");
        snprintf(id, sizeof id, "d%d", i);
        add(w, id, NULL, text);
    }
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_index *ix = NULL;
    es_stats st = { .version = ES_STATS_VERSION };
    ck_assert_int_eq(es_index_open(&ix, path, NULL), ES_OK);
    ck_assert_int_eq(es_index_stats(ix, &st), ES_OK);
    es_index_free(ix);
    return st.bytes_postings;
}

/* The hits of q in dir/sub: "id score" lines into out. */
static void pairs_hits(const char *sub, const char *q, char *out, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    es_index *ix = NULL;
    es_query *query = NULL;
    es_results *r = NULL;
    ck_assert_int_eq(es_index_open(&ix, path, NULL), ES_OK);
    ck_assert_int_eq(es_query_parse(&query, q, strlen(q), NULL), ES_OK);
    es_search_options so = ES_SEARCH_OPTIONS_INIT;
    so.limit = 50;
    so.snippets = 0;
    ck_assert_int_eq(es_search(&r, ix, query, &so, NULL), ES_OK);
    size_t k = (size_t)snprintf(out, cap, "%llu:", (unsigned long long)es_results_total(r));
    for (size_t i = 0; i < es_results_count(r) && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, " %s %.17g", es_results_id(r, i, NULL),
                              es_results_score(r, i));
    es_results_free(r);
    es_query_free(query);
    es_index_free(ix);
}

/* es_writer_options.position_pairs: an entry that is not two CJK
 * characters is refused, naming it; a list in Traditional and full-width
 * forms names the pairs of the normalized text (their positions make the
 * postings larger); a version-2 struct gets the built-in list; and the
 * results never depend on the list: no pairs with positions, the built-in
 * list and another list give the same hits with the same scores. */
START_TEST(test_api_position_pairs)
{
    es_writer_options o;
    es_writer *w = NULL;
    es_error err;
    ck_assert_int_eq(es_writer_options_init(&o, ES_WRITER_OPTIONS_VERSION), ES_OK);
    ck_assert_ptr_null(o.position_pairs);
    ck_assert_uint_eq(o.nposition_pairs, 0);
    static const char *const bad[] = { "第", "第二十", "ab", "第2", "", "第二三", NULL };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *list[2] = { "第二", bad[i] };
        o.position_pairs = list;
        o.nposition_pairs = 2;
        ck_assert_int_eq(es_writer_open(&w, dir, &o, &err), ES_EINVAL);
        ck_assert_ptr_null(w);
        ck_assert_msg(strstr(err.message, "position_pairs[1]") &&
                      strstr(err.message, bad[i] ? bad[i] : "NULL"), "%s", err.message);
    }
    o.position_pairs = NULL;
    o.nposition_pairs = 1;
    ck_assert_int_eq(es_writer_open(&w, dir, &o, &err), ES_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "nposition_pairs"));

    static const char *const none[] = { NULL };
    static const char *const mine[] = { "課程", "\xef\xbc\x8e第\xe3\x80\x80二" };
    /* an allocation failure anywhere in opening a writer with a list (its
     * pair table among the rest) is ES_ENOMEM and leaks nothing */
    char oom[4096];
    snprintf(oom, sizeof oom, "%s/oom", dir);
    o.position_pairs = mine;
    o.nposition_pairs = 2;
    size_t k = 1;
    for (;; k++) {
        esi_alloc_fail_at(k);
        es_status rc = es_writer_open(&w, oom, &o, &err);
        esi_alloc_fail_at(0);
        if (rc == ES_OK)
            break;
        ck_assert_msg(rc == ES_ENOMEM, "allocation %zu: %d %s", k, rc, err.message);
        ck_assert_ptr_null(w);
    }
    es_writer_free(w);
    ck_assert_uint_gt(k, 8);           /* the opens before it failed */
    uint64_t b_none = pairs_index("none", 3, none, 0);
    uint64_t b_builtin = pairs_index("builtin", 3, NULL, 0);
    uint64_t b_mine = pairs_index("mine", 3, mine, 2);
    uint64_t b_v2 = pairs_index("v2", 2, NULL, 0);
    ck_assert_uint_gt(b_builtin, b_none);      /* 第二, 二十, 十二 … have positions */
    ck_assert_uint_gt(b_mine, b_none);         /* 课程 and 第二 have */
    ck_assert_uint_ne(b_mine, b_builtin);      /* the list given is the one used */
    ck_assert_uint_eq(b_v2, b_builtin);
    static const char *const qs[] = { "\"课程第二\"", "\"第二十三条\"", "\"二十\"", "课程",
                                      "\"条规定课程第二课\"", "\"程第二十\" -\"十五条\"",
                                      "第二十 课程" };
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        char want[8192], got[8192];
        pairs_hits("none", qs[i], want, sizeof want);
        ck_assert_msg(strncmp(want, "0:", 2), "%s finds nothing", qs[i]);
        pairs_hits("builtin", qs[i], got, sizeof got);
        ck_assert_str_eq(got, want);
        pairs_hits("mine", qs[i], got, sizeof got);
        ck_assert_str_eq(got, want);
    }
}
END_TEST

/* Text of document i of the worker tests: about 2.5 KB. */
static void worker_text(char *text, size_t cap, int i)
{
    size_t n = (size_t)snprintf(text, cap, "教育部关于第%d号文件的通知。", i);
    while (n < 2500 && n + 64 < cap)
        n += (size_t)snprintf(text + n, cap - n, "义务教育学校第%d条。", i);
}

/* Allocation failures while documents are queued: each call returns ES_OK
 * or ES_ENOMEM, a worker's failure comes back from a later call naming the
 * document, nothing crashes or leaks, and the index stays at a commit. */
START_TEST(test_api_threads_worker_enomem)
{
    es_writer_options o = ES_WRITER_OPTIONS_INIT;
    o.threads = 2;
    o.fsync = 0;
    bool named = false;
    for (size_t k = 1; k < 400; k += 7) {
        es_writer *w = NULL;
        ck_assert_int_eq(es_writer_open(&w, dir, &o, NULL), ES_OK);
        /* texts of at least SMALL_DOC (2 KiB, writer.c), so that they go
         * to the workers rather than the caller's thread */
        char id[16], text[4096];
        for (int i = 0; i < 4; i++) {
            snprintf(id, sizeof id, "w%d", i);
            worker_text(text, sizeof text, i);
            add(w, id, "通知", text);
        }
        esi_alloc_fail_at(k);
        es_status rc = ES_OK;
        for (int i = 4; i < 24; i++) {
            snprintf(id, sizeof id, "w%d", i);
            worker_text(text, sizeof text, i);
            es_doc *d = NULL;
            if (es_doc_new(&d, id, strlen(id), NULL) != ES_OK)
                continue;   /* the fault hit the test's own document */
            if (es_doc_set_text(d, text, strlen(text)) == ES_OK) {
                rc = es_writer_add(w, d);
                ck_assert_msg(rc == ES_OK || rc == ES_ENOMEM, "%d: %s", rc,
                              es_writer_errmsg(w));
                if (rc == ES_ENOMEM && strstr(es_writer_errmsg(w), "document 'w") &&
                    strstr(es_writer_errmsg(w), "not added"))
                    named = true;
            }
            es_doc_free(d);
        }
        esi_alloc_fail_at(0);
        rc = es_writer_commit(w);
        if (rc == ES_ENOMEM && strstr(es_writer_errmsg(w), "not added")) {
            named = true;
            rc = es_writer_commit(w);   /* commits the others */
        }
        ck_assert_msg(rc == ES_OK || rc == ES_ENOMEM, "%d: %s", rc, es_writer_errmsg(w));
        es_writer_free(w);
        es_index *ix = NULL;
        ck_assert_int_eq(es_index_open(&ix, dir, NULL), ES_OK);
        ck_assert_uint_le(es_index_doc_count(ix), 24);
        es_index_free(ix);
    }
    ck_assert_msg(named, "no worker failure was reported with its document");
}
END_TEST

/* Freeing a writer while its workers are busy discards the queue. */
START_TEST(test_api_threads_free_busy)
{
    es_writer_options o = ES_WRITER_OPTIONS_INIT;
    o.threads = 4;
    o.fsync = 0;
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, &o, NULL), ES_OK);
    add(w, "kept", NULL, "已提交 教育");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    size_t len = 200000;
    char *text = malloc(len + 1);
    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; i + 3 <= len; i += 3)
        memcpy(text + i, i % 9 ? "育" : "教", 3);
    text[len - len % 3] = 0;
    for (int i = 0; i < 12; i++) {
        char id[16];
        snprintf(id, sizeof id, "busy%d", i);
        add(w, id, NULL, text);
    }
    es_writer_free(w);   /* workers still analyzing */
    free(text);
    es_index *ix = NULL;
    ck_assert_int_eq(es_index_open(&ix, dir, NULL), ES_OK);
    ck_assert_uint_eq(es_index_doc_count(ix), 1);
    es_index_free(ix);
}
END_TEST

/* ---- the index options: the block cache ---------------------------------- */

static const char *const cache_queries[] = { "教育", "\"学校\"", "规定 -安全",
                                             "title:通知", "第十条", "教师 OR 学生" };
#define NCQ (sizeof cache_queries / sizeof *cache_queries)

/* An index of 150 documents whose bodies run from a few bytes to ~40 KB
 * (so their store has many blocks), in two segments. */
static void cache_corpus(void)
{
    static const char *const parts[] = { "教育部关于学校安全的规定。", "教师与学生，第十条。",
                                         "各地要加强管理", "义务教育阶段的通知；",
                                         "title and text 2025 " };
    es_writer *w = open_writer();
    uint64_t st = 20251124;
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    for (int k = 0; k < 150; k++) {
        size_t n = 0, want = tu_rand(&st) % 4 ? tu_rand(&st) % 2000
                                               : tu_rand(&st) % 40000;
        while (n < want) {
            const char *p = parts[tu_rand(&st) % 5];
            size_t l = strlen(p);
            if (n + l + 1 > cap)
                break;
            memcpy(text + n, p, l);
            n += l;
        }
        text[n] = 0;
        char id[32], title[64];
        snprintf(id, sizeof id, "doc%03d", k);
        snprintf(title, sizeof title, "%s第%d号", k % 3 ? "通知" : "意见", k);
        add(w, id, title, text);
        if (k == 90)
            ck_assert_int_eq(es_writer_commit(w), ES_OK);
    }
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    free(text);
}

/* Everything a page of results says, as one string. */
static char *page_dump(es_index *ix, const char *q, size_t offset)
{
    es_query *pq = NULL;
    es_error err;
    ck_assert_msg(es_query_parse(&pq, q, strlen(q), &err) == ES_OK, "%s", err.message);
    es_search_options so = ES_SEARCH_OPTIONS_INIT;
    so.offset = offset;
    so.limit = 20;
    es_results *r = NULL;
    ck_assert_msg(es_search(&r, ix, pq, &so, &err) == ES_OK, "%s", err.message);
    es_query_free(pq);
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    n += (size_t)snprintf(out + n, cap - n, "total %llu\n",
                          (unsigned long long)es_results_total(r));
    for (size_t i = 0; i < es_results_count(r); i++) {
        size_t tl, sl;
        const char *t = es_results_text(r, i, &tl);
        const char *sn = es_results_snippet(r, i, &sl);
        ck_assert_int_eq(t[tl], 0);
        ck_assert_int_eq(sn[sl], 0);
        const char *fname, *fval;
        ck_assert_int_eq(es_results_field_at(r, i, 0, &fname, &fval, NULL), ES_OK);
        /* the text by length and a checksum, to keep the dump small */
        uint64_t h = 1469598103934665603u;
        for (size_t k = 0; k < tl; k++)
            h = (h ^ (unsigned char)t[k]) * 1099511628211u;
        n += (size_t)snprintf(out + n, cap - n, "%s %.6f %zu %llx %s=%s %.*s\n",
                              es_results_id(r, i, NULL), es_results_score(r, i), tl,
                              (unsigned long long)h, fname, fval, (int)sl, sn);
        const es_range *m;
        size_t nm = es_results_matches(r, i, &m);
        for (size_t k = 0; k < nm; k++)
            n += (size_t)snprintf(out + n, cap - n, " [%zu,%zu)", m[k].start, m[k].end);
        ck_assert_uint_lt(n, cap);
    }
    es_results_free(r);
    return out;
}

/* Options: init by version, the INIT macro, a bad version, NULL opts. */
START_TEST(test_api_index_options)
{
    cache_corpus();
    es_index_options o, m = ES_INDEX_OPTIONS_INIT;
    ck_assert_int_eq(es_index_options_init(&o, ES_INDEX_OPTIONS_VERSION), ES_OK);
    ck_assert_uint_eq(o.version, ES_INDEX_OPTIONS_VERSION);
    ck_assert_uint_eq(o.cache_bytes, m.cache_bytes);
    ck_assert_uint_gt(o.cache_bytes, 0);
    ck_assert_uint_eq(o.search_threads, 0);
    /* a version 1 struct: no search_threads, which is not touched */
    o.search_threads = 77;
    ck_assert_int_eq(es_index_options_init(&o, 1), ES_OK);
    ck_assert_uint_eq(o.version, 1);
    ck_assert_uint_eq(o.search_threads, 77);
    ck_assert_int_eq(es_index_options_init(&o, 99), ES_EINVAL);
    ck_assert_int_eq(es_index_options_init(NULL, ES_INDEX_OPTIONS_VERSION), ES_EINVAL);
    es_index *ix = (es_index *)&o;
    es_error err;
    es_index_options bad = ES_INDEX_OPTIONS_INIT;
    bad.version = 7;
    ck_assert_int_eq(es_index_open_opts(&ix, dir, &bad, &err), ES_EINVAL);
    ck_assert_ptr_null(ix);
    ck_assert_ptr_nonnull(strstr(err.message, "ES_INDEX_OPTIONS_INIT"));
    ck_assert_int_eq(es_index_open_opts(NULL, dir, NULL, &err), ES_EINVAL);
    ck_assert_int_eq(es_index_open_opts(&ix, NULL, NULL, &err), ES_EINVAL);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nothing", dir);
    ck_assert_int_eq(es_index_open_opts(&ix, missing, &m, &err), ES_ENOTFOUND);
    ck_assert_int_eq(es_index_open_opts(&ix, dir, NULL, &err), ES_OK);
    ck_assert_uint_eq(es_index_doc_count(ix), 150);
    es_index_free(ix);
}
END_TEST

/* Every cache size (none, smaller than a block, a few blocks, the default)
 * gives the same pages, fetched twice, across segments and pages. */
START_TEST(test_api_cache_sizes_agree)
{
    cache_corpus();
    static const size_t sizes[] = { 0, 1, 150000, (size_t)64 << 20 };
    char *want[NCQ][2];
    memset(want, 0, sizeof want);
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        es_index_options o = ES_INDEX_OPTIONS_INIT;
        o.cache_bytes = sizes[z];
        es_index *ix = NULL;
        es_error err;
        ck_assert_msg(es_index_open_opts(&ix, dir, &o, &err) == ES_OK, "%s", err.message);
        for (int rep = 0; rep < 2; rep++)
            for (size_t q = 0; q < NCQ; q++)
                for (size_t pg = 0; pg < 2; pg++) {
                    char *got = page_dump(ix, cache_queries[q], pg * 20);
                    if (!want[q][pg]) {
                        want[q][pg] = got;
                        continue;
                    }
                    ck_assert_msg(strcmp(got, want[q][pg]) == 0,
                                  "cache %zu: %s page %zu differs", sizes[z],
                                  cache_queries[q], pg);
                    free(got);
                }
        es_results *r = NULL;
        ck_assert_int_eq(es_index_get(&r, ix, "doc077", 6, &err), ES_OK);
        ck_assert_str_eq(es_results_id(r, 0, NULL), "doc077");
        es_results_free(r);
        es_index_free(ix);
    }
    ck_assert_ptr_nonnull(strstr(want[0][0], "doc"));
    for (size_t q = 0; q < NCQ; q++)
        for (size_t pg = 0; pg < 2; pg++)
            free(want[q][pg]);
}
END_TEST

/* Every search_threads (the caller's only, two, five; a version 1 struct,
 * which gets the default) gives the same pages and totals, snippets and
 * match ranges included (built by two threads when a worker is idle). */
START_TEST(test_api_search_threads_agree)
{
    cache_corpus();
    static const unsigned threads[] = { 1, 2, 5, 0 };
    char *want[NCQ];
    memset(want, 0, sizeof want);
    for (size_t z = 0; z < sizeof threads / sizeof *threads; z++) {
        es_index_options o = ES_INDEX_OPTIONS_INIT;
        o.search_threads = threads[z];
        if (threads[z] == 0)
            o.version = 1;
        es_index *ix = NULL;
        es_error err;
        ck_assert_msg(es_index_open_opts(&ix, dir, &o, &err) == ES_OK, "%s", err.message);
        for (size_t q = 0; q < NCQ; q++) {
            char *got = page_dump(ix, cache_queries[q], 0);
            if (!want[q]) {
                want[q] = got;
                continue;
            }
            ck_assert_msg(strcmp(got, want[q]) == 0, "search_threads %u: %s differs",
                          threads[z], cache_queries[q]);
            free(got);
        }
        es_index_free(ix);
    }
    for (size_t q = 0; q < NCQ; q++)
        free(want[q]);
}
END_TEST

/* 8 threads searching one index with a small cache (always evicting) see
 * exactly the single-thread pages, text included. */
static es_index *thr_ix;
static char *thr_want[NCQ];

static void *cache_searcher(void *p)
{
    int *fails = p;
    for (int rep = 0; rep < 4; rep++)
        for (size_t q = 0; q < NCQ; q++) {
            char *got = page_dump(thr_ix, cache_queries[(q + rep) % NCQ], 0);
            *fails += strcmp(got, thr_want[(q + rep) % NCQ]) != 0;
            free(got);
        }
    return NULL;
}

START_TEST(test_api_cache_threads)
{
    cache_corpus();
    es_index_options o = ES_INDEX_OPTIONS_INIT;
    o.cache_bytes = 200000;
    ck_assert_int_eq(es_index_open_opts(&thr_ix, dir, &o, NULL), ES_OK);
    for (size_t q = 0; q < NCQ; q++)
        thr_want[q] = page_dump(thr_ix, cache_queries[q], 0);
    pthread_t th[8];
    int fails[8] = { 0 };
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, cache_searcher, &fails[i]), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(fails[i], 0);
    for (size_t q = 0; q < NCQ; q++)
        free(thr_want[q]);
    es_index_free(thr_ix);
}
END_TEST

/* ---- es_index_reopen ------------------------------------------------------ */

static es_stats stats_of(const es_index *ix)
{
    es_stats st = { .version = ES_STATS_VERSION };
    ck_assert_int_eq(es_index_stats(ix, &st), ES_OK);
    return st;
}

/* Reopening gives NULL while nothing was committed, then a snapshot of the
 * newest commit that shares the old one's block cache (the blocks of the
 * segments both hold are hits, not decompressed again) and outlives it;
 * the old snapshot is unchanged. Stats of version 1 stop at text_bytes. */
START_TEST(test_api_reopen)
{
    cache_corpus();
    es_index *ix = NULL, *nx = NULL;
    es_error err;
    ck_assert_int_eq(es_index_open(&ix, dir, NULL), ES_OK);
    ck_assert_int_eq(es_index_reopen(ix, &nx, &err), ES_OK);
    ck_assert_ptr_null(nx);                             /* nothing new */
    for (int k = 0; k < 150; k++) {                     /* every block cached */
        char id[16];
        es_results *g = NULL;
        snprintf(id, sizeof id, "doc%03d", k);
        ck_assert_int_eq(es_index_get(&g, ix, id, strlen(id), &err), ES_OK);
        es_results_free(g);
    }
    es_stats s0 = stats_of(ix);
    ck_assert_uint_gt(s0.cache_misses, 0);
    ck_assert_uint_gt(s0.cache_bytes, 0);
    ck_assert_uint_eq(s0.cache_budget, (uint64_t)64 << 20);

    es_writer *w = open_writer();                       /* a new commit */
    add(w, "reopen-new", "新的安排", "量子计算机进入课堂");   /* no cache query */
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    ck_assert_int_eq(es_index_reopen(ix, &nx, &err), ES_OK);
    ck_assert_ptr_nonnull(nx);
    ck_assert_uint_eq(es_index_doc_count(nx), es_index_doc_count(ix) + 1);
    ck_assert_uint_gt(stats_of(nx).generation, stats_of(ix).generation);
    ck_assert_uint_eq(stats_of(nx).segments, stats_of(ix).segments + 1);
    es_results *r = NULL;
    es_query *q = NULL;
    ck_assert_int_eq(es_query_parse(&q, "量子计算机", strlen("量子计算机"), &err), ES_OK);
    ck_assert_int_eq(es_search(&r, ix, q, NULL, &err), ES_OK);
    ck_assert_uint_eq(es_results_total(r), 0);          /* the old snapshot */
    es_results_free(r);

    /* the old segments' blocks are in the shared cache: no new misses */
    for (size_t k = 0; k < NCQ; k++)
        free(page_dump(nx, cache_queries[k], 0));
    es_stats s1 = stats_of(nx);
    ck_assert_uint_eq(s1.cache_misses, s0.cache_misses);
    ck_assert_uint_gt(s1.cache_hits, s0.cache_hits);
    ck_assert_uint_eq(stats_of(ix).cache_hits, s1.cache_hits);   /* one cache */

    es_index_free(ix);                                  /* the new one goes on */
    ck_assert_int_eq(es_search(&r, nx, q, NULL, &err), ES_OK);
    ck_assert_uint_eq(es_results_total(r), 1);
    ck_assert_str_eq(es_results_id(r, 0, NULL), "reopen-new");
    ck_assert_ptr_nonnull(strstr(es_results_text(r, 0, NULL), "量子计算机"));
    es_results_free(r);
    es_query_free(q);
    es_index *again = (es_index *)1;
    ck_assert_int_eq(es_index_reopen(nx, &again, &err), ES_OK);
    ck_assert_ptr_null(again);

    ck_assert_int_eq(es_index_reopen(NULL, &again, &err), ES_EINVAL);
    ck_assert_int_eq(es_index_reopen(nx, NULL, &err), ES_EINVAL);
    es_stats v1 = { .version = 1 };
    v1.cache_hits = 12345;                              /* not a v1 field */
    ck_assert_int_eq(es_index_stats(nx, &v1), ES_OK);
    ck_assert_uint_eq(v1.cache_hits, 12345);
    ck_assert_uint_eq(v1.documents, es_index_doc_count(nx));
    es_stats v3 = { .version = ES_STATS_VERSION + 1 };
    ck_assert_int_eq(es_index_stats(nx, &v3), ES_EINVAL);
    es_index_free(nx);
}
END_TEST

/* Property: after each commit of a random script (adds that replace ids,
 * deletes, small flushes and merges, one optimize), the snapshot
 * es_index_reopen makes from the one before answers every query exactly as
 * a snapshot opened anew: totals, ids, scores, text checksums, snippets
 * and ranges (page_dump), though it inherits a cache filled by older
 * commits' segments. */
START_TEST(test_api_reopen_equals_open)
{
    static const char *const qs[] = { "教育", "\"学校\"", "通知 OR 2025", "教 -双减",
                                      "Policy*", "第 号", "title:标题1" };
    uint64_t seed = tu_seed(), st = seed;
    es_writer_options wo = ES_WRITER_OPTIONS_INIT;
    wo.ram_buffer_bytes = 16 << 10;    /* many small segments, many merges */
    wo.fsync = 0;
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, &wo, NULL), ES_OK);
    add(w, "first", "标题0", "教育部关于学校的通知");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_index *cur = NULL;
    uint64_t max_segs = 0;
    ck_assert_int_eq(es_index_open(&cur, dir, NULL), ES_OK);
    for (int round = 0; round < 10; round++) {
        for (int k = 0; k < 25; k++) {
            char id[16], title[32];
            unsigned r = (unsigned)(tu_rand(&st) % 100);
            snprintf(id, sizeof id, "r%u", (unsigned)(tu_rand(&st) % 60));
            if (r < 15) {
                ck_assert_int_eq(es_writer_delete(w, id, strlen(id)), ES_OK);
                continue;
            }
            size_t len;
            char *text = random_text(&st, &len);
            snprintf(title, sizeof title, "标题%u", (unsigned)(tu_rand(&st) % 5));
            add(w, id, title, text);
            free(text);
        }
        ck_assert_int_eq(round == 6 ? es_writer_optimize(w) : es_writer_commit(w), ES_OK);
        es_index *nx = NULL, *fresh = NULL;
        ck_assert_int_eq(es_index_reopen(cur, &nx, NULL), ES_OK);
        ck_assert_msg(nx != NULL, "seed %llu round %d: nothing new", (unsigned long long)seed,
                      round);
        ck_assert_int_eq(es_index_open(&fresh, dir, NULL), ES_OK);
        ck_assert_uint_eq(es_index_doc_count(nx), es_index_doc_count(fresh));
        if (stats_of(nx).segments > max_segs)
            max_segs = stats_of(nx).segments;
        for (size_t q = 0; q < sizeof qs / sizeof *qs; q++) {
            char *a = page_dump(nx, qs[q], 0), *b = page_dump(fresh, qs[q], 0);
            ck_assert_msg(strcmp(a, b) == 0, "seed %llu round %d %s: reopened\n%s\nopened\n%s",
                          (unsigned long long)seed, round, qs[q], a, b);
            free(a);
            free(b);
        }
        es_index_free(cur);
        es_index_free(fresh);
        cur = nx;
    }
    es_writer_free(w);
    ck_assert_uint_gt(stats_of(cur).cache_hits, 0);   /* reopened snapshots used the cache */
    ck_assert_uint_gt(max_segs, 2);          /* segments outlived commits */
    es_index_free(cur);
}
END_TEST

/* An index removed and built again in the same directory, up to the same
 * generation number and segment file names: reopen sees it is another
 * commit (the MANIFEST file is another file), and the new snapshot, which
 * shares the old cache, never reads the old text from it (blocks are keyed
 * by the store file's length and crc32 too). */
START_TEST(test_api_reopen_recreated)
{
    es_writer *w = open_writer();
    add(w, "a", "旧标题", "旧的正文：集团化办学的第一份文件。");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_index *ix = NULL, *nx = NULL;
    ck_assert_int_eq(es_index_open(&ix, dir, NULL), ES_OK);
    es_results *r = NULL;
    ck_assert_int_eq(es_index_get(&r, ix, "a", 1, NULL), ES_OK);   /* cached */
    ck_assert_ptr_nonnull(strstr(es_results_text(r, 0, NULL), "旧的正文"));
    es_results_free(r);
    tu_rmrf(dir);
    w = open_writer();                 /* the same file names, other bytes */
    add(w, "a", "新标题", "新的正文：课后服务的第一份文件，更长一些。");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    ck_assert_int_eq(es_index_reopen(ix, &nx, NULL), ES_OK);
    ck_assert_msg(nx != NULL, "reopen missed an index built again with the same "
                  "generation number");
    ck_assert_uint_eq(stats_of(ix).generation, stats_of(nx).generation);   /* the trap */
    ck_assert_int_eq(es_index_get(&r, nx, "a", 1, NULL), ES_OK);
    ck_assert_msg(strstr(es_results_text(r, 0, NULL), "新的正文") != NULL, "%s",
                  es_results_text(r, 0, NULL));
    ck_assert_str_eq(es_results_field(r, 0, "title", NULL), "新标题");
    es_results_free(r);
    es_index_free(nx);
    es_index_free(ix);
}
END_TEST

/* Out of memory at any allocation of es_index_reopen: ES_ENOMEM, no
 * snapshot, nothing leaked (LeakSanitizer in CI), and the old snapshot and
 * the shared cache go on working; with memory, the reopen succeeds. */
START_TEST(test_api_reopen_out_of_memory)
{
    es_writer *w = open_writer();
    add(w, "one", "通知", "义务教育 集团化办学");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_index *ix = NULL, *nx = NULL;
    ck_assert_int_eq(es_index_open(&ix, dir, NULL), ES_OK);
    add(w, "two", "通知", "课后服务 集团化办学");
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    es_writer_free(w);
    es_status rc = ES_ENOMEM;
    size_t k = 1;
    for (; rc == ES_ENOMEM && k < 10000; k++) {
        es_error err;
        nx = (es_index *)1;
        esi_alloc_fail_at(k);
        rc = es_index_reopen(ix, &nx, &err);
        esi_alloc_fail_at(0);
        if (rc == ES_ENOMEM) {
            ck_assert_ptr_null(nx);
            ck_assert_ptr_nonnull(strstr(err.message, "memory"));
            free(page_dump(ix, "集团化办学", 0));     /* ix unharmed */
        }
    }
    ck_assert_msg(rc == ES_OK, "reopen: %d after %zu allocations", rc, k);
    ck_assert_uint_gt(k, 2);                          /* some did fail */
    ck_assert_ptr_nonnull(nx);
    ck_assert_uint_eq(es_index_doc_count(nx), 2);
    es_index_free(ix);
    char *got = page_dump(nx, "集团化办学", 0);
    ck_assert_msg(!strncmp(got, "total 2\n", 8), "%s", got);
    free(got);
    es_index_free(nx);
}
END_TEST

/* Searches on a snapshot in 4 threads while the main thread commits,
 * reopens and searches the new snapshots (which share the cache and the
 * worker threads): every page is the one of its own snapshot. */
static void *reopen_searcher(void *p)
{
    int *fails = p;
    for (int rep = 0; rep < 3; rep++)
        for (size_t q = 0; q < NCQ; q++) {
            char *got = page_dump(thr_ix, cache_queries[q], 0);
            *fails += strcmp(got, thr_want[q]) != 0;
            free(got);
        }
    return NULL;
}

START_TEST(test_api_reopen_threads)
{
    cache_corpus();
    es_index_options o = ES_INDEX_OPTIONS_INIT;
    o.cache_bytes = 200000;                             /* always evicting */
    ck_assert_int_eq(es_index_open_opts(&thr_ix, dir, &o, NULL), ES_OK);
    for (size_t q = 0; q < NCQ; q++)
        thr_want[q] = page_dump(thr_ix, cache_queries[q], 0);
    pthread_t th[4];
    int fails[4] = { 0 };
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, reopen_searcher, &fails[i]), 0);
    es_index *cur = thr_ix;
    for (int c = 0; c < 3; c++) {
        es_writer *w = open_writer();
        char id[16];
        snprintf(id, sizeof id, "late%d", c);
        add(w, id, "补充通知", "教育 学校 规定 第十条");
        ck_assert_int_eq(es_writer_commit(w), ES_OK);
        es_writer_free(w);
        es_index *nx = NULL;
        ck_assert_int_eq(es_index_reopen(cur, &nx, NULL), ES_OK);
        ck_assert_ptr_nonnull(nx);
        ck_assert_uint_eq(es_index_doc_count(nx), es_index_doc_count(thr_ix) + 1 + c);
        for (size_t q = 0; q < NCQ; q++)
            free(page_dump(nx, cache_queries[q], 0));
        if (cur != thr_ix)
            es_index_free(cur);
        cur = nx;
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(fails[i], 0);
    es_index_free(thr_ix);
    char *got = page_dump(cur, "title:补充通知", 0);   /* after the first is gone */
    ck_assert_msg(!strncmp(got, "total 3\n", 8) && strstr(got, "late2"), "%s", got);
    free(got);
    es_index_free(cur);
    for (size_t q = 0; q < NCQ; q++)
        free(thr_want[q]);
}
END_TEST

/* What es_index_documents gave: per id (r0..r149) how often, and whether
 * text, title and date were those of the model's op (a title or date the
 * op does not give may be recognized in the text). */
typedef struct walked {
    const wop *want[150];
    unsigned seen[150];
    size_t calls, stop_after;
    bool wrong;
} walked;

/* es_doc_cb: check one document against the model. */
static int walk_doc(const es_results *r, void *p)
{
    walked *w = p;
    size_t len, tl, dl;
    const char *id = es_results_id(r, 0, &len), *text = es_results_text(r, 0, &tl);
    const char *title = es_results_field(r, 0, "title", NULL);
    const char *date = es_results_field(r, 0, "date", &dl);
    unsigned k = len > 1 && id[0] == 'r' ? (unsigned)atoi(id + 1) : 150;
    const wop *o = k < 150 ? w->want[k] : NULL;
    if (!o || es_results_count(r) != 1 || tl != o->len || memcmp(text, o->text, tl) ||
        (o->title[0] && strcmp(title ? title : "", o->title)) ||
        (o->date[0] && (!date || dl != strlen(o->date) || memcmp(date, o->date, dl))))
        w->wrong = true;
    if (k < 150)
        w->seen[k]++;
    return ++w->calls == w->stop_after;
}

/* es_index_documents against the model of a random writer script (adds
 * that replace, deletes, commits; a 64 KiB buffer, so several segments and
 * deletions in old ones): every live document exactly once, with its text,
 * title and date; a callback returning non-zero stops at once (ES_OK);
 * NULL arguments are ES_EINVAL; an allocation failure at each point gives
 * ES_ENOMEM, then the walk succeeds. */
START_TEST(test_api_documents)
{
    uint64_t st = tu_seed();
    wscript sc = { 0 };
    random_script(&sc, &st, 400);
    run_script(dir, &sc, 1, (size_t)64 << 10, false);
    walked w = { 0 };
    size_t live = 0;
    for (size_t i = 0; i < sc.n; i++) {
        unsigned k = (unsigned)atoi(sc.ops[i].id + 1);
        if (sc.ops[i].kind == OP_ADD)
            w.want[k] = &sc.ops[i];
        else if (sc.ops[i].kind == OP_DELETE)
            w.want[k] = NULL;
    }
    for (unsigned k = 0; k < 150; k++)
        live += w.want[k] != NULL;
    es_index *ix = NULL;
    es_error err;
    ck_assert_int_eq(es_index_open(&ix, dir, &err), ES_OK);
    es_stats stt = stats_of(ix);
    ck_assert_uint_gt(stt.segments, 1);
    ck_assert_uint_gt(stt.deleted, 0);
    ck_assert_int_eq(es_index_documents(ix, walk_doc, &w, &err), ES_OK);
    ck_assert(!w.wrong);
    ck_assert_uint_eq(w.calls, live);
    for (unsigned k = 0; k < 150; k++)
        ck_assert_uint_eq(w.seen[k], w.want[k] != NULL);
    /* stop after 3 */
    memset(w.seen, 0, sizeof w.seen);
    w.calls = 0;
    w.stop_after = 3;
    ck_assert_int_eq(es_index_documents(ix, walk_doc, &w, &err), ES_OK);
    ck_assert_uint_eq(w.calls, 3);
    ck_assert_int_eq(es_index_documents(NULL, walk_doc, &w, &err), ES_EINVAL);
    ck_assert_int_eq(es_index_documents(ix, NULL, &w, &err), ES_EINVAL);
    /* allocation failures */
    es_status rc = ES_ENOMEM;
    size_t k = 1;
    for (; rc == ES_ENOMEM && k < 1000; k++) {
        w.calls = 0;
        w.stop_after = 0;
        esi_alloc_fail_at(k);
        rc = es_index_documents(ix, walk_doc, &w, &err);
        esi_alloc_fail_at(0);
        if (rc == ES_ENOMEM)
            ck_assert_ptr_nonnull(strstr(err.message, "memory"));
    }
    ck_assert_msg(rc == ES_OK, "documents: %d after %zu allocations", rc, k);
    ck_assert_uint_gt(k, 2);
    ck_assert_uint_eq(w.calls, live);
    es_index_free(ix);
    free_script(&sc);
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
        { "threads_deterministic_corpus", test_api_threads_deterministic_corpus },
        { "threads_order", test_api_threads_order },
        { "threads_worker_enomem", test_api_threads_worker_enomem },
        { "threads_free_busy", test_api_threads_free_busy },
        { "index_options", test_api_index_options },
        { "cache_sizes_agree", test_api_cache_sizes_agree },
        { "search_threads_agree", test_api_search_threads_agree },
        { "cache_threads", test_api_cache_threads },
        { "reopen", test_api_reopen },
        { "reopen_threads", test_api_reopen_threads },
        { "reopen_out_of_memory", test_api_reopen_out_of_memory },
        { "reopen_recreated", test_api_reopen_recreated },
        { "reopen_equals_open", test_api_reopen_equals_open },
        { "documents", test_api_documents },
        { "position_pairs", test_api_position_pairs },
    };
    Suite *s = suite_create("api");
    tu_add_cases(s, cases, TU_NCASES(cases), setup, teardown, 60);
    tu_add_case(s, "threads_deterministic", test_api_threads_deterministic, 0, 4, 120);
    return s;
}

int main(void)
{
    return tu_run(api_suite());
}
