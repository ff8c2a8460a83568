/*
 * segment.c: one segment as a whole: writing its three files from a
 * finished builder (esi_segw) and opening them again as a mapped, checked,
 * immutable esi_segment. Opening reads only the frames and the fixed
 * trailers (and the crc32 of every byte when verify_crc); esi_segment_check
 * walks every dictionary entry, every postings list and every stored block.
 * Messages name the file; callers add nothing.
 */
#include "storage_int.h"

#include <inttypes.h>
#include <stdio.h>

static const char *const exts[3] = { "dict", "post", "store" };

void esi_segment_filename(char *out, size_t n, uint64_t id, const char *ext)
{
    snprintf(out, n, "seg_%06" PRIu64 ".%s", id, ext);
}

void esi_segw_init(es_status *rc, esi_segw *w)
{
    memset(w, 0, sizeof *w);
    esi_file_begin(rc, &w->post, ESI_MAGIC_POST, 0);
    esi_dictw_init(rc, &w->dict);
    esi_storew_init(rc, &w->store);
}

void esi_segw_free(esi_segw *w)
{
    esi_buf_free(&w->post);
    esi_dictw_free(&w->dict);
    esi_storew_free(&w->store);
    esi_postenc_free(&w->pe);
}

es_status esi_segw_write(esi_segw *w, const char *dir, uint64_t id, bool sync,
                         uint64_t sizes[3], esi_err *e)
{
    es_status rc = ES_OK;
    esi_file_finish(&rc, &w->post);
    esi_dictw_finish(&rc, &w->dict);
    esi_storew_finish(&rc, &w->store);
    if (rc != ES_OK)
        return esi_err_set(e, rc, "cannot build segment %" PRIu64 ": %s", id,
                           es_strerror(rc));
    const esi_buf *bufs[3] = { &w->dict.out, &w->post, &w->store.out };
    for (int i = 0; i < 3; i++) {
        char name[64];
        esi_segment_filename(name, sizeof name, id, exts[i]);
        char *path = esi_path_join(dir, name);
        if (!path)
            return esi_err_set(e, ES_ENOMEM, "out of memory");
        rc = esi_io_write_file(path, bufs[i]->data, bufs[i]->len, sync, e);
        esi_free(path);
        if (rc != ES_OK)
            return rc;
        sizes[i] = bufs[i]->len;
    }
    return ES_OK;
}

/* ---- reading ------------------------------------------------------------ */

void esi_segment_free(esi_segment *s)
{
    if (!s)
        return;
    esi_io_unmap(&s->dict);
    esi_io_unmap(&s->post);
    esi_io_unmap(&s->store);
    esi_free(s);
}

static es_status bad(const esi_segment *s, const char *ext, esi_err *e,
                     const char *what)
{
    return esi_err_set(e, ES_ECORRUPT, "%s.%s: %s; the file is damaged, run "
                       "'edusearch check'", s->name, ext, what);
}

/* Check the dictionary trailer and locate its index. */
static es_status open_dict(esi_segment *s, esi_err *e)
{
    if (s->dict_len < ESI_DICT_TRAILER)
        return bad(s, "dict", e, "trailer missing");
    const uint8_t *t = s->dict_p + s->dict_len - ESI_DICT_TRAILER;
    s->nterms = esi_le64_read(t);
    s->dict_nblocks = esi_le32_read(t + 8);
    uint32_t flen = esi_le32_read(t + 12);
    uint64_t avail = s->dict_len - ESI_DICT_TRAILER;
    uint64_t need = (uint64_t)s->dict_nblocks * 16 + flen;
    uint64_t want_blocks = (s->nterms + ESI_DICT_BLOCK - 1) / ESI_DICT_BLOCK;
    if (need > avail || want_blocks != s->dict_nblocks)
        return bad(s, "dict", e, "bad trailer");
    s->dict_blocks_end = (size_t)(avail - need);
    s->dict_index = s->dict_p + s->dict_blocks_end;
    s->dict_firsts = s->dict_index + (size_t)s->dict_nblocks * 16;
    s->dict_firsts_len = flen;
    if (s->dict_nblocks > 0 && esi_le64_read(s->dict_index) != 0)
        return bad(s, "dict", e, "bad block index");
    return ES_OK;
}

/* Check the store trailer and locate its tables. */
static es_status open_store(esi_segment *s, esi_err *e)
{
    if (s->store_len < ESI_STORE_TRAILER)
        return bad(s, "store", e, "trailer missing");
    size_t tpos = s->store_len - ESI_STORE_TRAILER;
    const uint8_t *t = s->store_p + tpos;
    s->ndocs = esi_le32_read(t);
    s->store_nblocks = esi_le32_read(t + 4);
    s->text_bytes = esi_le64_read(t + 8);
    s->doclen_sum = esi_le64_read(t + 16);
    uint64_t bt = esi_le64_read(t + 24), dt = esi_le64_read(t + 32);
    uint64_t ii = esi_le64_read(t + 40), ib = esi_le64_read(t + 48);
    if (!(bt <= dt && dt <= ii && ii <= ib && ib <= tpos) ||
        dt - bt != (uint64_t)s->store_nblocks * 16 ||
        ii - dt != (uint64_t)s->ndocs * 16 || ib - ii != (uint64_t)s->ndocs * 12 ||
        s->ndocs == UINT32_MAX)
        return bad(s, "store", e, "bad trailer");
    s->blocktab = s->store_p + bt;
    s->doctab = s->store_p + dt;
    s->idindex = s->store_p + ii;
    s->idbytes = s->store_p + ib;
    s->idbytes_len = (size_t)(tpos - ib);
    return ES_OK;
}

