/*
 * storage.h: the storage layer's whole contract. An index is a directory of
 * immutable segments plus numbered manifests (docs/FORMAT.md). Storage sees
 * terms as opaque byte strings with positions, and documents as an id, a
 * body text and named fields; it never sees text analysis (the glue in
 * lib/api/ runs the analyzer and hands storage the term occurrences).
 *
 * Files of one index directory:
 *   MANIFEST-<gen>          one per commit (generation); newest complete wins
 *   seg_<n>.dict            term dictionary of segment n
 *   seg_<n>.post            postings (doc ids, freqs, positions) of segment n
 *   seg_<n>.store           stored documents and per-document columns
 *   seg_<n>_<gen>.del       deletion bitset of segment n as of generation gen
 *   LOCK                    the writer's advisory lock
 *
 * Doc numbers (docno) are per segment, dense from 0, in insertion order.
 * Term keys: body terms are the analyzer's term bytes; field terms are
 * "<field>\x1f<term>" (see esi_field_term_key in lib/api).
 *
 * Threads: an esi_snapshot and its segments are immutable after opening and
 * may be read from any number of threads; each thread uses its own
 * esi_postings cursors and esi_doc_reader (readers of many threads may
 * share one esi_blockcache).
 */
#ifndef ES_STORAGE_H
#define ES_STORAGE_H

#include "../base/base.h"

/* ---- documents in and out ----------------------------------------------- */

/* One named field value (bytes, not NUL-terminated). */
typedef struct esi_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} esi_field;

/* Position of an occurrence that counts for the term's frequency but has no
 * position: a term every occurrence of which (in a segment) is ESI_POS_NONE
 * is stored without positions (doc numbers and frequencies only). */
#define ESI_POS_NONE UINT32_MAX

/* One term occurrence of a document being added. */
typedef struct esi_occ {
    const uint8_t *term;   /* key bytes (borrowed) */
    uint32_t term_len;
    uint32_t pos;          /* position (< ESI_POS_NONE), or ESI_POS_NONE.
                              Occurrences of a term must come in
                              non-decreasing position order per term, and a
                              term is either always ESI_POS_NONE or never,
                              in one document and across the documents of
                              one RAM buffer (ES_EINVAL otherwise) */
} esi_occ;

/* A document handed to the writer, already analyzed. All borrowed. */
typedef struct esi_doc_in {
    const char *id;
    size_t id_len;
    const char *text;
    size_t text_len;
    const esi_field *fields;   /* sorted by name, names unique */
    size_t nfields;
    const esi_occ *occs;       /* every term occurrence, any order of terms */
    size_t nocc;
    uint32_t doclen;           /* body length in units, for BM25 */
    uint32_t date;             /* yyyymmdd (0 if none), for date sort/filter */
} esi_doc_in;

/* ---- writing ------------------------------------------------------------ */

/* A document's terms grouped (ixw.c): each distinct key once, with its
 * frequency and its positions delta-varint-coded (first delta from 0), the
 * way the RAM buffer stores them, so that adding the document touches the
 * buffer's term hash once per distinct term instead of once per occurrence.
 * It costs about one byte per positional occurrence (none for ESI_POS_NONE
 * occurrences, which only count), plus the distinct keys. Built occurrence
 * by occurrence with esi_grp_add in one thread, it may then be handed to
 * esi_ixw_add_grouped in another (which empties it). */
typedef struct esi_grp esi_grp;

es_status esi_grp_new(esi_grp **out, esi_err *e);
void esi_grp_free(esi_grp *g);   /* NULL is fine */
/* Empty g for the next document; keeps about half a MiB of its memory for
 * reuse and releases the rest (what a huge document made it take). */
void esi_grp_reset(esi_grp *g);
/* Count one occurrence of key term[0..len) at pos (or ESI_POS_NONE), with
 * the rules of esi_occ: ES_ELIMIT (len not 1..1024), ES_EINVAL (positions of
 * a key decreasing, or a key given both ESI_POS_NONE and positions),
 * ES_ENOMEM; on failure g is unchanged. Messages do not name the document. */
