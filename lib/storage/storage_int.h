/*
 * storage_int.h: the storage layer's private interfaces, shared between its
 * files and its tests but by nothing above lib/storage. The codecs of the
 * three segment files (postings.c, termdict.c, docstore.c), the segment
 * builder that streams them to disk and the mapped segment (segment.c),
 * the manifest (manifest.c) and the merge (merge.c).
 * Byte layouts are in docs/FORMAT.md.
 */
#ifndef ES_STORAGE_INT_H
#define ES_STORAGE_INT_H

#include "../base/fileformat.h"
#include "../base/io.h"
#include <stdatomic.h>
#include "storage.h"

#define ESI_MAGIC_MANIFEST "ESMANIF\0"
#define ESI_MAGIC_DICT "ESDICT\0\0"
#define ESI_MAGIC_POST "ESPOST\0\0"
#define ESI_MAGIC_STORE "ESSTORE\0"
#define ESI_MAGIC_DEL "ESDEL\0\0\0"

#define ESI_POST_BLOCK 128        /* docs per postings block */
/* A term in more docs than this has a skip table after its blocks
 * (FORMAT.md §4), so a cursor jumps to a far doc without reading the
 * header of every block before it. */
#define ESI_POST_SKIP_DF (4 * ESI_POST_BLOCK)
#define ESI_DICT_BLOCK 64         /* terms per dictionary block */
/* Restart points inside dictionary blocks (format 2.1, FORMAT.md §3): every
 * ESI_DICT_RESTART-th entry of a block repeats its whole term, and a table
 * gives its byte offset and post_off, so a lookup decodes at most this many
 * entries instead of a whole block. Marked by this .dict header flag;
 * without it (format 2.0) a block is scanned from its start. Measured on
 * the benchmark index (364,753 terms): see the opening comment of
 * termdict.c. */
#ifndef ESI_DICT_RESTART        /* -DESI_DICT_RESTART=k to measure others */
#define ESI_DICT_RESTART 16
#endif
#define ESI_DICT_FLAG_RESTARTS 0x1u
#define ESI_DICT_RESTART_LEN 12   /* u32 entry offset + u64 post_off */
/* Raw bytes per stored-docs block (min). Measured on the benchmark corpus
 * (57.8 MB of text, one segment): 16 KiB blocks make an 18.29 MB store,
 * 32 KiB 17.53 MB, 64 KiB 16.93 MB (index 1.051x / 1.038x / 1.027x the
 * text). Without the block cache, fetching the top 10 cost p50 ~2 ms with
 * 16 or 32 KiB and ~5 ms with 64 KiB (noisy shared machine); with the cache
 * warm all three gave the same p50. The cache makes the fetch cheap, so the
 * size goal decides: 64 KiB. */
#define ESI_STORE_BLOCK 65536
#define ESI_DICT_TRAILER 16
#define ESI_MAX_TERM 1024          /* longest term key in bytes */
#define ESI_STORE_TRAILER 64

/* ---- streamed file images (segment.c) --------------------------------------
 * A segment file is written while it is built: its bytes (frame header
 * first) gather in b and go to the file whenever b passes ESI_SINK_CHUNK,
 * so a segment never needs its whole image in memory. The crc32 and the
 * payload offset run across drains. An I/O error is sticky: *rc becomes
 * ES_EIO and the message (naming the file) is kept in *err. */
#define ESI_SINK_CHUNK ((size_t)1 << 20)

typedef struct esi_sink {
    esi_buf b;                 /* bytes not yet written */
    uint64_t drained;          /* bytes written to f */
    uint32_t crc;              /* crc32 of those bytes */
    esi_wfile *f;
    esi_err *err;              /* where an I/O error's message goes */
} esi_sink;

/* Payload offset of the next byte. */
static inline uint64_t esi_sink_off(const esi_sink *s)
{
    return s->drained + s->b.len - ES_FILE_HEADER_LEN;
}
/* Write b out once it holds at least ESI_SINK_CHUNK bytes. */
void esi_sink_drain(es_status *rc, esi_sink *s);

/* ---- postings (postings.c) -------------------------------------------------
 * .post header flag: the postings are in packed runs (docs/FORMAT.md §4).
 * Segments written before it (varint-only postings) lack the flag and are
 * refused with ES_EFORMAT by esi_post_check_header. */
