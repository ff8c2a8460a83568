/*
 * This fuzz target damages one file of a small, valid index (the input
 * chooses the file, the offset and the bytes written there) and then opens,
 * searches, explains and checks the damaged index, to ensure that a corrupt or
 * truncated index file never crashes the reader or returns garbage: opening
 * or searching either works or fails with an error, and es_index_check()
 * reports any change to a checksummed file.
 * Input: byte 0 picks the file, bytes 1..3 the offset (modulo its length),
 * byte 4 the mode (bit 0: truncate at the offset; else the rest of the
 * input is written there and, with bit 1, the footer's crc32 is recomputed
 * so the damage gets past the checksum and es_index_check() itself has to
 * decode it: every postings block, run table and run to its end).
 */
#include "fuzz.h"

#include <edusearch.h>

#include <dirent.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char base[200], work[256];
static char *files[64];
static size_t nfiles;

/* Read a whole file (malloc'ed). */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)(n > 0 ? n : 0), f);
    fclose(f);
    return b;
}

static void spit(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    FUZZ_ASSERT(f != NULL);
    fwrite(d, 1, n, f);
    fclose(f);
}

/* Remove the scratch directories when the process ends. */
static void cleanup(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (base[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", base);
}

/* The generation number of a MANIFEST-<gen> name (0 if not a manifest). */
static unsigned long manifest_gen(const char *n)
{
    return strncmp(n, "MANIFEST-", 9) == 0 ? strtoul(n + 9, NULL, 10) : 0;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add a doc with text and the title and date fields every doc has. */
static void add_doc(es_writer *w, const char *id, const char *text)
{
    es_doc *d = NULL;
    FUZZ_ASSERT(es_doc_new(&d, id, strlen(id), NULL) == ES_OK);
    es_doc_set_text(d, text, strlen(text));
    es_doc_set_field(d, "title", "关于教育的通知", strlen("关于教育的通知"));
    es_doc_set_field(d, "date", "2025-06-26", 10);
    FUZZ_ASSERT(es_writer_add(w, d) == ES_OK);
    es_doc_free(d);
}

/* Build the pristine index once and list its checksummed files. */
static void init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/esfuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_ASSERT(mkdtemp(base) != NULL);
    atexit(cleanup);
    snprintf(work, sizeof work, "%s/work", base);
    char ix[300];
    snprintf(ix, sizeof ix, "%s/ix", base);
    es_writer *w = NULL;
    FUZZ_ASSERT(es_writer_open(&w, ix, NULL, NULL) == ES_OK);
    static const char *texts[] = {
        "濮阳市教育局关于推进集团化办学的通知。义务教育优质均衡发展。",
        "信阳市教育体育局答复：学前教育普及普惠，2025年完成。",
        "AI数智校园 60% 44.8万 濮教函〔2025〕93号 “1+1+N”",
    };
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "d%d", i);
        add_doc(w, id, texts[i]);
        if (i == 1) {
            /* 130 short docs in the first segment, so 教, 育, 学 and 校
             * have a full 128-doc block; with two or three occurrences
             * per doc its positions section holds several runs and a run
             * table (FORMAT.md §4) */
            for (int k = 0; k < 130; k++) {
                char t[96];
                snprintf(id, sizeof id, "n%d", k);
                snprintf(t, sizeof t, "第%d号：教育局%s学校教育。", k,
                         k % 9 ? "" : "关于");
                add_doc(w, id, t);
            }
            FUZZ_ASSERT(es_writer_commit(w) == ES_OK);   /* two segments */
        }
    }
    /* one doc in which 学 and 前 repeat 300 times (three runs each in a
     * one-doc block), with a longer gap every 37th time so that some runs
     * code a few deltas as exceptions of a patched frame */
    static char rep[300 * 30];
    size_t rl = 0;
    for (int k = 0; k < 300; k++)
        rl += (size_t)snprintf(rep + rl, sizeof rep - rl, "%s",
                               k % 37 == 36 ? "学前，濮阳市的教育。" : "学前");
    add_doc(w, "r0", rep);
    FUZZ_ASSERT(es_writer_delete(w, "d0", 2) == ES_OK);
    FUZZ_ASSERT(es_writer_commit(w) == ES_OK);
    es_writer_free(w);
    /* every file the newest commit uses: its manifest and its segments */
    DIR *dir = opendir(ix);
    struct dirent *de;
    unsigned long newest = 0;
    while ((de = readdir(dir)) != NULL)
        if (manifest_gen(de->d_name) > newest)
            newest = manifest_gen(de->d_name);
    rewinddir(dir);
    while ((de = readdir(dir)) != NULL && nfiles < 64) {
        const char *n = de->d_name;
        if (n[0] == '.' || !strcmp(n, "LOCK") || strstr(n, ".tmp") ||
            (manifest_gen(n) && manifest_gen(n) != newest))
            continue;
        files[nfiles++] = strdup(n);
    }
    closedir(dir);
    qsort(files, nfiles, sizeof files[0], cmpstr);
    FUZZ_ASSERT(nfiles > 0);
}

