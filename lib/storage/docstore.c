/*
 * docstore.c: the .store codec (docs/FORMAT.md §5). Document records (id,
 * body text, fields; every string followed by a NUL so readers can hand out
 * borrowed C strings) are packed into zlib blocks of at least 64 KiB of
 * input; fixed-width tables at the end give per doc its block, its offset in
 * the block, doclen and date, and an id index sorted by id bytes for
 * replace/delete by id. Fetching a document inflates one block, which the
 * esi_doc_reader keeps for the next fetch, or which it pins in the block
 * cache of the index (blockcache.c) that all its readers share.
 *
 * The writer streams compressed blocks to the file (esi_sink) and keeps
 * only the small per-document tables in memory until the end.
 */
#include "storage_int.h"

#include <stdlib.h>
#include <zlib.h>

void esi_storew_init(esi_storew *w, esi_sink *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->level = 4;   /* corpus: 29.1% of the text in 1.2 s; level 6 27.4%
                       in 2.8 s, level 1 32.8% in 0.8 s */
}

/* Append one string as varint length, bytes, NUL. */
static void put_str(es_status *rc, esi_buf *b, const void *p, size_t n)
{
    esi_buf_put_varint(rc, b, n);
    esi_buf_put(rc, b, p, n);
    esi_buf_put_u8(rc, b, 0);
}

void esi_store_encode(es_status *rc, esi_buf *b, const char *id, size_t id_len,
                      const char *text, size_t text_len,
                      const esi_field *fields, size_t nfields)
{
    put_str(rc, b, id, id_len);
    put_str(rc, b, text, text_len);
    esi_buf_put_varint(rc, b, nfields);
    for (size_t i = 0; i < nfields; i++) {
        put_str(rc, b, fields[i].name, fields[i].name_len);
        put_str(rc, b, fields[i].value, fields[i].value_len);
    }
}

/* Read one string (varint length, bytes, NUL); false if malformed. */
static bool get_str(esi_rd *r, const char **p, size_t *n)
{
    const uint8_t *s;
    uint8_t nul;
    if (!esi_rd_bytes(r, &s, n) || !esi_rd_u8(r, &nul) || nul != 0)
        return false;
    *p = (const char *)s;
    return true;
}

es_status esi_store_decode(const uint8_t *rec, size_t len, esi_stored_doc *out,
                           esi_field **fields, size_t *fcap, size_t *used)
{
    esi_rd r = esi_rd_make(rec, len);
    uint64_t nf;
    if (!get_str(&r, &out->id, &out->id_len) ||
        !get_str(&r, &out->text, &out->text_len) || !esi_rd_varint(&r, &nf) ||
        nf > esi_rd_left(&r) / 4)
        return ES_ECORRUPT;
    if (nf > *fcap) {
        size_t bytes;
        if (!esi_mul_ok((size_t)nf, sizeof(esi_field), &bytes))
            return ES_ENOMEM;
        esi_field *f = esi_realloc(*fields, bytes);
        if (!f)
            return ES_ENOMEM;
        *fields = f;
        *fcap = (size_t)nf;
    }
    for (size_t i = 0; i < nf; i++) {
        esi_field *f = &(*fields)[i];
        if (!get_str(&r, &f->name, &f->name_len) ||
            !get_str(&r, &f->value, &f->value_len))
            return ES_ECORRUPT;
    }
    out->fields = nf ? *fields : NULL;
    out->nfields = (size_t)nf;
    if (used)
        *used = (size_t)(r.p - rec);
    return ES_OK;
}

/* Compress the pending raw block into the output. */
static void flush_raw(es_status *rc, esi_storew *w)
{
    if (*rc != ES_OK || w->raw.len == 0)
        return;
    if (w->raw.len > UINT32_MAX || w->nblocks == UINT32_MAX) {
        *rc = ES_ELIMIT;
        return;
    }
    esi_buf *out = &w->out->b;
    uLong bound = compressBound((uLong)w->raw.len);
    esi_buf_reserve(rc, out, bound);
    if (*rc != ES_OK)
        return;
    uLongf clen = bound;
    if (compress2(out->data + out->len, &clen, w->raw.data,
                  (uLong)w->raw.len, w->level) != Z_OK) {
        *rc = ES_ENOMEM;
        return;
    }
    esi_buf_put_u64(rc, &w->blocktab, esi_sink_off(w->out));
    esi_buf_put_u32(rc, &w->blocktab, (uint32_t)clen);
    esi_buf_put_u32(rc, &w->blocktab, (uint32_t)w->raw.len);
    if (*rc != ES_OK)
        return;
    out->len += clen;
    w->nblocks++;
    esi_buf_reset(&w->raw);
    esi_sink_drain(rc, w->out);
}

