/*
 * bench_search.c: search latency on the shared corpus, in one process. Not
 * run by make check.
 *
 *   bench_search [INDEX_DIR [CORPUS.jsonl.gz [REPS [DUMP]]]]
 *
 * Opens INDEX_DIR (default /tmp/edusearch-bench-index) if it already holds
 * every document of the corpus, else (re)builds it with the public writer
 * API from the JSONL corpus (default /work/shared/corpus/main.jsonl.gz,
 * read with tools/json.c). Then generates a fixed query set from the corpus
 * with a fixed seed (the same queries on every run):
 *   - 1..4 bare words, common (high df) and rare (low df) ICU words
 *   - quoted phrases of 1..8 CJK characters cut from the documents
 * and times, per query, es_query_parse + es_search for "exact total + top
 * 10 with snippets" (REPS passes after one warm-up; every sample counts).
 * Also reported, per query class, through the internal executor
 * (esi_search_run, hence libescore): documents scored with and without
 * dynamic pruning, and whether the top 10 (ids and scores) agree.
 * With DUMP, every query's total, ids, snippets and match ranges are also
 * written to that file (to compare two builds' output with diff).
 *
 *   bench_search --snippets INDEX_DIR QUERIES [REPS [DUMP]]
 *
 * times esi_snippet_make alone: for every line of QUERIES (the file of
 * bench/run), the top 10 hits are fetched without snippets, then each hit's
 * snippet is built REPS times (default 5) on the thread's CPU clock; the
 * median and p95 over hits of the per-hit median are printed, also for hits
 * in documents of 64 KB and more. DUMP gets every snippet and its ranges.
 *
 *   bench_search --count INDEX_DIR QUERIES [REPS [COUNTS]]
 *
 * times counting alone (es_search with limit 0, exact total) per query on
 * the thread's CPU clock (median of REPS, default 5): p50/p95/p99 over all
 * queries and over the quoted ones, the ten slowest, and with COUNTS the
 * "count<TAB>query" lines of bench/run's COUNTS files. The environment
 * variables BENCH_LIMIT=N and BENCH_SNIPPETS=1 time a page of N hits (with
 * snippets) instead; BENCH_THREADS=N sets es_index_options.search_threads
 * of the three modes above (1 for instruction counts, see mode_open).
 */
#include "api/api.h"
#include "search/search.h"
#include "edusearch.h"
#include "benchgz.h"
#include "benchutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NQ_MAX 512

typedef struct wordc {
    char *w;
    size_t len;
    uint32_t df, last;   /* documents of the sample holding it; last doc seen */
} wordc;

typedef struct words {
    wordc *v;
    size_t n, cap;
    size_t *slot;        /* open-addressing hash into v */
    size_t nslot;
    uint32_t cur;        /* current doc */
} words;

typedef struct query {
    char text[256];
    int cls;             /* 0 common words, 1 rare words, 2 mixed, 3 phrase */
} query;

static const char *cls_name[4] = { "common words", "rare words", "mixed words",
                                   "phrases 1-8" };

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_search: %s: %s\n", what, msg);
    exit(1);
}

/* Read the corpus at path with bench_read_jsonl_gz; fn(obj) per object. */
static void read_jsonl(const char *path, void (*fn)(const jl_object *, void *),
                       void *p)
{
    if (bench_read_jsonl_gz(path, fn, p) != 0)
        die(path, "cannot open the corpus (pass its path as the 2nd argument)");
}

typedef struct build {
    es_writer *w;
    size_t n;
} build;

static void on_obj_add(const jl_object *o, void *p)
{
    build *b = p;
    const jl_field *id = jl_get(o, "id");
    if (!id)
        return;
    es_doc *d;
    if (es_doc_new(&d, id->value, id->value_len, NULL) != ES_OK)
        die("es_doc_new", id->value);
    static const char *fields[] = { "title", "date", "source" };
    for (size_t i = 0; i < 3; i++) {
        const jl_field *f = jl_get(o, fields[i]);
        if (f && f->value_len)
            es_doc_set_field(d, fields[i], f->value, f->value_len);
    }
    const jl_field *t = jl_get(o, "text");
    if (t)
        es_doc_set_text(d, t->value, t->value_len);
    if (es_writer_add(b->w, d) != ES_OK)
        die("es_writer_add", es_writer_errmsg(b->w));
    es_doc_free(d);
    b->n++;
}