es_status esi_grp_add(esi_grp *g, const uint8_t *term, size_t len, uint32_t pos,
                      esi_err *e);
size_t esi_grp_terms(const esi_grp *g);   /* distinct keys */
size_t esi_grp_bytes(const esi_grp *g);   /* memory held, by capacity */


typedef struct esi_ixw esi_ixw;   /* the index writer: lock, buffer, commits */

typedef struct esi_ixw_opts {
    bool create;              /* create the directory / empty index if missing */
    size_t ram_buffer_bytes;  /* flush a segment when the buffer passes this
                                 (everything it allocated); 0 = 64 MiB */
    bool sync;                /* fsync on commit */
} esi_ixw_opts;

/* Take the lock on dir and load its newest manifest (an empty index when
 * create is set and none exists). ES_ELOCKED if another writer holds it. */
es_status esi_ixw_open(esi_ixw **out, const char *dir, const esi_ixw_opts *o,
                       esi_err *e);
/* Buffer a document; replaces any committed or buffered doc with its id.
 * May write a new (uncommitted) segment when the buffer is full.
 * ES_EINVAL (empty id, a term's positions decreasing, a term given both
 * ESI_POS_NONE and real positions, in this doc or against the buffered
 * ones) and ES_ELIMIT (a term
 * key longer than 1024 bytes) change nothing. ES_ENOMEM while buffering may
 * leave the buffer half-updated: every later call then fails and the writer
 * must be freed (committed data is never affected). An error from the
 * flush that follows a full buffer comes after the doc was buffered; the
 * buffer stays intact and the next commit retries the flush. */
es_status esi_ixw_add(esi_ixw *w, const esi_doc_in *doc, esi_err *e);
/* esi_ixw_add for a document whose terms are grouped in g (doc->occs and
 * doc->nocc are ignored). Same rules and errors; its ES_EINVAL is a key
 * g holds without positions that the buffer holds with them, or the
 * reverse. On return g is empty (esi_grp_reset), whatever the outcome: its
 * memory is released before a full buffer is flushed. esi_ixw_add groups
 * its occurrences and calls this. */
es_status esi_ixw_add_grouped(esi_ixw *w, const esi_doc_in *doc, esi_grp *g,
                              esi_err *e);
/* Delete by id (committed or buffered); missing ids are fine. */
es_status esi_ixw_delete(esi_ixw *w, const char *id, size_t id_len, esi_err *e);
/* Flush the buffer, write deletion files and MANIFEST-<gen+1> atomically,
 * run the merge policy, then remove files no manifest needs. On failure the
 * previous commit stays the newest complete one. */
es_status esi_ixw_commit(esi_ixw *w, esi_err *e);
/* Merge every segment into one (purging deleted docs) and commit. */
es_status esi_ixw_optimize(esi_ixw *w, esi_err *e);
/* Let a flush write its .store file in a thread of its own while it writes
 * postings and dictionary (the files are the same). Off by default. */
void esi_ixw_set_threads(esi_ixw *w, bool on);
/* Discard uncommitted work, release the lock, free. NULL is fine. */
void esi_ixw_free(esi_ixw *w);

/* ---- reading ------------------------------------------------------------ */

typedef struct esi_segment esi_segment;

/* Dictionary entry of one term in one segment. */
typedef struct esi_term_info {
    uint32_t df;            /* documents containing the term */
    uint64_t cf;            /* total occurrences */
    uint64_t post_off;      /* where its postings start in .post */
    uint64_t post_len;      /* their length in bytes */
    uint32_t max_tf;        /* largest tf in any doc (for score bounds) */
    bool positions;         /* positions are stored (false: the term was
                               added with ESI_POS_NONE; a merge of segments
                               that disagree keeps none) */
} esi_term_info;