void esi_storew_add(es_status *rc, esi_storew *w, const uint8_t *rec,
                    size_t len, uint32_t doclen, uint32_t date)
{
    if (*rc != ES_OK)
        return;
    esi_stored_doc d;
    esi_field *f = NULL;
    size_t fcap = 0, used = 0;
    es_status st = esi_store_decode(rec, len, &d, &f, &fcap, &used);
    esi_free(f);
    if (st != ES_OK || used != len || w->ndocs == UINT32_MAX) {
        *rc = st == ES_ENOMEM ? ES_ENOMEM : ES_EINVAL;
        return;
    }
    esi_buf_put_u32(rc, &w->doctab, w->nblocks);
    esi_buf_put_u32(rc, &w->doctab, (uint32_t)w->raw.len);
    esi_buf_put_u32(rc, &w->doctab, doclen);
    esi_buf_put_u32(rc, &w->doctab, date);
    esi_buf_put_u32(rc, &w->idoffs, (uint32_t)w->ids.len);
    esi_buf_put_u32(rc, &w->idoffs, (uint32_t)d.id_len);
    if (*rc == ES_OK && (w->ids.len > UINT32_MAX - d.id_len))
        *rc = ES_ELIMIT;
    esi_buf_put(rc, &w->ids, d.id, d.id_len);
    esi_buf_put(rc, &w->raw, rec, len);
    if (*rc != ES_OK)
        return;
    w->ndocs++;
    w->text_bytes += d.text_len;
    w->doclen_sum += doclen;
    if (w->raw.len >= ESI_STORE_BLOCK)
        flush_raw(rc, w);
}

/* Append every document of s (a segment none of whose documents is
 * deleted) as stored: the pending block is closed, then s's compressed
 * blocks are copied unchanged, and its per-document columns and ids follow
 * with block numbers shifted. The caller has verified s's crc32 (a copy
 * would give damaged bytes a fresh checksum); the tables are still
 * bounds-checked here: ES_ECORRUPT if they do not fit. */
void esi_storew_copy_segment(es_status *rc, esi_storew *w, const esi_segment *s)
{
    flush_raw(rc, w);
    if (*rc != ES_OK)
        return;
    if (s->store_nblocks > UINT32_MAX - w->nblocks || s->ndocs > UINT32_MAX - w->ndocs) {
        *rc = ES_ELIMIT;
        return;
    }
    uint32_t b0 = w->nblocks;
    uint64_t area = (uint64_t)(s->blocktab - s->store_p);
    for (uint32_t b = 0; b < s->store_nblocks; b++) {
        const uint8_t *bt = s->blocktab + (size_t)b * 16;
        uint64_t off = esi_le64_read(bt);
        uint32_t clen = esi_le32_read(bt + 8), rlen = esi_le32_read(bt + 12);
        if (off > area || clen > area - off) {
            *rc = ES_ECORRUPT;
            return;
        }
        esi_buf_put_u64(rc, &w->blocktab, esi_sink_off(w->out));
        esi_buf_put_u32(rc, &w->blocktab, clen);
        esi_buf_put_u32(rc, &w->blocktab, rlen);
        esi_buf_put(rc, &w->out->b, s->store_p + off, clen);
        if (*rc != ES_OK)
            return;
        w->nblocks++;
        esi_sink_drain(rc, w->out);
    }
    for (uint32_t d = 0; d < s->ndocs; d++) {
        const uint8_t *dt = s->doctab + (size_t)d * 16;
        if (esi_le32_read(dt) >= s->store_nblocks) {
            *rc = ES_ECORRUPT;
            return;
        }
        esi_buf_put_u32(rc, &w->doctab, b0 + esi_le32_read(dt));
        esi_buf_put(rc, &w->doctab, dt + 4, 12);     /* offset, doclen, date */
    }
    /* ids: the source's id index (sorted by id) names each docno once */
    size_t base = w->idoffs.len, n8 = (size_t)s->ndocs * 8;
    esi_buf_reserve(rc, &w->idoffs, n8);
    if (*rc != ES_OK)
        return;
    memset(w->idoffs.data + base, 0xff, n8);
    w->idoffs.len += n8;
    for (uint32_t i = 0; i < s->ndocs; i++) {
        const uint8_t *ie = s->idindex + (size_t)i * 12;
        uint32_t off = esi_le32_read(ie), len = esi_le32_read(ie + 4),
                 d = esi_le32_read(ie + 8);
        uint8_t *slot = w->idoffs.data + base + (size_t)d * 8;
        if (d >= s->ndocs || off > s->idbytes_len || len > s->idbytes_len - off ||
            esi_le32_read(slot + 4) != UINT32_MAX || w->ids.len > UINT32_MAX - len) {
            *rc = d < s->ndocs && w->ids.len > UINT32_MAX - len ? ES_ELIMIT : ES_ECORRUPT;
            return;
        }
        esi_le32_write(slot, (uint32_t)w->ids.len);
        esi_le32_write(slot + 4, len);
        esi_buf_put(rc, &w->ids, s->idbytes + off, len);
        if (*rc != ES_OK)
            return;
    }
    w->ndocs += s->ndocs;
    w->text_bytes += s->text_bytes;
    w->doclen_sum += s->doclen_sum;
}

