/*
 * bench_storage.c: index size and build throughput of the storage layer on
 * the shared corpus (main.jsonl.gz). Storage never analyzes text, so this
 * program feeds it a stand-in for the analyzer: every CJK character is a
 * unit term with its position, every pair of adjacent CJK characters a
 * bigram without position (ESI_POS_NONE: phrases are verified on the single
 * characters' positions), every ASCII letter/digit run (lower-cased) a unit term;
 * title tokens are also indexed as "title\x1f<term>". Prints bytes per file
 * kind against the raw UTF-8 text, build time and peak RSS.
 *
 * Usage: bench_storage [index-dir] [ram-buffer-MiB] [max-docs] [dry]
 * ("dry" runs only the corpus reader and tokenizer, to subtract its time.)
 *        bench_storage --decode INDEX-DIR [repeats]
 *        bench_storage --codings INDEX-DIR
 * --decode walks every postings list of an existing index (any writer's:
 * bench_edusearch's too) and times the dictionary walk alone, decoding
 * docs+freqs, then docs, freqs and every position through cursors, and
 * the positions runs alone (the run decoder's own rate). --codings re-codes every block of it under
 * each candidate coding (varints as format 1.0 had them, frame-of-reference
 * bit-packing, patched FOR with exceptions, min(PFOR, varint), a Golomb-Rice
 * estimate, and what format 2 writes) and prints bytes per section: doc
 * deltas, freqs, positions (block headers, the same in all, excluded).
 */
#include "storage/storage_int.h"
#include "benchutil.h"
#include "testutil.h"   /* tests/, for the corpus reader */

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

typedef struct bench {
    esi_ixw *w;
    esi_occ *occ;
    size_t nocc, cap;
    uint64_t raw, docs, occs;
    int failed;
    bool dry;
} bench;

static void push(bench *b, const uint8_t *t, size_t n, uint32_t pos)
{
    if (b->nocc == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4096;
        b->occ = realloc(b->occ, b->cap * sizeof *b->occ);
    }
    b->occ[b->nocc++] = (esi_occ){ t, (uint32_t)n, pos };
}

static bool is_cjk(uint32_t cp)
{
    return (cp >= 0x3400 && cp <= 0x9fff) || (cp >= 0xf900 && cp <= 0xfaff) ||
           (cp >= 0x20000 && cp <= 0x3134f);
}

/* Tokenize s into b->occ; term bytes point into s (or into lower, for
 * ASCII runs); prefix (a field name) is prepended via arena. */
static uint32_t tokenize(bench *b, const char *s, size_t n, char *lower,
                         char *arena, size_t *arena_len, const char *prefix)
{
    size_t i = 0;
    uint32_t pos = 0;
    size_t prev_start = 0, prev_len = 0;
    bool prev_cjk = false;
    size_t pl = prefix ? strlen(prefix) : 0;
    while (i < n) {
        size_t st = i;
        uint32_t cp = esi_utf8_next((const uint8_t *)s, n, &i);
        if (is_cjk(cp)) {
            const char *t = s + st;
            size_t tl = i - st;
            if (prefix) {
                char *a = arena + *arena_len;
                memcpy(a, prefix, pl);
                memcpy(a + pl, t, tl);
                *arena_len += pl + tl;
                t = a;
                tl += pl;
            }
            push(b, (const uint8_t *)t, tl, pos);
            if (prev_cjk) {
                size_t bl = prev_len + (i - st);
                char *a = arena + *arena_len;
                memcpy(a, prefix ? prefix : "", pl);
                memcpy(a + pl, s + prev_start, bl);
                *arena_len += pl + bl;
                push(b, (const uint8_t *)a, pl + bl, ESI_POS_NONE);
            }
            prev_cjk = true;
            prev_start = st;
            prev_len = i - st;
            pos++;
        } else if (cp < 128 && ((cp | 32) - 'a' < 26 || cp - '0' < 10)) {
            size_t j = st;
            while (j < n && (unsigned char)s[j] < 128 &&
                   ((((unsigned char)s[j] | 32) - 'a') < 26 ||
                    ((unsigned char)s[j] - '0') < 10))
                j++;
            char *a = arena + *arena_len;
            memcpy(a, prefix ? prefix : "", pl);
            for (size_t k = st; k < j; k++)
                a[pl + k - st] = (char)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] | 32 : s[k]);
            size_t tl = j - st;
            if (tl > 200)
                tl = 200;
            *arena_len += pl + (j - st);
            push(b, (const uint8_t *)a, pl + tl, pos++);
            i = j;
            prev_cjk = false;
        } else {
            prev_cjk = false;
        }
    }
    (void)lower;
    return pos;
}