#define ESI_POST_FLAG_RUNS 0x1u

/* ES_OK if the .post file image (header included) carries the flags this
 * reader needs; ES_EFORMAT with a message to rebuild otherwise. */
es_status esi_post_check_header(const uint8_t *file, size_t len,
                                const char *name, esi_err *e);

/* Packed runs: n <= 128 values coded as one header byte (bit width w,
 * exceptions flag, or varint run) and w-bit fields plus exceptions, or as
 * n varints (FORMAT.md §4): the smaller, with a bias towards fewer
 * exceptions and against varints, which decode slower (postings.c). */
typedef enum esi_run_mode {
    ESI_RUN_VARINT,            /* n varints, no header byte */
    ESI_RUN_FOR,               /* width = bits of the largest value */
    ESI_RUN_PFOR,              /* smallest width, larger values as exceptions */
    ESI_RUN_AUTO               /* what the encoder writes (esi_run_put) */
} esi_run_mode;
/* Bytes v[0..n) take under mode (for measurements; n <= 128). */
size_t esi_run_size(const uint32_t *v, uint32_t n, esi_run_mode mode);
/* Append v[0..n) as a run (ESI_RUN_AUTO); n <= 128. */
void esi_run_put(es_status *rc, esi_buf *b, const uint32_t *v, uint32_t n);
/* Decode a run of n values at *pp (< end) into out (NULL: only step over
 * it, with the same checks); false if malformed. */
bool esi_run_get(const uint8_t **pp, const uint8_t *end, uint32_t n,
                 uint32_t *out);
/* esi_run_get where the bytes in [end, lim) (lim >= end) are readable
 * too: the decoder may load them (8-byte loads near the run's end, masked
 * away) but the run must still end by end. Cursors pass the end of the
 * mapped payload, so even a block's last run is read without a copy. */
bool esi_run_get_lim(const uint8_t **pp, const uint8_t *end,
                     const uint8_t *lim, uint32_t n, uint32_t *out);
/* Whether packed runs of up to 16 bits may be unpacked with AVX2 where
 * the CPU has it (the default; both give the same values); tests turn it
 * off to check the plain unpackers. Takes effect for the runs unpacked
 * after it. */
void esi_post_use_avx2(bool on);

/* Turn a full block's two unpacked runs (n <= 128) into docnos and freqs
 * in place: doc i = base + delta 0 + ... + delta i + i (*doc: base on
 * entry; on return the last doc, summed in 64 bits, so a damaged block
 * cannot wrap it back to the `last` its caller compares it with); freq
 * i = stored + 1, *total their sum (64 bits). False if a freq wraps (a
 * stored 2^32 - 1). The docs written are exact whenever *doc is below
 * 2^32 on return. */
bool esi_post_sum_runs(uint32_t *docs, uint32_t *freqs, uint32_t n, uint64_t *doc,
                       uint64_t *total);

/* Postings encoder: feed the docs of one term in ascending docno order;
 * finish writes the last block and fills the term's dictionary entry. A
 * term begun without positions takes only docnos and frequencies (add's
 * pos is ignored). */
typedef struct esi_postenc {
    esi_sink *out;             /* the .post file being written */
    esi_buf docsec, possec;    /* sections of the current block */
    uint32_t n;                /* docs in the current block */
    uint32_t base;             /* first possible docno of this block */
    uint32_t prev;             /* previous docno in this block */
    uint32_t blk_max_tf;
    bool copied;               /* possec came whole from esi_postenc_copy_block */
    uint32_t docs[ESI_POST_BLOCK], freqs[ESI_POST_BLOCK];
    uint32_t run[ESI_POST_BLOCK];  /* position deltas not yet in possec */
    uint32_t run_n;
    uint32_t *roff;            /* byte offsets in possec of its runs 1.. */
    size_t nroff, roff_cap;    /* (the block's run table) */
    uint32_t *sk_last, *sk_cum, *sk_off;  /* per block written: last docno, */
    size_t nsk, sk_cap[3];     /* docs before it, offset in the term (skip table) */
    esi_term_info ti;          /* running totals; ti.positions as begun */
} esi_postenc;

void esi_postenc_begin(esi_postenc *pe, esi_sink *out, bool positions);
void esi_postenc_add(es_status *rc, esi_postenc *pe, uint32_t docno,
                     const uint32_t *pos, uint32_t n);