/* Copy the pristine index into work/ (removing what was there). */
static void reset_work(void)
{
    char p[600];
    DIR *dir = opendir(work);
    struct dirent *de;
    while (dir && (de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", work, de->d_name);
        unlink(p);
    }
    if (dir)
        closedir(dir);
    mkdir(work, 0755);
    for (size_t i = 0; i < nfiles; i++) {
        char src[600];
        size_t n;
        snprintf(src, sizeof src, "%s/ix/%s", base, files[i]);
        snprintf(p, sizeof p, "%s/%s", work, files[i]);
        uint8_t *d = slurp(src, &n);
        spit(p, d, n);
        free(d);
    }
}

/* Phrases over 教育, 学校 and 学前 decode positions through run tables
 * (in windows, as a phrase check reaches them); es_index_check below reads
 * every run to its end. */
static const char *queries[] = { "教育", "\"集团化办学\"", "2025 OR 学前", "title:通知",
                                 "教育 -学前", "date:2025", "\"学校教育\"",
                                 "\"学前学前学前\"", "\"市的教育\" OR \"局学校\"" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!nfiles)
        init();
    if (size < 5)
        return 0;
    reset_work();
    const char *name = files[data[0] % nfiles];
    char path[600];
    snprintf(path, sizeof path, "%s/%s", work, name);
    size_t len;
    uint8_t *orig = slurp(path, &len);
    uint32_t off = (uint32_t)data[1] | (uint32_t)data[2] << 8 |
                   (uint32_t)data[3] << 16;
    bool truncate = data[4] & 1;
    bool fix_crc = !truncate && (data[4] & 2);
    const uint8_t *patch = data + 5;
    size_t plen = size - 5;
    uint8_t *mut = malloc(len + plen + 1);
    memcpy(mut, orig, len);
    size_t mlen = len;
    if (len)
        off %= (uint32_t)len;
    else
        off = 0;
    if (truncate) {
        mlen = off;
    } else {
        for (size_t i = 0; i < plen && off + i < len; i++)
            mut[off + i] = patch[i];
    }
    if (fix_crc && len >= 16) {   /* footer: u64 len, u32 crc32, u32 magic */
        uLong crc = crc32(0L, mut, (uInt)(len - 8));
        for (int k = 0; k < 4; k++)
            mut[len - 8 + k] = (uint8_t)(crc >> (8 * k));
    }
    bool changed = mlen != len || memcmp(mut, orig, len) != 0;
    spit(path, mut, mlen);

    es_index *ix = NULL;
    if (es_index_open(&ix, work, NULL) == ES_OK) {
        for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
            es_query *qq = NULL;
            FUZZ_ASSERT(es_query_parse(&qq, queries[q], strlen(queries[q]), NULL) == ES_OK);
            es_results *r = NULL;
            if (es_search(&r, ix, qq, NULL, NULL) == ES_OK) {
                for (size_t i = 0; i < es_results_count(r); i++) {
                    size_t n;
                    const es_range *m;
                    const char *t = es_results_text(r, i, &n);
                    size_t nm = es_results_matches(r, i, &m);
                    for (size_t k = 0; k < nm; k++)
                        FUZZ_ASSERT(t && m[k].start < m[k].end && m[k].end <= n);
                    es_results_snippet(r, i, &n);
                }
            }
            es_results_free(r);
            char plan[64];
            size_t xlen = 0;        /* a damaged dictionary: an error, never a crash */
            es_status xrc = es_query_explain(ix, qq, plan, sizeof plan, &xlen, NULL);
            FUZZ_ASSERT(xrc != ES_OK ||
                        strlen(plan) == (xlen < sizeof plan ? xlen : sizeof plan - 1));
            es_query_free(qq);
        }
        es_index_free(ix);
    }
    es_error rep;
    es_status rc = es_index_check(work, &rep);
    if (changed && !fix_crc)   /* else the damage may be valid data */
        FUZZ_ASSERT(rc != ES_OK);
    free(mut);
    free(orig);
    return 0;
}
