/*
 * edusearch.h: the one public header of libedusearch, full-text search for
 * Chinese policy documents.
 *
 * Conventions (read these once, they hold for every declaration below):
 *
 *  - Errors. Every fallible function returns an es_status: ES_OK (0) on
 *    success, a negative code on failure, and ES_DONE (1) at the end of an
 *    iteration, so `rc < 0` always means failure. Values are pinned forever.
 *    es_strerror() gives static text for a code. Each handle keeps the message
 *    of its last failure (es_index_errmsg(), es_writer_errmsg()); the handle
 *    owns that text, which stays valid until the next call on the handle.
 *    Constructors, which have no handle yet, take an optional es_error *err.
 *
 *  - Ownership. A first parameter `T **out` means: on ES_OK the caller owns
 *    *out and frees it with the matching es_T_free(); on failure *out is set
 *    to NULL. Every _free accepts NULL. A returned `const` pointer is borrowed
 *    and its documentation says how long it lives. Text is passed as pointer
 *    plus length in bytes (documents may contain NUL); returned text is also
 *    NUL-terminated for convenience. The library copies every input it keeps.
 *
 *  - Options come in versioned structs: initialise them with the matching
 *    ES_..._OPTIONS_INIT macro (or es_..._options_init()), then set fields.
 *    Later versions only append fields, so old callers keep working. A NULL
 *    options pointer means "all defaults".
 *
 *  - Threads. The only threads the library starts are an es_writer's
 *    analysis workers (es_writer_options.threads; they live and die with the
 *    writer) and an es_index's search workers (es_index_options
 *    .search_threads; started by the first search that splits, they live
 *    and die with the es_index). Process-wide state is limited to tables built once on first use
 *    (ICU templates, the Traditional->Simplified table) and a per-code-point
 *    normalization cache whose entries never change once set; none of it is
 *    observable. Unless a declaration says otherwise, a handle must be used by one thread
 *    at a time. An es_index (a read snapshot) may be searched by any number of
 *    threads at once. Each function states its rule under "Thread safety".
 *
 *  - The library never prints, never exits, never aborts, and never reads
 *    the environment.
 */
#ifndef EDUSEARCH_H
#define EDUSEARCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define ES_API __attribute__((visibility("default")))
#else
#define ES_API
#endif

/* ------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------ */

#define ES_VERSION_MAJOR 0
#define ES_VERSION_MINOR 1
#define ES_VERSION_PATCH 0
#define ES_VERSION_STRING "0.1.0"
/** The version as one comparable number: major*10000 + minor*100 + patch. */
#define ES_VERSION_NUMBER \
    (ES_VERSION_MAJOR * 10000 + ES_VERSION_MINOR * 100 + ES_VERSION_PATCH)

/**
 * The version of the library actually linked, as "MAJOR.MINOR.PATCH".
 * @return static text; never NULL, never to be freed.
 * Thread safety: always safe.
 */
ES_API const char *es_version(void);

/**
 * The linked library's version as ES_VERSION_NUMBER would give it; compare
 * with ES_VERSION_NUMBER to detect a header/library mismatch.
 * Thread safety: always safe.
 */
ES_API unsigned es_version_number(void);

/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------ */

/** Status codes. The values are pinned and will never change. */
typedef enum es_status {
    ES_OK = 0,          /**< success */
    ES_DONE = 1,        /**< iteration finished (not an error) */
    ES_ERROR = -1,      /**< unclassified failure; see the message */
    ES_ENOMEM = -2,     /**< out of memory */
    ES_EINVAL = -3,     /**< bad argument or unknown options version */
    ES_EIO = -4,        /**< operating-system I/O failure (errno in message) */
    ES_ECORRUPT = -5,   /**< an index file is damaged; run `edusearch check` */
    ES_EFORMAT = -6,    /**< index written by an incompatible format version */
    ES_ELOCKED = -7,    /**< another writer holds the index lock */
    ES_ENOTFOUND = -8,  /**< no such index, document or field */
    ES_EEXISTS = -9,    /**< the thing to create already exists */
    ES_ESYNTAX = -10,   /**< malformed query; see position and message */
    ES_ELIMIT = -11     /**< a documented limit was exceeded */
} es_status;

/**
 * Error details for calls that have no handle yet (constructors, the query
 * parser). A fixed-size struct so that it works even when memory is short.
 */
typedef struct es_error {
    es_status code;     /**< the status the call returned */
    size_t position;    /**< byte offset in the query text (ES_ESYNTAX), else 0 */
    char message[512];  /**< NUL-terminated, actionable message */
} es_error;

