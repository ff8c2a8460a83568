/*
 * check_query.c: suite "query": the query parser. Syntax (every element,
 * every error with its byte position, the limits, pasted punctuation) is
 * checked on the tree of esi_query_syntax(); the lowering into index keys
 * (bare runs into ICU words with a phrase bonus, quoted phrases into bigram
 * chains, fields, prefixes) on esi_query_dump() of es_query_parse() results.
 * Also what a parsed query costs before any posting is read: the pool of
 * analyzers es_query_parse shares between threads, and the dictionary
 * lookups of its keys (termdict.c: restart points, both format versions,
 * damage caught by `check`) against a sorted reference.
 */
#include "search/query.h"
#include "storage/storage_int.h"
#include "testutil.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* Parse syntax only and render the tree or "ERR <rc> @<pos>" (static). */
static const char *syn(const char *text)
{
    es_query *q = NULL;
    esi_err e = { 0 };
    size_t pos = 0;
    es_status rc = esi_query_syntax(&q, text, strlen(text), &pos, &e);
    return tu_query_result(rc, q, pos);
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
    static const char *const cases[][2] = {
        { "教育", "教育" },
        { "  教育   强国 ", "AND(教育 强国)" },
        { "a b OR c d", "OR(AND(a b) AND(c d))" },
        { "a OR b OR c", "OR(a b c)" },
        { "a AND b", "AND(a b)" },
        { "a or b", "AND(a or b)" },   /* keyword is upper case */
        { "(a OR b) c", "AND(OR(a b) c)" },
        { "((a))", "a" },
        { "AI数智校园 2025年", "AND(AI数智校园 2025年)" },
    };
    tu_expect_each(syn, cases, TU_NCASES(cases));
}
END_TEST

START_TEST(test_query_syntax_phrases)
{
    static const char *const cases[][2] = {
        { "\"教育 强国\"", "\"教育 强国\"" },
        { "x\"a b\"y", "AND(x \"a b\" y)" },
        { "“双减”", "\"双减\"" },
        { "「双减」政策", "AND(\"双减\" 政策)" },
        { "＂双减＂", "\"双减\"" },
        { "“双减\"", "\"双减\"" },
        { "\"(a OR b)\"", "\"(a OR b)\"" },
        /* unpaired curly quotes are separators */
        { "“双减", "双减" },
        { "双减”", "双减" },
    };
    tu_expect_each(syn, cases, TU_NCASES(cases));
}
END_TEST

START_TEST(test_query_syntax_not)
{
    static const char *const cases[][2] = {
        { "a -b", "AND(a NOT(b))" },
        { "a NOT b", "AND(a NOT(b))" },
        { "a -\"b c\"", "AND(a NOT(\"b c\"))" },
        { "a -(b OR c)", "AND(a NOT(OR(b c)))" },
        { "COVID-19", "COVID-19" },   /* inner dash */
        { "a - b", "AND(a b)" },   /* lone dash */
    };
    tu_expect_each(syn, cases, TU_NCASES(cases));
}
END_TEST

START_TEST(test_query_syntax_fields_dates_prefix)
{
    static const char *const cases[][2] = {
        { "title:教育", "title:教育" },
        { "title:\"双减 政策\"", "title:\"双减 政策\"" },
        { "title:“双减”", "title:\"双减\"" },
        { "Note:x", "Note:x" },   /* not a field name */
        { "date:2024", "date:20240000..20249999" },
        { "date:2024-03", "date:20240300..20240399" },
        { "date:2024-01-01..2025-06-30", "date:20240101..20250630" },
        { "date:2024..2025", "date:20240000..20259999" },
        { "date:..2020", "date:1..20209999" },
        { "date:2020..", "date:20200000..4294967295" },
        { "edu*", "edu*" },
        { "title:edu*", "title:edu*" },
        { "*", "*" },
    };
    tu_expect_each(syn, cases, TU_NCASES(cases));
}
END_TEST

