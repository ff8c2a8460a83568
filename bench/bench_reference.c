/*
 * bench_reference.c: the brute-force reference counts of the benchmark.
 * "Build" computes N(text) of every document with esi_normalize_key (the
 * analyzer's key text: NFKC, case folding, Traditional->Simplified, every
 * non-letter/digit removed) and keeps it in memory; a phrase query counts
 * the documents whose N(text) contains N(phrase) (memmem), which is the
 * phrase guarantee of the analyzer: the count every engine should return.
 * A multi-term query counts the documents containing N(word) for every
 * word (substring AND; only informative, the engines' word semantics
 * differ). Links lib/libescore.la for the internal esi_* functions; the
 * "index" is the normalized text, whose size is reported as index_bytes 0
 * since nothing is written to disk.
 */
#include "benchutil.h"
#include "analysis/analyzer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref {
    esi_analyzer *a;
    esi_buf *keys;      /* N(text) per document */
    size_t n;
    esi_buf q;          /* N(query word), reused */
} ref;

/* Print an analysis failure; returns -1. */
static int fail(const char *what, const esi_err *e)
{
    fprintf(stderr, "bench_reference: %s: %s\n", what, e->msg);
    return -1;
}

static int build(void *st, const bench_corpus *c, const char *path)
{
    ref *s = st;
    esi_err e = { ES_OK, "" };
    (void)path;
    if (esi_analyzer_new(&s->a, &e) != ES_OK)
        return fail("analyzer", &e);
    s->keys = calloc(c->n ? c->n : 1, sizeof *s->keys);
    if (!s->keys) {
        fputs("bench_reference: out of memory\n", stderr);
        return -1;
    }
    s->n = c->n;
    for (size_t i = 0; i < c->n; i++)
        if (esi_normalize_key(s->a, c->docs[i].text, c->docs[i].text_len, &s->keys[i], &e) !=
            ES_OK)
            return fail(c->docs[i].id, &e);
    return 0;
}

static int open_index(void *st, const char *path)
{
    (void)st;
    (void)path;
    return 0;
}

/* Mark in hit[] the documents whose key does not contain N(word). */
static int filter(ref *s, const char *w, size_t len, unsigned char *hit)
{
    esi_err e = { ES_OK, "" };
    esi_buf_reset(&s->q);
    if (esi_normalize_key(s->a, w, len, &s->q, &e) != ES_OK)
        return fail("query", &e);
    for (size_t i = 0; i < s->n; i++)
        if (hit[i] && s->q.len > 0 &&
            (s->keys[i].len < s->q.len ||
             !memmem(s->keys[i].data, s->keys[i].len, s->q.data, s->q.len)))
            hit[i] = 0;
    return 0;
}

static int query(void *st, const bench_query *q, long long *count)
{
    ref *s = st;
    if (!s->keys) {
        fputs("bench_reference: no N(text) in memory: the reference has no on-disk "
              "index, run it without --search-only\n", stderr);
        return -1;
    }
    unsigned char *hit = malloc(s->n ? s->n : 1);
    if (!hit) {
        fputs("bench_reference: out of memory\n", stderr);
        return -1;
    }
    memset(hit, 1, s->n);
    const char *p = q->inner, *end = q->inner + q->inner_len, *w;
    size_t n;
    if (q->phrase) {
        if (filter(s, p, q->inner_len, hit) != 0)
            goto fail;
    } else {
        while (bench_next_word(&p, end, &w, &n))
            if (filter(s, w, n, hit) != 0)
                goto fail;
    }
    *count = 0;
    for (size_t i = 0; i < s->n; i++)
        *count += hit[i];
    free(hit);
    return 0;
fail:
    free(hit);
    return -1;
}

static void close_index(void *st)
{
    ref *s = st;
    for (size_t i = 0; i < s->n; i++)
        esi_buf_free(&s->keys[i]);
    free(s->keys);
    esi_buf_free(&s->q);
    esi_analyzer_free(s->a);
}

int main(int argc, char **argv)
{
    ref s;
    memset(&s, 0, sizeof s);
    bench_engine e = { "reference", &s, build, open_index, query, close_index };
    return bench_main(argc, argv, &e);
}
