/*
 * search.h: the search layer's executor and snippet contract, used by the
 * public glue lib/api/search_api.c. The query tree is in query.h; the
 * ranking formula in docs/RANKING.md.
 *
 * exec.c runs a lowered query over every segment of a snapshot with
 * doc-at-a-time iterators (phrase = position intersection, AND = leapfrog on
 * esi_postings_advance, OR = union, NOT = exclusion, date = column filter),
 * skipping deleted documents, counting every match exactly and keeping the
 * best offset+limit in a heap. score.c holds BM25 and the bonuses. snippet.c
 * analyzes the parts of a hit's stored text that can hold a match (found
 * by a scan of the text) to find the byte ranges of all its matches, and
 * builds the highlighted snippet.
 *
 * Threads: everything here is per call; the snapshot and query are only read.
 */
#ifndef ES_SEARCH_H
#define ES_SEARCH_H

#include "query.h"
#include "../storage/storage.h"

/* What a search did (for benchmarks and tests). */
typedef struct esi_search_stats {
    uint64_t scored;          /* documents whose full score was computed */
    uint64_t visits;          /* documents the query was estimated to visit */
    unsigned threads;         /* threads the search ran on (1: not split) */
} esi_search_stats;

/* What to compute. */
typedef struct esi_search_params {
    size_t offset, limit;     /* page; limit 0 = count only */
    es_sort sort;
    double k1, b;             /* BM25 */
    bool exact_total;         /* count every match; else *total is a lower bound */
    bool no_prune;            /* score every match (reference for tests) */
    esi_search_stats *stats;  /* optional: filled in */
    /* Splitting one search over threads: the pool to borrow idle workers
     * from (NULL: the caller's thread only); the fewest documents the
     * query is estimated to visit for a split to pay (0: ESI_SPLIT_MIN);
     * documents per chunk of the split (0: about 8 chunks per thread). */
    struct esi_pool *pool;
    uint64_t split_min;
    uint32_t chunk_docs;
    uint32_t split_look;      /* docs of the root before the workers are woken
                                 (0: ESI_SPLIT_LOOK; tests use 1) */
    uint64_t split_eager;     /* estimated visits from which they are woken at
                                 once (0: ESI_SPLIT_EAGER) */
    uint64_t split_cold;      /* estimated visits from which a sleeping worker
                                 is woken; below, only one still polling after
                                 its last job is lent to (0: ESI_SPLIT_COLD) */
    bool no_flat;             /* leapfrog an AND of bare runs run by run, not
                                 their words at once (reference for tests) */
    /* Optional: an arena the caller keeps between searches (one search at
     * a time). The search carves its matchers and cursors from it and
     * leaves it holding one chunk as large as all it took (at most
     * ESI_SEARCH_KEEP bytes: esi_arena_trim), so the next search reuses
     * that memory instead of taking it from malloc again: where a search's
     * chunk lay at the top of the heap it went back to the system (brk)
     * and came back as fresh pages the kernel zeroed (in a harness doing
     * nothing but searches, about once every four; p50 6-13% lower with
     * the arena kept, stop 24). NULL: the search's own arena, freed at
     * its end. */
    esi_arena *keep;
} esi_search_params;

/* The largest arena chunk esi_search_params.keep holds on to: the
 * cursors of about 450 keys. */
#define ESI_SEARCH_KEEP ((size_t)1 << 20)

/* Estimated documents to visit below which a search is not split. On the
 * benchmark (two cores; bench/queries.txt, each search forced to split vs
 * run on one thread) a split cost time below about 64 (x1.0-1.4: the
 * hand-off and each chunk's first cursor moves) and paid above it: x0.82-0.87
 * for 64-256, x0.67-0.72 for 256-1,024, x0.58-0.65 beyond. */
#define ESI_SPLIT_MIN 64
/* A root of one key costs about this much less per document (no
 * positions, no leapfrog), so its estimate is divided by it. */
#define ESI_SPLIT_ONE_KEY 16
/* A split search wakes the workers only after its caller has run this
 * many docs of the root (or its first chunk), and takes the job back from
 * a worker that has not woken by the end. Measured (medians of 7 per query,
 * one worker): engaging after 1, 32 or 128 docs, or only after 30 or 60 us
 * of work, gave the same p50 within the noise; waking late and the
 * take-back together made splits of searches visiting under 16 docs cost
 * x1.01-1.03 instead of x1.42. */
#define ESI_SPLIT_LOOK 32
/* A search estimated to visit fewer documents than this is split only
 * over workers still polling after their last job (pool.c), never by
 * waking a sleeping one: on the benchmark with 0.4 ms of other work between
 * searches (the workers asleep), splits of searches estimated at 64-256
 * cost x1.24-1.40 their one-thread time, 256-512 x1.02, and paid from 512
 * (x0.86); back to back (the workers polling) they paid from 64. */
