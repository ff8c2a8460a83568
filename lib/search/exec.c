/*
 * exec.c: runs a lowered query (query.h) over a snapshot, one segment at a
 * time, doc at a time. Each query node becomes a matcher with one operation,
 * advance(target): move to the first matching docno >= target.
 *
 *   PHRASE  one postings cursor per key; leapfrog the cursors to a common
 *           doc, then check positions (key i at start + its offset): one
 *           confirmed start makes a match (enough to count it); the number
 *           of starts, the phrase's tf, is computed only for a doc that is
 *           scored. A one-key phrase needs no positions (tf = the
 *           posting's freq). Where a pair has positions (the writer's
 *           common pairs), the check reads the pair's positions instead
 *           of its two characters' (position_keys). The adjacent pairs
 *           the phrase implies but does not keep as keys (plan_pairs)
 *           join the leapfrog before any character cursor moves, and when
 *           every pair is known, pair and character freqs bound the count
 *           (chain_bounds): a lower bound above 0 needs no positions.
 *   AND     leapfrog over its positive kids (cheapest first), then reject
 *           docs where a NOT kid matches. Kids that are ANDs without NOT
 *           (the words of bare runs) are passed over: their own kids join
 *           the leapfrog, and they are verified on the docs it stops at
 *           (plan_flat_and).
 *   OR      the smallest doc of its kids.
 *   PREFIX  the terms of the dictionary starting with the prefix (at most
 *           ESI_PREFIX_MAX distinct over the snapshot; prefix.c), one
 *           cursor each: the smallest doc of the cursors; each term scores
 *           as its own word.
 *   DATE    the first doc whose date column lies in [lo, hi] (0 = no date
 *           never matches).
 * Deleted docs are skipped at the top. Every live match is counted (the
 * total is exact) and, unless only the count is wanted, scored (score.c) and
 * offered to a bounded heap of the best offset+limit. Bonus phrases (whole
 * bare runs) and title twins are optional matchers, looked at only on docs
 * that already match (and only there); a bonus uses the cursors of its
 * run's words for the keys they share (lend_cursor). With pruning, a doc's score bound
 * is refined before it is scored: the estimated tfs are made exact one at
 * a time, cheapest first, and the doc is dropped once the bound falls
 * below the heap's worst. Document frequencies are summed over segments first so
 * that scores do not depend on how documents fall into segments. A root of
 * one key reads its postings straight through (run_single). A search
 * estimated to visit enough docs is split into chunks of docnos that the
 * caller and the index's idle search workers take in turn (run_all), each
 * with a run of its own, heaps merged at the end.
 * Everything is per call: the snapshot and the query are only read.
 */
#include "search.h"
#include "../base/pool.h"

#include <math.h>
#include <stdatomic.h>

#define DOC_END UINT32_MAX

typedef struct matcher matcher;
struct matcher {
    esi_qop op;
    uint32_t doc;              /* current doc; DOC_END when exhausted */
    bool started;
    uint64_t cost;             /* estimated postings to visit */
    matcher **kids;            /* AND: positive kids then NOT kids; OR; NOT: 1 */
    size_t nkids, npos;        /* npos: positive kids of AND */
    /* AND with AND kids free of NOT (the words of bare runs): what it
     * leapfrogs instead of its positive kids, those kids' kids and so on
     * down (flat, cheapest first), and the ANDs so passed over (inner,
     * deepest first), which it verifies and moves to each doc it stops at
     * (see advance_and) */
    matcher **flat, **inner;
    size_t nflat, ninner;
    /* PHRASE */
    int32_t ph;
    esi_postings **cur;        /* one per key, in key order: its own cursor
                                  (own[i]) or, for a bonus phrase, the
                                  cursor of the same key in a word of its
                                  run (build_phrase) */
    esi_postings *own;         /* the cursors it opened (ncur of them) */
    uint32_t *cdoc;            /* each cursor's doc, DOC_END before start */
    size_t ncur;
    bool empty;                /* a key is missing from the segment */
    bool lazy;                 /* stop at docs holding every key; verify later */
    bool found;                /* the phrase is known to occur on doc */
    bool verified;             /* tf is the exact phrase count on doc */
    uint32_t *same;            /* per cursor: first cursor of the same key */
    bool dup;                  /* some key occurs twice (same[i] != i) */
    struct pkey *pk;           /* the keys whose positions decide it
                                  (position_keys) */
    size_t npk;
    bool pk_aux;               /* one of them is an aux pair cursor */
    uint32_t *bk;              /* the cursors a bound needs (see bound_keys) */
    size_t nbk;
    /* the phrase's adjacent character pairs that are not keys (see
     * plan_pairs): one cursor each, looked at only when verifying */
    esi_postings *acur;
    uint32_t *acdoc;
    size_t nacur;
    size_t aux_at;             /* advance_phrase moves them before lead[aux_at]
                                  (the first key commoner than the rarest of
                                  them, or the first with positions) */
    bool aabsent;              /* one of them is not in the segment */
    bool chain;                /* every offset a character, every adjacent
                                  pair known: cchar/cpair hold for span */
    uint32_t span;
    uint32_t *cchar;           /* per offset: cursor of its character */
    uint32_t *cpair;           /* per offset < span - 1: cursor of the pair
                                  there (>= ncur: aux cursor cpair - ncur) */
    uint32_t *lead;            /* cursors by document frequency, rarest first */
    uint32_t *cand;            /* phrase_tf scratch: candidate starts */
    size_t ccap;
    uint32_t tf;
    uint32_t maxtf;            /* PHRASE: smallest max_tf of its keys in the
                                  segment, a bound of its tf on any doc */
    double idf;
    double ceil;               /* AND: the bonus ceiling, sum of its positive
                                  kids' idf (k1 + 1), in kid order */
    double *pidf;              /* PREFIX: idf of each cursor's term */
    matcher *twin;             /* PHRASE: title twin; AND: bonus phrase */
    /* DATE */
    uint32_t lo, hi;
};

/* A key whose positions decide a phrase on a doc: its cursor (for a key
 * that occurs twice, the first one's) and its offset in the phrase. */
typedef struct pkey {
    esi_postings *c;
    uint32_t at;
} pkey;

/* The expansion of one prefix phrase over the snapshot (prefix.c). */
typedef esi_prefix_set pxset;

/* An adjacent pair of characters of a phrase that is not one of its keys
 * (bytes in run.auxb, its offset in the phrase). */
typedef struct auxkey {
    uint32_t off, len, at;
} auxkey;

/* A range of docnos of one segment that one thread runs. */
typedef struct chunk {
    uint32_t seg, lo, hi;
} chunk;

/* A search split over threads: the chunks they take in order, and the
 * best threshold of any thread's full heap (its k hits all score at least
 * that, so a doc whose bound is below it cannot enter the merged page). */
typedef struct split {
    chunk *c;
    size_t n;
    atomic_size_t next;
    _Atomic uint64_t theta;    /* bits of a double; -HUGE_VAL: none yet */
    atomic_bool stop;          /* a thread failed: the others stop early */
    /* the caller's side, touched by its thread only: the workers it lends
     * the chunks left to (engage_check) */
    struct job *jobs;
    size_t nw, started;
    bool awake_only;           /* lend only to workers still polling */
} split;

/* Per-search state shared by the matchers of one segment. In a split
 * search each thread has a run of its own: a copy of the caller's after
 * prepare() whose per-thread part (matchers, heap, counts, scratch) is
 * reset; what prepare() computed is shared and only read. */
typedef struct run {
    const esi_snapshot *snap;
    const es_query *q;
    const esi_search_params *p;
    esi_err *e;
    size_t seg;                /* current segment */
    const esi_segment *s;
    esi_term_info *ti;         /* [seg * nkeys + key] */
    bool *found;               /* same shape: key present in segment */
    double *ph_idf;            /* per phrase */
    matcher **all;             /* every matcher of the segment, for freeing */
    size_t nall, allcap;
    esi_arena mem;             /* the matchers and their arrays (not cand);
                                  reset with them, per segment */
    /* the heap of the best hits */
    esi_hit *heap;
    size_t nheap, k;
    uint64_t total;
    uint64_t scored;
    pxset *px;                 /* per phrase: expansion of a prefix */
    /* per phrase: its adjacent character pairs that are not keys and
     * whether it is a chain (plan_pairs) */
    esi_buf auxb;              /* their bytes */
    struct auxkey *aux;
    size_t naux;
    uint32_t *aux_first, *aux_n;
    bool *chain;
    esi_term_info *aux_ti;     /* [seg * naux + i] */
    bool *aux_found;
    struct item *items;        /* refine() scratch, room for every matcher */
    size_t nitems, itemcap;
    /* upper's plan for a root that is a tree of ANDs over phrases (flat):
     * every such phrase is on each doc the root is on */
    bool flat;
    matcher **leaf;            /* the phrases */
    struct item *opt;          /* their title twins and the ANDs' bonus
                                  phrases (a twin's w: its largest term) */
    size_t nleaf, nopt;
    bool prune;                /* skip docs whose score bound cannot enter the heap */
    bool uncounted;            /* a pruned doc is neither verified nor counted */
    split *sp;                 /* in a split search; else NULL */
    uint32_t engage_in;        /* the caller of a split search: root docs to
                                  go before it wakes the workers (0: done) */
    uint64_t visits;           /* run_all's estimate, for the stats */
    unsigned threads;          /* threads run_all used */
} run;

/* True if hit a ranks before hit b. */
static bool better(const run *r, const esi_hit *a, const esi_hit *b)
{
    if (r->p->sort == ES_SORT_DATE && a->date != b->date)
        return a->date > b->date;
    if (a->score != b->score)
        return a->score > b->score;
    if (a->seg != b->seg)
        return a->seg < b->seg;
    return a->doc < b->doc;
}

/* Sift the heap (worst hit at the root) down from i. */
static void sift_down(run *r, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, w = i;
        if (l < r->nheap && better(r, &r->heap[w], &r->heap[l]))
            w = l;
        if (l + 1 < r->nheap && better(r, &r->heap[w], &r->heap[l + 1]))
            w = l + 1;
        if (w == i)
            return;
        esi_hit t = r->heap[i];
        r->heap[i] = r->heap[w];
        r->heap[w] = t;
        i = w;
    }
}

/* Offer a hit to the bounded heap. */
static void offer(run *r, const esi_hit *h)
{
    if (r->k == 0)
        return;
    if (r->nheap < r->k) {
        size_t i = r->nheap++;
        r->heap[i] = *h;
        while (i > 0) {
            size_t up = (i - 1) / 2;
            if (!better(r, &r->heap[up], &r->heap[i]))
                break;
            esi_hit t = r->heap[i];
            r->heap[i] = r->heap[up];
            r->heap[up] = t;
            i = up;
        }
        return;
    }
    if (better(r, h, &r->heap[0])) {
        r->heap[0] = *h;
        sift_down(r, 0);
    }
}

/* Offer a hit, then, in a split search, raise the shared threshold to the
 * worst score of a full heap. */