/**
 * A short static description of a status code.
 * @return static text; never NULL (unknown codes give "unknown status").
 * Thread safety: always safe.
 */
ES_API const char *es_strerror(es_status code);

/* ------------------------------------------------------------------------
 * Analysis: how text becomes index terms (also what `edusearch tokenize`
 * shows). The rules are in docs/ANALYSIS.md.
 * ------------------------------------------------------------------------ */

/** What a token is. */
typedef enum es_token_kind {
    ES_TOKEN_HAN = 1,     /**< one CJK character (a unit of the phrase index) */
    ES_TOKEN_BIGRAM = 2,  /**< two adjacent CJK characters */
    ES_TOKEN_LATIN = 3,   /**< a run of letters (and digits), lower-cased */
    ES_TOKEN_NUMBER = 4,  /**< a number: digits, with inner . or , (44.8) */
    ES_TOKEN_WORD = 5     /**< an ICU dictionary word (used for ranking) */
} es_token_kind;

/** One token. Borrowed by the callback: valid only during the call. */
typedef struct es_token {
    es_token_kind kind;
    const char *term;     /**< normalized key (NFKC, case-folded, simplified) */
    size_t term_len;      /**< its length in bytes */
    uint32_t position;    /**< unit position (a CJK char or a Latin/number token) */
    uint32_t span;        /**< how many units the token covers (1 or more) */
    size_t start;         /**< byte range [start, end) in the ORIGINAL text */
    size_t end;
} es_token;

/** Flags for es_tokenize(). */
#define ES_TOKENIZE_INDEX 0x1u  /**< the tokens the index stores (default) */
#define ES_TOKENIZE_WORDS 0x2u  /**< ICU dictionary words, for ranking */

/**
 * Token callback: return 0 to go on, anything else to stop (es_tokenize then
 * returns ES_OK having stopped early).
 */
typedef int (*es_token_cb)(const es_token *token, void *payload);

/**
 * Analyze UTF-8 text and report its tokens in text order.
 * Invalid UTF-8 is read as U+FFFD per maximal invalid subsequence (which is
 * not a letter, so it separates tokens); NUL bytes are separators.
 * @param text   UTF-8 bytes, need not be NUL-terminated; may be NULL if len is 0.
 * @param len    length of text in bytes.
 * @param flags  ES_TOKENIZE_INDEX and/or ES_TOKENIZE_WORDS; 0 means INDEX.
 * @param cb     called once per token; the token is borrowed for the call.
 * @param payload passed through to cb.
 * @param err    optional; receives the message on failure.
 * @return ES_OK, ES_EINVAL (NULL cb or text), ES_ENOMEM, ES_ERROR (ICU failure).
 * Thread safety: reentrant; may be called from any number of threads.
 */
ES_API es_status es_tokenize(const char *text, size_t len, unsigned flags,
                             es_token_cb cb, void *payload, es_error *err);

/* ------------------------------------------------------------------------
 * Documents
 * ------------------------------------------------------------------------ */

/** A document being prepared for es_writer_add(): an id, a body, fields. */
typedef struct es_doc es_doc;

/**
 * Create an empty document with the given id (the key for replace/delete).
 * @param[out] out  on ES_OK, a new document; free with es_doc_free().
 * @param id        UTF-8 id, 1..ES_MAX_ID_LEN bytes, no NUL; copied.
 * @param err       optional error details.
 * @return ES_OK, ES_EINVAL (empty, too long or NUL in id), ES_ENOMEM.
 * Thread safety: reentrant.
 */
ES_API es_status es_doc_new(es_doc **out, const char *id, size_t id_len,
                            es_error *err);

/** Longest document id, in bytes. */
#define ES_MAX_ID_LEN 1024

/**
 * Set the document's body text (replacing any earlier one); copied.
 * @return ES_OK, ES_EINVAL (NULL doc, or NULL text with len > 0),
 *         ES_ELIMIT (len > ES_MAX_DOC_LEN), ES_ENOMEM.
 * Thread safety: one thread per document.
 */
ES_API es_status es_doc_set_text(es_doc *doc, const char *text, size_t len);

/** Largest body text, in bytes (1 GiB). */
#define ES_MAX_DOC_LEN ((size_t)1 << 30)

/**
 * Set a named field (title, date, source, or any other name); copied.
 * Field names are 1..64 bytes of [a-z0-9_]. The field `date` should be ISO
 * (YYYY, YYYY-MM or YYYY-MM-DD); it is what date: queries and date sorting use.
 * Setting a field twice replaces the value. Every field is stored and indexed
 * (search with `name:term`); `title` also counts in ranking.
 * @return ES_OK, ES_EINVAL (bad name, NULL value with len > 0),
 *         ES_ELIMIT (more than ES_MAX_FIELDS fields, value > 1 MiB), ES_ENOMEM.
 * Thread safety: one thread per document.
 */
