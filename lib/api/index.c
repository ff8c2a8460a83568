/*
 * index.c: es_index, the public read snapshot: opening the newest commit of
 * an index directory (with its options: the size of the snapshot's block
 * cache, the threads one search may use), reopening it after later commits
 * (the new snapshot sharing the cache and the threads), its counts and
 * statistics, and es_index_check().
 * Searching lives in search_api.c.
 */
#include "api.h"
#include "../base/pool.h"

#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>

es_status es_index_options_init(es_index_options *opts, unsigned version)
{
    if (!opts || version < 1 || version > ES_INDEX_OPTIONS_VERSION)
        return ES_EINVAL;
    es_index_options d = ES_INDEX_OPTIONS_INIT;
    d.version = version;
    const size_t bytes[] = { offsetof(es_index_options, search_threads), sizeof d };
    esi_api_options_fill(opts, &d, bytes, version);
    return ES_OK;
}

void esi_api_options_fill(void *opts, const void *d, const size_t *bytes,
                          unsigned version)
{
    memcpy(opts, d, bytes[version - 1]);
}

es_status esi_api_options_version(esi_err *e, const unsigned *version, unsigned oldest,
                                  unsigned newest, const char *what, const char *init)
{
    if (!version || (*version >= oldest && *version <= newest))
        return ES_OK;
    if (oldest == newest)
        return esi_err_set(e, ES_EINVAL, "%s version %u unknown (this library knows "
                           "%u); use %s", what, *version, newest, init);
    return esi_err_set(e, ES_EINVAL, "%s version %u unknown (this library knows "
                       "%u..%u); use %s", what, *version, oldest, newest, init);
}

/* A snapshot of dir's newest commit that takes a reference to sh (its
 * cache and workers) and shares the segments it keeps of prev (NULL: a
 * first open); ES_OK with *out, or an error in e and nothing held. */
static es_status open_snapshot(es_index **out, const char *dir, esi_ix_shared *sh,
                               const esi_snapshot *prev, esi_err *e)
{
    *out = NULL;
    es_index *ix = esi_calloc(1, sizeof *ix);
    if (!ix || !(ix->dir = esi_strndup(dir, strlen(dir))) ||
        pthread_mutex_init(&ix->pool_mu, NULL) != 0) {
        if (ix)
            esi_free(ix->dir);
        esi_free(ix);
        return esi_err_set(e, ES_ENOMEM, "out of memory opening %s", dir);
    }
    atomic_fetch_add(&sh->refs, 1);
    ix->shared = sh;
    es_status rc = esi_snapshot_reopen(&ix->snap, prev, dir, false, e);
    if (rc != ES_OK) {
        es_index_free(ix);
        return rc;
    }
    *out = ix;
    return ES_OK;
}

/* Drop one reference to sh; the last frees the workers (idle: no search
 * runs on a snapshot being freed) and the cache (no result pins it). */
static void shared_release(esi_ix_shared *sh)
{
    if (!sh || atomic_fetch_sub(&sh->refs, 1) != 1)
        return;
    esi_pool_free(sh->workers);
    esi_blockcache_free(sh->cache);
    esi_free(sh);
}