static void offer_shared(run *r, const esi_hit *h)
{
    offer(r, h);
    if (!r->sp || r->nheap < r->k)
        return;
    double mine = r->heap[0].score, cur;
    uint64_t bits = atomic_load_explicit(&r->sp->theta, memory_order_relaxed), nb;
    memcpy(&nb, &mine, sizeof nb);
    do {
        memcpy(&cur, &bits, sizeof cur);
        if (!(mine > cur))
            return;
    } while (!atomic_compare_exchange_weak_explicit(&r->sp->theta, &bits, nb,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
}

/* The score a new doc must reach to enter the page: the worst of a full
 * heap or, in a split search, the shared threshold when higher; false
 * while there is none. Only a bound strictly below it rules a doc out, so
 * a doc of this thread that ties another thread's hit still enters. */
static bool threshold(const run *r, double *thr)
{
    bool have = r->nheap == r->k;
    double t = have ? r->heap[0].score : -HUGE_VAL;
    if (r->sp) {
        uint64_t bits = atomic_load_explicit(&r->sp->theta, memory_order_relaxed);
        double s;
        memcpy(&s, &bits, sizeof s);
        if (s > t) {
            t = s;
            have = true;
        }
    }
    *thr = t;
    return have;
}

/* A new zeroed matcher registered for freeing (from r->mem); NULL on
 * ENOMEM. */
static matcher *new_matcher(run *r, esi_qop op)
{
    if (r->nall == r->allcap) {
        size_t cap = r->allcap ? r->allcap * 2 : 32, bytes;
        if (!esi_mul_ok(cap, sizeof *r->all, &bytes))
            return NULL;
        matcher **a = esi_realloc(r->all, bytes);
        if (!a)
            return NULL;
        r->all = a;
        r->allcap = cap;
    }
    matcher *m = esi_arena_alloc(&r->mem, sizeof *m, true);
    if (!m)
        return NULL;
    m->op = op;
    m->ph = -1;
    r->all[r->nall++] = m;
    return m;
}

/* Close n cursors (their array is in the run's arena). */
static void close_cursors(esi_postings *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        esi_postings_close(&c[i]);
}

/* Close the matchers of a segment: their cursors, and what grows (cand);
 * their memory stays in the arena. */
static void close_matchers(run *r)
{
    for (size_t i = 0; i < r->nall; i++) {
        matcher *m = r->all[i];
        close_cursors(m->own, m->ncur);
        close_cursors(m->acur, m->nacur);
        esi_free(m->cand);
    }
    r->nall = 0;
}

/* Close the matchers of a segment and give the arena back for the next. */
static void free_matchers(run *r)
{
    close_matchers(r);
    esi_arena_reset(&r->mem);
}

/* Room for n postings cursors, not zeroed: a cursor is about 2 KB and
 * esi_postings_open initializes every field (a query opens dozens). */
static esi_postings *new_cursors(run *r, size_t n)
{
    size_t bytes;
    if (!esi_mul_ok(n ? n : 1, sizeof(esi_postings), &bytes))
        return NULL;
    return esi_arena_alloc(&r->mem, bytes, false);
}

/* Room for m's n key cursors (m->own, and m->cur pointing at them) and,
 * in the same zeroed allocation as m->cur, its per-key arrays cdoc, same,
 * lead and bk. */
static bool key_cursors(run *r, matcher *m, size_t n)
{
    size_t k = n ? n : 1, bytes;
    m->own = new_cursors(r, n);
    if (!m->own || !esi_mul_ok(k, sizeof *m->cur + 4 * sizeof(uint32_t), &bytes) ||
        !(m->cur = esi_arena_alloc(&r->mem, bytes, true)))
        return false;
    uint32_t *u = (uint32_t *)(m->cur + k);
    m->cdoc = u;
    m->same = u + k;
    m->lead = u + 2 * k;
    m->bk = u + 3 * k;
    for (size_t i = 0; i < n; i++)
        m->cur[i] = &m->own[i];
    return true;
}

/* Bytes of key k without its field prefix (field name and ESI_FIELD_SEP). */
static const uint8_t *key_text(const es_query *q, const esi_qkey *k, uint32_t *len)
{
    const uint8_t *b = esi_qkey_bytes(q, k);
    const uint8_t *sep = memchr(b, ESI_FIELD_SEP, k->len);
    uint32_t skip = sep ? (uint32_t)(sep + 1 - b) : 0;
    *len = k->len - skip;
    return b + skip;
}

/* True if b[0..n) is exactly one UTF-8 code point (judged by its lead byte). */
static bool one_char(const uint8_t *b, uint32_t n)
{
    if (n == 0)
        return false;
    uint32_t want = b[0] < 0x80 ? 1 : (b[0] & 0xE0) == 0xC0 ? 2 :
                    (b[0] & 0xF0) == 0xE0 ? 3 : (b[0] & 0xF8) == 0xF0 ? 4 : 0;
    return want == n;
}

/* Which keys of phrase f are characters and pairs: chr[a] the key of the
 * single character at offset a (or -1), pair[a] the key at a whose text is
 * chr[a]'s then chr[a + 1]'s (or -1); offsets >= span hold no key. */
static void phrase_shape(const es_query *q, const esi_qphrase *f, int32_t *chr,
                         int32_t *pair)
{
    for (uint32_t a = 0; a < f->span; a++)
        chr[a] = pair[a] = -1;
    for (uint32_t i = 0; i < f->nkeys; i++) {
        const esi_qkey *k = &q->keys[f->first_key + i];
        uint32_t n;
        const uint8_t *t = key_text(q, k, &n);
        if (k->at < f->span && one_char(t, n))
            chr[k->at] = (int32_t)i;
    }
    for (uint32_t i = 0; i < f->nkeys; i++) {
        const esi_qkey *k = &q->keys[f->first_key + i];
        uint32_t a = k->at, n, n1, n2;
        if (a + 1 >= f->span || chr[a] < 0 || chr[a + 1] < 0)
            continue;
        const uint8_t *t = key_text(q, k, &n);
        const uint8_t *t1 = key_text(q, &q->keys[f->first_key + (uint32_t)chr[a]], &n1);
        const uint8_t *t2 = key_text(q, &q->keys[f->first_key + (uint32_t)chr[a + 1]], &n2);
        if (n == n1 + n2 && !memcmp(t, t1, n1) && !memcmp(t + n1, t2, n2))
            pair[a] = (int32_t)i;
    }
}

/* A phrase's phrase_shape, computed once per matcher build for
 * bound_keys, build_pairs and position_keys (NULL for a phrase with
 * nothing to shape: one unit, a prefix, or too long). */
typedef struct shape {
    int32_t chr[ESI_QUERY_MAX_TERMS], pair[ESI_QUERY_MAX_TERMS];
} shape;

/* ord[0..n) = the indexes of ti[0..n) by document frequency, rarest first
 * (stable; insertion sort: a phrase has few keys). */
static void order_by_df(const esi_term_info *ti, uint32_t n, uint32_t *ord)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i;
        while (j > 0 && ti[ord[j - 1]].df > ti[i].df) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = i;
    }
}

/* The pairs of adjacent characters a phrase lacks as keys. The writer
 * indexes a pair (without positions) for every two CJK characters at
 * positions p, p + 1 (analyzer.h: "no gaps"), and only there. So where a
 * phrase has two CJK characters side by side (a character is known to be
 * CJK when it belongs to a pair key), every document holding the phrase
 * holds their pair: a document without it is ruled out before any
 * position is decoded. And with every adjacent pair known (a chain), the
 * freqs alone bound the phrase's count, see chain_bounds. Lowering keys
 * only every other pair of a run (fewer cursors to leapfrog); these extra
 * ones are looked at only for a document being verified. */
es_status esi_phrase_implied_pairs(const es_query *q, const esi_qphrase *f, bool *chain,
                                   esi_pair_fn fn, void *ctx)
{
    *chain = false;
    if (f->prefix || f->span < 3 || f->span > ESI_QUERY_MAX_TERMS)
        return ES_OK;
    int32_t chr[ESI_QUERY_MAX_TERMS], pair[ESI_QUERY_MAX_TERMS];
    bool cjk[ESI_QUERY_MAX_TERMS], all = true;
    phrase_shape(q, f, chr, pair);
    for (uint32_t a = 0; a < f->span; a++)
        cjk[a] = pair[a] >= 0 || (a > 0 && pair[a - 1] >= 0);
    esi_buf term = { 0 };              /* the pair's term: k1 then k2's text */
    es_status rc = ES_OK;
    for (uint32_t a = 0; a < f->span && rc == ES_OK; a++) {
        all = all && chr[a] >= 0 && cjk[a];
        if (a + 1 == f->span || pair[a] >= 0 || !cjk[a] || !cjk[a + 1])
            continue;
        const esi_qkey *k1 = &q->keys[f->first_key + (uint32_t)chr[a]];
        const esi_qkey *k2 = &q->keys[f->first_key + (uint32_t)chr[a + 1]];
        uint32_t n2;
        const uint8_t *t2 = key_text(q, k2, &n2);
        term.len = 0;
        esi_buf_put(&rc, &term, esi_qkey_bytes(q, k1), k1->len);
        esi_buf_put(&rc, &term, t2, n2);
        if (rc == ES_OK)
            rc = term.len > UINT32_MAX ? ES_ELIMIT
                 : fn(ctx, a, term.data, (uint32_t)term.len);
    }
    esi_buf_free(&term);
    *chain = all;
    return rc;
}

/* esi_pair_fn of plan_pairs: the pair's term into r->auxb, its entry into
 * r->aux. */
typedef struct auxadd {
    run *r;
    size_t cap;
} auxadd;

static es_status add_aux(void *p, uint32_t at, const uint8_t *term, uint32_t len)
{
    auxadd *x = p;
    run *r = x->r;
    if (!esi_grow((void **)&r->aux, &x->cap, r->naux + 1, sizeof *r->aux))
        return ES_ENOMEM;
    es_status rc = ES_OK;
    size_t off = r->auxb.len;
    esi_buf_put(&rc, &r->auxb, term, len);
    if (rc != ES_OK)
        return rc;
    if (r->auxb.len > UINT32_MAX)
        return ES_ELIMIT;
    r->aux[r->naux++] = (auxkey){ (uint32_t)off, (uint32_t)(r->auxb.len - off), at };
    return ES_OK;
}

/* Plan, per phrase, its implied pairs (esi_phrase_implied_pairs), looked
 * up with the query's keys (lookup_keys). */
static es_status plan_pairs(run *r)
{
    const es_query *q = r->q;
    size_t np = q->nphrases ? q->nphrases : 1;
    r->aux_first = esi_calloc(np, sizeof *r->aux_first);
    r->aux_n = esi_calloc(np, sizeof *r->aux_n);
    r->chain = esi_calloc(np, sizeof *r->chain);
    if (!r->aux_first || !r->aux_n || !r->chain)
        return ES_ENOMEM;
    auxadd x = { r, 0 };
    for (size_t ph = 0; ph < q->nphrases; ph++) {
        r->aux_first[ph] = (uint32_t)r->naux;
        es_status rc = esi_phrase_implied_pairs(q, &q->phrases[ph], &r->chain[ph],
                                                add_aux, &x);
        if (rc != ES_OK)
            return rc;
        r->aux_n[ph] = (uint32_t)(r->naux - r->aux_first[ph]);
    }
    size_t n;
    if (!esi_mul_ok(r->snap->nsegs, r->naux ? r->naux : 1, &n))
        return ES_ELIMIT;
    r->aux_ti = esi_calloc(n, sizeof *r->aux_ti);
    r->aux_found = esi_calloc(n, sizeof *r->aux_found);
    return r->aux_ti && r->aux_found ? ES_OK : ES_ENOMEM;
}

/* Open phrase m's aux pair cursors for the current segment (apc[a]: the
 * one at offset a; apc has room for the span, zeroed by the caller) and,
 * for a chain, map its offsets to cursors. A character key without
 * positions (not what plan_pairs assumed) turns both off for the segment.
 * Whether a pair has positions does not matter here: the writer indexes
 * a pair at every two CJK characters side by side either way. */
static es_status build_pairs(run *r, int32_t ph, const shape *sh, matcher *m,
                             esi_postings **apc)
{
    const es_query *q = r->q;
    const esi_qphrase *f = &q->phrases[ph];
    uint32_t na = r->aux_n[ph];
    if ((na == 0 && !r->chain[ph]) || !sh)   /* plan_pairs shapes every such phrase */
        return ES_OK;
    /* the aux cursors in df order (ord), aux j's cursor (slot); plan_pairs
     * keeps na below the span */
    const int32_t *chr = sh->chr, *pair = sh->pair;
    uint32_t ord[ESI_QUERY_MAX_TERMS], slot[ESI_QUERY_MAX_TERMS];
    for (uint32_t a = 0; a < f->span; a++)
        if (chr[a] >= 0 && !m->cur[chr[a]]->has_pos)
            return ES_OK;
    if (na) {
        m->acur = new_cursors(r, na);
        m->acdoc = esi_arena_calloc(&r->mem, na, sizeof *m->acdoc);
        if (!m->acur || !m->acdoc)
            return ES_ENOMEM;
        /* rarest first, so that pairs_to's first move is the longest */
        const esi_term_info *ti = r->aux_ti + r->seg * r->naux + r->aux_first[ph];
        const bool *fd = r->aux_found + r->seg * r->naux + r->aux_first[ph];
        order_by_df(ti, na, ord);
        es_status rc = ES_OK;
        for (uint32_t x = 0; x < na && rc == ES_OK; x++) {
            uint32_t j = ord[x];
            if (!fd[j]) {              /* no doc of the segment has the phrase */
                m->aabsent = m->empty = true;
                m->cost = 0;
                continue;
            }
            slot[j] = (uint32_t)m->nacur;
            rc = esi_postings_open(&m->acur[m->nacur], r->s, &ti[j], r->e);
            if (rc == ES_OK) {
                apc[r->aux[r->aux_first[ph] + j].at] = &m->acur[m->nacur];
                m->acdoc[m->nacur++] = DOC_END;
            }
        }
        if (rc != ES_OK)
            return rc;
    }
    /* The aux pairs go into the leapfrog where their rarest fits: a
     * junction pair (关登 of 办理有关登记手续, 79 docs) is often far rarer
     * than every key (手续, 1,385), and then it leads. */
    m->aux_at = m->ncur;
    if (m->nacur && !m->aabsent) {
        uint64_t df = m->acur[0].df;
        for (size_t k = 0; k < m->ncur && m->aux_at == m->ncur; k++) {
            const esi_postings *c = m->cur[m->lead[k]];
            if (c->has_pos || c->df > df)
                m->aux_at = k;
        }
        if (df < m->cost)
            m->cost = df;
    }
    if (!r->chain[ph] || m->aabsent)
        return ES_OK;
    m->cchar = esi_arena_calloc(&r->mem, f->span, sizeof *m->cchar);
    m->cpair = esi_arena_calloc(&r->mem, f->span, sizeof *m->cpair);
    if (!m->cchar || !m->cpair)
        return ES_ENOMEM;
    uint32_t j = 0;
    for (uint32_t a = 0; a < f->span; a++) {
        m->cchar[a] = (uint32_t)chr[a];
        if (a + 1 < f->span)
            m->cpair[a] = pair[a] >= 0 ? (uint32_t)pair[a] : (uint32_t)m->ncur + slot[j++];
    }
    m->span = f->span;
    m->chain = true;
    return ES_OK;
}

/* List in m->bk the cursors of phrase f that a bound of its tf needs: all
 * but the characters that a pair key of f covers (the character at offset
 * a when f has the pair at a or at a - 1). The writer indexes a pair once
 * for each occurrence of its two characters side by side, so such a
 * character is on every document its pair is on, at least as often: the
 * smallest freq and the presence of all keys on a document are those of
 * the keys listed. Common characters have the longest postings, so a
 * bound that leaves them out moves far fewer blocks. */
static void bound_keys(const esi_qphrase *f, const shape *sh, matcher *m)
{
    /* by key, zeroed only as far as used (this and the other per-phrase
     * arrays of ESI_QUERY_MAX_TERMS cleared whole cost 3% of a search) */
    bool covered[ESI_QUERY_MAX_TERMS];
    memset(covered, 0, f->nkeys * sizeof *covered);
    for (uint32_t a = 0; sh && a < f->span; a++)
        if (sh->chr[a] >= 0 && (sh->pair[a] >= 0 || (a > 0 && sh->pair[a - 1] >= 0)))
            covered[sh->chr[a]] = true;
    for (uint32_t k = 0; k < f->nkeys; k++) {  /* rarest first: the first */
        uint32_t i = m->lead[k];               /* absent key ends the move */
        if (!covered[i] && m->same[i] == i)
            m->bk[m->nbk++] = i;
    }
}