START_TEST(test_query_syntax_pasted_punctuation)
{
    static const char *const cases[][2] = {
        { "濮教函〔2025〕93号", "濮教函〔2025〕93号" },
        { "（一）　义务教育", "AND(（一） 义务教育)" },   /* U+3000 */
        { "【通知】", "【通知】" },
        { "“1+1+N”", "\"1+1+N\"" },
    };
    tu_expect_each(syn, cases, TU_NCASES(cases));
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


/* ---- the dictionary lookups a query makes (termdict.c) -------------------
 * A query's fixed cost is dominated by esi_segment_lookup of its keys, which
 * compares entries without rebuilding them and starts at a restart point
 * (format 2.1). These tests hold it to a sorted reference: random terms over
 * a small alphabet (long shared prefixes, "title\x1f" twins, one term of
 * the maximal length), term j in docs 0..df(j)-1. */

#define DT_DOCS 5

typedef struct dterm {
    char *b;
    size_t n;
} dterm;

static int dterm_cmp(const void *x, const void *y)
{
    const dterm *a = x, *b = y;
    size_t m = a->n < b->n ? a->n : b->n;
    int c = m ? memcmp(a->b, b->b, m) : 0;
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

static uint32_t dt_df(size_t j) { return 1 + (uint32_t)(j % DT_DOCS); }

/* n distinct random terms, sorted. */
static dterm *dt_terms(size_t n, uint64_t *st)
{
    dterm *t = calloc(n + 1, sizeof *t);
    size_t k = 0;
    while (k < n) {
        size_t len;
        char buf[ESI_MAX_TERM];
        if (k == 0 && n > 3) {
            len = ESI_MAX_TERM;                      /* the longest key */
            memset(buf, 'z', len);
        } else {
            len = 1 + tu_rand(st) % 9;
            for (size_t i = 0; i < len; i++)
                buf[i] = "abc\xe4\xb8\x80"[tu_rand(st) % 6];
            if (tu_rand(st) % 2) {                    /* a title twin */
                memmove(buf + 6, buf, len);
                memcpy(buf, "title\x1f", 6);
                len += 6;
            }
        }
        dterm d = { buf, len };
        bool dup = false;
        for (size_t i = 0; i < k && !dup; i++)
            dup = dterm_cmp(&t[i], &d) == 0;
        if (dup)
            continue;
        t[k].b = malloc(len);
        memcpy(t[k].b, buf, len);
        t[k++].n = len;
    }
    qsort(t, n, sizeof *t, dterm_cmp);
    return t;
}

static void dt_free(dterm *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].b);
    free(t);
}

/* Index the terms into dir (one segment). */
static void dt_index(const char *dir, const dterm *t, size_t n)
{
    esi_ixw_opts o = { true, (size_t)64 << 20, false };
    esi_ixw *w;
    esi_err e;
    ck_assert_msg(esi_ixw_open(&w, dir, &o, &e) == ES_OK, "%s", e.msg);
    esi_occ *occ = calloc(n + 1, sizeof *occ);
    for (int d = 0; d < DT_DOCS; d++) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++)
            if (dt_df(j) > (uint32_t)d)
                occ[k++] = (esi_occ){ (const uint8_t *)t[j].b, (uint32_t)t[j].n,
                                      (uint32_t)j };
        char id[16];
        snprintf(id, sizeof id, "d%d", d);
        esi_doc_in in = { id, strlen(id), "", 0, NULL, 0, occ, k, 1, 0 };
        ck_assert_msg(esi_ixw_add(w, &in, &e) == ES_OK, "%s", e.msg);
    }
    ck_assert_msg(esi_ixw_commit(w, &e) == ES_OK, "%s", e.msg);
    esi_ixw_free(w);
    free(occ);
}

/* Look key up in s and compare with the reference: found iff in t, with
 * term j's df, and its postings are docs 0..df-1. */
