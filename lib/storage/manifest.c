/*
 * manifest.c: generations (docs/FORMAT.md §2 and §6). A MANIFEST-<gen> file
 * lists the segments of one commit with their doc counts, file sizes and
 * the generation of their deletion file; seg_<n>_<gen>.del files hold the
 * deletion bitsets. Both are small, so they are read into memory and their
 * crc32 is always verified. Also here: opening a snapshot (newest manifest,
 * its segments mapped, deletions loaded), its stats, and the full check.
 *
 * The newest manifest is the one with the highest generation number among
 * names MANIFEST-<digits>; a damaged newest manifest is an error, never a
 * silent fall back to an older commit. A reader that loses a race with a
 * writer removing old files (a segment vanished between listing and
 * mapping) retries with the newer manifest.
 */
#include "storage_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define SEG_REC 48

es_status esi_manifest_encode(const esi_manifest *m, esi_buf *out)
{
    es_status rc = ES_OK;
    esi_file_begin(&rc, out, ESI_MAGIC_MANIFEST, 0);
    esi_buf_put_u64(&rc, out, m->generation);
    esi_buf_put_u64(&rc, out, m->next_seg_id);
    esi_buf_put_u32(&rc, out, (uint32_t)m->nsegs);
    for (size_t i = 0; i < m->nsegs; i++) {
        const esi_manifest_seg *s = &m->segs[i];
        esi_buf_put_u64(&rc, out, s->id);
        esi_buf_put_u32(&rc, out, s->ndocs);
        esi_buf_put_u32(&rc, out, s->ndel);
        esi_buf_put_u64(&rc, out, s->del_gen);
        for (int k = 0; k < 3; k++)
            esi_buf_put_u64(&rc, out, s->sizes[k]);
    }
    esi_file_finish(&rc, out);
    return rc;
}

typedef struct newest_ctx {
    uint64_t gen;
} newest_ctx;

/* Parse "MANIFEST-<digits>" exactly; 0 if name is something else. */
static uint64_t manifest_gen(const char *name)
{
    if (strncmp(name, "MANIFEST-", 9) != 0)
        return 0;
    const char *p = name + 9;
    if (!*p || strlen(p) > 19)
        return 0;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return 0;
    return strtoull(p, NULL, 10);
}

static int newest_cb(const char *name, void *p)
{
    newest_ctx *c = p;
    uint64_t g = manifest_gen(name);
    if (g > c->gen)
        c->gen = g;
    return 0;
}

es_status esi_manifest_newest(const char *dir, uint64_t *gen, esi_err *e)
{
    newest_ctx c = { 0 };
    es_status rc = esi_io_list_dir(dir, newest_cb, &c, e);
    *gen = c.gen;
    return rc;
}

/* Read the small file name of dir into b and open its container (magic
 * checked, crc32 always verified) into r; b is the caller's to free, also on
 * error. With id, the identity of the file read. */
static es_status read_small(const char *dir, const char *name, const char magic[8],
                            esi_buf *b, esi_rd *r, esi_file_id *id, esi_err *e)
{
    char *path = esi_path_join(dir, name);
    if (!path)
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    es_status rc = esi_io_read_file(path, b, id, e);
    esi_free(path);
    if (rc != ES_OK)
        return rc;
    return esi_file_open(b->data, b->len, magic, name, true, r, NULL, e);
}

