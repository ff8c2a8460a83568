/*
 * termdict.c: the .dict codec (docs/FORMAT.md §3). Terms are sorted
 * bytewise and stored in blocks of 64 prefix-compressed entries; a block
 * index at the end of the file (fixed 16-byte entries plus the first term of
 * every block) is read once at open into an array of the first terms' first
 * 8 bytes, which a lookup binary-searches (esi_dict_seek_block) before it
 * touches exactly one block. Format 2.1
 * adds restart points: every ESI_DICT_RESTART-th entry of a block holds its
 * whole term and a table gives its offset and post_off, so a lookup
 * binary-searches those too and decodes at most ESI_DICT_RESTART entries
 * (2.0 dictionaries, without the table, are scanned from the block start).
 * The scan compares entries against the key without rebuilding terms and
 * steps over the fields of entries that do not match without decoding them.
 * Measured with bench/bench_dict on the benchmark index (364,753 terms, the
 * 8,273 keys of the bench queries, callgrind): 11,218 instructions per
 * lookup before (2.0 layout, full decode of every entry), 3,102 for the new
 * scan on a 2.0 dictionary, 1,661 with restarts every 16 entries, for a
 * dictionary of 3.23 MB instead of 2.95 MB. A query's keys are looked up
 * together (esi_segment_lookup_many): each one's block is prefetched before
 * any is read, so their misses overlap (p50 about 5% lower, stop 17).
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

/* Restart slots per block for restarts every k entries. */
static uint32_t restart_slots(uint32_t k)
{
    return (ESI_DICT_BLOCK + k - 1) / k - 1;
}

/* Fill the current block's unused restart slots with zeros (a block of
 * fewer entries than ESI_DICT_BLOCK has fewer restarts). */
