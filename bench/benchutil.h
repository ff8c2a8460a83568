/*
 * benchutil.h: what every benchmark driver shares: loading the corpus and
 * the query file, the clocks, percentiles, splitting a query into words,
 * peak RSS, bytes on disk, and one main loop that
 * builds an index, times every query and prints the metrics. A driver only
 * supplies a bench_engine (build, open, query, close) and calls bench_main().
 *
 * Driver command line (bench/run calls it so):
 *     bench_X CORPUS.jsonl QUERIES INDEX_PATH COUNTS_OUT
 * CORPUS is uncompressed JSON Lines with id, title, date, text. The driver
 * creates the index at INDEX_PATH (which must not exist), runs the query set
 * once untimed (warm-up) and BENCH_PASSES times timed (default 3; a query's
 * latency is the median of its timed runs), writes "count<TAB>query" per query
 * to COUNTS_OUT (count -1 when the engine rejected the query) and prints one
 * "name value" line per metric on stdout.
 */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bench_doc {
    char *id, *title, *date, *text;
    size_t id_len, title_len, date_len, text_len;
} bench_doc;

typedef struct bench_corpus {
    bench_doc *docs;
    size_t n;
    size_t text_bytes;  /* sum of text_len: the "raw text" of every ratio */
} bench_corpus;

typedef struct bench_query {
    char *text;         /* the line, without its newline */
    size_t len;
    int phrase;         /* the line is one quoted string */
    char *inner;        /* for a phrase: the text between the quotes */
    size_t inner_len;
} bench_query;

typedef struct bench_engine {
    const char *name;
    void *st;
    /* Build the index of every document at path; 0 or -1 (message printed). */
    int (*build)(void *st, const bench_corpus *c, const char *path);
    /* Open the built index for searching; 0 or -1. */
    int (*open)(void *st, const char *path);
    /* Count every hit of q and fetch the top 10 with their text: *count gets
     * the hit count, or -1 if the engine rejects the query. 0 or -1 (fatal). */
    int (*query)(void *st, const bench_query *q, long long *count);
    void (*close)(void *st);
} bench_engine;

/* Seconds on the monotonic clock. */
double bench_now(void);
/* CPU seconds of the calling thread (fair when the machine is busy). */
double bench_thread_cpu(void);
/* User plus system CPU seconds of this process so far (0 on error). */
double bench_cpu(void);
/* Sort n values ascending. */
void bench_sort(double *v, size_t n);
/* Sort n (>= 1) values ascending and return the middle one, v[n / 2] (the
 * upper of the two middle ones when n is even). */
double bench_median(double *v, size_t n);
/* Nearest-rank percentile p (0..100) of n values sorted ascending; 0 if n
 * is 0. */
double bench_percentile(const double *v, size_t n, double p);
/* The next space-separated word of [*p, end): sets *w and *n, advances *p
 * past it and returns 1, or returns 0 when only spaces are left. */
int bench_next_word(const char **p, const char *end, const char **w, size_t *n);
/* Peak resident set of this process in KiB (getrusage ru_maxrss). */
long bench_peak_rss_kb(void);
/* Bytes of the regular files under path (or of path itself); -1 on error. */
long long bench_disk_bytes(const char *path);
/* True if a query line is one quoted string. */
int bench_is_phrase(const char *s, size_t len);
/* Run the whole benchmark for engine e; returns the exit status. */
int bench_main(int argc, char **argv, const bench_engine *e);
/* bench_pair QUERIES INDEX_A INDEX_B: open both indexes (already built by
 * the engines' own runs) and time the queries on a and b in turn, in one
 * process: one untimed sweep of each, then BENCH_PASSES timed sweeps by
 * sweep (each engine runs the whole set, the one going first changing from
 * sweep to sweep) and BENCH_PASSES query by query (every query on a, then
 * on b, or b then a). Prints pair_a_p50_ms, pair_b_p50_ms, pair_ratio_p50
 * (a / b) and the same for p95 and p99, then mixed_* for query by query;
 * returns the exit status. By sweep both engines meet the VM in the same
 * seconds, which separate runs minutes apart do not; query by query each
 * finds its caches as the other's last query left them. */
int bench_pair_main(int argc, char **argv, const bench_engine *a, const bench_engine *b);

/* The engines of bench_edusearch.c and bench_fts5.c, for bench_pair.c
 * (compiled with -DBENCH_PAIR, those files leave out their main). */
const bench_engine *bench_edusearch_engine(void);
const bench_engine *bench_fts5_engine(void);

#ifdef __cplusplus
}
#endif

#endif /* BENCHUTIL_H */