static void on_doc(const char *id, const char *title, const char *text,
                   size_t len, void *p)
{
    bench *b = p;
    if (b->failed)
        return;
    b->nocc = 0;
    size_t tl = strlen(title);
    char *arena = malloc(3 * (len + tl) * 8 + 64);
    size_t alen = 0;
    uint32_t doclen = tokenize(b, text, len, NULL, arena, &alen, NULL);
    tokenize(b, title, tl, NULL, arena, &alen, "title\x1f");
    esi_field f = { "title", 5, title, tl };
    esi_doc_in in = { id, strlen(id), text, len, &f, 1, b->occ, b->nocc, doclen, 0 };
    esi_err e;
    if (b->dry) {
        /* measure the feeder alone */
    } else if (esi_ixw_add(b->w, &in, &e) != ES_OK) {
        fprintf(stderr, "add %s: %s\n", id, e.msg);
        b->failed = 1;
    }
    free(arena);
    b->raw += len;
    b->docs++;
    b->occs += b->nocc;
}

static void report(const char *what, const char *dir, uint64_t raw)
{
    esi_snapshot *s;
    esi_err e;
    if (esi_snapshot_open(&s, dir, false, &e) != ES_OK) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    esi_storage_stats st;
    esi_snapshot_stats(s, &st, &e);
    uint64_t total = st.bytes_manifest + st.bytes_dict + st.bytes_postings +
                     st.bytes_store + st.bytes_deletes;
    printf("%s: %zu segments, %llu terms\n", what, s->nsegs,
           (unsigned long long)st.terms);
    printf("  dict      %10llu  %5.1f%% of raw\n", (unsigned long long)st.bytes_dict,
           100.0 * st.bytes_dict / raw);
    printf("  postings  %10llu  %5.1f%%\n", (unsigned long long)st.bytes_postings,
           100.0 * st.bytes_postings / raw);
    printf("  store     %10llu  %5.1f%%\n", (unsigned long long)st.bytes_store,
           100.0 * st.bytes_store / raw);
    printf("  manifest+del %7llu\n",
           (unsigned long long)(st.bytes_manifest + st.bytes_deletes));
    printf("  total     %10llu  %5.1f%% of %llu raw text bytes\n",
           (unsigned long long)total, 100.0 * total / raw, (unsigned long long)raw);
    esi_snapshot_free(s);
}

/* Call fn for every term of every segment of the newest commit of dir. */
typedef void (*term_fn)(const esi_segment *g, const esi_term_info *ti, void *p);
static void each_term(const char *dir, term_fn fn, void *p)
{
    esi_snapshot *s;
    esi_err e;
    if (esi_snapshot_open(&s, dir, false, &e) != ES_OK) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    for (size_t i = 0; i < s->nsegs; i++) {
        esi_dict_iter it;
        esi_dict_iter_init(&it, s->segs[i]);
        es_status rc;
        while ((rc = esi_dict_iter_next(&it, &e)) == ES_OK)
            fn(s->segs[i], &it.ti, p);
        esi_dict_iter_free(&it);
        if (rc != ES_DONE) {
            fprintf(stderr, "%s\n", e.msg);
            exit(1);
        }
    }
    esi_snapshot_free(s);
}

