/*
 * benchutil.c: the measuring half of every benchmark driver (see
 * benchutil.h). It owns reading the corpus (tools/json.c parses each line)
 * and the query file, the timing loop (one untimed warm-up pass over all
 * queries, then one timed pass, each query timed alone with clock_gettime),
 * the clocks, the percentiles, splitting a query into words, peak RSS and
 * index size, and the metric lines that bench/run reads. The corpus is loaded into memory before the build clock
 * starts, so build time is the engine's alone; the RSS it costs is printed
 * as baseline_rss_kb.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "benchutil.h"
#include "../tools/json.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long bench_peak_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}

double bench_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static long long disk_sum;

/* nftw callback: add the size of each regular file. */
static int add_size(const char *path, const struct stat *st, int type,
                    struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F && S_ISREG(st->st_mode))
        disk_sum += (long long)st->st_size;
    return 0;
}

long long bench_disk_bytes(const char *path)
{
    disk_sum = 0;
    if (nftw(path, add_size, 16, FTW_PHYS) != 0)
        return -1;
    return disk_sum;
}

int bench_is_phrase(const char *s, size_t len)
{
    if (len < 2 || s[0] != '"' || s[len - 1] != '"')
        return 0;
    return memchr(s + 1, '"', len - 2) == NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double bench_median(double *v, size_t n)
{
    bench_sort(v, n);
    return v[n / 2];
}

double bench_percentile(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

int bench_next_word(const char **p, const char *end, const char **w, size_t *n)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    *w = s;
    while (s < end && *s != ' ')
        s++;
    *p = s;
    *n = (size_t)(s - *w);
    return *n > 0;
}

/* Exit with a message naming what failed. */
static void die(const char *what, const char *path)
{
    fprintf(stderr, "bench: %s: %s: %s\n", path, what, errno ? strerror(errno) : "failed");
    exit(2);
}

/* Take ownership of the decoded value of member name (or an empty string). */
static char *steal(jl_object *o, const char *name, size_t *len)
{
    for (size_t i = o->n; i-- > 0;) {
        if (strcmp(o->fields[i].name, name) == 0) {
            char *v = o->fields[i].value;
            *len = o->fields[i].value_len;
            o->fields[i].value = NULL;
            return v;
        }
    }
    *len = 0;
    char *v = calloc(1, 1);
    if (!v)
        die("out of memory", name);
    return v;
}

/* Read every document of a JSON Lines file. */
static void load_corpus(const char *path, bench_corpus *c)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open the corpus", path);
    char *line = NULL;
    size_t cap = 0, alloc = 0, lineno = 0;
    ssize_t n;
    memset(c, 0, sizeof *c);
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        jl_object o;
        char err[256];
        if (jl_parse(line, (size_t)n, &o, err, sizeof err) != 0) {
            fprintf(stderr, "bench: %s:%zu: %s\n", path, lineno, err);
            exit(2);
        }
        if (c->n == alloc) {
            alloc = alloc ? alloc * 2 : 1024;
            c->docs = realloc(c->docs, alloc * sizeof *c->docs);
            if (!c->docs)
                die("out of memory", path);
        }
        bench_doc *d = &c->docs[c->n++];
        d->id = steal(&o, "id", &d->id_len);
        d->title = steal(&o, "title", &d->title_len);
        d->date = steal(&o, "date", &d->date_len);
        d->text = steal(&o, "text", &d->text_len);
        if (d->id_len == 0) {
            fprintf(stderr, "bench: %s:%zu: document without an id\n", path, lineno);
            exit(2);
        }
        c->text_bytes += d->text_len;
        jl_free(&o);
    }
    if (ferror(f))
        die("read error", path);
    free(line);
    fclose(f);
}

/* Read the query file: one query per non-empty line. */
static bench_query *load_queries(const char *path, size_t *nq)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open the query file", path);
    bench_query *qs = NULL;
    size_t n = 0, alloc = 0, cap = 0;
    char *line = NULL;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 512;
            qs = realloc(qs, alloc * sizeof *qs);
            if (!qs)
                die("out of memory", path);
        }
        bench_query *q = &qs[n++];
        q->text = strndup(line, (size_t)len);
        if (!q->text)
            die("out of memory", path);
        q->len = (size_t)len;
        q->phrase = bench_is_phrase(q->text, q->len);
        q->inner = q->phrase ? q->text + 1 : q->text;
        q->inner_len = q->phrase ? q->len - 2 : q->len;
    }
    free(line);
    fclose(f);
    *nq = n;
    return qs;
}

/* Print p50/p95/p99/mean/max of the latencies of the queries selected by
 * want (-1 all, 0 multi-term, 1 phrase) under prefix. */
