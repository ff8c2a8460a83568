/*
 * bench_analyzer.c: analyzer throughput beside ICU's bare word break, in one
 * process, on a JSONL(.gz) corpus (default /work/shared/corpus/main.jsonl.gz,
 * or argv[1]). Not run by make check.
 *
 * Measures, over the "text" of every document (MB = 2^20 bytes of UTF-8):
 *   floor   u_strFromUTF8 + ubrk (UBRK_WORD, "zh") iterated to the end, per doc
 *   index   esi_analyze(ES_TOKENIZE_INDEX): normalization + HAN/BIGRAM/LATIN/NUMBER
 *   words   esi_analyze(ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS)
 *   key     esi_normalize_key (N(x))
 * each best of `reps` runs (argv[2], default 3), single-threaded, then again
 * with 2 threads (each with its own clone / analyzer, docs split by index
 * parity). Both wall-clock MB/s and MB per CPU-second of the working
 * threads are printed; the second is the fair figure on a busy machine. The callback consumes every token (sums term bytes), as an
 * indexer at least would.
 */
#include "analysis/analyzer.h"
#include "analysis/normalize.h"
#include "benchgz.h"
#include "benchutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/ustring.h>

/* Load the "text" field of every line. */
static int load(const char *path, bench_texts *d)
{
    if (bench_load_texts_gz(path, d) != 0) {
        fprintf(stderr, "bench_analyzer: cannot open %s\n", path);
        return -1;
    }
    return 0;
}

enum { M_FLOOR, M_INDEX, M_WORDS, M_KEY, M_COUNT };
static const char *mode_name[M_COUNT] = { "floor (ICU word break)", "index (esi_analyze)",
                                          "index+words", "N(x) key" };

typedef struct job {
    const bench_texts *d;
    int mode;
    size_t first, step;
    uint64_t sink;        /* tokens or boundaries seen */
    uint64_t bytes;
    double cpu;           /* thread CPU seconds */
} job;

static int tok_cb(const es_token *t, void *p)
{
    uint64_t *s = p;
    *s += t->term_len + 1;
    return 0;
}

static void *run_job(void *arg)
{
    job *j = arg;
    const bench_texts *d = j->d;
    j->sink = 0;
    j->bytes = 0;
    esi_err e;
    double t0 = bench_thread_cpu();
    if (j->mode == M_FLOOR) {
        UErrorCode st = U_ZERO_ERROR;
        UBreakIterator *bi = ubrk_clone(esi_norm_word_template(), &st);
        size_t cap = 0;
        UChar *u = NULL;
        for (size_t i = j->first; i < d->n; i += j->step) {
            if (d->d[i].len + 1 > cap) {
                cap = d->d[i].len + 1;
                u = realloc(u, cap * sizeof *u);
            }
            int32_t ul = 0;
            st = U_ZERO_ERROR;
            u_strFromUTF8WithSub(u, (int32_t)cap, &ul, d->d[i].text, (int32_t)d->d[i].len,
                                 0xfffd, NULL, &st);
            ubrk_setText(bi, u, ul, &st);
            for (int32_t b = ubrk_first(bi); b != UBRK_DONE; b = ubrk_next(bi))
                j->sink++;
            j->bytes += d->d[i].len;
        }
        free(u);
        ubrk_close(bi);
    } else {
        esi_analyzer *a;
        if (esi_analyzer_new(&a, &e) != ES_OK) {
            fprintf(stderr, "bench_analyzer: %s\n", e.msg);
            exit(1);
        }
        esi_buf b = { 0 };
        for (size_t i = j->first; i < d->n; i += j->step) {
            if (j->mode == M_KEY) {
                b.len = 0;
                esi_normalize_key(a, d->d[i].text, d->d[i].len, &b, &e);
                j->sink += b.len;
            } else {
                unsigned fl = j->mode == M_INDEX ? ES_TOKENIZE_INDEX
                                                 : ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS;
                esi_analyze(a, d->d[i].text, d->d[i].len, fl, tok_cb, &j->sink, &e);
            }
            j->bytes += d->d[i].len;
        }
        esi_buf_free(&b);
        esi_analyzer_free(a);
    }
    j->cpu = bench_thread_cpu() - t0;
    return NULL;
}

/* Best wall-clock MB/s (*wall) and best MB per CPU-second of one thread
 * (*cpu) of reps runs with nthreads threads. */
static void measure(const bench_texts *d, int mode, int nthreads, int reps, double *wall,
                    double *cpu)
{
    *wall = *cpu = 0;
    for (int r = 0; r < reps; r++) {
        job jobs[2];
        pthread_t th[2];
        double t0 = bench_now();
        for (int t = 0; t < nthreads; t++) {
            jobs[t] = (job){ d, mode, (size_t)t, (size_t)nthreads, 0, 0, 0 };
            pthread_create(&th[t], NULL, run_job, &jobs[t]);
        }
        uint64_t bytes = 0;
        double cs = 0;
        for (int t = 0; t < nthreads; t++) {
            pthread_join(th[t], NULL);
            bytes += jobs[t].bytes;
            cs += jobs[t].cpu;
        }
        double w = (double)bytes / 1048576.0 / (bench_now() - t0);
        double c = (double)bytes / 1048576.0 / cs;
        *wall = w > *wall ? w : *wall;
        *cpu = c > *cpu ? c : *cpu;
    }
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/work/shared/corpus/main.jsonl.gz";
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    if (reps < 1)
        reps = 1;
    bench_texts d;
    if (load(path, &d) < 0)
        return 1;
    printf("corpus: %s: %zu docs, %.1f MB of UTF-8 text\n", path, d.n,
           (double)d.bytes / 1048576.0);
    double t0 = bench_now();
    esi_analyzer *a;
    esi_err e;
    if (esi_analyzer_new(&a, &e) != ES_OK) {
        fprintf(stderr, "bench_analyzer: %s\n", e.msg);
        return 1;
    }
    double t1 = bench_now();
    esi_analyzer *b;
    esi_analyzer_new(&b, &e);
    double t2 = bench_now();
    esi_analyzer_free(b);
    esi_analyzer_free(a);
    esi_norm_stats st;
    esi_norm_get_stats(&st);
    printf("one-time build: first esi_analyzer_new %.1f ms (tables %.1f ms, of which T->S "
           "%.1f ms: %zu one-to-one mappings, %zu chains composed); next analyzer %.3f ms\n",
           (t1 - t0) * 1e3, st.build_ms, st.ts_ms, st.ts_mappings, st.ts_chained,
           (t2 - t1) * 1e3);
    for (int threads = 1; threads <= 2; threads++) {
        double wall[M_COUNT], cpu[M_COUNT];
        printf("\n%d thread%s, best of %d (wall MB/s; MB per CPU-second of one thread):\n",
               threads, threads > 1 ? "s" : "", reps);
        for (int m = 0; m < M_COUNT; m++) {
            measure(&d, m, threads, reps, &wall[m], &cpu[m]);
            printf("  %-24s wall %7.1f MB/s  cpu %7.1f MB/s", mode_name[m], wall[m], cpu[m]);
            if (m != M_FLOOR)
                printf("  cost vs floor: wall %.3fx, cpu %.3fx", wall[M_FLOOR] / wall[m],
                       cpu[M_FLOOR] / cpu[m]);
            printf("\n");
        }
    }
    bench_texts_free(&d);
    return 0;
}