/* Look a term up; ES_ENOTFOUND if absent (not an error, no message). */
es_status esi_segment_lookup(const esi_segment *s, const uint8_t *term,
                             size_t len, esi_term_info *out, esi_err *e);
/* Look up term[i] (len[i] bytes) for i < n at once, so that their memory
 * misses overlap: found[i] says whether it is there, and then out[i] holds
 * it. ES_OK, or ES_ECORRUPT for the first damaged block met (with *e). */
es_status esi_segment_lookup_many(const esi_segment *s, size_t n,
                                  const uint8_t *const *term, const size_t *len,
                                  esi_term_info *out, bool *found, esi_err *e);
/* A hint, no effect on results and nothing read: start loading the first
 * lines of ti's postings (and its skip table's end), before its cursor is
 * opened among others. */
void esi_postings_prefetch(const esi_segment *s, const esi_term_info *ti);
/* Called per term by esi_segment_prefix_terms (term borrowed for the
 * call); return non-zero to stop. */
typedef int (*esi_term_cb)(const uint8_t *term, size_t len,
                           const esi_term_info *ti, void *payload);
/* Every term of s that starts with prefix (len 0: every term), in byte
 * order (term_iter.c). ES_OK (also when stopped by cb), ES_ECORRUPT,
 * ES_ENOMEM. */
es_status esi_segment_prefix_terms(const esi_segment *s, const uint8_t *prefix,
                                   size_t len, esi_term_cb cb, void *payload,
                                   esi_err *e);
uint32_t esi_segment_doc_count(const esi_segment *s);  /* incl. deleted */
uint32_t esi_segment_term_count(const esi_segment *s);
const char *esi_segment_name(const esi_segment *s);
/* Body length in units of doc (for BM25); 0 if out of range. */
uint32_t esi_segment_doclen(const esi_segment *s, uint32_t docno);
/* Docno of the document with this id (deleted or not), or ES_ENOTFOUND. */
es_status esi_segment_find_id(const esi_segment *s, const char *id,
                              size_t id_len, uint32_t *docno);
/* yyyymmdd date of doc, 0 if none. */
uint32_t esi_segment_date(const esi_segment *s, uint32_t docno);

/* Postings cursor over one term in one segment. Blocks of 128 docs with
 * skip data: advance() jumps over blocks without decoding them. */
