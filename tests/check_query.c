/*
 * check_query.c: suite "query": the query parser. Syntax (every element,
 * every error with its byte position, the limits, pasted punctuation) is
 * checked on the tree of esi_query_syntax(); the lowering into index keys
 * (bare runs into ICU words with a phrase bonus, quoted phrases into bigram
 * chains, fields, prefixes) on esi_query_dump() of es_query_parse() results.
 */
#include "search/query.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* Parse syntax only and render the tree; NULL-safe. Returns a static copy. */
static const char *syn(const char *text)
{
    static char out[4096];
    es_query *q = NULL;
    esi_err e = { 0 };
    size_t pos = 0;
    es_status rc = esi_query_syntax(&q, text, strlen(text), &pos, &e);
    if (rc != ES_OK) {
        snprintf(out, sizeof out, "ERR %d @%zu", (int)rc, pos);
        return out;
    }
    esi_buf b = { 0 };
    es_status brc = ES_OK;
    esi_query_dump(&brc, q, &b);
    ck_assert_int_eq(brc, ES_OK);
    snprintf(out, sizeof out, "%s", (const char *)b.data);
    esi_buf_free(&b);
    esi_query_free(q);
    return out;
}

/* Syntax error: the status, position and (part of the) message. */
static void syn_err(const char *text, es_status code, size_t at, const char *needle)
{
    es_query *q = NULL;
    esi_err e = { 0 };
    size_t pos = 12345;
    es_status rc = esi_query_syntax(&q, text, strlen(text), &pos, &e);
    ck_assert_msg(rc == code, "%s: rc %d, want %d (%s)", text, rc, code, e.msg);
    ck_assert_ptr_null(q);
    ck_assert_msg(pos == at, "%s: position %zu, want %zu (%s)", text, pos, at, e.msg);
    ck_assert_msg(strstr(e.msg, needle), "%s: message '%s' lacks '%s'", text,
                  e.msg, needle);
}

START_TEST(test_query_syntax_terms_and_or)
{
    ck_assert_str_eq(syn("教育"), "教育");
    ck_assert_str_eq(syn("  教育   强国 "), "AND(教育 强国)");
    ck_assert_str_eq(syn("a b OR c d"), "OR(AND(a b) AND(c d))");
    ck_assert_str_eq(syn("a OR b OR c"), "OR(a b c)");
    ck_assert_str_eq(syn("a AND b"), "AND(a b)");
    ck_assert_str_eq(syn("a or b"), "AND(a or b)");     /* keyword is upper case */
    ck_assert_str_eq(syn("(a OR b) c"), "AND(OR(a b) c)");
    ck_assert_str_eq(syn("((a))"), "a");
    ck_assert_str_eq(syn("AI数智校园 2025年"), "AND(AI数智校园 2025年)");
}
END_TEST

START_TEST(test_query_syntax_phrases)
{
    ck_assert_str_eq(syn("\"教育 强国\""), "\"教育 强国\"");
    ck_assert_str_eq(syn("x\"a b\"y"), "AND(x \"a b\" y)");
    ck_assert_str_eq(syn("“双减”"), "\"双减\"");
    ck_assert_str_eq(syn("「双减」政策"), "AND(\"双减\" 政策)");
    ck_assert_str_eq(syn("＂双减＂"), "\"双减\"");
    ck_assert_str_eq(syn("“双减\""), "\"双减\"");
    ck_assert_str_eq(syn("\"(a OR b)\""), "\"(a OR b)\"");
    /* unpaired curly quotes are separators */
    ck_assert_str_eq(syn("“双减"), "双减");
    ck_assert_str_eq(syn("双减”"), "双减");
}
END_TEST

