/*
 * merge.c: merging segments into one new segment, dropping deleted docs.
 * No re-analysis: stored records are copied as they are (a source without
 * deletions keeps its compressed store blocks byte for byte, so the merge
 * does not recompress the text), and postings are
 * re-read through cursors with their docnos renumbered in segment order. A
 * full block none of whose docs was deleted keeps its positions section
 * byte for byte (positions do not depend on docnos; only its small doc
 * section is re-encoded), so the costly part of a merge, decoding and
 * re-encoding positions, is left to short blocks (the few docs of rare
 * terms, re-encoded into one block) and blocks with deletions. A term
 * keeps positions only if every source that holds it has them (sources
 * written before and after a caller stopped giving a term positions merge
 * to a positionless term). The term walk is a k-way merge of the sources'
 * dictionaries in bytewise order. The new files stream to disk as they are
 * built (esi_segw), so a merge holds no file image in memory. The writer
 * (ixw.c) decides what to merge and when; this file only builds the merged
 * segment's files.
 */
#include "storage_int.h"

#include <stdio.h>

/* Bytewise order of two buffers, shorter first on a tie. */
static int cmp_buf(const esi_buf *a, const esi_buf *b)
{
    size_t m = a->len < b->len ? a->len : b->len;
    int c = m ? memcmp(a->data, b->data, m) : 0;
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* The message of a failure while building the merged segment: a sink's
 * I/O error names its file. */
static es_status build_error(const esi_segw *w, es_status rc, esi_err *e)
{
    if (rc == ES_EIO && w->ioerr.code != ES_OK) {
        *e = w->ioerr;
        return rc;
    }
    return esi_err_set(e, rc, "merging segments into seg_%06llu: %s",
                       (unsigned long long)w->id, es_strerror(rc));
}

/* At the first doc of a full block: if none of its docs is deleted, append
 * the block to pe with its positions section copied as it is, leave the
 * cursor on its last doc and return true. False (nothing done) for a short
 * block (re-encoding joins the short lists of rare terms into one block,
 * where copying would keep one block header per source), when a doc is
 * deleted, or on an error (*rc set). */
static bool copy_live_block(es_status *rc, esi_postings *c, const uint32_t *map,
                            esi_postenc *pe)
{
    uint32_t nd[ESI_POST_BLOCK];
    uint32_t n = c->block_n;
    if (n != ESI_POST_BLOCK)
        return false;
    for (uint32_t k = 0; k < n; k++)
        if ((nd[k] = map[c->block_docs[k]]) == UINT32_MAX)
            return false;
    const uint8_t *pos;
    size_t len;
    *rc = esi_postings_take_block(c, &pos, &len);
    if (*rc != ES_OK)
        return false;
    esi_postenc_copy_block(rc, pe, nd, c->block_freqs, n, pos, len);
    return *rc == ES_OK;
}

/* True if bitset del (NULL: none) marks any of the first n docs. */
static bool any_deleted(const uint8_t *del, uint32_t n)
{
    if (!del)
        return false;
    for (uint32_t i = 0; i < n / 8; i++)
        if (del[i])
            return true;
    for (uint32_t d = n & ~7u; d < n; d++)
        if ((del[d >> 3] >> (d & 7)) & 1)
            return true;
    return false;
}

/* Verify the crc32 of every source's .post and .store: blocks of both are
 * copied unchanged, and a copy would give damaged bytes a fresh, valid
 * checksum in the merged segment. */
static es_status verify_sources(esi_segment *const *segs, size_t n, esi_err *e)
{
    for (size_t i = 0; i < n; i++) {
        const esi_segment *s = segs[i];
        const struct {
            const esi_map *m;
            const char *magic, *ext;
        } f[2] = { { &s->post, ESI_MAGIC_POST, "post" },
                   { &s->store, ESI_MAGIC_STORE, "store" } };
        for (int k = 0; k < 2; k++) {
            char name[48];
            snprintf(name, sizeof name, "%s.%s", s->name, f[k].ext);
            esi_rd pl;
            es_status rc = esi_file_open(f[k].m->data, f[k].m->len, f[k].magic,
                                         name, true, &pl, NULL, e);
            if (rc != ES_OK)
                return rc;
        }
    }
    return ES_OK;
}

es_status esi_merge_segments(esi_segment *const *segs, const uint8_t *const *dels,
                             size_t n, const char *dir, uint64_t id, bool sync,
                             esi_segment **out, esi_err *e)
{
    *out = NULL;
    esi_segw w;
    uint32_t **map = esi_calloc(n ? n : 1, sizeof *map);
    esi_dict_iter *its = esi_calloc(n ? n : 1, sizeof *its);
    es_status *st = esi_calloc(n ? n : 1, sizeof *st);
    esi_doc_reader *dr = NULL;
    esi_postings c;
    bool c_open = false;
    es_status rc = esi_segw_open(&w, dir, id, e);
    if (rc != ES_OK)
        goto done;
    if (!map || !its || !st) {
        rc = esi_err_set(e, ES_ENOMEM, "out of memory merging segments");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        esi_dict_iter_init(&its[i], segs[i]);
    rc = esi_doc_reader_new(&dr, e);
    if (rc != ES_OK)
        goto done;
    rc = verify_sources(segs, n, e);
    if (rc != ES_OK)
        goto done;
    /* stored documents and the docno map */
    uint64_t next = 0;
    for (size_t i = 0; i < n; i++) {
        const esi_segment *s = segs[i];
        map[i] = esi_malloc(s->ndocs ? (size_t)s->ndocs * sizeof(uint32_t) : 1);
        if (!map[i]) {
            rc = esi_err_set(e, ES_ENOMEM, "out of memory merging segments");
            goto done;
        }
        if (!any_deleted(dels[i], s->ndocs)) {
            if (s->ndocs > UINT32_MAX - 1 - next) {
                rc = esi_err_set(e, ES_ELIMIT, "merged segment would hold "
                                 "more than 2^32-1 documents");
                goto done;
            }
            esi_storew_copy_segment(&rc, &w.store, s);
            if (rc == ES_ECORRUPT) {
                rc = esi_err_set(e, rc, "%s.store: damaged tables; run "
                                 "'edusearch check'", s->name);
                goto done;
            }
            if (rc != ES_OK) {
                rc = build_error(&w, rc, e);
                goto done;
            }
            for (uint32_t d = 0; d < s->ndocs; d++)
                map[i][d] = (uint32_t)next++;
            continue;
        }
        for (uint32_t d = 0; d < s->ndocs; d++) {
            if (dels[i] && ((dels[i][d >> 3] >> (d & 7)) & 1)) {
                map[i][d] = UINT32_MAX;
                continue;
            }
            if (next >= UINT32_MAX) {
                rc = esi_err_set(e, ES_ELIMIT, "merged segment would hold "
                                 "more than 2^32-1 documents");
                goto done;
            }
            const uint8_t *rec;
            size_t len;
            rc = esi_doc_read_raw(dr, s, d, &rec, &len, e);
            if (rc != ES_OK)
                goto done;
            esi_storew_add(&rc, &w.store, rec, len, esi_segment_doclen(s, d),
                           esi_segment_date(s, d));
            if (rc != ES_OK) {
                rc = build_error(&w, rc, e);
                goto done;
            }
            map[i][d] = (uint32_t)next++;
        }
    }
    if (next == 0)
        goto done;
    /* terms: k-way merge of the dictionaries */
    for (size_t i = 0; i < n; i++) {
        st[i] = esi_dict_iter_next(&its[i], e);
        if (st[i] < 0) {
            rc = st[i];
            goto done;
        }
    }
    for (;;) {
        const esi_buf *min = NULL;
        for (size_t i = 0; i < n; i++)
            if (st[i] == ES_OK && (!min || cmp_buf(&its[i].term, min) < 0))
                min = &its[i].term;
        if (!min)
            break;
        esi_buf term = *min;   /* stays valid until its owner advances */
        size_t owner = 0;
        for (size_t i = 0; i < n; i++)
            if (&its[i].term == min)
                owner = i;
        /* positions survive only if every source has them */
        bool positions = true;
        for (size_t i = 0; i < n; i++)
            if (st[i] == ES_OK && (i == owner || cmp_buf(&its[i].term, &term) == 0) &&
                !its[i].ti.positions)
                positions = false;
        esi_postenc_begin(&w.pe, ESI_SEGW_POST(&w), positions);
        for (size_t i = 0; i < n; i++) {
            if (st[i] != ES_OK || (i != owner && cmp_buf(&its[i].term, &term) != 0))
                continue;
            rc = esi_postings_open(&c, segs[i], &its[i].ti, e);
            if (rc != ES_OK)
                goto done;
            c_open = true;
            while ((rc = esi_postings_next(&c)) == ES_OK) {
                if (c.block_i == 0 && copy_live_block(&rc, &c, map[i], &w.pe))
                    continue;
                if (rc != ES_OK)
                    break;
                uint32_t nd = map[i][c.doc];
                if (nd == UINT32_MAX)
                    continue;
                const uint32_t *pos = NULL;
                uint32_t np = c.freq;
                if (positions) {
                    rc = esi_postings_positions(&c, &pos, &np);
                    if (rc != ES_OK)
                        break;
                }
                esi_postenc_add(&rc, &w.pe, nd, pos, np);
                if (rc != ES_OK)
                    break;
            }
            esi_postings_close(&c);
            c_open = false;
            if (rc != ES_DONE) {
                if (rc == ES_ECORRUPT)
                    rc = esi_err_set(e, rc, "%s.post: damaged postings; run "
                                     "'edusearch check'", segs[i]->name);
                else
                    rc = esi_err_set(e, rc, "merging %s: %s", segs[i]->name,
                                     es_strerror(rc));
                goto done;
            }
            rc = ES_OK;
        }
        esi_term_info ti;
        esi_postenc_finish(&rc, &w.pe, &ti);
        if (rc == ES_OK && ti.df > 0)
            esi_dictw_add(&rc, &w.dict, term.data, term.len, &ti);
        if (rc != ES_OK) {
            rc = build_error(&w, rc, e);
            goto done;
        }
        /* advance every iterator that was on this term, the owner last */
        for (size_t i = 0; i < n; i++) {
            if (i == owner || st[i] != ES_OK || cmp_buf(&its[i].term, &term) != 0)
                continue;
            st[i] = esi_dict_iter_next(&its[i], e);
            if (st[i] < 0) {
                rc = st[i];
                goto done;
            }
        }
        st[owner] = esi_dict_iter_next(&its[owner], e);
        if (st[owner] < 0) {
            rc = st[owner];
            goto done;
        }
    }
    uint64_t sizes[3];
    rc = esi_segw_finish(&w, ES_OK, sync, sizes, e);
    if (rc == ES_OK)
        rc = esi_segment_open(out, dir, id, false, e);
done:
    if (c_open)
        esi_postings_close(&c);
    for (size_t i = 0; i < n; i++) {
        if (map)
            esi_free(map[i]);
        if (its)
            esi_dict_iter_free(&its[i]);
    }
    esi_free(map);
    esi_free(its);
    esi_free(st);
    esi_doc_reader_free(dr);
    esi_segw_free(&w);
    return rc;
}