ES_API es_status es_doc_set_field(es_doc *doc, const char *name,
                                  const char *value, size_t len);

/** Most fields per document. */
#define ES_MAX_FIELDS 64

/** Free a document. NULL is allowed. Thread safety: one thread per document. */
ES_API void es_doc_free(es_doc *doc);

/* ------------------------------------------------------------------------
 * Writing an index
 * ------------------------------------------------------------------------ */

/** The single writer of an index directory. */
typedef struct es_writer es_writer;

#define ES_WRITER_OPTIONS_VERSION 3
/** Options for es_writer_open(). */
typedef struct es_writer_options {
    unsigned version;         /**< ES_WRITER_OPTIONS_VERSION */
    int create;               /**< create the directory/index if missing (default 1) */
    size_t ram_buffer_bytes;  /**< flush a segment when buffered postings pass this (default 64 MiB) */
    int fsync;                /**< fsync files and directory on commit (default 1) */
    int extract_fields;       /**< recognize official-document fields (agency,
                                   docno, signer, title, type, addressee,
                                   proposal, date, disclosure, result) in the
                                   text and store the ones the document does
                                   not set itself (default 1; docs/FIELDS.md) */
    /* version 2 */
    unsigned threads;         /**< analysis threads the writer starts: 0 = one
                                   per online CPU, at most 8 (default); 1 = none,
                                   everything runs in the caller's thread.
                                   The index written is byte for byte the same
                                   for every value; see es_writer_add() for
                                   how errors are reported with threads.
                                   A process that calls fork() while such a
                                   writer is open should only exec or _exit
                                   in the child (POSIX: another thread may
                                   hold a lock); fork first, or use 1.
                                   Callers of version 1 get 1. */
    /* version 3 */
    const char *const *position_pairs; /**< CJK character pairs whose
                                   positions the index keeps, each two
                                   characters as UTF-8 ("第二"), normalized
                                   like the text (full-width and
                                   Traditional forms name the same pair);
                                   borrowed: read by es_writer_open() only.
                                   Every two CJK characters side by side are
                                   indexed as a pair; other pairs keep only
                                   which documents hold them and how often.
                                   A phrase through a pair with positions
                                   is verified on the pair's positions
                                   instead of its characters', far fewer
                                   when the characters are common (第, 二,
                                   十 of "第二十九条"); each such pair costs
                                   about one byte per occurrence. NULL
                                   (default): a built-in list of 48 pairs
                                   common in Chinese laws and policy text
                                   (docs/RANKING.md); with
                                   nposition_pairs 0 and a non-NULL
                                   pointer: none. Results never depend on
                                   the choice, only speed and size; a merge
                                   of segments written with different
                                   lists keeps positions for the pairs they
                                   agree on. Callers of versions 1 and 2 get
                                   the built-in list. */
    size_t nposition_pairs;   /**< entries of position_pairs */
} es_writer_options;
#define ES_WRITER_OPTIONS_INIT { ES_WRITER_OPTIONS_VERSION, 1, (size_t)64 << 20, 1, 1, 0, \
                                 NULL, 0 }

/**
 * Fill *opts with the defaults of the given options version.
 * @return ES_OK, ES_EINVAL (NULL opts or unknown version).
 * Thread safety: reentrant.
 */
ES_API es_status es_writer_options_init(es_writer_options *opts, unsigned version);

/**
 * Open the index in directory `dir` for writing, taking its writer lock.
 * Documents added become visible to readers only at es_writer_commit().
 * @param[out] out  on ES_OK, the writer; release with es_writer_free().
 * @param dir       index directory (created when opts->create is set).
 * @param opts      NULL for defaults.
 * @param err       optional error details.
 * @return ES_OK, ES_ELOCKED (another writer, in any process), ES_ENOTFOUND
 *         (no index and create not set), ES_ECORRUPT, ES_EFORMAT, ES_EIO,
 *         ES_EINVAL (also: an entry of opts->position_pairs that is not two
 *         CJK characters, or NULL; the message gives its index),
 *         ES_ENOMEM.
 * Thread safety: reentrant; the writer then belongs to one thread at a time.
 */
ES_API es_status es_writer_open(es_writer **out, const char *dir,
                                const es_writer_options *opts, es_error *err);