es_status esi_segment_open(esi_segment **out, const char *dir, uint64_t id,
                           bool verify_crc, esi_err *e)
{
    *out = NULL;
    esi_segment *s = esi_calloc(1, sizeof *s);
    if (!s)
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    snprintf(s->name, sizeof s->name, "seg_%06" PRIu64, id);
    s->id = id;
    es_status rc = ES_OK;
    esi_map *maps[3] = { &s->dict, &s->post, &s->store };
    static const char *const magics[3] = { ESI_MAGIC_DICT, ESI_MAGIC_POST,
                                           ESI_MAGIC_STORE };
    esi_rd pl[3];
    for (int i = 0; i < 3; i++) {
        char name[64];
        esi_segment_filename(name, sizeof name, id, exts[i]);
        char *path = esi_path_join(dir, name);
        if (!path) {
            rc = esi_err_set(e, ES_ENOMEM, "out of memory");
            goto done;
        }
        rc = esi_io_map(path, maps[i], e);
        esi_free(path);
        if (rc != ES_OK)
            goto done;
        s->sizes[i] = maps[i]->len;
        rc = esi_file_open(maps[i]->data, maps[i]->len, magics[i], name,
                           verify_crc, &pl[i], NULL, e);
        if (rc != ES_OK)
            goto done;
    }
    s->dict_p = pl[0].p;
    s->dict_len = esi_rd_left(&pl[0]);
    s->post_p = pl[1].p;
    s->post_len = esi_rd_left(&pl[1]);
    s->store_p = pl[2].p;
    s->store_len = esi_rd_left(&pl[2]);
    s->store_crc = esi_le32_read(s->store.data + s->store.len - 8);
    rc = open_dict(s, e);
    if (rc == ES_OK)
        rc = open_store(s, e);
done:
    if (rc != ES_OK) {
        esi_segment_free(s);
        return rc;
    }
    *out = s;
    return ES_OK;
}

uint32_t esi_segment_doc_count(const esi_segment *s) { return s->ndocs; }

uint32_t esi_segment_term_count(const esi_segment *s)
{
    return s->nterms > UINT32_MAX ? UINT32_MAX : (uint32_t)s->nterms;
}

const char *esi_segment_name(const esi_segment *s) { return s->name; }

/* Walk one term's postings: every doc, freq and position decodes, and the
 * totals match the dictionary entry. */
static es_status check_postings(const esi_segment *s, const esi_term_info *ti,
                                esi_err *e)
{
    esi_postings c;
    es_status rc = esi_postings_open(&c, s, ti, e);
    if (rc != ES_OK)
        return rc;
    uint32_t n = 0;
    uint64_t cf = 0;
    uint32_t mtf = 0;
    while ((rc = esi_postings_next(&c)) == ES_OK) {
        const uint32_t *pos;
        uint32_t np;
        rc = esi_postings_positions(&c, &pos, &np);
        if (rc != ES_OK)
            break;
        if (ti->positions && np != c.freq) {
            rc = ES_ECORRUPT;
            break;
        }
        n++;
        cf += c.freq;
        if (c.freq > mtf)
            mtf = c.freq;
    }
    bool tail = c.rd.p != c.rd.end;
    esi_postings_close(&c);
    if (rc == ES_ENOMEM)
        return esi_err_set(e, rc, "out of memory checking %s.post", s->name);
    if (rc != ES_DONE || n != ti->df || cf != ti->cf || mtf != ti->max_tf || tail)
        return bad(s, "post", e, "postings list does not decode as its "
                   "dictionary entry says");
    return ES_OK;
}

es_status esi_segment_check(const esi_segment *s, esi_err *e)
{
    esi_dict_iter it;
    esi_dict_iter_init(&it, s);
    es_status rc;
    uint64_t expect_off = 0;
    while ((rc = esi_dict_iter_next(&it, e)) == ES_OK) {
        if (it.ti.post_off != expect_off) {
            rc = bad(s, "dict", e, "postings offsets are not contiguous");
            break;
        }
        expect_off = it.ti.post_off + it.ti.post_len;
        rc = check_postings(s, &it.ti, e);
        if (rc != ES_OK)
            break;
    }
    esi_dict_iter_free(&it);
    if (rc != ES_DONE)
        return rc;
    if (expect_off != s->post_len)
        return bad(s, "post", e, "bytes not covered by any term");
    /* every stored document and block */
    esi_doc_reader *dr;
    rc = esi_doc_reader_new(&dr, e);
    if (rc != ES_OK)
        return rc;
    uint64_t text = 0, dl = 0;
    for (uint32_t d = 0; d < s->ndocs && rc == ES_OK; d++) {
        esi_stored_doc doc;
        rc = esi_doc_read(dr, s, d, &doc, e);
        text += doc.text_len;
        dl += esi_segment_doclen(s, d);
    }
    esi_doc_reader_free(dr);
    if (rc != ES_OK)
        return rc;
    if (text != s->text_bytes || dl != s->doclen_sum)
        return bad(s, "store", e, "totals disagree with the documents");
    /* ids: sorted, each pointing at its document */
    for (uint32_t i = 0; i < s->ndocs; i++) {
        const uint8_t *x = s->idindex + (size_t)i * 12;
        uint32_t off = esi_le32_read(x), len = esi_le32_read(x + 4);
        if (off > s->idbytes_len || len > s->idbytes_len - off ||
            esi_le32_read(x + 8) >= s->ndocs)
            return bad(s, "store", e, "id index out of range");
        uint32_t got;
        if (esi_segment_find_id(s, (const char *)s->idbytes + off, len, &got) != ES_OK)
            return bad(s, "store", e, "id index not sorted");
    }
    return ES_OK;
}