/* Append a whole block (merge): n docs (ascending, after every doc added
 * so far) with their freqs and, for a term with positions, the block's
 * positions section exactly as a cursor's esi_postings_take_block gave it.
 * A pending partial block is written first, so blocks need not be full. */
void esi_postenc_copy_block(es_status *rc, esi_postenc *pe,
                            const uint32_t *docs, const uint32_t *freqs,
                            uint32_t n, const uint8_t *pos, size_t pos_len);
void esi_postenc_finish(es_status *rc, esi_postenc *pe, esi_term_info *out);
void esi_postenc_free(esi_postenc *pe);

/* Cursor at the first doc of a block (block_i == 0, positions not read):
 * the block's positions section (checked to hold exactly the runs its
 * freqs call for; empty for a term without positions), and the cursor
 * moves to the block's last doc, so the next esi_postings_next enters the
 * following block. The block's docs and freqs are c->block_docs and
 * c->block_freqs[0..c->block_n). ES_OK, ES_EINVAL (not at a block's start),
 * ES_ECORRUPT. */
es_status esi_postings_take_block(esi_postings *c, const uint8_t **pos,
                                  size_t *pos_len);

/* ---- dictionary (termdict.c) -------------------------------------------- */
typedef struct esi_dictw {
    esi_sink *out;             /* the .dict file being written */
    esi_buf index;             /* block index entries */
    esi_buf firsts;            /* first terms of the blocks */
    esi_buf last;              /* previous term */
    esi_buf restarts;          /* restart table (format 2.1) */
    uint64_t nterms;
    uint64_t block_off;        /* payload offset of the current block */
    uint32_t nblocks, in_block;
    uint64_t next_off;         /* post_off the next entry must have */
} esi_dictw;

void esi_dictw_init(esi_dictw *w, esi_sink *out);
/* Terms must come in strictly increasing bytewise order. */
void esi_dictw_add(es_status *rc, esi_dictw *w, const uint8_t *term,
                   size_t len, const esi_term_info *ti);
void esi_dictw_finish(es_status *rc, esi_dictw *w);
void esi_dictw_free(esi_dictw *w);

/* Sequential walk over every term of a segment (merge, check). */
typedef struct esi_dict_iter {
    const esi_segment *seg;
    uint32_t block;            /* next block to open */
    uint32_t left;             /* entries left in the current block */
    uint32_t nt;               /* entries of the current block */
    const uint8_t *blk;        /* start of the current block */
    esi_rd rd;
    esi_buf term;              /* current term */
    esi_term_info ti;
    uint64_t seen;
} esi_dict_iter;

/* Read the first 8 bytes of every block's first term into s->dict_pfx,
 * the in-memory index esi_dict_seek_block searches (segment open). Left
 * NULL, and the block index searched in the mapped file as before, when
 * memory is short or an entry is damaged (a lookup then reports it). */
void esi_dict_load_prefixes(esi_segment *s);
/* The last dictionary block whose first term sorts before key (or equal to
 * it, when inclusive); block 0 if none. ES_ECORRUPT on a damaged index. */
es_status esi_dict_seek_block(const esi_segment *s, const uint8_t *key,
                              size_t len, bool inclusive, uint32_t *block,
                              esi_err *e);
void esi_dict_iter_init(esi_dict_iter *it, const esi_segment *s);
/* ES_OK with it->term/it->ti set, ES_DONE, ES_ECORRUPT or ES_ENOMEM. */
es_status esi_dict_iter_next(esi_dict_iter *it, esi_err *e);
void esi_dict_iter_free(esi_dict_iter *it);

/* ---- stored documents (docstore.c) -------------------------------------- */
typedef struct esi_storew {
    esi_sink *out;             /* the .store file being written */
    esi_buf raw;               /* the block being filled */
    esi_buf blocktab, doctab;
    esi_buf ids;               /* id bytes, in docno order */
    esi_buf idoffs;            /* per doc: u32 off, u32 len */
    uint32_t ndocs, nblocks;
    uint64_t text_bytes, doclen_sum;
    int level;                 /* zlib level */
} esi_storew;