/**
 * Add a document; a committed or pending document with the same id is
 * replaced. The document is copied: the caller may free it at once. May
 * flush a segment to disk (not yet committed) when the RAM buffer is full.
 *
 * With threads (es_writer_options.threads != 1) the copy is analyzed by a
 * worker thread while the caller goes on, and documents enter the index in
 * the order they were added (ids, replacements, deletes and the files
 * written are exactly as without threads). At most a few documents (and
 * 32 MiB of their text) wait in the queue; a document over 8 MiB is
 * analyzed in the caller's thread once the queue is empty. A document whose
 * analysis fails in a worker (ES_ENOMEM; ES_ELIMIT for a term over 1024
 * bytes) is not added, and its error is returned by a LATER call on the
 * writer: es_writer_add() or es_writer_delete() (whose own document or
 * delete was still accepted), or es_writer_commit()/es_writer_optimize()
 * (which then commit nothing: call again to commit the rest). The message
 * names the failed document's id ("document 'ID': ...") and how many other
 * documents failed with it.
 * @return ES_OK, ES_EINVAL, ES_ELIMIT, ES_EIO, ES_ENOMEM; on failure nothing
 *         committed is affected and the writer may still be used or freed.
 */
ES_API es_status es_writer_add(es_writer *w, const es_doc *doc);

/**
 * Delete the document with this id (committed or pending). Waits for the
 * documents queued for analysis first.
 * @return ES_OK (also when no such document exists), ES_EINVAL, ES_ENOMEM,
 *         or the error of a queued document (see es_writer_add()).
 */
ES_API es_status es_writer_delete(es_writer *w, const char *id, size_t id_len);

/**
 * Make everything added or deleted so far durable and visible, atomically:
 * after a crash the index holds either all of it or none of it. Waits for
 * the documents queued for analysis first.
 * @return ES_OK, ES_EIO (the previous commit stays intact), ES_ENOMEM, or
 *         the error of a queued document (see es_writer_add()).
 */
ES_API es_status es_writer_commit(es_writer *w);

/**
 * Merge all segments into one and purge deleted documents, then commit.
 * @return as es_writer_commit().
 */
ES_API es_status es_writer_optimize(es_writer *w);

/**
 * The message of the writer's last failure ("" if none). Owned by the writer,
 * valid until its next call.
 */
ES_API const char *es_writer_errmsg(const es_writer *w);

/**
 * Release the writer and its lock. Uncommitted changes are discarded
 * (files of unfinished segments are removed); analysis threads finish the
 * document in hand and are joined. NULL is allowed.
 */
ES_API void es_writer_free(es_writer *w);

/* ------------------------------------------------------------------------
 * Reading an index
 * ------------------------------------------------------------------------ */

/** A read-only snapshot of an index at one commit. */
typedef struct es_index es_index;

#define ES_INDEX_OPTIONS_VERSION 2
/**
 * Options for es_index_open_opts().
 *
 * cache_bytes bounds the cache of decompressed stored text that every
 * search on the snapshot shares: fetching a hit's text, fields or snippet
 * reads its document from a compressed block, and a cached block is read
 * without inflating it again. The bytes counted are the blocks' inflated
 * size plus a few dozen bytes each; the cache never holds more. Blocks are
 * evicted least recently used first. 0 disables the cache: each search then
 * inflates the block of every hit it fetches (the least memory, the slowest
 * fetch).
 *
 * The default, 64 MiB, was chosen by measurement on the benchmark corpus
 * (3,420 documents, 57.8 MB of text; its stored blocks inflate to about
 * 60 MB) with the 480 benchmark queries, each fetching the text of its top
 * 10, after one warm-up pass: the queries touch 714 blocks (57 MB), so
 * 8 MiB hit 18% of fetches, 32 MiB 62%, 64 MiB and 128 MiB 100%. Without a
 * cache p50 was 2.5-3.5 ms (inflating one 64 KiB block per hit); with
 * 64 MiB it was 0.3-0.5 ms, of which 0.12-0.18 ms is counting the hits.
 * Collections whose often-fetched text is larger want a larger budget.
 * While es_results are alive, the blocks of their hits stay in the cache
 * (they are what es_results_text() and the other getters point into).
 *
 * search_threads lets one large search use idle cores: a search estimated
 * to visit at least 512 documents (from the document frequencies of its
 * terms), or 64 while a worker is still awake from the previous one, is
 * cut into chunks of docnos that the caller's thread and the
 * snapshot's idle worker threads run in turn, each with its own top-k
 * heap, merged at the end; and the snippets of a page are built by the
 * caller and the idle workers, taking hits in turn. Pages, scores, snippets
 * and exact totals are those of one thread (tested); with exact_total 0
 * the lower bound may differ from run to run. The workers
 * (search_threads - 1) are started on the first search that splits and
 * stopped by es_index_free(); a worker is lent to one search at a time,
 * and a search that finds none idle runs on its caller's thread alone, so
 * threads that search at once never use more than search_threads - 1
 * workers between them. A worker that finishes its share polls for its
 * next job for up to 0.1 ms of one core before it sleeps, and a caller
 * waiting for a worker polls as long before it blocks: a sleeping thread
 * takes tens of microseconds to run again, as long as a median search.
 * Set 1 when every core is already busy with searches of its own. On the
 * benchmark corpus with two cores, see docs/PERFORMANCE.md for what it
 * buys.
 */
