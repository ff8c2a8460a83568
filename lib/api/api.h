/*
 * api.h: the definitions behind the public handles that more than one glue
 * file needs. lib/api is the top layer of the library: it implements the
 * es_* functions of include/edusearch.h on top of analysis, storage and
 * search. Nothing below lib/api includes this file.
 */
#ifndef ES_API_INTERNAL_H
#define ES_API_INTERNAL_H

#include "../base/base.h"
#include "../storage/storage.h"
#include "../analysis/analyzer.h"

#include <pthread.h>

/* es_index: an opened snapshot. Immutable after es_index_open, so any number
 * of threads may search it; per-search state lives in es_results. The only
 * mutable part is a mutex-protected free list of per-search scratch
 * (analyzer, doc reader, buffers; search_api.c) so that a search does not
 * build them anew, and the block cache (its own mutex, blockcache.c) from
 * which every search's doc reader fetches stored text, and the pool of
 * search workers (its own mutex, pool.c). The cache and the workers belong
 * to an esi_ix_shared that the snapshots es_index_reopen made from one
 * another share and the last es_index_free frees: the cache is keyed by
 * segment files, not by snapshot, so its blocks stay good across commits. */
typedef struct esi_ix_shared {
    _Atomic size_t refs;       /* snapshots holding it */
    esi_blockcache *cache;     /* inflated store blocks, or NULL (off) */
    struct esi_pool *workers;  /* threads a large search is split over
                                  (base/pool.h), or NULL (search_threads 1) */
} esi_ix_shared;

struct es_index {
    esi_snapshot *snap;   /* segments + deletions of one commit */
    char *dir;            /* the index directory */
    pthread_mutex_t pool_mu;
    void **pool;          /* idle scratch (search_api.c owns the type) */
    size_t npool;
    esi_ix_shared *shared; /* the cache and the workers (one reference) */
};

/* Free the idle scratch of ix->pool (search_api.c); for es_index_free. */
void esi_api_pool_free(es_index *ix);

/* Call fn for every live document of snap, segment by segment, read with
 * a reader of its own (a walk through every block would push out what the
 * searches keep in the index's cache); d is borrowed for the call. fn
 * returns ES_OK to go on, ES_DONE to stop (the walk then returns ES_OK) or
 * an error, which the walk returns (fn sets e). search_api.c; used by
 * es_index_documents and es_index_facet. */
es_status esi_api_each_doc(const esi_snapshot *snap,
                           es_status (*fn)(const esi_stored_doc *d, void *p, esi_err *e),
                           void *p, esi_err *e);

/* Check the version of an options struct a caller passed: ES_OK if there is
 * none (version NULL) or oldest <= *version <= newest; otherwise ES_EINVAL,
 * and e says which versions this library knows and to fill the struct (named
 * what, e.g. "es_index_options") with its INIT macro (init). index.c. */
es_status esi_api_options_version(esi_err *e, const unsigned *version, unsigned oldest,
                                  unsigned newest, const char *what, const char *init);

/* Fill opts with the defaults d for version: the first bytes[version - 1]
 * bytes of d, the size of that version's struct (later versions only
 * append fields, which an older caller's struct does not have). d's
 * version field must already be set. index.c. */
void esi_api_options_fill(void *opts, const void *d, const size_t *bytes,
                          unsigned version);

/* The CJK pairs a writer indexes with positions (pospairs.c). */
typedef struct esi_pairset {
    uint64_t *slot;          /* open addressing; 0 = empty */
    size_t mask;
} esi_pairset;

/* Build *s from pairs[0..n), each two CJK characters as UTF-8 (normalized
 * with analyzer an as the index normalizes text: "第二", "第 二" and "課程"
 * are the pairs 第二, 第二 and 课程), or from the built-in list of common pairs
 * when pairs is NULL (n must be 0 then). ES_EINVAL naming the entry that is
 * not two CJK characters (or NULL), ES_ENOMEM; *s owns its table
 * (esi_pairset_free), nothing on failure. */
es_status esi_pairset_build(esi_pairset *s, esi_analyzer *an, const char *const *pairs,
                            size_t n, esi_err *e);
/* True if pair term[0..len) (analyzer bigram bytes) is in s. Thread-safe
 * for a built set. */
bool esi_pairset_has(const esi_pairset *s, const char *term, size_t len);
void esi_pairset_free(esi_pairset *s);

#endif