/* List in m->pk the keys whose positions decide phrase f on a doc. Every
 * key with positions, except where pairs stored with positions (the
 * writer's common pairs, lib/api/pospairs.c) stand in for characters: the
 * writer indexes a pair at p exactly where its two characters sit at p
 * and p + 1, so a positional pair at offset a is both characters at a and
 * a + 1, and it is rarer than either (第二 against 第 and 二). Each
 * character offset, left to right, is covered by a positional pair that
 * starts there, else by one that ends there, else by its character; a
 * pair may be a key or one of the pairs the phrase implies (apc, from
 * build_pairs), whose cursor pairs_on then moves before its positions are
 * read. Keys at offsets that are not CJK characters keep their own
 * positions. */
static es_status position_keys(run *r, const esi_qphrase *f, const shape *sh,
                               matcher *m, esi_postings *const *apc)
{
    const es_query *q = r->q;
    m->pk = esi_arena_calloc(&r->mem, f->nkeys + f->span, sizeof *m->pk);
    if (!m->pk)
        return ES_ENOMEM;
    bool covered[ESI_QUERY_MAX_TERMS], by_pair[ESI_QUERY_MAX_TERMS];  /* by offset */
    const int32_t *chr = sh ? sh->chr : NULL, *pair = sh ? sh->pair : NULL;
    esi_postings *pc[ESI_QUERY_MAX_TERMS];     /* positional pair at each offset */
    if (sh) {
        memset(covered, 0, f->span * sizeof *covered);   /* sh: span <= the max */
        for (uint32_t a = 0; a < f->span; a++) {
            pc[a] = pair[a] >= 0 ? m->cur[m->same[pair[a]]] : apc[a];
            if (pc[a] && !pc[a]->has_pos)
                pc[a] = NULL;
            by_pair[a] = chr[a] >= 0 && (pc[a] || (a > 0 && pc[a - 1]));
        }
        for (uint32_t a = 0; a < f->span; a++) {
            if (!by_pair[a] || covered[a])
                continue;
            uint32_t at = pc[a] ? a : a - 1;   /* one starting or one ending at a */
            m->pk[m->npk++] = (pkey){ pc[at], at };
            m->pk_aux = m->pk_aux || pair[at] < 0;
            covered[at] = covered[at + 1] = true;
        }
    }
    for (uint32_t i = 0; i < f->nkeys; i++) {
        uint32_t at = q->keys[f->first_key + i].at;
        esi_postings *c = m->cur[m->same[i]];
        bool is_pair = sh && at < f->span && pair[at] == (int32_t)i;
        bool is_chr = sh && at < f->span && chr[at] == (int32_t)i;
        if (c->has_pos && !is_pair && !(is_chr && covered[at]))
            m->pk[m->npk++] = (pkey){ c, at };
    }
    return ES_OK;
}

/* If a word of AND a (a positive PHRASE kid) has key i of bonus phrase
 * m among its keys, m uses that word's cursor for it. The bonus is only
 * ever looked at on a doc that a is on, where each word's cursors all
 * sit, and it moves a cursor no further than that doc (twin_bound,
 * phrase_at): so the word's blocks are decoded once, and its positions
 * there, if decoded, serve both. */
static void lend_cursor(const es_query *q, const matcher *a, matcher *m, uint32_t i)
{
    const esi_qkey *ki = &q->keys[q->phrases[m->ph].first_key + i];
    for (size_t k = 0; k < a->npos; k++) {
        const matcher *w = a->kids[k];
        if (w->op != ESI_QOP_PHRASE || w->empty)
            continue;
        const esi_qphrase *wf = &q->phrases[w->ph];
        for (uint32_t j = 0; j < w->ncur; j++) {
            const esi_qkey *kj = &q->keys[wf->first_key + j];
            if (w->same[j] == j && kj->len == ki->len &&
                !memcmp(esi_qkey_bytes(q, kj), esi_qkey_bytes(q, ki), ki->len)) {
                m->cur[i] = w->cur[j];
                return;
            }
        }
    }
}

/* Build the matcher of phrase ph for the current segment; run_of, if not
 * NULL, is the AND whose bonus phrase ph is (lend_cursor). */
static es_status build_phrase(run *r, int32_t ph, const matcher *run_of, matcher **out)
{
    const es_query *q = r->q;
    const esi_qphrase *f = &q->phrases[ph];
    matcher *m = new_matcher(r, ESI_QOP_PHRASE);
    if (!m)
        return ES_ENOMEM;
    m->ph = ph;
    m->idf = r->ph_idf[ph];
    *out = m;
    m->cost = UINT64_MAX;
    for (uint32_t i = 0; i < f->nkeys; i++) {
        size_t at = r->seg * q->nkeys + f->first_key + i;
        if (!r->found[at]) {
            m->empty = true;
            m->cost = 0;
            return ES_OK;
        }
        if (r->ti[at].df < m->cost)
            m->cost = r->ti[at].df;
    }
    m->maxtf = UINT32_MAX;
    for (uint32_t i = 0; i < f->nkeys; i++) {
        uint32_t mt = r->ti[r->seg * q->nkeys + f->first_key + i].max_tf;
        if (mt < m->maxtf)
            m->maxtf = mt;
    }
    if (!key_cursors(r, m, f->nkeys))
        return ES_ENOMEM;
    /* leapfrog from the rarest key: the common ones then only ever jump
     * to documents it already holds */
    order_by_df(r->ti + r->seg * q->nkeys + f->first_key, f->nkeys, m->lead);
    /* a key that occurs twice (规 in 法规规定) is decoded once */
    for (uint32_t i = 0; i < f->nkeys; i++) {
        const esi_qkey *ki = &q->keys[f->first_key + i];
        m->same[i] = i;
        for (uint32_t j = 0; j < i && m->same[i] == i; j++) {
            const esi_qkey *kj = &q->keys[f->first_key + j];
            if (kj->len == ki->len &&
                !memcmp(esi_qkey_bytes(q, kj), esi_qkey_bytes(q, ki), ki->len))
                m->same[i] = j;
        }
        m->dup = m->dup || m->same[i] != i;
    }
    for (uint32_t i = 0; i < f->nkeys; i++) {
        size_t at = r->seg * q->nkeys + f->first_key + i;
        es_status rc = esi_postings_open(&m->own[i], r->s, &r->ti[at], r->e);
        if (rc != ES_OK)
            return rc;
        m->ncur++;
        if (run_of && m->same[i] == i)
            lend_cursor(q, run_of, m, i);
        m->cdoc[i] = DOC_END;
    }
    shape sh, *shp = NULL;
    if (f->span >= 2 && f->span <= ESI_QUERY_MAX_TERMS && !f->prefix) {
        phrase_shape(q, f, sh.chr, sh.pair);
        shp = &sh;
    }
    bound_keys(f, shp, m);
    esi_postings *apc[ESI_QUERY_MAX_TERMS];   /* by offset, read only with shp */
    if (shp)
        memset(apc, 0, f->span * sizeof *apc);
    es_status rc = build_pairs(r, ph, shp, m, apc);
    if (rc == ES_OK)
        rc = position_keys(r, f, shp, m, apc);
    if (rc != ES_OK)
        return rc;
    if (f->title_twin >= 0)
        return build_phrase(r, f->title_twin, NULL, &m->twin);
    return ES_OK;
}

/* Order kids by cost, cheapest first (insertion sort: few kids). */
static void sort_by_cost(matcher **k, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        matcher *x = k[i];
        size_t j = i;
        while (j > 0 && k[j - 1]->cost > x->cost) {
            k[j] = k[j - 1];
            j--;
        }
        k[j] = x;
    }
}

/* Build the matcher of prefix phrase ph for the current segment: one
 * cursor per expanded term present in it. */
static es_status build_prefix(run *r, int32_t ph, matcher **out)
{
    const pxset *x = &r->px[ph];
    matcher *m = new_matcher(r, ESI_QOP_PREFIX);
    if (!m)
        return ES_ENOMEM;
    *out = m;
    m->ph = ph;
    m->cost = 0;
    size_t nf = 0;
    for (size_t i = 0; i < x->n; i++)
        nf += x->found[r->seg * x->n + i];
    if (nf == 0) {
        m->empty = true;
    } else {
        bool ok = key_cursors(r, m, nf);
        m->pidf = esi_arena_calloc(&r->mem, nf, sizeof *m->pidf);
        if (!ok || !m->pidf)
            return ES_ENOMEM;
        for (size_t i = 0; i < x->n; i++) {
            const esi_term_info *ti = &x->ti[r->seg * x->n + i];
            if (!x->found[r->seg * x->n + i])
                continue;
            es_status rc = esi_postings_open(&m->own[m->ncur], r->s, ti, r->e);
            if (rc != ES_OK)
                return rc;
            m->cdoc[m->ncur] = DOC_END;
            m->pidf[m->ncur++] = x->idf[i];
            m->cost += ti->df;
        }
    }
    int32_t tw = r->q->phrases[ph].title_twin;
    if (tw >= 0)
        return build_prefix(r, tw, &m->twin);
    return ES_OK;
}

/* Whether AND m's leapfrog may pass over its kid x to x's own kids: x is
 * an AND without NOT kids (a bare run's words), so a doc holds x when it
 * holds every positive kid of x and x's verification passes. */
static bool hoists(const matcher *x)
{
    return x->op == ESI_QOP_AND && x->npos > 0 && x->nkids == x->npos;
}

/* Leaves and hoisted ANDs under x (x included) for m->flat / m->inner;
 * counts only when m->flat is NULL. */
static void gather_flat(matcher *m, matcher *x)
{
    if (!hoists(x)) {
        if (m->flat)
            m->flat[m->nflat] = x;
        m->nflat++;
        return;
    }
    for (size_t i = 0; i < x->npos; i++)
        gather_flat(m, x->kids[i]);
    if (m->inner)
        m->inner[m->ninner] = x;
    m->ninner++;
}

/* AND m (its kids built and sorted) leapfrogs its NOT-free AND kids' own
 * kids directly, cheapest first: a query of several bare runs
 * (国籍规划 讨论的主 体工 农民: an AND of ANDs of words) otherwise aligned each
 * run's words on a doc before its rarest word elsewhere ruled it out. */
static es_status plan_flat_and(run *r, matcher *m)
{
    bool any = false;
    for (size_t i = 0; i < m->npos && !any; i++)
        any = hoists(m->kids[i]);
    if (!any)
        return ES_OK;
    for (size_t i = 0; i < m->npos; i++)
        gather_flat(m, m->kids[i]);
    m->flat = esi_arena_calloc(&r->mem, m->nflat, sizeof *m->flat);
    m->inner = esi_arena_calloc(&r->mem, m->ninner, sizeof *m->inner);
    if (!m->flat || !m->inner)
        return ES_ENOMEM;
    m->nflat = m->ninner = 0;
    for (size_t i = 0; i < m->npos; i++)
        gather_flat(m, m->kids[i]);
    sort_by_cost(m->flat, m->nflat);
    return ES_OK;
}

/* Build the matcher of query node n for the current segment. */
static es_status build(run *r, int32_t n, matcher **out)
{
    const es_query *q = r->q;
    const esi_qnode *nd = &q->nodes[n];
    es_status rc;
    if (nd->op == ESI_QOP_PHRASE)
        return build_phrase(r, nd->phrase, NULL, out);
    if (nd->op == ESI_QOP_DATE) {
        matcher *m = new_matcher(r, ESI_QOP_DATE);
        if (!m)
            return ES_ENOMEM;
        m->lo = nd->date_lo;
        m->hi = nd->date_hi;
        m->cost = esi_segment_doc_count(r->s);
        *out = m;
        return ES_OK;
    }
    if (nd->op == ESI_QOP_PREFIX)
        return build_prefix(r, nd->phrase, out);
    matcher *m = new_matcher(r, nd->op);
    if (!m)
        return ES_ENOMEM;
    *out = m;
    size_t nk = 0;
    for (int32_t k = nd->kid; k >= 0; k = q->nodes[k].next)
        nk++;
    m->kids = esi_arena_calloc(&r->mem, nk ? nk : 1, sizeof *m->kids);
    if (!m->kids)
        return ES_ENOMEM;
    for (int32_t k = nd->kid; k >= 0; k = q->nodes[k].next) {
        bool neg = nd->op == ESI_QOP_AND && q->nodes[k].op == ESI_QOP_NOT;
        int32_t target = neg ? q->nodes[k].kid : k;
        matcher *c;
        if ((rc = build(r, target, &c)) != ES_OK)
            return rc;
        if (neg) {
            m->kids[nk - 1 - (m->nkids - m->npos)] = c;   /* from the end */
            m->nkids++;
        } else {
            m->kids[m->npos++] = c;
            m->nkids++;
        }
    }
    if (nd->op == ESI_QOP_AND) {
        sort_by_cost(m->kids, m->npos);
        if (!r->p->no_flat && (rc = plan_flat_and(r, m)) != ES_OK)
            return rc;
        m->cost = m->npos ? m->kids[0]->cost : 0;
        for (size_t i = 0; i < m->npos; i++)
            m->ceil += m->kids[i]->idf * (r->p->k1 + 1.0);
        if (nd->phrase >= 0 && (rc = build_phrase(r, nd->phrase, m, &m->twin)) != ES_OK)
            return rc;
    } else {                                     /* OR */
        m->npos = m->nkids;
        m->cost = 0;
        for (size_t i = 0; i < m->nkids; i++)
            m->cost += m->kids[i]->cost;
    }
    return ES_OK;
}

/* First index >= y of sorted p[0..n) whose value is >= want (n if none):
 * doubling steps, then binary search. */
static uint32_t gallop_to(const uint32_t *p, uint32_t n, uint32_t y, uint64_t want)
{
    uint32_t step = 1, lo = y, hi = y;
    while (hi < n && p[hi] < want) {
        lo = hi + 1;
        hi = n - hi > step ? hi + step : n;
        step *= 2;
    }
    return lo + esi_first_at_least(p + lo, hi - lo, want);
}