/* Hash of bytes (FNV-1a). */
static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

static void words_add(words *ws, const char *w, size_t len)
{
    if (ws->n * 2 >= ws->nslot) {
        size_t ns = ws->nslot ? ws->nslot * 2 : 1 << 16;
        size_t *sl = malloc(ns * sizeof *sl);
        for (size_t i = 0; i < ns; i++)
            sl[i] = SIZE_MAX;
        for (size_t i = 0; i < ws->n; i++) {
            size_t h = hash(ws->v[i].w, ws->v[i].len) & (ns - 1);
            while (sl[h] != SIZE_MAX)
                h = (h + 1) & (ns - 1);
            sl[h] = i;
        }
        free(ws->slot);
        ws->slot = sl;
        ws->nslot = ns;
    }
    size_t h = hash(w, len) & (ws->nslot - 1);
    while (ws->slot[h] != SIZE_MAX) {
        wordc *c = &ws->v[ws->slot[h]];
        if (c->len == len && !memcmp(c->w, w, len)) {
            if (c->last != ws->cur) {
                c->df++;
                c->last = ws->cur;
            }
            return;
        }
        h = (h + 1) & (ws->nslot - 1);
    }
    if (ws->n == ws->cap)
        ws->v = realloc(ws->v, (ws->cap = ws->cap ? ws->cap * 2 : 4096) * sizeof *ws->v);
    wordc *c = &ws->v[ws->n];
    c->w = malloc(len + 1);
    memcpy(c->w, w, len);
    c->w[len] = 0;
    c->len = len;
    c->df = 1;
    c->last = ws->cur;
    ws->slot[h] = ws->n++;
}

/* Word tokens of 2+ CJK chars (and numbers) feed the vocabulary. */
static int on_word(const es_token *t, void *p)
{
    if ((t->kind == ES_TOKEN_WORD && t->span >= 2) ||
        (t->kind == ES_TOKEN_LATIN && t->term_len >= 3))
        words_add(p, t->term, t->term_len);
    return 0;
}

static int by_df_desc(const void *a, const void *b)
{
    const wordc *x = a, *y = b;
    if (x->df != y->df)
        return x->df < y->df ? 1 : -1;
    return strcmp(x->w, y->w);
}

/* A quoted phrase of k CJK characters from a random place of a random doc;
 * false if none found there. */
static bool cut_phrase(const bench_texts *c, uint64_t *st, size_t k, char *out,
                       size_t cap)
{
    const bench_text *d = &c->d[rnd(st) % c->n];
    if (d->len < 64)
        return false;
    size_t at = rnd(st) % d->len;
    while (at < d->len && ((uint8_t)d->text[at] & 0xc0) == 0x80)
        at++;
    size_t j = at;
    for (size_t i = 0; i < k; i++) {
        size_t pj = j;
        if (j >= d->len)
            return false;
        uint32_t u = esi_utf8_next((const uint8_t *)d->text, d->len, &j);
        if (!esi_is_cjk(u) || j - pj != 3)
            return false;
    }
    if (j - at + 3 > cap)
        return false;
    snprintf(out, cap, "\"%.*s\"", (int)(j - at), d->text + at);
    return true;
}

static size_t make_queries(const bench_texts *c, query *qs)
{
    words ws = { 0 };
    for (size_t i = 0; i < c->n; i += 8) {   /* a 1-in-8 sample for df */
        ws.cur = (uint32_t)i + 1;
        es_tokenize(c->d[i].text, c->d[i].len, ES_TOKENIZE_WORDS, on_word, &ws, NULL);
    }
    qsort(ws.v, ws.n, sizeof *ws.v, by_df_desc);
    size_t ncommon = ws.n < 300 ? ws.n : 300;
    size_t rare_lo = ws.n / 4, rare_n = ws.n / 2;   /* mid-to-low df band */
    uint64_t st = 0x9e3779b97f4a7c15ULL;
    size_t n = 0;
    for (int cls = 0; cls < 3; cls++)
        for (int i = 0; i < 60; i++) {
            size_t nw = 1 + (size_t)i % 4;
            char *p = qs[n].text;
            size_t left = sizeof qs[n].text;
            for (size_t w = 0; w < nw; w++) {
                bool common = cls == 0 || (cls == 2 && w % 2 == 0);
                const wordc *x = common ? &ws.v[rnd(&st) % ncommon]
                                        : &ws.v[rare_lo + rnd(&st) % rare_n];
                int k = snprintf(p, left, "%s%s", w ? " " : "", x->w);
                if (k < 0 || (size_t)k >= left)
                    break;
                p += k;
                left -= (size_t)k;
            }
            qs[n++].cls = cls;
        }
    for (int i = 0; n < NQ_MAX && i < 80;) {
        if (cut_phrase(c, &st, 1 + (size_t)i % 8, qs[n].text, sizeof qs[n].text)) {
            qs[n++].cls = 3;
            i++;
        }
    }
    for (size_t i = 0; i < ws.n; i++)
        free(ws.v[i].w);
    free(ws.v);
    free(ws.slot);
    return n;
}

