/*
 * termdict.c: the .dict codec (docs/FORMAT.md §3). Terms are sorted
 * bytewise and stored in blocks of 64 prefix-compressed entries; a block
 * index at the end of the file (fixed 16-byte entries plus the first term of
 * every block) is binary-searched in the mapped file, so opening reads
 * nothing and a lookup touches the index and exactly one block.
 *
 * Terms are at most ESI_MAX_TERM bytes (the writer refuses longer ones), so
 * readers rebuild a term in a stack buffer. All decoding is bounded by the
 * block's byte range; damaged data gives ES_ECORRUPT naming the file.
 */
#include "storage_int.h"

void esi_dictw_init(esi_dictw *w, esi_sink *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

void esi_dictw_add(es_status *rc, esi_dictw *w, const uint8_t *term,
                   size_t len, const esi_term_info *ti)
{
    if (*rc != ES_OK)
        return;
    if (len == 0 || len > ESI_MAX_TERM || ti->df == 0 || ti->max_tf == 0) {
        *rc = ES_EINVAL;
        return;
    }
    size_t shared = 0;
    if (w->nterms > 0) {
        size_t m = w->last.len < len ? w->last.len : len;
        while (shared < m && w->last.data[shared] == term[shared])
            shared++;
        /* strictly increasing order */
        if (shared == len || (shared < w->last.len && w->last.data[shared] > term[shared])) {
            *rc = ES_EINVAL;
            return;
        }
    }
    bool first = w->in_block == 0;
    if (first) {
        shared = 0;
        uint64_t off = esi_sink_off(w->out);
        esi_buf_put_u64(rc, &w->index, off);
        esi_buf_put_u32(rc, &w->index, (uint32_t)w->firsts.len);
        esi_buf_put_u32(rc, &w->index, (uint32_t)len);
        esi_buf_put(rc, &w->firsts, term, len);
        w->nblocks++;
    } else if (ti->post_off != w->next_off) {
        *rc = ES_EINVAL;
        return;
    }
    esi_buf_put_varint(rc, &w->out->b, shared);
    esi_buf_put_varint(rc, &w->out->b, len - shared);
    esi_buf_put(rc, &w->out->b, term + shared, len - shared);
    if (first)
        esi_buf_put_varint(rc, &w->out->b, ti->post_off);
    esi_buf_put_varint(rc, &w->out->b, ti->df);
    esi_buf_put_varint(rc, &w->out->b, ti->cf - ti->df);
    esi_buf_put_varint(rc, &w->out->b, ((uint64_t)ti->max_tf << 1) | !ti->positions);
    esi_buf_put_varint(rc, &w->out->b, ti->post_len);
    w->next_off = ti->post_off + ti->post_len;
    esi_buf_reset(&w->last);
    esi_buf_put(rc, &w->last, term, len);
    w->nterms++;
    if (++w->in_block == ESI_DICT_BLOCK)
        w->in_block = 0;
    esi_sink_drain(rc, w->out);
}

void esi_dictw_finish(es_status *rc, esi_dictw *w)
{
    if (*rc == ES_OK && w->firsts.len > UINT32_MAX)
        *rc = ES_ELIMIT;
    esi_buf_put(rc, &w->out->b, w->index.data, w->index.len);
    esi_buf_put(rc, &w->out->b, w->firsts.data, w->firsts.len);
    esi_buf_put_u64(rc, &w->out->b, w->nterms);
    esi_buf_put_u32(rc, &w->out->b, w->nblocks);
    esi_buf_put_u32(rc, &w->out->b, (uint32_t)w->firsts.len);
}

void esi_dictw_free(esi_dictw *w)
{
    esi_buf_free(&w->index);
    esi_buf_free(&w->firsts);
    esi_buf_free(&w->last);
}

/* ---- reading ------------------------------------------------------------ */

/* Byte range of dictionary block b; false if the index is inconsistent. */
static bool block_range(const esi_segment *s, uint32_t b, esi_rd *out)
{
    const uint8_t *ix = s->dict_index + (size_t)b * 16;
    uint64_t start = esi_le64_read(ix);
    uint64_t end = b + 1 < s->dict_nblocks ? esi_le64_read(ix + 16)
                                           : s->dict_blocks_end;
    if (start > end || end > s->dict_blocks_end)
        return false;
    *out = esi_rd_make(s->dict_p + start, (size_t)(end - start));
    return true;
}

/* First term of block b (borrowed from the map); false if out of range. */
static bool block_first(const esi_segment *s, uint32_t b, const uint8_t **t,
                        size_t *n)
{
    const uint8_t *ix = s->dict_index + (size_t)b * 16;
    uint32_t off = esi_le32_read(ix + 8), len = esi_le32_read(ix + 12);
    if (off > s->dict_firsts_len || len > s->dict_firsts_len - off)
        return false;
    *t = s->dict_firsts + off;
    *n = len;
    return true;
}

/* Bytewise comparison of a and b, shorter first on a tie. */
static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

/* Decode one entry into term[*tlen] and ti; first says it carries post_off. */
static bool read_entry(esi_rd *r, bool first, uint8_t *term, size_t *tlen,
                       esi_term_info *ti)
{
    uint64_t shared, suffix, df, cfx, mtf, plen;
    const uint8_t *p;
    if (!esi_rd_varint(r, &shared) || !esi_rd_varint(r, &suffix))
        return false;
    if (shared > *tlen || (first && shared != 0) ||
        suffix > ESI_MAX_TERM - shared || !esi_rd_take(r, (size_t)suffix, &p))
        return false;
    memcpy(term + shared, p, (size_t)suffix);
    *tlen = (size_t)(shared + suffix);
    uint64_t off = ti->post_off + ti->post_len;
    if (first && !esi_rd_varint(r, &off))
        return false;
    if (!esi_rd_varint(r, &df) || !esi_rd_varint(r, &cfx) ||
        !esi_rd_varint(r, &mtf) || !esi_rd_varint(r, &plen))
        return false;
    bool nopos = mtf & 1;
    mtf >>= 1;
    if (df == 0 || df > UINT32_MAX || mtf > UINT32_MAX || mtf == 0 ||
        cfx > UINT64_MAX - df)
        return false;
    ti->df = (uint32_t)df;
    ti->cf = cfx + df;
    ti->max_tf = (uint32_t)mtf;
    ti->positions = !nopos;
    ti->post_off = off;
    ti->post_len = plen;
    return true;
}

/* Entries in block b. */
static uint32_t block_terms(const esi_segment *s, uint32_t b)
{
    if (b + 1 < s->dict_nblocks)
        return ESI_DICT_BLOCK;
    return (uint32_t)(s->nterms - (uint64_t)b * ESI_DICT_BLOCK);
}

static es_status dict_corrupt(const esi_segment *s, esi_err *e, const char *what)
{
    return esi_err_set(e, ES_ECORRUPT, "%s.dict: %s; the file is damaged, run "
                       "'edusearch check'", s->name, what);
}

es_status esi_dict_seek_block(const esi_segment *s, const uint8_t *key,
                              size_t len, bool inclusive, uint32_t *block,
                              esi_err *e)
{
    uint32_t lo = 0, hi = s->dict_nblocks;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        const uint8_t *t;
        size_t n;
        if (!block_first(s, mid, &t, &n))
            return dict_corrupt(s, e, "block index out of range");
        int c = cmp_bytes(t, n, key, len);
        if (c < 0 || (inclusive && c == 0))
            lo = mid;
        else
            hi = mid;
    }
    *block = lo;
    return ES_OK;
}

