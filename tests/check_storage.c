/*
 * check_storage.c: suite "storage": write -> commit -> snapshot -> read
 * round trips against an in-memory reference model (across flushes, merges
 * and optimize; some terms without positions), postings at block edges
 * (with and without positions), mixing ESI_POS_NONE and positions, replace and delete, snapshot
 * isolation across generations, the writer lock, corruption (every byte
 * flipped, every truncation), I/O faults during commit, allocation
 * failures, a writer killed with SIGKILL at random moments, and the shared
 * block cache (reads equal uncached reads, the budget holds, pins, damage,
 * threads).
 */
#include "storage/storage_int.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- reference model ---------------------------------------------------- */

#define VOCAB 40
#define MAXOCC 120
#define MAXDOCS 400

static char vocab[VOCAB][24];

/* Terms stored without positions (every occurrence ESI_POS_NONE). */
static bool vocab_nopos(int t)
{
    return t % 5 == 2 || t == 3;
}

static void vocab_init(void)
{
    for (int i = 0; i < VOCAB; i++) {
        /* shared prefixes, a field-term separator and non-ASCII bytes */
        if (i % 5 == 0)
            snprintf(vocab[i], sizeof vocab[i], "title\x1f%c%d", 'a' + i % 7, i);
        else if (i % 5 == 1)
            snprintf(vocab[i], sizeof vocab[i], "\xe6\x95\x99%d", i);
        else
            snprintf(vocab[i], sizeof vocab[i], "term%c%c%d", 'a' + i % 3,
                     'a' + i % 4, i);
    }
}

typedef struct tdoc {
    char id[16];
    char text[80];
    size_t text_len;
    char fv[2][24];
    esi_field f[2];
    size_t nf;
    esi_occ occ[MAXOCC];
    size_t nocc;
    uint32_t doclen, date;
} tdoc;

typedef struct model {
    tdoc docs[MAXDOCS];   /* by id number */
    bool live[MAXDOCS];
} model;

/* Fill d with random contents for id number k. */
static void gen_doc(tdoc *d, int k, uint64_t *st)
{
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "doc-%d", k);
    d->text_len = tu_rand(st) % 70;
    for (size_t i = 0; i < d->text_len; i++)
        d->text[i] = (char)(tu_rand(st) % 5 == 0 ? 0 : 'a' + tu_rand(st) % 26);
    d->nf = tu_rand(st) % 3;
    static const char *const names[2] = { "author", "title" };
    for (size_t i = 0; i < d->nf; i++) {
        snprintf(d->fv[i], sizeof d->fv[i], "v%llu",
                 (unsigned long long)(tu_rand(st) % 100000));
        d->f[i].name = names[i];
        d->f[i].name_len = strlen(names[i]);
        d->f[i].value = d->fv[i];
        d->f[i].value_len = strlen(d->fv[i]);
    }
    d->nocc = tu_rand(st) % MAXOCC;
    uint32_t pos = (uint32_t)(tu_rand(st) % 3);
    for (size_t i = 0; i < d->nocc; i++) {
        int t = (int)(tu_rand(st) % VOCAB);
        if (tu_rand(st) % 4 == 0)
            t = (int)(tu_rand(st) % 4);   /* frequent terms: long lists */
        d->occ[i].term = (const uint8_t *)vocab[t];
        d->occ[i].term_len = (uint32_t)strlen(vocab[t]);
        d->occ[i].pos = vocab_nopos(t) ? ESI_POS_NONE : pos;
        if (tu_rand(st) % 8)
            pos += 1 + (uint32_t)(tu_rand(st) % (tu_rand(st) % 10 ? 3 : 5000));
    }
    d->doclen = pos;
    d->date = tu_rand(st) % 2 ? 20000101 + (uint32_t)(tu_rand(st) % 10000) : 0;
}

static esi_doc_in doc_in(const tdoc *d)
{
    esi_doc_in in = { d->id, strlen(d->id), d->text, d->text_len, d->f, d->nf,
                      d->occ, d->nocc, d->doclen, d->date };
    return in;
}

/* Positions of term t in d (sorted); returns the count. */
static uint32_t ref_positions(const tdoc *d, int t, uint32_t *out)
{
    uint32_t n = 0;
    for (size_t i = 0; i < d->nocc; i++)
        if (d->occ[i].term == (const uint8_t *)vocab[t])
            out[n++] = d->occ[i].pos;
    /* already non-decreasing: positions were generated in order */
    return n;
}

static int id_number(const char *id, size_t len)
{
    char buf[32];
    if (len >= sizeof buf || len < 5)
        return -1;
    memcpy(buf, id, len);
    buf[len] = 0;
    return atoi(buf + 4);
}

/* Check the newest commit of dir holds exactly the live docs of m. */
static void verify(const char *dir, const model *m)
{
    esi_err e;
    esi_snapshot *s;
    ck_assert_msg(esi_snapshot_open(&s, dir, true, &e) == ES_OK, "%s", e.msg);
    esi_doc_reader *dr;
    ck_assert_int_eq(esi_doc_reader_new(&dr, &e), ES_OK);
    /* stored docs: where each live id is */
    static int where_seg[MAXDOCS];

    for (int k = 0; k < MAXDOCS; k++)
        where_seg[k] = -1;
    uint64_t live = 0;
    double dl = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        const esi_segment *g = s->segs[i];
        for (uint32_t d = 0; d < esi_segment_doc_count(g); d++) {
            if (esi_snapshot_is_deleted(s, i, d))
                continue;
            esi_stored_doc sd;
            ck_assert_msg(esi_doc_read(dr, g, d, &sd, &e) == ES_OK, "%s", e.msg);
            int k = id_number(sd.id, sd.id_len);
            ck_assert_msg(k >= 0 && m->live[k], "unexpected doc %.*s",
                          (int)sd.id_len, sd.id);
            ck_assert_msg(where_seg[k] < 0, "doc %s twice", m->docs[k].id);
            where_seg[k] = (int)i;

            const tdoc *r = &m->docs[k];
            ck_assert_uint_eq(sd.text_len, r->text_len);
            ck_assert(memcmp(sd.text, r->text, r->text_len) == 0);
            ck_assert_int_eq(sd.text[sd.text_len], 0);
            ck_assert_uint_eq(sd.nfields, r->nf);
            for (size_t f = 0; f < r->nf; f++) {
                ck_assert_uint_eq(sd.fields[f].name_len, r->f[f].name_len);
                ck_assert(!memcmp(sd.fields[f].name, r->f[f].name, r->f[f].name_len));
                ck_assert_str_eq(sd.fields[f].value, r->fv[f]);
            }
            ck_assert_uint_eq(esi_segment_doclen(g, d), r->doclen);
            ck_assert_uint_eq(esi_segment_date(g, d), r->date);
            uint32_t found;
            ck_assert_int_eq(esi_segment_find_id(g, sd.id, sd.id_len, &found), ES_OK);
            ck_assert_uint_eq(found, d);
            live++;
            dl += r->doclen;
        }
    }
    uint64_t want = 0;
    for (int k = 0; k < MAXDOCS; k++)
        if (m->live[k]) {
            want++;
            ck_assert_msg(where_seg[k] >= 0, "doc %d missing", k);
        }
    ck_assert_uint_eq(live, want);
    ck_assert_uint_eq(s->live_docs, want);
    if (want)
        ck_assert(s->avg_doclen > dl / (double)want - 1e-6 &&
                  s->avg_doclen < dl / (double)want + 1e-6);
    /* postings: every (live doc, term) pair, positions identical */
    static uint32_t ref[MAXOCC];
    for (int t = 0; t < VOCAB; t++) {
        uint64_t got_pairs = 0, want_pairs = 0;
        for (int k = 0; k < MAXDOCS; k++)
            if (m->live[k] && ref_positions(&m->docs[k], t, ref) > 0)
                want_pairs++;
        for (size_t i = 0; i < s->nsegs; i++) {
            esi_term_info ti;
            es_status rc = esi_segment_lookup(s->segs[i], (const uint8_t *)vocab[t],
                                              strlen(vocab[t]), &ti, &e);
            if (rc == ES_ENOTFOUND)
                continue;
            ck_assert_int_eq(rc, ES_OK);
            ck_assert(ti.positions == !vocab_nopos(t));
            esi_postings c;
            ck_assert_int_eq(esi_postings_open(&c, s->segs[i], &ti, &e), ES_OK);
            uint32_t n = 0;
            while ((rc = esi_postings_next(&c)) == ES_OK) {
                n++;
                if (esi_snapshot_is_deleted(s, i, c.doc))
                    continue;
                esi_stored_doc sd;
                ck_assert_int_eq(esi_doc_read(dr, s->segs[i], c.doc, &sd, &e), ES_OK);
                int k = id_number(sd.id, sd.id_len);
                uint32_t rn = ref_positions(&m->docs[k], t, ref);
                const uint32_t *pos;
                uint32_t np;
                if (rn > 0 && !vocab_nopos(t)) {
                    /* a prefix decoded up to some position, then the rest */
                    uint32_t upto = ref[(uint32_t)(t * 7 + k) % rn] + (uint32_t)(k % 3) - 1;
                    ck_assert_int_eq(esi_postings_positions_upto(&c, upto, &pos, &np), ES_OK);
                    ck_assert_uint_ge(np, 1);
                    ck_assert_uint_le(np, rn);
                    ck_assert(np == rn || pos[np - 1] >= upto);
                    ck_assert(memcmp(pos, ref, np * sizeof *ref) == 0);
                }
                ck_assert_int_eq(esi_postings_positions(&c, &pos, &np), ES_OK);
                ck_assert_uint_eq(c.freq, rn);
                if (vocab_nopos(t)) {
                    ck_assert_uint_eq(np, 0);
                } else {
                    ck_assert_uint_eq(np, rn);
                    ck_assert(memcmp(pos, ref, rn * sizeof *ref) == 0);
                }
                got_pairs++;
            }
            ck_assert_int_eq(rc, ES_DONE);
            ck_assert_uint_eq(n, ti.df);
            esi_postings_close(&c);
        }
        ck_assert_uint_eq(got_pairs, want_pairs);
    }
    esi_doc_reader_free(dr);
    esi_snapshot_free(s);
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
}

static esi_ixw *open_writer(const char *dir, size_t ram)
{
    esi_ixw_opts o = { true, ram, false };
    esi_ixw *w;
    esi_err e;
    ck_assert_msg(esi_ixw_open(&w, dir, &o, &e) == ES_OK, "%s", e.msg);
    return w;
}

static void add(esi_ixw *w, model *m, int k)
{
    esi_err e;
    esi_doc_in in = doc_in(&m->docs[k]);
    ck_assert_msg(esi_ixw_add(w, &in, &e) == ES_OK, "%s", e.msg);
    m->live[k] = true;
}

static void del(esi_ixw *w, model *m, int k)
{
    esi_err e;
    ck_assert_int_eq(esi_ixw_delete(w, m->docs[k].id, strlen(m->docs[k].id), &e),
                     ES_OK);
    m->live[k] = false;
}

static void commit(esi_ixw *w)
{
    esi_err e;
    ck_assert_msg(esi_ixw_commit(w, &e) == ES_OK, "%s", e.msg);
}

/* Generate docs 0..n-1 of the model m from *st, add them through w and
 * commit. */
static void add_first(esi_ixw *w, model *m, int n, uint64_t *st)
{
    for (int k = 0; k < n; k++) {
        gen_doc(&m->docs[k], k, st);
        add(w, m, k);
    }
    commit(w);
}

/* Close w, remove its directory dir and free dir and the model m. */
static void model_done(esi_ixw *w, char *dir, model *m)
{
    esi_ixw_free(w);
    tu_rmrf(dir);
    free(dir);
    free(m);
}

/* ---- round trip --------------------------------------------------------- */

static void roundtrip(int variant)
{
    vocab_init();
    uint64_t st = tu_seed() + (uint64_t)variant * 7919;
    char *dir = tu_tmpdir();
    model *m = calloc(1, sizeof *m);
    size_t ram = variant % 2 ? 3000 : (size_t)64 << 20;   /* tiny: many flushes */
    esi_ixw *w = open_writer(dir, ram);
    verify(dir, m);
    for (int round = 0; round < 6; round++) {
        int nadd = 20 + (int)(tu_rand(&st) % 60);
        for (int i = 0; i < nadd; i++) {
            int k = (int)(tu_rand(&st) % MAXDOCS);
            gen_doc(&m->docs[k], k, &st);   /* replaces when k is live */
            add(w, m, k);
            if (tu_rand(&st) % 10 == 0)
                del(w, m, (int)(tu_rand(&st) % MAXDOCS));
        }
        commit(w);
        verify(dir, m);
        if (round == 3) {   /* reopen the writer */
            esi_ixw_free(w);
            w = open_writer(dir, ram);
        }
    }
    esi_err e;
    ck_assert_msg(esi_ixw_optimize(w, &e) == ES_OK, "%s", e.msg);
    verify(dir, m);
    esi_snapshot *s;
    ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_OK);
    ck_assert_uint_le(s->nsegs, 1);
    if (s->nsegs)
        ck_assert_ptr_null(s->deleted[0]);
    esi_snapshot_free(s);
    model_done(w, dir, m);
}

START_TEST(test_storage_roundtrip_property)
{
    roundtrip(_i);
}
END_TEST

/* Many tiny flushes and commits: the merge policy must keep the segment
 * count logarithmic and the contents intact. */
START_TEST(test_storage_merge_policy)
{
    vocab_init();
    uint64_t st = tu_seed();
    char *dir = tu_tmpdir();
    model *m = calloc(1, sizeof *m);
    esi_ixw *w = open_writer(dir, 1);   /* one segment per document */
    for (int k = 0; k < 250; k++) {
        gen_doc(&m->docs[k], k, &st);
        add(w, m, k);
        if (k % 5 == 4)
            commit(w);
    }
    commit(w);
    esi_snapshot *s;
    esi_err e;
    ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_OK);
    ck_assert_msg(s->nsegs < 30, "%zu segments", s->nsegs);
    esi_snapshot_free(s);
    verify(dir, m);
    model_done(w, dir, m);
}
END_TEST

/* ---- postings at block edges -------------------------------------------- */

