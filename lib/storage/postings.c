/*
 * postings.c: the .post codec (docs/FORMAT.md §4). A term's postings are
 * blocks of up to 128 docs; each block starts with a small header (last
 * docno, doc count when the block is short and not the last, byte lengths of
 * its doc/freq section and of its positions section, max tf), so a cursor
 * can jump over a block by reading its header varints, and can read docs
 * and freqs without touching positions. A full block codes its doc deltas
 * and its freqs as two packed runs; a short block codes them as varints
 * (freq == 1 folded into the doc delta's low bit). Positions, delta-coded
 * per doc, form one stream per block cut into packed runs of 128 values.
 * A packed run is patched frame-of-reference: one width for all values,
 * the few larger ones as exceptions, or plain varints when that is smaller.
 * Terms stored without positions (all their occurrences were ESI_POS_NONE)
 * have no positions sections and no pos_bytes field in their block headers.
 *
 * The cursor never allocates per posting: one block of docs and freqs is
 * decoded into arrays inside the cursor, positions one run of 128 at a time
 * into the cursor, and a doc's positions into one growing array. Runs of
 * positions a caller does not ask for are skipped by their header bytes.
 * Every read is bounded by the term's byte range and every docno is checked
 * against the segment's doc count, so damaged data gives ES_ECORRUPT (sticky
 * in the cursor) and never an out-of-bounds read, here or in callers that
 * index per-doc arrays by docno.
 */
#include "storage_int.h"

/* ---- packed runs -----------------------------------------------------------
 * Header byte: 0..32 = width w, no exceptions; 0x40 | w (w < 32) = width w
 * with exceptions; 0xff = n varints. */
#define RUN_EXC 0x40
#define RUN_VARINT 0xff

/* Bits needed for v (0 for 0). */
static inline unsigned bits_of(uint32_t v)
{
#if defined(__GNUC__)
    return v ? 32u - (unsigned)__builtin_clz(v) : 0u;
#else
    unsigned b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b;
#endif
}

/* Count of values per bit length, and the varint bytes they take. */
static size_t histogram(const uint32_t *v, uint32_t n, uint32_t cnt[33])
{
    memset(cnt, 0, 33 * sizeof *cnt);
    size_t vbytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        unsigned b = bits_of(v[i]);
        cnt[b]++;
        vbytes += b ? (b + 6) / 7 : 1;
    }
    return vbytes;
}

/* Bytes of a run of width w (header included) given the histogram, whose
 * largest nonzero bit length is maxb; *nexc gets the number of exceptions. */
static size_t run_cost(const uint32_t cnt[33], uint32_t n, unsigned w,
                       unsigned maxb, uint32_t *nexc)
{
    size_t c = 1 + ((size_t)n * w + 7) / 8;
    uint32_t ne = 0;
    for (unsigned b = w + 1; b <= maxb; b++) {
        if (cnt[b]) {
            ne += cnt[b];
            c += (size_t)cnt[b] * (1 + (b - w + 6) / 7);
        }
    }
    *nexc = ne;
    return ne ? c + 1 : c;
}

/* The best width for v[0..n) with exceptions allowed; *cost its bytes. */
static unsigned best_width(const uint32_t cnt[33], uint32_t n, size_t *cost)
{
    unsigned maxb = 32;
    while (maxb > 0 && cnt[maxb] == 0)
        maxb--;
    uint32_t ne;
    unsigned bw = maxb;
    size_t best = run_cost(cnt, n, maxb, maxb, &ne);
    for (unsigned w = 0; w < maxb; w++) {
        size_t c = run_cost(cnt, n, w, maxb, &ne);
        if (c < best) {
            best = c;
            bw = w;
        }
    }
    *cost = best;
    return bw;
}

size_t esi_run_size(const uint32_t *v, uint32_t n, esi_run_mode mode)
{
    uint32_t cnt[33], ne;
    size_t vbytes = histogram(v, n, cnt), cost;
    unsigned maxb = 32;
    while (maxb > 0 && cnt[maxb] == 0)
        maxb--;
    switch (mode) {
    case ESI_RUN_VARINT:
        return vbytes;
    case ESI_RUN_FOR:
        return run_cost(cnt, n, maxb, maxb, &ne);
    case ESI_RUN_PFOR:
        best_width(cnt, n, &cost);
        return cost;
    case ESI_RUN_AUTO:
    default:
        best_width(cnt, n, &cost);
        return cost < 1 + vbytes ? cost : 1 + vbytes;
    }
}

