/*
 * term_iter.c: enumeration of a segment's dictionary by prefix
 * (esi_segment_prefix_terms, contract in storage.h), for prefix* queries.
 * The block index (first term of every 64-term block) is binary-searched
 * for the last block whose first term sorts before the prefix; from there
 * the sequential dictionary walker of termdict.c (esi_dict_iter, which
 * checks every entry and the order of terms) runs until the first term
 * past the prefix. So a prefix costs one binary search plus the blocks
 * that hold its terms.
 */
#include "storage_int.h"

/* First term of block b (borrowed from the map); false if out of range. */
static bool first_term(const esi_segment *s, uint32_t b, const uint8_t **t,
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

/* Bytewise comparison, shorter first on a tie. */
static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

es_status esi_segment_prefix_terms(const esi_segment *s, const uint8_t *prefix,
                                   size_t len, esi_term_cb cb, void *payload,
                                   esi_err *e)
{
    if (s->dict_nblocks == 0 || len > ESI_MAX_TERM)
        return ES_OK;
    /* last block whose first term < prefix (block 0 if none) */
    uint32_t lo = 0, hi = s->dict_nblocks;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        const uint8_t *t;
        size_t n;
        if (!first_term(s, mid, &t, &n))
            return esi_err_set(e, ES_ECORRUPT, "%s.dict: block index out of "
                               "range; the file is damaged, run 'edusearch "
                               "check'", s->name);
        if (cmp_bytes(t, n, prefix, len) < 0)
            lo = mid;
        else
            hi = mid;
    }
    esi_dict_iter it;
    esi_dict_iter_init(&it, s);
    it.block = lo;
    it.seen = (uint64_t)lo * ESI_DICT_BLOCK;
    es_status rc;
    while ((rc = esi_dict_iter_next(&it, e)) == ES_OK) {
        const uint8_t *t = it.term.data;
        size_t n = it.term.len;
        if (n >= len && !memcmp(t, prefix, len)) {
            if (cb(t, n, &it.ti, payload))
                break;
        } else if (cmp_bytes(t, n, prefix, len) > 0) {
            break;                       /* past every term with the prefix */
        }
    }
    esi_dict_iter_free(&it);
    return rc == ES_DONE ? ES_OK : rc;
}