typedef struct es_index_options {
    unsigned version;          /**< ES_INDEX_OPTIONS_VERSION */
    size_t cache_bytes;        /**< most bytes of decompressed stored text
                                    cached per snapshot (default 64 MiB);
                                    0 = no cache */
    unsigned search_threads;   /**< (version 2) threads one search may use,
                                    the caller's included: 0 = one per
                                    online core, at most 8 (default); 1 =
                                    the caller's thread only. A process
                                    that forks while the workers exist
                                    should only exec or _exit in the
                                    child. Callers of version 1 get 0. */
} es_index_options;
#define ES_INDEX_OPTIONS_INIT { ES_INDEX_OPTIONS_VERSION, (size_t)64 << 20, 0 }

/**
 * Fill *opts with the defaults of the given options version.
 * @return ES_OK, ES_EINVAL (NULL opts or unknown version).
 * Thread safety: reentrant.
 */
ES_API es_status es_index_options_init(es_index_options *opts, unsigned version);

/**
 * Open the newest commit of the index in `dir` for searching, with the
 * default options (as es_index_open_opts() with NULL opts).
 * The snapshot does not change when a writer commits later; es_index_reopen()
 * (or opening again) sees new commits. Opening maps files and checks their headers and footers;
 * es_index_check() verifies every checksum.
 * @param[out] out  on ES_OK, the snapshot; free with es_index_free().
 * @param err       optional error details.
 * @return ES_OK, ES_ENOTFOUND (no index there: create one with
 *         es_writer_open()), ES_ECORRUPT (message names the file),
 *         ES_EFORMAT, ES_EIO, ES_ENOMEM.
 * Thread safety: reentrant. The returned snapshot may be shared by any number
 * of threads for es_search(), es_index_doc_count() and es_index_stats().
 */
ES_API es_status es_index_open(es_index **out, const char *dir, es_error *err);

/**
 * Open the newest commit of the index in `dir` for searching, with options.
 * Everything es_index_open() says holds. The snapshot owns its cache of
 * decompressed text (see es_index_options), which its searches share and
 * es_index_free() releases; a snapshot opened later has a cache of its own,
 * one made by es_index_reopen() shares it.
 * Results of es_search() borrow from it, so free them before the snapshot
 * (as es_search() requires).
 * @param[out] out  on ES_OK, the snapshot; free with es_index_free().
 * @param dir       index directory.
 * @param opts      NULL for defaults; copied, may be freed once this returns.
 * @param err       optional error details.
 * @return as es_index_open(), and ES_EINVAL (unknown opts->version).
 * Thread safety: reentrant. The snapshot, cache included, may be shared by
 * any number of threads as es_index_open() says.
 */
ES_API es_status es_index_open_opts(es_index **out, const char *dir,
                                    const es_index_options *opts, es_error *err);

/**
 * Open the index's newest commit if it is newer than ix, for a program that
 * keeps searching while a writer (in this or another process) commits:
 * Xapian's Database::reopen(), Lucene's openIfChanged(). The new snapshot
 * shares ix's cache of decompressed text (its blocks are keyed by segment
 * file, so those of segments both snapshots hold stay warm: searches after
 * a commit do not start cold), its search worker threads and the segments
 * the new commit keeps whose files are unchanged (not mapped or checked
 * again), and has ix's options; it is independent of ix otherwise (its
 * deletions are its commit's): free each with es_index_free()
 * in any order, once its own searches and results are done (the shared
 * parts go with the last). ix itself is unchanged.
 * @param ix        a snapshot from es_index_open(), es_index_open_opts() or
 *                  this function.
 * @param[out] out  on ES_OK the new snapshot, or NULL when ix already is the
 *                  newest commit (nothing to do). An index removed and built
 *                  again in the same directory is a new commit even when its
 *                  generation number repeats (the MANIFEST file's identity
 *                  is compared, not only its number).
 * @param err       optional error details.
 * @return ES_OK, ES_EINVAL (ix or out NULL), and the errors of
 *         es_index_open() (e.g. ES_ENOTFOUND when the index was removed).
 * Thread safety: safe while other threads search ix.
 */