/* Append the low w bits of v[0..n), least significant bit first. */
static void put_bits(es_status *rc, esi_buf *b, const uint32_t *v, uint32_t n,
                     unsigned w)
{
    size_t bytes = ((size_t)n * w + 7) / 8;
    esi_buf_reserve(rc, b, bytes);
    if (*rc != ES_OK || bytes == 0)
        return;
    uint8_t *o = b->data + b->len;
    uint64_t mask = ((uint64_t)1 << w) - 1, acc = 0;
    unsigned have = 0;
    for (uint32_t i = 0; i < n; i++) {
        acc |= ((uint64_t)v[i] & mask) << have;
        have += w;
        while (have >= 8) {
            *o++ = (uint8_t)acc;
            acc >>= 8;
            have -= 8;
        }
    }
    if (have)
        *o++ = (uint8_t)acc;
    b->len += bytes;
}

void esi_run_put(es_status *rc, esi_buf *b, const uint32_t *v, uint32_t n)
{
    if (*rc != ES_OK)
        return;
    uint32_t cnt[33], ne;
    size_t vbytes = histogram(v, n, cnt), cost;
    unsigned w = best_width(cnt, n, &cost);
    if (1 + vbytes <= cost) {
        esi_buf_put_u8(rc, b, RUN_VARINT);
        for (uint32_t i = 0; i < n; i++)
            esi_buf_put_varint(rc, b, v[i]);
        return;
    }
    run_cost(cnt, n, w, 32, &ne);
    esi_buf_put_u8(rc, b, (uint8_t)(ne ? (RUN_EXC | w) : w));
    put_bits(rc, b, v, n, w);
    if (ne == 0)
        return;
    esi_buf_put_u8(rc, b, (uint8_t)ne);
    for (uint32_t i = 0; i < n; i++) {
        if (bits_of(v[i]) > w) {
            esi_buf_put_u8(rc, b, (uint8_t)i);
            esi_buf_put_varint(rc, b, v[i] >> w);
        }
    }
}

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

/* Decode a varint of at most 33 bits (a 32-bit value and a flag bit). */
static inline bool get_v33(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (p >= end)
            return false;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (v >> 33)
                return false;
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

/* Little-endian 64-bit load of 8 readable bytes. */
static inline uint64_t load64(const uint8_t *q)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x;
    memcpy(&x, q, 8);
    return x;
#else
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | q[i];
    return x;
#endif
}

/* Unpack n fields of w bits (1..32) from the bytes at p (exactly
 * ceil(n*w/8) of them are read). */
static void get_bits(const uint8_t *p, uint32_t n, unsigned w, uint32_t *out)
{
    size_t bytes = ((size_t)n * w + 7) / 8;
    uint8_t tmp[128 * 4 + 8];
    memcpy(tmp, p, bytes);
    memset(tmp + bytes, 0, 8);
    uint64_t mask = ((uint64_t)1 << w) - 1;
    size_t bit = 0;
    for (uint32_t i = 0; i < n; i++, bit += w)
        out[i] = (uint32_t)((load64(tmp + (bit >> 3)) >> (bit & 7)) & mask);
}

bool esi_run_get(const uint8_t **pp, const uint8_t *end, uint32_t n,
                 uint32_t *out)
{
    const uint8_t *p = *pp;
    if (p >= end || n == 0 || n > 128)
        return false;
    uint8_t h = *p++;
    if (h == RUN_VARINT) {
        uint32_t v;
        for (uint32_t i = 0; i < n; i++) {
            if (!get_v32(&p, end, out ? &out[i] : &v))
                return false;
        }
        *pp = p;
        return true;
    }
    unsigned w = h & ~(unsigned)RUN_EXC;
    bool exc = (h & RUN_EXC) != 0;
    if (w > 32 || (exc && w == 32))
        return false;
    size_t bytes = ((size_t)n * w + 7) / 8;
    if ((size_t)(end - p) < bytes)
        return false;
    if (out && w == 0)
        memset(out, 0, n * sizeof *out);
    else if (out)
        get_bits(p, n, w, out);
    p += bytes;
    if (exc) {
        if (p >= end)
            return false;
        uint32_t ne = *p++;
        int prev = -1;
        if (ne == 0 || ne > n)
            return false;
        for (uint32_t k = 0; k < ne; k++) {
            uint32_t hi;
            if (p >= end || (int)*p <= prev || *p >= n)
                return false;
            prev = *p++;
            if (!get_v32(&p, end, &hi) || hi == 0 || hi > (UINT32_MAX >> w))
                return false;
            if (out)
                out[prev] |= hi << w;
        }
    }
    *pp = p;
    return true;
}