void esi_storew_init(esi_storew *w, esi_sink *out);
/* Encode one document record (used by the RAM buffer). */
void esi_store_encode(es_status *rc, esi_buf *b, const char *id, size_t id_len,
                      const char *text, size_t text_len,
                      const esi_field *fields, size_t nfields);
/* Append an encoded record as the next docno. */
void esi_storew_add(es_status *rc, esi_storew *w, const uint8_t *rec,
                    size_t len, uint32_t doclen, uint32_t date);
/* Append every document of segment s unchanged (compressed blocks copied
 * as they are; for merging a segment without deletions whose crc32 the
 * caller verified). ES_ECORRUPT if s's tables are out of bounds. */
void esi_storew_copy_segment(es_status *rc, esi_storew *w, const esi_segment *s);
void esi_storew_finish(es_status *rc, esi_storew *w);
void esi_storew_free(esi_storew *w);
/* Parse one record; ES_ECORRUPT if malformed. */
es_status esi_store_decode(const uint8_t *rec, size_t len, esi_stored_doc *out,
                           esi_field **fields, size_t *fcap, size_t *used);
/* Block cache internals (blockcache.c), used by the doc reader. */
typedef struct esi_bc_key {
    uint64_t seg_id;
    uint64_t store_len;        /* payload length of the .store */
    uint32_t crc;              /* the .store's footer crc32 */
    uint32_t block;
} esi_bc_key;

struct esi_bc_entry {
    esi_bc_key key;            /* immutable once made */
    esi_bc_entry *hnext;       /* hash chain (cache's mutex) */
    esi_bc_entry *prev, *next; /* LRU list (cache's mutex) */
    uint32_t refs;             /* pins (cache's mutex) */
    bool cached;               /* in the table (cache's mutex) */
    size_t len;                /* inflated bytes in data */
    size_t cost;               /* bytes the entry counts: len + header + NUL */
    uint8_t data[];            /* len bytes, then a NUL */
};

bool esi_bc_key_eq(const esi_bc_key *a, const esi_bc_key *b);
/* A new uncached entry for len bytes, pinned once (refs 1), for the caller
 * to fill; NULL on ENOMEM. */
esi_bc_entry *esi_bc_entry_new(const esi_bc_key *k, size_t len);
/* Find k and pin it, first dropping the caller's pin on `drop` (may be
 * NULL) in the same critical section; NULL on a miss. */
esi_bc_entry *esi_blockcache_get(esi_blockcache *c, const esi_bc_key *k,
                                 esi_bc_entry *drop);
/* Offer a filled, pinned entry x from esi_bc_entry_new: returns the pinned
 * entry to read (x, now cached or kept private when there is no room; or
 * the entry another reader cached meanwhile, x then being freed). */
esi_bc_entry *esi_blockcache_put(esi_blockcache *c, esi_bc_entry *x);
/* Add one pin to x, which the caller already pins. */
void esi_blockcache_hold(esi_blockcache *c, esi_bc_entry *x);

/* The raw record of docno (for merging), borrowed from r. */
es_status esi_doc_read_raw(esi_doc_reader *r, const esi_segment *s,
                           uint32_t docno, const uint8_t **rec, size_t *len,
                           esi_err *e);

/* ---- segments (segment.c) ----------------------------------------------- */
struct esi_segment {
    atomic_uint refs;          /* snapshots holding it (esi_segment_share) */
    char name[32];             /* "seg_000001" */
    uint64_t id;
    esi_map dict, post, store;
    uint64_t sizes[3];         /* file sizes */
    /* dictionary */
    const uint8_t *dict_p;     /* payload */
    size_t dict_len;
    uint64_t nterms;
    uint32_t dict_nblocks;
    const uint8_t *dict_index; /* nblocks * 16 bytes */
    const uint8_t *dict_firsts;
    size_t dict_firsts_len;    /* the first terms (not the restart table) */
    size_t dict_blocks_end;    /* offset of the index */
    uint32_t dict_restart;     /* entries between restarts; 0: none (2.0) */
    uint32_t dict_nrestarts;   /* restart slots per block */
    const uint8_t *dict_restarts; /* nblocks * nrestarts * 12 bytes */
    uint64_t *dict_pfx;        /* each block's first term's first 8 bytes,
                                  big-endian, 0-padded (owned; NULL: none) */
    /* postings */
    const uint8_t *post_p;
    size_t post_len;
    /* store */
    const uint8_t *store_p;
    size_t store_len;
    uint32_t ndocs, store_nblocks;
    uint64_t text_bytes, doclen_sum;
    const uint8_t *blocktab, *doctab, *idindex, *idbytes;
    size_t idbytes_len;
    uint32_t store_crc;        /* identifies the store content for caches */
};

