/*
 * testutil.c: see testutil.h. Test-only code; it may print (to say SKIP or
 * to report a seed) but the library itself never does.
 */
#include "testutil.h"
#include "base/base.h"
#include "search/query.h"

#include <check.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + 32;
    char *p = malloc(n);
    snprintf(p, n, "%s/estest.XXXXXX", base);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

void tu_rmrf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            size_t n = strlen(path) + strlen(de->d_name) + 2;
            char *sub = malloc(n);
            snprintf(sub, n, "%s/%s", path, de->d_name);
            tu_rmrf(sub);
            free(sub);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

bool tu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

const char *tu_corpus_dir(void)
{
    const char *d = getenv("ES_CORPUS_DIR");
    struct stat st;
    if (d && stat(d, &st) == 0 && S_ISDIR(st.st_mode))
        return d;
    return NULL;
}

const char *tu_samples_dir(void)
{
    const char *d = getenv("ES_SAMPLES_DIR");
    return d && *d ? d : "data/samples";
}

char *tu_read_sample(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tu_samples_dir(), name);
    char *t = tu_read_file(path, len);
    ck_assert_msg(t != NULL, "cannot read %s (set ES_SAMPLES_DIR)", path);
    return t;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Find "key": "..." in a JSON line and decode the string value into a new
 * buffer (malloc). Enough JSON for the corpus, which is machine-written. */
static char *json_field(const char *line, const char *key, size_t *len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(line, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p != '"')
        return NULL;
    p++;
    char *out = malloc(strlen(p) + 1);
    size_t n = 0;
    while (*p && *p != '"') {
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': out[n++] = '\n'; p++; break;
        case 't': out[n++] = '\t'; p++; break;
        case 'r': out[n++] = '\r'; p++; break;
        case 'b': out[n++] = '\b'; p++; break;
        case 'f': out[n++] = '\f'; p++; break;
        case 'u': {
            unsigned long cp = strtoul((char[5]){ p[1], p[2], p[3], p[4], 0 }, NULL, 16);
            p += 5;
            if (cp >= 0xd800 && cp < 0xdc00 && p[0] == '\\' && p[1] == 'u') {
                unsigned long lo = strtoul((char[5]){ p[2], p[3], p[4], p[5], 0 }, NULL, 16);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            n += esi_utf8_put((uint8_t *)out + n, (uint32_t)cp);
            break;
        }
        default: out[n++] = *p++; break;
        }
    }
    out[n] = '\0';
    *len = n;
    return out;
}

size_t tu_corpus_docs(const char *file, size_t max,
                      void (*fn)(const char *id, const char *title,
                                 const char *text, size_t len, void *p),
                      void *p)
{
    const char *dir = tu_corpus_dir();
    if (!dir)
        return 0;
    size_t pn = strlen(dir) + strlen(file) + 2;
    char *path = malloc(pn);
    snprintf(path, pn, "%s/%s", dir, file);
    gzFile gz = gzopen(path, "rb");
    free(path);
    if (!gz)
        return 0;
    size_t cap = 1 << 20, count = 0;
    char *line = malloc(cap);
    while (count < max) {
        size_t n = 0;
        int c;
        while ((c = gzgetc(gz)) != -1 && c != '\n') {
            if (n + 1 >= cap) {
                cap *= 2;
                line = realloc(line, cap);
            }
            line[n++] = (char)c;
        }
        line[n] = '\0';
        if (n == 0 && c == -1)
            break;
        size_t idl = 0, tl = 0, xl = 0;
        char *id = json_field(line, "id", &idl);
        char *title = json_field(line, "title", &tl);
        char *text = json_field(line, "text", &xl);
        if (id && text) {
            fn(id, title ? title : "", text, xl, p);
            count++;
        }
        free(id);
        free(title);
        free(text);
        if (c == -1)
            break;
    }
    free(line);
    gzclose(gz);
    return count;
}

uint64_t tu_seed(void)
{
    const char *s = getenv("ES_TEST_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) * 2654435761u;
    if (seed == 0)
        seed = 1;
    printf("test seed: %llu (replay with ES_TEST_SEED=%llu)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

uint64_t tu_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ull;
}

const char *tu_query_result(es_status rc, es_query *q, size_t pos)
{
    static char out[8192];
    if (rc != ES_OK) {
        snprintf(out, sizeof out, "ERR %d @%zu", (int)rc, pos);
        return out;
    }
    esi_buf b = { 0 };
    es_status brc = ES_OK;
    esi_query_dump(&brc, q, &b);
    ck_assert_int_eq(brc, ES_OK);
    snprintf(out, sizeof out, "%s", (const char *)b.data);
    esi_buf_free(&b);
    esi_query_free(q);
    return out;
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

void tu_expect_each(const char *(*render)(const char *), const char *const (*cases)[2],
                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *got = render(cases[i][0]);
        ck_assert_msg(strcmp(got, cases[i][1]) == 0, "%s: got '%s', want '%s'",
                      cases[i][0], got, cases[i][1]);
    }
}

TCase *tu_add_case(Suite *s, const char *name, const TTest *fn, int from, int to,
                   int timeout)
{
    TCase *tc = tcase_create(name);
    if (timeout)
        tcase_set_timeout(tc, timeout);
    tcase_add_loop_test(tc, fn, from, to);
    suite_add_tcase(s, tc);
    return tc;
}

void tu_add_cases(Suite *s, const tu_case *cases, size_t n,
                  void (*setup)(void), void (*teardown)(void), int timeout)
{
    for (size_t i = 0; i < n; i++) {
        TCase *tc = tu_add_case(s, cases[i].name, cases[i].fn, 0, 1, timeout);
        if (setup || teardown)
            tcase_add_checked_fixture(tc, setup, teardown);
    }
}