ES_API es_status es_index_reopen(es_index *ix, es_index **out, es_error *err);

/** Free a snapshot. NULL is allowed. No search on it may still be running. */
ES_API void es_index_free(es_index *ix);

/** Live (not deleted) documents in the snapshot. Thread safety: safe. */
ES_API uint64_t es_index_doc_count(const es_index *ix);

/** Index statistics for `edusearch stats`. */
typedef struct es_stats {
    unsigned version;          /**< ES_STATS_VERSION; set by the caller */
    uint64_t generation;       /**< commit generation of the snapshot */
    uint64_t documents;        /**< live documents */
    uint64_t deleted;          /**< deleted documents not yet purged */
    uint64_t terms;            /**< distinct terms, summed over segments */
    uint64_t segments;         /**< segment count */
    uint64_t bytes_manifest;   /**< bytes on disk per file kind */
    uint64_t bytes_dict;
    uint64_t bytes_postings;
    uint64_t bytes_store;
    uint64_t bytes_deletes;
    uint64_t text_bytes;       /**< raw body bytes of live documents */
    /* version 2: the cache of decompressed stored text (es_index_options),
     * shared by the snapshots es_index_reopen() made from one another;
     * counted since it was made; all 0 when the cache is off */
    uint64_t cache_hits;       /**< block lookups the cache answered */
    uint64_t cache_misses;     /**< block lookups that decompressed a block */
    uint64_t cache_bytes;      /**< bytes cached now (at most cache_budget) */
    uint64_t cache_budget;     /**< es_index_options.cache_bytes */
} es_stats;
#define ES_STATS_VERSION 2

/**
 * Fill *out, whose version field the caller sets: ES_STATS_VERSION, or 1
 * for the fields up to text_bytes only (nothing after them is written).
 * @return ES_OK, ES_EINVAL (NULL argument, unknown version).
 * Thread safety: safe on a shared snapshot.
 */
ES_API es_status es_index_stats(const es_index *ix, es_stats *out);

/**
 * Facet callback: one distinct value of a field and how many live documents
 * have it. value is borrowed for the call. Return 0 to go on, non-zero to stop.
 */
typedef int (*es_facet_cb)(const char *value, size_t len, uint64_t count,
                           void *payload);

/**
 * Count live documents per value of a stored field (agency, type, ...), most
 * frequent first (ties in byte order of the value). The pseudo-field "year"
 * counts the years of the `date` field. Documents without the field are not
 * counted. Reads every stored document of the snapshot: a report, not a
 * per-query operation.
 * @param field  field name, NUL-terminated.
 * @param cb     called once per distinct value.
 * @param err    optional error details.
 * @return ES_OK, ES_EINVAL (NULL argument), ES_ECORRUPT, ES_ENOMEM.
 * Thread safety: safe on a shared snapshot.
 */
ES_API es_status es_index_facet(es_index *ix, const char *field, es_facet_cb cb,
                                void *payload, es_error *err);

/**
 * Verify every file of the newest commit in `dir`: headers, checksums and the
 * internal structure of every block.
 * @param report    optional; receives a message naming the first damaged file.
 * @return ES_OK if the index is intact, ES_ECORRUPT, ES_EFORMAT,
 *         ES_ENOTFOUND, ES_EIO, ES_ENOMEM.
 * Thread safety: reentrant; safe while a writer works on the same directory.
 */
ES_API es_status es_index_check(const char *dir, es_error *report);

/* ------------------------------------------------------------------------
 * Queries and results
 * ------------------------------------------------------------------------ */

/** A parsed query. Immutable once parsed; may be shared between threads. */
typedef struct es_query es_query;

/**
 * Parse a query. Syntax (docs/QUERY.md): terms separated by spaces are all
 * required; "exact phrase"; OR; NOT or -term; parentheses; field:term;
 * prefix* on Latin words and numbers. A run of Chinese without quotes
 * requires each of its words, and ranks documents holding it as an exact
 * phrase first. Document punctuation such as “双减” or 〔2025〕 is accepted.
 * @param[out] out  on ES_OK, the query; free with es_query_free().
 * @param text      UTF-8 query, need not be NUL-terminated.
 * @param err       optional; on ES_ESYNTAX, position is the byte offset of
 *                  the problem and message says what is wrong.
 * @return ES_OK, ES_ESYNTAX (also for a query with no searchable term),
 *         ES_ELIMIT (more than 1024 terms or 64 levels of nesting),
 *         ES_EINVAL, ES_ENOMEM.
 * Thread safety: reentrant. Memory: to spare each parse the set-up of an
 * analyzer (ICU break iterators and buffers), the library keeps at most 4
 * idle ones, shared by all threads under a mutex, until the process exits
 * (still reachable, not leaked). A child forked while another thread is
 * parsing should only exec or _exit, as for writers with threads.
 */