START_TEST(test_storage_block_edges)
{
    /* beyond ESI_POST_SKIP_DF the term has a skip table */
    static const uint32_t dfs[] = { 1, 2, 127, 128, 129, 255, 256, 257, 300,
                                    ESI_POST_SKIP_DF + 1, 640, 1500 };
    uint32_t df = dfs[_i % 12];
    bool nopos = _i >= 12;   /* the second half: "x" without positions */
    uint64_t st = tu_seed() + df;
    char *dir = tu_tmpdir();
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    uint32_t ndocs = df * 3 + 5;
    uint32_t *refdocs = malloc(df * sizeof *refdocs);
    uint32_t nref = 0;
    for (uint32_t d = 0; d < ndocs; d++) {
        bool has = nref < df && (ndocs - d <= df - nref || tu_rand(&st) % 3 == 0);
        char id[16];
        snprintf(id, sizeof id, "e%u", d);
        esi_occ occ[3] = { { (const uint8_t *)"x", 1, nopos ? ESI_POS_NONE : d % 7 },
                           { (const uint8_t *)"x", 1,
                             nopos ? ESI_POS_NONE : d % 7 + 1 + d },
                           { (const uint8_t *)"y", 1, 0 } };
        esi_doc_in in = { id, strlen(id), "", 0, NULL, 0, has ? occ : occ + 2,
                          has ? (d % 2 ? 3 : 1) : 1, 1, 0 };
        esi_err e;
        ck_assert_int_eq(esi_ixw_add(w, &in, &e), ES_OK);
        if (has)
            refdocs[nref++] = d;
    }
    ck_assert_uint_eq(nref, df);
    commit(w);
    esi_snapshot *s;
    esi_err e;
    ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_OK);
    ck_assert_uint_eq(s->nsegs, 1);
    const esi_segment *g = s->segs[0];
    esi_term_info ti;
    ck_assert_int_eq(esi_segment_lookup(g, (const uint8_t *)"x", 1, &ti, &e), ES_OK);
    ck_assert_uint_eq(ti.df, df);
    ck_assert(ti.positions == !nopos);
    ck_assert_int_eq(esi_segment_lookup(g, (const uint8_t *)"z", 1, &ti, &e),
                     ES_ENOTFOUND);
    ck_assert_int_eq(esi_segment_lookup(g, (const uint8_t *)"x", 1, &ti, &e), ES_OK);
    esi_postings c;
    /* next() over everything, with positions */
    ck_assert_int_eq(esi_postings_open(&c, g, &ti, &e), ES_OK);
    for (uint32_t i = 0; i < df; i++) {
        ck_assert_int_eq(esi_postings_next(&c), ES_OK);
        ck_assert_uint_eq(c.doc, refdocs[i]);
        const uint32_t *pos;
        uint32_t np;
        ck_assert_int_eq(esi_postings_positions(&c, &pos, &np), ES_OK);
        uint32_t d = refdocs[i];
        ck_assert_uint_eq(c.freq, d % 2 ? 2 : 1);
        ck_assert_uint_eq(np, nopos ? 0 : c.freq);
        if (np >= 1)
            ck_assert_uint_eq(pos[0], d % 7);
        if (np == 2)
            ck_assert_uint_eq(pos[1], d % 7 + 1 + d);
    }
    ck_assert_int_eq(esi_postings_next(&c), ES_DONE);
    ck_assert_int_eq(esi_postings_next(&c), ES_DONE);
    esi_postings_close(&c);
    /* advance() from a fresh cursor to every target */
    for (uint32_t target = 0; target <= ndocs; target++) {
        ck_assert_int_eq(esi_postings_open(&c, g, &ti, &e), ES_OK);
        es_status rc = esi_postings_advance(&c, target);
        uint32_t i = 0;
        while (i < df && refdocs[i] < target)
            i++;
        if (i == df) {
            ck_assert_int_eq(rc, ES_DONE);
        } else {
            ck_assert_int_eq(rc, ES_OK);
            ck_assert_uint_eq(c.doc, refdocs[i]);
            const uint32_t *pos;
            uint32_t np;
            ck_assert_int_eq(esi_postings_positions(&c, &pos, &np), ES_OK);
            ck_assert_uint_eq(c.freq, refdocs[i] % 2 ? 2 : 1);
            if (!nopos)
                ck_assert_uint_eq(pos[0], refdocs[i] % 7);
            else
                ck_assert_uint_eq(np, 0);
        }
        esi_postings_close(&c);
    }
    /* chained advance/next mixes, positions sometimes skipped */
    for (int rep = 0; rep < 20; rep++) {
        ck_assert_int_eq(esi_postings_open(&c, g, &ti, &e), ES_OK);
        uint32_t target = 0, i = 0;
        for (;;) {
            es_status rc;
            if (tu_rand(&st) % 3 == 0) {
                rc = esi_postings_next(&c);
                if (rc == ES_OK) {
                    while (i < df && refdocs[i] < c.doc)
                        i++;
                    ck_assert_uint_eq(c.doc, refdocs[i]);
                }
            } else {
                target += (uint32_t)(tu_rand(&st) % 200);
                rc = esi_postings_advance(&c, target);
                while (i < df && refdocs[i] < target)
                    i++;
                if (rc == ES_OK) {
                    ck_assert_uint_lt(i, df);
                    ck_assert_uint_eq(c.doc, refdocs[i]);
                }
            }
            if (rc == ES_DONE)
                break;
            ck_assert_int_eq(rc, ES_OK);
            target = c.doc;
            if (tu_rand(&st) % 2) {
                const uint32_t *pos;
                uint32_t np;
                ck_assert_int_eq(esi_postings_positions(&c, &pos, &np), ES_OK);
                ck_assert_uint_eq(c.freq, c.doc % 2 ? 2 : 1);
                ck_assert_uint_eq(np, nopos ? 0 : c.freq);
                if (!nopos)
                    ck_assert_uint_eq(pos[0], c.doc % 7);
            }
        }
        esi_postings_close(&c);
    }
    esi_snapshot_free(s);
    esi_ixw_free(w);
    free(refdocs);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- terms without positions ------------------------------------------ */

/* Add a doc with the given occurrences; returns the status. */
static es_status add_occs(esi_ixw *w, const char *id, const esi_occ *occ,
                          size_t n)
{
    esi_doc_in in = { id, strlen(id), "t", 1, NULL, 0, occ, n, 1, 0 };
    esi_err e;
    return esi_ixw_add(w, &in, &e);
}

/* Mixing ESI_POS_NONE with real positions is refused without changing
 * anything; a new buffer may change a term's kind; merging a term stored
 * with positions in one segment and without in another keeps none. */
START_TEST(test_storage_positionless_mixing)
{
    char *dir = tu_tmpdir();
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    const uint8_t *m = (const uint8_t *)"m", *n = (const uint8_t *)"n";
    esi_occ a[2] = { { m, 1, 4 }, { m, 1, 9 } };
    ck_assert_int_eq(add_occs(w, "a", a, 2), ES_OK);
    esi_occ b[1] = { { m, 1, ESI_POS_NONE } };       /* against the buffer */
    ck_assert_int_eq(add_occs(w, "b", b, 1), ES_EINVAL);
    esi_occ c1[2] = { { n, 1, ESI_POS_NONE }, { n, 1, 3 } };   /* in one doc */
    ck_assert_int_eq(add_occs(w, "c", c1, 2), ES_EINVAL);
    esi_occ c2[2] = { { n, 1, 3 }, { n, 1, ESI_POS_NONE } };
    ck_assert_int_eq(add_occs(w, "c", c2, 2), ES_EINVAL);
    esi_occ c3[3] = { { n, 1, ESI_POS_NONE }, { m, 1, 0 }, { n, 1, ESI_POS_NONE } };
    ck_assert_int_eq(add_occs(w, "c", c3, 3), ES_OK);
    esi_occ c4[1] = { { n, 1, 0 } };
    ck_assert_int_eq(add_occs(w, "d", c4, 1), ES_EINVAL);
    commit(w);
    /* a new buffer: "m" without positions now, "n" with */
    esi_occ d[3] = { { m, 1, ESI_POS_NONE }, { m, 1, ESI_POS_NONE },
                     { m, 1, ESI_POS_NONE } };
    ck_assert_int_eq(add_occs(w, "d", d, 3), ES_OK);
    ck_assert_int_eq(add_occs(w, "e", c4, 1), ES_OK);
    commit(w);
    esi_err e;
    esi_snapshot *s;
    ck_assert_int_eq(esi_snapshot_open(&s, dir, true, &e), ES_OK);
    ck_assert_uint_eq(s->nsegs, 2);
    esi_term_info ti;
    ck_assert_int_eq(esi_segment_lookup(s->segs[0], m, 1, &ti, &e), ES_OK);
    ck_assert(ti.positions);
    ck_assert_uint_eq(ti.df, 2);
    ck_assert_uint_eq(ti.cf, 3);
    ck_assert_int_eq(esi_segment_lookup(s->segs[0], n, 1, &ti, &e), ES_OK);
    ck_assert(!ti.positions);
    ck_assert_uint_eq(ti.cf, 2);
    ck_assert_uint_eq(ti.max_tf, 2);
    ck_assert_int_eq(esi_segment_lookup(s->segs[1], m, 1, &ti, &e), ES_OK);
    ck_assert(!ti.positions);
    ck_assert_uint_eq(ti.max_tf, 3);
    esi_snapshot_free(s);
    ck_assert_msg(esi_ixw_optimize(w, &e) == ES_OK, "%s", e.msg);
    ck_assert_int_eq(esi_snapshot_open(&s, dir, true, &e), ES_OK);
    ck_assert_uint_eq(s->nsegs, 1);
    const esi_segment *g = s->segs[0];
    ck_assert_uint_eq(esi_segment_doc_count(g), 4);   /* a, c, d, e */
    static const struct { const char *t; bool pos; uint32_t df, cf, freqs[3]; }
        want[2] = { { "m", false, 3, 6, { 2, 1, 3 } },
                    { "n", false, 2, 3, { 2, 1, 0 } } };
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(esi_segment_lookup(g, (const uint8_t *)want[k].t, 1,
                                            &ti, &e), ES_OK);
        ck_assert(ti.positions == want[k].pos);
        ck_assert_uint_eq(ti.df, want[k].df);
        ck_assert_uint_eq(ti.cf, want[k].cf);
        esi_postings c;
        ck_assert_int_eq(esi_postings_open(&c, g, &ti, &e), ES_OK);
        for (uint32_t i = 0; i < want[k].df; i++) {
            ck_assert_int_eq(esi_postings_next(&c), ES_OK);
            ck_assert_uint_eq(c.freq, want[k].freqs[i]);
            const uint32_t *pos;
            uint32_t np = 99;
            ck_assert_int_eq(esi_postings_positions(&c, &pos, &np), ES_OK);
            ck_assert_uint_eq(np, 0);
        }
        ck_assert_int_eq(esi_postings_next(&c), ES_DONE);
        esi_postings_close(&c);
    }
    esi_snapshot_free(s);
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
    esi_ixw_free(w);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- replace and delete ------------------------------------------------- */

START_TEST(test_storage_replace_delete)
{
    vocab_init();
    uint64_t st = tu_seed();
    char *dir = tu_tmpdir();
    model *m = calloc(1, sizeof *m);
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    add_first(w, m, 10, &st);
    gen_doc(&m->docs[3], 3, &st);   /* replace a committed doc */
    add(w, m, 3);
    gen_doc(&m->docs[3], 3, &st);   /* and the buffered replacement */
    add(w, m, 3);
    del(w, m, 5);                   /* delete committed */
    gen_doc(&m->docs[20], 20, &st);
    add(w, m, 20);
    del(w, m, 20);                  /* delete buffered */
    gen_doc(&m->docs[21], 21, &st);
    add(w, m, 21);
    del(w, m, 21);
    gen_doc(&m->docs[21], 21, &st);
    add(w, m, 21);                  /* re-add after delete */
    del(w, m, 99);                  /* missing id: fine */
    {   /* refused docs change nothing and leave the writer usable */
        esi_occ bad[2] = { { (const uint8_t *)"zz", 2, 5 },
                           { (const uint8_t *)"zz", 2, 4 } };
        esi_doc_in in = { m->docs[0].id, strlen(m->docs[0].id), "", 0, NULL, 0,
                          bad, 2, 1, 0 };
        esi_err e;
        ck_assert_int_eq(esi_ixw_add(w, &in, &e), ES_EINVAL);
        ck_assert(strstr(e.msg, "non-decreasing") != NULL);
        in.id_len = 0;
        ck_assert_int_eq(esi_ixw_add(w, &in, &e), ES_EINVAL);
        static uint8_t longterm[ESI_MAX_TERM + 1];
        memset(longterm, 'a', sizeof longterm);
        esi_occ lo = { longterm, sizeof longterm, 0 };
        in.id_len = strlen(m->docs[0].id);
        in.occs = &lo;
        in.nocc = 1;
        ck_assert_int_eq(esi_ixw_add(w, &in, &e), ES_ELIMIT);
    }
    commit(w);
    verify(dir, m);
    esi_snapshot *s;
    esi_err e;
    ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_OK);
    ck_assert_uint_eq(s->live_docs, 10);
    esi_storage_stats stt;
    ck_assert_int_eq(esi_snapshot_stats(s, &stt, &e), ES_OK);
    ck_assert_uint_gt(stt.deleted, 0);
    ck_assert_uint_gt(stt.bytes_store, 0);
    ck_assert_uint_gt(stt.bytes_postings, 0);
    esi_snapshot_free(s);
    /* optimize purges every deleted doc */
    ck_assert_int_eq(esi_ixw_optimize(w, &e), ES_OK);
    ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_OK);
    ck_assert_uint_eq(s->nsegs, 1);
    ck_assert_uint_eq(esi_segment_doc_count(s->segs[0]), 10);
    ck_assert_ptr_null(s->deleted[0]);
    esi_snapshot_free(s);
    verify(dir, m);
    model_done(w, dir, m);
}
END_TEST

/* Every stored document of s (deleted ones too) has the text of its model
 * document in m (found by its id). */
static void same_texts(const esi_snapshot *s, const model *m)
{
    esi_doc_reader *dr;
    esi_err e;
    ck_assert_int_eq(esi_doc_reader_new(&dr, &e), ES_OK);
    for (size_t i = 0; i < s->nsegs; i++)
        for (uint32_t d = 0; d < esi_segment_doc_count(s->segs[i]); d++) {
            esi_stored_doc sd;
            ck_assert_int_eq(esi_doc_read(dr, s->segs[i], d, &sd, &e), ES_OK);
            int k = id_number(sd.id, sd.id_len);
            ck_assert_uint_eq(sd.text_len, m->docs[k].text_len);
            ck_assert(!memcmp(sd.text, m->docs[k].text, sd.text_len));
        }
    esi_doc_reader_free(dr);
}

/* ---- generations and locking -------------------------------------------- */

START_TEST(test_storage_snapshot_isolation)
{
    vocab_init();
    uint64_t st = tu_seed();
    char *dir = tu_tmpdir();
    model *m = calloc(1, sizeof *m);
    model *old = calloc(1, sizeof *old);
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    add_first(w, m, 30, &st);
    *old = *m;
    esi_snapshot *s;
    esi_err e;
    ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_OK);
    uint64_t g = s->generation;
    /* rewrite everything in several commits, then optimize: every file of
     * the old generation gets unlinked while s still maps it */
    for (int r = 0; r < 3; r++)
        add_first(w, m, 30, &st);
    ck_assert_int_eq(esi_ixw_optimize(w, &e), ES_OK);
    ck_assert_uint_eq(s->generation, g);
    ck_assert_uint_eq(s->live_docs, 30);
    same_texts(s, old);
    esi_snapshot_free(s);
    verify(dir, m);
    /* only the newest two manifests remain */
    int nman = 0;
    for (uint64_t x = 1; x < g + 10; x++) {
        char p[512];
        snprintf(p, sizeof p, "%s/MANIFEST-%llu", dir, (unsigned long long)x);
        nman += tu_exists(p);
    }
    ck_assert_int_le(nman, 2);
    model_done(w, dir, m);
    free(old);
}
END_TEST