es_status esi_manifest_read(const char *dir, uint64_t gen, esi_manifest *out,
                            esi_err *e)
{
    memset(out, 0, sizeof *out);
    char name[64];
    snprintf(name, sizeof name, "MANIFEST-%" PRIu64, gen);
    esi_buf b = { 0 };
    esi_rd r;
    es_status rc = read_small(dir, name, ESI_MAGIC_MANIFEST, &b, &r, &out->file, e);
    if (rc != ES_OK)
        goto done;
    uint32_t n;
    if (!esi_rd_u64(&r, &out->generation) || !esi_rd_u64(&r, &out->next_seg_id) ||
        !esi_rd_u32(&r, &n) || esi_rd_left(&r) != (size_t)n * SEG_REC ||
        out->generation != gen) {
        rc = esi_err_set(e, ES_ECORRUPT, "%s: bad manifest contents; run "
                         "'edusearch check'", name);
        goto done;
    }
    if (n) {
        out->segs = esi_calloc(n, sizeof *out->segs);
        if (!out->segs) {
            rc = esi_err_set(e, ES_ENOMEM, "out of memory");
            goto done;
        }
    }
    out->nsegs = n;
    for (uint32_t i = 0; i < n; i++) {
        esi_manifest_seg *s = &out->segs[i];
        esi_rd_u64(&r, &s->id);
        esi_rd_u32(&r, &s->ndocs);
        esi_rd_u32(&r, &s->ndel);
        esi_rd_u64(&r, &s->del_gen);
        for (int k = 0; k < 3; k++)
            esi_rd_u64(&r, &s->sizes[k]);
        if (s->id >= out->next_seg_id || s->ndel > s->ndocs ||
            s->del_gen > gen || (s->ndel > 0) != (s->del_gen > 0) ||
            (i > 0 && s->id <= out->segs[i - 1].id)) {
            rc = esi_err_set(e, ES_ECORRUPT, "%s: bad segment entry %u; run "
                             "'edusearch check'", name, i);
            goto done;
        }
    }
done:
    esi_buf_free(&b);
    if (rc != ES_OK)
        esi_manifest_free(out);
    return rc;
}

void esi_manifest_free(esi_manifest *m)
{
    esi_free(m->segs);
    m->segs = NULL;
    m->nsegs = 0;
}

/* ---- deletion files ----------------------------------------------------- */

void esi_del_filename(char *out, size_t n, uint64_t id, uint64_t gen)
{
    snprintf(out, n, "seg_%06" PRIu64 "_%" PRIu64 ".del", id, gen);
}

es_status esi_del_write(const char *dir, uint64_t id, uint64_t gen,
                        const uint8_t *bits, uint32_t ndocs, uint32_t ndel,
                        bool sync, esi_err *e)
{
    char name[64];
    esi_del_filename(name, sizeof name, id, gen);
    es_status rc = ES_OK;
    esi_buf b = { 0 };
    esi_file_begin(&rc, &b, ESI_MAGIC_DEL, 0);
    esi_buf_put_u32(&rc, &b, ndocs);
    esi_buf_put_u32(&rc, &b, ndel);
    esi_buf_put(&rc, &b, bits, ((size_t)ndocs + 7) / 8);
    esi_file_finish(&rc, &b);
    char *path = rc == ES_OK ? esi_path_join(dir, name) : NULL;
    if (!path)
        rc = esi_err_set(e, ES_ENOMEM, "out of memory writing %s", name);
    else
        rc = esi_io_write_file(path, b.data, b.len, sync, e);
    esi_free(path);
    esi_buf_free(&b);
    return rc;
}

/* Number of bits set in n bytes. */
static uint32_t popcount(const uint8_t *p, size_t n)
{
    uint32_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += (uint32_t)__builtin_popcount(p[i]);
    return c;
}

