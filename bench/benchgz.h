/*
 * benchgz.h: reading a gzip'ed JSON Lines corpus (such as
 * /work/shared/corpus/main.jsonl.gz) for the in-process benchmarks that link
 * zlib (bench_search, bench_analyzer), and keeping the text of every
 * document in memory. Kept apart from benchutil.c, which
 * bench/run also compiles for the peer drivers without zlib.
 */
#ifndef BENCHGZ_H
#define BENCHGZ_H

#include "../tools/json.h"

/* Parse every non-empty line of the gzip'ed (or plain) JSONL file at path
 * with jl_parse and call fn(object, p) for each. Returns 0, or -1 if the
 * file cannot be opened (nothing printed: the caller names the remedy); a
 * read error or a malformed line is printed with the path and exits 1. */
int bench_read_jsonl_gz(const char *path, void (*fn)(const jl_object *, void *), void *p);

/* One document's text (NUL-terminated, len bytes). */
typedef struct bench_text {
    char *text;
    size_t len;
} bench_text;

/* The texts of a corpus, in file order. */
typedef struct bench_texts {
    bench_text *d;
    size_t n, cap;
    size_t bytes;       /* sum of len */
} bench_texts;

/* Read the "text" member of every object of the corpus at path into t
 * (emptied first; objects without one are skipped). Returns 0, or -1 if the
 * file cannot be opened; out of memory is printed and exits 1. */
int bench_load_texts_gz(const char *path, bench_texts *t);
/* Free the texts and empty t. */
void bench_texts_free(bench_texts *t);

#endif /* BENCHGZ_H */