typedef struct walk {
    int what;                  /* 0: open/close only, 1: docs, 2: positions */
    uint64_t terms, docs, pos;
} walk;

static void walk_term(const esi_segment *g, const esi_term_info *ti, void *p)
{
    walk *wk = p;
    esi_postings c;
    esi_err e;
    es_status rc = esi_postings_open(&c, g, ti, &e);
    wk->terms++;
    if (wk->what == 0 && rc == ES_OK)
        rc = ES_DONE;
    while (rc == ES_OK && (rc = esi_postings_next(&c)) == ES_OK) {
        wk->docs++;
        if (wk->what == 2 && ti->positions) {
            const uint32_t *pos;
            uint32_t n;
            if ((rc = esi_postings_positions(&c, &pos, &n)) != ES_OK)
                break;
            wk->pos += n;
        }
    }
    esi_postings_close(&c);
    if (rc != ES_DONE) {
        fprintf(stderr, "walk: %s\n", es_strerror(rc));
        exit(1);
    }
}

/* One block's positions section, for the raw run decoding time. */
typedef struct rawsec {
    const uint8_t *p, *end;    /* the section; end of the mapped payload */
    uint64_t values;           /* the block's sum of freqs */
} rawsec;

/* Decode every positions run of dir (each block's section, taken whole by
 * esi_postings_take_block) straight with esi_run_get, no cursor: the
 * decoder's own rate, median of repeats, in M values/s. Runs get the
 * segment's payload end as their bound, so every run can be read in
 * place. */
static double raw_runs(const char *dir, int repeats, uint64_t *nvalues)
{
    esi_snapshot *s;
    esi_err e;
    rawsec *v = NULL;
    size_t n = 0, cap = 0;
    if (esi_snapshot_open(&s, dir, false, &e) != ES_OK) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    for (size_t i = 0; i < s->nsegs; i++) {
        const esi_segment *g = s->segs[i];
        esi_dict_iter it;
        esi_dict_iter_init(&it, g);
        while (esi_dict_iter_next(&it, &e) == ES_OK) {
            if (!it.ti.positions)
                continue;
            esi_postings c;
            es_status rc = esi_postings_open(&c, g, &it.ti, &e);
            while (rc == ES_OK && (rc = esi_postings_next(&c)) == ES_OK) {
                const uint8_t *pp;
                size_t len;
                uint64_t f = 0;
                for (uint32_t k = 0; k < c.block_n; k++)
                    f += c.block_freqs[k];
                if ((rc = esi_postings_take_block(&c, &pp, &len)) != ES_OK)
                    break;
                if (n == cap) {
                    cap = cap ? cap * 2 : 4096;
                    v = realloc(v, cap * sizeof *v);
                    if (!v)
                        exit(1);
                }
                v[n++] = (rawsec){ pp, g->post_p + g->post_len, f };
            }
            esi_postings_close(&c);
            if (rc != ES_DONE) {
                fprintf(stderr, "raw: %s\n", es_strerror(rc));
                exit(1);
            }
        }
        esi_dict_iter_free(&it);
    }
    double t[31];
    uint32_t out[128];
    uint64_t sink = 0, total = 0;
    for (int r = 0; r < repeats; r++) {
        double t0 = bench_cpu();
        total = 0;
        for (size_t k = 0; k < n; k++) {
            const uint8_t *p = v[k].p;
            for (uint64_t j = 0; j < v[k].values; j += 128) {
                uint64_t left = v[k].values - j;
                uint32_t rn = left < 128 ? (uint32_t)left : 128;
                if (!esi_run_get(&p, v[k].end, rn, out)) {
                    fprintf(stderr, "raw: damaged run\n");
                    exit(1);
                }
                sink += out[rn - 1];
            }
            total += v[k].values;
        }
        t[r] = bench_cpu() - t0;
    }
    double med = bench_median(t, (size_t)repeats);
    if (sink == 42)   /* keep the decoding */
        printf(" ");
    free(v);
    esi_snapshot_free(s);
    *nvalues = total;
    return total / med / 1e6;
}