/* First index >= y of sorted p[0..n) whose value is >= want (n if none):
 * the next 8 values counted without branches (p is sorted, so the count
 * of those below want is the step), then gallop_to when all 8 are. */
static inline uint32_t first_from(const uint32_t *p, uint32_t n, uint32_t y,
                                  uint64_t want)
{
    if (want > UINT32_MAX)
        return n;
    uint32_t w = (uint32_t)want;
    if (n - y >= 8) {
        const uint32_t *q = p + y;
        uint32_t c = (uint32_t)(q[0] < w) + (q[1] < w) + (q[2] < w) + (q[3] < w) +
                     (q[4] < w) + (q[5] < w) + (q[6] < w) + (q[7] < w);
        y += c;
        return c == 8 ? gallop_to(p, n, y, want) : y;
    }
    while (y < n && p[y] < w)
        y++;
    return y;
}

/* The smallest freq of m's keys on the doc its cursors are all on: a bound
 * of the phrase's tf there (its tf when m has one key). */
static uint32_t min_freq(const matcher *m)
{
    uint32_t t = UINT32_MAX;
    for (size_t i = 0; i < m->ncur; i++)
        if (m->cur[i]->freq < t)
            t = m->cur[i]->freq;
    return t;
}

/* The indexes in m->pk of the keys whose positions decide m, by their
 * freq on the current doc, rarest first, into ord; their number. */
static size_t pos_order(const matcher *m, uint32_t *ord)
{
    const pkey *c = m->pk;
    for (size_t k = 0; k < m->npk; k++) {
        uint32_t f = c[k].c->freq;
        size_t j = k;
        while (j > 0 && c[ord[j - 1]].c->freq > f) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = (uint32_t)k;
    }
    return m->npk;
}

/* The error of a damaged postings list (code rc) of the current segment. */
static es_status bad_postings(run *r, es_status rc)
{
    return esi_err_set(r->e, rc, "%s: damaged postings; run 'edusearch check'",
                       esi_segment_name(r->s));
}

/* The error of a damaged positions list of the current segment. */
static es_status bad_positions(run *r)
{
    return esi_err_set(r->e, ES_ECORRUPT, "%s: damaged positions; run 'edusearch "
                       "check'", esi_segment_name(r->s));
}

/* Move cursor c, on doc *cd (DOC_END before its first move and after its
 * last), to its first doc >= t (forward only). ES_DONE at its end. */
static es_status move_cursor(run *r, esi_postings *c, uint32_t *cd, uint32_t t)
{
    if (*cd != DOC_END && *cd >= t)
        return ES_OK;
    es_status rc = esi_postings_advance_inline(c, t);
    if (rc == ES_DONE) {
        *cd = DOC_END;
        return ES_DONE;
    }
    if (rc != ES_OK)
        return bad_postings(r, rc);
    *cd = c->doc;
    return ES_OK;
}

/* Move m's aux pair cursors to their first doc >= t; *t2 the largest doc
 * they are on (> t: none of the docs before it holds the phrase). ES_DONE
 * when one of them has no doc left. */
static es_status pairs_to(run *r, matcher *m, uint32_t t, uint32_t *t2)
{
    *t2 = t;
    for (size_t j = 0; j < m->nacur; j++) {
        es_status rc = move_cursor(r, &m->acur[j], &m->acdoc[j], t);
        if (rc != ES_OK)
            return rc;
        if (m->acdoc[j] > *t2)
            *t2 = m->acdoc[j];
    }
    return ES_OK;
}

/* Move m's aux pair cursors (forward only) to doc d, the doc its key
 * cursors are on: *on false if one of them is not there, and then neither
 * is the phrase (see plan_pairs). */
static es_status pairs_on(run *r, matcher *m, uint32_t d, bool *on)
{
    uint32_t t2 = d;
    es_status rc = m->aabsent ? ES_DONE : pairs_to(r, m, d, &t2);
    *on = rc == ES_OK && t2 == d;
    return rc == ES_DONE ? ES_OK : rc;
}

/* Bounds of the count of chain phrase m on the doc its cursors (key and
 * aux) are on, from freqs alone. The pair at offset a occurs once for each
 * occurrence of character a directly followed by character a + 1. Of the
 * occurrences of character a that end the phrase's first a + 1 characters
 * (at least g of them), at least g + freq(pair a) - freq(char a) are
 * followed by character a + 1: so *lo, from g = freq(pair 0) on, is a
 * lower bound of the count; every occurrence holds every pair, so *hi,
 * the smallest pair freq, is an upper bound. */
static void chain_bounds(const matcher *m, uint32_t *lo, uint32_t *hi)
{
    esi_postings *const *c = m->cur;
    uint32_t n = (uint32_t)m->ncur;
    int64_t g = 0;
    uint32_t u = UINT32_MAX;
    for (uint32_t a = 0; a + 1 < m->span; a++) {
        uint32_t pi = m->cpair[a];
        uint32_t pf = pi < n ? c[pi]->freq : m->acur[pi - n].freq;
        g = a == 0 ? pf : (g > 0 ? g : 0) + (int64_t)pf - c[m->cchar[a]]->freq;
        if (pf < u)
            u = pf;
    }
    *lo = g > 0 ? (uint32_t)(g < u ? g : u) : 0;
    *hi = u;
}

/* One positional key of a phrase during phrase_exists: its decoded prefix
 * p[0..n) of positions, the index y of the first one not yet passed. */
typedef struct xkey {
    esi_postings *c;
    const uint32_t *p;
    uint32_t n, y, at;
} xkey;

/* *yes if phrase m occurs at least once on the doc its cursors are all on.
 * A leapfrog over start positions, keys rarest first: the rarest key gives
 * the next candidate start s at or after the current one, each next key
 * moves to its first occurrence at or after s + its offset (decoding its
 * positions only that far); when that is later, s moves there and the
 * rarest key goes again, so a common key is decoded only as far as the
 * rarer ones agree. A start every key confirms ends the search; a key
 * running out of positions rules the doc out. */
static es_status phrase_exists(run *r, matcher *m, bool *yes)
{
    uint32_t ord[ESI_QUERY_MAX_TERMS];
    xkey x[ESI_QUERY_MAX_TERMS];
    size_t n = m->ncur > 1 ? pos_order(m, ord) : 0;
    *yes = true;
    if (n == 0)                    /* one key, or pairs only: presence decides */
        return ES_OK;
    if (m->nacur || m->aabsent) {
        es_status rc = pairs_on(r, m, m->cdoc[0], yes);
        if (rc != ES_OK || !*yes)
            return rc;
    }
    if (m->chain) {
        uint32_t lo, hi;
        chain_bounds(m, &lo, &hi);
        if (lo > 0)
            return ES_OK;
    }
    for (size_t k = 0; k < n; k++) {
        x[k].c = m->pk[ord[k]].c;
        x[k].p = NULL;
        x[k].n = x[k].y = 0;
        x[k].at = m->pk[ord[k]].at;
    }
    uint64_t s = 0;
    size_t k = 0;
    for (;;) {
        xkey *e = &x[k];
        uint64_t want = s + e->at;
        for (;;) {
            e->y = first_from(e->p, e->n, e->y, want);
            uint32_t y = e->y;
            if (y < e->n)
                break;
            if (e->n == e->c->freq) {  /* every position seen, none late enough */
                *yes = false;
                return ES_OK;
            }
            if (esi_postings_positions_upto(e->c, want > UINT32_MAX ? UINT32_MAX
                                            : (uint32_t)want, &e->p, &e->n) != ES_OK)
                return bad_positions(r);
            for (size_t j = 0; m->dup && j < n; j++)   /* a key twice in the phrase */
                if (x[j].c == e->c) {
                    x[j].p = e->p;
                    x[j].n = e->n;
                }
        }
        uint64_t s2 = (uint64_t)e->p[e->y] - e->at;
        if (s2 == s || k == 0) {   /* keys 0..k agree on s */
            s = s2;
            if (++k == n)
                return ES_OK;
        } else {                   /* a later start: the rarest key first */
            s = s2;
            k = 0;
        }
    }
}

/* *found if one of the candidate starts m->cand[0..cnt) (ascending) has
 * every positional key ord[0..n) of m at its offset: candidates one at a
 * time, each key decoded only as far as the candidate. */
static es_status any_start(run *r, matcher *m, const uint32_t *ord, size_t n,
                           uint32_t cnt, bool *found)
{
    uint32_t y[ESI_QUERY_MAX_TERMS];
    for (size_t k = 0; k < n; k++)
        y[k] = 0;
    *found = false;
    for (uint32_t x = 0; x < cnt; x++) {
        size_t k = 0;
        for (; k < n; k++) {
            const pkey *e = &m->pk[ord[k]];
            uint32_t pn;
            uint64_t want = (uint64_t)m->cand[x] + e->at;
            const uint32_t *p;
            if (esi_postings_positions_upto(e->c, want > UINT32_MAX ?
                                            UINT32_MAX : (uint32_t)want, &p, &pn) != ES_OK)
                return bad_positions(r);
            y[k] = gallop_to(p, pn, y[k], want);
            if (y[k] == pn)
                return ES_OK;      /* no later candidate can have this key */
            if (p[y[k]] != want)
                break;
        }
        if (k == n) {
            *found = true;
            return ES_OK;
        }
    }
    return ES_OK;
}

/* Count the starts where every key of phrase m sits at its offset; the
 * cursors are all on the same doc. The positional keys are taken rarest
 * first (by their freq in this doc, known without decoding): the rarest
 * gives the candidate starts, each next one keeps the candidates it
 * confirms, and once none is left the commoner keys are never decoded.
 * A key is decoded whole: its last candidate is usually near the doc's
 * end, and growing windows up to it cost more calls than the few values
 * past it (3% of the instructions of "第三条"). The candidates left are a
 * bound of the count at every step: once fewer than need remain, the
 * count stops there and *exact is false (*tf < need, not the count);
 * *found says whether the phrase occurs at all either way. */
static es_status phrase_tf(run *r, matcher *m, uint32_t need, uint32_t *tf,
                           bool *exact, bool *found)
{
    *exact = true;
    *found = true;
    if (m->ncur == 1) {
        *tf = m->cur[0]->freq;
        return ES_OK;
    }
    /* Keys stored without positions (pairs) only narrowed the documents;
     * the positional keys decide. */
    uint32_t ord[ESI_QUERY_MAX_TERMS];
    size_t n = pos_order(m, ord);
    if (n == 0) {                 /* no positions at all: use the rarest count */
        *tf = min_freq(m);
        return ES_OK;
    }
    /* What the pairs tell, taken only when the answer is the one the count
     * below would give (a count of need or more is exact there), or when
     * the count needs their positions (their cursors must be on the doc). */
    if ((m->nacur || m->aabsent) && (need == 0 || m->pk_aux)) {
        bool on;
        es_status rc = pairs_on(r, m, m->cdoc[0], &on);
        if (rc != ES_OK)
            return rc;
        if (!on) {
            *tf = 0;
            *found = false;
            return ES_OK;
        }
    }
    if (m->chain && (!m->nacur || need == 0)) {
        uint32_t lo, hi;
        chain_bounds(m, &lo, &hi);
        if (lo == hi && lo >= need) {
            *tf = lo;
            *found = lo > 0;
            return ES_OK;
        }
    }
    uint32_t cnt = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t at = m->pk[ord[k]].at, pn;
        const uint32_t *p;
        if (esi_postings_positions(m->pk[ord[k]].c, &p, &pn) != ES_OK)
            return bad_positions(r);
        if (k == 0) {
            if (pn > m->ccap) {
                size_t cap = pn, bytes;
                uint32_t *c;
                if (!esi_mul_ok(cap, sizeof *c, &bytes) || !(c = esi_realloc(m->cand, bytes)))
                    return esi_err_set(r->e, ES_ENOMEM, "out of memory matching a phrase");
                m->cand = c;
                m->ccap = cap;
            }
            for (uint32_t j = 0; j < pn; j++)
                if (p[j] >= at)
                    m->cand[cnt++] = p[j] - at;
        } else {
            uint32_t out = 0, x = 0, y = 0;
            if ((uint64_t)cnt * 16 < pn) {   /* few candidates, long list */
                for (; x < cnt && y < pn; x++) {
                    uint64_t w = (uint64_t)m->cand[x] + at;
                    y = gallop_to(p, pn, y, w);
                    if (y < pn && p[y] == w)
                        m->cand[out++] = m->cand[x];
                }
            } else {
                /* a merge whose steps are arithmetic, not branches: which
                 * side moves next depends on the text (stop 24) */
                while (x < cnt && y < pn) {
                    uint64_t w = (uint64_t)m->cand[x] + at, v = p[y];
                    m->cand[out] = m->cand[x];
                    out += v == w;
                    x += v >= w;
                    y += v <= w;
                }
            }
            cnt = out;
        }
        if (cnt == 0)
            break;
        if (cnt < need && k + 1 < n) {
            *exact = false;
            *tf = cnt;
            return any_start(r, m, ord + k + 1, n - k - 1, cnt, found);
        }
    }
    *tf = cnt;
    *found = cnt > 0;
    return ES_OK;
}

static es_status advance(run *r, matcher *m, uint32_t target);

/* Position cursor i of m on the first doc >= t. */
static es_status cursor_to(run *r, matcher *m, size_t i, uint32_t t)
{
    return move_cursor(r, m->cur[i], &m->cdoc[i], t);
}

/* The exact tf of phrase m on its doc (known to hold every key), computed
 * once. */
static es_status exact_tf(run *r, matcher *m)
{
    if (m->verified)
        return ES_OK;
    bool exact, found;
    es_status rc = phrase_tf(r, m, 0, &m->tf, &exact, &found);
    if (rc != ES_OK)
        return rc;
    m->verified = true;
    m->found = m->tf > 0;
    return ES_OK;
}

