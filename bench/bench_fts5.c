/*
 * bench_fts5.c: the SQLite FTS5 peer of the benchmark. One table
 * `docs USING fts5(title, text, tokenize='trigram')` filled in a single
 * transaction with SQLite's default settings (rollback journal, synchronous
 * FULL). A phrase query is MATCH of the quoted phrase restricted to the text
 * column; a multi-term query is the implicit AND of its quoted words, also on
 * text. The trigram tokenizer matches nothing for a string shorter than three
 * characters: those counts are taken as FTS5 returns them, as a user would
 * get them. Per query: SELECT count(*) ... MATCH, then the top 10 by rank
 * with their text. Built by bench/run with the system compiler and
 * pkg-config sqlite3; never part of `make`.
 */
#include "benchutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fts5 {
    sqlite3 *db;
    sqlite3_stmt *count, *top;
    char *expr;
    size_t cap;
} fts5;

/* Print SQLite's message for the failed step `what`; returns -1. */
static int fail(fts5 *s, const char *what)
{
    fprintf(stderr, "bench_fts5: %s: %s\n", what, s->db ? sqlite3_errmsg(s->db) : "no database");
    return -1;
}

static int exec(fts5 *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(s, sql);
}

static int build(void *st, const bench_corpus *c, const char *path)
{
    fts5 *s = st;
    sqlite3_stmt *ins = NULL;
    if (sqlite3_open(path, &s->db) != SQLITE_OK)
        return fail(s, path);
    if (exec(s, "CREATE VIRTUAL TABLE docs USING fts5(title, text, tokenize='trigram')") ||
        exec(s, "BEGIN"))
        return -1;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO docs(title, text) VALUES (?, ?)", -1, &ins,
                           NULL) != SQLITE_OK)
        return fail(s, "prepare insert");
    for (size_t i = 0; i < c->n; i++) {
        const bench_doc *d = &c->docs[i];
        sqlite3_bind_text(ins, 1, d->title, (int)d->title_len, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, d->text, (int)d->text_len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            return fail(s, "insert");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    if (exec(s, "COMMIT"))
        return -1;
    sqlite3_close(s->db);
    s->db = NULL;
    return 0;
}

static int open_index(void *st, const char *path)
{
    fts5 *s = st;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return fail(s, path);
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM docs WHERE docs MATCH ?", -1,
                           &s->count, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT rowid, text FROM docs WHERE docs MATCH ? "
                           "ORDER BY rank LIMIT 10",
                           -1, &s->top, NULL) != SQLITE_OK)
        return fail(s, "prepare query");
    return 0;
}

/* Append n bytes to the expression buffer. */
static void put(fts5 *s, size_t *len, const char *p, size_t n)
{
    if (*len + n + 1 > s->cap) {
        s->cap = (*len + n + 1) * 2;
        s->expr = realloc(s->expr, s->cap);
        if (!s->expr) {
            fputs("bench_fts5: out of memory\n", stderr);
            exit(2);
        }
    }
    memcpy(s->expr + *len, p, n);
    *len += n;
    s->expr[*len] = 0;
}

/* Append word as an FTS5 string ("" doubles a quote). */
static void put_quoted(fts5 *s, size_t *len, const char *w, size_t n)
{
    put(s, len, "\"", 1);
    for (size_t i = 0; i < n; i++)
        put(s, len, w[i] == '"' ? "\"\"" : &w[i], w[i] == '"' ? 2 : 1);
    put(s, len, "\"", 1);
}

/* The FTS5 expression of a query: text : ("w1" "w2" ...). */
static void expression(fts5 *s, const bench_query *q)
{
    size_t len = 0;
    put(s, &len, "text : (", 8);
    if (q->phrase) {
        put_quoted(s, &len, q->inner, q->inner_len);
    } else {
        const char *p = q->text, *end = q->text + q->len, *w;
        size_t n;
        for (int first = 1; bench_next_word(&p, end, &w, &n); first = 0) {
            if (!first)
                put(s, &len, " ", 1);
            put_quoted(s, &len, w, n);
        }
    }
    put(s, &len, ")", 1);
}

static int query(void *st, const bench_query *q, long long *count)
{
    fts5 *s = st;
    expression(s, q);
    sqlite3_bind_text(s->count, 1, s->expr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s->count);
    if (rc != SQLITE_ROW) {
        fprintf(stderr, "bench_fts5: query %s: %s\n", q->text, sqlite3_errmsg(s->db));
        sqlite3_reset(s->count);
        *count = -1;
        return 0;
    }
    *count = sqlite3_column_int64(s->count, 0);
    sqlite3_reset(s->count);
    sqlite3_bind_text(s->top, 1, s->expr, -1, SQLITE_STATIC);
    size_t bytes = 0;
    while ((rc = sqlite3_step(s->top)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s->top, 1);
        bytes += (size_t)sqlite3_column_bytes(s->top, 1) + (t ? t[0] : 0);
    }
    sqlite3_reset(s->top);
    if (rc != SQLITE_DONE)
        return fail(s, "top 10");
    return bytes == (size_t)-1;  /* keeps the fetch from being optimized away */
}

static void close_index(void *st)
{
    fts5 *s = st;
    sqlite3_finalize(s->count);
    sqlite3_finalize(s->top);
    sqlite3_close(s->db);
    free(s->expr);
}

const bench_engine *bench_fts5_engine(void)
{
    static fts5 s;
    static const bench_engine e = { "fts5", &s, build, open_index, query, close_index };
    return &e;
}

#ifndef BENCH_PAIR
int main(int argc, char **argv)
{
    printf("version sqlite %s\n", sqlite3_libversion());
    return bench_main(argc, argv, bench_fts5_engine());
}
#endif
