/*
 * benchgz.c: the gzip'ed JSON Lines reader of the in-process benchmarks
 * (see benchgz.h): zlib reads the file in 64 KiB blocks, lines are cut at
 * '\n' (a last line without one counts too) and tools/json.c parses each;
 * bench_load_texts_gz keeps a copy of every "text" member.
 */
#include "benchgz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Print what failed at path and exit 1. */
static void die(const char *path, const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", path, what);
    exit(1);
}

int bench_read_jsonl_gz(const char *path, void (*fn)(const jl_object *, void *), void *p)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 20, len = 0;
    char *line = malloc(cap);
    char buf[1 << 16];
    int n;
    if (!line)
        die(path, "out of memory");
    for (;;) {
        n = gzread(f, buf, sizeof buf);
        if (n < 0)
            die(path, "gzread failed");
        for (int i = 0; i < n || (n == 0 && len > 0 && i == 0); i++) {
            char c = n ? buf[i] : '\n';
            if (c != '\n') {
                if (len + 1 >= cap && !(line = realloc(line, cap *= 2)))
                    die(path, "out of memory");
                line[len++] = c;
                continue;
            }
            if (len) {
                jl_object o = { 0 };
                char err[128];
                if (jl_parse(line, len, &o, err, sizeof err) != 0)
                    die(path, err);
                fn(&o, p);
                jl_free(&o);
            }
            len = 0;
        }
        if (n == 0)
            break;
    }
    free(line);
    gzclose(f);
    return 0;
}

/* bench_read_jsonl_gz callback: keep a copy of the object's "text". */
static void keep_text(const jl_object *o, void *p)
{
    bench_texts *t = p;
    const jl_field *x = jl_get(o, "text");
    if (!x)
        return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        bench_text *d = realloc(t->d, cap * sizeof *d);
        if (!d)
            die("texts", "out of memory");
        t->d = d;
        t->cap = cap;
    }
    char *copy = malloc(x->value_len + 1);
    if (!copy)
        die("texts", "out of memory");
    memcpy(copy, x->value, x->value_len + 1);
    t->d[t->n++] = (bench_text){ copy, x->value_len };
    t->bytes += x->value_len;
}

int bench_load_texts_gz(const char *path, bench_texts *t)
{
    memset(t, 0, sizeof *t);
    return bench_read_jsonl_gz(path, keep_text, t);
}

void bench_texts_free(bench_texts *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->d[i].text);
    free(t->d);
    memset(t, 0, sizeof *t);
}