/* Move cursors idx[0..n) of m (NULL: its first n) forward to doc d: *minf
 * is the smallest freq of their keys there, or 0 when one is not on d. */
static es_status cursors_on(run *r, matcher *m, const uint32_t *idx, size_t n,
                            uint32_t d, uint32_t *minf)
{
    uint32_t t = UINT32_MAX;
    *minf = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx ? idx[k] : k;
        es_status rc = cursor_to(r, m, i, d);
        if (rc == ES_DONE || (rc == ES_OK && m->cdoc[i] != d))
            return ES_OK;
        if (rc != ES_OK)
            return rc;
        if (m->cur[i]->freq < t)
            t = m->cur[i]->freq;
    }
    *minf = t;
    return ES_OK;
}

/* Move m's cursors (forward only) to doc d: *minf is the smallest freq of
 * its keys there, or 0 when one of them is not on d. */
static es_status keys_on(run *r, matcher *m, uint32_t d, uint32_t *minf)
{
    return cursors_on(r, m, NULL, m->ncur, d, minf);
}

static es_status twin_bound_move(run *r, matcher *m, uint32_t d, uint32_t *tf);

/* How far key cursor i of optional phrase m has gone: its doc, past
 * every doc once it has run out, 0 before its first move. A doc below
 * that is not m's, whatever m's other keys say. */
static inline uint32_t key_reach(const matcher *m, uint32_t i)
{
    uint32_t at = m->cdoc[i];
    return at != DOC_END || esi_postings_ended(m->cur[i]) ? at : 0;
}

/* Whether a key cursor of optional phrase m that a bound needs (m->bk)
 * has already gone past doc d: then m is not on d and nothing need move
 * (the usual case for a title twin: titles are short; inline, because a
 * one-key root asks it for thousands of docs). */
static inline bool twin_past(const matcher *m, uint32_t d)
{
    for (size_t k = 0; k < m->nbk; k++)
        if (key_reach(m, m->bk[k]) > d)
            return true;
    return false;
}

/* The doc below which twin_past holds until m's cursors move. */
static inline uint32_t twin_absent_below(const matcher *m)
{
    uint32_t u = 0;
    for (size_t k = 0; k < m->nbk; k++) {
        uint32_t at = key_reach(m, m->bk[k]);
        u = at > u ? at : u;
    }
    return u;
}

/* Largest tf optional phrase m (title twin, bonus) can have on doc d,
 * from its cursors alone (no positions): 0 if a key or a pair it lacks as
 * a key (plan_pairs) is not on d, else the smallest freq of those. Only
 * the cursors of m->bk and the pair cursors move (forward, as advance()
 * would): the characters left out give the same answer (bound_keys) and
 * are moved to d only if refine counts the phrase. */
static inline es_status twin_bound(run *r, matcher *m, uint32_t d, uint32_t *tf)
{
    *tf = 0;
    if (m->empty)
        return ES_OK;
    if (m->started && m->doc == d && m->verified) {
        *tf = m->tf;
        return ES_OK;
    }
    if (twin_past(m, d))
        return ES_OK;
    return twin_bound_move(r, m, d, tf);
}

/* twin_bound once no key cursor is known to be past d: the cursors move. */
static es_status twin_bound_move(run *r, matcher *m, uint32_t d, uint32_t *tf)
{
    /* the pairs it lacks as keys (plan_pairs) first: the junction pairs
     * of a run (于赔 of 关于赔偿) are rarer than its words' keys, so a doc
     * without the run is usually ruled out before any key cursor moves */
    if (m->nacur || m->aabsent) {
        bool on;
        es_status rc = pairs_on(r, m, d, &on);
        if (rc != ES_OK || !on)
            return rc;
    }
    uint32_t t;
    es_status rc = cursors_on(r, m, m->bk, m->nbk, d, &t);
    if (rc != ES_OK || t == 0)
        return rc;
    for (size_t j = 0; j < m->nacur; j++)
        if (m->acur[j].freq < t)
            t = m->acur[j].freq;
    *tf = t;
    return ES_OK;
}

/* Optional phrase m (title twin, bonus) on doc d: m->tf its exact tf there
 * (0 if it does not occur). Only d is looked at: the cursors move to d and
 * no further, and the result is kept for d. */
static es_status phrase_at(run *r, matcher *m, uint32_t d)
{
    if (m->started && m->doc == d && m->verified)
        return ES_OK;
    /* the bound's cursors first (rarest first, junction pairs before
     * keys): on most docs a bonus phrase or title twin is absent, and then
     * its commonest characters never move */
    uint32_t t = 0;
    es_status rc = twin_bound(r, m, d, &t);
    m->started = true;
    m->doc = d;
    m->verified = true;
    m->found = false;
    m->tf = 0;
    if (rc != ES_OK || t == 0)
        return rc;
    rc = keys_on(r, m, d, &t);
    if (rc != ES_OK || t == 0)
        return rc;
    m->verified = false;
    return exact_tf(r, m);
}

/* PHRASE advance: leapfrog to a doc holding every key, then (unless m is
 * lazy) check that the phrase occurs there; its exact tf waits until the
 * doc is scored. */
static es_status advance_phrase(run *r, matcher *m, uint32_t t)
{
    if (m->empty) {
        m->doc = DOC_END;
        return ES_DONE;
    }
    for (;;) {
        bool again = false, aux = m->nacur == 0;
        for (size_t k = 0; k < m->ncur && !again; k++) {
            size_t i = m->lead[k];
            if (!aux && k == m->aux_at) {
                /* the pairs the phrase implies rule a doc out before any
                 * commoner key or any character cursor (common, with
                 * positions) moves to it */
                aux = true;
                uint32_t t2;
                es_status rc = pairs_to(r, m, t, &t2);
                if (rc == ES_DONE) {
                    m->doc = DOC_END;
                    return ES_DONE;
                }
                if (rc != ES_OK)
                    return rc;
                if (t2 > t) {
                    t = t2;
                    again = true;
                    break;
                }
            }
            es_status rc = cursor_to(r, m, i, t);
            if (rc == ES_DONE) {
                m->doc = DOC_END;
                return ES_DONE;
            }
            if (rc != ES_OK)
                return rc;
            if (m->cdoc[i] > t) {
                t = m->cdoc[i];
                again = true;
            }
        }
        if (again)
            continue;
        m->doc = t;
        m->tf = min_freq(m);
        /* test the local, not the flags just stored: reading them back at
         * once cost a store-forwarding stall (a 16-bit store, then a wider
         * load of the bools around it; 44% of advance in perf) */
        bool one = m->ncur == 1;
        m->verified = m->found = one;
        if (one || m->lazy)
            return ES_OK;
        es_status rc = phrase_exists(r, m, &m->found);
        if (rc != ES_OK)
            return rc;
        if (m->found)
            return ES_OK;
        if (t == DOC_END - 1) {
            m->doc = DOC_END;
            return ES_DONE;
        }
        t++;
    }
}

/* Cost of resolving phrase m on doc d: the freq of its rarest positional
 * key there (0 when a key is not on d: then nothing is decoded). A cursor
 * not yet moved to d (a character twin_bound left behind) is left out;
 * with no positional key on d, the smallest freq on d stands in (a
 * character is at least as frequent as its pair). */
static uint64_t resolve_cost(const matcher *m, uint32_t d)
{
    uint64_t c = UINT64_MAX, lo = UINT64_MAX;
    for (size_t i = 0; i < m->ncur; i++) {
        uint32_t at = m->cdoc[i];
        if (at == d) {
            if (m->cur[i]->has_pos && m->cur[i]->freq < c)
                c = m->cur[i]->freq;
            if (m->cur[i]->freq < lo)
                lo = m->cur[i]->freq;
        } else if (at > d) {       /* not on d (or DOC_END: done, or not started) */
            return 0;
        }
    }
    return c != UINT64_MAX ? c : lo != UINT64_MAX ? lo : 0;
}

/* Verify the lazy phrases of m (itself, or the positive kids of an AND)
 * on their doc, cheapest first (by resolve_cost); *ok false as soon as one
 * of them does not really occur there. With exact (the doc is to be
 * scored) their exact tf, else only that they occur. */
static es_status verify(run *r, matcher *m, bool exact, bool *ok)
{
    matcher *one[1] = { m };
    matcher **k = m->op == ESI_QOP_PHRASE ? one : m->kids;
    size_t n = m->op == ESI_QOP_PHRASE ? 1 : m->npos;
    *ok = true;
    for (;;) {
        matcher *best = NULL;
        uint64_t bc = UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            matcher *x = k[i];
            if (x->op != ESI_QOP_PHRASE || !x->lazy || x->found || x->empty)
                continue;
            uint64_t c = n > 1 ? resolve_cost(x, x->doc) : 0;   /* one: no order */
            if (!best || c < bc) {
                best = x;
                bc = c;
            }
        }
        if (!best)
            return ES_OK;
        es_status rc = exact ? exact_tf(r, best) : phrase_exists(r, best, &best->found);
        if (rc != ES_OK)
            return rc;
        if (!best->found) {
            *ok = false;
            return ES_OK;
        }
    }
}

/* AND advance: leapfrog positive kids to a doc t they all hold, then the
 * exclusions (a lazy NOT phrase is checked on t only), then the lazy
 * phrase kids are verified on t, cheapest first (not for a lazy AND, the
 * root: run_segment does that). A doc that fails moves t past it. */
static es_status advance_and(run *r, matcher *m, uint32_t t)
{
    matcher **lf = m->nflat ? m->flat : m->kids;
    size_t nlf = m->nflat ? m->nflat : m->npos;
    for (;;) {
        bool again = false, reject = false;
        for (size_t i = 0; i < nlf && !again; i++) {
            es_status rc = advance(r, lf[i], t);
            if (rc == ES_DONE) {
                m->doc = DOC_END;
                for (size_t j = 0; j < m->ninner; j++)
                    m->inner[j]->doc = DOC_END;
                return ES_DONE;
            }
            if (rc != ES_OK)
                return rc;
            if (lf[i]->doc > t) {
                t = lf[i]->doc;
                again = true;
            }
        }
        /* the ANDs passed over stand on t and verify their lazy phrases
         * there, deepest first, as their own advance would have */
        for (size_t j = 0; j < m->ninner && !again && !reject; j++) {
            matcher *x = m->inner[j];
            x->started = true;
            x->doc = t;
            bool ok;
            es_status rc = verify(r, x, false, &ok);
            if (rc != ES_OK)
                return rc;
            reject = !ok;
        }
        for (size_t i = m->npos; i < m->nkids && !again && !reject; i++) {
            matcher *x = m->kids[i];
            es_status rc = advance(r, x, t);
            if (rc < 0)
                return rc;
            bool on = rc == ES_OK && x->doc == t;
            if (on && x->op == ESI_QOP_PHRASE && x->lazy && !x->found &&
                (rc = phrase_exists(r, x, &x->found)) != ES_OK)
                return rc;
            reject = on && (x->op != ESI_QOP_PHRASE || !x->lazy || x->found);
        }
        if (!again && !reject && !m->lazy) {
            bool ok;
            es_status rc = verify(r, m, false, &ok);
            if (rc != ES_OK)
                return rc;
            reject = !ok;
        }
        if (reject) {
            if (t == DOC_END - 1) {
                m->doc = DOC_END;
                return ES_DONE;
            }
            t++;
        } else if (!again) {
            m->doc = t;
            return ES_OK;
        }
    }
}

/* Move m to its first match >= target. */
static es_status advance(run *r, matcher *m, uint32_t target)
{
    if (m->started && (m->doc == DOC_END || m->doc >= target))
        return m->doc == DOC_END ? ES_DONE : ES_OK;
    m->started = true;
    switch (m->op) {
    case ESI_QOP_PHRASE:
        return advance_phrase(r, m, target);
    case ESI_QOP_AND:
        return advance_and(r, m, target);
    case ESI_QOP_OR: {
        uint32_t best = DOC_END;
        for (size_t i = 0; i < m->nkids; i++) {
            es_status rc = advance(r, m->kids[i], target);
            if (rc < 0)
                return rc;
            if (m->kids[i]->doc < best)
                best = m->kids[i]->doc;
        }
        m->doc = best;
        return best == DOC_END ? ES_DONE : ES_OK;
    }
    case ESI_QOP_PREFIX: {
        uint32_t best = DOC_END;
        for (size_t i = 0; i < m->ncur; i++) {
            es_status rc = cursor_to(r, m, i, target);
            if (rc < 0)
                return rc;
            if (m->cdoc[i] < best)
                best = m->cdoc[i];
        }
        m->doc = best;
        return best == DOC_END ? ES_DONE : ES_OK;
    }
    case ESI_QOP_DATE: {
        uint32_t n = esi_segment_doc_count(r->s);
        for (uint32_t d = target; d < n; d++) {
            uint32_t v = esi_segment_date(r->s, d);
            if (v != 0 && v >= m->lo && v <= m->hi) {
                m->doc = d;
                return ES_OK;
            }
        }
        m->doc = DOC_END;
        return ES_DONE;
    }
    default:
        m->doc = DOC_END;
        return ES_DONE;
    }
}

/* True if optional matcher m (bonus, twin) matches doc d. */
static es_status optional_on(run *r, matcher *m, uint32_t d, bool *on)
{
    es_status rc = advance(r, m, d);
    if (rc < 0)
        return rc;
    *on = rc == ES_OK && m->doc == d;
    return ES_OK;
}