typedef struct esi_postings {
    /* private to postings.c (and merge.c); callers only pass it around */
    const esi_segment *seg;
    esi_rd rd;                 /* blocks not yet entered */
    uint32_t df;
    uint32_t docs_left;        /* docs in blocks not yet entered */
    uint32_t doc;              /* current docno, UINT32_MAX before first/at end */
    uint32_t freq;
    uint32_t block_docs[128], block_freqs[128];
    uint32_t block_n, block_i; /* docs in the current block, index of doc */
    uint32_t block_last;       /* last docno of the current block */
    uint32_t next_base;        /* smallest docno the next block may hold */
    bool has_pos;              /* the term has positions sections */
    /* the term's skip table (df > ESI_POST_SKIP_DF, FORMAT.md §4): per
     * block its last docno, the docs before it and its offset from
     * blocks; sk_b is the block the next header read enters */
    const uint8_t *blocks;     /* the term's first block */
    const uint8_t *sk_col[3];  /* the three packed columns */
    unsigned sk_w[3];
    uint32_t sk_n, sk_b;
    bool sk_jumped;            /* the next header was reached through the table */
    bool sk_check;             /* check every entry against its block, not only
                                  those jumped to (set by check) */
    /* positions of the current block (FORMAT.md §4): one stream of
     * pos_total deltas cut into runs of 128 values; run r starts where the
     * section's run table says, so a doc's values are found without
     * stepping over the runs before them */
    const uint8_t *pos_sec;    /* the block's positions section */
    const uint8_t *pos_runs;   /* its first run (after the run table) */
    const uint8_t *pos_end;    /* its end */
    const uint8_t *tab_p;      /* the run table's packed offsets */
    unsigned tab_w;            /* their width in bits (0: one run, no table) */
    uint64_t pos_total, pos_nruns;
    uint32_t pos_i;            /* doc index whose first value is pos_s */
    uint64_t pos_s;
    /* the run holding the values being read, decoded in windows: only the
     * values a caller reaches are unpacked */
    uint64_t run_r;            /* its index in the block; UINT64_MAX: none */
    uint32_t run_n;            /* its values */
    const uint8_t *run_fields; /* its w-bit fields (NULL: a varint run) */
    unsigned run_w;
    uint32_t run_lo, run_hi;   /* run[run_lo..run_hi) are decoded */
    const uint8_t *run_p;      /* the next varint, or exception entry, unread */
    const uint8_t *run_end;    /* the run's end (from the run table) */
    uint32_t run_next;         /* varint run: index of the value at run_p */
    uint32_t exc_left;         /* patched run: exception entries unread */
    int exc_prev;              /* index of the last entry read (-1: none) */
    uint32_t run[128];         /* position deltas, exceptions applied */
    /* the current doc's positions */
    bool positions_decoded;    /* all of them are in pos */
    bool positions_started;    /* pos holds a prefix of them (pos_n values) */
    uint64_t pos_j;            /* stream index of the doc's next undecoded value */
    uint64_t pos_at;           /* the doc's last decoded position (running sum) */
    uint32_t *pos;             /* decoded positions of the current doc */
    uint32_t pos_n, pos_cap;
    es_status err;             /* sticky: ES_ECORRUPT on damaged data */
} esi_postings;

/* Position a cursor before the first posting of ti. Initialises every field
 * (the cursor may be uninitialised memory); pair each open with a close,
 * which frees the positions array. */
es_status esi_postings_open(esi_postings *c, const esi_segment *s,
                            const esi_term_info *ti, esi_err *e);
/* Move to the next doc: ES_OK, ES_DONE at the end, ES_ECORRUPT. */
es_status esi_postings_next(esi_postings *c);
/* Move to the first doc >= target: ES_OK, ES_DONE, ES_ECORRUPT. */
es_status esi_postings_advance(esi_postings *c, uint32_t target);
/* Make doc i of the current block the current doc (postings.c's own). */
static inline es_status esi_postings_set_doc_(esi_postings *c, uint32_t i)
{
    c->block_i = i;
    c->doc = c->block_docs[i];
    c->freq = c->block_freqs[i];
    c->positions_decoded = false;
    c->positions_started = false;
    return ES_OK;
}
/* esi_postings_advance with its two commonest cases inline (the cursor is
 * there already, or target is the block's next doc): a search moving many
 * cursors over common terms spent a call on each step. */
static inline es_status esi_postings_advance_inline(esi_postings *c, uint32_t target)
{
    if (c->err == ES_OK && c->doc != UINT32_MAX) {
        if (c->doc >= target)
            return ES_OK;
        uint32_t next = c->block_i + 1;
        if (next < c->block_n && c->block_docs[next] >= target)
            return esi_postings_set_doc_(c, next);
    }
    return esi_postings_advance(c, target);
}
/* The current block from the current doc on, for a scan that reads
 * postings in place: docs[0..n) ascending and their freqs, borrowed until
 * the cursor enters another block (moving it to a doc of the view keeps
 * them); n = 0 before the first move and at the end. The cursor stays on
 * its current doc: move it (esi_postings_advance) to a doc of the view
 * before asking for its positions, and past the view's last doc to enter
 * the next block. */
static inline uint32_t esi_postings_view(const esi_postings *c, const uint32_t **docs,
                                         const uint32_t **freqs)
{
    if (c->doc == UINT32_MAX || c->block_i >= c->block_n)
        return 0;
    *docs = c->block_docs + c->block_i;
    *freqs = c->block_freqs + c->block_i;
    return c->block_n - c->block_i;
}
/* Whether c has moved past its last doc (before its first move it has
 * not: both have no current doc). */