es_status es_index_open_opts(es_index **out, const char *dir,
                             const es_index_options *opts, es_error *err)
{
    esi_err e = { 0 };
    es_index_options d = ES_INDEX_OPTIONS_INIT;
    es_status rc;
    if (out)
        *out = NULL;
    if (!out || !dir || !*dir) {
        rc = esi_err_set(&e, ES_EINVAL, "es_index_open: out and dir are required");
        goto fail;
    }
    rc = esi_api_options_version(&e, opts ? &opts->version : NULL,
                                 1, ES_INDEX_OPTIONS_VERSION,
                                 "es_index_options", "ES_INDEX_OPTIONS_INIT");
    if (rc != ES_OK)
        goto fail;
    if (!opts)
        opts = &d;
    /* version 1 callers have no search_threads: they get the default */
    unsigned threads = opts->version >= 2 ? opts->search_threads : 0;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
    }
    esi_ix_shared *sh = esi_calloc(1, sizeof *sh);
    if (sh)
        atomic_init(&sh->refs, 1);           /* this function's, dropped below */
    if (!sh || (threads > 1 && !(sh->workers = esi_pool_new(threads - 1))))
        rc = esi_err_set(&e, ES_ENOMEM, "out of memory opening %s", dir);
    if (rc == ES_OK && opts->cache_bytes > 0)
        rc = esi_blockcache_new(&sh->cache, opts->cache_bytes, &e);
    if (rc == ES_OK)
        rc = open_snapshot(out, dir, sh, NULL, &e);
    shared_release(sh);                      /* the snapshot holds its own */
    if (rc == ES_OK)
        return ES_OK;
fail:
    esi_err_export(&e, err);
    return rc;
}

es_status es_index_open(es_index **out, const char *dir, es_error *err)
{
    return es_index_open_opts(out, dir, NULL, err);
}

es_status es_index_reopen(es_index *ix, es_index **out, es_error *err)
{
    esi_err e = { 0 };
    es_status rc;
    bool current = false;
    if (out)
        *out = NULL;
    if (!ix || !out)
        rc = esi_err_set(&e, ES_EINVAL, "es_index_reopen: ix and out are required");
    else if ((rc = esi_snapshot_current(ix->snap, ix->dir, &current, &e)) == ES_OK &&
             !current)
        rc = open_snapshot(out, ix->dir, ix->shared, ix->snap, &e);
    if (rc != ES_OK)
        esi_err_export(&e, err);
    return rc;
}

void es_index_free(es_index *ix)
{
    if (!ix)
        return;
    esi_api_pool_free(ix);       /* the pooled readers release their blocks */
    pthread_mutex_destroy(&ix->pool_mu);
    shared_release(ix->shared);
    esi_snapshot_free(ix->snap);
    esi_free(ix->dir);
    esi_free(ix);
}

uint64_t es_index_doc_count(const es_index *ix)
{
    return ix ? ix->snap->live_docs : 0;
}

es_status es_index_stats(const es_index *ix, es_stats *out)
{
    if (!ix || !out || out->version < 1 || out->version > ES_STATS_VERSION)
        return ES_EINVAL;
    esi_storage_stats st;
    es_status rc = esi_snapshot_stats(ix->snap, &st, NULL);
    if (rc != ES_OK)
        return rc;
    out->generation = ix->snap->generation;
    out->documents = ix->snap->live_docs;
    out->deleted = st.deleted;
    out->terms = st.terms;
    out->segments = ix->snap->nsegs;
    out->bytes_manifest = st.bytes_manifest;
    out->bytes_dict = st.bytes_dict;
    out->bytes_postings = st.bytes_postings;
    out->bytes_store = st.bytes_store;
    out->bytes_deletes = st.bytes_deletes;
    out->text_bytes = st.text_bytes;
    if (out->version >= 2) {      /* a version-1 struct ends at text_bytes */
        esi_blockcache_stats cs = { 0 };
        if (ix->shared->cache)
            esi_blockcache_stats_get(ix->shared->cache, &cs);
        out->cache_hits = cs.hits;
        out->cache_misses = cs.misses;
        out->cache_bytes = cs.bytes;
        out->cache_budget = cs.budget;
    }
    return ES_OK;
}

es_status es_index_check(const char *dir, es_error *report)
{
    esi_err e = { 0 };
    es_status rc = dir ? esi_storage_check(dir, &e)
                       : esi_err_set(&e, ES_EINVAL, "es_index_check: dir is NULL");
    if (rc != ES_OK)
        esi_err_export(&e, report);
    else if (report)
        *report = (es_error){ ES_OK, 0, "" };
    return rc;
}