/* Internal run of q: scored docs, and the top 10. */
static uint64_t internal_run(es_index *ix, const es_query *q, bool prune,
                             bool exact, esi_hit **hits, size_t *nh)
{
    esi_search_stats st = { 0 };
    esi_search_params sp = { 0, 10, ES_SORT_SCORE, 1.2, 0.75, exact, !prune, &st,
                             NULL, 0, 0, 0, 0, 0, false, NULL };
    uint64_t total;
    esi_err e = { 0 };
    if (esi_search_run(ix->snap, q, &sp, hits, nh, &total, &e) != ES_OK)
        die("esi_search_run", e.msg);
    return st.scored;
}

/* Median of v[0..n) (sorts v). */
static double median_of(double *v, size_t n)
{
    bench_sort(v, n);
    return bench_percentile(v, n, 50);
}

/* What the --snippets and --count modes share: REPS, the query file, the
 * optional output file (a dump or the counts) and the open index. */
typedef struct mode {
    int reps;
    FILE *queries, *out;
    es_index *ix;
} mode;

/* Open what `bench_search MODE INDEX_DIR QUERIES [REPS [OUT]]` names; false
 * (usage printed) when arguments are missing. out_what names OUT in the
 * message if it cannot be written. */
static bool mode_open(int argc, char **argv, const char *usage, const char *out_what,
                      mode *m)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_search %s\n", usage);
        return false;
    }
    m->reps = argc > 4 ? atoi(argv[4]) : 5;
    if (m->reps < 1 || m->reps > 64)
        m->reps = 5;
    m->queries = fopen(argv[3], "r");
    if (!m->queries)
        die(argv[3], "cannot read the query file");
    m->out = argc > 5 ? fopen(argv[5], "w") : NULL;
    if (argc > 5 && !m->out)
        die(argv[5], out_what);
    es_error err;
    m->ix = NULL;
    /* BENCH_THREADS=N: es_index_options.search_threads (default 0). Give 1
     * when counting instructions with callgrind's --toggle-collect on the
     * search: a split search's worker threads run outside the toggled
     * function, so what they do would not be counted, and how much they
     * take depends on the scheduling. */
    es_index_options io = ES_INDEX_OPTIONS_INIT;
    if (getenv("BENCH_THREADS"))
        io.search_threads = (unsigned)strtoul(getenv("BENCH_THREADS"), NULL, 10);
    if (es_index_open_opts(&m->ix, argv[2], &io, &err) != ES_OK)
        die(argv[2], err.message);
    return true;
}

/* Close what mode_open opened. */
static void mode_close(mode *m)
{
    if (m->out)
        fclose(m->out);
    fclose(m->queries);
    es_index_free(m->ix);
}

/* The next non-empty line of f, without its line end, in line[cap]; false
 * at the end of the file. */
static bool next_line(FILE *f, char *line, size_t cap, size_t *len)
{
    while (fgets(line, (int)cap, f)) {
        *len = strcspn(line, "\r\n");
        line[*len] = 0;
        if (*len)
            return true;
    }
    return false;
}

/* One query's work in a mode: reset (untimed; may be NULL) clears what the
 * previous run left, run does the work that is timed. */
typedef struct timed {
    void (*reset)(void *arg);
    void (*run)(void *arg);
    void *arg;
} timed;

/* Median thread CPU milliseconds of reps (1..64) runs of t, each after its
 * reset. The last run's results stay for the caller. */
static double median_cpu_ms(const timed *t, int reps)
{
    double one[64];
    for (int rep = 0; rep < reps; rep++) {
        if (t->reset)
            t->reset(t->arg);
        double c0 = bench_thread_cpu();
        t->run(t->arg);
        one[rep] = (bench_thread_cpu() - c0) * 1e3;
    }
    return median_of(one, (size_t)reps);
}