/* Score of m on doc d (m matches d); dl the doc's length. */
static es_status score(run *r, matcher *m, uint32_t d, uint32_t dl, double *out)
{
    const esi_search_params *p = r->p;
    double s = 0;
    es_status rc;
    bool on;
    switch (m->op) {
    case ESI_QOP_PHRASE: {
        bool body = r->q->phrases[m->ph].body;
        if ((rc = exact_tf(r, m)) != ES_OK)
            return rc;
        s = esi_score_bm25(m->idf, m->tf, body ? dl : 0, r->snap->avg_doclen,
                           p->k1, p->b);
        if (m->twin) {
            if ((rc = phrase_at(r, m->twin, d)) != ES_OK)
                return rc;
            if (m->twin->tf > 0)
                s += ESI_SCORE_TITLE_WEIGHT *
                     esi_score_bm25(m->idf, m->twin->tf, 0, 0, p->k1, p->b);
        }
        break;
    }
    case ESI_QOP_PREFIX: {
        bool body = r->q->phrases[m->ph].body;
        for (size_t i = 0; i < m->ncur; i++)
            if (m->cdoc[i] == d)
                s += esi_score_bm25(m->pidf[i], m->cur[i]->freq, body ? dl : 0,
                                    r->snap->avg_doclen, p->k1, p->b);
        if (m->twin) {
            double ts;
            if ((rc = optional_on(r, m->twin, d, &on)) != ES_OK)
                return rc;
            if (on && (rc = score(r, m->twin, d, 0, &ts)) != ES_OK)
                return rc;
            if (on)
                s += ESI_SCORE_TITLE_WEIGHT * ts;
        }
        break;
    }
    case ESI_QOP_AND: case ESI_QOP_OR:
        for (size_t i = 0; i < m->npos; i++) {
            double ks;
            if (m->kids[i]->doc != d)
                continue;
            if ((rc = score(r, m->kids[i], d, dl, &ks)) != ES_OK)
                return rc;
            s += ks;
        }
        if (m->op == ESI_QOP_AND && m->twin) {
            if ((rc = phrase_at(r, m->twin, d)) != ES_OK)
                return rc;
            if (m->twin->tf > 0) {
                /* The run's words can score at most idf(k1+1) each wherever
                 * they are; a doc holding the exact run gets that ceiling
                 * plus the run's own BM25, so it outranks scattered ones. */
                s += m->ceil + ESI_SCORE_PHRASE_WEIGHT *
                     esi_score_bm25(m->twin->idf, m->twin->tf, dl,
                                    r->snap->avg_doclen, p->k1, p->b);
            }
        }
        break;
    default:
        break;
    }
    *out = s;
    return ES_OK;
}

/* Largest BM25 a word of idf can earn from at most tf occurrences. */
static double bm25_bound(run *r, double idf, uint32_t tf, uint32_t dl, bool body)
{
    return esi_score_bm25(idf, tf, body ? dl : 0, r->snap->avg_doclen, r->p->k1,
                          r->p->b);
}

/* A phrase whose tf the bound of a doc only estimates: a word of the
 * query's positive tree on the doc (KID), the title twin of word up
 * (TWIN) or the bonus phrase of AND up (BONUS). */
enum { ITEM_KID, ITEM_TWIN, ITEM_BONUS };
typedef struct item {
    matcher *m, *up;
    int kind;
    double w;                  /* upper: its term with the largest tf */
} item;

/* What item it adds to the bound of doc d (length dl) with tf occurrences. */
static double item_term(run *r, const item *it, uint32_t tf, uint32_t dl)
{
    const esi_search_params *p = r->p;
    if (it->kind == ITEM_KID)
        return bm25_bound(r, it->m->idf, tf, dl, r->q->phrases[it->m->ph].body);
    if (it->kind == ITEM_TWIN)
        return ESI_SCORE_TITLE_WEIGHT * esi_score_bm25(it->up->idf, tf, 0, 0, p->k1, p->b);
    if (tf == 0)
        return 0;
    return it->up->ceil + ESI_SCORE_PHRASE_WEIGHT * bm25_bound(r, it->m->idf, tf, dl, true);
}

/* Add to *s the bound of m's positive tree on doc d from what its cursors
 * already hold: the phrase tf (or, unverified, the smallest key freq); a
 * title twin or bonus phrase counts with the largest tf its keys have in
 * the segment (maxtf) and is appended to r->items, for upper to tighten. */
static es_status upper_base(run *r, matcher *m, uint32_t d, uint32_t dl, double *s)
{
    es_status rc;
    switch (m->op) {
    case ESI_QOP_PHRASE:
        *s += bm25_bound(r, m->idf, m->tf, dl, r->q->phrases[m->ph].body);
        break;
    case ESI_QOP_PREFIX: {
        double ps;
        if ((rc = score(r, m, d, dl, &ps)) != ES_OK)     /* cheap: freqs only */
            return rc;
        *s += ps;
        return ES_OK;
    }
    case ESI_QOP_AND: case ESI_QOP_OR:
        for (size_t i = 0; i < m->npos; i++)
            if (m->kids[i]->doc == d &&
                (rc = upper_base(r, m->kids[i], d, dl, s)) != ES_OK)
                return rc;
        if (m->op == ESI_QOP_OR)
            return ES_OK;
        break;
    default:
        return ES_OK;
    }
    matcher *tw = m->twin;
    if (tw && !tw->empty) {
        item *it = &r->items[r->nitems++];
        *it = (item){ tw, m, m->op == ESI_QOP_AND ? ITEM_BONUS : ITEM_TWIN, 0 };
        it->w = item_term(r, it, tw->maxtf, dl);
        *s += it->w;
    }
    return ES_OK;
}

/* An upper bound *out of score(root, d), never below the score: upper_base,
 * then the optional phrases' terms made tighter, largest first, with the
 * smallest freq of their keys on d (twin_bound: 0 when a key is absent).
 * Stops as soon as the bound falls below thr (*below), leaving the rest. */
static es_status upper(run *r, matcher *root, uint32_t d, uint32_t dl, double thr,
                       double *out, bool *below)
{
    double margin = 1e-9 * (1.0 + fabs(thr)), ub = 0;
    es_status rc = ES_OK;
    r->nitems = 0;
    if (r->flat) {                 /* upper_base without the tree walk */
        for (size_t i = 0; i < r->nleaf; i++) {
            const matcher *m = r->leaf[i];
            ub += bm25_bound(r, m->idf, m->tf, dl, r->q->phrases[m->ph].body);
        }
        for (size_t i = 0; i < r->nopt; i++) {
            item *it = &r->items[r->nitems++];
            *it = r->opt[i];
            if (it->kind == ITEM_BONUS)
                it->w = item_term(r, it, it->m->maxtf, dl);
            ub += it->w;
        }
    } else if ((rc = upper_base(r, root, d, dl, &ub)) != ES_OK) {
        return rc;
    }
    while ((*below = ub + margin < thr) == false && r->nitems > 0) {
        size_t best = 0;
        for (size_t i = 1; i < r->nitems; i++)
            if (r->items[i].w > r->items[best].w)
                best = i;
        item it = r->items[best];
        r->items[best] = r->items[--r->nitems];
        uint32_t t;
        if ((rc = twin_bound(r, it.m, d, &t)) != ES_OK)
            return rc;
        if (t != it.m->maxtf)
            ub += item_term(r, &it, t, dl) - it.w;
    }
    *out = ub;
    return ES_OK;
}

/* Append to r->items the phrases of m's positive tree on doc d whose exact
 * tf the score needs and the bound does not know yet. */
static void collect(run *r, matcher *m, uint32_t d)
{
    matcher *tw = m->twin;
    switch (m->op) {
    case ESI_QOP_PHRASE:
        if (!m->verified)
            r->items[r->nitems++] = (item){ m, NULL, ITEM_KID, 0 };
        break;
    case ESI_QOP_AND: case ESI_QOP_OR:
        for (size_t i = 0; i < m->npos; i++)
            if (m->kids[i]->doc == d)
                collect(r, m->kids[i], d);
        break;
    default:
        return;
    }
    if (tw && tw->op == ESI_QOP_PHRASE && !tw->empty &&
        !(tw->started && tw->doc == d && tw->verified))
        r->items[r->nitems++] = (item){ tw, m,
                                        m->op == ESI_QOP_AND ? ITEM_BONUS : ITEM_TWIN, 0 };
}

/* The bound of a doc counts with tf 'have' (the item's estimate) for it;
 * the smallest tf in [0, have + 1] that keeps the bound ub at thr or above
 * (have + 1: none does). */
static uint32_t item_need(run *r, const item *it, uint32_t have, uint32_t dl,
                          double ub, double thr, double margin)
{
    double rest = ub - item_term(r, it, have, dl);
    if (rest + margin >= thr)
        return 0;
    if (rest + item_term(r, it, 1, dl) + margin >= thr)
        return 1;
    if (have < 2)
        return have + 1;
    uint32_t lo = 2, hi = have + 1;        /* term grows with tf */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (rest + item_term(r, it, mid, dl) + margin >= thr)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Before scoring d (its bound ub cleared thr), resolve the exact tf of the
 * phrases the bound only estimated, cheapest first, updating the bound
 * after each (its term with the estimate out, with the exact tf in): *skip once it falls below thr (a count that falls below what
 * the bound needs stops early, see phrase_tf). A lazy word found absent
 * sets *ok false. Otherwise every tf the score needs is then known. */
static es_status refine(run *r, matcher *root, uint32_t d, uint32_t dl,
                        double ub, double thr, bool *skip, bool *ok)
{
    double margin = 1e-9 * (1.0 + fabs(thr));
    r->nitems = 0;
    collect(r, root, d);
    while (r->nitems > 0) {
        size_t best = 0;
        uint64_t bc = UINT64_MAX;
        for (size_t i = 0; r->nitems > 1 && i < r->nitems; i++) {   /* one: no order */
            uint64_t c = resolve_cost(r->items[i].m, d);
            if (c < bc) {
                bc = c;
                best = i;
            }
        }
        item it = r->items[best];
        matcher *m = it.m;
        r->items[best] = r->items[--r->nitems];
        es_status rc;
        uint32_t have = 0, all = 0;
        if (it.kind == ITEM_KID) {
            have = m->tf;
        } else {
            /* the estimate the bound used, then the cursors it left behind */
            if ((rc = twin_bound(r, m, d, &have)) != ES_OK)
                return rc;
            if (have > 0 && (rc = keys_on(r, m, d, &all)) != ES_OK)
                return rc;
            m->started = true;
            m->doc = d;
            m->verified = all == 0;
            m->found = false;
            m->tf = 0;
        }
        if (!m->verified) {            /* else a key of the twin is not on d */
            uint32_t need = item_need(r, &it, have, dl, ub, thr, margin), tf;
            bool exact, found;
            if ((rc = phrase_tf(r, m, need, &tf, &exact, &found)) != ES_OK)
                return rc;
            if (it.kind == ITEM_KID && !found) {
                *ok = false;           /* a lazy word that is not on d */
                return ES_OK;
            }
            if (!exact) {              /* fewer than need: d cannot enter */
                m->found = m->found || found;
                *skip = true;
                return ES_OK;
            }
            m->tf = tf;
            m->verified = true;
            m->found = found;
        }
        ub += item_term(r, &it, m->tf, dl) - item_term(r, &it, have, dl);
        if (ub + margin < thr) {
            *skip = true;
            return ES_OK;
        }
    }
    return ES_OK;
}

/* Fill r->leaf and r->opt from m if m is a phrase, a date, or an AND of
 * such and of ANDs like it (NOT kids aside); false otherwise. */
static bool plan_flat(run *r, matcher *m)
{
    if (m->op == ESI_QOP_DATE)
        return true;
    if (m->op == ESI_QOP_AND) {
        for (size_t i = 0; i < m->npos; i++)
            if (!plan_flat(r, m->kids[i]))
                return false;
    } else if (m->op == ESI_QOP_PHRASE) {
        r->leaf[r->nleaf++] = m;
    } else {
        return false;
    }
    matcher *tw = m->twin;
    if (tw && !tw->empty) {
        item *it = &r->opt[r->nopt++];
        *it = (item){ tw, m, m->op == ESI_QOP_AND ? ITEM_BONUS : ITEM_TWIN, 0 };
        if (it->kind == ITEM_TWIN)
            it->w = item_term(r, it, tw->maxtf, 0);
    }
    return true;
}

/* Mark the phrases that may stop at unverified docs: a root PHRASE and
 * the PHRASE kids (positive or NOT) of every AND; an AND
 * verifies its kids on a doc once every kid holds it, except the root AND,
 * marked lazy itself: run_segment verifies its kids (after the bound, so a
 * pruned doc need not be verified when the total may be a lower bound). */
static void mark_lazy(matcher *m, bool root)
{
    if (m->op == ESI_QOP_PHRASE) {
        m->lazy = root && m->ncur > 1;
        return;
    }
    if (m->op == ESI_QOP_OR)
        for (size_t i = 0; i < m->nkids; i++)
            mark_lazy(m->kids[i], false);
    if (m->op != ESI_QOP_AND)
        return;
    m->lazy = root;
    for (size_t i = 0; i < m->nkids; i++) {
        matcher *k = m->kids[i];
        if (k->op == ESI_QOP_PHRASE)
            k->lazy = k->ncur > 1;
        else
            mark_lazy(k, false);
    }
}

/* first[i] = the first term of term[0..n) with the same bytes as term i
 * (i itself if none): a bonus phrase repeats the keys of its run's words, a
 * common character recurs across words (行满意 方向和项 使用和专: 9 of its
 * 25 body keys repeat one before them) and an implied pair may be a key
 * too. Terms are hashed (FNV-1a) into an open-addressed table twice their
 * number. */
static es_status term_firsts(const uint8_t *const *term, const size_t *len, size_t n,
                             uint32_t *first)
{
    size_t cap = 16, bytes;
    while (cap < 2 * n)
        cap *= 2;
    uint32_t *slot;
    if (!esi_mul_ok(cap, sizeof *slot, &bytes) || !(slot = esi_malloc(bytes)))
        return ES_ENOMEM;
    memset(slot, 0xff, bytes);
    for (uint32_t k = 0; k < n; k++) {
        const uint8_t *b = term[k];
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < len[k]; i++)
            h = (h ^ b[i]) * 16777619u;
        size_t at = h & (cap - 1);
        first[k] = k;
        for (; slot[at] != UINT32_MAX; at = (at + 1) & (cap - 1)) {
            uint32_t o = slot[at];
            if (len[o] == len[k] && !memcmp(term[o], b, len[k])) {
                first[k] = o;
                break;
            }
        }
        if (first[k] == k)
            slot[at] = k;
    }
    esi_free(slot);
    return ES_OK;
}