static void report(const char *prefix, const double *ms, const bench_query *qs,
                   size_t nq, int want)
{
    double *v = malloc((nq ? nq : 1) * sizeof *v), sum = 0;
    size_t n = 0;
    if (!v)
        die("out of memory", "latencies");
    for (size_t i = 0; i < nq; i++)
        if (want < 0 || qs[i].phrase == want) {
            v[n++] = ms[i];
            sum += ms[i];
        }
    bench_sort(v, n);
    printf("%s_p50_ms %.4f\n", prefix, bench_percentile(v, n, 50));
    printf("%s_p95_ms %.4f\n", prefix, bench_percentile(v, n, 95));
    printf("%s_p99_ms %.4f\n", prefix, bench_percentile(v, n, 99));
    printf("%s_mean_ms %.4f\n", prefix, n ? sum / (double)n : 0);
    printf("%s_max_ms %.4f\n", prefix, n ? v[n - 1] : 0);
    free(v);
}

/* BENCH_PASSES: timed sweeps over the whole query set (default 3, at most
 * 15). A query's latency is the median of its sweeps, so a burst of other
 * work on the VM during one sweep does not become that query's time. */
static long bench_passes(void)
{
    const char *pe = getenv("BENCH_PASSES");
    long passes = pe ? strtol(pe, NULL, 10) : 3;
    return passes < 1 || passes > 15 ? 3 : passes;
}

/* Time passes sweeps of queries qs[0..nq) on engines e[0..ne), the engine
 * going first taking turns from sweep to sweep, so that what the machine
 * does meanwhile falls on every engine alike. By sweep (mixed 0), each
 * engine runs the whole query set before the next one starts, its queries
 * back to back as in its own run; mixed, every query runs on every engine
 * in turn, so each query finds the caches the other engine's last query
 * left. ms[j][i] gets the median latency of query i on engine j, counts[j][i]
 * its count (the same in every sweep, or the run stops). 0, or -1 when an
 * engine failed (its message printed). */
static int time_sweeps(const bench_engine *const *e, size_t ne, const bench_query *qs,
                       size_t nq, long passes, int mixed, double **ms, long long **counts)
{
    size_t np = (size_t)passes, nt = nq * ne;
    double *sweep = malloc((nt ? nt : 1) * np * sizeof *sweep);
    if (!sweep)
        die("out of memory", "latencies");
    for (size_t k = 0; k < np; k++)
        for (size_t x = 0; x < nt; x++) {
            /* the x-th run of sweep k: query i on engine j */
            size_t i = mixed ? x / ne : x % nq, t = mixed ? x % ne : x / nq;
            size_t j = (t + k) % ne;
            long long cnt;
            double q0 = bench_now();
            if (e[j]->query(e[j]->st, &qs[i], &cnt) != 0) {
                free(sweep);
                return -1;
            }
            sweep[(j * nq + i) * np + k] = (bench_now() - q0) * 1e3;
            if (k == 0)
                counts[j][i] = cnt;
            else if (cnt != counts[j][i]) {
                errno = 0;             /* not a system error: no strerror */
                die("a query's count changed between sweeps", qs[i].text);
            }
        }
    for (size_t j = 0; j < ne; j++)
        for (size_t i = 0; i < nq; i++)
            ms[j][i] = bench_median(sweep + (j * nq + i) * np, np);
    free(sweep);
    return 0;
}