/* One snippet of the --snippets mode: its inputs and its results. */
typedef struct snip {
    esi_analyzer *a;
    const es_query *q;
    const char *text;
    size_t len;
    const esi_snippet_params *sp;
    esi_buf out;
    es_range *rg;
    size_t nr;
    esi_err e;
} snip;

/* Drop the snippet and ranges of the previous run of s. */
static void snip_reset(void *arg)
{
    snip *s = arg;
    esi_free(s->rg);
    s->rg = NULL;
    esi_buf_reset(&s->out);
}

/* Build the snippet of s (dies on failure). */
static void snip_run(void *arg)
{
    snip *s = arg;
    if (esi_snippet_make(s->a, s->q, s->text, s->len, s->sp, &s->out, &s->rg, &s->nr,
                         &s->e) != ES_OK)
        die("esi_snippet_make", s->e.msg);
}

/* The --snippets mode (see the top of the file). */
static int snippet_bench(int argc, char **argv)
{
    mode md;
    if (!mode_open(argc, argv, "--snippets INDEX_DIR QUERIES [REPS [DUMP]]",
                   "cannot write the dump", &md))
        return 2;
    int reps = md.reps;
    FILE *dump = md.out;
    es_error err;
    esi_analyzer *a = NULL;
    esi_err e = { 0 };
    if (esi_analyzer_new(&a, &e) != ES_OK)
        die("analyzer", e.msg);
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    o.limit = 10;
    o.snippets = 0;
    esi_snippet_params sp = { "[", "]", 2, 120 };
    size_t cap = 8192, n = 0, nbig = 0;
    double *t = malloc(cap * sizeof *t), *tb = malloc(cap * sizeof *tb);
    double sum = 0;
    snip sn = { .a = a, .sp = &sp };
    timed tm = { snip_reset, snip_run, &sn };
    char line[1024];
    size_t ll;
    while (next_line(md.queries, line, sizeof line, &ll)) {
        es_query *q;
        es_results *r;
        if (es_query_parse(&q, line, ll, &err) != ES_OK)
            continue;
        if (es_search(&r, md.ix, q, &o, &err) != ES_OK)
            die(line, err.message);
        if (dump)
            fprintf(dump, "Q %s\n", line);
        sn.q = q;
        for (size_t k = 0; k < es_results_count(r); k++) {
            sn.text = es_results_text(r, k, &sn.len);
            sn.nr = 0;
            if (n == cap) {
                cap *= 2;
                t = realloc(t, cap * sizeof *t);
                tb = realloc(tb, cap * sizeof *tb);
            }
            double m = median_cpu_ms(&tm, reps);
            sum += m;
            t[n++] = m;
            if (sn.len >= 65536)
                tb[nbig++] = m;
            if (dump) {
                fprintf(dump, "%s %zu", es_results_id(r, k, NULL), sn.nr);
                for (size_t j = 0; j < sn.nr; j++)
                    fprintf(dump, " %zu-%zu", sn.rg[j].start, sn.rg[j].end);
                fprintf(dump, "\n%.*s\n", (int)sn.out.len,
                        sn.out.data ? (char *)sn.out.data : "");
            }
            esi_free(sn.rg);
            sn.rg = NULL;
        }
        es_results_free(r);
        es_query_free(q);
    }
    bench_sort(t, n);
    bench_sort(tb, nbig);
    printf("snippet per hit, CPU ms: n=%zu median %.4f p95 %.4f p99 %.4f max %.4f "
           "mean %.4f\n", n, bench_percentile(t, n, 50), bench_percentile(t, n, 95),
           bench_percentile(t, n, 99), n ? t[n - 1] : 0.0, n ? sum / (double)n : 0.0);
    if (nbig)
        printf("  docs >= 64 KB: n=%zu median %.4f p95 %.4f max %.4f\n", nbig,
               bench_percentile(tb, nbig, 50), bench_percentile(tb, nbig, 95),
               tb[nbig - 1]);
    esi_buf_free(&sn.out);
    free(t);
    free(tb);
    esi_analyzer_free(a);
    mode_close(&md);
    return 0;
}

/* A query's time, for the slowest list. */
typedef struct qtime {
    double ms;
    char *text;
} qtime;

/* Order query times slowest first. */
static int cmp_qtime(const void *a, const void *b)
{
    const qtime *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : 0;
}

