/*
 * consumer.c: a program outside the tree, compiled by `make installcheck`
 * with `pkg-config --cflags --libs edusearch` against the installed library:
 * it indexes one document into the directory given as argv[1], reopens the
 * index and finds the document by a Chinese word. Exit 0 on success.
 */
#include <edusearch.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer INDEX_DIR\n");
        return 2;
    }
    if (es_version_number() != ES_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library %s\n", ES_VERSION_STRING, es_version());
        return 1;
    }
    const char *text = "推进集团化办学，扩大优质教育资源。";
    es_error err;
    es_writer *w = NULL;
    es_doc *d = NULL;
    if (es_writer_open(&w, argv[1], NULL, &err) != ES_OK ||
        es_doc_new(&d, "doc-1", 5, &err) != ES_OK ||
        es_doc_set_text(d, text, strlen(text)) != ES_OK ||
        es_writer_add(w, d) != ES_OK || es_writer_commit(w) != ES_OK) {
        fprintf(stderr, "indexing failed: %s %s\n", err.message, es_writer_errmsg(w));
        return 1;
    }
    es_doc_free(d);
    es_writer_free(w);

    es_index *ix = NULL;
    es_query *q = NULL;
    es_results *r = NULL;
    const char *query = "集团化办学";
    if (es_index_open(&ix, argv[1], &err) != ES_OK ||
        es_query_parse(&q, query, strlen(query), &err) != ES_OK ||
        es_search(&r, ix, q, NULL, &err) != ES_OK) {
        fprintf(stderr, "search failed: %s\n", err.message);
        return 1;
    }
    size_t len = 0;
    int ok = es_results_count(r) == 1 &&
             strcmp(es_results_id(r, 0, &len), "doc-1") == 0;
    printf("consumer: %s found %zu hit(s), first %s\n", query, es_results_count(r),
           ok ? "doc-1" : "?");
    es_results_free(r);
    es_query_free(q);
    es_index_free(ix);
    return ok ? 0 : 1;
}
