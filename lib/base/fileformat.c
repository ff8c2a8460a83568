/*
 * fileformat.c: writes and checks the header/footer frame shared by every
 * index file (fileformat.h, docs/FORMAT.md §1). A file that fails here is
 * reported as ES_ECORRUPT or ES_EFORMAT with its name, never read further.
 */
#include "fileformat.h"

#include <zlib.h>

static const uint8_t end_magic[4] = { 'E', 'S', 'N', 'D' };

uint32_t esi_crc32(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *s = p;
    while (n > 0) {   /* zlib takes uInt lengths */
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, s, chunk);
        s += chunk;
        n -= chunk;
    }
    return crc;
}

void esi_file_begin(es_status *rc, esi_buf *b, const char magic[8], uint32_t flags)
{
    esi_buf_put(rc, b, magic, 8);
    esi_buf_put_u16(rc, b, ES_FORMAT_MAJOR);
    esi_buf_put_u16(rc, b, ES_FORMAT_MINOR);
    esi_buf_put_u32(rc, b, flags);
}

void esi_file_finish(es_status *rc, esi_buf *b)
{
    if (*rc != ES_OK)
        return;
    if (b->len < ES_FILE_HEADER_LEN) {
        *rc = ES_EINVAL;
        return;
    }
    esi_buf_put_u64(rc, b, b->len - ES_FILE_HEADER_LEN);
    if (*rc != ES_OK)
        return;
    uint32_t crc = esi_crc32(0, b->data, b->len);
    esi_buf_put_u32(rc, b, crc);
    esi_buf_put(rc, b, end_magic, 4);
}

es_status esi_file_open(const uint8_t *data, size_t len, const char magic[8],
                        const char *name, bool verify_crc, esi_rd *payload,
                        uint32_t *flags, esi_err *e)
{
    if (len < ES_FILE_HEADER_LEN + ES_FILE_FOOTER_LEN)
        return esi_err_set(e, ES_ECORRUPT,
                           "%s: truncated (%zu bytes, smaller than a header and "
                           "footer); run 'edusearch check'", name, len);
    if (memcmp(data, magic, 8) != 0)
        return esi_err_set(e, ES_ECORRUPT,
                           "%s: bad magic, not a %.7s file; run 'edusearch check'",
                           name, magic);
    uint16_t major = esi_le16_read(data + 8);
    uint16_t minor = esi_le16_read(data + 10);
    if (major != ES_FORMAT_MAJOR)
        return esi_err_set(e, ES_EFORMAT,
                           "%s: index format %u.%u, this libedusearch reads "
                           "format %u.x; rebuild the index or use a matching "
                           "version", name, major, minor, ES_FORMAT_MAJOR);
    const uint8_t *foot = data + len - ES_FILE_FOOTER_LEN;
    if (memcmp(foot + 12, end_magic, 4) != 0)
        return esi_err_set(e, ES_ECORRUPT,
                           "%s: footer missing (file truncated?); run "
                           "'edusearch check'", name);
    uint64_t plen = esi_le64_read(foot);
    if (plen != (uint64_t)(len - ES_FILE_HEADER_LEN - ES_FILE_FOOTER_LEN))
        return esi_err_set(e, ES_ECORRUPT,
                           "%s: length mismatch (footer says %llu payload "
                           "bytes, file has %zu); run 'edusearch check'",
                           name, (unsigned long long)plen,
                           len - ES_FILE_HEADER_LEN - ES_FILE_FOOTER_LEN);
    if (verify_crc) {
        uint32_t want = esi_le32_read(foot + 8);
        uint32_t got = esi_crc32(0, data, len - 8);
        if (want != got)
            return esi_err_set(e, ES_ECORRUPT,
                               "%s: crc32 mismatch (stored %08x, computed "
                               "%08x); the file is damaged, run 'edusearch "
                               "check'", name, want, got);
    }
    if (flags)
        *flags = esi_le32_read(data + 12);
    *payload = esi_rd_make(data + ES_FILE_HEADER_LEN, (size_t)plen);
    return ES_OK;
}
