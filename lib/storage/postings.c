/*
 * postings.c: the .post codec (docs/FORMAT.md §4). A term's postings are
 * blocks of up to 128 docs; each block starts with a small header (last
 * docno, byte lengths of its doc/freq section and of its positions section,
 * max tf), so a cursor can jump over a block by reading four varints, and
 * can read docs and freqs without touching positions. Encoding is varint
 * with delta-coded docnos (freq == 1 folded into the doc delta's low bit)
 * and positions delta-coded per doc. Terms stored without positions (all
 * their occurrences were ESI_POS_NONE) have no positions sections and no
 * pos_bytes field in their block headers.
 *
 * The cursor never allocates per posting: one block of docs and freqs is
 * decoded into arrays inside the cursor, positions into one growing array.
 * Every read is bounded by the term's byte range and every docno is checked
 * against the segment's doc count, so damaged data gives ES_ECORRUPT (sticky
 * in the cursor) and never an out-of-bounds read, here or in callers that
 * index per-doc arrays by docno.
 */
#include "storage_int.h"

/* ---- encoder ------------------------------------------------------------ */

void esi_postenc_begin(esi_postenc *pe, esi_sink *out, bool positions)
{
    pe->out = out;
    esi_buf_reset(&pe->docsec);
    esi_buf_reset(&pe->possec);
    pe->n = 0;
    pe->base = 0;
    pe->prev = 0;
    pe->blk_max_tf = 0;
    memset(&pe->ti, 0, sizeof pe->ti);
    pe->ti.post_off = esi_sink_off(out);
    pe->ti.positions = positions;
}

/* Write the pending block (header, docs, positions) to the output; a term
 * without positions has no pos_bytes field and no positions section. */
static void flush_block(es_status *rc, esi_postenc *pe)
{
    if (pe->n == 0)
        return;
    esi_buf_put_varint(rc, &pe->out->b, pe->prev - pe->base);
    esi_buf_put_varint(rc, &pe->out->b, pe->docsec.len);
    if (pe->ti.positions)
        esi_buf_put_varint(rc, &pe->out->b, pe->possec.len);
    esi_buf_put_varint(rc, &pe->out->b, pe->blk_max_tf);
    esi_buf_put(rc, &pe->out->b, pe->docsec.data, pe->docsec.len);
    esi_buf_put(rc, &pe->out->b, pe->possec.data, pe->possec.len);
    esi_buf_reset(&pe->docsec);
    esi_buf_reset(&pe->possec);
    pe->base = pe->prev + 1;
    pe->n = 0;
    pe->blk_max_tf = 0;
}

void esi_postenc_add(es_status *rc, esi_postenc *pe, uint32_t docno,
                     const uint32_t *pos, uint32_t n)
{
    if (*rc != ES_OK)
        return;
    if (n == 0 || (pe->ti.df > 0 && docno <= pe->prev) || docno < pe->base) {
        *rc = ES_EINVAL;
        return;
    }
    uint64_t d = pe->n == 0 ? docno - pe->base : docno - pe->prev - 1;
    esi_buf_put_varint(rc, &pe->docsec, (d << 1) | (n == 1));
    if (n != 1)
        esi_buf_put_varint(rc, &pe->docsec, n);
    uint32_t last = 0;
    for (uint32_t i = 0; pe->ti.positions && i < n; i++) {
        if (pos[i] < last || pos[i] == ESI_POS_NONE) {
            *rc = ES_EINVAL;
            return;
        }
        esi_buf_put_varint(rc, &pe->possec, pos[i] - last);
        last = pos[i];
    }
    pe->prev = docno;
    pe->n++;
    pe->ti.df++;
    pe->ti.cf += n;
    if (n > pe->blk_max_tf)
        pe->blk_max_tf = n;
    if (n > pe->ti.max_tf)
        pe->ti.max_tf = n;
    if (pe->n == ESI_POST_BLOCK)
        flush_block(rc, pe);
}

void esi_postenc_finish(es_status *rc, esi_postenc *pe, esi_term_info *out)
{
    flush_block(rc, pe);
    pe->ti.post_len = esi_sink_off(pe->out) - pe->ti.post_off;
    *out = pe->ti;
    esi_sink_drain(rc, pe->out);
}