static void dt_probe(const esi_segment *s, const dterm *t, size_t n,
                     const char *key, size_t len)
{
    dterm d = { (char *)key, len };
    const dterm *hit = n ? bsearch(&d, t, n, sizeof *t, dterm_cmp) : NULL;
    esi_term_info ti;
    esi_err e;
    es_status rc = esi_segment_lookup(s, (const uint8_t *)key, len, &ti, &e);
    ck_assert_msg(rc == (hit ? ES_OK : ES_ENOTFOUND), "key %.*s (%zu bytes): rc %d",
                  (int)(len > 40 ? 40 : len), key, len, rc);
    if (!hit)
        return;
    uint32_t df = dt_df((size_t)(hit - t));
    ck_assert_uint_eq(ti.df, df);
    esi_postings c;
    ck_assert_int_eq(esi_postings_open(&c, s, &ti, &e), ES_OK);
    for (uint32_t d2 = 0; d2 < df; d2++) {
        ck_assert_int_eq(esi_postings_next(&c), ES_OK);
        ck_assert_uint_eq(c.doc, d2);
    }
    ck_assert_int_eq(esi_postings_next(&c), ES_DONE);
    esi_postings_close(&c);
}

/* Probe every term, and near misses of each: a prefix, one byte more, the
 * last byte one lower and one higher. */
static void dt_probe_all(const esi_segment *s, const dterm *t, size_t n,
                         uint64_t *st)
{
    char buf[ESI_MAX_TERM + 1];
    for (size_t j = 0; j < n; j++) {
        size_t len = t[j].n;
        memcpy(buf, t[j].b, len);
        dt_probe(s, t, n, buf, len);
        dt_probe(s, t, n, buf, len - 1 - tu_rand(st) % len);
        buf[len] = "a\xff\x01"[tu_rand(st) % 3];
        dt_probe(s, t, n, buf, len + 1);
        buf[len - 1]--;
        dt_probe(s, t, n, buf, len);
        buf[len - 1] = (char)(buf[len - 1] + 2);
        dt_probe(s, t, n, buf, len);
    }
    dt_probe(s, t, n, "", 0);
    dt_probe(s, t, n, "\xff\xff", 2);
}

/* Every term and a near miss of each (one byte more), looked up together
 * with esi_segment_lookup_many (in chunks of its batch size and across
 * them): the same answers as one lookup at a time. */
static void dt_probe_many(const esi_segment *s, const dterm *t, size_t n)
{
    size_t m = 2 * n;
    char (*buf)[ESI_MAX_TERM + 1] = malloc(m * sizeof *buf);
    const uint8_t **key = malloc(m * sizeof *key);
    size_t *len = malloc(m * sizeof *len);
    esi_term_info *ti = malloc(m * sizeof *ti);
    bool *found = malloc(m * sizeof *found);
    for (size_t j = 0; j < m; j++) {
        const dterm *d = &t[j / 2];
        len[j] = d->n + (j % 2);
        memcpy(buf[j], d->b, d->n);
        buf[j][d->n] = 'a';
        key[j] = (const uint8_t *)buf[j];
    }
    esi_err e;
    ck_assert_msg(esi_segment_lookup_many(s, m, key, len, ti, found, &e) == ES_OK,
                  "%s", e.msg);
    for (size_t j = 0; j < m; j++) {
        esi_term_info one;
        es_status rc = esi_segment_lookup(s, key[j], len[j], &one, &e);
        ck_assert_msg(found[j] == (rc == ES_OK), "key %zu: found %d, rc %d", j,
                      found[j], rc);
        if (found[j])
            ck_assert(ti[j].df == one.df && ti[j].cf == one.cf &&
                      ti[j].post_off == one.post_off && ti[j].post_len == one.post_len &&
                      ti[j].max_tf == one.max_tf && ti[j].positions == one.positions);
    }
    free(buf);
    free(key);
    free(len);
    free(ti);
    free(found);
}

