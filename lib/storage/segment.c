/*
 * segment.c: one segment as a whole: streaming its three files to disk
 * while a builder (esi_segw) encodes them (esi_sink: chunks of 1 MiB, crc32
 * computed as they go), and opening them again as a mapped, checked,
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

/* Append b's bytes to the file and empty b. */
static void sink_write(es_status *rc, esi_sink *s)
{
    if (*rc != ES_OK || s->b.len == 0)
        return;
    if (esi_io_wappend(s->f, s->b.data, s->b.len, s->err) != ES_OK) {
        *rc = ES_EIO;
        return;
    }
    s->crc = esi_crc32(s->crc, s->b.data, s->b.len);
    s->drained += s->b.len;
    esi_buf_reset(&s->b);
}

void esi_sink_drain(es_status *rc, esi_sink *s)
{
    if (s->b.len >= ESI_SINK_CHUNK)
        sink_write(rc, s);
}

/* Append the footer (payload length, crc32 of everything before it, end
 * magic) and write the rest. */
static void sink_finish(es_status *rc, esi_sink *s)
{
    uint64_t total = s->drained + s->b.len;
    if (*rc == ES_OK && total < ES_FILE_HEADER_LEN)
        *rc = ES_EINVAL;
    esi_buf_put_u64(rc, &s->b, total - ES_FILE_HEADER_LEN);
    if (*rc != ES_OK)
        return;
    uint32_t crc = esi_crc32(s->crc, s->b.data, s->b.len);
    esi_buf_put_u32(rc, &s->b, crc);
    esi_buf_put(rc, &s->b, "ESND", 4);
    sink_write(rc, s);
}

es_status esi_segw_open(esi_segw *w, const char *dir, uint64_t id, esi_err *e)
{
    static const char *const magics[3] = { ESI_MAGIC_DICT, ESI_MAGIC_POST,
                                           ESI_MAGIC_STORE };
    static const uint32_t flags[3] = { ESI_DICT_FLAG_RESTARTS,
                                       ESI_POST_FLAG_RUNS, 0 };
    memset(w, 0, sizeof *w);
    w->id = id;
    esi_dictw_init(&w->dict, &w->files[0]);
    esi_storew_init(&w->store, &w->files[2]);
    es_status rc = ES_OK;
    for (int i = 0; i < 3; i++) {
        esi_sink *s = &w->files[i];
        s->err = &w->ioerr;
        char name[64];
        esi_segment_filename(name, sizeof name, id, exts[i]);
        char *path = esi_path_join(dir, name);
        if (!path)
            return esi_err_set(e, ES_ENOMEM, "out of memory");
        rc = esi_io_wopen(&s->f, path, e);
        esi_free(path);
        if (rc != ES_OK)
            return rc;
        esi_file_begin(&rc, &s->b, magics[i], flags[i]);
        if (rc != ES_OK)
            return esi_err_set(e, rc, "out of memory");
    }
    return ES_OK;
}

void esi_segw_free(esi_segw *w)
{
    for (int i = 0; i < 3; i++) {
        esi_io_wabort(w->files[i].f);
        w->files[i].f = NULL;
        esi_buf_free(&w->files[i].b);
    }
    esi_dictw_free(&w->dict);
    esi_storew_free(&w->store);
    esi_postenc_free(&w->pe);
}

es_status esi_segw_finish(esi_segw *w, es_status rc, bool sync,
                          uint64_t sizes[3], esi_err *e)
{
    esi_dictw_finish(&rc, &w->dict);
    esi_storew_finish(&rc, &w->store);
    for (int i = 0; i < 3; i++)
        sink_finish(&rc, &w->files[i]);
    if (rc == ES_EIO && w->ioerr.code != ES_OK) {
        *e = w->ioerr;
        return rc;
    }
    if (rc != ES_OK)
        return esi_err_set(e, rc, "cannot build segment %" PRIu64 ": %s", w->id,
                           es_strerror(rc));
    for (int i = 0; i < 3; i++) {
        esi_wfile *f = w->files[i].f;
        w->files[i].f = NULL;
        sizes[i] = esi_io_wsize(f);
        rc = esi_io_wclose(f, sync, e);
        if (rc != ES_OK)
            return rc;
    }
    return ES_OK;
}

/* ---- reading ------------------------------------------------------------ */

esi_segment *esi_segment_share(esi_segment *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

bool esi_segment_unchanged(const esi_segment *s, const char *dir)
{
    const esi_map *maps[3] = { &s->dict, &s->post, &s->store };
    for (int i = 0; i < 3; i++) {
        char name[64];
        esi_segment_filename(name, sizeof name, s->id, exts[i]);
        char *path = esi_path_join(dir, name);
        esi_file_id id;
        esi_err e;
        bool same = path && esi_io_file_id(path, &id, &e) == ES_OK &&
                    esi_file_id_same(&id, &maps[i]->id);
        esi_free(path);
        if (!same)
            return false;
    }
    return true;
}

void esi_segment_free(esi_segment *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    esi_io_unmap(&s->dict);
    esi_io_unmap(&s->post);
    esi_io_unmap(&s->store);
    esi_free(s->dict_pfx);
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
    /* format 2.1: the restart table and interval end the firsts area */
    if (esi_le32_read(s->dict.data + 12) & ESI_DICT_FLAG_RESTARTS) {
        if (flen < 4)
            return bad(s, "dict", e, "restart interval missing");
        uint32_t k = esi_le32_read(s->dict_firsts + flen - 4);
        if (k == 0 || k > ESI_DICT_BLOCK)
            return bad(s, "dict", e, "bad restart interval");
        uint32_t slots = (ESI_DICT_BLOCK + k - 1) / k - 1;
        uint64_t tab = (uint64_t)s->dict_nblocks * slots * ESI_DICT_RESTART_LEN;
        if (tab > flen - 4)
            return bad(s, "dict", e, "restart table out of range");
        s->dict_restart = k;
        s->dict_nrestarts = slots;
        s->dict_firsts_len = (size_t)(flen - 4 - tab);
        s->dict_restarts = s->dict_firsts + s->dict_firsts_len;
    }
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
    atomic_init(&s->refs, 1);
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
        if (rc == ES_OK && i == 1)
            rc = esi_post_check_header(maps[i]->data, maps[i]->len, name, e);
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
        esi_dict_load_prefixes(s);
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
    c.sk_check = true;   /* every skip entry against its block */
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
    bool tail = c.rd.p != c.rd.end || c.sk_b != c.sk_n;   /* every entry a block */
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
