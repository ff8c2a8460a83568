/*
 * blockcache.c: the cache of inflated .store blocks that the doc readers of
 * one open index share (storage.h, "stored documents"). Entries are keyed by
 * (segment id, store length, store crc32, block number), so two segments
 * that happen to share an id (in different snapshots) never collide. A hash
 * table with chains finds an entry; a doubly linked list keeps every cached
 * entry from most to least recently used.
 *
 * Memory: the cache counts each entry as its inflated bytes plus its header
 * and never lets that sum pass the budget. A reader pins the entry it reads
 * from (refs > 0) so that a hit copies nothing; pinned entries are never
 * evicted. When a new block cannot fit (the budget is held by pinned
 * entries, or the block alone is bigger) it is not cached: the reader keeps
 * it as a private entry, freed when released. So pinned-but-uncached memory
 * is bounded by the readers (one block each), not by the cache.
 *
 * Threads: one mutex guards the table, the list, refs and the counters. It
 * is held only to find, pin, link or unlink entries; inflating happens
 * outside it (two threads missing the same block both inflate it, and the
 * second put returns the first one's entry). Entries freed by eviction are
 * released after the mutex is dropped. An entry's key, len and data never
 * change after it is filled, so readers use them without the lock.
 */
#include "storage_int.h"

#include <pthread.h>

struct esi_blockcache {
    pthread_mutex_t mu;
    size_t budget;             /* most bytes cached entries may count */
    size_t bytes;              /* bytes counted by cached entries */
    size_t nentries;           /* cached entries */
    esi_bc_entry **tab;        /* hash chains; nbuckets is a power of two */
    size_t nbuckets;
    esi_bc_entry *head, *tail; /* most / least recently used */
    esi_blockcache_stats st;   /* running counters (bytes etc. filled on read) */
};

#define MIN_BUCKETS 64

es_status esi_blockcache_new(esi_blockcache **out, size_t budget, esi_err *e)
{
    *out = NULL;
    esi_blockcache *c = esi_calloc(1, sizeof *c);
    if (!c)
        return esi_err_set(e, ES_ENOMEM, "out of memory creating the block cache");
    c->tab = esi_calloc(MIN_BUCKETS, sizeof *c->tab);
    if (!c->tab || pthread_mutex_init(&c->mu, NULL) != 0) {
        esi_free(c->tab);
        esi_free(c);
        return esi_err_set(e, ES_ENOMEM, "out of memory creating the block cache");
    }
    c->nbuckets = MIN_BUCKETS;
    c->budget = budget;
    *out = c;
    return ES_OK;
}

void esi_blockcache_free(esi_blockcache *c)
{
    if (!c)
        return;
    esi_bc_entry *x = c->head;
    while (x) {
        esi_bc_entry *next = x->next;
        esi_free(x);
        x = next;
    }
    esi_free(c->tab);
    pthread_mutex_destroy(&c->mu);
    esi_free(c);
}

/* A well-mixed hash of a key (splitmix64's finalizer over its fields). */
static size_t key_hash(const esi_bc_key *k)
{
    uint64_t h = k->seg_id * 0x9e3779b97f4a7c15u ^ k->store_len ^
                 ((uint64_t)k->crc << 32 | k->block);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebu;
    h ^= h >> 31;
    return (size_t)h;
}

bool esi_bc_key_eq(const esi_bc_key *a, const esi_bc_key *b)
{
    return a->seg_id == b->seg_id && a->store_len == b->store_len &&
           a->crc == b->crc && a->block == b->block;
}

esi_bc_entry *esi_bc_entry_new(const esi_bc_key *k, size_t len)
{
    size_t cost;
    if (__builtin_add_overflow(len, sizeof(esi_bc_entry) + 1, &cost))
        return NULL;
    esi_bc_entry *x = esi_malloc(cost);
    if (!x)
        return NULL;
    memset(x, 0, sizeof *x);
    x->key = *k;
    x->refs = 1;
    x->len = len;
    x->cost = cost;
    x->data[len] = 0;
    return x;
}

/* Unlink x from the LRU list (mu held). */
static void lru_unlink(esi_blockcache *c, esi_bc_entry *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        c->head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    else
        c->tail = x->prev;
    x->prev = x->next = NULL;
}

/* Put x at the most recently used end (mu held). */
static void lru_push(esi_blockcache *c, esi_bc_entry *x)
{
    x->prev = NULL;
    x->next = c->head;
    if (c->head)
        c->head->prev = x;
    else
        c->tail = x;
    c->head = x;
}

/* Remove cached x from the table and the list (mu held); the caller frees
 * it (or keeps it while pinned). */