typedef struct dt_walk {
    const dterm *t;
    size_t n, next;            /* next reference term to match */
    const char *p;
    size_t plen;
} dt_walk;

/* Advance w->next to the next reference term with the prefix. */
static void dt_walk_skip(dt_walk *w)
{
    while (w->next < w->n && !(w->t[w->next].n >= w->plen &&
                               !memcmp(w->t[w->next].b, w->p, w->plen)))
        w->next++;
}

static int dt_prefix_cb(const uint8_t *term, size_t len, const esi_term_info *ti,
                        void *payload)
{
    dt_walk *w = payload;
    dt_walk_skip(w);
    ck_assert_uint_lt(w->next, w->n);
    ck_assert_uint_eq(w->t[w->next].n, len);
    ck_assert(!memcmp(w->t[w->next].b, term, len));
    ck_assert_uint_eq(ti->df, dt_df(w->next));
    w->next++;
    return 0;
}

/* Every term with prefix p, in order, and no other. */
static void dt_prefix(const esi_segment *s, const dterm *t, size_t n,
                      const char *p, size_t plen)
{
    dt_walk w = { t, n, 0, p, plen };
    esi_err e;
    ck_assert_int_eq(esi_segment_prefix_terms(s, (const uint8_t *)p, plen,
                                              dt_prefix_cb, &w, &e), ES_OK);
    dt_walk_skip(&w);
    ck_assert_uint_eq(w.next, n);          /* none left out */
}

START_TEST(test_dict_lookup_property)
{
    static const size_t sizes[] = { 1, 2, 15, 16, 17, 63, 64, 65, 129, 700, 3000 };
    size_t n = sizes[_i];
    uint64_t st = tu_seed() + (uint64_t)_i;
    dterm *t = dt_terms(n, &st);
    char *dir = tu_tmpdir();
    dt_index(dir, t, n);
    esi_snapshot *snap;
    esi_err e;
    ck_assert_msg(esi_snapshot_open(&snap, dir, true, &e) == ES_OK, "%s", e.msg);
    ck_assert_uint_eq(snap->nsegs, 1);
    const esi_segment *s = snap->segs[0];
    ck_assert_uint_eq(esi_segment_term_count(s), n);
    ck_assert_uint_eq(s->dict_restart, ESI_DICT_RESTART);
    dt_probe_all(s, t, n, &st);
    dt_probe_many(s, t, n);
    dt_prefix(s, t, n, "", 0);
    dt_prefix(s, t, n, "a", 1);
    dt_prefix(s, t, n, "title\x1f" "b", 7);
    dt_prefix(s, t, n, "\xe4\xb8", 2);
    esi_snapshot_free(snap);
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
    tu_rmrf(dir);
    free(dir);
    dt_free(t, n);
}
END_TEST

/* Read a whole file. */
static uint8_t *dt_read(const char *path, size_t *len)
{
    char *b = tu_read_file(path, len);
    ck_assert_ptr_nonnull(b);
    return (uint8_t *)b;
}

/* Write a whole file after fixing its footer's crc32. */
static void dt_write(const char *path, uint8_t *b, size_t len)
{
    uint64_t pl = len - 32;
    for (int i = 0; i < 8; i++)
        b[len - 16 + i] = (uint8_t)(pl >> (8 * i));
    uint32_t crc = esi_crc32(0, b, len - 8);
    for (int i = 0; i < 4; i++)
        b[len - 8 + i] = (uint8_t)(crc >> (8 * i));
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, len, f), len);
    fclose(f);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A format-2.0 dictionary (no restart flag, no table; the restart entries
 * stay, a 2.0 block may repeat a whole term) reads the same, and a damaged
 * restart table or interval is ES_ECORRUPT for `check`, never a crash. */