void esi_postenc_free(esi_postenc *pe)
{
    esi_buf_free(&pe->docsec);
    esi_buf_free(&pe->possec);
}

/* ---- cursor ------------------------------------------------------------- */

/* Decode a varint of at most 32 bits at *pp (< end); false on overrun. */
static inline bool get_v32(const uint8_t **pp, const uint8_t *end, uint32_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return true;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (p >= end)
            return false;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (v > UINT32_MAX)
                return false;
            *out = (uint32_t)v;
            *pp = p;
            return true;
        }
    }
    return false;
}

/* Mark the cursor corrupt (sticky) and return ES_ECORRUPT. */
static es_status corrupt(esi_postings *c)
{
    c->err = ES_ECORRUPT;
    c->doc = UINT32_MAX;
    return ES_ECORRUPT;
}

es_status esi_postings_open(esi_postings *c, const esi_segment *s,
                            const esi_term_info *ti, esi_err *e)
{
    memset(c, 0, offsetof(esi_postings, block_docs));
    c->block_n = c->block_i = c->block_last = c->next_base = 0;
    c->has_pos = false;
    c->pos_p = c->pos_end = NULL;
    c->pos_i = 0;
    c->positions_decoded = false;
    c->pos = NULL;
    c->pos_n = c->pos_cap = 0;
    c->err = ES_OK;
    c->seg = s;
    c->doc = UINT32_MAX;
    if (ti->post_off > s->post_len || ti->post_len > s->post_len - ti->post_off ||
        ti->df == 0 || ti->df > s->ndocs) {
        c->err = ES_ECORRUPT;
        return esi_err_set(e, ES_ECORRUPT,
                           "%s.post: postings range out of bounds (damaged "
                           "dictionary?); run 'edusearch check'", s->name);
    }
    c->rd = esi_rd_make(s->post_p + ti->post_off, (size_t)ti->post_len);
    c->df = ti->df;
    c->docs_left = ti->df;
    c->has_pos = ti->positions;
    return ES_OK;
}

/* Read the header of the next block: *last, section lengths. */
static bool read_header(esi_postings *c, uint32_t *last, uint32_t *dlen,
                        uint32_t *plen)
{
    uint32_t dl, mt;
    *plen = 0;
    if (!get_v32(&c->rd.p, c->rd.end, &dl) || !get_v32(&c->rd.p, c->rd.end, dlen) ||
        (c->has_pos && !get_v32(&c->rd.p, c->rd.end, plen)) ||
        !get_v32(&c->rd.p, c->rd.end, &mt))
        return false;
    if ((uint64_t)c->next_base + dl >= c->seg->ndocs)
        return false;
    *last = c->next_base + dl;
    size_t left = esi_rd_left(&c->rd);
    return *dlen <= left && *plen <= left - *dlen;
}

/* Decode the doc/freq section of the block whose header was just read. */
static es_status decode_block(esi_postings *c, uint32_t last, uint32_t dlen,
                              uint32_t plen)
{
    uint32_t n = c->docs_left < ESI_POST_BLOCK ? c->docs_left : ESI_POST_BLOCK;
    const uint8_t *p = c->rd.p, *end = p + dlen;
    uint64_t doc = c->next_base;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v, f = 1;
        if (!get_v32(&p, end, &v))
            return corrupt(c);
        if (i > 0)
            doc += 1;
        doc += v >> 1;
        if (!(v & 1) && (!get_v32(&p, end, &f) || f < 2))
            return corrupt(c);
        c->block_docs[i] = (uint32_t)(doc > UINT32_MAX ? UINT32_MAX : doc);
        c->block_freqs[i] = f;
    }
    if (p != end || doc != last)
        return corrupt(c);
    c->pos_p = end;
    c->pos_end = end + plen;
    c->pos_i = 0;
    c->rd.p = end + plen;
    c->block_n = n;
    c->block_i = 0;
    c->block_last = last;
    c->next_base = last + 1;
    c->docs_left -= n;
    return ES_OK;
}

/* Set the current doc to block index i. */
static inline es_status set_doc(esi_postings *c, uint32_t i)
{
    c->block_i = i;
    c->doc = c->block_docs[i];
    c->freq = c->block_freqs[i];
    c->positions_decoded = false;
    return ES_OK;
}