/* Time decoding every postings list of dir: median of repeats. Three
 * walks: the dictionary alone (open and close every cursor), docs+freqs,
 * and docs+freqs+positions; net rates subtract the walk before. */
static int decode_bench(const char *dir, int repeats)
{
    double t[3][31];
    walk wk[3];
    if (repeats < 1 || repeats > 31)
        repeats = 5;
    for (int r = 0; r < repeats; r++) {
        for (int k = 0; k < 3; k++) {
            wk[k] = (walk){ k, 0, 0, 0 };
            double t0 = bench_cpu();
            each_term(dir, walk_term, &wk[k]);
            t[k][r] = bench_cpu() - t0;
        }
    }
    double med[3];
    for (int k = 0; k < 3; k++)
        med[k] = bench_median(t[k], (size_t)repeats);
    double d = med[1], pp = med[2];
    printf("decode: %llu terms, %llu postings, %llu positions; dictionary "
           "walk %.3fs CPU; docs+freqs %.3fs CPU (%.1f M postings/s, %.1f M/s "
           "net of the dictionary); docs+freqs+positions %.3fs CPU (%.1f M "
           "positions/s, %.1f M positions/s net of docs)\n",
           (unsigned long long)wk[0].terms, (unsigned long long)wk[1].docs,
           (unsigned long long)wk[2].pos, med[0], d, wk[1].docs / d / 1e6,
           d > med[0] ? wk[1].docs / (d - med[0]) / 1e6 : 0.0, pp,
           wk[2].pos / pp / 1e6, pp > d ? wk[2].pos / (pp - d) / 1e6 : 0.0);
    uint64_t nv;
    double rate = raw_runs(dir, repeats, &nv);
    printf("decode: positions runs alone (esi_run_get, no cursor): %llu "
           "values, %.1f M values/s\n", (unsigned long long)nv, rate);
    return 0;
}

#ifdef ESI_POST_FLAG_RUNS
/* Bytes per section under each coding: [coding][docs, freqs, positions]. */
enum { C_VARINT, C_FOR, C_PFOR, C_PACKED, C_RICE, C_FORMAT, NCODINGS };
typedef struct codings {
    uint64_t bytes[NCODINGS][3];
    uint64_t blocks, full_blocks, docs, pos, post_bytes;
} codings;

/* Bytes of v[0..n) as a Golomb-Rice run with the best parameter (a header
 * byte, the low k bits of each value packed, each v >> k in unary): an
 * estimate only, the format does not use it. */
static uint64_t rice_size(const uint32_t *v, uint32_t n)
{
    uint64_t best = UINT64_MAX;
    for (unsigned k = 0; k < 32; k++) {
        uint64_t bits = 0;
        for (uint32_t i = 0; i < n; i++)
            bits += (v[i] >> k) + 1 + k;
        if (bits < best)
            best = bits;
    }
    return 1 + (best + 7) / 8;
}

/* Re-code one block: n docs (deltas as the format takes them), freqs and
 * its position deltas. Docs and freqs of short blocks stay folded varints
 * in every coding but the format's (which packs them when smaller). */