START_TEST(test_dict_format20_and_damage)
{
    size_t n = 470;                  /* the last block uses 1 of 3 restarts */
    uint64_t st = tu_seed() + 99;
    dterm *t = dt_terms(n, &st);
    char *dir = tu_tmpdir();
    dt_index(dir, t, n);
    esi_snapshot *snap;
    esi_err e;
    ck_assert_int_eq(esi_snapshot_open(&snap, dir, true, &e), ES_OK);
    uint64_t id = snap->segs[0]->id;
    uint32_t nblocks = snap->segs[0]->dict_nblocks;
    uint32_t slots = snap->segs[0]->dict_nrestarts;
    esi_snapshot_free(snap);
    char name[64];
    esi_segment_filename(name, sizeof name, id, "dict");
    char *path = esi_path_join(dir, name);
    size_t len;
    uint8_t *orig = dt_read(path, &len);
    size_t tab = (size_t)nblocks * slots * ESI_DICT_RESTART_LEN;
    size_t tail = len - 16 - ESI_DICT_TRAILER;      /* payload end: the trailer */
    size_t tab_at = tail - 4 - tab;                 /* file offset of the table */
    ck_assert_uint_eq(rd32(orig + tail - 4), ESI_DICT_RESTART);

    /* damage: each case must fail `check` (and lookups must not crash) */
    for (int k = 0; k < 5; k++) {
        uint8_t *b = malloc(len);
        memcpy(b, orig, len);
        switch (k) {
        case 0: wr32(b + tab_at, rd32(b + tab_at) + 1); break;       /* entry offset */
        case 1: b[tab_at + 4] ^= 1; break;                           /* post_off */
        case 2: wr32(b + tab_at, 0xfffffff0u); break;                /* out of range */
        case 3: wr32(b + tail - 4, 0); break;                        /* interval 0 */
        case 4: wr32(b + tab_at + tab - ESI_DICT_RESTART_LEN, 7); break; /* unused slot */
        }
        dt_write(path, b, len);
        es_status rc = esi_storage_check(dir, &e);
        ck_assert_msg(rc == ES_ECORRUPT, "damage %d: rc %d", k, rc);
        ck_assert_msg(strstr(e.msg, ".dict"), "damage %d: %s", k, e.msg);
        esi_segment *s;
        if (esi_segment_open(&s, dir, id, false, &e) == ES_OK) {
            for (size_t j = 0; j < n; j++) {
                esi_term_info ti;
                rc = esi_segment_lookup(s, (const uint8_t *)t[j].b, t[j].n, &ti, &e);
                ck_assert(rc == ES_OK || rc == ES_ENOTFOUND || rc == ES_ECORRUPT);
            }
            const uint8_t **key = malloc(n * sizeof *key);
            size_t *klen = malloc(n * sizeof *klen);
            esi_term_info *ti = malloc(n * sizeof *ti);
            bool *found = malloc(n * sizeof *found);
            for (size_t j = 0; j < n; j++) {
                key[j] = (const uint8_t *)t[j].b;
                klen[j] = t[j].n;
            }
            rc = esi_segment_lookup_many(s, n, key, klen, ti, found, &e);
            ck_assert(rc == ES_OK || rc == ES_ECORRUPT);
            free(key);
            free(klen);
            free(ti);
            free(found);
            esi_segment_free(s);
        }
        free(b);
    }

    /* format 2.0: clear the flag, drop table and interval from firsts */
    uint8_t *b = malloc(len);
    memcpy(b, orig, len);
    b[12] &= (uint8_t)~ESI_DICT_FLAG_RESTARTS;
    memmove(b + tab_at, b + tail, len - tail);
    size_t len20 = len - tab - 4;
    uint8_t *tr = b + len20 - 16 - ESI_DICT_TRAILER;
    wr32(tr + 12, rd32(tr + 12) - (uint32_t)(tab + 4));
    dt_write(path, b, len20);
    esi_segment *s;
    ck_assert_msg(esi_segment_open(&s, dir, id, true, &e) == ES_OK, "%s", e.msg);
    ck_assert_uint_eq(s->dict_restart, 0);
    dt_probe_all(s, t, n, &st);
    dt_prefix(s, t, n, "b", 1);
    ck_assert_msg(esi_segment_check(s, &e) == ES_OK, "%s", e.msg);
    esi_segment_free(s);
    free(b);
    free(orig);
    esi_free(path);
    tu_rmrf(dir);
    free(dir);
    dt_free(t, n);
}
END_TEST