typedef struct id_ent {
    const uint8_t *p;
    uint32_t len, docno;
} id_ent;

/* Order ids bytewise, then by docno. */
static int cmp_id(const void *a, const void *b)
{
    const id_ent *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = m ? memcmp(x->p, y->p, m) : 0;
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->docno < y->docno ? -1 : x->docno > y->docno;
}

void esi_storew_finish(es_status *rc, esi_storew *w)
{
    flush_raw(rc, w);
    if (*rc != ES_OK)
        return;
    id_ent *ents = NULL;
    if (w->ndocs) {
        ents = esi_calloc(w->ndocs, sizeof *ents);
        if (!ents) {
            *rc = ES_ENOMEM;
            return;
        }
    }
    for (uint32_t i = 0; i < w->ndocs; i++) {
        ents[i].p = w->ids.data + esi_le32_read(w->idoffs.data + 8 * (size_t)i);
        ents[i].len = esi_le32_read(w->idoffs.data + 8 * (size_t)i + 4);
        ents[i].docno = i;
    }
    if (w->ndocs)
        qsort(ents, w->ndocs, sizeof *ents, cmp_id);
    uint64_t blocktab_off = esi_sink_off(w->out);
    esi_buf_put(rc, &w->out->b, w->blocktab.data, w->blocktab.len);
    uint64_t doctab_off = esi_sink_off(w->out);
    esi_buf_put(rc, &w->out->b, w->doctab.data, w->doctab.len);
    uint64_t idindex_off = esi_sink_off(w->out);
    for (uint32_t i = 0; i < w->ndocs; i++) {
        esi_buf_put_u32(rc, &w->out->b, (uint32_t)(ents[i].p - w->ids.data));
        esi_buf_put_u32(rc, &w->out->b, ents[i].len);
        esi_buf_put_u32(rc, &w->out->b, ents[i].docno);
    }
    esi_free(ents);
    uint64_t idbytes_off = esi_sink_off(w->out);
    esi_buf_put(rc, &w->out->b, w->ids.data, w->ids.len);
    esi_buf_put_u32(rc, &w->out->b, w->ndocs);
    esi_buf_put_u32(rc, &w->out->b, w->nblocks);
    esi_buf_put_u64(rc, &w->out->b, w->text_bytes);
    esi_buf_put_u64(rc, &w->out->b, w->doclen_sum);
    esi_buf_put_u64(rc, &w->out->b, blocktab_off);
    esi_buf_put_u64(rc, &w->out->b, doctab_off);
    esi_buf_put_u64(rc, &w->out->b, idindex_off);
    esi_buf_put_u64(rc, &w->out->b, idbytes_off);
    esi_buf_put_u64(rc, &w->out->b, 0);
}

void esi_storew_free(esi_storew *w)
{
    esi_buf_free(&w->raw);
    esi_buf_free(&w->blocktab);
    esi_buf_free(&w->doctab);
    esi_buf_free(&w->ids);
    esi_buf_free(&w->idoffs);
}

/* ---- reading ------------------------------------------------------------ */

struct esi_doc_reader {
    esi_blockcache *cache;     /* shared cache, or NULL */
    esi_bc_entry *pin;         /* the cache's block the reader holds */
    esi_buf blk;               /* without a cache: the inflated block */
    bool valid;                /* blk holds the block of key */
    esi_bc_key key;
    const uint8_t *cur;        /* the current block (pin's or blk's) */
    size_t cur_len;
    esi_field *fields;
    size_t fcap;
};

es_status esi_doc_reader_new(esi_doc_reader **out, esi_err *e)
{
    *out = esi_calloc(1, sizeof **out);
    if (!*out)
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    return ES_OK;
}