static void code_block(codings *k, const uint32_t *dd, const uint32_t *fr,
                       uint32_t n, const uint32_t *pd, uint64_t np)
{
    uint32_t v[128];
    uint64_t vd = 0, vf = 0;
    for (uint32_t i = 0; i < n; i++) {
        vd += esi_varint_len((uint64_t)dd[i] << 1 | (fr[i] == 1));
        vf += fr[i] == 1 ? 0 : esi_varint_len(fr[i]);
        v[i] = fr[i] - 1;
    }
    static const esi_run_mode modes[NCODINGS] = {
        ESI_RUN_VARINT, ESI_RUN_FOR, ESI_RUN_PFOR, ESI_RUN_AUTO,
        ESI_RUN_AUTO, ESI_RUN_AUTO };
    for (int m = 0; m < NCODINGS; m++) {
        uint64_t rd = m == C_RICE ? rice_size(dd, n) : esi_run_size(dd, n, modes[m]),
                 rf = m == C_RICE ? rice_size(v, n) : esi_run_size(v, n, modes[m]);
        bool packed = m == C_FORMAT ? n > 2 && rd + rf < vd + vf
                                    : m != C_VARINT && n == 128;
        k->bytes[m][0] += packed ? rd : vd;
        k->bytes[m][1] += packed ? rf : vf;
        for (uint64_t j = 0; j < np; j += 128) {
            uint32_t rn = np - j < 128 ? (uint32_t)(np - j) : 128;
            k->bytes[m][2] += m == C_RICE ? rice_size(pd + j, rn)
                                          : esi_run_size(pd + j, rn, modes[m]);
        }
    }
    k->blocks++;
    k->full_blocks += n == 128;
    k->docs += n;
    k->pos += np;
}

static void code_term(const esi_segment *g, const esi_term_info *ti, void *p)
{
    codings *k = p;
    static uint32_t *pd;
    static size_t pcap;
    uint32_t dd[128], fr[128], n = 0, prev = 0, base = 0;
    uint64_t np = 0;
    esi_postings c;
    esi_err e;
    es_status rc = esi_postings_open(&c, g, ti, &e);
    k->post_bytes += ti->post_len;
    while (rc == ES_OK && (rc = esi_postings_next(&c)) == ES_OK) {
        if (c.block_i == 0 && n > 0) {
            code_block(k, dd, fr, n, pd, np);
            base = prev + 1;
            n = 0;
            np = 0;
        }
        dd[n] = n == 0 ? c.doc - base : c.doc - prev - 1;
        fr[n++] = c.freq;
        prev = c.doc;
        const uint32_t *pos;
        uint32_t m;
        if (ti->positions) {
            if ((rc = esi_postings_positions(&c, &pos, &m)) != ES_OK)
                break;
            if (np + m > pcap) {
                pcap = (np + m) * 2;
                pd = realloc(pd, pcap * sizeof *pd);
            }
            for (uint32_t i = 0; i < m; i++)
                pd[np + i] = pos[i] - (i ? pos[i - 1] : 0);
            np += m;
        }
    }
    if (n > 0)
        code_block(k, dd, fr, n, pd, np);
    esi_postings_close(&c);
    if (rc != ES_DONE) {
        fprintf(stderr, "codings: %s\n", es_strerror(rc));
        exit(1);
    }
}

static int codings_bench(const char *dir)
{
    codings k = { 0 };
    each_term(dir, code_term, &k);
    static const char *const names[NCODINGS] = {
        "varint (format 1.0)", "FOR, width per 128", "PFOR (exceptions)",
        "min(PFOR, varint)", "Golomb-Rice, best k per 128 (estimate)",
        "format 2: min(PFOR, varint) runs, short blocks' docs+freqs packed "
        "when smaller" };
    printf("%llu blocks (%llu full), %llu postings, %llu positions; "
           "postings file payload %llu bytes\n",
           (unsigned long long)k.blocks, (unsigned long long)k.full_blocks,
           (unsigned long long)k.docs, (unsigned long long)k.pos,
           (unsigned long long)k.post_bytes);
    printf("| coding | doc deltas | freqs | positions | sum | bits/position |\n"
           "|---|---|---|---|---|---|\n");
    for (int m = 0; m < NCODINGS; m++) {
        uint64_t *b = k.bytes[m];
        printf("| %s | %llu | %llu | %llu | %llu | %.2f |\n", names[m],
               (unsigned long long)b[0], (unsigned long long)b[1],
               (unsigned long long)b[2], (unsigned long long)(b[0] + b[1] + b[2]),
               k.pos ? 8.0 * b[2] / k.pos : 0.0);
    }
    return 0;
}
#endif

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--decode") == 0)
        return decode_bench(argv[2], argc > 3 ? atoi(argv[3]) : 5);
