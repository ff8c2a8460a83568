/*
 * bench_dict.c: the fixed cost of a query before any posting is read. Parses
 * every line of a query file (es_query_parse: syntax, then lowering with the
 * analyzer), gathers every index key the lowered queries look up, and times
 *   parse   es_query_parse + es_query_free of every query, per query;
 *   lookup  esi_segment_lookup of every key in every segment of the index's
 *           newest commit, per lookup (hits and misses counted apart);
 *   walk    esi_dict_iter over every term of every segment, per term.
 * Each figure is the median (and the minimum) of `repeats` rounds. Also prints the
 * dictionary's size and term count. Built on demand only (EXTRA_PROGRAMS):
 *
 *   make bench/bench_dict
 *   ./libtool --mode=execute bench/bench_dict INDEX-DIR QUERIES [repeats]
 */
#include "search/query.h"
#include "storage/storage_int.h"
#include "benchutil.h"

#include <stdio.h>
#include <stdlib.h>

/* Median and minimum of v[0..n) (sorts v). */
static double median(double *v, int n, double *min)
{
    double m = bench_median(v, (size_t)n);
    *min = v[0];
    return m;
}

typedef struct key {
    uint8_t *b;
    size_t n;
} key;

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_dict INDEX-DIR QUERIES [repeats]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 15;
    if (reps < 1 || reps > 1000)
        reps = 15;
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    char **lines = NULL;
    size_t nlines = 0, lcap = 0;
    char buf[4096];
    while (fgets(buf, sizeof buf, f)) {
        size_t n = strcspn(buf, "\r\n");
        buf[n] = 0;
        if (n == 0)
            continue;
        if (nlines == lcap) {
            lcap = lcap ? lcap * 2 : 256;
            lines = realloc(lines, lcap * sizeof *lines);
        }
        lines[nlines++] = strdup(buf);
    }
    fclose(f);

    key *keys = NULL;
    size_t nkeys = 0, kcap = 0;
    for (size_t i = 0; i < nlines; i++) {
        es_query *q;
        es_error err;
        if (es_query_parse(&q, lines[i], strlen(lines[i]), &err) != ES_OK)
            continue;
        for (size_t k = 0; k < q->nkeys; k++) {
            if (nkeys == kcap) {
                kcap = kcap ? kcap * 2 : 1024;
                keys = realloc(keys, kcap * sizeof *keys);
            }
            keys[nkeys].n = q->keys[k].len;
            keys[nkeys].b = malloc(keys[nkeys].n + 1);
            memcpy(keys[nkeys].b, esi_qkey_bytes(q, &q->keys[k]), keys[nkeys].n);
            nkeys++;
        }
        es_query_free(q);
    }

    esi_snapshot *snap;
    esi_err e = { 0 };
    if (esi_snapshot_open(&snap, argv[1], false, &e) != ES_OK) {
        fprintf(stderr, "bench_dict: %s\n", e.msg);
        return 1;
    }
    uint64_t terms = 0, dict_bytes = 0;
    for (size_t s = 0; s < snap->nsegs; s++) {
        terms += snap->segs[s]->nterms;
        dict_bytes += snap->segs[s]->sizes[0];
    }
    printf("segments %zu terms %llu dict_bytes %llu queries %zu keys %zu\n",
           snap->nsegs, (unsigned long long)terms,
           (unsigned long long)dict_bytes, nlines, nkeys);

    double *t_parse = calloc((size_t)reps, sizeof *t_parse);
    double *t_look = calloc((size_t)reps, sizeof *t_look);
    double *t_walk = calloc((size_t)reps, sizeof *t_walk);
    size_t hits = 0, sink = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        for (size_t i = 0; i < nlines; i++) {
            es_query *q;
            es_error err;
            if (es_query_parse(&q, lines[i], strlen(lines[i]), &err) == ES_OK)
                es_query_free(q);
        }
        double t1 = bench_now();
        hits = 0;
        for (size_t s = 0; s < snap->nsegs; s++)
            for (size_t k = 0; k < nkeys; k++) {
                esi_term_info ti;
                es_status rc = esi_segment_lookup(snap->segs[s], keys[k].b,
                                                  keys[k].n, &ti, &e);
                if (rc == ES_OK) {
                    hits++;
                    sink += ti.post_off;
                } else if (rc != ES_ENOTFOUND) {
                    fprintf(stderr, "bench_dict: %s\n", e.msg);
                    return 1;
                }
            }
        double t2 = bench_now();
        for (size_t s = 0; s < snap->nsegs; s++) {
            esi_dict_iter it;
            esi_dict_iter_init(&it, snap->segs[s]);
            es_status rc;
            while ((rc = esi_dict_iter_next(&it, &e)) == ES_OK)
                sink += it.ti.df;
            esi_dict_iter_free(&it);
            if (rc != ES_DONE) {
                fprintf(stderr, "bench_dict: %s\n", e.msg);
                return 1;
            }
        }
        double t3 = bench_now();
        t_parse[r] = (t1 - t0) / (double)(nlines ? nlines : 1);
        size_t nl = nkeys * snap->nsegs;
        t_look[r] = (t2 - t1) / (double)(nl > 0 ? nl : 1);
        t_walk[r] = (t3 - t2) / (double)(terms ? terms : 1);
    }
    double mp, ml, mw, mid;
    mid = median(t_parse, reps, &mp);
    printf("parse_us_per_query median %.3f min %.3f\n", mid * 1e6, mp * 1e6);
    mid = median(t_look, reps, &ml);
    printf("lookup_ns median %.1f min %.1f (hits %zu of %zu)\n", mid * 1e9,
           ml * 1e9, hits, nkeys * snap->nsegs);
    mid = median(t_walk, reps, &mw);
    printf("walk_ns_per_term median %.1f min %.1f\n", mid * 1e9, mw * 1e9);
    if (sink == 42)
        printf(" \n");
    esi_snapshot_free(snap);
    for (size_t k = 0; k < nkeys; k++)
        free(keys[k].b);
    free(keys);
    for (size_t i = 0; i < nlines; i++)
        free(lines[i]);
    free(lines);
    free(t_parse);
    free(t_look);
    free(t_walk);
    return 0;
}