START_TEST(test_storage_writer_lock)
{
    char *dir = tu_tmpdir();
    esi_ixw *w = open_writer(dir, 0), *w2;
    esi_ixw_opts o = { true, 0, false };
    esi_err e;
    ck_assert_int_eq(esi_ixw_open(&w2, dir, &o, &e), ES_ELOCKED);
    ck_assert_ptr_null(w2);
    ck_assert(strstr(e.msg, "LOCK") != NULL);
    esi_ixw_free(w);
    ck_assert_int_eq(esi_ixw_open(&w2, dir, &o, &e), ES_OK);
    esi_ixw_free(w2);
    /* no index, no create */
    char sub[512];
    snprintf(sub, sizeof sub, "%s/none", dir);
    o.create = false;
    ck_assert_int_eq(esi_ixw_open(&w2, sub, &o, &e), ES_ENOTFOUND);
    esi_snapshot *s;
    ck_assert_int_eq(esi_snapshot_open(&s, sub, false, &e), ES_ENOTFOUND);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- corruption --------------------------------------------------------- */

typedef struct flist {
    char names[64][64];
    int n;
} flist;

static int list_cb(const char *name, void *p)
{
    flist *f = p;
    if (strcmp(name, "LOCK") != 0 && f->n < 64)
        snprintf(f->names[f->n++], 64, "%s", name);
    return 0;
}

/* A small index in a fresh temporary directory, which it returns: two
 * segments, deletions, a field term; *fl gets the names of its files. */
static char *small_index(flist *fl)
{
    char *dir = tu_tmpdir();
    model *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    vocab_init();
    uint64_t st = 12345;
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    for (int k = 0; k < 9; k++) {
        if (k == 6)
            commit(w);   /* docs 0..5 in the first segment */
        gen_doc(&m->docs[k], k, &st);
        m->docs[k].nocc = m->docs[k].nocc % 12;
        add(w, m, k);
    }
    del(w, m, 2);
    commit(w);
    esi_ixw_free(w);
    free(m);
    fl->n = 0;
    esi_err e;
    ck_assert_int_eq(esi_io_list_dir(dir, list_cb, fl, &e), ES_OK);
    return dir;
}

/* Open the snapshot and read everything; must not crash, any status. */
static void read_all(const char *dir)
{
    esi_snapshot *s;
    esi_err e;
    if (esi_snapshot_open(&s, dir, false, &e) != ES_OK)
        return;
    esi_doc_reader *dr;
    ck_assert_int_eq(esi_doc_reader_new(&dr, &e), ES_OK);
    for (size_t i = 0; i < s->nsegs; i++) {
        const esi_segment *g = s->segs[i];
        for (uint32_t d = 0; d < esi_segment_doc_count(g); d++) {
            esi_stored_doc sd;
            (void)esi_doc_read(dr, g, d, &sd, &e);
            (void)esi_segment_doclen(g, d);
        }
        for (int t = 0; t < VOCAB; t++) {
            esi_term_info ti;
            if (esi_segment_lookup(g, (const uint8_t *)vocab[t], strlen(vocab[t]),
                                   &ti, &e) != ES_OK)
                continue;
            esi_postings c;
            if (esi_postings_open(&c, g, &ti, &e) == ES_OK) {
                while (esi_postings_next(&c) == ES_OK) {
                    ck_assert_uint_lt(c.doc, esi_segment_doc_count(g));
                    (void)esi_snapshot_is_deleted(s, i, c.doc);
                    const uint32_t *pos;
                    uint32_t np;
                    (void)esi_postings_positions(&c, &pos, &np);
                }
                esi_postings_close(&c);
            }
            if (esi_postings_open(&c, g, &ti, &e) == ES_OK) {
                while (esi_postings_advance(&c, c.doc == UINT32_MAX ? 1 : c.doc + 2) == ES_OK)
                    ck_assert_uint_lt(c.doc, esi_segment_doc_count(g));
                esi_postings_close(&c);
            }
        }
        esi_dict_iter it;
        esi_dict_iter_init(&it, g);
        while (esi_dict_iter_next(&it, &e) == ES_OK)
            ;
        esi_dict_iter_free(&it);
    }
    esi_doc_reader_free(dr);
    esi_snapshot_free(s);
}

static void write_bytes(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* The bytes of dir/name (tu_read_file: free them); path[512] gets the
 * file's path. */
static char *read_listed(const char *dir, const char *name, char *path, size_t *len)
{
    snprintf(path, 512, "%s/%s", dir, name);
    char *img = tu_read_file(path, len);
    ck_assert_ptr_nonnull(img);
    return img;
}

START_TEST(test_storage_byte_flips_detected)
{
    flist fl;
    char *dir = small_index(&fl);
    esi_err e;
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
    ck_assert_int_ge(fl.n, 8);   /* 2 manifests? at least 1 + 6 seg files + del */
    size_t total = 0;
    for (int f = 0; f < fl.n; f++) {
        char path[512];
        size_t len;
        char *orig = read_listed(dir, fl.names[f], path, &len);
        uint64_t newest;
        ck_assert_int_eq(esi_manifest_newest(dir, &newest, &e), ES_OK);
        char nm[64];
        snprintf(nm, sizeof nm, "MANIFEST-%llu", (unsigned long long)newest);
        /* older manifests are not part of the newest commit */
        bool old_manifest = strncmp(fl.names[f], "MANIFEST-", 9) == 0 &&
                            strcmp(fl.names[f], nm) != 0;
        for (size_t i = 0; i < len; i++) {
            for (int bit = (int)(i % 8), once = 0; !once; once = 1) {
                orig[i] ^= (char)(1 << bit);
                write_bytes(path, orig, len);
                es_status rc = esi_storage_check(dir, &e);
                if (!old_manifest) {
                    ck_assert_msg(rc < 0, "flip of byte %zu bit %d of %s not "
                                  "detected", i, bit, fl.names[f]);
                    ck_assert_msg(strstr(e.msg, fl.names[f]) ||
                                  strstr(e.msg, "seg_") || strstr(e.msg, "MANIFEST"),
                                  "message names no file: %s", e.msg);
                }
                read_all(dir);
                orig[i] ^= (char)(1 << bit);
                total++;
            }
        }
        write_bytes(path, orig, len);
        free(orig);
    }
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
    printf("byte flips checked: %zu over %d files\n", total, fl.n);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Flips with the crc32 fixed up, so that only the structural checks of the
 * decoders stand between damaged data and the reader: whatever the result,
 * reads must not crash or read out of bounds (ASan proves the latter), and
 * postings must never yield a docno past the segment. */
START_TEST(test_storage_structural_corruption)
{
    flist fl;
    char *dir = small_index(&fl);
    esi_err e;
    uint64_t st = tu_seed();
    size_t total = 0, caught = 0;
    for (int f = 0; f < fl.n; f++) {
        char path[512];
        size_t len;
        char *orig = read_listed(dir, fl.names[f], path, &len);
        char *buf = malloc(len);
        for (size_t i = ES_FILE_HEADER_LEN; i + ES_FILE_FOOTER_LEN < len; i++) {
            memcpy(buf, orig, len);
            buf[i] ^= (char)(1u << (tu_rand(&st) % 8));
            if (tu_rand(&st) % 4 == 0)   /* sometimes a wilder value */
                buf[i] = (char)tu_rand(&st);
            uint32_t crc = esi_crc32(0, buf, len - 8);
            esi_le32_write((uint8_t *)buf + len - 8, crc);
            write_bytes(path, buf, len);
            read_all(dir);
            caught += esi_storage_check(dir, &e) < 0;
            total++;
        }
        write_bytes(path, orig, len);
        free(buf);
        free(orig);
    }
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
    printf("crc-fixed corruptions: %zu, caught by structure checks: %zu\n",
           total, caught);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_storage_truncation_detected)
{
    flist fl;
    char *dir = small_index(&fl);
    esi_err e;
    for (int f = 0; f < fl.n; f++) {
        uint64_t newest;
        ck_assert_int_eq(esi_manifest_newest(dir, &newest, &e), ES_OK);
        char nm[64];
        snprintf(nm, sizeof nm, "MANIFEST-%llu", (unsigned long long)newest);
        if (strncmp(fl.names[f], "MANIFEST-", 9) == 0 && strcmp(fl.names[f], nm))
            continue;   /* not the newest: unused */
        char path[512];
        size_t len;
        char *orig = read_listed(dir, fl.names[f], path, &len);
        uint64_t st = 4242 + (uint64_t)f;
        for (size_t n = 0; n < len; n++) {
            /* every length of small files; of larger ones the first and
             * last 24 and a random sample in between */
            if (len > 128 && n >= 24 && n + 24 < len && tu_rand(&st) % (len / 32))
                continue;
            write_bytes(path, orig, n);
            ck_assert_msg(esi_storage_check(dir, &e) < 0, "truncation of %s to "
                          "%zu bytes not detected", fl.names[f], n);
            esi_snapshot *s;
            ck_assert_msg(esi_snapshot_open(&s, dir, false, &e) < 0,
                          "truncated %s (%zu) opens", fl.names[f], n);
        }
        write_bytes(path, orig, len);
        free(orig);
    }
    /* a missing file of the newest commit is ES_ECORRUPT naming it */
    for (int f = 0; f < fl.n; f++) {
        if (strncmp(fl.names[f], "seg_", 4) != 0)
            continue;
        char path[512], moved[520];
        snprintf(path, sizeof path, "%s/%s", dir, fl.names[f]);
        snprintf(moved, sizeof moved, "%s.away", path);
        ck_assert_int_eq(rename(path, moved), 0);
        esi_snapshot *s;
        ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_ECORRUPT);
        ck_assert_msg(strstr(e.msg, fl.names[f]) != NULL, "%s", e.msg);
        ck_assert_int_eq(rename(moved, path), 0);
    }
    /* a leftover temporary manifest is ignored */
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/MANIFEST-99.tmp", dir);
    write_bytes(tmp, "garbage", 7);
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
    /* a damaged newest manifest is an error naming it, no fall back */
    snprintf(tmp, sizeof tmp, "%s/MANIFEST-99", dir);
    write_bytes(tmp, "garbage", 7);
    esi_snapshot *s;
    ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_ECORRUPT);
    ck_assert(strstr(e.msg, "MANIFEST-99") != NULL);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- faults ------------------------------------------------------------- */

/* Docs of the newest commit of dir, as a bitmap over id numbers. */
static void live_ids(const char *dir, bool *out, uint64_t *gen)
{
    memset(out, 0, MAXDOCS * sizeof *out);
    esi_snapshot *s;
    esi_err e;
    ck_assert_msg(esi_snapshot_open(&s, dir, true, &e) == ES_OK, "%s", e.msg);
    esi_doc_reader *dr;
    ck_assert_int_eq(esi_doc_reader_new(&dr, &e), ES_OK);
    for (size_t i = 0; i < s->nsegs; i++)
        for (uint32_t d = 0; d < esi_segment_doc_count(s->segs[i]); d++) {
            if (esi_snapshot_is_deleted(s, i, d))
                continue;
            esi_stored_doc sd;
            ck_assert_int_eq(esi_doc_read(dr, s->segs[i], d, &sd, &e), ES_OK);
            out[id_number(sd.id, sd.id_len)] = true;
        }
    *gen = s->generation;
    esi_doc_reader_free(dr);
    esi_snapshot_free(s);
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
}

START_TEST(test_storage_io_faults_in_commit)
{
    vocab_init();
    model *m = calloc(1, sizeof *m);
    bool got[MAXDOCS];
    size_t n;
    for (n = 1; n < 500; n++) {
        char *dir = tu_tmpdir();
        uint64_t st = 99;
        memset(m, 0, sizeof *m);
        esi_ixw_opts o = { true, 0, true };
        esi_ixw *w;
        esi_err e;
        ck_assert_int_eq(esi_ixw_open(&w, dir, &o, &e), ES_OK);
        for (int k = 0; k < 12; k++) {
            gen_doc(&m->docs[k], k, &st);
            add(w, m, k);
        }
        commit(w);
        model before = *m;
        for (int k = 8; k < 20; k++) {
            gen_doc(&m->docs[k], k, &st);
            add(w, m, k);
        }
        del(w, m, 1);
        esi_io_fail_at(n, ENOSPC);
        es_status rc = esi_ixw_optimize(w, &e);
        size_t ran = esi_io_fail_at(0, 0);
        esi_ixw_free(w);
        uint64_t gen;
        live_ids(dir, got, &gen);
        (void)ran;
        if (rc == ES_OK) {
            /* (failures after the manifest, in the clean-up, are ignored) */
            ck_assert(!memcmp(got, m->live, sizeof got));
            tu_rmrf(dir);
            free(dir);
            break;
        }
        ck_assert_msg(rc == ES_EIO, "rc %d: %s", rc, e.msg);
        ck_assert(strstr(e.msg, "No space") != NULL);
        /* the previous generation, or (only if the final directory fsync
         * failed after the rename) the new one: never anything else */
        if (gen == 2)
            ck_assert(!memcmp(got, before.live, sizeof got));
        else
            ck_assert(!memcmp(got, m->live, sizeof got));
        /* and a new writer can commit on top */
        w = open_writer(dir, 0);
        commit(w);
        esi_ixw_free(w);
        tu_rmrf(dir);
        free(dir);
    }
    ck_assert_uint_gt(n, 5);
    ck_assert_uint_lt(n, 500);
    free(m);
}
END_TEST

START_TEST(test_storage_alloc_failures)
{
    vocab_init();
    model *m = calloc(1, sizeof *m);
    size_t n;
    for (n = 1; n < 5000; n++) {
        char *dir = tu_tmpdir();
        uint64_t st = 5;
        esi_err e;
        esi_ixw_opts o = { true, 2000, false };
        esi_ixw *w = NULL;
        esi_alloc_fail_at(n);
        es_status rc = esi_ixw_open(&w, dir, &o, &e);
        for (int k = 0; k < 6 && rc == ES_OK; k++) {
            gen_doc(&m->docs[k], k, &st);
            esi_doc_in in = doc_in(&m->docs[k]);
            rc = esi_ixw_add(w, &in, &e);
            if (rc == ES_OK && k == 3)
                rc = esi_ixw_commit(w, &e);
        }
        if (rc == ES_OK)
            rc = esi_ixw_delete(w, "doc-1", 5, &e);
        if (rc == ES_OK)
            rc = esi_ixw_optimize(w, &e);
        esi_alloc_fail_at(0);
        esi_ixw_free(w);
        ck_assert_msg(rc == ES_OK || rc == ES_ENOMEM, "n=%zu rc=%d %s", n, rc, e.msg);
        if (rc == ES_OK) {
            tu_rmrf(dir);
            free(dir);
            break;
        }
        /* whatever was committed opens and checks */
        esi_snapshot *s;
        if (esi_snapshot_open(&s, dir, false, &e) == ES_OK) {
            esi_snapshot_free(s);
            ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
        }
        tu_rmrf(dir);
        free(dir);
    }
    ck_assert_uint_gt(n, 10);
    ck_assert_uint_lt(n, 5000);
    free(m);
}
END_TEST

/* ---- killed writer ------------------------------------------------------ */

/* Child: add docs k, k+1, k+2 and commit, forever; says "ready" on fd
 * once it holds the lock. (No fsync: SIGKILL keeps the page cache, so fsync
 * changes nothing here and only slows the loop.) */
static void writer_child(const char *dir, int fd)
{
    esi_ixw_opts o = { true, 4096, false };
    esi_ixw *w;
    esi_err e;
    if (esi_ixw_open(&w, dir, &o, &e) != ES_OK)
        _exit(3);
    esi_snapshot *s;
    if (esi_snapshot_open(&s, dir, false, &e) != ES_OK)
        _exit(4);
    uint64_t k = s->live_docs;
    esi_snapshot_free(s);
    if (write(fd, "r", 1) != 1)
        _exit(7);
    uint64_t st = 77 + k;
    tdoc d;
    for (;;) {
        for (int j = 0; j < 3; j++, k++) {
            gen_doc(&d, (int)(k % 100000), &st);
            snprintf(d.id, sizeof d.id, "doc-%llu", (unsigned long long)k);
            esi_doc_in in = doc_in(&d);
            if (esi_ixw_add(w, &in, &e) != ES_OK)
                _exit(5);
        }
        if (esi_ixw_commit(w, &e) != ES_OK)
            _exit(6);
    }
}

/* Fork a writer_child on dir and return its pid once it holds the lock. */
static pid_t start_writer(const char *dir)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(pfd[0]);
        writer_child(dir, pfd[1]);
    }
    close(pfd[1]);
    char ready;
    ck_assert_int_eq(read(pfd[0], &ready, 1), 1);
    close(pfd[0]);
    return pid;
}

