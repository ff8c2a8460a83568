/*
 * check_docfields.c: suite "docfields": the official-document field
 * extractor on the two sample replies (exact values), on letter layouts
 * built here (PDF line breaks, Chinese-numeral dates, bracket forms), on
 * hostile input (empty, garbage, NUL, invalid UTF-8, 10 MB), under
 * allocation failure, and against the hand-checked corpus labels in
 * tests/data/docfields/labels.tsv (precision and recall per field).
 */
#include "analysis/docfields.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Extract from a NUL-terminated string; the test fails on any error. */
static void extract(const char *s, esi_docfields *f)
{
    esi_err e;
    ck_assert_int_eq(esi_docfields_extract(s, strlen(s), f, &e), ES_OK);
}

/* Assert field `name` is `want` (NULL: absent). */
static void expect(const esi_docfields *f, const char *name, const char *want)
{
    const char *got = esi_docfields_get(f, name);
    if (!want) {
        ck_assert_msg(got == NULL, "%s: expected absent, got '%s'", name, got);
        return;
    }
    ck_assert_msg(got != NULL, "%s: expected '%s', got nothing", name, want);
    ck_assert_msg(strcmp(got, want) == 0, "%s: expected '%s', got '%s'", name, want, got);
}

/* Every value is valid UTF-8 with its length, and names are distinct. */
static void check_wellformed(const esi_docfields *f)
{
    ck_assert_uint_le(f->n, ESI_DOCFIELDS_MAX);
    for (size_t i = 0; i < f->n; i++) {
        ck_assert_ptr_nonnull(f->f[i].value);
        ck_assert_uint_eq(strlen(f->f[i].value), f->f[i].value_len);
        ck_assert(esi_utf8_valid((const uint8_t *)f->f[i].value, f->f[i].value_len));
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(f->f[i].name, f->f[j].name);
    }
}

START_TEST(test_docfields_samples_exact)
{
    size_t len;
    esi_docfields f;
    esi_err e;
    char *t = tu_read_sample("puyang-2025-93.txt", &len);
    ck_assert_int_eq(esi_docfields_extract(t, len, &f, &e), ES_OK);
    check_wellformed(&f);
    ck_assert_uint_eq(f.n, 10);
    expect(&f, "agency", "濮阳市教育局");
    expect(&f, "docno", "濮教函〔2025〕93号");
    expect(&f, "signer", "葛磊");
    expect(&f, "title", "濮阳市教育局关于对市政协九届三次会议第392号提案的答复");
    expect(&f, "type", "答复");
    expect(&f, "addressee", "王传利委员");
    expect(&f, "proposal", "市政协九届三次会议第392号提案");
    expect(&f, "date", "2025-06-26");
    expect(&f, "disclosure", "公开");
    expect(&f, "result", "A");
    esi_docfields_free(&f);
    free(t);

    t = tu_read_sample("xinyang-2024-194.txt", &len);
    ck_assert_int_eq(esi_docfields_extract(t, len, &f, &e), ES_OK);
    check_wellformed(&f);
    ck_assert_uint_eq(f.n, 9);
    expect(&f, "agency", "信阳市教育体育局");
    expect(&f, "docno", NULL);   /* the letter has none */
    expect(&f, "signer", "林长");
    expect(&f, "title", "对市六届人大二次会议第194号建议的答复");
    expect(&f, "type", "答复");
    expect(&f, "addressee", "郭慧茹代表");
    expect(&f, "proposal", "市六届人大二次会议第194号建议");
    expect(&f, "date", "2024-07-02");
    expect(&f, "disclosure", "主动公开");
    expect(&f, "result", "A");
    esi_docfields_free(&f);
    free(t);
}
END_TEST