START_TEST(test_query_syntax_not)
{
    ck_assert_str_eq(syn("a -b"), "AND(a NOT(b))");
    ck_assert_str_eq(syn("a NOT b"), "AND(a NOT(b))");
    ck_assert_str_eq(syn("a -\"b c\""), "AND(a NOT(\"b c\"))");
    ck_assert_str_eq(syn("a -(b OR c)"), "AND(a NOT(OR(b c)))");
    ck_assert_str_eq(syn("COVID-19"), "COVID-19");        /* inner dash */
    ck_assert_str_eq(syn("a - b"), "AND(a b)");           /* lone dash */
}
END_TEST

START_TEST(test_query_syntax_fields_dates_prefix)
{
    ck_assert_str_eq(syn("title:教育"), "title:教育");
    ck_assert_str_eq(syn("title:\"双减 政策\""), "title:\"双减 政策\"");
    ck_assert_str_eq(syn("title:“双减”"), "title:\"双减\"");
    ck_assert_str_eq(syn("Note:x"), "Note:x");            /* not a field name */
    ck_assert_str_eq(syn("date:2024"), "date:20240000..20249999");
    ck_assert_str_eq(syn("date:2024-03"), "date:20240300..20240399");
    ck_assert_str_eq(syn("date:2024-01-01..2025-06-30"), "date:20240101..20250630");
    ck_assert_str_eq(syn("date:2024..2025"), "date:20240000..20259999");
    ck_assert_str_eq(syn("date:..2020"), "date:1..20209999");
    ck_assert_str_eq(syn("date:2020.."), "date:20200000..4294967295");
    ck_assert_str_eq(syn("edu*"), "edu*");
    ck_assert_str_eq(syn("title:edu*"), "title:edu*");
    ck_assert_str_eq(syn("*"), "*");
}
END_TEST

START_TEST(test_query_syntax_pasted_punctuation)
{
    ck_assert_str_eq(syn("濮教函〔2025〕93号"), "濮教函〔2025〕93号");
    ck_assert_str_eq(syn("（一）　义务教育"), "AND(（一） 义务教育)");   /* U+3000 */
    ck_assert_str_eq(syn("【通知】"), "【通知】");
    ck_assert_str_eq(syn("“1+1+N”"), "\"1+1+N\"");
}
END_TEST

START_TEST(test_query_syntax_errors)
{
    syn_err("abc \"de", ES_ESYNTAX, 4, "unclosed quote opened at 4");
    syn_err("a)", ES_ESYNTAX, 1, "')' without '('");
    syn_err("(a OR b) c)", ES_ESYNTAX, 10, "')' without '('");
    syn_err("x (a", ES_ESYNTAX, 2, "'(' opened at 2 is never closed");
    syn_err("a ()", ES_ESYNTAX, 2, "empty parentheses");
    syn_err("OR a", ES_ESYNTAX, 0, "OR needs a term on both sides");
    syn_err("a OR", ES_ESYNTAX, 2, "OR needs a term on both sides");
    syn_err("a OR OR b", ES_ESYNTAX, 2, "OR needs a term on both sides");
    syn_err("(a OR) b", ES_ESYNTAX, 3, "OR needs a term on both sides");
    syn_err("a NOT", ES_ESYNTAX, 2, "NOT (or -) needs a term");
    syn_err("(a NOT)", ES_ESYNTAX, 3, "NOT (or -) needs a term");
    syn_err("a (-)", ES_ESYNTAX, 2, "empty parentheses");
    syn_err("title: 教育", ES_ESYNTAX, 0, "field title: needs a term");
    syn_err("x date:2024-13", ES_ESYNTAX, 7, "is not a date");
    syn_err("date:2025..2024", ES_ESYNTAX, 5, "ends before it starts");
    syn_err("date:", ES_ESYNTAX, 0, "date: needs a date");
    syn_err("", ES_ESYNTAX, 0, "no searchable term");
    syn_err("   ", ES_ESYNTAX, 0, "no searchable term");
}
END_TEST