/* Step over a run of n values without decoding it; false if malformed. */
static bool skip_run(const uint8_t **pp, const uint8_t *end, uint32_t n)
{
    return esi_run_get(pp, end, n, NULL);
}

es_status esi_post_check_header(const uint8_t *file, size_t len,
                                const char *name, esi_err *e)
{
    uint32_t flags = len >= ES_FILE_HEADER_LEN ? esi_le32_read(file + 12) : 0;
    if (flags & ESI_POST_FLAG_RUNS)
        return ES_OK;
    return esi_err_set(e, ES_EFORMAT,
                       "%s: postings in an older format (flags %08x, this "
                       "libedusearch needs packed runs, flag %08x); rebuild "
                       "the index", name, flags, ESI_POST_FLAG_RUNS);
}

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
    pe->copied = false;
    pe->run_n = 0;
    memset(&pe->ti, 0, sizeof pe->ti);
    pe->ti.post_off = esi_sink_off(out);
    pe->ti.positions = positions;
}

/* Write the pending block (header, docs, positions) to the output; a term
 * without positions has no pos_bytes field and no positions section. A
 * short block that is not the term's last states its doc count. */
static void flush_block(es_status *rc, esi_postenc *pe, bool last_of_term)
{
    if (pe->n == 0 || *rc != ES_OK)
        return;
    uint32_t n = pe->n;
    if (pe->ti.positions && pe->run_n > 0) {
        esi_run_put(rc, &pe->possec, pe->run, pe->run_n);
        pe->run_n = 0;
    }
    /* doc deltas and freqs - 1 as two packed runs, or folded varints,
     * whichever is smaller */
    esi_buf *d = &pe->docsec;
    uint32_t dv[ESI_POST_BLOCK], fv[ESI_POST_BLOCK];
    size_t folded = 0;
    for (uint32_t i = 0; i < n; i++) {
        dv[i] = i == 0 ? pe->docs[0] - pe->base : pe->docs[i] - pe->docs[i - 1] - 1;
        fv[i] = pe->freqs[i] - 1;
        folded += esi_varint_len(((uint64_t)dv[i] << 1) | (fv[i] == 0)) +
                  (fv[i] ? esi_varint_len(pe->freqs[i]) : 0);
    }
    bool packed = n > 2 && esi_run_size(dv, n, ESI_RUN_AUTO) +
                           esi_run_size(fv, n, ESI_RUN_AUTO) < folded;
    if (packed) {
        esi_run_put(rc, d, dv, n);
        esi_run_put(rc, d, fv, n);
    } else {
        for (uint32_t i = 0; i < n; i++) {
            esi_buf_put_varint(rc, d, ((uint64_t)dv[i] << 1) | (fv[i] == 0));
            if (fv[i])
                esi_buf_put_varint(rc, d, pe->freqs[i]);
        }
    }
    bool explicit_n = n < ESI_POST_BLOCK && !last_of_term;
    esi_buf *o = &pe->out->b;
    esi_buf_put_varint(rc, o, ((uint64_t)(pe->prev - pe->base) << 1) | explicit_n);
    if (explicit_n)
        esi_buf_put_varint(rc, o, n);
    esi_buf_put_varint(rc, o, ((uint64_t)d->len << 1) | packed);
    if (pe->ti.positions)
        esi_buf_put_varint(rc, o, pe->possec.len);
    esi_buf_put_varint(rc, o, pe->blk_max_tf);
    esi_buf_put(rc, o, d->data, d->len);
    if (pe->ti.positions)
        esi_buf_put(rc, o, pe->possec.data, pe->possec.len);
    esi_buf_reset(&pe->docsec);
    esi_buf_reset(&pe->possec);
    pe->base = pe->prev + 1;
    pe->n = 0;
    pe->blk_max_tf = 0;
    pe->copied = false;
}

/* Account one doc of the pending block; false (ES_EINVAL) if out of order. */
static bool take_doc(es_status *rc, esi_postenc *pe, uint32_t docno, uint32_t n)
{
    if (n == 0 || (pe->ti.df > 0 && docno <= pe->prev) || docno < pe->base ||
        docno == UINT32_MAX) {
        *rc = ES_EINVAL;
        return false;
    }
    pe->docs[pe->n] = docno;
    pe->freqs[pe->n] = n;
    pe->prev = docno;
    pe->n++;
    pe->ti.df++;
    pe->ti.cf += n;
    if (n > pe->blk_max_tf)
        pe->blk_max_tf = n;
    if (n > pe->ti.max_tf)
        pe->ti.max_tf = n;
    return true;
}