void esi_doc_reader_release(esi_doc_reader *r)
{
    if (r->pin) {
        esi_blockcache_release(r->cache, r->pin);
        r->pin = NULL;
    }
    r->valid = false;
    r->cur = NULL;
    r->cur_len = 0;
}

esi_bc_entry *esi_doc_reader_hold(esi_doc_reader *r)
{
    if (!r->cache || !r->pin)
        return NULL;
    esi_blockcache_hold(r->cache, r->pin);
    return r->pin;
}

void esi_doc_reader_set_cache(esi_doc_reader *r, esi_blockcache *c)
{
    esi_doc_reader_release(r);
    r->cache = c;
    if (c)
        esi_buf_free(&r->blk);
}

void esi_doc_reader_free(esi_doc_reader *r)
{
    if (!r)
        return;
    esi_doc_reader_release(r);
    esi_buf_free(&r->blk);
    esi_free(r->fields);
    esi_free(r);
}

static es_status store_corrupt(const esi_segment *s, esi_err *e, const char *what,
                               uint32_t docno)
{
    return esi_err_set(e, ES_ECORRUPT, "%s.store: %s (document %u); the file is "
                       "damaged, run 'edusearch check'", s->name, what, docno);
}

/* Check block b's table entry and give its place and sizes. */
static es_status block_span(const esi_segment *s, uint32_t b, uint32_t docno,
                            uint64_t *off, uint32_t *clen, uint32_t *rlen,
                            esi_err *e)
{
    if (b >= s->store_nblocks)
        return store_corrupt(s, e, "block number out of range", docno);
    const uint8_t *bt = s->blocktab + (size_t)b * 16;
    *off = esi_le64_read(bt);
    *clen = esi_le32_read(bt + 8);
    *rlen = esi_le32_read(bt + 12);
    uint64_t area = (uint64_t)(s->blocktab - s->store_p);
    if (*off > area || *clen > area - *off ||
        (uint64_t)*rlen > (uint64_t)*clen * 1032 + 64)
        return store_corrupt(s, e, "block table entry out of range", docno);
    return ES_OK;
}

/* Inflate the block at off (clen bytes) into dst, which holds rlen bytes
 * (and a NUL after them). */
static es_status inflate_block(const esi_segment *s, uint64_t off, uint32_t clen,
                               uint32_t rlen, uint8_t *dst, uint32_t docno,
                               esi_err *e)
{
    uLongf got = rlen;
    int z = uncompress(dst, &got, s->store_p + off, clen);
    if (z == Z_MEM_ERROR)
        return esi_err_set(e, ES_ENOMEM, "out of memory reading %s.store", s->name);
    if (z != Z_OK || got != rlen)
        return store_corrupt(s, e, "compressed block does not inflate", docno);
    dst[rlen] = 0;
    return ES_OK;
}

/* Make block b of s the reader's current block: the one it holds, the
 * cache's (pinned), or a freshly inflated one. */
static es_status load_block(esi_doc_reader *r, const esi_segment *s, uint32_t b,
                            uint32_t docno, esi_err *e)
{
    esi_bc_key k = { s->id, s->store_len, s->store_crc, b };
    if (r->cache) {
        if (r->pin && esi_bc_key_eq(&r->pin->key, &k))
            return ES_OK;
        esi_bc_entry *x = esi_blockcache_get(r->cache, &k, r->pin);
        r->pin = NULL;
        r->cur = NULL;
        r->cur_len = 0;
        if (!x) {
            uint64_t off;
            uint32_t clen, rlen;
            es_status rc = block_span(s, b, docno, &off, &clen, &rlen, e);
            if (rc != ES_OK)
                return rc;
            if (!(x = esi_bc_entry_new(&k, rlen)))
                return esi_err_set(e, ES_ENOMEM, "out of memory reading %s.store",
                                   s->name);
            rc = inflate_block(s, off, clen, rlen, x->data, docno, e);
            if (rc != ES_OK) {
                esi_blockcache_release(r->cache, x);   /* never cached */
                return rc;
            }
            x = esi_blockcache_put(r->cache, x);
        }
        r->pin = x;
        r->cur = x->data;
        r->cur_len = x->len;
        return ES_OK;
    }
    if (r->valid && esi_bc_key_eq(&r->key, &k))
        return ES_OK;
    r->valid = false;
    r->cur = NULL;
    r->cur_len = 0;
    uint64_t off;
    uint32_t clen, rlen;
    es_status rc = block_span(s, b, docno, &off, &clen, &rlen, e);
    if (rc != ES_OK)
        return rc;
    esi_buf_reset(&r->blk);
    esi_buf_reserve(&rc, &r->blk, (size_t)rlen + 1);
    if (rc != ES_OK)
        return esi_err_set(e, rc, "out of memory reading %s.store", s->name);
    rc = inflate_block(s, off, clen, rlen, r->blk.data, docno, e);
    if (rc != ES_OK)
        return rc;
    r->blk.len = rlen;
    r->valid = true;
    r->key = k;
    r->cur = r->blk.data;
    r->cur_len = rlen;
    return ES_OK;
}