ES_API es_status es_query_parse(es_query **out, const char *text, size_t len,
                                es_error *err);

/** Free a query. NULL is allowed. */
ES_API void es_query_free(es_query *q);

/**
 * Describe how q is matched against ix, for a person asking why a query
 * finds what it does (`edusearch --explain`): the query tree after
 * analysis, one node a line (AND, OR, NOT, phrases with every index key
 * they need and its offset and the pairs of adjacent characters they
 * imply, the bonus phrase of a bare run, date ranges, prefixes with the
 * number of distinct terms each expands to and the 20 commonest of them),
 * and for each key, pair and expanded term the number of documents of ix
 * holding it (deleted documents not yet merged away included). A prefix
 * the search would refuse with ES_ELIMIT is described as such; explain
 * itself still succeeds. UTF-8 text to read,
 * not a format to parse: it may change between versions.
 * @param ix        the index (snapshot) whose documents are counted.
 * @param q         a parsed query.
 * @param buf       where the text goes, NUL-terminated and cut to cap - 1
 *                  bytes when longer; may be NULL when cap is 0. Owned by
 *                  the caller.
 * @param cap       bytes at buf.
 * @param[out] len  the whole text's length (without the NUL), even when
 *                  cut: call with cap 0 to size the buffer.
 * @param err       optional error details.
 * @return ES_OK, ES_EINVAL (ix, q or len NULL, or buf NULL with cap > 0),
 *         ES_ECORRUPT (a damaged dictionary; names the file), ES_ENOMEM.
 * Thread safety: safe on a shared index and query.
 */
ES_API es_status es_query_explain(es_index *ix, const es_query *q, char *buf,
                                  size_t cap, size_t *len, es_error *err);

/** Result order. */
typedef enum es_sort {
    ES_SORT_SCORE = 0,  /**< best first (default) */
    ES_SORT_DATE = 1    /**< newest `date` field first, then score */
} es_sort;

#define ES_SEARCH_OPTIONS_VERSION 1
/** Options for es_search(). */
typedef struct es_search_options {
    unsigned version;          /**< ES_SEARCH_OPTIONS_VERSION */
    size_t offset;             /**< hits to skip (pagination), default 0 */
    size_t limit;              /**< hits to return, default 10; 0 = count only */
    es_sort sort;              /**< default ES_SORT_SCORE */
    int exact_total;           /**< count every match (default 1); 0:
                                    es_results_total() may be a lower bound,
                                    letting top-k skip documents that cannot
                                    enter the page */
    const char *hl_open;       /**< highlight markers in snippets; default "[" */
    const char *hl_close;      /**< default "]" */
    size_t snippet_sentences;  /**< 1..3 sentences per snippet, default 2 */
    double bm25_k1;            /**< BM25 k1, default 1.2 */
    double bm25_b;             /**< BM25 b, default 0.75 */
    int snippets;              /**< build snippets and match ranges for the
                                    page's hits (default 1); 0 skips that work
                                    when only ids, text, fields and scores
                                    are wanted: es_results_snippet() is then
                                    "" and es_results_matches() 0 */
} es_search_options;
#define ES_SEARCH_OPTIONS_INIT \
    { ES_SEARCH_OPTIONS_VERSION, 0, 10, ES_SORT_SCORE, 1, "[", "]", 2, 1.2, 0.75, 1 }

/**
 * Fill *opts with the defaults of the given options version.
 * @return ES_OK, ES_EINVAL (NULL opts or unknown version).
 */
ES_API es_status es_search_options_init(es_search_options *opts, unsigned version);

/** The results of one search: a page of hits plus the total count. */
typedef struct es_results es_results;