static inline bool esi_postings_ended(const esi_postings *c)
{
    return c->doc == UINT32_MAX && c->docs_left == 0 && c->block_n == 0;
}
/* Positions of the current doc (sorted ascending), borrowed until the cursor
 * moves. ES_OK or ES_ECORRUPT. A term without positions (ti.positions
 * false) gives ES_OK with *n = 0; its frequency is still c->freq. */
es_status esi_postings_positions(esi_postings *c, const uint32_t **pos,
                                 uint32_t *n);
/* The current doc's positions decoded only as far as needed: on return
 * pos[0..*n) are its first *n positions (sorted), and either *n == c->freq
 * (all of them) or pos[*n - 1] >= want. Later calls for the same doc extend
 * the same prefix (an earlier *pos may be invalidated); so does
 * esi_postings_positions, which is this with want = UINT32_MAX. A phrase
 * check that stops at its first confirmed start decodes only the runs
 * before it. ES_OK or ES_ECORRUPT; *n = 0 for a term without positions. */
es_status esi_postings_positions_upto(esi_postings *c, uint32_t want,
                                      const uint32_t **pos, uint32_t *n);
void esi_postings_close(esi_postings *c);

/* A stored document, borrowed from its esi_doc_reader until the next read. */
typedef struct esi_stored_doc {
    const char *id;
    size_t id_len;
    const char *text;          /* NUL-terminated too */
    size_t text_len;
    const esi_field *fields;   /* sorted by name; values NUL-terminated */
    size_t nfields;
} esi_stored_doc;

/* A cache of inflated store blocks that any number of threads' doc readers
 * share (blockcache.c); one per open index. Bounded by bytes (each block
 * plus its bookkeeping), least recently used evicted first. Keys are
 * (segment id, store length, store crc32, block), so segments of different
 * snapshots never collide. A reader pins the block it reads from, so a hit
 * copies nothing; pinned blocks are never evicted, and a block that cannot
 * fit (the budget held by pinned blocks, or a block bigger than the budget)
 * is read into memory of the reader's own instead of being cached. A block
 * that does not inflate is never cached. */
typedef struct esi_blockcache esi_blockcache;
/* A budget of 0 caches nothing (every block goes to the reader). */
es_status esi_blockcache_new(esi_blockcache **out, size_t budget, esi_err *e);
/* Free c and its blocks. No reader may still hold a block of it. NULL ok. */
void esi_blockcache_free(esi_blockcache *c);

/* Counters of a cache (for tests, benchmarks and stats). */
typedef struct esi_blockcache_stats {
    uint64_t hits, misses;     /* lookups that found / did not find a block */
    uint64_t inserts;          /* blocks cached */
    uint64_t evictions;        /* blocks evicted to make room */
    uint64_t rejects;          /* blocks read but not cached (no room) */
    size_t budget;             /* the budget in bytes */
    size_t bytes;              /* bytes counted now (never above budget) */
    size_t peak_bytes;         /* the most bytes ever counted */
    size_t entries;            /* cached blocks now */
    size_t pinned;             /* of those, held by a reader now */
} esi_blockcache_stats;
/* A consistent copy of c's counters. Thread safety: safe. */
void esi_blockcache_stats_get(esi_blockcache *c, esi_blockcache_stats *out);

/* Per-thread reader of stored documents. Without a cache it keeps the last
 * inflated block of its own; with one it pins the cache's block. */
typedef struct esi_doc_reader esi_doc_reader;
es_status esi_doc_reader_new(esi_doc_reader **out, esi_err *e);
/* Releases the block the reader holds. NULL ok. */
void esi_doc_reader_free(esi_doc_reader *r);
/* Read through cache c from now on (NULL: no cache). Releases the block
 * the reader holds. c must outlive the reader (or the next set_cache). */
