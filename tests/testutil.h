/*
 * testutil.h: helpers shared by the Check suites: temporary directories,
 * the shared corpus and sample documents, files, a seeded PRNG whose seed
 * is printed so that a failing property test can be replayed, the rendering
 * of a parsed query, and running a suite.
 */
#ifndef ES_TESTUTIL_H
#define ES_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <check.h>

#include "edusearch.h"

/* A new empty directory under $TMPDIR (or /tmp); free() the result. */
char *tu_tmpdir(void);
/* Remove a directory tree (best effort). */
void tu_rmrf(const char *path);
/* $ES_CORPUS_DIR if it exists as a directory, else NULL (print SKIP). */
const char *tu_corpus_dir(void);
/* $ES_SAMPLES_DIR (the shipped sample documents), or "data/samples". */
const char *tu_samples_dir(void);
/* Read a whole file; NULL if unreadable. *len gets the size. free() it. */
char *tu_read_file(const char *path, size_t *len);
/* Read the sample document `name` of tu_samples_dir() like tu_read_file;
 * the test fails if it cannot be read. */
char *tu_read_sample(const char *name, size_t *len);
/* Read the first `max` docs of a JSONL file (plain or .gz) in the corpus:
 * calls fn(id, text, text_len, p) per doc with a minimal JSON string decoder.
 * Returns the number of docs read. */
size_t tu_corpus_docs(const char *file, size_t max,
                      void (*fn)(const char *id, const char *title,
                                 const char *text, size_t len, void *p),
                      void *p);
/* xorshift64* PRNG. tu_seed() picks the seed from $ES_TEST_SEED or the
 * clock and prints it. */
uint64_t tu_seed(void);
uint64_t tu_rand(uint64_t *state);
/* True when the path exists. */
bool tu_exists(const char *path);
/* What a query parse gave, for comparing with a string: the tree of q as
 * esi_query_dump() writes it when rc is ES_OK, else "ERR <rc> @<pos>".
 * Frees q; the result is a static buffer (valid until the next call). */
const char *tu_query_result(es_status rc, es_query *q, size_t pos);

/* Run a suite with CK_ENV verbosity (CK_RUN_CASE etc. work); returns the
 * process exit status: EXIT_FAILURE if any test failed. */
int tu_run(Suite *s);

/* One test case per behaviour: a name and its test. */
typedef struct tu_case {
    const char *name;
    const TTest *fn;
} tu_case;

/* For each {input, want} of cases[0..n): render(input) equals want (the
 * test fails naming the input otherwise). */
void tu_expect_each(const char *(*render)(const char *), const char *const (*cases)[2],
                    size_t n);
/* Add a TCase `name` to s that runs fn for each _i in [from, to) (0, 1 for
 * a plain test), with a timeout in seconds (0 = Check's default); returns
 * it, so that a fixture can be added. */
TCase *tu_add_case(Suite *s, const char *name, const TTest *fn, int from, int to,
                   int timeout);
/* Add one TCase per entry, each with the fixture and timeout (0 = default). */
void tu_add_cases(Suite *s, const tu_case *cases, size_t n,
                  void (*setup)(void), void (*teardown)(void), int timeout);
#define TU_NCASES(a) (sizeof(a) / sizeof((a)[0]))

#endif