void esi_postenc_add(es_status *rc, esi_postenc *pe, uint32_t docno,
                     const uint32_t *pos, uint32_t n)
{
    if (*rc != ES_OK)
        return;
    if (pe->copied)
        flush_block(rc, pe, false);
    uint32_t last = 0;
    for (uint32_t i = 0; pe->ti.positions && i < n; i++) {
        if (pos[i] < last || pos[i] == ESI_POS_NONE) {
            *rc = ES_EINVAL;
            return;
        }
        last = pos[i];
    }
    if (!take_doc(rc, pe, docno, n))
        return;
    last = 0;
    for (uint32_t i = 0; pe->ti.positions && i < n; i++) {
        pe->run[pe->run_n++] = pos[i] - last;
        last = pos[i];
        if (pe->run_n == ESI_POST_BLOCK) {
            esi_run_put(rc, &pe->possec, pe->run, pe->run_n);
            pe->run_n = 0;
        }
    }
    if (pe->n == ESI_POST_BLOCK)
        flush_block(rc, pe, false);
}

void esi_postenc_copy_block(es_status *rc, esi_postenc *pe,
                            const uint32_t *docs, const uint32_t *freqs,
                            uint32_t n, const uint8_t *pos, size_t pos_len)
{
    if (*rc != ES_OK)
        return;
    if (n == 0 || n > ESI_POST_BLOCK) {
        *rc = ES_EINVAL;
        return;
    }
    flush_block(rc, pe, false);
    for (uint32_t i = 0; i < n && *rc == ES_OK; i++)
        take_doc(rc, pe, docs[i], freqs[i]);
    if (pe->ti.positions)
        esi_buf_put(rc, &pe->possec, pos, pos_len);
    pe->copied = true;
    if (pe->n == ESI_POST_BLOCK)
        flush_block(rc, pe, false);
}