START_TEST(test_docfields_letter_variants)
{
    esi_docfields f;
    /* title split over three PDF lines, [] brackets, signer on the docno
     * line, Chinese-numeral issuing date, body dates ignored */
    extract("河南省教育厅文件\n\n豫教基[2024] 7 号  签发人：张 三\n\n"
            "河南省教育厅关于对省十四届人大\n二次会议第 88 号建议\n的 答 复\n\n"
            "李四代表：\n\n您的建议收悉。2023年5月1日以来，我们……\n\n"
            "二〇二四年十二月三十一日\n\n（此件主动公开）\n\n"
            "河南省教育厅办公室    2025年1月2日印发\n", &f);
    check_wellformed(&f);
    expect(&f, "agency", "河南省教育厅");
    expect(&f, "docno", "豫教基〔2024〕7号");
    expect(&f, "signer", "张三");
    expect(&f, "title", "河南省教育厅关于对省十四届人大二次会议第88号建议的答复");
    expect(&f, "type", "答复");
    expect(&f, "addressee", "李四代表");
    expect(&f, "proposal", "省十四届人大二次会议第88号建议");
    expect(&f, "date", "2024-12-31");
    expect(&f, "disclosure", "主动公开");
    expect(&f, "result", NULL);
    esi_docfields_free(&f);

    /* a notice; only the 印发 date; 是否同意对外公开：否; result 类 */
    extract("办理结果：b类\n是否同意对外公开：否\n"
            "某某市人民政府办公室关于印发《某某市学前教育三年行动计划》的通知\n"
            "各县（市、区）人民政府，市直各单位：\n现将……印发给你们。\n"
            "某某市人民政府办公室 2021年10月9日印发\n2021年10月9日印发\n", &f);
    expect(&f, "agency", "某某市人民政府办公室");
    expect(&f, "type", "通知");
    expect(&f, "addressee", "各县（市、区）人民政府，市直各单位");
    expect(&f, "proposal", NULL);
    expect(&f, "date", "2021-10-09");
    expect(&f, "disclosure", "不公开");
    expect(&f, "result", "B");
    esi_docfields_free(&f);

    /* not confident: invalid dates, a 5-name signer, a docno with text after */
    extract("签发人：欧阳小明明\n教发〔2024〕12号补充\n"
            "关于某事的通知\n\n正文。\n\n2024年2月30日\n", &f);
    expect(&f, "signer", NULL);
    expect(&f, "docno", NULL);
    expect(&f, "date", NULL);
    expect(&f, "title", "关于某事的通知");
    esi_docfields_free(&f);
}
END_TEST

START_TEST(test_docfields_law_header)
{
    esi_docfields f;
    extract("# 某某市 中小学校安全条例\n\n"
            "2011年11月17日 某某市第十三届人民代表大会常务委员会第三十次会议通过\n\n"
            "2012年1月5日 某某省第十一届人民代表大会常务委员会第二十次会议批准\n\n"
            "2020年5月14日 某某市第十五届人民代表大会常务委员会第二十一次会议《关于修改\n\n"
            "〈某某市中小学校安全条例〉（2025年1月1日起）的决定》第一次修正\n\n"
            "2026年1月1日 施行\n\n<!-- INFO END -->\n\n第一条 2030年1月1日前……\n", &f);
    check_wellformed(&f);
    ck_assert_uint_eq(f.n, 4);
    expect(&f, "title", "某某市 中小学校安全条例");
    expect(&f, "type", "条例");
    expect(&f, "agency", "某某市人民代表大会常务委员会");
    expect(&f, "date", "2020-05-14");
    esi_docfields_free(&f);

    extract("# 最高人民法院 最高人民检察院关于某某问题的解释（二）\n\n"
            "2020年8月31日 最高人民法院审判委员会第1811次会议、2020年8月21日"
            "最高人民检察院第十三届检察委员会第四十八次会议通过\n\n"
            "<!-- INFO END -->\n\n", &f);
    expect(&f, "agency", "最高人民法院、最高人民检察院");
    expect(&f, "date", "2020-08-31");
    expect(&f, "type", "解释");
    esi_docfields_free(&f);

    extract("# 某某管理办法\n\n1990年2月1日 中华人民共和国国务院令第55号发布\n\n"
            "<!-- INFO END -->\n", &f);
    expect(&f, "agency", "国务院");
    expect(&f, "type", "办法");
    expect(&f, "docno", NULL);
    esi_docfields_free(&f);
}
END_TEST

START_TEST(test_docfields_hostile_input)
{
    esi_docfields f;
    esi_err e;
    ck_assert_int_eq(esi_docfields_extract(NULL, 0, &f, &e), ES_OK);
    ck_assert_uint_eq(f.n, 0);
    ck_assert_int_eq(esi_docfields_extract("", 0, &f, &e), ES_OK);
    ck_assert_uint_eq(f.n, 0);
    ck_assert_int_eq(esi_docfields_extract(NULL, 3, &f, &e), ES_EINVAL);
    ck_assert_int_eq(esi_docfields_extract("x", 1, NULL, &e), ES_EINVAL);
    esi_docfields_free(NULL);

    /* NUL splits a line; invalid UTF-8 inside a value makes it absent */
    static const char nul[] = "签发人：葛磊\0办理结果：A\n签发人：\xff\xfe\n";
    ck_assert_int_eq(esi_docfields_extract(nul, sizeof nul - 1, &f, &e), ES_OK);
    expect(&f, "signer", "葛磊");
    expect(&f, "result", "A");
    esi_docfields_free(&f);
    static const char bad[] = "濮阳市教育局关于对市政协九届三次会议第392号提案的\xe7\xad答复\n";
    ck_assert_int_eq(esi_docfields_extract(bad, sizeof bad - 1, &f, &e), ES_OK);
    expect(&f, "title", NULL);
    esi_docfields_free(&f);

    /* random bytes biased towards the characters the rules look for */
    static const char *const atoms[] = { "签发人：", "办理结果：", "关于", "的答复", "\n", "〔",
                                         "〕", "号", "年", "月", "日", "二〇", "十", "1", "2",
                                         "：", "# ", "<!-- INFO END -->", "\xff", "\xe4\xb8",
                                         "、", "通过", "第", "届", "会议", "局", " ", "\0" };
    uint64_t st = tu_seed();
    char buf[4096];
    for (int round = 0; round < 3000; round++) {
        size_t n = 0;
        while (n < sizeof buf - 32) {
            uint64_t r = tu_rand(&st);
            if (r % 97 == 0)
                break;
            if (r % 5 == 0) {
                buf[n++] = (char)(r >> 8);
            } else {
                const char *a = atoms[(r >> 8) % (sizeof atoms / sizeof atoms[0])];
                size_t k = a[0] ? strlen(a) : 1;
                memcpy(buf + n, a, k);
                n += k;
            }
        }
        ck_assert_int_eq(esi_docfields_extract(buf, n, &f, &e), ES_OK);
        check_wellformed(&f);
        const char *d = esi_docfields_get(&f, "date");
        if (d) {
            uint32_t ymd;
            ck_assert(esi_date_parse(d, strlen(d), &ymd));
        }
        esi_docfields_free(&f);
    }
}
END_TEST

