/*
 * check_soak.c: suite "soak": reader processes search continuously while a
 * writer adds, deletes, commits and merges (ES_SOAK_SECONDS, default 8; the
 * hardening run uses 60). Every snapshot a reader opens must be a committed
 * state: each batch of documents is either wholly present or wholly absent,
 * the document count agrees with the batches seen, and no open, search or
 * fetch ever fails. One reader opens each snapshot anew, the other reopens
 * the one before (es_index_reopen: shared cache and workers).
 */
#include <edusearch.h>

#include "testutil.h"

#include <check.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PER_BATCH 25
#define LIVE_BATCHES 4   /* the writer keeps the newest 4 batches */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double soak_seconds(void)
{
    const char *s = getenv("ES_SOAK_SECONDS");
    double v = s ? atof(s) : 8.0;
    return v > 0 ? v : 8.0;
}

/* Count docs matching q; -1 on any failure. */
static long long count(es_index *ix, const char *q)
{
    es_query *query = NULL;
    if (es_query_parse(&query, q, strlen(q), NULL) != ES_OK)
        return -1;
    es_search_options so = ES_SEARCH_OPTIONS_INIT;
    so.limit = 3;
    es_results *r = NULL;
    long long n = -1;
    if (es_search(&r, ix, query, &so, NULL) == ES_OK) {
        n = (long long)es_results_total(r);
        for (size_t i = 0; i < es_results_count(r); i++) {   /* fetch hits */
            size_t len;
            if (!es_results_text(r, i, &len) || !es_results_snippet(r, i, &len))
                n = -1;
        }
    }
    es_results_free(r);
    es_query_free(query);
    return n;
}

/* A reader process: open snapshots and check their consistency until the
 * deadline; with reopen, each snapshot after the first comes from
 * es_index_reopen of the one before (kept while nothing new was committed).
 * Exits 0 if every snapshot was a committed state, else 1. */
static void reader(const char *dir, double deadline, bool reopen)
{
    long snapshots = 0;
    es_index *prev = NULL;
    while (now() < deadline) {
        es_index *ix = NULL;
        es_error err;
        es_status rc = reopen && prev ? es_index_reopen(prev, &ix, &err)
                                      : es_index_open(&ix, dir, &err);
        if (rc == ES_ENOTFOUND)
            continue;
        if (rc != ES_OK) {
            fprintf(stderr, "reader: %s failed: %s\n", prev ? "reopen" : "open",
                    err.message);
            _exit(1);
        }
        if (!ix)                   /* no new commit: the same snapshot again */
            ix = prev;
        else if (prev)
            es_index_free(prev);
        prev = NULL;
        /* batches from the first until they hold every live doc (a fast
         * writer makes more than 4,000 batches in 60 s) */
        long long total = 0, want = (long long)es_index_doc_count(ix);
        for (int b = 0; b < 1000000 && total != want; b++) {
            char q[32];
            snprintf(q, sizeof q, "soakbatch%d", b);
            long long n = count(ix, q);
            if (n != 0 && n != PER_BATCH) {
                fprintf(stderr, "reader: batch %d has %lld docs\n", b, n);
                _exit(1);
            }
            total += n;
        }
        if (total != want) {
            fprintf(stderr, "reader: batches hold %lld docs, the index %lld\n",
                    total, want);
            _exit(1);
        }
        if (count(ix, "义务教育 OR 集团化办学") < 0) {
            fprintf(stderr, "reader: search failed\n");
            _exit(1);
        }
        if (reopen)
            prev = ix;
        else
            es_index_free(ix);
        snapshots++;
    }
    es_index_free(prev);
    printf("reader %d (%s): %ld consistent snapshots\n", (int)getpid(),
           reopen ? "reopen" : "open", snapshots);
    fflush(stdout);
    _exit(snapshots > 0 ? 0 : 1);
}

START_TEST(test_soak_readers_see_committed_states)
{
    char *dir = tu_tmpdir();
    double secs = soak_seconds(), deadline = now() + secs;
    /* The readers are forked before the writer starts its analysis threads:
     * a child forked while another thread holds a lock (malloc's, say)
     * inherits it locked. They wait for the first commit (ES_ENOTFOUND). */
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0)
            reader(dir, deadline, k == 1);
    }
    es_writer_options o = ES_WRITER_OPTIONS_INIT;
    o.ram_buffer_bytes = 32 << 10;     /* flush often: many segments, merges */
    es_writer *w = NULL;
    ck_assert_int_eq(es_writer_open(&w, dir, &o, NULL), ES_OK);
    ck_assert_int_eq(es_writer_commit(w), ES_OK);
    int b = 0, commits = 0;
    char text[256], id[48];
    while (now() < deadline) {
        for (int i = 0; i < PER_BATCH; i++) {
            snprintf(id, sizeof id, "b%d-%d", b, i);
            snprintf(text, sizeof text, "soakbatch%d 第%d批 义务教育优质均衡 集团化办学 %d",
                     b, b, i);
            es_doc *d = NULL;
            ck_assert_int_eq(es_doc_new(&d, id, strlen(id), NULL), ES_OK);
            ck_assert_int_eq(es_doc_set_text(d, text, strlen(text)), ES_OK);
            ck_assert_int_eq(es_writer_add(w, d), ES_OK);
            es_doc_free(d);
        }
        if (b >= LIVE_BATCHES)
            for (int i = 0; i < PER_BATCH; i++) {
                snprintf(id, sizeof id, "b%d-%d", b - LIVE_BATCHES, i);
                ck_assert_int_eq(es_writer_delete(w, id, strlen(id)), ES_OK);
            }
        es_status rc = (b % 25 == 24) ? es_writer_optimize(w) : es_writer_commit(w);
        ck_assert_msg(rc == ES_OK, "commit: %s", es_writer_errmsg(w));
        commits++;
        b++;
    }
    es_writer_free(w);
    for (int k = 0; k < 2; k++) {
        int status;
        waitpid(kids[k], &status, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "reader %d saw an inconsistent snapshot", k);
    }
    printf("soak: %.0f s, %d commits\n", secs, commits);
    ck_assert_int_gt(commits, 3);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *soak_suite(void)
{
    const tu_case cases[] = {
        { "readers_see_committed_states", test_soak_readers_see_committed_states },
    };
    Suite *s = suite_create("soak");
    tu_add_cases(s, cases, TU_NCASES(cases), NULL, NULL, 600);
    return s;
}

int main(void)
{
    return tu_run(soak_suite());
}