#ifdef ESI_POST_FLAG_RUNS
    if (argc > 2 && strcmp(argv[1], "--codings") == 0)
        return codings_bench(argv[2]);
#endif

    if (!tu_corpus_dir()) {
        printf("SKIP: ../shared/corpus not found (set ES_CORPUS_DIR)\n");
        return 77;
    }
    char *dir = argc > 1 ? argv[1] : tu_tmpdir();
    size_t ram = (argc > 2 ? (size_t)atol(argv[2]) : 64) << 20;
    size_t max = argc > 3 ? (size_t)atol(argv[3]) : SIZE_MAX;
    tu_rmrf(dir);
    esi_ixw_opts o = { true, ram, true };
    bench b = { 0 };
    esi_err e;
    if (esi_ixw_open(&b.w, dir, &o, &e) != ES_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    b.dry = argc > 4 && strcmp(argv[4], "dry") == 0;
    if (b.dry) {
        double d0 = bench_now();
        tu_corpus_docs("main.jsonl.gz", max, on_doc, &b);
        printf("feeder alone: %llu docs in %.2fs\n", (unsigned long long)b.docs,
               bench_now() - d0);
        printf("feeder CPU %.2fs\n", bench_cpu());
        esi_ixw_free(b.w);
        return 0;
    }
    double t0 = bench_now(), c0 = bench_cpu();
    tu_corpus_docs("main.jsonl.gz", max, on_doc, &b);
    double t1 = bench_now(), c1 = bench_cpu();
    if (b.failed || esi_ixw_commit(b.w, &e) != ES_OK) {
        fprintf(stderr, "commit: %s\n", e.msg);
        return 1;
    }
    double t2 = bench_now(), c2 = bench_cpu();
    printf("%llu docs, %llu raw bytes, %llu term occurrences; add %.2fs "
           "(incl. gunzip+json+tokenize), commit %.2fs, %.1f MB/s; "
           "CPU add %.2fs commit %.2fs\n",
           (unsigned long long)b.docs, (unsigned long long)b.raw,
           (unsigned long long)b.occs, t1 - t0, t2 - t1,
           b.raw / 1e6 / (t2 - t0), c1 - c0, c2 - c1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS after indexing %ld MiB (ram buffer %zu MiB)\n",
           ru.ru_maxrss / 1024, ram >> 20);
    report("after commit", dir, b.raw);
    double t3 = bench_now(), c3 = bench_cpu();
    if (esi_ixw_optimize(b.w, &e) != ES_OK) {
        fprintf(stderr, "optimize: %s\n", e.msg);
        return 1;
    }
    double t4o = bench_now(), c4 = bench_cpu();
    printf("optimize %.2fs (CPU %.2fs); build incl. optimize %.2fs wall, "
           "%.2fs CPU, %.1f MB/s by CPU\n", t4o - t3, c4 - c3, t4o - t0,
           c4 - c0, b.raw / 1e6 / (c4 - c0));
    report("after optimize", dir, b.raw);
    esi_ixw_free(b.w);
    double t4 = bench_now();
    if (esi_storage_check(dir, &e) != ES_OK) {
        fprintf(stderr, "check: %s\n", e.msg);
        return 1;
    }
    printf("check %.2fs\n", bench_now() - t4);
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS with optimize %ld MiB (ram buffer %zu MiB)\n", ru.ru_maxrss / 1024, ram >> 20);
    free(b.occ);
    if (argc <= 1) {
        tu_rmrf(dir);
        free(dir);
    }
    return 0;
}