/**
 * Run a query against a snapshot.
 * @param[out] out  on ES_OK, the results; free with es_results_free().
 * @param ix        the snapshot; must outlive the results.
 * @param q         the query; may be freed once this returns.
 * @param opts      NULL for defaults.
 * @param err       optional error details.
 * @return ES_OK (also with zero hits), ES_ECORRUPT (names the file),
 *         ES_ELIMIT (a prefix* matching more than 1024 terms, or offset +
 *         limit above 2^24), ES_EINVAL, ES_ENOMEM.
 * Thread safety: any number of threads may search one es_index at once,
 * each with its own results.
 * Memory: between searches the index keeps, per search that ran at the
 * same moment (up to 32), scratch to reuse: a reader of stored text, an
 * analyzer once snippets were asked for, and up to 1 MiB of the last
 * search's matchers and cursors, so that the next search takes no new
 * memory. es_index_free() frees it.
 */
ES_API es_status es_search(es_results **out, es_index *ix, const es_query *q,
                           const es_search_options *opts, es_error *err);

/**
 * Fetch one live document by id, as a result set of one hit (score 0, no
 * snippet, no matches), so the es_results_* getters read its text and fields.
 * @param[out] out  on ES_OK, the result; free with es_results_free().
 * @return ES_OK, ES_ENOTFOUND (no live document has this id), ES_EINVAL,
 *         ES_ECORRUPT, ES_ENOMEM.
 * Thread safety: safe on a shared snapshot.
 */
ES_API es_status es_index_get(es_results **out, es_index *ix, const char *id,
                              size_t id_len, es_error *err);

/**
 * Document callback of es_index_documents(): one live document as a result
 * set of one hit (score 0, no snippet), read with the es_results_* getters
 * at index 0. The results and every string they give are borrowed: valid
 * only during the call (do not free them). Return 0 to go on, anything else
 * to stop (es_index_documents then returns ES_OK having stopped early).
 */
typedef int (*es_doc_cb)(const es_results *doc, void *payload);

/**
 * Call cb for every live document of the snapshot, segment by segment (each
 * segment's documents in the order they were added; merges may have moved
 * segments, so this is not the order of the whole index): the stored text and
 * fields as given, plus the official-document fields recognized at index
 * time. What `edusearch export` writes, so that an index's documents can be
 * indexed again (a new index, another version of the format) without their
 * original files. Reads every stored block once, without the snapshot's
 * cache (searches keep theirs).
 * @param cb       called once per live document.
 * @param payload  passed through to cb.
 * @param err      optional error details.
 * @return ES_OK, ES_EINVAL (NULL ix or cb), ES_ECORRUPT (names the file),
 *         ES_ENOMEM.
 * Thread safety: safe on a shared snapshot.
 */
ES_API es_status es_index_documents(es_index *ix, es_doc_cb cb, void *payload,
                                    es_error *err);

/** Free results. NULL is allowed. */
ES_API void es_results_free(es_results *r);

/** Number of documents matching the query (all pages). */
ES_API uint64_t es_results_total(const es_results *r);

/** Number of hits in this page (at most opts->limit). */
ES_API size_t es_results_count(const es_results *r);

/**
 * Hit i's document id (0 <= i < es_results_count()), or NULL if i is out of
 * range. Borrowed: valid until es_results_free(r).
 */
ES_API const char *es_results_id(const es_results *r, size_t i, size_t *len);

/** Hit i's score (0 when out of range). */
ES_API double es_results_score(const es_results *r, size_t i);

/**
 * Hit i's stored body text, or NULL. Borrowed until es_results_free(r).
 */
ES_API const char *es_results_text(const es_results *r, size_t i, size_t *len);

/**
 * Hit i's stored field `name` ("title", "date", ...), or NULL if the
 * document has no such field. Borrowed until es_results_free(r).
 */
ES_API const char *es_results_field(const es_results *r, size_t i,
                                    const char *name, size_t *len);

/**
 * Hit i's field number j (0-based, in name order): sets *name and *value and
 * returns ES_OK, or ES_DONE when j is past the last field. Borrowed until
 * es_results_free(r).
 */
ES_API es_status es_results_field_at(const es_results *r, size_t i, size_t j,
                                     const char **name, const char **value,
                                     size_t *value_len);

/**
 * Hit i's snippet: the best sentences around the matches, with the
 * highlight markers of the search options. Borrowed until es_results_free(r).
 */
ES_API const char *es_results_snippet(const es_results *r, size_t i, size_t *len);

/** A half-open byte range [start, end) in a document's stored text. */
typedef struct es_range {
    size_t start;
    size_t end;
} es_range;

/**
 * Hit i's matched byte ranges in its stored text, sorted, never splitting a
 * UTF-8 character. Sets *ranges (borrowed until es_results_free(r)) and
 * returns their count.
 */
ES_API size_t es_results_matches(const es_results *r, size_t i,
                                 const es_range **ranges);

#ifdef __cplusplus
}
#endif

#endif /* EDUSEARCH_H */