START_TEST(test_storage_sigkill_loop)
{
    vocab_init();
    uint64_t st = tu_seed();
    char *dir = tu_tmpdir();
    esi_ixw *w0 = open_writer(dir, 0);
    esi_ixw_free(w0);
    uint64_t last = 0;
    for (int round = 0; round < 25; round++) {
        pid_t pid = start_writer(dir);
        struct timespec ts = { 0, (long)(tu_rand(&st) % 80) * 1000000L +
                                  (long)(tu_rand(&st) % 1000) * 1000L };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        ck_assert_msg(WIFSIGNALED(status), "writer exited %d", WEXITSTATUS(status));
        /* exactly docs 0..3m-1 for some m, and never fewer than before */
        esi_snapshot *s;
        esi_err e;
        ck_assert_msg(esi_snapshot_open(&s, dir, true, &e) == ES_OK, "%s", e.msg);
        uint64_t live = s->live_docs;
        ck_assert_uint_eq(live % 3, 0);
        ck_assert_uint_ge(live, last);
        last = live;
        esi_doc_reader *dr;
        ck_assert_int_eq(esi_doc_reader_new(&dr, &e), ES_OK);
        uint8_t *seen = calloc(live + 1, 1);
        for (size_t i = 0; i < s->nsegs; i++)
            for (uint32_t d = 0; d < esi_segment_doc_count(s->segs[i]); d++) {
                esi_stored_doc sd;
                ck_assert_int_eq(esi_doc_read(dr, s->segs[i], d, &sd, &e), ES_OK);
                char buf[32];
                snprintf(buf, sizeof buf, "%.*s", (int)sd.id_len, sd.id);
                unsigned long long k = strtoull(buf + 4, NULL, 10);
                ck_assert_uint_lt(k, live);
                ck_assert(!seen[k]);
                seen[k] = 1;
            }
        free(seen);
        esi_doc_reader_free(dr);
        esi_snapshot_free(s);
        ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
    }
    printf("sigkill loop: %llu docs committed over 25 kills\n",
           (unsigned long long)last);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Readers in one process while a writer in another commits (and merges,
 * and removes old files): every open succeeds and sees whole commits. */
START_TEST(test_storage_concurrent_reader)
{
    vocab_init();
    char *dir = tu_tmpdir();
    esi_ixw *w0 = open_writer(dir, 0);
    esi_ixw_free(w0);
    pid_t pid = start_writer(dir);
    uint64_t last = 0, gens = 0, prev_gen = 0;
    esi_doc_reader *dr;
    esi_err e;
    ck_assert_int_eq(esi_doc_reader_new(&dr, &e), ES_OK);
    /* 300 opens, and more until the writer committed twice (a loaded
     * machine may not schedule it during the first 300) */
    time_t t0 = time(NULL);
    int opens = 0;
    for (; opens < 300 || (gens <= 2 && time(NULL) - t0 < 30); opens++) {
        esi_snapshot *s;
        ck_assert_msg(esi_snapshot_open(&s, dir, false, &e) == ES_OK, "%s", e.msg);
        ck_assert_uint_eq(s->live_docs % 3, 0);
        ck_assert_uint_ge(s->live_docs, last);
        last = s->live_docs;
        gens += s->generation != prev_gen;
        prev_gen = s->generation;
        uint64_t n = 0;
        for (size_t k = 0; k < s->nsegs; k++)
            for (uint32_t d = 0; d < esi_segment_doc_count(s->segs[k]); d++) {
                esi_stored_doc sd;
                ck_assert_msg(esi_doc_read(dr, s->segs[k], d, &sd, &e) == ES_OK,
                              "%s", e.msg);
                n++;
            }
        ck_assert_uint_eq(n, s->live_docs);
        esi_snapshot_free(s);
    }
    esi_doc_reader_free(dr);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    printf("concurrent reader: %d opens saw %llu generations, %llu docs\n",
           opens, (unsigned long long)gens, (unsigned long long)last);
    ck_assert_uint_gt(gens, 1);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* ---- grouped documents (esi_grp, esi_ixw_add_grouped) ------------------- */

/* Bytes of every file (but LOCK) of dir a equal those of dir b. */
static void same_files(const char *a, const char *b)
{
    flist fa = { .n = 0 }, fb = { .n = 0 };
    esi_err e;
    ck_assert_int_eq(esi_io_list_dir(a, list_cb, &fa, &e), ES_OK);
    ck_assert_int_eq(esi_io_list_dir(b, list_cb, &fb, &e), ES_OK);
    ck_assert_int_eq(fa.n, fb.n);
    for (int i = 0; i < fa.n; i++) {
        char pa[512], pb[512];
        snprintf(pa, sizeof pa, "%s/%s", a, fa.names[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, fa.names[i]);
        size_t la, lb;
        char *da = tu_read_file(pa, &la), *db = tu_read_file(pb, &lb);
        ck_assert_msg(da && db, "%s missing in one of the indexes", fa.names[i]);
        ck_assert_msg(la == lb && memcmp(da, db, la) == 0, "%s differs",
                      fa.names[i]);
        free(da);
        free(db);
    }
}

/* Group d's occurrences term by term (not in occurrence order) into g. */
static void group_by_term(esi_grp *g, const tdoc *d)
{
    esi_err e;
    esi_grp_reset(g);
    for (int t = 0; t < VOCAB; t++)
        for (size_t i = 0; i < d->nocc; i++)
            if (d->occ[i].term == (const uint8_t *)vocab[t])
                ck_assert_msg(esi_grp_add(g, d->occ[i].term, d->occ[i].term_len,
                                          d->occ[i].pos, &e) == ES_OK, "%s", e.msg);
}

/* esi_ixw_add_grouped with terms grouped in another order writes the same
 * files as esi_ixw_add; refused occurrences leave a group unchanged; long
 * position lists (own allocations) and a reset after a big document. */
START_TEST(test_storage_grouped_add)
{
    vocab_init();
    uint64_t st = tu_seed();
    char *da = tu_tmpdir(), *db = tu_tmpdir();
    model *m = calloc(1, sizeof *m);
    esi_ixw *wa = open_writer(da, 5000), *wb = open_writer(db, 5000);
    esi_grp *g;
    esi_err e;
    ck_assert_int_eq(esi_grp_new(&g, &e), ES_OK);
    for (int k = 0; k < 150; k++) {
        int id = (int)(tu_rand(&st) % 60);
        gen_doc(&m->docs[id], id, &st);
        if (k == 70) {   /* one long list: 3000 positions of term 1 */
            tdoc *d = &m->docs[id];
            d->nocc = MAXOCC;
            for (size_t i = 0; i < MAXOCC; i++)
                d->occ[i] = (esi_occ){ (const uint8_t *)vocab[1],
                                       (uint32_t)strlen(vocab[1]),
                                       (uint32_t)(i * 1000) };
        }
        add(wa, m, id);
        group_by_term(g, &m->docs[id]);
        ck_assert_uint_le(esi_grp_terms(g), VOCAB);
        esi_doc_in in = doc_in(&m->docs[id]);
        ck_assert_msg(esi_ixw_add_grouped(wb, &in, g, &e) == ES_OK, "%s", e.msg);
        if (k % 40 == 39) {
            del(wa, m, k % 60);
            ck_assert_int_eq(esi_ixw_delete(wb, m->docs[k % 60].id,
                                            strlen(m->docs[k % 60].id), &e), ES_OK);
            commit(wa);
            commit(wb);
        }
    }
    commit(wa);
    commit(wb);
    verify(db, m);
    same_files(da, db);
    /* refusals leave the group as it was */
    esi_grp_reset(g);
    const uint8_t *t = (const uint8_t *)"x";
    ck_assert_int_eq(esi_grp_add(g, t, 1, 5, &e), ES_OK);
    ck_assert_int_eq(esi_grp_add(g, t, 1, 4, &e), ES_EINVAL);
    ck_assert(strstr(e.msg, "non-decreasing") != NULL);
    ck_assert_int_eq(esi_grp_add(g, t, 1, ESI_POS_NONE, &e), ES_EINVAL);
    ck_assert_int_eq(esi_grp_add(g, t, 0, 1, &e), ES_ELIMIT);
    static uint8_t longterm[ESI_MAX_TERM + 1];
    memset(longterm, 'a', sizeof longterm);
    ck_assert_int_eq(esi_grp_add(g, longterm, sizeof longterm, 1, &e), ES_ELIMIT);
    ck_assert_uint_eq(esi_grp_terms(g), 1);
    /* a big document, then reset: most of its memory is released */
    for (uint32_t p = 0; p < 2000000; p++) {
        char key[8];
        int n = snprintf(key, sizeof key, "k%u", p % 50000);
        ck_assert_int_eq(esi_grp_add(g, (const uint8_t *)key, (size_t)n, p, &e), ES_OK);
    }
    ck_assert_uint_eq(esi_grp_terms(g), 50001);
    ck_assert_uint_gt(esi_grp_bytes(g), (size_t)2 << 20);
    esi_grp_reset(g);
    ck_assert_uint_eq(esi_grp_terms(g), 0);
    ck_assert_uint_le(esi_grp_bytes(g), (size_t)2 << 20);
    esi_grp_free(g);
    esi_ixw_free(wa);
    esi_ixw_free(wb);
    tu_rmrf(da);
    tu_rmrf(db);
    free(da);
    free(db);
    free(m);
}
END_TEST

/* ---- the block cache ----------------------------------------------------- */

/* Documents of the cache tests: bodies of 0..24,000 bytes so that segments
 * have many store blocks of different sizes. */
#define CDOCS 160

typedef struct cdoc {
    char id[16];
    char *text;
    size_t text_len;
    char fv[24];
    esi_field f;
    esi_occ occ;
} cdoc;

/* A fresh temporary directory holding docs[0..CDOCS), made from seed and
 * written as `nseg` committed segments; *out gets the documents. Free both
 * with cache_done(). */
static char *cache_index(cdoc **out, uint64_t seed, int nseg)
{
    char *dir = tu_tmpdir();
    cdoc *docs = calloc(CDOCS, sizeof *docs);
    ck_assert_ptr_nonnull(docs);
    vocab_init();
    uint64_t st = seed;
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    for (int k = 0; k < CDOCS; k++) {
        cdoc *d = &docs[k];
        snprintf(d->id, sizeof d->id, "c-%d", k);
        d->text_len = tu_rand(&st) % 4 ? tu_rand(&st) % 3000 : tu_rand(&st) % 24000;
        d->text = malloc(d->text_len + 1);
        for (size_t i = 0; i < d->text_len; i++)
            d->text[i] = (char)('a' + (tu_rand(&st) % (1 + k % 26)));
        snprintf(d->fv, sizeof d->fv, "t%llu", (unsigned long long)tu_rand(&st));
        d->f = (esi_field){ "title", 5, d->fv, strlen(d->fv) };
        d->occ = (esi_occ){ (const uint8_t *)vocab[k % VOCAB],
                            (uint32_t)strlen(vocab[k % VOCAB]),
                            vocab_nopos(k % VOCAB) ? ESI_POS_NONE : 0 };
        esi_doc_in in = { d->id, strlen(d->id), d->text, d->text_len, &d->f, 1,
                          &d->occ, 1, 1, 0 };
        esi_err e;
        ck_assert_msg(esi_ixw_add(w, &in, &e) == ES_OK, "%s", e.msg);
        if ((k + 1) % (CDOCS / nseg) == 0)
            commit(w);
    }
    commit(w);
    esi_ixw_free(w);
    *out = docs;
    return dir;
}

/* Remove what cache_index() made: the directory and the documents. */
static void cache_done(char *dir, cdoc *docs)
{
    for (int k = 0; k < CDOCS; k++)
        free(docs[k].text);
    free(docs);
    tu_rmrf(dir);
    free(dir);
}

/* The newest commit of dir, which must open (verify: check every crc32). */
static esi_snapshot *snap_open(const char *dir, bool verify)
{
    esi_snapshot *s;
    esi_err e;
    ck_assert_msg(esi_snapshot_open(&s, dir, verify, &e) == ES_OK, "%s", e.msg);
    return s;
}

/* The doc `id` says it is (docs[k] for id "c-k"). */
static const cdoc *cdoc_of(const cdoc *docs, const esi_stored_doc *sd)
{
    char buf[16];
    ck_assert_uint_lt(sd->id_len, sizeof buf);
    memcpy(buf, sd->id, sd->id_len);
    buf[sd->id_len] = 0;
    int k = atoi(buf + 2);
    ck_assert(k >= 0 && k < CDOCS);
    return &docs[k];
}

/* sd equals the document it names, to the byte. */
static void check_cdoc(const cdoc *docs, const esi_stored_doc *sd)
{
    const cdoc *d = cdoc_of(docs, sd);
    ck_assert_uint_eq(sd->text_len, d->text_len);
    ck_assert(d->text_len == 0 || memcmp(sd->text, d->text, d->text_len) == 0);
    ck_assert_int_eq(sd->text[sd->text_len], 0);
    ck_assert_uint_eq(sd->nfields, 1);
    ck_assert_str_eq(sd->fields[0].value, d->fv);
}

/* Stores have several blocks, and the stats never pass the budget. */
static void check_budget(esi_blockcache *c)
{
    esi_blockcache_stats st;
    esi_blockcache_stats_get(c, &st);
    ck_assert_uint_le(st.bytes, st.budget);
    ck_assert_uint_le(st.peak_bytes, st.budget);
}

/* Random fetch sequences through a shared cache (several readers, so
 * several pins at once; budgets from nothing to everything) read exactly
 * what an uncached reader reads, and the cache never counts more than its
 * budget. */
START_TEST(test_storage_cache_matches_uncached)
{
    uint64_t seed = tu_seed() + (uint64_t)_i;
    cdoc *docs;
    char *dir = cache_index(&docs, seed, 1 + _i % 3);
    esi_snapshot *s = snap_open(dir, true);
    esi_err e;
    uint32_t nblocks = 0;
    for (size_t i = 0; i < s->nsegs; i++)
        nblocks += s->segs[i]->store_nblocks;
    ck_assert_uint_gt(nblocks, 4);
    static const size_t budgets[] = { 0, 1000, 70000, 150000, 300000, 1u << 30 };
    esi_blockcache *c;
    ck_assert_int_eq(esi_blockcache_new(&c, budgets[_i % 6], &e), ES_OK);
    esi_doc_reader *plain, *rd[3];
    ck_assert_int_eq(esi_doc_reader_new(&plain, &e), ES_OK);
    for (int j = 0; j < 3; j++) {
        ck_assert_int_eq(esi_doc_reader_new(&rd[j], &e), ES_OK);
        esi_doc_reader_set_cache(rd[j], c);
    }
    uint64_t st = seed ^ 0x5eed;
    for (int step = 0; step < 3000; step++) {
        size_t g = tu_rand(&st) % s->nsegs;
        const esi_segment *seg = s->segs[g];
        uint32_t d = (uint32_t)(tu_rand(&st) % esi_segment_doc_count(seg));
        if (tu_rand(&st) % 3 == 0)   /* runs in one block, too */
            d = (uint32_t)(tu_rand(&st) % 4);
        d %= esi_segment_doc_count(seg);
        esi_doc_reader *r = rd[tu_rand(&st) % 3];
        if (tu_rand(&st) % 50 == 0)
            esi_doc_reader_release(r);
        esi_stored_doc want, got;
        ck_assert_msg(esi_doc_read(plain, seg, d, &want, &e) == ES_OK, "%s", e.msg);
        ck_assert_msg(esi_doc_read(r, seg, d, &got, &e) == ES_OK, "%s", e.msg);
        ck_assert_uint_eq(got.id_len, want.id_len);
        ck_assert(memcmp(got.id, want.id, want.id_len) == 0);
        check_cdoc(docs, &got);
        check_cdoc(docs, &want);
        check_budget(c);
    }
    esi_blockcache_stats cs;
    esi_blockcache_stats_get(c, &cs);
    ck_assert_uint_le(cs.pinned, 3);
    if (budgets[_i % 6] >= (1u << 30)) {
        ck_assert_uint_eq(cs.evictions, 0);
        ck_assert_uint_eq(cs.rejects, 0);
        ck_assert_uint_le(cs.misses, nblocks);   /* one per block */
        ck_assert_uint_gt(cs.hits, 0);
    } else if (budgets[_i % 6] == 0) {
        ck_assert_uint_eq(cs.entries, 0);
        ck_assert_uint_eq(cs.inserts, 0);
    } else if (budgets[_i % 6] > 2000) {
        ck_assert_uint_gt(cs.evictions, 0);
    }
    for (int j = 0; j < 3; j++)
        esi_doc_reader_free(rd[j]);
    esi_blockcache_stats_get(c, &cs);
    ck_assert_uint_eq(cs.pinned, 0);
    esi_doc_reader_free(plain);
    esi_blockcache_free(c);
    esi_snapshot_free(s);
    cache_done(dir, docs);
}
END_TEST

/* Pinned blocks are never evicted: with room for one block and two
 * readers holding two, the second is read but not cached, and both stay
 * readable; once released, the room is reused. */
START_TEST(test_storage_cache_pins_hold)
{
    cdoc *docs;
    char *dir = cache_index(&docs, 77, 1);
    esi_snapshot *s = snap_open(dir, false);
    esi_err e;
    const esi_segment *seg = s->segs[0];
    ck_assert_uint_gt(seg->store_nblocks, 2);
    /* doc 0 is in block 0, doc `last` the first of block 1; both blocks
     * are full (>= ESI_STORE_BLOCK), so room for the bigger leaves no room
     * for the other */
    uint32_t last = 0;
    while (esi_le32_read(seg->doctab + (size_t)last * 16) != 1)
        last++;
    size_t big = 0;
    for (uint32_t b = 0; b < 2; b++) {
        size_t rl = esi_le32_read(seg->blocktab + (size_t)b * 16 + 12);
        ck_assert_uint_ge(rl, ESI_STORE_BLOCK);
        big = rl > big ? rl : big;
    }
    esi_blockcache *c;
    ck_assert_int_eq(esi_blockcache_new(&c, big + 1024, &e), ES_OK);
    esi_doc_reader *a, *b;
    ck_assert_int_eq(esi_doc_reader_new(&a, &e), ES_OK);
    ck_assert_int_eq(esi_doc_reader_new(&b, &e), ES_OK);
    esi_doc_reader_set_cache(a, c);
    esi_doc_reader_set_cache(b, c);
    esi_stored_doc da, db;
    ck_assert_int_eq(esi_doc_read(a, seg, 0, &da, &e), ES_OK);
    ck_assert_int_eq(esi_doc_read(b, seg, last, &db, &e), ES_OK);
    esi_blockcache_stats st;
    esi_blockcache_stats_get(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.rejects, 1);
    ck_assert_uint_eq(st.pinned, 1);
    check_cdoc(docs, &da);      /* both still valid */
    check_cdoc(docs, &db);
    check_budget(c);
    esi_doc_reader_release(a);
    ck_assert_int_eq(esi_doc_read(b, seg, 0, &db, &e), ES_OK);   /* a hit */
    ck_assert_int_eq(esi_doc_read(a, seg, last, &da, &e), ES_OK);
    esi_blockcache_stats_get(c, &st);
    ck_assert_uint_eq(st.hits, 1);
    ck_assert_uint_eq(st.rejects, 2);   /* block 0 is pinned by b */
    esi_doc_reader_release(b);
    ck_assert_int_eq(esi_doc_read(a, seg, last, &da, &e), ES_OK);  /* held */
    ck_assert_int_eq(esi_doc_read(b, seg, last, &db, &e), ES_OK);
    esi_blockcache_stats_get(c, &st);
    ck_assert_uint_eq(st.evictions, 1);   /* block 0 made room for the last */
    check_cdoc(docs, &da);
    check_cdoc(docs, &db);
    check_budget(c);
    esi_doc_reader_free(a);
    esi_doc_reader_free(b);
    esi_blockcache_free(c);
    esi_snapshot_free(s);
    cache_done(dir, docs);
}
END_TEST

/* A budget of 0 caches nothing and every read still works; so does a
 * reader without a cache, and one switched between the two. */
START_TEST(test_storage_cache_zero_budget)
{
    cdoc *docs;
    char *dir = cache_index(&docs, 99, 2);
    esi_snapshot *s = snap_open(dir, false);
    esi_err e;
    esi_blockcache *c;
    ck_assert_int_eq(esi_blockcache_new(&c, 0, &e), ES_OK);
    esi_doc_reader *r;
    ck_assert_int_eq(esi_doc_reader_new(&r, &e), ES_OK);
    uint64_t n = 0;
    for (int pass = 0; pass < 3; pass++) {
        esi_doc_reader_set_cache(r, pass == 1 ? NULL : c);
        for (size_t g = 0; g < s->nsegs; g++)
            for (uint32_t d = 0; d < esi_segment_doc_count(s->segs[g]); d++) {
                esi_stored_doc sd;
                ck_assert_int_eq(esi_doc_read(r, s->segs[g], d, &sd, &e), ES_OK);
                check_cdoc(docs, &sd);
                n++;
            }
    }
    ck_assert_uint_eq(n, 3 * CDOCS);
    esi_blockcache_stats st;
    esi_blockcache_stats_get(c, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, 0);
    ck_assert_uint_eq(st.peak_bytes, 0);
    ck_assert_uint_eq(st.inserts, 0);
    ck_assert_uint_gt(st.rejects, 0);
    esi_doc_reader_free(r);
    esi_blockcache_free(c);
    esi_snapshot_free(s);
    cache_done(dir, docs);
}
END_TEST

/* A block damaged on disk gives ES_ECORRUPT naming the file, every time,
 * through the cache, and is never cached; the other blocks still read. */
START_TEST(test_storage_cache_corrupt_block)
{
    cdoc *docs;
    char *dir = cache_index(&docs, 4242, 1);
    char path[512];
    snprintf(path, sizeof path, "%s/seg_000001.store", dir);
    size_t len;
    char *img = tu_read_file(path, &len);
    ck_assert_ptr_nonnull(img);
    /* payload trailer: blocktab_off at +24; block 1's entry */
    const uint8_t *pl = (const uint8_t *)img + ES_FILE_HEADER_LEN;
    size_t plen = len - ES_FILE_HEADER_LEN - 16;
    uint64_t bt = esi_le64_read(pl + plen - ESI_STORE_TRAILER + 24);
    uint64_t off = esi_le64_read(pl + bt + 16);
    uint32_t clen = esi_le32_read(pl + bt + 16 + 8);
    ck_assert_uint_gt(clen, 64);
    for (uint32_t i = clen / 3; i < clen / 3 + 32; i++)
        img[ES_FILE_HEADER_LEN + off + i] ^= (char)0x5a;
    write_bytes(path, img, len);
    free(img);
    esi_snapshot *s = snap_open(dir, false);
    esi_err e;
    const esi_segment *seg = s->segs[0];
    esi_blockcache *c;
    ck_assert_int_eq(esi_blockcache_new(&c, (size_t)1 << 30, &e), ES_OK);
    esi_doc_reader *r;
    ck_assert_int_eq(esi_doc_reader_new(&r, &e), ES_OK);
    esi_doc_reader_set_cache(r, c);
    int bad = 0, good = 0;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t d = 0; d < esi_segment_doc_count(seg); d++) {
            esi_stored_doc sd;
            uint32_t b = esi_le32_read(seg->doctab + (size_t)d * 16);
            es_status rc = esi_doc_read(r, seg, d, &sd, &e);
            if (b == 1) {
                ck_assert_int_eq(rc, ES_ECORRUPT);
                ck_assert_msg(strstr(e.msg, "seg_000001.store") != NULL, "%s", e.msg);
                bad++;
            } else {
                ck_assert_msg(rc == ES_OK, "%s", e.msg);
                check_cdoc(docs, &sd);
                good++;
            }
        }
    ck_assert_int_gt(bad, 0);
    ck_assert_int_gt(good, 0);
    esi_blockcache_stats st;
    esi_blockcache_stats_get(c, &st);
    ck_assert_uint_eq(st.inserts, seg->store_nblocks - 1);
    ck_assert_uint_eq(st.entries, seg->store_nblocks - 1);
    esi_doc_reader_free(r);
    esi_blockcache_free(c);
    esi_snapshot_free(s);
    cache_done(dir, docs);
}
END_TEST

/* 8 threads fetching at random through one small shared cache (constant
 * eviction, pins racing) each read exactly the stored documents. Built to
 * run under ThreadSanitizer too. */
typedef struct cthr {
    const esi_snapshot *s;
    esi_blockcache *c;
    const cdoc *docs;
    uint64_t seed;
    int fails;
} cthr;

static void *cache_thread(void *p)
{
    cthr *t = p;
    esi_err e;
    esi_doc_reader *r;
    if (esi_doc_reader_new(&r, &e) != ES_OK) {
        t->fails++;
        return NULL;
    }
    esi_doc_reader_set_cache(r, t->c);
    uint64_t st = t->seed;
    for (int i = 0; i < 1500; i++) {
        size_t g = tu_rand(&st) % t->s->nsegs;
        const esi_segment *seg = t->s->segs[g];
        uint32_t d = (uint32_t)(tu_rand(&st) % esi_segment_doc_count(seg));
        esi_stored_doc sd;
        if (esi_doc_read(r, seg, d, &sd, &e) != ES_OK) {
            t->fails++;
            continue;
        }
        char buf[16];
        if (sd.id_len >= sizeof buf) {
            t->fails++;
            continue;
        }
        memcpy(buf, sd.id, sd.id_len);
        buf[sd.id_len] = 0;
        int k = atoi(buf + 2);
        if (k < 0 || k >= CDOCS || sd.text_len != t->docs[k].text_len ||
            (sd.text_len && memcmp(sd.text, t->docs[k].text, sd.text_len) != 0))
            t->fails++;
        if (i % 97 == 0)
            esi_doc_reader_release(r);
    }
    esi_doc_reader_free(r);
    return NULL;
}

START_TEST(test_storage_cache_threads)
{
    cdoc *docs;
    char *dir = cache_index(&docs, 31337, 3);
    esi_snapshot *s = snap_open(dir, false);
    esi_err e;
    esi_blockcache *c;
    ck_assert_int_eq(esi_blockcache_new(&c, 300000, &e), ES_OK);
    cthr t[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        t[i] = (cthr){ s, c, docs, 1000 + (uint64_t)i, 0 };
        ck_assert_int_eq(pthread_create(&th[i], NULL, cache_thread, &t[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(t[i].fails, 0);
    esi_blockcache_stats st;
    esi_blockcache_stats_get(c, &st);
    ck_assert_uint_le(st.peak_bytes, st.budget);
    ck_assert_uint_eq(st.pinned, 0);
    ck_assert_uint_gt(st.hits, 0);
    ck_assert_uint_gt(st.evictions, 0);
    printf("cache threads: %llu hits, %llu misses, %llu evictions, %llu rejects\n",
           (unsigned long long)st.hits, (unsigned long long)st.misses,
           (unsigned long long)st.evictions, (unsigned long long)st.rejects);
    esi_blockcache_free(c);
    esi_snapshot_free(s);
    cache_done(dir, docs);
}
END_TEST

/* A merge keeps the compressed store blocks of sources without deletions
 * byte for byte and re-adds the documents of the others: every live
 * document reads back identical, by docno and by id, and check passes. */
START_TEST(test_storage_merge_store_copy)
{
    cdoc *docs;
    char *dir = cache_index(&docs, 7000 + (uint64_t)_i, 4);
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    esi_err e;
    int gone = _i % 2 ? 50 : -1;          /* a deletion in one source, or none */
    if (gone >= 0)
        ck_assert_int_eq(esi_ixw_delete(w, docs[gone].id, strlen(docs[gone].id), &e),
                         ES_OK);
    ck_assert_msg(esi_ixw_optimize(w, &e) == ES_OK, "%s", e.msg);
    esi_ixw_free(w);
    esi_snapshot *s = snap_open(dir, true);
    ck_assert_uint_eq(s->nsegs, 1);
    const esi_segment *seg = s->segs[0];
    ck_assert_uint_eq(esi_segment_doc_count(seg), CDOCS - (gone >= 0));
    esi_doc_reader *r;
    ck_assert_int_eq(esi_doc_reader_new(&r, &e), ES_OK);
    for (uint32_t d = 0; d < esi_segment_doc_count(seg); d++) {
        esi_stored_doc sd;
        ck_assert_msg(esi_doc_read(r, seg, d, &sd, &e) == ES_OK, "%s", e.msg);
        check_cdoc(docs, &sd);
        uint32_t back;
        ck_assert_int_eq(esi_segment_find_id(seg, sd.id, sd.id_len, &back), ES_OK);
        ck_assert_uint_eq(back, d);
    }
    esi_doc_reader_free(r);
    esi_snapshot_free(s);
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
    cache_done(dir, docs);
}
END_TEST

/* A damaged byte in a source's compressed store block makes the merge fail
 * with ES_ECORRUPT naming the file, instead of copying it under a fresh
 * checksum; the last commit still opens with every document. */
START_TEST(test_storage_merge_copy_damaged)
{
    cdoc *docs;
    char *dir = cache_index(&docs, 7100, 2);
    flist fl = { .n = 0 };
    esi_err e;
    ck_assert_int_eq(esi_io_list_dir(dir, list_cb, &fl, &e), ES_OK);
    const char *victim = NULL;
    for (int i = 0; i < fl.n && !victim; i++)
        if (strstr(fl.names[i], ".store"))
            victim = fl.names[i];
    ck_assert_ptr_nonnull(victim);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, victim);
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 16 + 40, SEEK_SET), 0);   /* inside block 0 */
    int c = fgetc(f);
    ck_assert_int_eq(fseek(f, 16 + 40, SEEK_SET), 0);
    fputc(c ^ 0x10, f);
    fclose(f);
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    es_status rc = esi_ixw_optimize(w, &e);
    ck_assert_int_eq(rc, ES_ECORRUPT);
    ck_assert_msg(strstr(e.msg, victim) != NULL, "%s", e.msg);
    esi_ixw_free(w);
    esi_snapshot *s = snap_open(dir, false);
    ck_assert_uint_eq(s->live_docs, CDOCS);
    esi_snapshot_free(s);
    cache_done(dir, docs);
}
END_TEST

/* ---- packed runs and the merge's block copy ----------------------------- */

/* Packed runs round-trip every kind of value mix, take the bytes
 * esi_run_size says, fail on every truncation and survive any byte flip. */
START_TEST(test_storage_run_codec)
{
    uint64_t st = tu_seed() + (uint64_t)_i * 31;
    uint32_t v[128], out[128];
    uint32_t kinds[3] = { 0 };   /* varint, PFOR with exceptions, FOR */
    esi_buf b = { 0 };
    for (int rep = 0; rep < 300; rep++) {
        uint32_t n = 1 + (uint32_t)(tu_rand(&st) % 128);
        if (_i == 6 && rep % 10 == 0)
            n = 1 + (uint32_t)(rep / 10) % 3;   /* short runs: varints win ties */
        for (uint32_t i = 0; i < n; i++) {
            uint64_t r = tu_rand(&st);
            switch (_i) {
            case 0: v[i] = 0; break;
            case 1: v[i] = (uint32_t)(r % 4); break;
            case 2: v[i] = (uint32_t)(r % 300); break;
            case 3: v[i] = r % 10 ? (uint32_t)(r % 16) : (uint32_t)(r >> 40); break;
            case 4: v[i] = (uint32_t)r; break;
            case 5: v[i] = r % 2 ? UINT32_MAX : (uint32_t)(r % 3); break;
            case 6: {  /* geometric gaps, as positions have */
                uint32_t g = 0, scale = 1u << (rep % 12);
                while (tu_rand(&st) % 4)
                    g++;
                v[i] = g * scale + (uint32_t)(r % scale);
                break;
            }
            default:   /* widths and exception counts all over */
                v[i] = (uint32_t)(r >> (32 + (tu_rand(&st) % 33) % 32)) >>
                       (tu_rand(&st) % 32);
            }
        }
        es_status rc = ES_OK;
        esi_buf_reset(&b);
        esi_run_put(&rc, &b, v, n);
        ck_assert_int_eq(rc, ES_OK);
        /* never larger than plain FOR, nor than varints by more than the
         * margin the encoder gives packed runs (two bits a value) */
        ck_assert_uint_eq(b.len, esi_run_size(v, n, ESI_RUN_AUTO));
        ck_assert_uint_le(b.len, esi_run_size(v, n, ESI_RUN_FOR));
        ck_assert_uint_le(b.len, 1 + esi_run_size(v, n, ESI_RUN_VARINT) + n / 4);
        const uint8_t *p = b.data;
        ck_assert(esi_run_get(&p, b.data + b.len, n, out));
        ck_assert_ptr_eq(p, b.data + b.len);
        ck_assert(memcmp(v, out, n * sizeof *v) == 0);
        kinds[b.data[0] == 0xff ? 0 : b.data[0] >= 0x40 ? 1 : 2]++;
        for (size_t cut = 0; cut < b.len; cut++) {
            p = b.data;
            ck_assert_msg(!esi_run_get(&p, b.data + cut, n, out),
                          "run of %u decoded from %zu of %zu bytes", n, cut, b.len);
        }
        /* a flipped byte may decode to other values but never overruns
         * (ASan watches) nor reads past the end it was given */
        size_t at = (size_t)(tu_rand(&st) % b.len);
        b.data[at] ^= (uint8_t)(1 + tu_rand(&st) % 255);
        p = b.data;
        if (esi_run_get(&p, b.data + b.len, n, out))
            ck_assert(p <= b.data + b.len);
    }
    if (_i == 6)   /* the mix that calls for every kind of run */
        ck_assert_msg(kinds[0] > 0 && kinds[1] > 0 && kinds[2] > 0,
                      "runs: %u varint, %u PFOR, %u FOR", kinds[0], kinds[1],
                      kinds[2]);
    esi_buf_free(&b);
}
END_TEST

/* The encoder's bias for decoding speed: 64 zeros and 64 values of 13 bits
 * take 193 bytes as varints, 194 as width 0 with 64 exceptions and 209 as
 * width 13. By bytes alone the varints would win; counting each exception
 * a byte more and asking varints to save two bits a value (32 bytes), the
 * plain width 13 does. Runs where varints save more stay varints. */
START_TEST(test_storage_run_coding_bias)
{
    uint32_t v[128], out[128];
    for (int i = 0; i < 128; i++)
        v[i] = i % 2 ? 1u << 12 : 0;
    esi_buf b = { 0 };
    es_status rc = ES_OK;
    esi_run_put(&rc, &b, v, 128);
    ck_assert_int_eq(rc, ES_OK);
    ck_assert_uint_eq(1 + esi_run_size(v, 128, ESI_RUN_VARINT), 193);
    ck_assert_uint_eq(esi_run_size(v, 128, ESI_RUN_PFOR), 194);
    ck_assert_msg(b.data[0] == 13 && b.len == 209, "header %#x, %zu bytes",
                  b.data[0], b.len);
    const uint8_t *p = b.data;
    ck_assert(esi_run_get(&p, b.data + b.len, 128, out));
    ck_assert(memcmp(v, out, sizeof v) == 0);
    /* values of 1 or 14 bits alternating: varints 193 bytes, at best 225
     * packed (width 14): 32 bytes saved, varints */
    for (int i = 0; i < 128; i++)
        v[i] = i % 2 ? 1u << 13 : 1;
    esi_buf_reset(&b);
    esi_run_put(&rc, &b, v, 128);
    ck_assert_msg(b.data[0] == 0xff && b.len == 193, "header %#x, %zu bytes",
                  b.data[0], b.len);
    esi_buf_free(&b);
}
END_TEST

/* Reference packer for the run tests: the low w bits of v[0..n), least
 * significant bit first, bit by bit as FORMAT.md §4 words it. */
static void ref_pack(esi_buf *b, const uint32_t *v, uint32_t n, unsigned w)
{
    size_t bytes = ((size_t)n * w + 7) / 8, at = b->len;
    es_status rc = ES_OK;
    for (size_t k = 0; k < bytes; k++)
        esi_buf_put_u8(&rc, b, 0);
    ck_assert_int_eq(rc, ES_OK);
    for (uint32_t i = 0; i < n; i++)
        for (unsigned k = 0; k < w; k++)
            if (v[i] >> k & 1) {
                size_t bit = (size_t)i * w + k;
                b->data[at + bit / 8] |= (uint8_t)(1u << (bit % 8));
            }
}

/* Decode the run in b as the last bytes of an exactly allocated buffer,
 * with 0..9 readable (garbage) bytes after it that the decoder may load
 * (esi_run_get_lim) and must never use, and check it against want; every
 * truncation fails, and stepping over (out NULL) ends where decoding does.
 * ASan catches any load past the buffer. Both with the plain unpackers and
 * (where the CPU has it) the AVX2 one. */
static void run_at_end(const esi_buf *b, uint32_t n, const uint32_t *want,
                       uint64_t *st)
{
    for (size_t pass = 0; pass <= 19; pass++) {
        size_t slack = pass % 10;
        esi_post_use_avx2(pass > 9);
        size_t len = b->len + slack;
        uint8_t *buf = esi_malloc(len);
        ck_assert_ptr_nonnull(buf);
        memcpy(buf, b->data, b->len);
        for (size_t k = b->len; k < len; k++)
            buf[k] = (uint8_t)tu_rand(st);
        uint32_t out[128];
        const uint8_t *p = buf, *end = buf + b->len;
        ck_assert(esi_run_get_lim(&p, end, buf + len, n, out));
        ck_assert_ptr_eq(p, end);
        for (uint32_t i = 0; i < n; i++)
            ck_assert_msg(out[i] == want[i], "run %02x n %u: value %u is %u, "
                          "not %u (slack %zu, %s unpackers)", b->data[0], n, i,
                          out[i], want[i], slack, pass > 9 ? "AVX2" : "plain");
        p = buf;
        ck_assert(esi_run_get_lim(&p, end, buf + len, n, NULL));
        ck_assert_ptr_eq(p, end);
        if (slack == 0) {
            p = buf;
            ck_assert(esi_run_get(&p, end, n, out));
            ck_assert(memcmp(out, want, n * sizeof *out) == 0);
        }
        for (size_t cut = 0; cut < b->len; cut++) {
            p = buf;
            ck_assert_msg(!esi_run_get_lim(&p, buf + cut, buf + len, n, out),
                          "run %02x of %u decoded from %zu of %zu bytes",
                          b->data[0], n, cut, b->len);
        }
        esi_free(buf);
    }
    esi_post_use_avx2(true);
}

/* esi_post_sum_runs against the plain sums, for every block length and
 * values small (the lanes of AVX2 or SSE2) and large (the exact fallback): docs
 * below 2^32 are exact, the last doc and the total exact in 64 bits, a
 * stored freq of 2^32 - 1 refused. */
START_TEST(test_storage_sum_runs)
{
    uint64_t st = tu_seed() + (uint64_t)_i * 7;
    uint32_t docs[128], freqs[128];
    for (int rep = 0; rep < 2000; rep++) {
        uint32_t n = 1 + (uint32_t)(tu_rand(&st) % 128);
        unsigned bits = (unsigned)(tu_rand(&st) % 4) == 0 ? 32 : 1 + (unsigned)(tu_rand(&st) % 24);
        uint64_t base = tu_rand(&st) % 3 == 0 ? 0 : tu_rand(&st) % ((uint64_t)1 << (_i ? 32 : 20));
        bool wrap = rep % 50 == 49;
        uint64_t d = base - 1, t = 0;
        uint32_t want_docs[128], want_freqs[128];
        for (uint32_t i = 0; i < n; i++) {
            docs[i] = (uint32_t)(tu_rand(&st) & (((uint64_t)1 << bits) - 1));
            freqs[i] = (uint32_t)(tu_rand(&st) & (((uint64_t)1 << bits) - 1));
            if (wrap && i == (uint32_t)rep % n)
                freqs[i] = UINT32_MAX;
            d += (uint64_t)docs[i] + 1;
            want_docs[i] = (uint32_t)d;
            want_freqs[i] = freqs[i] + 1;
            t += (uint32_t)(freqs[i] + 1);
        }
        uint64_t doc = base, total = 0;
        /* AVX2's lanes for 50 blocks, then SSE2's (each run of 50 ends
         * with a wrapped freq) */
        esi_post_use_avx2(rep / 50 % 2 == 0);
        bool ok = esi_post_sum_runs(docs, freqs, n, &doc, &total);
        esi_post_use_avx2(true);
        ck_assert(ok == !wrap);
        if (wrap)
            continue;
        ck_assert_uint_eq(doc, d);
        ck_assert_uint_eq(total, t);
        for (uint32_t i = 0; i < n; i++) {
            if (d < ((uint64_t)1 << 32))
                ck_assert_uint_eq(docs[i], want_docs[i]);
            ck_assert_uint_eq(freqs[i], want_freqs[i]);
        }
    }
}
END_TEST

/* Runs of every width 0..32, with and without exceptions, and varint
 * runs, decoded at the very end of a buffer (the decoders' word loads
 * must stay inside it) against reference values. _i picks n. */
START_TEST(test_storage_run_widths_at_end)
{
    static const uint32_t ns[] = { 1, 2, 7, 8, 9, 15, 16, 17, 63, 127, 128 };
    uint32_t n = ns[_i];
    uint64_t st = tu_seed() + (uint64_t)_i * 977;
    uint32_t low[128], want[128];
    esi_buf b = { 0 };
    es_status rc = ES_OK;
    for (unsigned w = 0; w <= 32; w++) {
        uint64_t mask = ((uint64_t)1 << w) - 1;
        for (int exc = 0; exc <= (w < 32); exc++) {
            for (uint32_t i = 0; i < n; i++) {
                uint64_t r = tu_rand(&st);
                /* all ones now and then: the widest fields */
                low[i] = (uint32_t)((r % 5 ? r >> 13 : UINT64_MAX) & mask);
                want[i] = low[i];
            }
            esi_buf_reset(&b);
            esi_buf_put_u8(&rc, &b, (uint8_t)(exc ? 0x40 | w : w));
            ref_pack(&b, low, n, w);
            if (exc) {
                uint32_t ne = 1 + (uint32_t)(tu_rand(&st) % (n < 6 ? n : 6));
                uint32_t idx[6], k = 0;
                for (uint32_t i = 0; i < n && k < ne; i++)   /* increasing */
                    if (tu_rand(&st) % (n - i) < ne - k)
                        idx[k++] = i;
                ck_assert_uint_eq(k, ne);
                esi_buf_put_u8(&rc, &b, (uint8_t)ne);
                for (k = 0; k < ne; k++) {
                    uint32_t room = UINT32_MAX >> w, hi;
                    uint64_t r = tu_rand(&st);
                    hi = k == 0 ? room : 1 + (uint32_t)(r % room);
                    esi_buf_put_u8(&rc, &b, (uint8_t)idx[k]);
                    esi_buf_put_varint(&rc, &b, hi);
                    want[idx[k]] = low[idx[k]] | hi << w;
                }
            }
            ck_assert_int_eq(rc, ES_OK);
            run_at_end(&b, n, want, &st);
        }
    }
    /* varint runs: every length 1..5, the largest value last */
    for (uint32_t i = 0; i < n; i++) {
        uint64_t r = tu_rand(&st);
        want[i] = i + 1 == n ? UINT32_MAX : (uint32_t)(r >> (32 + r % 32));
    }
    esi_buf_reset(&b);
    esi_buf_put_u8(&rc, &b, 0xff);
    for (uint32_t i = 0; i < n; i++)
        esi_buf_put_varint(&rc, &b, want[i]);
    ck_assert_int_eq(rc, ES_OK);
    run_at_end(&b, n, want, &st);
    /* a varint value beyond 32 bits, or longer than 5 bytes, is refused
     * in both the word and the byte path */
    static const uint8_t bad[][7] = {
        { 0xff, 0xff, 0xff, 0xff, 0xff, 0x10 },         /* 2^32 */
        { 0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 },   /* 6 bytes */
    };
    for (size_t k = 0; k < 2; k++)
        for (size_t slack = 0; slack <= 9; slack++) {
            size_t len = (k ? 7 : 6) + slack;
            uint8_t *buf = esi_calloc(1, len);
            ck_assert_ptr_nonnull(buf);
            memcpy(buf, bad[k], k ? 7 : 6);
            uint32_t out[128];
            const uint8_t *p = buf;
            ck_assert(!esi_run_get_lim(&p, buf + (k ? 7 : 6), buf + len, 1, out));
            p = buf;
            ck_assert(!esi_run_get_lim(&p, buf + (k ? 7 : 6), buf + len, 1, NULL));
            esi_free(buf);
        }
    /* the same inside a long run, at every place (skipping goes 8 bytes
     * at a time between them) */
    if (n == 128)
        for (uint32_t at = 0; at < n; at++)
            for (size_t k = 0; k < 2; k++) {
                esi_buf_reset(&b);
                esi_buf_put_u8(&rc, &b, 0xff);
                for (uint32_t i = 0; i < n; i++) {
                    if (i == at)
                        esi_buf_put(&rc, &b, bad[k] + 1, k ? 6 : 5);
                    else
                        esi_buf_put_varint(&rc, &b, (uint32_t)tu_rand(&st) >>
                                           (tu_rand(&st) % 32));
                }
                ck_assert_int_eq(rc, ES_OK);
                for (int nul = 0; nul < 2; nul++) {
                    uint32_t out[128];
                    const uint8_t *p = b.data;
                    ck_assert_msg(!esi_run_get_lim(&p, b.data + b.len,
                                                   b.data + b.len, n,
                                                   nul ? NULL : out),
                                  "bad varint %zu at %u accepted", k, at);
                }
            }
    esi_buf_free(&b);
}
END_TEST

#define MC_TERMS 5
#define MC_MAXDOCS 1800
#define MC_MAXF 6

typedef struct mc_doc {
    uint32_t f[MC_TERMS];
    uint32_t pos[MC_TERMS][MC_MAXF];
    bool live;
} mc_doc;

static const char *const mc_term[MC_TERMS] = { "a", "b", "c", "d", "e" };

/* Does term t of doc k (of segment seg) have positions? "b" never, "c" in
 * even segments only. */
static bool mc_haspos(int t, int seg)
{
    return t != 1 && !(t == 2 && seg % 2);
}

/* Add doc k to w as part of segment seg, recording it in docs[k]. */
static void mc_add(esi_ixw *w, mc_doc *docs, int k, int seg, uint64_t *st)
{
    mc_doc *d = &docs[k];
    memset(d, 0, sizeof *d);
    esi_occ occ[MC_TERMS * MC_MAXF];
    size_t n = 0;
    for (int t = 0; t < MC_TERMS; t++) {
        uint64_t r = tu_rand(st);
        bool has = t == 0 ? true : t == 1 ? k % 2 == 0 : t == 2 ? r % 3 != 0
                 : t == 3 ? r % 53 == 0 : seg == 1;
        if (!has)
            continue;
        d->f[t] = 1 + (uint32_t)(tu_rand(st) % (tu_rand(st) % 4 ? 2 : MC_MAXF));
        uint32_t p = (uint32_t)(tu_rand(st) % 50);
        for (uint32_t i = 0; i < d->f[t]; i++) {
            d->pos[t][i] = p;
            p += (uint32_t)(tu_rand(st) % 7 ? tu_rand(st) % 9
                                             : tu_rand(st) % (1u << 24));
        }
        for (uint32_t i = 0; i < d->f[t]; i++) {
            occ[n].term = (const uint8_t *)mc_term[t];
            occ[n].term_len = 1;
            occ[n++].pos = mc_haspos(t, seg) ? d->pos[t][i] : ESI_POS_NONE;
        }
    }
    char id[16];
    snprintf(id, sizeof id, "m%d", k);
    esi_doc_in in = { id, strlen(id), "", 0, NULL, 0, occ, n, 1, 0 };
    esi_err e;
    ck_assert_msg(esi_ixw_add(w, &in, &e) == ES_OK, "%s", e.msg);
    d->live = true;
}

/* The one segment of dir holds exactly the live docs of docs[0..n), in
 * order, every term with its freqs (and positions unless merged without);
 * advance() lands on the right doc from fresh cursors. */
static void mc_verify(const char *dir, const mc_doc *docs, int n, uint64_t *st)
{
    esi_snapshot *s;
    esi_err e;
    ck_assert_msg(esi_snapshot_open(&s, dir, true, &e) == ES_OK, "%s", e.msg);
    ck_assert_uint_eq(s->nsegs, 1);
    const esi_segment *g = s->segs[0];
    int *kof = malloc(MC_MAXDOCS * sizeof *kof);
    uint32_t nd = 0;
    for (int k = 0; k < n; k++)
        if (docs[k].live)
            kof[nd++] = k;
    ck_assert_uint_eq(esi_segment_doc_count(g), nd);
    uint32_t *ref = malloc(MC_MAXDOCS * sizeof *ref);
    for (int t = 0; t < MC_TERMS; t++) {
        uint32_t nref = 0;
        for (uint32_t d = 0; d < nd; d++)
            if (docs[kof[d]].f[t])
                ref[nref++] = d;
        esi_term_info ti;
        es_status rc = esi_segment_lookup(g, (const uint8_t *)mc_term[t], 1, &ti, &e);
        if (nref == 0) {
            ck_assert_int_eq(rc, ES_ENOTFOUND);
            continue;
        }
        ck_assert_int_eq(rc, ES_OK);
        ck_assert_uint_eq(ti.df, nref);
        esi_postings c;
        ck_assert_int_eq(esi_postings_open(&c, g, &ti, &e), ES_OK);
        for (uint32_t i = 0; i < nref; i++) {
            ck_assert_int_eq(esi_postings_next(&c), ES_OK);
            ck_assert_uint_eq(c.doc, ref[i]);
            const mc_doc *d = &docs[kof[c.doc]];
            ck_assert_uint_eq(c.freq, d->f[t]);
            const uint32_t *pos;
            uint32_t np;
            ck_assert_int_eq(esi_postings_positions(&c, &pos, &np), ES_OK);
            if (ti.positions) {
                ck_assert_uint_eq(np, d->f[t]);
                ck_assert(memcmp(pos, d->pos[t], np * sizeof *pos) == 0);
            } else {
                ck_assert_uint_eq(np, 0);
            }
        }
        ck_assert_int_eq(esi_postings_next(&c), ES_DONE);
        esi_postings_close(&c);
        for (int rep = 0; rep < 30; rep++) {
            uint32_t target = (uint32_t)(tu_rand(st) % (nd + 1)), i = 0;
            ck_assert_int_eq(esi_postings_open(&c, g, &ti, &e), ES_OK);
            if (rep % 2)   /* start inside the list */
                ck_assert_int_eq(esi_postings_next(&c), ES_OK);
            rc = esi_postings_advance(&c, target);
            while (i < nref && ref[i] < target)
                i++;
            if (rep % 2 && ref[0] >= target)
                i = 0;
            if (i == nref) {
                ck_assert_int_eq(rc, ES_DONE);
            } else {
                ck_assert_int_eq(rc, ES_OK);
                ck_assert_uint_eq(c.doc, ref[i]);
                const uint32_t *pos;
                uint32_t np;
                ck_assert_int_eq(esi_postings_positions(&c, &pos, &np), ES_OK);
                if (ti.positions)
                    ck_assert(memcmp(pos, docs[kof[c.doc]].pos[t],
                                     np * sizeof *pos) == 0);
            }
            esi_postings_close(&c);
        }
    }
    free(ref);
    free(kof);
    esi_snapshot_free(s);
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
}

/* Merges copy the positions of blocks without deletions and re-encode the
 * rest: segments of random sizes (terms spanning block edges, one without
 * positions, one with positions in some segments only, a rare one), no,
 * few or many deletions, optimized twice (the second merge copies blocks
 * the first one left short). Every posting must come back identical. */
START_TEST(test_storage_merge_block_copy)
{
    uint64_t st = tu_seed() + (uint64_t)_i * 104729;
    char *dir = tu_tmpdir();
    mc_doc *docs = calloc(MC_MAXDOCS, sizeof *docs);
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    esi_err e;
    int n = 0, seg = 0;
    for (int pass = 0; pass < 2; pass++) {
        int nseg = pass == 0 ? 3 + _i % 2 : 1;
        for (int j = 0; j < nseg; j++, seg++) {
            int ns = 1 + (int)(tu_rand(&st) % (j % 2 ? 140 : 330));
            for (int i = 0; i < ns && n < MC_MAXDOCS; i++, n++)
                mc_add(w, docs, n, seg, &st);
            commit(w);
        }
        /* deletions: none (_i 0, 1), a run inside one block (2, 3), or
         * scattered (4, 5) */
        int ndel = _i < 2 ? 0 : _i < 4 ? 5 : n / 6;
        int at = (int)(tu_rand(&st) % (uint64_t)n);
        for (int i = 0; i < ndel; i++) {
            int k = _i < 4 ? (at + i) % n : (int)(tu_rand(&st) % (uint64_t)n);
            char id[16];
            snprintf(id, sizeof id, "m%d", k);
            ck_assert_int_eq(esi_ixw_delete(w, id, strlen(id), &e), ES_OK);
            docs[k].live = false;
        }
        commit(w);
        ck_assert_msg(esi_ixw_optimize(w, &e) == ES_OK, "%s", e.msg);
        bool any = false;
        for (int k = 0; k < n; k++)
            any |= docs[k].live;
        if (any)
            mc_verify(dir, docs, n, &st);
    }
    esi_ixw_free(w);
    free(docs);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Docs whose positions fill several runs of a block (FORMAT.md §4: runs
 * found through the run table, unpacked in windows): a cursor that jumps
 * between docs and asks for growing prefixes (esi_postings_positions_upto
 * with rising wants, sometimes then all) gets exactly the reference, before
 * and after a merge that copies the blocks. Gaps mix small values, large
 * ones (exceptions) and runs of wild ones (varint runs). */
#define PW_DOCS 900   /* "x" in about 675: past ESI_POST_SKIP_DF */
#define PW_MAXF 700
START_TEST(test_storage_positions_windows)
{
    uint64_t st = tu_seed() + (uint64_t)_i * 7877;
    char *dir = tu_tmpdir();
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    uint32_t *f = calloc(PW_DOCS, sizeof *f);
    uint32_t (*pos)[PW_MAXF] = calloc(PW_DOCS, sizeof *pos);
    esi_occ *occ = calloc(PW_MAXF + 1, sizeof *occ);
    for (uint32_t d = 0; d < PW_DOCS; d++) {
        uint32_t kind = (uint32_t)(tu_rand(&st) % 4);
        f[d] = kind == 0 ? 0 : kind == 1 ? 1 + (uint32_t)(tu_rand(&st) % 5)
                                         : 1 + (uint32_t)(tu_rand(&st) % PW_MAXF);
        uint32_t p = (uint32_t)(tu_rand(&st) % 100);
        bool wild = tu_rand(&st) % 5 == 0;
        for (uint32_t i = 0; i < f[d]; i++) {
            pos[d][i] = p;
            uint64_t r = tu_rand(&st);
            p += wild ? (uint32_t)(r % 20000) : r % 11 ? (uint32_t)(r % 13)
                                                      : (uint32_t)(r % 5000);
            occ[i].term = (const uint8_t *)"x";
            occ[i].term_len = 1;
            occ[i].pos = pos[d][i];
        }
        occ[f[d]].term = (const uint8_t *)"y";   /* every doc has one term */
        occ[f[d]].term_len = 1;
        occ[f[d]].pos = 0;
        char id[16];
        snprintf(id, sizeof id, "w%u", d);
        esi_doc_in in = { id, strlen(id), "", 0, NULL, 0, occ, f[d] + 1, 1, 0 };
        esi_err e;
        ck_assert_msg(esi_ixw_add(w, &in, &e) == ES_OK, "%s", e.msg);
        if (d == PW_DOCS / 2)
            commit(w);   /* two segments, merged below */
    }
    commit(w);
    for (int pass = 0; pass < 2; pass++) {
        esi_snapshot *s;
        esi_err e;
        ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_OK);
        uint32_t base = 0;
        for (size_t g = 0; g < s->nsegs; g++) {
            const esi_segment *seg = s->segs[g];
            uint32_t nd = esi_segment_doc_count(seg);
            esi_term_info ti;
            ck_assert_int_eq(esi_segment_lookup(seg, (const uint8_t *)"x", 1, &ti, &e),
                             ES_OK);
            for (int rep = 0; rep < 40; rep++) {
                esi_postings c;
                ck_assert_int_eq(esi_postings_open(&c, seg, &ti, &e), ES_OK);
                uint32_t target = 0;
                for (;;) {
                    target += (uint32_t)(tu_rand(&st) % (rep % 2 ? 3 : 12));
                    es_status rc = esi_postings_advance(&c, target);
                    uint32_t want_doc = target;
                    while (want_doc < nd && f[base + want_doc] == 0)
                        want_doc++;
                    if (want_doc >= nd) {
                        ck_assert_int_eq(rc, ES_DONE);
                        break;
                    }
                    ck_assert_int_eq(rc, ES_OK);
                    ck_assert_uint_eq(c.doc, want_doc);
                    const uint32_t *ref = pos[base + c.doc];
                    uint32_t rf = f[base + c.doc], np = 0, want = 0;
                    ck_assert_uint_eq(c.freq, rf);
                    const uint32_t *got;
                    if (tu_rand(&st) % 4 == 0) {   /* positions not read */
                        target = c.doc + 1;
                        continue;
                    }
                    while (tu_rand(&st) % 6 != 0 && np < rf) {
                        want += (uint32_t)(tu_rand(&st) % 3000);
                        ck_assert_int_eq(esi_postings_positions_upto(&c, want, &got, &np),
                                         ES_OK);
                        ck_assert_uint_ge(np, 1);
                        ck_assert(np == rf || got[np - 1] >= want);
                        ck_assert(memcmp(got, ref, np * sizeof *got) == 0);
                    }
                    if (tu_rand(&st) % 2) {
                        ck_assert_int_eq(esi_postings_positions(&c, &got, &np), ES_OK);
                        ck_assert_uint_eq(np, rf);
                        ck_assert(memcmp(got, ref, np * sizeof *got) == 0);
                    }
                    target = c.doc + 1;
                }
                esi_postings_close(&c);
            }
            base += nd;
        }
        ck_assert_uint_eq(base, PW_DOCS);
        esi_snapshot_free(s);
        ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
        if (pass == 0)
            ck_assert_msg(esi_ixw_optimize(w, &e) == ES_OK, "%s", e.msg);
    }
    esi_ixw_free(w);
    free(occ);
    free(pos);
    free(f);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Damage, with the crc fixed up, in the skip table of a term in more than
 * ESI_POST_SKIP_DF docs (and now and then anywhere in its blocks): cursors
 * that walk and jump never crash or leave the segment's docs, and check
 * objects to most of it (a flipped padding bit changes nothing). */
START_TEST(test_storage_skip_table_damage)
{
    uint64_t st = tu_seed();
    char *dir = tu_tmpdir();
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    esi_err e;
    for (uint32_t d = 0; d < 1200; d++) {
        esi_occ occ[3] = { { (const uint8_t *)"x", 1, d % 5 },
                           { (const uint8_t *)"x", 1, d % 5 + 3 },
                           { (const uint8_t *)"y", 1, 9 } };
        char id[16];
        snprintf(id, sizeof id, "k%u", d);
        esi_doc_in in = { id, strlen(id), "", 0, NULL, 0, occ, d % 97 ? 2 : 3, 1, 0 };
        ck_assert_int_eq(esi_ixw_add(w, &in, &e), ES_OK);
    }
    commit(w);
    esi_ixw_free(w);
    esi_snapshot *s;
    ck_assert_int_eq(esi_snapshot_open(&s, dir, false, &e), ES_OK);
    esi_term_info ti;
    ck_assert_int_eq(esi_segment_lookup(s->segs[0], (const uint8_t *)"x", 1, &ti, &e), ES_OK);
    ck_assert_uint_gt(ti.df, ESI_POST_SKIP_DF);
    esi_snapshot_free(s);
    char name[64], path[512];
    esi_segment_filename(name, sizeof name, 1, "post");
    size_t len;
    char *orig = read_listed(dir, name, path, &len);
    size_t t_end = ES_FILE_HEADER_LEN + (size_t)ti.post_off + (size_t)ti.post_len;
    size_t tl = esi_le32_read((const uint8_t *)orig + t_end - 4) + 4;
    ck_assert_uint_lt(tl, ti.post_len);
    char *buf = malloc(len);
    int caught = 0, trials = 300;
    for (int k = 0; k < trials; k++) {
        memcpy(buf, orig, len);
        size_t at = k % 4 ? t_end - 1 - tu_rand(&st) % tl
                          : t_end - 1 - tu_rand(&st) % ti.post_len;
        buf[at] ^= (char)(1u << (tu_rand(&st) % 8));
        if (k % 3 == 0)
            buf[at] = (char)tu_rand(&st);
        esi_le32_write((uint8_t *)buf + len - 8, esi_crc32(0, buf, len - 8));
        write_bytes(path, buf, len);
        if (esi_snapshot_open(&s, dir, false, &e) == ES_OK) {
            const esi_segment *g = s->segs[0];
            for (int pass = 0; pass < 2; pass++) {
                esi_postings c;
                if (esi_postings_open(&c, g, &ti, &e) != ES_OK)
                    continue;
                uint32_t t = 0;
                while ((pass ? esi_postings_advance(&c, t) : esi_postings_next(&c)) == ES_OK) {
                    ck_assert_uint_lt(c.doc, esi_segment_doc_count(g));
                    t = c.doc + 1 + (uint32_t)(tu_rand(&st) % 400);
                }
                esi_postings_close(&c);
            }
            esi_snapshot_free(s);
        }
        caught += esi_storage_check(dir, &e) != ES_OK;
    }
    write_bytes(path, orig, len);
    ck_assert_msg(esi_storage_check(dir, &e) == ES_OK, "%s", e.msg);
    ck_assert_int_gt(caught, trials / 2);
    printf("skip table damage: %d of %d caught by check\n", caught, trials);
    free(buf);
    free(orig);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* A segment written in the varint-only postings format (no packed-runs
 * flag in the .post header) is refused with ES_EFORMAT and a message that
 * says to rebuild, not read as garbage. */
START_TEST(test_storage_old_post_format)
{
    char *dir = tu_tmpdir();
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    esi_occ occ = { (const uint8_t *)"x", 1, 3 };
    esi_doc_in in = { "o1", 2, "", 0, NULL, 0, &occ, 1, 1, 0 };
    esi_err e;
    ck_assert_int_eq(esi_ixw_add(w, &in, &e), ES_OK);
    commit(w);
    esi_ixw_free(w);
    char name[64];
    esi_segment_filename(name, sizeof name, 1, "post");
    char *path = esi_path_join(dir, name);
    esi_buf b = { 0 };
    ck_assert_int_eq(esi_io_read_file(path, &b, NULL, &e), ES_OK);
    ck_assert_uint_gt(b.len, 16);
    b.data[12] &= (uint8_t)~ESI_POST_FLAG_RUNS;   /* as format 1.0 wrote it */
    /* keep the crc right, so only the version can object */
    uint32_t crc = esi_crc32(0, b.data, b.len - 8);
    b.data[b.len - 8] = (uint8_t)crc;
    b.data[b.len - 7] = (uint8_t)(crc >> 8);
    b.data[b.len - 6] = (uint8_t)(crc >> 16);
    b.data[b.len - 5] = (uint8_t)(crc >> 24);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
    fclose(f);
    esi_snapshot *s;
    ck_assert_int_eq(esi_snapshot_open(&s, dir, true, &e), ES_EFORMAT);
    ck_assert_msg(strstr(e.msg, "rebuild") && strstr(e.msg, ".post"), "%s", e.msg);
    ck_assert_int_eq(esi_storage_check(dir, &e), ES_EFORMAT);
    esi_buf_free(&b);
    esi_free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Remove dir and index documents 0..n-1 of m there anew, committed; the
 * writer, still open. */
static esi_ixw *build_again(const char *dir, model *m, int n)
{
    tu_rmrf(dir);
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    for (int k = 0; k < n; k++)
        add(w, m, k);
    commit(w);
    return w;
}

/* A snapshot reopened from an older one (esi_snapshot_reopen) shares the
 * segments the new commit keeps, and only while their files are the ones
 * the old snapshot mapped: after a commit that adds a segment the kept
 * segments are the same objects, the new one is not, and each snapshot
 * reads its documents whichever is freed first; deletions (a new .del,
 * same segment) still share; after an optimize nothing is shared; an
 * index removed and built again with the same documents, so the same
 * segment ids and sizes, shares nothing either (other files). */
START_TEST(test_storage_reopen_shares_segments)
{
    vocab_init();
    uint64_t st = tu_seed();
    char *dir = tu_tmpdir();
    model *m = calloc(1, sizeof *m);
    esi_ixw *w = open_writer(dir, (size_t)64 << 20);
    add_first(w, m, 20, &st);
    esi_snapshot *s1, *s2, *s3;
    esi_err e;
    ck_assert_int_eq(esi_snapshot_open(&s1, dir, false, &e), ES_OK);
    ck_assert_uint_eq(s1->nsegs, 1);
    /* one more segment */
    for (int k = 20; k < 30; k++) {
        gen_doc(&m->docs[k], k, &st);
        add(w, m, k);
    }
    commit(w);
    ck_assert_int_eq(esi_snapshot_reopen(&s2, s1, dir, false, &e), ES_OK);
    ck_assert_uint_eq(s2->nsegs, 2);
    ck_assert_ptr_eq(s2->segs[0], s1->segs[0]);
    ck_assert_ptr_ne(s2->segs[1], s1->segs[0]);
    ck_assert_uint_eq(s2->live_docs, 30);
    esi_snapshot_free(s1);             /* the shared segment stays mapped */
    same_texts(s2, m);
    /* a deletion: a new .del file, the same segments */
    ck_assert_int_eq(esi_ixw_delete(w, "doc-5", 5, &e), ES_OK);
    commit(w);
    ck_assert_int_eq(esi_snapshot_reopen(&s3, s2, dir, false, &e), ES_OK);
    ck_assert_ptr_eq(s3->segs[0], s2->segs[0]);
    ck_assert_ptr_eq(s3->segs[1], s2->segs[1]);
    ck_assert_uint_eq(s3->live_docs, 29);
    ck_assert(esi_snapshot_is_deleted(s3, 0, 5));
    ck_assert(!esi_snapshot_is_deleted(s2, 0, 5));
    esi_snapshot_free(s2);
    /* optimize: one new segment, nothing shared */
    ck_assert_int_eq(esi_ixw_optimize(w, &e), ES_OK);
    ck_assert_int_eq(esi_snapshot_reopen(&s2, s3, dir, false, &e), ES_OK);
    ck_assert_uint_eq(s2->nsegs, 1);
    ck_assert(s2->segs[0] != s3->segs[0] && s2->segs[0] != s3->segs[1]);
    esi_snapshot_free(s2);
    esi_snapshot_free(s3);
    esi_ixw_free(w);
    /* an index built twice in one directory from the same 20 documents:
     * seg_000001 has the same id and sizes both times, not the same files */
    w = build_again(dir, m, 20);
    ck_assert_int_eq(esi_snapshot_open(&s1, dir, false, &e), ES_OK);
    ck_assert_int_eq(esi_snapshot_reopen(&s2, s1, dir, false, &e), ES_OK);
    ck_assert_ptr_eq(s2->segs[0], s1->segs[0]);   /* unchanged: shared */
    esi_snapshot_free(s2);
    esi_ixw_free(w);
    w = build_again(dir, m, 20);
    ck_assert_int_eq(esi_snapshot_reopen(&s2, s1, dir, false, &e), ES_OK);
    ck_assert_uint_eq(s2->nsegs, 1);
    ck_assert_uint_eq(s2->segs[0]->id, s1->segs[0]->id);
    ck_assert(!memcmp(s2->segs[0]->sizes, s1->segs[0]->sizes, sizeof s1->segs[0]->sizes));
    ck_assert_ptr_ne(s2->segs[0], s1->segs[0]);
    esi_snapshot_free(s1);
    esi_snapshot_free(s2);
    esi_ixw_free(w);
    free(m);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *storage_suite(void)
{
    Suite *s = suite_create("storage");
#define ADD(name, fn, lo, hi, timeout) tu_add_case(s, name, fn, lo, hi, timeout)
    ADD("roundtrip_property", test_storage_roundtrip_property, 0, 4, 120);
    ADD("merge_policy", test_storage_merge_policy, 0, 1, 120);
    ADD("block_edges", test_storage_block_edges, 0, 24, 60);
    ADD("positionless_mixing", test_storage_positionless_mixing, 0, 1, 60);
    ADD("replace_delete", test_storage_replace_delete, 0, 1, 60);
    ADD("snapshot_isolation", test_storage_snapshot_isolation, 0, 1, 60);
    ADD("writer_lock", test_storage_writer_lock, 0, 1, 60);
    ADD("byte_flips_detected", test_storage_byte_flips_detected, 0, 1, 300);
    ADD("structural_corruption", test_storage_structural_corruption, 0, 1, 300);
    ADD("truncation_detected", test_storage_truncation_detected, 0, 1, 300);
    ADD("io_faults_in_commit", test_storage_io_faults_in_commit, 0, 1, 300);
    ADD("alloc_failures", test_storage_alloc_failures, 0, 1, 300);
    ADD("sigkill_loop", test_storage_sigkill_loop, 0, 1, 120);
    ADD("concurrent_reader", test_storage_concurrent_reader, 0, 1, 120);
    ADD("grouped_add", test_storage_grouped_add, 0, 1, 120);
    ADD("cache_matches_uncached", test_storage_cache_matches_uncached, 0, 12, 120);
    ADD("cache_pins_hold", test_storage_cache_pins_hold, 0, 1, 60);
    ADD("cache_zero_budget", test_storage_cache_zero_budget, 0, 1, 60);
    ADD("cache_corrupt_block", test_storage_cache_corrupt_block, 0, 1, 60);
    ADD("cache_threads", test_storage_cache_threads, 0, 1, 120);
    ADD("merge_store_copy", test_storage_merge_store_copy, 0, 2, 120);
    ADD("merge_copy_damaged", test_storage_merge_copy_damaged, 0, 1, 120);
    ADD("run_codec", test_storage_run_codec, 0, 8, 60);
    ADD("run_coding_bias", test_storage_run_coding_bias, 0, 1, 60);
    ADD("sum_runs", test_storage_sum_runs, 0, 2, 60);
    ADD("run_widths_at_end", test_storage_run_widths_at_end, 0, 11, 60);
    ADD("merge_block_copy", test_storage_merge_block_copy, 0, 6, 120);
    ADD("old_post_format", test_storage_old_post_format, 0, 1, 60);
    ADD("positions_windows", test_storage_positions_windows, 0, 4, 120);
    ADD("skip_table_damage", test_storage_skip_table_damage, 0, 1, 120);
    ADD("reopen_shares_segments", test_storage_reopen_shares_segments, 0, 1, 60);
#undef ADD
    return s;
}

int main(void)
{
    return tu_run(storage_suite());
}