/* Enter the next block; ES_DONE when there is none. */
static es_status next_block(esi_postings *c)
{
    if (c->docs_left == 0) {
        c->doc = UINT32_MAX;
        c->block_n = c->block_i = 0;
        return ES_DONE;
    }
    uint32_t last, dlen, plen;
    if (!read_header(c, &last, &dlen, &plen))
        return corrupt(c);
    es_status rc = decode_block(c, last, dlen, plen);
    if (rc != ES_OK)
        return rc;
    return set_doc(c, 0);
}

es_status esi_postings_next(esi_postings *c)
{
    if (c->err != ES_OK)
        return c->err;
    if (c->block_n > 0 && c->block_i + 1 < c->block_n)
        return set_doc(c, c->block_i + 1);
    return next_block(c);
}

es_status esi_postings_advance(esi_postings *c, uint32_t target)
{
    if (c->err != ES_OK)
        return c->err;
    if (c->doc != UINT32_MAX && c->doc >= target)
        return ES_OK;
    if (c->block_n == 0 || target > c->block_last) {
        /* skip whole blocks by their headers */
        for (;;) {
            if (c->docs_left == 0) {
                c->doc = UINT32_MAX;
                c->block_n = c->block_i = 0;
                return ES_DONE;
            }
            uint32_t last, dlen, plen;
            if (!read_header(c, &last, &dlen, &plen))
                return corrupt(c);
            if (last >= target) {
                es_status rc = decode_block(c, last, dlen, plen);
                if (rc != ES_OK)
                    return rc;
                c->block_i = 0;
                break;
            }
            uint32_t n = c->docs_left < ESI_POST_BLOCK ? c->docs_left
                                                       : ESI_POST_BLOCK;
            c->rd.p += (size_t)dlen + plen;
            c->docs_left -= n;
            c->next_base = last + 1;
        }
    }
    uint32_t i = c->block_i;
    while (i < c->block_n && c->block_docs[i] < target)
        i++;
    if (i >= c->block_n)   /* unreachable unless data lies about last */
        return corrupt(c);
    return set_doc(c, i);
}

es_status esi_postings_positions(esi_postings *c, const uint32_t **pos,
                                 uint32_t *n)
{
    if (c->err != ES_OK)
        return c->err;
    if (c->doc == UINT32_MAX)
        return corrupt(c);
    if (!c->has_pos) {
        *pos = c->pos;
        *n = 0;
        return ES_OK;
    }
    if (!c->positions_decoded) {
        if (c->pos_i > c->block_i)
            return corrupt(c);
        /* skip the positions of the docs in between: count varint ends */
        uint64_t skip = 0;
        for (uint32_t i = c->pos_i; i < c->block_i; i++)
            skip += c->block_freqs[i];
        const uint8_t *p = c->pos_p, *end = c->pos_end;
        while (skip > 0) {
            if (p >= end)
                return corrupt(c);
            skip -= !(*p++ & 0x80);
        }
        uint32_t f = c->freq;
        if (f > c->pos_cap) {
            uint32_t cap = c->pos_cap ? c->pos_cap : 64;
            while (cap < f)
                cap = cap > UINT32_MAX / 2 ? f : cap * 2;
            size_t bytes;
            if (!esi_mul_ok(cap, sizeof(uint32_t), &bytes))
                return ES_ENOMEM;
            uint32_t *np = esi_realloc(c->pos, bytes);
            if (!np)
                return ES_ENOMEM;
            c->pos = np;
            c->pos_cap = cap;
        }
        uint64_t at = 0;
        for (uint32_t i = 0; i < f; i++) {
            uint32_t d;
            if (!get_v32(&p, end, &d))
                return corrupt(c);
            at += d;
            if (at > UINT32_MAX)
                return corrupt(c);
            c->pos[i] = (uint32_t)at;
        }
        c->pos_p = p;
        c->pos_i = c->block_i + 1;
        c->pos_n = f;
        c->positions_decoded = true;
    }
    *pos = c->pos;
    *n = c->pos_n;
    return ES_OK;
}

void esi_postings_close(esi_postings *c)
{
    esi_free(c->pos);
    c->pos = NULL;
    c->pos_cap = 0;
    c->pos_n = 0;
}