/* Look up, in every segment, the query's keys (into r->ti, r->found, and
 * their df summed over the segments into df) and the implied pairs of
 * plan_pairs (into r->aux_ti, r->aux_found), each distinct term once (an
 * implied pair is often a key of another word too) and all in one
 * esi_segment_lookup_many per segment (their misses overlap); then
 * prefetch the postings of those found, whose cursors open next. (One
 * batch instead of two did not move the lookups' time measurably: 12-15 us
 * a query either way.) */
static es_status lookup_keys(run *r, uint64_t *df)
{
    const es_query *q = r->q;
    size_t nk = q->nkeys, n = nk + r->naux, cap = n ? n : 1, nu = 0;
    /* one allocation: every term and its length, each one's first and its
     * slot among the distinct ones, then infos and found flags of those */
    size_t each = sizeof(esi_term_info) + 2 * sizeof(uint8_t *) + 2 * sizeof(size_t) +
                  2 * sizeof(uint32_t) + sizeof(bool), bytes;
    esi_term_info *ti;
    if (!esi_mul_ok(cap, each, &bytes) || !(ti = esi_malloc(bytes)))
        return ES_ENOMEM;
    const uint8_t **all = (const uint8_t **)(void *)(ti + cap);
    const uint8_t **term = all + cap;
    size_t *alen = (size_t *)(void *)(term + cap), *len = alen + cap;
    uint32_t *first = (uint32_t *)(void *)(len + cap), *slot = first + cap;
    bool *found = (bool *)(void *)(slot + cap);
    for (size_t k = 0; k < n; k++) {
        if (k < nk) {
            all[k] = esi_qkey_bytes(q, &q->keys[k]);
            alen[k] = q->keys[k].len;
        } else {
            all[k] = r->auxb.data + r->aux[k - nk].off;
            alen[k] = r->aux[k - nk].len;
        }
    }
    es_status rc = term_firsts(all, alen, n, first);
    for (size_t k = 0; rc == ES_OK && k < n; k++) {
        if (first[k] != k) {           /* first[k] < k: its slot is known */
            slot[k] = slot[first[k]];
            continue;
        }
        term[nu] = all[k];
        len[nu] = alen[k];
        slot[k] = (uint32_t)nu++;
    }
    for (size_t s = 0; rc == ES_OK && s < r->snap->nsegs; s++) {
        const esi_segment *sg = r->snap->segs[s];
        rc = esi_segment_lookup_many(sg, nu, term, len, ti, found, r->e);
        for (size_t i = 0; rc == ES_OK && i < nu; i++)
            if (found[i])
                esi_postings_prefetch(sg, &ti[i]);
        for (size_t k = 0; rc == ES_OK && k < nk; k++) {
            size_t at = s * nk + k;
            r->ti[at] = ti[slot[k]];
            r->found[at] = found[slot[k]];
            if (r->found[at])
                df[k] += r->ti[at].df;
        }
        for (size_t k = nk; rc == ES_OK && k < n; k++) {
            size_t at = s * r->naux + (k - nk);
            r->aux_ti[at] = ti[slot[k]];
            r->aux_found[at] = found[slot[k]];
        }
    }
    esi_free(ti);
    return rc;
}

/* Expand the prefixes, plan the implied pairs, look every key and pair up
 * in every segment and compute each phrase's idf from its rarest key's
 * document frequency summed over segments. */
static es_status prepare(run *r)
{
    const es_query *q = r->q;
    size_t n;
    if (!esi_mul_ok(r->snap->nsegs, q->nkeys ? q->nkeys : 1, &n))
        return ES_ELIMIT;
    r->ti = esi_calloc(n ? n : 1, sizeof *r->ti);
    r->found = esi_calloc(n ? n : 1, sizeof *r->found);
    r->ph_idf = esi_calloc(q->nphrases ? q->nphrases : 1, sizeof *r->ph_idf);
    r->px = esi_calloc(q->nphrases ? q->nphrases : 1, sizeof *r->px);
    if (!r->px)
        return ES_ENOMEM;
    for (size_t i = 0; i < q->nphrases; i++) {
        es_status rc = q->phrases[i].prefix ? esi_prefix_expand(r->snap, q, (int32_t)i, true,
                                                                &r->px[i], r->e) : ES_OK;
        if (rc != ES_OK)
            return rc;
    }
    uint64_t *df = esi_calloc(q->nkeys ? q->nkeys : 1, sizeof *df);
    es_status rc = !r->ti || !r->found || !r->ph_idf || !df ? ES_ENOMEM : plan_pairs(r);
    rc = rc == ES_OK ? lookup_keys(r, df) : rc;
    if (rc != ES_OK) {
        esi_free(df);
        return rc;
    }
    for (size_t i = 0; i < q->nphrases; i++) {
        const esi_qphrase *f = &q->phrases[i];
        uint64_t m = UINT64_MAX;
        for (uint32_t k = 0; k < f->nkeys; k++)
            if (df[f->first_key + k] < m)
                m = df[f->first_key + k];
        r->ph_idf[i] = esi_score_idf(m == UINT64_MAX ? 0 : m, r->snap->live_docs);
    }
    esi_free(df);
    return ES_OK;
}

/* Build the matchers of segment seg for r (freeing the last segment's):
 * *root its query tree. */
static es_status open_segment(run *r, size_t seg, matcher **root)
{
    free_matchers(r);
    r->seg = seg;
    r->s = r->snap->segs[seg];
    es_status rc = build(r, r->q->root, root);
    if (rc == ES_OK && r->nall > r->itemcap) {
        struct item *it = esi_realloc(r->items, r->nall * sizeof *it);
        struct item *op = it ? esi_realloc(r->opt, r->nall * sizeof *op) : NULL;
        matcher **lf = op ? esi_realloc(r->leaf, r->nall * sizeof *lf) : NULL;
        if (it)
            r->items = it;
        if (op)
            r->opt = op;
        if (!lf)
            return ES_ENOMEM;
        r->leaf = lf;
        r->itemcap = r->nall;
    }
    if (rc != ES_OK)
        return rc;
    r->nleaf = r->nopt = 0;
    r->flat = r->prune && plan_flat(r, root[0]);
    mark_lazy(root[0], true);
    return ES_OK;
}

static void engage_check(run *r);

/* Count one root doc of the caller of a split search towards waking the
 * workers (engage_check). */
static inline void engage_tick(run *r)
{
    if (r->engage_in && --r->engage_in == 0)
        engage_check(r);
}

/* Score doc d (length dl) of root m and offer it to the heap. */
static es_status take_hit(run *r, matcher *m, uint32_t d, uint32_t dl)
{
    esi_hit h = { (uint32_t)r->seg, d, esi_segment_date(r->s, d), 0 };
    es_status rc = score(r, m, d, dl, &h.score);
    if (rc != ES_OK)
        return rc;
    r->scored++;
    offer_shared(r, &h);
    return ES_OK;
}

/* True if root is one key (a character, a pair, a Latin token) without
 * pairs to check: every posting is a match and its freq the tf. */
static bool single_key(const matcher *m)
{
    return m->op == ESI_QOP_PHRASE && !m->empty && m->ncur == 1 && m->nacur == 0 &&
           !m->aabsent;
}

/* Whether doc d (tf occurrences, length dl) of a single_key root m can
 * enter the page at threshold thr: its exact BM25 bound plus, if m has a
 * title twin tw, the twin's largest term (twmax), then its exact one. */
static es_status single_enters(run *r, matcher *m, matcher *tw, double twmax,
                               uint32_t d, uint32_t tf, uint32_t dl, double thr,
                               bool *enter)
{
    const esi_search_params *p = r->p;
    double margin = 1e-9 * (1.0 + fabs(thr));
    double ub = bm25_bound(r, m->idf, tf, dl, r->q->phrases[m->ph].body) + twmax;
    *enter = ub + margin >= thr;
    if (!*enter || !tw)
        return ES_OK;
    uint32_t ttf;
    es_status rc = twin_bound(r, tw, d, &ttf);
    if (rc != ES_OK)
        return rc;
    if (ttf == 0)                  /* the usual case: not in the title */
        ub -= twmax;
    else if (ttf != tw->maxtf)
        ub += ESI_SCORE_TITLE_WEIGHT * esi_score_bm25(m->idf, ttf, 0, 0, p->k1, p->b) -
              twmax;
    *enter = ub + margin >= thr;
    return ES_OK;
}

/* Put single_key root m (and its cursor) on doc d, with tf occurrences. */
static es_status single_on(run *r, matcher *m, uint32_t d, uint32_t tf)
{
    es_status rc = move_cursor(r, m->cur[0], &m->cdoc[0], d);
    if (rc != ES_OK)               /* d is in the block the cursor is in */
        return rc == ES_DONE ? bad_postings(r, ES_ECORRUPT) : rc;
    m->started = true;
    m->doc = d;
    m->tf = tf;
    m->verified = m->found = true;
    return ES_OK;
}

/* run_docs for a single_key root: its postings read in place, a block at
 * a time (esi_postings_view), the cursor moved only to enter a block, to
 * score a doc and where the run stops. A doc's bound is its exact BM25
 * plus, if it has a title twin, the twin's largest term, then its exact
 * one (single_enters); a test without divisions rules out first the docs
 * clearly below the threshold (the usual case once the page is full),
 * with a slack of 1e-9 of the sides that no rounding reaches, so the
 * pages are those of the exact test alone. The generic path (upper,
 * refine) gives the same pages at several times the instructions per
 * posting, which common one- and two-character queries visit by the
 * thousand. */
static es_status run_single(run *r, matcher *m, uint32_t *t, uint32_t hi)
{
    const esi_search_params *p = r->p;
    bool body = r->q->phrases[m->ph].body;
    matcher *tw = m->twin && !m->twin->empty ? m->twin : NULL;
    double twmax = tw ? ESI_SCORE_TITLE_WEIGHT *
                        esi_score_bm25(m->idf, tw->maxtf, 0, 0, p->k1, p->b) : 0;
    /* bm25 < lo <=> idf tf (k1 + 1) < lo (tf + norm(dl)), norm linear in
     * dl; lo = thr - margin, less the twin's largest term unless the twin
     * is known absent (need[1]), less what rounding (bm25 + twmax) - twmax
     * can lose */
    double avg = r->snap->avg_doclen, top = m->idf * (p->k1 + 1.0) * (1.0 + 1e-9);
    bool lin = body && avg > 0;
    double na = lin ? p->k1 * (1.0 - p->b) : p->k1, nb = lin ? p->k1 * p->b / avg : 0;
    double thr_seen = HUGE_VAL, need[2] = { -HUGE_VAL, -HUGE_VAL };
    /* docs below it have no title twin; only single_enters and take_hit
     * move the twin's cursors, so it is taken again after them */
    uint32_t tw_below = tw ? twin_absent_below(tw) : DOC_END;
    esi_postings *c = m->cur[0];
    es_status rc;
    for (;;) {
        if ((rc = move_cursor(r, c, &m->cdoc[0], *t)) != ES_OK) {
            m->doc = DOC_END;
            return rc;
        }
        const uint32_t *docs, *freqs;
        uint32_t n = esi_postings_view(c, &docs, &freqs);
        if (n == 0)
            return bad_postings(r, ES_ECORRUPT);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t d = docs[i];
            if (d >= hi)
                return single_on(r, m, d, freqs[i]);
            engage_tick(r);
            if (esi_snapshot_is_deleted(r->snap, r->seg, d))
                continue;
            r->total++;
            if (r->k == 0)
                continue;
            uint32_t tf = freqs[i], dl = esi_segment_doclen(r->s, d);
            double thr;
            bool enter = true;
            if (r->prune && threshold(r, &thr)) {
                if (thr != thr_seen) {
                    thr_seen = thr;
                    for (int off = 0; off < 2; off++) {
                        double lo = thr - 1e-9 * (1.0 + fabs(thr) + twmax) - (off ? 0 : twmax);
                        need[off] = lo > 0 ? lo * (1.0 - 1e-9) : -HUGE_VAL;
                    }
                }
                double norm = dl ? na + nb * dl : p->k1;
                if (top * tf < need[d < tw_below] * (tf + norm))
                    continue;          /* clearly below: the exact test agrees */
                if ((rc = single_enters(r, m, tw, twmax, d, tf, dl, thr, &enter)) != ES_OK)
                    return rc;
            }
            if (enter && ((rc = single_on(r, m, d, tf)) != ES_OK ||
                          (rc = take_hit(r, m, d, dl)) != ES_OK))
                return rc;
            if (tw)                    /* the twin may have moved */
                tw_below = twin_absent_below(tw);
        }
        uint32_t last = docs[n - 1];
        if (last == DOC_END - 1) {     /* no doc after it can exist */
            m->doc = last;
            return ES_DONE;
        }
        *t = last + 1;
    }
}

/* Run root's matches from doc *t on, up to (not including) doc hi; *t
 * then the doc to go on from. ES_DONE when the segment has no more. With
 * pruning, a doc whose score bound cannot reach the threshold is not
 * scored (new docs lose ties: they come after every hit in the heap);
 * with a lazy root it is not even verified, and then not counted. */