static void drop_cached(esi_blockcache *c, esi_bc_entry *x)
{
    esi_bc_entry **pp = &c->tab[key_hash(&x->key) & (c->nbuckets - 1)];
    while (*pp && *pp != x)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = x->hnext;
    x->hnext = NULL;
    lru_unlink(c, x);
    x->cached = false;
    c->bytes -= x->cost;
    c->nentries--;
}

/* Drop one pin of x (mu held): returns x when it is now to be freed (its
 * last pin gone and not cached), else NULL. */
static esi_bc_entry *unpin(esi_bc_entry *x)
{
    if (!x)
        return NULL;
    if (x->refs > 0)
        x->refs--;
    return x->refs == 0 && !x->cached ? x : NULL;
}

/* Double the table once the entries outnumber the buckets (mu held); on
 * ENOMEM the chains just grow longer. */
static void maybe_grow(esi_blockcache *c)
{
    if (c->nentries < c->nbuckets || c->nbuckets > SIZE_MAX / 2 / sizeof *c->tab)
        return;
    size_t n = c->nbuckets * 2;
    esi_bc_entry **t = esi_calloc(n, sizeof *t);
    if (!t)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        esi_bc_entry *x = c->tab[i];
        while (x) {
            esi_bc_entry *next = x->hnext;
            size_t h = key_hash(&x->key) & (n - 1);
            x->hnext = t[h];
            t[h] = x;
            x = next;
        }
    }
    esi_free(c->tab);
    c->tab = t;
    c->nbuckets = n;
}

esi_bc_entry *esi_blockcache_get(esi_blockcache *c, const esi_bc_key *k,
                                 esi_bc_entry *drop)
{
    pthread_mutex_lock(&c->mu);
    esi_bc_entry *gone = unpin(drop);
    esi_bc_entry *x = c->tab[key_hash(k) & (c->nbuckets - 1)];
    while (x && !esi_bc_key_eq(&x->key, k))
        x = x->hnext;
    if (x) {
        x->refs++;
        if (c->head != x) {
            lru_unlink(c, x);
            lru_push(c, x);
        }
        c->st.hits++;
    } else {
        c->st.misses++;
    }
    pthread_mutex_unlock(&c->mu);
    esi_free(gone);
    return x;
}

esi_bc_entry *esi_blockcache_put(esi_blockcache *c, esi_bc_entry *x)
{
    esi_bc_entry *victims = NULL, *use = x;
    pthread_mutex_lock(&c->mu);
    esi_bc_entry **slot = &c->tab[key_hash(&x->key) & (c->nbuckets - 1)];
    esi_bc_entry *old = *slot;
    while (old && !esi_bc_key_eq(&old->key, &x->key))
        old = old->hnext;
    if (old) {                          /* another reader was first */
        old->refs++;
        use = old;
    } else if (x->cost <= c->budget) {
        /* evict unpinned entries from the cold end until x fits */
        esi_bc_entry *v = c->tail;
        while (v && c->bytes > c->budget - x->cost) {
            esi_bc_entry *prev = v->prev;
            if (v->refs == 0) {
                drop_cached(c, v);
                v->hnext = victims;
                victims = v;
                c->st.evictions++;
            }
            v = prev;
        }
        if (c->bytes <= c->budget - x->cost) {
            maybe_grow(c);
            slot = &c->tab[key_hash(&x->key) & (c->nbuckets - 1)];
            x->hnext = *slot;
            *slot = x;
            lru_push(c, x);
            x->cached = true;
            c->bytes += x->cost;
            c->nentries++;
            if (c->bytes > c->st.peak_bytes)
                c->st.peak_bytes = c->bytes;
            c->st.inserts++;
        } else {
            c->st.rejects++;
        }
    } else {
        c->st.rejects++;
    }
    pthread_mutex_unlock(&c->mu);
    if (use != x)
        esi_free(x);
    while (victims) {
        esi_bc_entry *next = victims->hnext;
        esi_free(victims);
        victims = next;
    }
    return use;
}

void esi_blockcache_release(esi_blockcache *c, esi_bc_entry *x)
{
    if (!x)
        return;
    pthread_mutex_lock(&c->mu);
    esi_bc_entry *gone = unpin(x);
    pthread_mutex_unlock(&c->mu);
    esi_free(gone);
}

void esi_blockcache_hold(esi_blockcache *c, esi_bc_entry *x)
{
    pthread_mutex_lock(&c->mu);
    x->refs++;
    pthread_mutex_unlock(&c->mu);
}

void esi_blockcache_stats_get(esi_blockcache *c, esi_blockcache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    out->budget = c->budget;
    out->bytes = c->bytes;
    out->entries = c->nentries;
    size_t pinned = 0;
    for (const esi_bc_entry *x = c->head; x; x = x->next)
        pinned += x->refs > 0;
    out->pinned = pinned;
    pthread_mutex_unlock(&c->mu);
}
