/*
 * bench_edusearch.c: edusearch in the benchmark, through the public API
 * only (include/edusearch.h). Build: one es_writer with the default options
 * (fsync on), every document added with its body text and the fields title
 * and date (when set), one commit, then es_writer_optimize so that the index
 * searched is one segment; the build time covers all of it. Per query:
 * es_query_parse of the line as it is (a quoted phrase or bare words),
 * es_search with limit 10 and exact_total, the total as the count, and the
 * stored text of the 10 hits fetched. The environment variable
 * BENCH_ES_LIMIT=N asks for N hits instead (0: count only), to see what the
 * page costs; bench/run never sets it.
 */
#include "benchutil.h"
#include "edusearch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct esb {
    es_index *ix;
    es_search_options so;
} esb;

static int build(void *st, const bench_corpus *c, const char *path)
{
    es_writer *w = NULL;
    es_error err = { ES_OK, 0, "" };
    es_status rc;
    (void)st;
    if ((rc = es_writer_open(&w, path, NULL, &err)) != ES_OK) {
        fprintf(stderr, "bench_edusearch: open writer %s: %s\n", path, err.message);
        return -1;
    }
    for (size_t i = 0; i < c->n; i++) {
        const bench_doc *d = &c->docs[i];
        es_doc *doc = NULL;
        if ((rc = es_doc_new(&doc, d->id, d->id_len, &err)) != ES_OK) {
            fprintf(stderr, "bench_edusearch: document %s: %s\n", d->id, err.message);
            goto fail;
        }
        rc = es_doc_set_text(doc, d->text, d->text_len);
        if (rc == ES_OK && d->title_len)
            rc = es_doc_set_field(doc, "title", d->title, d->title_len);
        if (rc == ES_OK && d->date_len)
            rc = es_doc_set_field(doc, "date", d->date, d->date_len);
        if (rc != ES_OK) {
            fprintf(stderr, "bench_edusearch: document %s: %s\n", d->id, es_strerror(rc));
            es_doc_free(doc);
            goto fail;
        }
        rc = es_writer_add(w, doc);
        es_doc_free(doc);
        if (rc != ES_OK) {
            fprintf(stderr, "bench_edusearch: add %s: %s\n", d->id, es_writer_errmsg(w));
            goto fail;
        }
    }
    if ((rc = es_writer_commit(w)) != ES_OK || (rc = es_writer_optimize(w)) != ES_OK) {
        fprintf(stderr, "bench_edusearch: commit %s: %s\n", path, es_writer_errmsg(w));
        goto fail;
    }
    es_writer_free(w);
    return 0;
fail:
    es_writer_free(w);
    return -1;
}

static int open_index(void *st, const char *path)
{
    esb *s = st;
    es_error err = { ES_OK, 0, "" };
    /* BENCH_ES_THREADS=1 searches on the caller's thread only (bench/run's
     * one-thread row); unset, the library's default */
    es_index_options io = ES_INDEX_OPTIONS_INIT;
    const char *th = getenv("BENCH_ES_THREADS");
    if (th && *th)
        io.search_threads = (unsigned)strtoul(th, NULL, 10);
    if (es_index_open_opts(&s->ix, path, &io, &err) != ES_OK) {
        fprintf(stderr, "bench_edusearch: open %s: %s\n", path, err.message);
        return -1;
    }
    es_search_options_init(&s->so, ES_SEARCH_OPTIONS_VERSION);
    s->so.limit = 10;
    /* BENCH_ES_LIMIT=0 times counting alone (for docs/PERFORMANCE.md). */
    const char *lim = getenv("BENCH_ES_LIMIT");
    if (lim && *lim)
        s->so.limit = (size_t)strtoul(lim, NULL, 10);
    s->so.exact_total = 1;
    /* like the peers' drivers: ids and text of the top 10, no snippets
     * (BENCH_ES_SNIPPETS=1 measures with them) */
    s->so.snippets = getenv("BENCH_ES_SNIPPETS") ? 1 : 0;
    es_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.version = ES_STATS_VERSION;
    if (es_index_stats(s->ix, &stats) == ES_OK)
        printf("segments %llu\nterms %llu\nbytes_dict %llu\nbytes_postings %llu\n"
               "bytes_store %llu\n",
               (unsigned long long)stats.segments, (unsigned long long)stats.terms,
               (unsigned long long)stats.bytes_dict, (unsigned long long)stats.bytes_postings,
               (unsigned long long)stats.bytes_store);
    return 0;
}

static int query(void *st, const bench_query *q, long long *count)
{
    esb *s = st;
    es_query *eq = NULL;
    es_results *r = NULL;
    es_error err = { ES_OK, 0, "" };
    es_status rc = es_query_parse(&eq, q->text, q->len, &err);
    if (rc == ES_ESYNTAX || rc == ES_ELIMIT) {
        fprintf(stderr, "bench_edusearch: query %s: %s\n", q->text, err.message);
        *count = -1;
        return 0;
    }
    if (rc != ES_OK) {
        fprintf(stderr, "bench_edusearch: query %s: %s\n", q->text, err.message);
        return -1;
    }
    rc = es_search(&r, s->ix, eq, &s->so, &err);
    es_query_free(eq);
    if (rc != ES_OK) {
        fprintf(stderr, "bench_edusearch: search %s: %s\n", q->text, err.message);
        return -1;
    }
    *count = (long long)es_results_total(r);
    size_t bytes = 0, n = es_results_count(r);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *t = es_results_text(r, i, &len);
        bytes += len + (t && len ? (unsigned char)t[0] : 0);
    }
    es_results_free(r);
    return bytes == (size_t)-1;  /* keeps the fetch from being optimized away */
}

static void close_index(void *st)
{
    esb *s = st;
    es_index_free(s->ix);
}

const bench_engine *bench_edusearch_engine(void)
{
    static esb s;
    static const bench_engine e = { "edusearch", &s, build, open_index, query, close_index };
    return &e;
}

#ifndef BENCH_PAIR
int main(int argc, char **argv)
{
    printf("version edusearch %s\n", es_version());
    return bench_main(argc, argv, bench_edusearch_engine());
}
#endif
