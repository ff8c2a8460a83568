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

es_status esi_segment_prefix_terms(const esi_segment *s, const uint8_t *prefix,
                                   size_t len, esi_term_cb cb, void *payload,
                                   esi_err *e)
{
    if (s->dict_nblocks == 0 || len > ESI_MAX_TERM)
        return ES_OK;
    /* last block whose first term < prefix (block 0 if none) */
    uint32_t lo;
    es_status rc = esi_dict_seek_block(s, prefix, len, false, &lo, e);
    if (rc != ES_OK)
        return rc;
    esi_dict_iter it;
    esi_dict_iter_init(&it, s);
    it.block = lo;
    it.seen = (uint64_t)lo * ESI_DICT_BLOCK;
    while ((rc = esi_dict_iter_next(&it, e)) == ES_OK) {
        const uint8_t *t = it.term.data;
        size_t n = it.term.len;
        if (n >= len && !memcmp(t, prefix, len)) {
            if (cb(t, n, &it.ti, payload))
                break;
        } else if (memcmp(t, prefix, n < len ? n : len) > 0) {
            break;                       /* past every term with the prefix */
        }
    }
    esi_dict_iter_free(&it);
    return rc == ES_DONE ? ES_OK : rc;
}