es_status esi_del_read(const char *dir, uint64_t id, uint64_t gen,
                       uint32_t ndocs, uint32_t ndel, uint8_t **bits,
                       esi_err *e)
{
    *bits = NULL;
    char name[64];
    esi_del_filename(name, sizeof name, id, gen);
    esi_buf b = { 0 };
    esi_rd r;
    /* ES_ENOTFOUND: the snapshot retries or reports it */
    es_status rc = read_small(dir, name, ESI_MAGIC_DEL, &b, &r, NULL, e);
    if (rc != ES_OK)
        goto done;
    uint32_t nd, nx;
    size_t nbytes = ((size_t)ndocs + 7) / 8;
    const uint8_t *p;
    if (!esi_rd_u32(&r, &nd) || !esi_rd_u32(&r, &nx) || nd != ndocs ||
        nx != ndel || !esi_rd_take(&r, nbytes, &p) || esi_rd_left(&r) != 0 ||
        popcount(p, nbytes) != ndel ||
        ((ndocs & 7) && (p[nbytes - 1] >> (ndocs & 7)))) {
        rc = esi_err_set(e, ES_ECORRUPT, "%s: deletion bitset does not match "
                         "its manifest; run 'edusearch check'", name);
        goto done;
    }
    *bits = esi_malloc(nbytes ? nbytes : 1);
    if (!*bits) {
        rc = esi_err_set(e, ES_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(*bits, p, nbytes);
done:
    esi_buf_free(&b);
    return rc;
}

/* ---- snapshots ---------------------------------------------------------- */

typedef struct snap_priv {
    uint64_t manifest_bytes, del_bytes;
    esi_file_id manifest;      /* the MANIFEST file the snapshot was read from */
} snap_priv;

void esi_snapshot_free(esi_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nsegs; i++) {
        if (s->segs)
            esi_segment_free(s->segs[i]);
        if (s->deleted)
            esi_free((void *)s->deleted[i]);
    }
    esi_free(s->segs);
    esi_free((void *)s->deleted);
    esi_free(s->del_count);
    esi_free(s->priv);
    esi_free(s);
}

/* The segment of prev (NULL: none) with this id whose files are still
 * the ones it mapped, or NULL. prev's segments are sorted by id. */
static esi_segment *kept_segment(const esi_snapshot *prev, const char *dir, uint64_t id)
{
    size_t lo = 0, hi = prev ? prev->nsegs : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (prev->segs[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == (prev ? prev->nsegs : 0) || prev->segs[lo]->id != id ||
        !esi_segment_unchanged(prev->segs[lo], dir))
        return NULL;
    return prev->segs[lo];
}

/* Open generation gen of dir, sharing the segments of prev (may be NULL)
 * it keeps; ES_ENOTFOUND if one of its files vanished. */
static es_status open_gen(esi_snapshot **out, const char *dir, uint64_t gen,
                          bool verify_crc, const esi_snapshot *prev, esi_err *e)
{
    esi_manifest m;
    es_status rc = esi_manifest_read(dir, gen, &m, e);
    if (rc != ES_OK)
        return rc;
    esi_snapshot *s = esi_calloc(1, sizeof *s);
    snap_priv *pv = esi_calloc(1, sizeof *pv);
    if (!s || !pv) {
        esi_free(s);
        esi_free(pv);
        esi_manifest_free(&m);
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    }
    s->priv = pv;
    s->generation = gen;
    size_t n = m.nsegs ? m.nsegs : 1;
    s->segs = esi_calloc(n, sizeof *s->segs);
    s->deleted = (const uint8_t **)esi_calloc(n, sizeof *s->deleted);
    s->del_count = esi_calloc(n, sizeof *s->del_count);
    if (!s->segs || !s->deleted || !s->del_count) {
        rc = esi_err_set(e, ES_ENOMEM, "out of memory");
        goto done;
    }
    double dl = 0;
    for (size_t i = 0; i < m.nsegs; i++) {
        const esi_manifest_seg *ms = &m.segs[i];
        esi_segment *kept = verify_crc ? NULL : kept_segment(prev, dir, ms->id);
        if (kept)
            s->segs[i] = esi_segment_share(kept);
        else if ((rc = esi_segment_open(&s->segs[i], dir, ms->id, verify_crc, e)) != ES_OK)
            goto done;
        s->nsegs = i + 1;
        esi_segment *seg = s->segs[i];
        if (seg->ndocs != ms->ndocs || memcmp(seg->sizes, ms->sizes, sizeof ms->sizes)) {
            rc = esi_err_set(e, ES_ECORRUPT, "%s: files disagree with "
                             "MANIFEST-%" PRIu64 " (truncated or replaced?); "
                             "run 'edusearch check'", seg->name, gen);
            goto done;
        }
        dl += (double)seg->doclen_sum;
        if (ms->del_gen) {
            uint8_t *bits;
            rc = esi_del_read(dir, ms->id, ms->del_gen, ms->ndocs, ms->ndel,
                              &bits, e);
            if (rc != ES_OK)
                goto done;
            s->deleted[i] = bits;
            s->del_count[i] = ms->ndel;
            pv->del_bytes += ES_FILE_HEADER_LEN + ES_FILE_FOOTER_LEN + 8 +
                             ((uint64_t)ms->ndocs + 7) / 8;
            for (uint32_t d = 0; d < ms->ndocs; d++)
                if ((bits[d >> 3] >> (d & 7)) & 1)
                    dl -= esi_segment_doclen(seg, d);
        }
        s->live_docs += ms->ndocs - ms->ndel;
    }
    s->nsegs = m.nsegs;
    s->avg_doclen = s->live_docs ? dl / (double)s->live_docs : 0;
    pv->manifest_bytes = ES_FILE_HEADER_LEN + ES_FILE_FOOTER_LEN + 20 +
                         (uint64_t)m.nsegs * SEG_REC;
    pv->manifest = m.file;
done:
    esi_manifest_free(&m);
    if (rc != ES_OK) {
        esi_snapshot_free(s);
        return rc;
    }
    *out = s;
    return ES_OK;
}

es_status esi_snapshot_open(esi_snapshot **out, const char *dir,
                            bool verify_crc, esi_err *e)
{
    return esi_snapshot_reopen(out, NULL, dir, verify_crc, e);
}

es_status esi_snapshot_reopen(esi_snapshot **out, const esi_snapshot *prev,
                              const char *dir, bool verify_crc, esi_err *e)
{
    *out = NULL;
    uint64_t gen, again;
    es_status rc = esi_manifest_newest(dir, &gen, e);
    for (int tries = 0; rc == ES_OK; tries++) {
        if (gen == 0)
            return esi_err_set(e, ES_ENOTFOUND, "%s: no index here (no "
                               "MANIFEST file); create one first", dir);
        rc = open_gen(out, dir, gen, verify_crc, prev, e);
        if (rc != ES_ENOTFOUND)
            return rc;
        /* a writer may have replaced the generation under us */
        esi_err e2;
        if (tries >= 100 || esi_manifest_newest(dir, &again, &e2) != ES_OK ||
            again == gen) {
            char why[sizeof e2.msg];
            snprintf(why, sizeof why, "%s", e ? e->msg : "file missing");
            return esi_err_set(e, ES_ECORRUPT, "%s (needed by MANIFEST-%" PRIu64
                               "); run 'edusearch check'", why, gen);
        }
        gen = again;
        rc = ES_OK;
    }
    return rc;
}

es_status esi_snapshot_current(const esi_snapshot *s, const char *dir, bool *current,
                               esi_err *e)
{
    uint64_t gen;
    *current = false;
    es_status rc = esi_manifest_newest(dir, &gen, e);
    if (rc != ES_OK || gen != s->generation)
        return rc;
    char name[64];
    snprintf(name, sizeof name, "MANIFEST-%" PRIu64, gen);
    char *path = esi_path_join(dir, name);
    if (!path)
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    esi_file_id id;
    rc = esi_io_file_id(path, &id, e);
    esi_free(path);
    if (rc == ES_ENOTFOUND)          /* replaced under us: not current */
        return ES_OK;
    if (rc == ES_OK)
        *current = esi_file_id_same(&id, &((const snap_priv *)s->priv)->manifest);
    return rc;
}

es_status esi_snapshot_stats(const esi_snapshot *s, esi_storage_stats *out,
                             esi_err *e)
{
    (void)e;
    memset(out, 0, sizeof *out);
    const snap_priv *pv = s->priv;
    out->bytes_manifest = pv->manifest_bytes;
    out->bytes_deletes = pv->del_bytes;
    for (size_t i = 0; i < s->nsegs; i++) {
        const esi_segment *g = s->segs[i];
        out->bytes_dict += g->sizes[0];
        out->bytes_postings += g->sizes[1];
        out->bytes_store += g->sizes[2];
        out->terms += g->nterms;
        out->text_bytes += g->text_bytes;
        out->deleted += s->del_count[i];
    }
    return ES_OK;
}

es_status esi_storage_check(const char *dir, esi_err *e)
{
    esi_snapshot *s;
    es_status rc = esi_snapshot_open(&s, dir, true, e);
    if (rc != ES_OK)
        return rc;
    for (size_t i = 0; i < s->nsegs && rc == ES_OK; i++)
        rc = esi_segment_check(s->segs[i], e);
    esi_snapshot_free(s);
    return rc;
}