int bench_main(int argc, char **argv, const bench_engine *e)
{
    int warm = 1, search_only = 0;
    while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--no-warm") == 0)
            warm = 0;
        else if (strcmp(argv[1], "--search-only") == 0)
            search_only = 1;
        else
            break;
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: %s [--no-warm] [--search-only] CORPUS.jsonl QUERIES "
                        "INDEX_PATH COUNTS_OUT\n"
                        "  --no-warm      no untimed pass over the queries first\n"
                        "  --search-only  search the index already at INDEX_PATH "
                        "(for profiling the queries alone)\n",
                argv[0]);
        return 2;
    }
    const char *corpus = argv[1], *qpath = argv[2], *ipath = argv[3], *cpath = argv[4];
    bench_corpus c;
    size_t nq;
    double t0 = bench_now();
    load_corpus(corpus, &c);
    bench_query *qs = load_queries(qpath, &nq);
    printf("engine %s\n", e->name);
    printf("docs %zu\n", c.n);
    printf("text_bytes %zu\n", c.text_bytes);
    printf("load_seconds %.3f\n", bench_now() - t0);
    printf("baseline_rss_kb %ld\n", bench_peak_rss_kb());
    fflush(stdout);

    double cpu0 = bench_cpu();
    t0 = bench_now();
    if (search_only) {
        printf("build_skipped 1\n");
    } else if (e->build(e->st, &c, ipath) != 0) {
        return 1;
    }
    double build = bench_now() - t0;
    printf("build_seconds %.3f\n", build);
    printf("build_cpu_seconds %.3f\n", bench_cpu() - cpu0);
    printf("mb_per_s %.3f\n", (double)c.text_bytes / 1e6 / build);
    printf("build_rss_kb %ld\n", bench_peak_rss_kb());
    printf("index_bytes %lld\n", bench_disk_bytes(ipath));
    fflush(stdout);

    if (e->open(e->st, ipath) != 0)
        return 1;
    long passes = bench_passes();
    double *ms = malloc((nq ? nq : 1) * sizeof *ms);
    long long *counts = malloc((nq ? nq : 1) * sizeof *counts);
    if (!ms || !counts)
        die("out of memory", "latencies");
    /* the untimed warm-up sweep, then the timed ones */
    if ((warm && time_sweeps(&e, 1, qs, nq, 1, 0, &ms, &counts) != 0) ||
        time_sweeps(&e, 1, qs, nq, passes, 0, &ms, &counts) != 0)
        return 1;
    printf("queries %zu\n", nq);
    printf("timed_passes %ld\n", passes);
    report("latency", ms, qs, nq, -1);
    report("phrase", ms, qs, nq, 1);
    report("multi", ms, qs, nq, 0);
    printf("peak_rss_kb %ld\n", bench_peak_rss_kb());
    e->close(e->st);

    FILE *out = fopen(cpath, "w");
    if (!out)
        die("cannot create the counts file", cpath);
    for (size_t i = 0; i < nq; i++)
        fprintf(out, "%lld\t%s\n", counts[i], qs[i].text);
    if (fclose(out) != 0)
        die("cannot write the counts file", cpath);
    /* A per-query latency file beside the counts, for looking at outliers. */
    size_t cl = strlen(cpath);
    char *lpath = malloc(cl + 8);
    if (lpath) {
        memcpy(lpath, cpath, cl);
        memcpy(lpath + cl, ".ms", 4);
        if ((out = fopen(lpath, "w")) != NULL) {
            for (size_t i = 0; i < nq; i++)
                fprintf(out, "%.4f\t%s\n", ms[i], qs[i].text);
            fclose(out);
        }
        free(lpath);
    }

    for (size_t i = 0; i < c.n; i++) {
        free(c.docs[i].id);
        free(c.docs[i].title);
        free(c.docs[i].date);
        free(c.docs[i].text);
    }
    free(c.docs);
    for (size_t i = 0; i < nq; i++)
        free(qs[i].text);
    free(qs);
    free(ms);
    free(counts);
    return 0;
}

/* The p-th percentile of ms[0..n) (copied, then sorted). */
static double percentile_of(const double *ms, size_t n, double p)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        die("out of memory", "latencies");
    memcpy(v, ms, n * sizeof *v);
    bench_sort(v, n);
    double x = bench_percentile(v, n, p);
    free(v);
    return x;
}

int bench_pair_main(int argc, char **argv, const bench_engine *a, const bench_engine *b)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s QUERIES INDEX_%s INDEX_%s\n"
                        "  times the queries on both engines in turn (their indexes "
                        "already built)\n",
                argv[0], a->name, b->name);
        return 2;
    }
    size_t nq;
    bench_query *qs = load_queries(argv[1], &nq);
    const bench_engine *e[2] = { a, b };
    if (a->open(a->st, argv[2]) != 0 || b->open(b->st, argv[3]) != 0)
        return 1;
    long passes = bench_passes();
    double *ms[2];
    long long *counts[2];
    for (int j = 0; j < 2; j++) {
        ms[j] = malloc((nq ? nq : 1) * sizeof *ms[j]);
        counts[j] = malloc((nq ? nq : 1) * sizeof *counts[j]);
        if (!ms[j] || !counts[j])
            die("out of memory", "latencies");
    }
    printf("pair_engines %s %s\n", a->name, b->name);
    printf("pair_queries %zu\n", nq);
    printf("pair_timed_passes %ld\n", passes);
    /* one untimed sweep (the warm-up), then the timed ones: by sweep
     * (pair_), then query by query (mixed_) */
    static const char *const mode[2] = { "pair", "mixed" };
    static const double pct[3] = { 50, 95, 99 };
    for (int mixed = 0; mixed < 2; mixed++) {
        if ((mixed == 0 && time_sweeps(e, 2, qs, nq, 1, 0, ms, counts) != 0) ||
            time_sweeps(e, 2, qs, nq, passes, mixed, ms, counts) != 0)
            return 1;
        for (int k = 0; k < 3; k++) {
            double x = percentile_of(ms[0], nq, pct[k]), y = percentile_of(ms[1], nq, pct[k]);
            printf("%s_a_p%.0f_ms %.4f\n%s_b_p%.0f_ms %.4f\n%s_ratio_p%.0f %.4f\n",
                   mode[mixed], pct[k], x, mode[mixed], pct[k], y, mode[mixed], pct[k],
                   y > 0 ? x / y : 0);
        }
    }
    a->close(a->st);
    b->close(b->st);
    for (int j = 0; j < 2; j++) {
        free(ms[j]);
        free(counts[j]);
    }
    for (size_t i = 0; i < nq; i++)
        free(qs[i].text);
    free(qs);
    return 0;
}