static void pad_restarts(es_status *rc, esi_dictw *w)
{
    size_t want = (size_t)w->nblocks * restart_slots(ESI_DICT_RESTART) *
                  ESI_DICT_RESTART_LEN;
    while (*rc == ES_OK && w->restarts.len < want) {
        esi_buf_put_u32(rc, &w->restarts, 0);
        esi_buf_put_u64(rc, &w->restarts, 0);
    }
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
    uint64_t off = esi_sink_off(w->out);
    if (first) {
        shared = 0;
        pad_restarts(rc, w);
        esi_buf_put_u64(rc, &w->index, off);
        esi_buf_put_u32(rc, &w->index, (uint32_t)w->firsts.len);
        esi_buf_put_u32(rc, &w->index, (uint32_t)len);
        esi_buf_put(rc, &w->firsts, term, len);
        w->nblocks++;
        w->block_off = off;
    } else if (ti->post_off != w->next_off) {
        *rc = ES_EINVAL;
        return;
    } else if (w->in_block % ESI_DICT_RESTART == 0) {
        /* a restart: the whole term, found through the table */
        shared = 0;
        esi_buf_put_u32(rc, &w->restarts, (uint32_t)(off - w->block_off));
        esi_buf_put_u64(rc, &w->restarts, ti->post_off);
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
    pad_restarts(rc, w);
    /* firsts: the first terms, the restart table, the restart interval */
    uint64_t flen = (uint64_t)w->firsts.len + w->restarts.len + 4;
    if (*rc == ES_OK && flen > UINT32_MAX)
        *rc = ES_ELIMIT;
    esi_buf_put(rc, &w->out->b, w->index.data, w->index.len);
    esi_buf_put(rc, &w->out->b, w->firsts.data, w->firsts.len);
    esi_buf_put(rc, &w->out->b, w->restarts.data, w->restarts.len);
    esi_buf_put_u32(rc, &w->out->b, ESI_DICT_RESTART);
    esi_buf_put_u64(rc, &w->out->b, w->nterms);
    esi_buf_put_u32(rc, &w->out->b, w->nblocks);
    esi_buf_put_u32(rc, &w->out->b, (uint32_t)flen);
}

void esi_dictw_free(esi_dictw *w)
{
    esi_buf_free(&w->index);
    esi_buf_free(&w->firsts);
    esi_buf_free(&w->last);
    esi_buf_free(&w->restarts);
}

/* ---- reading ------------------------------------------------------------ */

/* Little-endian loads for the lookup path (the calls into base.h's
 * esi_le32_read/esi_le64_read cost more than the loads themselves). */
static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Byte range of dictionary block b; false if the index is inconsistent. */
static inline bool block_range(const esi_segment *s, uint32_t b, esi_rd *out)
{
    const uint8_t *ix = s->dict_index + (size_t)b * 16;
    uint64_t start = le64(ix);
    uint64_t end = b + 1 < s->dict_nblocks ? le64(ix + 16)
                                           : s->dict_blocks_end;
    if (start > end || end > s->dict_blocks_end)
        return false;
    *out = esi_rd_make(s->dict_p + start, (size_t)(end - start));
    return true;
}

/* First term of block b (borrowed from the map); false if out of range. */
static inline bool block_first(const esi_segment *s, uint32_t b, const uint8_t **t,
                        size_t *n)
{
    const uint8_t *ix = s->dict_index + (size_t)b * 16;
    uint32_t off = le32(ix + 8), len = le32(ix + 12);
    if (off > s->dict_firsts_len || len > s->dict_firsts_len - off)
        return false;
    *t = s->dict_firsts + off;
    *n = len;
    return true;
}

/* Bytewise comparison of a and b, shorter first on a tie. Terms are short
 * (a few UTF-8 characters; field terms start with the same "title\x1f"),
 * so eight bytes at a time, as big-endian integers, then a byte loop, beat
 * a call to memcmp. */
static inline int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b,
                            size_t bn)
{
    size_t m = an < bn ? an : bn, i = 0;
    for (; i + 8 <= m; i += 8) {
        uint64_t x = __builtin_bswap64(le64(a + i)),
                 y = __builtin_bswap64(le64(b + i));
        if (x != y)
            return x < y ? -1 : 1;
    }
    for (; i < m; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

/* Decode the varint at *pp (< end) into *v with esi_rd_varint's checks;
 * false on overrun or more than 64 bits. */
static inline bool vget(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    esi_rd r = { *pp, end };
    bool ok = esi_rd_varint(&r, v);
    *pp = r.p;
    return ok;
}

/* Step over 3 varints at *pp (< end) without decoding them (finding their
 * last bytes, eight bytes at a time when there are eight); false on
 * overrun. Their lengths are not checked here: esi_dict_iter_next, which
 * `edusearch check` runs, decodes every field. */
static inline bool vskip3(const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    if (end - p >= 8) {
        uint64_t last = ~le64(p) & UINT64_C(0x8080808080808080);
        last &= last - 1;
        last &= last - 1;                  /* the third last byte */
        if (last) {
            *pp = p + (__builtin_ctzll(last) >> 3) + 1;
            return true;
        }
    }
    for (int n = 3; n > 0;) {
        if (p >= end)
            return false;
        n -= !(*p++ & 0x80);
    }
    *pp = p;
    return true;
}

/* Decode one entry's fields after its term (post_off when first, else
 * carried from the previous entry in ti) into ti. */
static bool read_fields(esi_rd *r, bool first, esi_term_info *ti)
{
    uint64_t df, cfx, mtf, plen;
    uint64_t off = ti->post_off + ti->post_len;
    if (first && !vget(&r->p, r->end, &off))
        return false;
    if (!vget(&r->p, r->end, &df) || !vget(&r->p, r->end, &cfx) ||
        !vget(&r->p, r->end, &mtf) || !vget(&r->p, r->end, &plen))
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

/* Decode one entry into term[*tlen] and ti; first says it carries post_off.
 * *shared_out gets its shared-prefix length. */
static bool read_entry(esi_rd *r, bool first, uint8_t *term, size_t *tlen,
                       esi_term_info *ti, uint64_t *shared_out)
{
    uint64_t shared, suffix;
    const uint8_t *p;
    if (!vget(&r->p, r->end, &shared) || !vget(&r->p, r->end, &suffix))
        return false;
    *shared_out = shared;
    if (shared > *tlen || (first && shared != 0) ||
        suffix > ESI_MAX_TERM - shared || !esi_rd_take(r, (size_t)suffix, &p))
        return false;
    memcpy(term + shared, p, (size_t)suffix);
    *tlen = (size_t)(shared + suffix);
    return read_fields(r, first, ti);
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

/* The first 8 bytes of t[0..n) as a big-endian number, 0-padded: two of
 * them compare as the bytes do, unless equal (then the rest decides). */
static inline uint64_t prefix8(const uint8_t *t, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < 8; i++)
        x = x << 8 | (i < n ? t[i] : 0);
    return x;
}

void esi_dict_load_prefixes(esi_segment *s)
{
    size_t bytes;
    uint64_t *p;
    if (s->dict_nblocks == 0 || !esi_mul_ok(s->dict_nblocks, sizeof *p, &bytes) ||
        !(p = esi_malloc(bytes)))
        return;
    for (uint32_t b = 0; b < s->dict_nblocks; b++) {
        const uint8_t *t;
        size_t n;
        if (!block_first(s, b, &t, &n)) {
            esi_free(p);
            return;
        }
        p[b] = prefix8(t, n);
    }
    s->dict_pfx = p;
}

/* The binary search runs over s->dict_pfx, 8 bytes a block in one array
 * (45 KB for the benchmark's 5,700 blocks), and reads a block's first term
 * in the mapped file only when the prefixes tie; over the file's index
 * every step touched an index entry and a term stored elsewhere. Measured
 * on the benchmark (stop 21): the seek's simulated last-level misses in a
 * cold band of 126 queries 5,600 -> 2,980 (all misses -2%); in wall time
 * the gain is below the VM's noise (a query's lookups take 12-15 us). */
es_status esi_dict_seek_block(const esi_segment *s, const uint8_t *key,
                              size_t len, bool inclusive, uint32_t *block,
                              esi_err *e)
{
    uint32_t lo = 0, hi = s->dict_nblocks;
    uint64_t kp = prefix8(key, len);
    const uint64_t *pfx = s->dict_pfx;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c;
        if (pfx && pfx[mid] != kp) {
            c = pfx[mid] < kp ? -1 : 1;
        } else {
            const uint8_t *t;
            size_t n;
            if (!block_first(s, mid, &t, &n))
                return dict_corrupt(s, e, "block index out of range");
            c = cmp_bytes(t, n, key, len);
        }
        if (c < 0 || (inclusive && c == 0))
            lo = mid;
        else
            hi = mid;
    }
    *block = lo;
    return ES_OK;
}

/* Restart slot j of block b: the entry's byte offset in the block and its
 * post_off (format 2.1; unused slots are zero). */
static void restart_slot(const esi_segment *s, uint32_t b, uint32_t j,
                         uint32_t *off, uint64_t *post_off)
{
    const uint8_t *x = s->dict_restarts +
                       ((size_t)b * s->dict_nrestarts + j) * ESI_DICT_RESTART_LEN;
    *off = le32(x);
    *post_off = le64(x + 4);
}

/* Find term[0..len) among the n entries at p (< end), the first of which
 * has shared 0 and carries post_off when has_off, else has post_off off.
 * The entries are compared without rebuilding them: m is the length of the
 * prefix the previous term (which sorts before the key) shares with the
 * key. A term sharing more than m bytes with its predecessor sorts before
 * the key like its predecessor; one sharing at most m bytes has the key's
 * first `shared` bytes, so only its suffix is compared (with a maximal
 * shared, as writers make it, a term sharing fewer than m bytes differs
 * from the key at its first suffix byte, upwards). An entry that does not
 * match is stepped over: its df, cf and max_tf varints are skipped
 * undecoded, only post_len is decoded (for the next entry's post_off).
 * ES_OK with *out, ES_ENOTFOUND, or ES_ECORRUPT (an entry is unreadable). */
static es_status scan_entries(const uint8_t *p, const uint8_t *end, uint32_t n,
                              bool has_off, uint64_t off, const uint8_t *term,
                              size_t len, esi_term_info *out)
{
    size_t m = 0, prev_len = 0;
    uint64_t plen = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t shared, suffix;
        if (!vget(&p, end, &shared) || !vget(&p, end, &suffix) ||
            shared > prev_len || suffix > ESI_MAX_TERM - shared ||
            suffix > (size_t)(end - p))
            return ES_ECORRUPT;
        const uint8_t *sfx = p;
        p += suffix;
        prev_len = (size_t)(shared + suffix);
        if (i > 0)
            off += plen;
        else if (has_off && !vget(&p, end, &off))
            return ES_ECORRUPT;
        if (shared <= m) {
            /* term[0..shared) is key[0..shared): compare the rest */
            size_t k = len - shared, l = 0;
            size_t c = suffix < k ? (size_t)suffix : k;
            const uint8_t *kp = term + shared;
            while (l < c && sfx[l] == kp[l])
                l++;
            if (l == suffix && l == k) {       /* the key itself */
                esi_rd f = { p, end };
                esi_term_info ti = { 0 };
                ti.post_off = off;
                if (!read_fields(&f, false, &ti))
                    return ES_ECORRUPT;
                *out = ti;
                return ES_OK;
            }
            if (l == k || (l < suffix && sfx[l] > kp[l]))
                return ES_ENOTFOUND;      /* sorts after the key */
            m = (size_t)shared + l;       /* sorts before it */
        }
        if (!vskip3(&p, end) || !vget(&p, end, &plen))
            return ES_ECORRUPT;
    }
    return ES_ENOTFOUND;
}

/* Compare the term of the restart entry at byte offset off of block r with
 * key: -1, 0, 1 in *c; false if the entry is unreadable. */
static bool restart_cmp(esi_rd r, uint32_t off, const uint8_t *key, size_t len,
                        int *c)
{
    uint64_t shared, suffix;
    const uint8_t *p = r.p + off;
    if (off >= esi_rd_left(&r) || !vget(&p, r.end, &shared) ||
        !vget(&p, r.end, &suffix) || shared != 0 || suffix > ESI_MAX_TERM ||
        suffix > (size_t)(r.end - p))
        return false;
    *c = cmp_bytes(p, (size_t)suffix, key, len);
    return true;
}

/* Look term up in dictionary block b (the one esi_dict_seek_block gives). */
static es_status lookup_in(const esi_segment *s, uint32_t b, const uint8_t *term,
                           size_t len, esi_term_info *out, esi_err *e)
{
    es_status rc;
    esi_rd r;
    if (!block_range(s, b, &r))
        return dict_corrupt(s, e, "block index out of range");
    uint32_t nt = block_terms(s, b), k = s->dict_restart;
    /* the run to scan: from the block's start, or from the last restart
     * whose term sorts at or before the key (binary search of the table) */
    uint32_t lo = 0;
    if (k) {
        uint32_t hi = (nt - 1) / k + 1;   /* runs of the block */
        while (hi - lo > 1) {
            uint32_t mid = lo + (hi - lo) / 2, roff;
            uint64_t poff;
            int c;
            restart_slot(s, b, mid - 1, &roff, &poff);
            if (!restart_cmp(r, roff, term, len, &c))
                return dict_corrupt(s, e, "bad restart point");
            if (c <= 0)
                lo = mid;
            else
                hi = mid;
        }
    }
    if (lo == 0) {
        uint32_t n = k && k < nt ? k : nt;
        rc = scan_entries(r.p, r.end, n, true, 0, term, len, out);
    } else {
        uint32_t roff;
        uint64_t poff;
        restart_slot(s, b, lo - 1, &roff, &poff);
        uint32_t n = nt - lo * k < k ? nt - lo * k : k;
        rc = scan_entries(r.p + roff, r.end, n, false, poff, term, len, out);
    }
    if (rc == ES_ECORRUPT)
        return dict_corrupt(s, e, "bad dictionary entry");
    return rc;
}

es_status esi_segment_lookup(const esi_segment *s, const uint8_t *term,
                             size_t len, esi_term_info *out, esi_err *e)
{
    if (s->dict_nblocks == 0 || len > ESI_MAX_TERM)
        return ES_ENOTFOUND;
    uint32_t b;
    es_status rc = esi_dict_seek_block(s, term, len, true, &b, e);
    return rc != ES_OK ? rc : lookup_in(s, b, term, len, out, e);
}

/* The keys of a query are looked up together: every key's block is found
 * in the block index first (its top levels stay cached) and its restart
 * slots and bytes (about nine lines) prefetched, then the lookups run, so
 * that the misses of the keys (a lookup's are in the block) overlap
 * instead of following one another. */
es_status esi_segment_lookup_many(const esi_segment *s, size_t n,
                                  const uint8_t *const *term, const size_t *len,
                                  esi_term_info *out, bool *found, esi_err *e)
{
    enum { CHUNK = 64 };
    uint32_t blk[CHUNK];
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t m = n - at < CHUNK ? n - at : CHUNK;
        for (size_t i = 0; i < m; i++) {
            esi_rd r;
            blk[i] = UINT32_MAX;
            found[at + i] = false;
            if (s->dict_nblocks == 0 || len[at + i] > ESI_MAX_TERM)
                continue;
            es_status rc = esi_dict_seek_block(s, term[at + i], len[at + i], true,
                                               &blk[i], e);
            if (rc != ES_OK)
                return rc;
            if (!block_range(s, blk[i], &r))
                return dict_corrupt(s, e, "block index out of range");
            if (s->dict_restart)
                __builtin_prefetch(s->dict_restarts + (size_t)blk[i] *
                                   s->dict_nrestarts * ESI_DICT_RESTART_LEN);
            for (size_t o = 0; o < esi_rd_left(&r) && o < 16 * 64; o += 64)
                __builtin_prefetch(r.p + o);
        }
        for (size_t i = 0; i < m; i++) {
            if (blk[i] == UINT32_MAX)
                continue;
            es_status rc = lookup_in(s, blk[i], term[at + i], len[at + i],
                                     &out[at + i], e);
            if (rc == ES_ENOTFOUND)
                continue;
            if (rc != ES_OK)
                return rc;
            found[at + i] = true;
        }
    }
    return ES_OK;
}