/* Locate docno's record in r's current block: *rec..end of block. */
static es_status locate(esi_doc_reader *r, const esi_segment *s, uint32_t docno,
                        const uint8_t **rec, size_t *left, esi_err *e)
{
    if (docno >= s->ndocs)
        return esi_err_set(e, ES_ENOTFOUND, "%s: no document %u", s->name, docno);
    const uint8_t *dt = s->doctab + (size_t)docno * 16;
    uint32_t b = esi_le32_read(dt), off = esi_le32_read(dt + 4);
    es_status rc = load_block(r, s, b, docno, e);
    if (rc != ES_OK)
        return rc;
    if (off >= r->cur_len)
        return store_corrupt(s, e, "record offset out of range", docno);
    *rec = r->cur + off;
    *left = r->cur_len - off;
    return ES_OK;
}

es_status esi_doc_read(esi_doc_reader *r, const esi_segment *s, uint32_t docno,
                       esi_stored_doc *out, esi_err *e)
{
    const uint8_t *rec;
    size_t left;
    es_status rc = locate(r, s, docno, &rec, &left, e);
    if (rc != ES_OK)
        return rc;
    rc = esi_store_decode(rec, left, out, &r->fields, &r->fcap, NULL);
    if (rc == ES_ENOMEM)
        return esi_err_set(e, rc, "out of memory reading %s.store", s->name);
    if (rc != ES_OK) {
        esi_doc_reader_release(r);
        return store_corrupt(s, e, "bad document record", docno);
    }
    return ES_OK;
}

es_status esi_doc_read_raw(esi_doc_reader *r, const esi_segment *s,
                           uint32_t docno, const uint8_t **rec, size_t *len,
                           esi_err *e)
{
    size_t left, used;
    es_status rc = locate(r, s, docno, rec, &left, e);
    if (rc != ES_OK)
        return rc;
    esi_stored_doc d;
    rc = esi_store_decode(*rec, left, &d, &r->fields, &r->fcap, &used);
    if (rc == ES_ENOMEM)
        return esi_err_set(e, rc, "out of memory reading %s.store", s->name);
    if (rc != ES_OK)
        return store_corrupt(s, e, "bad document record", docno);
    *len = used;
    return ES_OK;
}

uint32_t esi_segment_doclen(const esi_segment *s, uint32_t docno)
{
    return docno < s->ndocs ? esi_le32_read(s->doctab + (size_t)docno * 16 + 8) : 0;
}

uint32_t esi_segment_date(const esi_segment *s, uint32_t docno)
{
    return docno < s->ndocs ? esi_le32_read(s->doctab + (size_t)docno * 16 + 12) : 0;
}

es_status esi_segment_find_id(const esi_segment *s, const char *id,
                              size_t id_len, uint32_t *docno)
{
    /* first entry with id > key, then step back one */
    uint32_t lo = 0, hi = s->ndocs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const uint8_t *e = s->idindex + (size_t)mid * 12;
        uint32_t off = esi_le32_read(e), len = esi_le32_read(e + 4);
        if (off > s->idbytes_len || len > s->idbytes_len - off)
            return ES_ECORRUPT;
        size_t m = len < id_len ? len : id_len;
        int c = m ? memcmp(s->idbytes + off, id, m) : 0;
        if (c == 0)
            c = len < id_len ? -1 : len > id_len;
        if (c <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return ES_ENOTFOUND;
    const uint8_t *e = s->idindex + (size_t)(lo - 1) * 12;
    uint32_t off = esi_le32_read(e), len = esi_le32_read(e + 4);
    if (off > s->idbytes_len || len > s->idbytes_len - off)
        return ES_ECORRUPT;
    if (len != id_len || (len && memcmp(s->idbytes + off, id, len) != 0))
        return ES_ENOTFOUND;
    uint32_t d = esi_le32_read(e + 8);
    if (d >= s->ndocs)
        return ES_ECORRUPT;
    *docno = d;
    return ES_OK;
}