void esi_postenc_finish(es_status *rc, esi_postenc *pe, esi_term_info *out)
{
    flush_block(rc, pe, true);
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
    c->pos_sec = c->pos_p = c->pos_end = NULL;
    c->pos_total = c->pos_next = c->pos_s = c->run_start = 0;
    c->pos_i = c->run_n = 0;
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

/* The header of the next block: its last docno, doc count, section
 * lengths; false if malformed. */
static bool read_header(esi_postings *c, uint32_t *last, uint32_t *n,
                        uint32_t *dlen, uint32_t *plen, bool *packed)
{
    uint64_t dl, db;
    uint32_t mt;
    *plen = 0;
    *n = c->docs_left < ESI_POST_BLOCK ? c->docs_left : ESI_POST_BLOCK;
    if (!get_v33(&c->rd.p, c->rd.end, &dl))
        return false;
    if ((dl & 1) && (!get_v32(&c->rd.p, c->rd.end, n) || *n == 0 ||
                     *n >= ESI_POST_BLOCK || *n > c->docs_left))
        return false;
    if (!get_v33(&c->rd.p, c->rd.end, &db) ||
        (c->has_pos && !get_v32(&c->rd.p, c->rd.end, plen)) ||
        !get_v32(&c->rd.p, c->rd.end, &mt) || mt == 0)
        return false;
    dl >>= 1;
    *packed = db & 1;
    *dlen = (uint32_t)(db >> 1);
    if ((uint64_t)c->next_base + dl >= c->seg->ndocs)
        return false;
    *last = c->next_base + (uint32_t)dl;
    size_t left = esi_rd_left(&c->rd);
    return *dlen <= left && *plen <= left - *dlen;
}

/* Decode the doc/freq section of the block whose header was just read. */
static es_status decode_block(esi_postings *c, uint32_t last, uint32_t n,
                              uint32_t dlen, uint32_t plen, bool packed)
{
    const uint8_t *p = c->rd.p, *end = p + dlen;
    uint64_t doc = c->next_base, total = 0;
    if (packed) {
        if (!esi_run_get(&p, end, n, c->block_docs) ||
            !esi_run_get(&p, end, n, c->block_freqs))
            return corrupt(c);
        for (uint32_t i = 0; i < n; i++) {
            doc += (uint64_t)c->block_docs[i] + (i > 0);
            if (doc > last || c->block_freqs[i] == UINT32_MAX)
                return corrupt(c);
            c->block_docs[i] = (uint32_t)doc;
            total += ++c->block_freqs[i];
        }
    } else {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v, f = 1;
            if (!get_v32(&p, end, &v))
                return corrupt(c);
            doc += (uint64_t)(v >> 1) + (i > 0);
            if (doc > last ||
                (!(v & 1) && (!get_v32(&p, end, &f) || f < 2)))
                return corrupt(c);
            c->block_docs[i] = (uint32_t)doc;
            c->block_freqs[i] = f;
            total += f;
        }
    }
    if (p != end || doc != last)
        return corrupt(c);
    c->pos_sec = c->pos_p = end;
    c->pos_end = end + plen;
    c->pos_total = c->has_pos ? total : 0;
    c->pos_next = c->pos_s = c->run_start = 0;
    c->pos_i = c->run_n = 0;
    if (!c->has_pos && plen != 0)
        return corrupt(c);
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
    uint32_t last, n, dlen, plen;
    bool packed;
    if (!read_header(c, &last, &n, &dlen, &plen, &packed))
        return corrupt(c);
    es_status rc = decode_block(c, last, n, dlen, plen, packed);
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
            uint32_t last, n, dlen, plen;
            bool packed;
            if (!read_header(c, &last, &n, &dlen, &plen, &packed))
                return corrupt(c);
            if (last >= target) {
                es_status rc = decode_block(c, last, n, dlen, plen, packed);
                if (rc != ES_OK)
                    return rc;
                c->block_i = 0;
                break;
            }
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

/* Decode the run of the block's position stream that holds value j,
 * skipping the runs before it; false if the data is malformed. */
static bool load_run(esi_postings *c, uint64_t j)
{
    if (c->run_n > 0 && j < c->run_start)
        return false;
    for (;;) {
        if (c->pos_next >= c->pos_total)
            return false;
        uint64_t left = c->pos_total - c->pos_next;
        uint32_t rn = left < ESI_POST_BLOCK ? (uint32_t)left : ESI_POST_BLOCK;
        if (j >= c->pos_next + rn) {
            if (!skip_run(&c->pos_p, c->pos_end, rn))
                return false;
            c->pos_next += rn;
            continue;
        }
        if (!esi_run_get(&c->pos_p, c->pos_end, rn, c->run))
            return false;
        c->run_start = c->pos_next;
        c->run_n = rn;
        c->pos_next += rn;
        /* the last run must end the section exactly */
        return c->pos_next < c->pos_total || c->pos_p == c->pos_end;
    }
}

/* Make room for f positions in c->pos. */
static es_status pos_room(esi_postings *c, uint32_t f)
{
    if (f <= c->pos_cap)
        return ES_OK;
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
    return ES_OK;
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
        while (c->pos_i < c->block_i)
            c->pos_s += c->block_freqs[c->pos_i++];
        uint32_t f = c->freq;
        es_status rc = pos_room(c, f);
        if (rc != ES_OK)
            return rc;
        uint64_t at = 0, j = c->pos_s;
        uint32_t k = 0;
        while (k < f) {
            if (j < c->run_start || j >= c->run_start + c->run_n) {
                if (!load_run(c, j))
                    return corrupt(c);
            }
            uint32_t off = (uint32_t)(j - c->run_start);
            uint32_t take = c->run_n - off;
            if (take > f - k)
                take = f - k;
            const uint32_t *r = c->run + off;
            for (uint32_t t = 0; t < take; t++) {
                at += r[t];
                c->pos[k + t] = (uint32_t)at;
            }
            if (at > UINT32_MAX)
                return corrupt(c);
            k += take;
            j += take;
        }
        c->pos_n = f;
        c->positions_decoded = true;
    }
    *pos = c->pos;
    *n = c->pos_n;
    return ES_OK;
}

es_status esi_postings_take_block(esi_postings *c, const uint8_t **pos,
                                  size_t *pos_len)
{
    if (c->err != ES_OK)
        return c->err;
    if (c->doc == UINT32_MAX || c->block_i != 0 || c->pos_next != 0)
        return ES_EINVAL;
    const uint8_t *p = c->pos_sec;
    for (uint64_t j = 0; j < c->pos_total; j += ESI_POST_BLOCK) {
        uint64_t left = c->pos_total - j;
        if (!skip_run(&p, c->pos_end, left < ESI_POST_BLOCK ? (uint32_t)left
                                                            : ESI_POST_BLOCK))
            return corrupt(c);
    }
    if (p != c->pos_end)
        return corrupt(c);
    *pos = c->pos_sec;
    *pos_len = (size_t)(c->pos_end - c->pos_sec);
    c->pos_p = c->pos_end;
    c->pos_next = c->pos_total;
    c->pos_i = c->block_n;
    return set_doc(c, c->block_n - 1);
}

void esi_postings_close(esi_postings *c)
{
    esi_free(c->pos);
    c->pos = NULL;
    c->pos_cap = 0;
    c->pos_n = 0;
}
