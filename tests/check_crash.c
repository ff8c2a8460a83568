/*
 * check_crash.c: suite "crash": a writer process is killed with SIGKILL at
 * random moments while it adds documents in batches and commits after each
 * batch; every time, the index must open and hold exactly the documents of
 * some committed generation: a prefix of whole batches, nothing partial, and
 * es_index_check() must pass. Also the same after a failing disk (injected
 * ENOSPC on every I/O step) — see check_storage for that.
 */
#include <edusearch.h>

#include "testutil.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 40
#define BATCHES 400

/* The child: add batch b as BATCH docs that all hold the token "batch<b>",
 * commit, repeat; a tiny RAM buffer makes it flush segments mid-batch and
 * merges run as segments pile up. Never returns. */
static void writer_child(const char *dir)
{
    es_writer_options o = ES_WRITER_OPTIONS_INIT;
    o.ram_buffer_bytes = 16 << 10;
    es_writer *w = NULL;
    if (es_writer_open(&w, dir, &o, NULL) != ES_OK)
        _exit(3);
    char text[256], id[32];
    for (int b = 0; b < BATCHES; b++) {
        for (int i = 0; i < BATCH; i++) {
            snprintf(id, sizeof id, "b%d-%d", b, i % 37 == 5 ? 0 : i);
            snprintf(text, sizeof text,
                     "batch%d 第%d批 义务教育优质均衡发展 文件%d 集团化办学", b, b, i);
            es_doc *d = NULL;
            es_doc_new(&d, id, strlen(id), NULL);
            es_doc_set_text(d, text, strlen(text));
            if (es_writer_add(w, d) != ES_OK)
                _exit(4);
            es_doc_free(d);
        }
        if (es_writer_commit(w) != ES_OK)
            _exit(5);
    }
    es_writer_free(w);
    _exit(0);
}

/* Number of live docs that match q. */
static uint64_t count(es_index *ix, const char *q)
{
    es_query *query = NULL;
    ck_assert_int_eq(es_query_parse(&query, q, strlen(q), NULL), ES_OK);
    es_search_options so = ES_SEARCH_OPTIONS_INIT;
    so.limit = 0;
    es_results *r = NULL;
    ck_assert_int_eq(es_search(&r, ix, query, &so, NULL), ES_OK);
    uint64_t n = es_results_total(r);
    es_results_free(r);
    es_query_free(query);
    return n;
}

START_TEST(test_crash_sigkill_keeps_a_committed_generation)
{
    uint64_t seed = tu_seed(), st = seed;
    char *dir = tu_tmpdir();
    /* docs per batch after id collisions (i % 37 == 5 reuses id 0) */
    int per_batch = 0;
    for (int i = 0; i < BATCH; i++)
        per_batch += !(i % 37 == 5);
    int rounds = 12;
    for (int round = 0; round < rounds; round++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            writer_child(dir);
        struct timespec ts = { 0, (long)(tu_rand(&st) % 150 + 5) * 1000000L };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        ck_assert_msg(WIFSIGNALED(status) || WEXITSTATUS(status) == 0,
                      "writer failed by itself: exit %d", WEXITSTATUS(status));

        es_index *ix = NULL;
        es_error err;
        es_status rc = es_index_open(&ix, dir, &err);
        if (rc == ES_ENOTFOUND)
            continue;   /* killed before the first commit */
        ck_assert_msg(rc == ES_OK, "round %d: open failed: %s", round, err.message);
        ck_assert_msg(es_index_check(dir, &err) == ES_OK, "round %d: check: %s",
                      round, err.message);
        /* whole batches only, and they form a prefix */
        uint64_t total = es_index_doc_count(ix);
        ck_assert_uint_eq(total % (uint64_t)per_batch, 0);
        uint64_t batches = total / (uint64_t)per_batch;
        char q[32];
        for (uint64_t b = 0; b < batches + 1 && b < BATCHES; b++) {
            snprintf(q, sizeof q, "batch%llu", (unsigned long long)b);
            uint64_t n = count(ix, q);
            ck_assert_msg(n == (b < batches ? (uint64_t)per_batch : 0),
                          "round %d: batch %llu has %llu docs (seed %llu)", round,
                          (unsigned long long)b, (unsigned long long)n,
                          (unsigned long long)seed);
        }
        es_index_free(ix);
        /* the next child starts over from this state; clear it some rounds */
        if (round % 4 == 3) {
            tu_rmrf(dir);
            free(dir);
            dir = tu_tmpdir();
        }
    }
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("crash");
    const tu_case cases[] = {
        { "sigkill_writer", test_crash_sigkill_keeps_a_committed_generation },
    };
    tu_add_cases(s, cases, TU_NCASES(cases), NULL, NULL, 300);
    return s;
}

int main(void)
{
    return tu_run(crash_suite());
}