/* Map and check the three files of segment id in dir. */
es_status esi_segment_open(esi_segment **out, const char *dir, uint64_t id,
                           bool verify_crc, esi_err *e);
/* s again, for one more snapshot: segments are immutable once open, so
 * snapshots of later commits share those they keep (es_index_reopen). */
esi_segment *esi_segment_share(esi_segment *s);
/* Whether dir's files of s are still the ones s mapped (the same identity:
 * device, inode, size and times; a segment removed and written again by an
 * index built anew in dir is another file under the same name). */
bool esi_segment_unchanged(const esi_segment *s, const char *dir);
/* Drop one holder of s; the last unmaps it. */
void esi_segment_free(esi_segment *s);
void esi_segment_filename(char *out, size_t n, uint64_t id, const char *ext);
/* Walk every dict block, postings list and store block. */
es_status esi_segment_check(const esi_segment *s, esi_err *e);

/* ---- segment builder (segment.c) ---------------------------------------- */
typedef struct esi_segw {
    esi_sink files[3];         /* .dict, .post, .store */
    esi_dictw dict;
    esi_storew store;
    esi_postenc pe;
    esi_err ioerr;             /* the first I/O error of a sink */
    uint64_t id;
} esi_segw;

#define ESI_SEGW_POST(w) (&(w)->files[1])

/* Create the three files of segment id in dir (their frame headers are
 * buffered). On failure nothing is left behind; free w either way. */
es_status esi_segw_open(esi_segw *w, const char *dir, uint64_t id, esi_err *e);
/* Remove files not finished, free buffers. */
void esi_segw_free(esi_segw *w);
/* Finish the three files (trailers, footers), fsync when sync, close.
 * rc is the builder's sticky status: an error there (or an I/O error kept
 * by a sink) becomes the message. */
es_status esi_segw_finish(esi_segw *w, es_status rc, bool sync,
                          uint64_t sizes[3], esi_err *e);

/* ---- deletions & manifest (manifest.c) ---------------------------------- */
typedef struct esi_manifest_seg {
    uint64_t id;
    uint32_t ndocs, ndel;
    uint64_t del_gen;          /* 0: no deletions file */
    uint64_t sizes[3];         /* dict, post, store */
} esi_manifest_seg;

typedef struct esi_manifest {
    uint64_t generation;
    uint64_t next_seg_id;
    size_t nsegs;
    esi_manifest_seg *segs;
    esi_file_id file;          /* esi_manifest_read: the file it read */
} esi_manifest;

es_status esi_manifest_encode(const esi_manifest *m, esi_buf *out);
/* Find the newest MANIFEST-<gen> of dir: *gen = 0 if there is none. */
es_status esi_manifest_newest(const char *dir, uint64_t *gen, esi_err *e);
es_status esi_manifest_read(const char *dir, uint64_t gen, esi_manifest *out,
                            esi_err *e);
void esi_manifest_free(esi_manifest *m);
void esi_del_filename(char *out, size_t n, uint64_t id, uint64_t gen);
es_status esi_del_write(const char *dir, uint64_t id, uint64_t gen,
                        const uint8_t *bits, uint32_t ndocs, uint32_t ndel,
                        bool sync, esi_err *e);
/* Read a deletion file into a new bitset of (ndocs+7)/8 bytes. */
es_status esi_del_read(const char *dir, uint64_t id, uint64_t gen,
                       uint32_t ndocs, uint32_t ndel, uint8_t **bits,
                       esi_err *e);

/* ---- merge (merge.c) ---------------------------------------------------- */
/* Merge the live docs of segs[0..n) (dels[i]: bitset or NULL) into a new
 * segment written as id; *out gets it opened. An empty result gives
 * *out = NULL and writes nothing. */
es_status esi_merge_segments(esi_segment *const *segs, const uint8_t *const *dels,
                             size_t n, const char *dir, uint64_t id, bool sync,
                             esi_segment **out, esi_err *e);

#endif /* ES_STORAGE_INT_H */