START_TEST(test_query_syntax_limits)
{
    /* 10 000 nested parentheses fail fast with ES_ELIMIT at the 65th. */
    size_t n = 10000;
    char *s = malloc(2 * n + 2);
    memset(s, '(', n);
    s[n] = 'a';
    memset(s + n + 1, ')', n);
    s[2 * n + 1] = 0;
    syn_err(s, ES_ELIMIT, 64, "levels of nesting");
    /* and the same for NOT chains */
    memset(s, '-', n);
    s[n] = 'a';
    s[n + 1] = 0;
    syn_err(s, ES_ELIMIT, 64, "levels of nesting");
    free(s);
    /* 64 levels are fine */
    char ok[200];
    memset(ok, '(', 64);
    ok[64] = 'a';
    memset(ok + 65, ')', 64);
    ok[129] = 0;
    ck_assert_str_eq(syn(ok), "a");
    /* 1024 leaves are fine, 1025 are not */
    char *t = malloc(1025 * 2 + 1);
    for (int i = 0; i < 1025; i++) {
        t[2 * i] = 'a';
        t[2 * i + 1] = ' ';
    }
    t[2 * 1024] = 0;
    ck_assert_str_ne(syn(t), "ERR");
    ck_assert(strncmp(syn(t), "AND(", 4) == 0);
    t[2 * 1024] = 'a';
    t[2 * 1025] = 0;
    syn_err(t, ES_ELIMIT, 2048, "more than 1024 terms");
    free(t);
}
END_TEST

START_TEST(test_query_syntax_random_bytes_never_crash)
{
    uint64_t seed = tu_seed(), st = seed;
    static const char *atoms[] = { "(", ")", "\"", "“", "”", "-", "OR", "NOT",
                                   " ", "教育", "a", "title:", "date:", "2024",
                                   "..", "*", "〔", "\xff", "\xe6\x95", ":" };
    for (int it = 0; it < 3000; it++) {
        char buf[256];
        size_t n = 0;
        int k = (int)(tu_rand(&st) % 16);
        for (int i = 0; i < k; i++) {
            const char *a = atoms[tu_rand(&st) % (sizeof atoms / sizeof *atoms)];
            size_t al = strlen(a);
            memcpy(buf + n, a, al);
            n += al;
        }
        es_query *q = NULL;
        esi_err e = { 0 };
        size_t pos = 0;
        es_status rc = esi_query_syntax(&q, buf, n, &pos, &e);
        ck_assert_msg(rc == ES_OK || rc == ES_ESYNTAX || rc == ES_ELIMIT,
                      "seed %llu: rc %d", (unsigned long long)seed, rc);
        if (rc == ES_OK)
            ck_assert(q && q->root >= 0);
        else
            ck_assert(pos <= n && e.msg[0]);
        esi_query_free(q);
    }
}
END_TEST

START_TEST(test_query_syntax_enomem)
{
    for (size_t n = 1; n < 200; n++) {
        esi_alloc_fail_at(n);
        es_query *q = NULL;
        esi_err e = { 0 };
        es_status rc = esi_query_syntax(&q, "a (b OR \"c d\") -e title:f", 26,
                                        NULL, &e);
        esi_alloc_fail_at(0);
        if (rc == ES_OK) {
            esi_query_free(q);
            break;
        }
        ck_assert_int_eq(rc, ES_ENOMEM);
        ck_assert_ptr_null(q);
    }
}
END_TEST


static Suite *query_suite(void)
{
    Suite *s = suite_create("query");
    struct { const char *name; const TTest *fn; } cases[] = {
        { "syntax_terms_and_or", test_query_syntax_terms_and_or },
        { "syntax_phrases", test_query_syntax_phrases },
        { "syntax_not", test_query_syntax_not },
        { "syntax_fields_dates_prefix", test_query_syntax_fields_dates_prefix },
        { "syntax_pasted_punctuation", test_query_syntax_pasted_punctuation },
        { "syntax_errors", test_query_syntax_errors },
        { "syntax_limits", test_query_syntax_limits },
        { "syntax_random_bytes", test_query_syntax_random_bytes_never_crash },
        { "syntax_enomem", test_query_syntax_enomem },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(query_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