es_status esi_segment_lookup(const esi_segment *s, const uint8_t *term,
                             size_t len, esi_term_info *out, esi_err *e)
{
    if (s->dict_nblocks == 0 || len > ESI_MAX_TERM)
        return ES_ENOTFOUND;
    uint32_t lo;
    es_status rc = esi_dict_seek_block(s, term, len, true, &lo, e);
    if (rc != ES_OK)
        return rc;
    esi_rd r;
    if (!block_range(s, lo, &r))
        return dict_corrupt(s, e, "block index out of range");
    uint8_t buf[ESI_MAX_TERM];
    size_t tlen = 0;
    esi_term_info ti = { 0 };
    uint32_t nt = block_terms(s, lo);
    for (uint32_t i = 0; i < nt; i++) {
        if (!read_entry(&r, i == 0, buf, &tlen, &ti))
            return dict_corrupt(s, e, "bad dictionary entry");
        int c = cmp_bytes(buf, tlen, term, len);
        if (c == 0) {
            *out = ti;
            return ES_OK;
        }
        if (c > 0)
            break;
    }
    return ES_ENOTFOUND;
}

void esi_dict_iter_init(esi_dict_iter *it, const esi_segment *s)
{
    memset(it, 0, sizeof *it);
    it->seg = s;
}

es_status esi_dict_iter_next(esi_dict_iter *it, esi_err *e)
{
    const esi_segment *s = it->seg;
    if (it->seen >= s->nterms)
        return ES_DONE;
    bool first = false;
    if (it->left == 0) {
        if (it->block >= s->dict_nblocks || !block_range(s, it->block, &it->rd))
            return dict_corrupt(s, e, "block index out of range");
        it->left = block_terms(s, it->block);
        it->block++;
        first = true;
    }
    uint8_t buf[ESI_MAX_TERM];
    size_t tlen = it->term.len;
    if (tlen > ESI_MAX_TERM)
        return dict_corrupt(s, e, "term too long");
    if (tlen)
        memcpy(buf, it->term.data, tlen);
    if (!read_entry(&it->rd, first, buf, &tlen, &it->ti))
        return dict_corrupt(s, e, "bad dictionary entry");
    if (first) {
        const uint8_t *t;
        size_t n;
        if (!block_first(s, it->block - 1, &t, &n) || cmp_bytes(t, n, buf, tlen) != 0)
            return dict_corrupt(s, e, "block index disagrees with its block");
    }
    if (it->seen > 0 && cmp_bytes(it->term.data, it->term.len, buf, tlen) >= 0)
        return dict_corrupt(s, e, "terms out of order");
    es_status rc = ES_OK;
    esi_buf_reset(&it->term);
    esi_buf_put(&rc, &it->term, buf, tlen);
    if (rc != ES_OK)
        return esi_err_set(e, rc, "out of memory reading %s.dict", s->name);
    it->left--;
    it->seen++;
    if (it->left == 0 && esi_rd_left(&it->rd) != 0)
        return dict_corrupt(s, e, "trailing bytes in a block");
    return ES_OK;
}

void esi_dict_iter_free(esi_dict_iter *it)
{
    esi_buf_free(&it->term);
}