START_TEST(test_docfields_huge_input_bounded)
{
    size_t len;
    char *sample = tu_read_sample("puyang-2025-93.txt", &len);
    size_t big = 10u << 20;
    char *t = malloc(big);
    ck_assert_ptr_nonnull(t);
    /* the sample's first 2 KB, 10 MB of filler lines, the sample's end */
    size_t headn = 2048, tailn = 1024;
    memcpy(t, sample, headn);
    for (size_t i = headn; i < big - tailn; i++)
        t[i] = (i % 61 == 0) ? '\n' : "2025年6月26日 关于"[i % 23];
    memcpy(t + big - tailn, sample + len - tailn, tailn);
    esi_docfields f;
    esi_err e;
    clock_t c0 = clock();
    ck_assert_int_eq(esi_docfields_extract(t, big, &f, &e), ES_OK);
    double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
    check_wellformed(&f);
    expect(&f, "docno", "濮教函〔2025〕93号");
    expect(&f, "date", "2025-06-26");
    ck_assert_msg(secs < 0.5, "10 MB took %.3f s: the extractor must read only head and tail", secs);
    esi_docfields_free(&f);
    /* one 10 MB line without any break */
    memset(t, 'a', big);
    ck_assert_int_eq(esi_docfields_extract(t, big, &f, &e), ES_OK);
    ck_assert_uint_eq(f.n, 0);
    free(t);
    free(sample);
}
END_TEST

START_TEST(test_docfields_alloc_failure)
{
    size_t len;
    char *t = tu_read_sample("puyang-2025-93.txt", &len);
    esi_docfields f;
    esi_err e;
    for (size_t k = 1;; k++) {
        esi_alloc_fail_at(k);
        es_status rc = esi_docfields_extract(t, len, &f, &e);
        esi_alloc_fail_at(0);
        if (rc == ES_OK) {
            ck_assert_uint_eq(f.n, 10);
            esi_docfields_free(&f);
            break;
        }
        ck_assert_int_eq(rc, ES_ENOMEM);
        ck_assert_uint_eq(f.n, 0);
        ck_assert_uint_lt(k, 1000);
    }
    free(t);
}
END_TEST

/* ---- corpus labels ---------------------------------------------------- */

#define NFIELDS 10
static const char *const names[NFIELDS] = { "agency", "docno", "signer", "title", "type",
                                            "addressee", "proposal", "date", "disclosure",
                                            "result" };

typedef struct label {
    char id[32];
    char *value[NFIELDS];   /* NULL = absent ("-") */
    bool seen;              /* the doc was found in the corpus */
} label;

typedef struct tally {
    label *labels;
    size_t nlabels;
    size_t extracted[NFIELDS], correct[NFIELDS], present[NFIELDS];
    size_t docs, title_agree;
} tally;