/* One search of the --count mode: its inputs and its results. */
typedef struct count {
    es_index *ix;
    const es_query *q;
    const es_search_options *o;
    const char *line;
    es_results *r;
    es_error err;
} count;

/* Free the results of the previous search of c. */
static void count_reset(void *arg)
{
    count *c = arg;
    es_results_free(c->r);
    c->r = NULL;
}

/* Run the search of c (dies on failure). */
static void count_run(void *arg)
{
    count *c = arg;
    if (es_search(&c->r, c->ix, c->q, c->o, &c->err) != ES_OK)
        die(c->line, c->err.message);
}

/* The --count mode (see the top of the file). */
static int count_bench(int argc, char **argv)
{
    mode md;
    if (!mode_open(argc, argv, "--count INDEX_DIR QUERIES [REPS [COUNTS]]",
                   "cannot write the counts", &md))
        return 2;
    int reps = md.reps;
    FILE *cf = md.out;
    es_error err;
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    o.limit = getenv("BENCH_LIMIT") ? (size_t)strtoul(getenv("BENCH_LIMIT"), NULL, 10) : 0;
    o.snippets = getenv("BENCH_SNIPPETS") ? 1 : 0;
    o.exact_total = 1;
    qtime *all = calloc(4096, sizeof *all);
    double *ph = calloc(4096, sizeof *ph), *t = calloc(4096, sizeof *t);
    size_t n = 0, nph = 0;
    char line[1024];
    size_t ll;
    count cn = { .ix = md.ix, .o = &o, .line = line };
    timed tm = { count_reset, count_run, &cn };
    while (n < 4096 && next_line(md.queries, line, sizeof line, &ll)) {
        es_query *q;
        if (es_query_parse(&q, line, ll, &err) != ES_OK) {
            if (cf)
                fprintf(cf, "-1\t%s\n", line);
            continue;
        }
        cn.q = q;
        double m = median_cpu_ms(&tm, reps);
        uint64_t total = es_results_total(cn.r);
        count_reset(&cn);
        if (cf)
            fprintf(cf, "%llu\t%s\n", (unsigned long long)total, line);
        all[n].ms = m;
        all[n].text = strdup(line);
        t[n++] = m;
        if (line[0] == '"')
            ph[nph++] = m;
        es_query_free(q);
    }
    bench_sort(t, n);
    bench_sort(ph, nph);
    printf("limit %zu%s, CPU ms: all n=%zu p50 %.4f p95 %.4f p99 %.4f max %.4f\n",
           o.limit, o.snippets ? " with snippets" : "", n, bench_percentile(t, n, 50),
           bench_percentile(t, n, 95), bench_percentile(t, n, 99), n ? t[n - 1] : 0.0);
    printf("  phrases n=%zu p50 %.4f p95 %.4f p99 %.4f max %.4f\n", nph,
           bench_percentile(ph, nph, 50), bench_percentile(ph, nph, 95),
           bench_percentile(ph, nph, 99), nph ? ph[nph - 1] : 0.0);
    qsort(all, n, sizeof *all, cmp_qtime);
    for (size_t i = 0; i < n && i < 10; i++)
        printf("  %.4f %s\n", all[i].ms, all[i].text);
    for (size_t i = 0; i < n; i++)
        free(all[i].text);
    free(all);
    free(ph);
    free(t);
    mode_close(&md);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--count"))
        return count_bench(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "--snippets"))
        return snippet_bench(argc, argv);
    const char *dir = argc > 1 ? argv[1] : "/tmp/edusearch-bench-index";
    const char *path = argc > 2 ? argv[2] : "/work/shared/corpus/main.jsonl.gz";
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (reps < 1)
        reps = 1;
    bench_texts c;
    double t0 = bench_now();
    if (bench_load_texts_gz(path, &c) != 0)
        die(path, "cannot open the corpus (pass its path as the 2nd argument)");
    printf("corpus: %zu docs read in %.2f s\n", c.n, bench_now() - t0);
    es_index *ix = NULL;
    es_error err;
    if (es_index_open(&ix, dir, &err) != ES_OK || es_index_doc_count(ix) != c.n) {
        es_index_free(ix);
        ix = NULL;
        es_writer_options wo = ES_WRITER_OPTIONS_INIT;
        wo.fsync = 0;
        wo.ram_buffer_bytes = (size_t)512 << 20;
        build b = { 0 };
        t0 = bench_now();
        if (es_writer_open(&b.w, dir, &wo, &err) != ES_OK)
            die(dir, err.message);
        read_jsonl(path, on_obj_add, &b);
        if (es_writer_commit(b.w) != ES_OK)
            die("commit", es_writer_errmsg(b.w));
        es_writer_free(b.w);
        printf("index: built %s (%zu docs) in %.1f s\n", dir, b.n, bench_now() - t0);
        if (es_index_open(&ix, dir, &err) != ES_OK)
            die(dir, err.message);
    } else {
        printf("index: reusing %s\n", dir);
    }
    es_stats stt = { .version = ES_STATS_VERSION };
    es_index_stats(ix, &stt);
    printf("index: %llu docs, %llu segments\n", (unsigned long long)stt.documents,
           (unsigned long long)stt.segments);

    static query qs[NQ_MAX];
    size_t nq = make_queries(&c, qs);
    printf("queries: %zu (60 common-word, 60 rare-word, 60 mixed, %zu phrases)\n",
           nq, nq - 180);
    bench_texts_free(&c);

    /* parsed queries, for the internal runs */
    es_query **pq = calloc(nq, sizeof *pq);
    for (size_t i = 0; i < nq; i++)
        if (es_query_parse(&pq[i], qs[i].text, strlen(qs[i].text), &err) != ES_OK)
            die(qs[i].text, err.message);

    if (argc > 4) {
        FILE *f = fopen(argv[4], "w");
        if (!f)
            die(argv[4], "cannot write the dump");
        es_search_options od = ES_SEARCH_OPTIONS_INIT;
        for (size_t i = 0; i < nq; i++) {
            es_results *r;
            if (es_search(&r, ix, pq[i], &od, &err) != ES_OK)
                die(qs[i].text, err.message);
            fprintf(f, "Q %s\t%llu\n", qs[i].text,
                    (unsigned long long)es_results_total(r));
            for (size_t k = 0; k < es_results_count(r); k++) {
                const es_range *rg;
                size_t nr = es_results_matches(r, k, &rg);
                fprintf(f, "%s %.6f %zu", es_results_id(r, k, NULL),
                        es_results_score(r, k), nr);
                for (size_t j = 0; j < nr; j++)
                    fprintf(f, " %zu-%zu", rg[j].start, rg[j].end);
                fprintf(f, "\n%s\n", es_results_snippet(r, k, NULL));
            }
            es_results_free(r);
        }
        fclose(f);
    }

    /* 1. latency through the public API */
    es_search_options o = ES_SEARCH_OPTIONS_INIT;
    o.limit = 10;
    o.exact_total = 1;
    double *lat = malloc(sizeof *lat * nq * (size_t)reps);
    double *cpu = malloc(sizeof *cpu * nq * (size_t)reps);
    double *lcls[4];
    size_t ncls[4] = { 0 };
    for (int k = 0; k < 4; k++)
        lcls[k] = malloc(sizeof *lat * nq * (size_t)reps);
    size_t nl = 0;
    uint64_t hits_total = 0;
    for (int rep = -1; rep < reps; rep++)
        for (size_t i = 0; i < nq; i++) {
            double a = bench_now(), ca = bench_thread_cpu();
            es_query *q;
            es_results *r;
            if (es_query_parse(&q, qs[i].text, strlen(qs[i].text), &err) != ES_OK)
                die(qs[i].text, err.message);
            if (es_search(&r, ix, q, &o, &err) != ES_OK)
                die(qs[i].text, err.message);
            double ms = (bench_now() - a) * 1e3;
            if (rep >= 0) {
                cpu[nl] = (bench_thread_cpu() - ca) * 1e3;
                lat[nl++] = ms;
                lcls[qs[i].cls][ncls[qs[i].cls]++] = ms;
            } else {
                hits_total += es_results_total(r);
            }
            es_results_free(r);
            es_query_free(q);
        }
    bench_sort(lat, nl);
    printf("\nlatency, parse + search (exact total, top 10 with snippets), "
           "%d passes, ms:\n", reps);
    printf("  %-14s n=%-4zu p50 %7.3f  p95 %7.3f  p99 %7.3f  max %7.3f\n", "all",
           nl, bench_percentile(lat, nl, 50), bench_percentile(lat, nl, 95),
           bench_percentile(lat, nl, 99), lat[nl - 1]);
    bench_sort(cpu, nl);
    printf("  %-14s n=%-4zu p50 %7.3f  p95 %7.3f  p99 %7.3f  max %7.3f\n",
           "all, CPU time", nl, bench_percentile(cpu, nl, 50), bench_percentile(cpu, nl, 95),
           bench_percentile(cpu, nl, 99), cpu[nl - 1]);
    for (int k = 0; k < 4; k++) {
        bench_sort(lcls[k], ncls[k]);
        printf("  %-14s n=%-4zu p50 %7.3f  p95 %7.3f  p99 %7.3f\n", cls_name[k],
               ncls[k], bench_percentile(lcls[k], ncls[k], 50),
               bench_percentile(lcls[k], ncls[k], 95), bench_percentile(lcls[k], ncls[k], 99));
    }
    printf("  (matching documents over the set: %llu)\n",
           (unsigned long long)hits_total);

    /* 1b. where the time goes: parse alone, search without a page */
    {
        double *pa = malloc(sizeof *pa * nq), *cn = malloc(sizeof *cn * nq);
        es_search_options oc = ES_SEARCH_OPTIONS_INIT;
        oc.limit = 0;
        for (size_t i = 0; i < nq; i++) {
            es_query *q;
            es_results *r;
            double a = bench_now();
            if (es_query_parse(&q, qs[i].text, strlen(qs[i].text), &err) != ES_OK)
                die(qs[i].text, err.message);
            double b = bench_now();
            if (es_search(&r, ix, pq[i], &oc, &err) != ES_OK)
                die(qs[i].text, err.message);
            double d = bench_now();
            pa[i] = (b - a) * 1e3;
            cn[i] = (d - b) * 1e3;
            es_results_free(r);
            es_query_free(q);
        }
        bench_sort(pa, nq);
        bench_sort(cn, nq);
        printf("  %-14s p50 %7.3f  p95 %7.3f  p99 %7.3f\n", "parse only",
               bench_percentile(pa, nq, 50), bench_percentile(pa, nq, 95),
               bench_percentile(pa, nq, 99));
        printf("  %-14s p50 %7.3f  p95 %7.3f  p99 %7.3f\n", "count only",
               bench_percentile(cn, nq, 50), bench_percentile(cn, nq, 95),
               bench_percentile(cn, nq, 99));
        free(pa);
        free(cn);
    }

    /* 2. executor only, pruned vs exhaustive */
    uint64_t sc[4][2] = { { 0 } };
    double tx[4][2] = { { 0 } };
    size_t differ = 0;
    for (size_t i = 0; i < nq; i++) {
        esi_hit *h0, *h1;
        size_t n0, n1;
        double a = bench_now();
        sc[qs[i].cls][0] += internal_run(ix, pq[i], false, true, &h0, &n0);
        double b = bench_now();
        sc[qs[i].cls][1] += internal_run(ix, pq[i], true, false, &h1, &n1);
        double d = bench_now();
        tx[qs[i].cls][0] += b - a;
        tx[qs[i].cls][1] += d - b;
        bool same = n0 == n1;
        for (size_t k = 0; same && k < n0; k++)
            same = h0[k].seg == h1[k].seg && h0[k].doc == h1[k].doc &&
                   fabs(h0[k].score - h1[k].score) <= 1e-9 * fabs(h0[k].score);
        if (!same) {
            differ++;
            printf("  top-10 differs: %s\n", qs[i].text);
        }
        esi_free(h0);
        esi_free(h1);
    }
    printf("\nexecutor only (top 10): documents scored, exhaustive vs pruned "
           "(exact_total=0):\n");
    for (int k = 0; k < 4; k++)
        printf("  %-14s %10llu  %10llu  factor %6.2f   time %.3f vs %.3f ms/query\n",
               cls_name[k], (unsigned long long)sc[k][0],
               (unsigned long long)sc[k][1],
               sc[k][1] ? (double)sc[k][0] / (double)sc[k][1] : 0.0,
               tx[k][0] * 1e3 / (double)(ncls[k] / (size_t)reps),
               tx[k][1] * 1e3 / (double)(ncls[k] / (size_t)reps));
    printf("  top-10 identical on %zu of %zu queries\n", nq - differ, nq);
    for (size_t i = 0; i < nq; i++)
        es_query_free(pq[i]);
    free(pq);
    free(lat);
    free(cpu);
    for (int k = 0; k < 4; k++)
        free(lcls[k]);
    es_index_free(ix);
    return differ ? 1 : 0;
}