/* es_query_parse shares idle analyzers between threads: parses running at
 * once give what one thread alone gives. */
#define PT_THREADS 8
static const char *const pt_queries[] = {
    "教育部 规定", "\"高等学校\" OR 学生", "title:通知 -废止", "edu* 2024",
    "義務教育", "血浆站只 管部门 附则变速 四十二", "(a OR b) c", "学校 date:2020..2021",
};
#define PT_NQ (sizeof pt_queries / sizeof *pt_queries)
static char *pt_want[PT_NQ];

static char *pt_dump(const char *text)
{
    es_query *q = NULL;
    es_error err;
    es_status rc = es_query_parse(&q, text, strlen(text), &err);
    if (rc != ES_OK)
        return NULL;
    esi_buf b = { 0 };
    es_status brc = ES_OK;
    esi_query_dump(&brc, q, &b);
    esi_buf_put(&brc, &b, "", 1);
    es_query_free(q);
    return brc == ES_OK ? (char *)b.data : NULL;
}

static void *pt_thread(void *p)
{
    size_t seed = (size_t)(uintptr_t)p, bad = 0;
    for (size_t i = 0; i < 60; i++) {
        size_t k = (seed + i * 7) % PT_NQ;
        char *got = pt_dump(pt_queries[k]);
        bad += !got || strcmp(got, pt_want[k]) != 0;
        esi_free(got);
    }
    return (void *)(uintptr_t)bad;
}

START_TEST(test_query_parse_threads)
{
    for (size_t k = 0; k < PT_NQ; k++) {
        pt_want[k] = pt_dump(pt_queries[k]);
        ck_assert_ptr_nonnull(pt_want[k]);
    }
    pthread_t th[PT_THREADS];
    for (size_t i = 0; i < PT_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, pt_thread, (void *)(uintptr_t)i), 0);
    size_t bad = 0;
    for (size_t i = 0; i < PT_THREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (size_t)(uintptr_t)r;
    }
    ck_assert_uint_eq(bad, 0);
    /* a syntax error leaves the pooled analyzer usable */
    es_query *q = NULL;
    es_error err;
    ck_assert_int_eq(es_query_parse(&q, "(a", 2, &err), ES_ESYNTAX);
    char *again = pt_dump(pt_queries[0]);
    ck_assert_str_eq(again, pt_want[0]);
    esi_free(again);
    for (size_t k = 0; k < PT_NQ; k++)
        esi_free(pt_want[k]);
}
END_TEST


static Suite *query_suite(void)
{
    Suite *s = suite_create("query");
    const tu_case cases[] = {
        { "syntax_terms_and_or", test_query_syntax_terms_and_or },
        { "syntax_phrases", test_query_syntax_phrases },
        { "syntax_not", test_query_syntax_not },
        { "syntax_fields_dates_prefix", test_query_syntax_fields_dates_prefix },
        { "syntax_pasted_punctuation", test_query_syntax_pasted_punctuation },
        { "syntax_errors", test_query_syntax_errors },
        { "syntax_limits", test_query_syntax_limits },
        { "syntax_random_bytes", test_query_syntax_random_bytes_never_crash },
        { "syntax_enomem", test_query_syntax_enomem },
        { "parse_threads", test_query_parse_threads },
        { "dict_format20_and_damage", test_dict_format20_and_damage },
    };
    tu_add_cases(s, cases, TU_NCASES(cases), NULL, NULL, 120);
    tu_add_case(s, "dict_lookup_property", test_dict_lookup_property, 0, 11, 120);
    return s;
}

int main(void)
{
    return tu_run(query_suite());
}