static int field_index(const char *name)
{
    for (int i = 0; i < NFIELDS; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

/* Load labels.tsv into t; false if unreadable. */
static bool load_labels(tally *t)
{
    const char *top = getenv("ES_TOP_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/docfields/labels.tsv", top ? top : ".");
    size_t len;
    char *text = tu_read_file(path, &len);
    if (!text)
        return false;
    t->labels = calloc(256, sizeof(label));
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        if (ln[0] == '#')
            continue;
        char *f1 = strchr(ln, '\t');
        char *f2 = f1 ? strchr(f1 + 1, '\t') : NULL;
        ck_assert_msg(f2 != NULL, "labels.tsv: malformed line '%s'", ln);
        *f1 = *f2 = '\0';
        int fi = field_index(f1 + 1);
        ck_assert_msg(fi >= 0, "labels.tsv: unknown field '%s'", f1 + 1);
        label *l = NULL;
        for (size_t i = 0; i < t->nlabels; i++)
            if (!strcmp(t->labels[i].id, ln))
                l = &t->labels[i];
        if (!l) {
            ck_assert_uint_lt(t->nlabels, 256);
            l = &t->labels[t->nlabels++];
            snprintf(l->id, sizeof l->id, "%s", ln);
        }
        if (strcmp(f2 + 1, "-") != 0)
            l->value[fi] = strdup(f2 + 1);
    }
    free(text);
    return true;
}

static void tally_doc(const char *id, const char *title, const char *text, size_t len, void *p)
{
    tally *t = p;
    esi_docfields f;
    esi_err e;
    ck_assert_int_eq(esi_docfields_extract(text, len, &f, &e), ES_OK);
    t->docs++;
    const char *tt = esi_docfields_get(&f, "title");
    if (tt && !strcmp(tt, title))
        t->title_agree++;
    for (size_t i = 0; i < t->nlabels; i++) {
        label *l = &t->labels[i];
        if (strcmp(l->id, id) != 0)
            continue;
        l->seen = true;
        for (int k = 0; k < NFIELDS; k++) {
            const char *got = esi_docfields_get(&f, names[k]);
            if (l->value[k])
                t->present[k]++;
            if (got) {
                t->extracted[k]++;
                if (l->value[k] && !strcmp(got, l->value[k]))
                    t->correct[k]++;
                else
                    printf("docfields: %s %s: got '%s', label '%s'\n", id, names[k], got,
                           l->value[k] ? l->value[k] : "-");
            } else if (l->value[k]) {
                printf("docfields: %s %s: missed '%s'\n", id, names[k], l->value[k]);
            }
        }
    }
    esi_docfields_free(&f);
}

START_TEST(test_docfields_corpus_precision_recall)
{
    if (!tu_corpus_dir()) {
        printf("SKIP: ../shared/corpus not found (set ES_CORPUS_DIR)\n");
        return;
    }
    tally t;
    memset(&t, 0, sizeof t);
    ck_assert_msg(load_labels(&t), "cannot read tests/data/docfields/labels.tsv (set ES_TOP_SRCDIR)");
    ck_assert_uint_ge(t.nlabels, 50);
    tu_corpus_docs("main.jsonl.gz", 100000, tally_doc, &t);
    for (size_t i = 0; i < t.nlabels; i++)
        ck_assert_msg(t.labels[i].seen, "labelled doc %s not in the corpus", t.labels[i].id);
    printf("docfields: %zu labelled docs\n", t.nlabels);
    printf("%-11s %8s %9s %7s %9s %7s\n", "field", "labelled", "extracted", "correct",
           "precision", "recall");
    bool ok = true;
    for (int k = 0; k < NFIELDS; k++) {
        double prec = t.extracted[k] ? 100.0 * (double)t.correct[k] / (double)t.extracted[k] : 100.0;
        double rec = t.present[k] ? 100.0 * (double)t.correct[k] / (double)t.present[k] : 100.0;
        printf("%-11s %8zu %9zu %7zu %8.1f%% %6.1f%%\n", names[k], t.present[k], t.extracted[k],
               t.correct[k], prec, rec);
        if (t.present[k] >= 5 && prec < 95.0)
            ok = false;
        if (t.present[k] == 0 && t.extracted[k] > 0)
            ok = false;      /* a field no labelled doc has was guessed */
    }
    /* an independent reference: the corpus's title is its first '# ' line */
    printf("docfields: title equals the corpus title in %zu of %zu docs\n", t.title_agree, t.docs);
    ck_assert_uint_ge(t.title_agree * 100, t.docs * 99);
    ck_assert_msg(ok, "a field fell below 95%% precision (table above)");
    for (size_t i = 0; i < t.nlabels; i++)
        for (int k = 0; k < NFIELDS; k++)
            free(t.labels[i].value[k]);
    free(t.labels);
}
END_TEST

static Suite *docfields_suite(void)
{
    const tu_case cases[] = {
        { "samples_exact", test_docfields_samples_exact },
        { "letter_variants", test_docfields_letter_variants },
        { "law_header", test_docfields_law_header },
        { "hostile_input", test_docfields_hostile_input },
        { "huge_input_bounded", test_docfields_huge_input_bounded },
        { "alloc_failure", test_docfields_alloc_failure },
        { "corpus_precision_recall", test_docfields_corpus_precision_recall },
    };
    Suite *s = suite_create("docfields");
    tu_add_cases(s, cases, TU_NCASES(cases), NULL, NULL, 120);
    return s;
}

int main(void)
{
    return tu_run(docfields_suite());
}