void esi_doc_reader_set_cache(esi_doc_reader *r, esi_blockcache *c);
/* Release the block the reader holds (so an idle reader pins nothing);
 * what the last esi_doc_read returned is then invalid. */
void esi_doc_reader_release(esi_doc_reader *r);
/* A pin on one cached block: keeps what an esi_doc_read returned from it
 * valid after the reader moves on, until esi_blockcache_release. */
typedef struct esi_bc_entry esi_bc_entry;
/* Pin the block the reader's last successful esi_doc_read came from, for
 * the caller; NULL when the reader has no cache (copy the document then). */
esi_bc_entry *esi_doc_reader_hold(esi_doc_reader *r);
/* Drop one pin (NULL ok); c is the cache the pin came from. A block that
 * was never cached (no room) is freed with its last pin. */
void esi_blockcache_release(esi_blockcache *c, esi_bc_entry *x);
/* Read doc docno of segment s: inflates its block unless the reader holds
 * it already or the cache has it. ES_ENOTFOUND (docno out of range),
 * ES_ECORRUPT (names the file), ES_ENOMEM. */
es_status esi_doc_read(esi_doc_reader *r, const esi_segment *s,
                       uint32_t docno, esi_stored_doc *out, esi_err *e);

/* ---- snapshots ---------------------------------------------------------- */

/* The segments of one commit with their deletions; immutable. */
typedef struct esi_snapshot {
    uint64_t generation;
    size_t nsegs;
    esi_segment **segs;
    const uint8_t **deleted;     /* per segment: bitset (bit docno set = deleted), or NULL */
    uint32_t *del_count;         /* per segment */
    uint64_t live_docs;
    double avg_doclen;           /* over live docs, for BM25 */
    /* private */
    void *priv;
} esi_snapshot;

static inline bool esi_snapshot_is_deleted(const esi_snapshot *s, size_t seg,
                                           uint32_t docno)
{
    const uint8_t *d = s->deleted[seg];
    return d && (d[docno >> 3] >> (docno & 7)) & 1;
}

/* Open the newest complete commit of dir. verify_crc checks every file's
 * crc32 as well as headers (what es_index_check does, plus structure). */
es_status esi_snapshot_open(esi_snapshot **out, const char *dir,
                            bool verify_crc, esi_err *e);
/* esi_snapshot_open, sharing with prev (an open snapshot of dir, or NULL)
 * every segment the new commit keeps whose files are still those prev
 * mapped: no mapping or checks again, and caches keyed by segment stay
 * warm. Without verify_crc only (a verified open reads every file). */
es_status esi_snapshot_reopen(esi_snapshot **out, const esi_snapshot *prev,
                              const char *dir, bool verify_crc, esi_err *e);
void esi_snapshot_free(esi_snapshot *s);
/* *current: dir's newest commit is still the one s holds (the same
 * generation, read from the same MANIFEST file: an index removed and built
 * again in dir can repeat a generation number). Lists dir and stats one
 * file. ES_OK (with *current false when a newer or other commit is there,
 * or the manifest was replaced meanwhile), or the listing's error. */
es_status esi_snapshot_current(const esi_snapshot *s, const char *dir, bool *current,
                               esi_err *e);

/* Verify every file and every block of the newest commit of dir. */
es_status esi_storage_check(const char *dir, esi_err *e);

/* Bytes on disk per file kind, and distinct terms summed over segments. */
typedef struct esi_storage_stats {
    uint64_t bytes_manifest, bytes_dict, bytes_postings, bytes_store,
        bytes_deletes;
    uint64_t terms, text_bytes, deleted;
} esi_storage_stats;
es_status esi_snapshot_stats(const esi_snapshot *s, esi_storage_stats *out,
                             esi_err *e);

#endif /* ES_STORAGE_H */