#define ESI_SPLIT_COLD 512
/* A search estimated to visit at least this many documents wakes the
 * workers at once: it lasts long enough that they are never handed back,
 * and the caller's first docs gave them a late start (40-100 us). */
#define ESI_SPLIT_EAGER 1024

/* One hit of a page. */
typedef struct esi_hit {
    uint32_t seg, doc;        /* segment index in the snapshot, docno */
    uint32_t date;            /* yyyymmdd or 0 */
    double score;
} esi_hit;

/* Most distinct terms one prefix* may expand to (else ES_ELIMIT). */
#define ESI_PREFIX_MAX 1024

/* Run q over snap: *hits (esi_free it) gets the page [offset, offset+limit)
 * in result order, *total the exact number of matching live documents. */
es_status esi_search_run(const esi_snapshot *snap, const es_query *q,
                         const esi_search_params *p, esi_hit **hits,
                         size_t *nhits, uint64_t *total, esi_err *e);

/* Called by esi_phrase_implied_pairs for each implied pair: its offset in
 * the phrase and its index term (the first character's key, field and
 * all, then the second character's text; borrowed for the call). */
typedef es_status (*esi_pair_fn)(void *ctx, uint32_t at, const uint8_t *term,
                                 uint32_t len);
/* The pairs of adjacent CJK characters phrase f implies but lacks as keys,
 * in offset order, each given to fn (whose error stops the walk and is
 * returned; ES_ENOMEM building the term); *chain whether every offset of f holds a CJK character key,
 * so that pair and character freqs bound its count (exec.c). */
es_status esi_phrase_implied_pairs(const es_query *q, const esi_qphrase *f, bool *chain,
                                   esi_pair_fn fn, void *ctx);

/* What prefix phrase ph of q expands to over snap (prefix.c): the distinct
 * terms starting with its key (field terms left out of a body prefix),
 * sorted bytewise in bytes/off/len, df each one's documents summed over
 * the segments. With per_segment also idf (from df) and, for segment s
 * and term i, ti[s * n + i] and found[s * n + i]. x starts zeroed and is
 * freed with esi_prefix_set_free, also after an error. ES_ELIMIT (more
 * than ESI_PREFIX_MAX terms: the message asks for more letters),
 * ES_ECORRUPT, ES_ENOMEM; e gets the message. */
typedef struct esi_prefix_set {
    esi_buf bytes;             /* the terms' bytes */
    uint32_t *off, *len;       /* term i is bytes.data[off[i] .. off[i] + len[i]) */
    size_t n, cap;
    uint64_t *df;
    double *idf;
    esi_term_info *ti;
    bool *found;
} esi_prefix_set;
es_status esi_prefix_expand(const esi_snapshot *snap, const es_query *q, int32_t ph,
                            bool per_segment, esi_prefix_set *x, esi_err *e);
void esi_prefix_set_free(esi_prefix_set *x);

/* Append to out (NUL-terminated, the NUL not counted) the text of
 * es_query_explain: q's lowered tree, a node a line, with the documents of
 * snap that hold each key (explain.c). ES_ECORRUPT for a damaged
 * dictionary, ES_ENOMEM; e gets the message. */
es_status esi_query_explain(const es_query *q, const esi_snapshot *snap, esi_buf *out,
                            esi_err *e);

/* ---- scoring (score.c) -------------------------------------------------- */

/* Inverse document frequency of a term in df of n documents (never < 0). */
double esi_score_idf(uint64_t df, uint64_t n);
/* BM25 of tf occurrences in a document of dl units (avgdl the mean; dl 0
 * means "no length normalization", used for fields). */
double esi_score_bm25(double idf, uint32_t tf, uint32_t dl, double avgdl,
                      double k1, double b);
#define ESI_SCORE_PHRASE_WEIGHT 1.0   /* bare run found as an exact phrase */
#define ESI_SCORE_TITLE_WEIGHT 1.0    /* word also in the title */

/* ---- snippets (snippet.c) ----------------------------------------------- */

typedef struct esi_snippet_params {
    const char *hl_open, *hl_close;
    size_t sentences;          /* 1..3 */
    size_t window;             /* longest sentence, in characters, before trimming */
} esi_snippet_params;

/* Find every body match of q in text (by analyzing the regions around
 * candidate characters, with the same result as analyzing all of it), merge
 * them into sorted byte ranges (*ranges, esi_free it) and append the
 * snippet to out. */
es_status esi_snippet_make(esi_analyzer *a, const es_query *q, const char *text,
                           size_t len, const esi_snippet_params *p, esi_buf *out,
                           es_range **ranges, size_t *nranges, esi_err *e);

#endif /* ES_SEARCH_H */