void esi_dict_iter_init(esi_dict_iter *it, const esi_segment *s)
{
    memset(it, 0, sizeof *it);
    it->seg = s;
}

/* Check the restart slots of block b (nt entries) that no entry uses: they
 * must be zero. */
static bool unused_slots_zero(const esi_segment *s, uint32_t b, uint32_t nt)
{
    for (uint32_t j = 0; j < s->dict_nrestarts; j++) {
        uint32_t off;
        uint64_t poff;
        restart_slot(s, b, j, &off, &poff);
        if ((uint64_t)(j + 1) * s->dict_restart >= nt && (off || poff))
            return false;
    }
    return true;
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
        it->nt = it->left = block_terms(s, it->block);
        it->blk = it->rd.p;
        if (s->dict_restart && !unused_slots_zero(s, it->block, it->nt))
            return dict_corrupt(s, e, "unused restart slot not zero");
        it->block++;
        first = true;
    }
    uint8_t buf[ESI_MAX_TERM];
    size_t tlen = it->term.len;
    if (tlen > ESI_MAX_TERM)
        return dict_corrupt(s, e, "term too long");
    if (tlen)
        memcpy(buf, it->term.data, tlen);
    uint32_t idx = it->nt - it->left;
    size_t at = (size_t)(it->rd.p - it->blk);
    uint64_t shared;
    if (!read_entry(&it->rd, first, buf, &tlen, &it->ti, &shared))
        return dict_corrupt(s, e, "bad dictionary entry");
    if (first) {
        const uint8_t *t;
        size_t n;
        if (!block_first(s, it->block - 1, &t, &n) || cmp_bytes(t, n, buf, tlen) != 0)
            return dict_corrupt(s, e, "block index disagrees with its block");
    } else if (s->dict_restart && idx % s->dict_restart == 0) {
        /* a restart: whole term, where and with the post_off its slot says */
        uint32_t off;
        uint64_t poff;
        restart_slot(s, it->block - 1, idx / s->dict_restart - 1, &off, &poff);
        if (shared != 0 || off != at || poff != it->ti.post_off)
            return dict_corrupt(s, e, "restart table disagrees with its block");
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