static es_status run_docs(run *r, matcher *root, uint32_t *t, uint32_t hi)
{
    if (single_key(root))
        return run_single(r, root, t, hi);
    for (;;) {
        es_status rc = advance(r, root, *t);
        if (rc != ES_OK)
            return rc;
        uint32_t d = root->doc;
        if (d >= hi)
            return ES_OK;
        engage_tick(r);
        if (!esi_snapshot_is_deleted(r->snap, r->seg, d)) {
            bool ok = true, skip = false;
            uint32_t dl = 0;
            double ub = 0, thr;
            if (r->k) {
                dl = esi_segment_doclen(r->s, d);
                if (r->prune && threshold(r, &thr) &&
                    ((rc = upper(r, root, d, dl, thr, &ub, &skip)) != ES_OK ||
                     (!skip &&
                      (rc = refine(r, root, d, dl, ub, thr, &skip, &ok)) != ES_OK)))
                    return rc;
            }
            if (ok && !(skip && r->uncounted) &&
                (rc = verify(r, root, r->k && !skip, &ok)) != ES_OK)
                return rc;
            if (ok && !(skip && r->uncounted))
                r->total++;
            if (ok && r->k && !skip && (rc = take_hit(r, root, d, dl)) != ES_OK)
                return rc;
        }
        if (d == DOC_END - 1)
            return ES_DONE;
        *t = d + 1;
    }
}

/* Run r's share of the search: every segment whole, or in a split search
 * the chunks it takes, in order (so each thread's cursors only move
 * forward within a segment). */
static es_status run_chunks(run *r)
{
    es_status rc = ES_OK;
    size_t nc = r->sp ? r->sp->n : r->snap->nsegs, seg = SIZE_MAX;
    matcher *root = NULL;
    uint32_t t = 0;
    for (size_t i = 0; rc == ES_OK || rc == ES_DONE; i++) {
        chunk c;
        if (r->sp) {
            size_t k = atomic_fetch_add_explicit(&r->sp->next, 1, memory_order_relaxed);
            if (k >= nc || atomic_load_explicit(&r->sp->stop, memory_order_relaxed))
                break;
            c = r->sp->c[k];
        } else if (i < nc) {
            c = (chunk){ (uint32_t)i, 0, DOC_END };
        } else {
            break;
        }
        if (c.seg != seg) {
            seg = c.seg;
            t = 0;
            if ((rc = open_segment(r, seg, &root)) != ES_OK)
                break;
        } else if (rc == ES_DONE) {
            continue;                  /* the segment has no more matches */
        }
        if (t < c.lo)
            t = c.lo;
        rc = run_docs(r, root, &t, c.hi);
        if (r->engage_in)
            engage_check(r);
    }
    close_matchers(r);             /* the arena's owner frees or keeps it */
    if (rc != ES_OK && rc != ES_DONE && r->sp)
        atomic_store_explicit(&r->sp->stop, true, memory_order_relaxed);
    return rc == ES_DONE ? ES_OK : rc;
}

/* Documents node n may visit in segment seg, from document frequencies: a
 * phrase its rarest key's, an AND its cheapest positive kid's, an OR or a
 * prefix the sum of theirs, a date every doc. */
static uint64_t visits(const run *r, int32_t n, size_t seg)
{
    const es_query *q = r->q;
    const esi_qnode *nd = &q->nodes[n];
    uint64_t v = 0;
    if (nd->op == ESI_QOP_PHRASE) {
        const esi_qphrase *f = &q->phrases[nd->phrase];
        for (uint32_t i = 0; i < f->nkeys; i++) {
            size_t at = seg * q->nkeys + f->first_key + i;
            uint64_t df = r->found[at] ? r->ti[at].df : 0;
            if (i == 0 || df < v)
                v = df;
        }
        return v;
    }
    if (nd->op == ESI_QOP_PREFIX) {
        const pxset *x = &r->px[nd->phrase];
        for (size_t i = 0; i < x->n; i++)
            if (x->found[seg * x->n + i])
                v += x->ti[seg * x->n + i].df;
        return v;
    }
    if (nd->op != ESI_QOP_AND && nd->op != ESI_QOP_OR)
        return esi_segment_doc_count(r->snap->segs[seg]);
    bool and = nd->op == ESI_QOP_AND, any = false;
    for (int32_t k = nd->kid; k >= 0; k = q->nodes[k].next) {
        if (and && q->nodes[k].op == ESI_QOP_NOT)
            continue;
        uint64_t x = visits(r, k, seg);
        v = !and ? v + x : !any || x < v ? x : v;
        any = true;
    }
    return any ? v : esi_segment_doc_count(r->snap->segs[seg]);
}

/* One worker's share of a split search. */
typedef struct job {
    run r;
    esi_err e;
    es_status rc;
    esi_pool_worker *w;
} job;

static void job_main(void *p)
{
    job *j = p;
    j->rc = run_chunks(&j->r);
}

/* Free what run r owns itself, not what prepare() made. */
static void free_local(run *r)
{
    close_matchers(r);
    esi_arena_free(&r->mem);
    esi_free(r->all);
    esi_free(r->heap);
    esi_free(r->items);
    esi_free(r->opt);
    esi_free(r->leaf);
    r->all = NULL;
    r->heap = NULL;
    r->items = r->opt = NULL;
    r->leaf = NULL;
    r->allcap = r->itemcap = 0;
}

/* Cut the segments into chunks of about per docs each: sp->c, sp->n. */
static bool make_chunks(const run *r, split *sp, uint64_t per)
{
    size_t n = 0;
    for (size_t s = 0; s < r->snap->nsegs; s++)
        n += (esi_segment_doc_count(r->snap->segs[s]) + per - 1) / per;
    if (!(sp->c = esi_calloc(n ? n : 1, sizeof *sp->c)))
        return false;
    for (size_t s = 0; s < r->snap->nsegs; s++) {
        uint32_t nd = esi_segment_doc_count(r->snap->segs[s]);
        for (uint64_t lo = 0; lo < nd; lo += per)
            sp->c[sp->n++] = (chunk){ (uint32_t)s, (uint32_t)lo,
                                      lo + per >= nd ? DOC_END : (uint32_t)(lo + per) };
    }
    return true;
}

/* The caller of a split search, after its first ESI_SPLIT_LOOK docs or
 * its first chunk, whichever comes first: lend the chunks left to the idle
 * workers, each on a copy of the caller's run with a heap, counts and
 * matchers of its own. A search whose root has fewer docs never wakes a
 * worker, and one that finishes before a worker wakes takes the job back
 * (esi_pool_cancel) instead of waiting for it. */
static void engage_check(run *r)
{
    split *sp = r->sp;
    r->engage_in = 0;                  /* look once: engaged or not */
    size_t next = atomic_load_explicit(&sp->next, memory_order_relaxed);
    size_t left = next < sp->n ? sp->n - next : 0;
    while (sp->started < sp->nw && sp->started < left) {
        job *j = &sp->jobs[sp->started];
        j->r = *r;
        j->r.e = &j->e;
        j->r.engage_in = 0;
        j->r.all = NULL;
        j->r.mem = (esi_arena){ 0 };
        j->r.nall = j->r.allcap = 0;
        j->r.items = j->r.opt = NULL;
        j->r.leaf = NULL;
        j->r.itemcap = j->r.nitems = 0;
        j->r.nleaf = j->r.nopt = 0;
        j->r.total = j->r.scored = 0;
        j->r.nheap = 0;
        j->r.heap = r->k ? esi_calloc(r->k, sizeof *j->r.heap) : NULL;
        if ((r->k && !j->r.heap) ||
            !(j->w = esi_pool_start(r->p->pool, job_main, j, sp->awake_only))) {
            esi_free(j->r.heap);
            j->r.heap = NULL;
            return;
        }
        sp->started++;
    }
}

/* Run the search over every segment: on this thread alone, or, when the
 * query is estimated to visit enough documents and the pool has idle
 * workers, in chunks of docnos that this thread and the workers take in
 * turn, each with its own heap and count, merged at the end. The merged
 * page and total are those of one thread: pruning only ever drops docs
 * that could not enter (see threshold). */
static es_status run_all(run *r)
{
    const esi_search_params *p = r->p;
    unsigned nw = p->pool ? esi_pool_size(p->pool) : 0;
    uint64_t est = 0, docs = 0;
    if (nw == 0 && !p->stats)
        return run_chunks(r);          /* nothing to split over, no one asks */
    for (size_t s = 0; s < r->snap->nsegs; s++) {
        est += visits(r, r->q->root, s);
        docs += esi_segment_doc_count(r->snap->segs[s]);
    }
    /* a root of one key reads its postings straight through (run_single):
     * measured on the benchmark, a split paid only from about 2,000 docs */
    const esi_qnode *rn = &r->q->nodes[r->q->root];
    if (rn->op == ESI_QOP_PHRASE && r->q->phrases[rn->phrase].nkeys == 1)
        est /= ESI_SPLIT_ONE_KEY;
    r->visits = est;
    if (nw == 0 || docs < 2 || est < (p->split_min ? p->split_min : ESI_SPLIT_MIN))
        return run_chunks(r);
    uint64_t per = p->chunk_docs ? p->chunk_docs : docs / (8 * ((uint64_t)nw + 1)) + 1;
    split sp = { 0 };
    job *jobs = esi_calloc(nw, sizeof *jobs);
    if (!jobs || !make_chunks(r, &sp, per)) {
        esi_free(jobs);
        esi_free(sp.c);
        return run_chunks(r);          /* no memory to split: run whole */
    }
    double none = -HUGE_VAL;
    uint64_t bits;
    memcpy(&bits, &none, sizeof bits);
    atomic_init(&sp.next, 0);
    atomic_init(&sp.theta, bits);
    atomic_init(&sp.stop, false);
    sp.jobs = jobs;
    sp.nw = nw;
    sp.awake_only = est < (p->split_cold ? p->split_cold : ESI_SPLIT_COLD);
    r->sp = &sp;
    r->engage_in = p->split_look ? p->split_look : ESI_SPLIT_LOOK;
    if (est >= (p->split_eager ? p->split_eager : ESI_SPLIT_EAGER))
        engage_check(r);               /* a long search: wake them at once */
    es_status rc = run_chunks(r);
    r->sp = NULL;
    r->engage_in = 0;
    r->threads = (unsigned)sp.started + 1;
    for (size_t i = 0; i < sp.started; i++) {
        job *j = &jobs[i];
        if (esi_pool_cancel(p->pool, j->w)) {      /* it never woke in time */
            free_local(&j->r);
            continue;
        }
        esi_pool_wait(p->pool, j->w);
        if (rc == ES_OK && j->rc != ES_OK) {
            rc = j->rc;
            if (r->e)
                *r->e = j->e;
        }
        r->total += j->r.total;
        r->scored += j->r.scored;
        for (size_t h = 0; h < j->r.nheap; h++)
            offer(r, &j->r.heap[h]);
        free_local(&j->r);
    }
    esi_free(jobs);
    esi_free(sp.c);
    return rc;
}

/* qsort comparator state is not reentrant-friendly; sort by insertion into
 * a heap-ordered array instead: repeatedly pop the worst to the end. */
static void heap_sort(run *r)
{
    size_t n = r->nheap;
    while (r->nheap > 1) {
        esi_hit t = r->heap[0];
        r->heap[0] = r->heap[r->nheap - 1];
        r->heap[r->nheap - 1] = t;
        r->nheap--;
        sift_down(r, 0);
    }
    r->nheap = n;   /* now best first */
}

es_status esi_search_run(const esi_snapshot *snap, const es_query *q,
                         const esi_search_params *p, esi_hit **hits,
                         size_t *nhits, uint64_t *total, esi_err *e)
{
    run r = { 0 };
    es_status rc = ES_OK;
    *hits = NULL;
    *nhits = 0;
    *total = 0;
    r.snap = snap;
    r.q = q;
    r.p = p;
    r.e = e;
    if (p->limit && __builtin_add_overflow(p->offset, p->limit, &r.k))
        return esi_err_set(e, ES_EINVAL, "offset + limit overflows");
    if (r.k > (size_t)1 << 24)
        return esi_err_set(e, ES_ELIMIT, "offset + limit is more than %zu; page "
                           "through smaller windows", (size_t)1 << 24);
    if (p->keep) {                 /* memory an earlier search left */
        r.mem = *p->keep;
        *p->keep = (esi_arena){ 0 };
    }
    if (r.k && !(r.heap = esi_calloc(r.k, sizeof *r.heap))) {
        rc = ES_ENOMEM;
        goto done;
    }
    r.prune = !p->no_prune && p->sort == ES_SORT_SCORE && r.k > 0;
    r.uncounted = r.prune && !p->exact_total;
    if ((rc = prepare(&r)) != ES_OK)
        goto done;
    if ((rc = run_all(&r)) != ES_OK)
        goto done;
    heap_sort(&r);
    *total = r.total;
    if (p->stats) {
        p->stats->scored = r.scored;
        p->stats->visits = r.visits;
        p->stats->threads = r.threads ? r.threads : 1;
    }
    if (r.nheap > p->offset) {
        size_t n = r.nheap - p->offset;
        memmove(r.heap, r.heap + p->offset, n * sizeof *r.heap);
        *hits = r.heap;
        *nhits = n;
        r.heap = NULL;
    }
done:
    if (rc == ES_ENOMEM)
        esi_err_set(e, rc, "out of memory running a search");
    else if (rc == ES_ELIMIT && e && e->code != ES_ELIMIT)
        esi_err_set(e, rc, "the search is too large for this index");
    if (p->keep) {
        close_matchers(&r);
        esi_arena_trim(&r.mem, ESI_SEARCH_KEEP);
        *p->keep = r.mem;
        r.mem = (esi_arena){ 0 };
    }
    free_local(&r);
    esi_free(r.ti);
    esi_free(r.found);
    esi_free(r.ph_idf);
    for (size_t i = 0; r.px && i < q->nphrases; i++)
        esi_prefix_set_free(&r.px[i]);
    esi_free(r.px);
    esi_buf_free(&r.auxb);
    esi_free(r.aux);
    esi_free(r.aux_first);
    esi_free(r.aux_n);
    esi_free(r.chain);
    esi_free(r.aux_ti);
    esi_free(r.aux_found);
    return rc;
}
