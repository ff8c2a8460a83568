/*
 * fileformat.h: the frame every index file has (docs/FORMAT.md §1):
 *
 *   header (16 bytes):  magic[8]  u16 major  u16 minor  u32 flags
 *   payload            (kind-specific)
 *   footer (16 bytes):  u64 payload_len  u32 crc32  u32 end magic "ESND"
 *
 * crc32 (zlib) covers every byte before it: header, payload and payload_len.
 * Readers accept major == ES_FORMAT_MAJOR and any minor.
 */
#ifndef ES_FILEFORMAT_H
#define ES_FILEFORMAT_H

#include "base.h"

/* Format changelog (newest first):
 *   3.0  2026-12-06  a .post positions section of more than one run starts
 *                    with a run table, and a term in more than 512 docs
 *                    ends with a skip table (docs/FORMAT.md §4), so a doc's
 *                    positions and a far doc are found without stepping
 *                    over every run or block before them; 2.x readers would
 *                    misread them, 3.0 readers refuse 2.x indexes (rebuild).
 *   2.1  2026-11-24  .dict restart points every 16 entries (flag bit 0,
 *                    docs/FORMAT.md §3); 2.0 readers read 2.1 files and
 *                    2.1 readers read 2.0 dictionaries.
 *   2.0  2026-11-24  postings in packed runs (PFOR or varint per run of 128,
 *                    docs/FORMAT.md §4); 1.x readers would misread them.
 *   1.0  2026-11-24  first format: manifest, dict, postings, store, deletes. */
#define ES_FORMAT_MAJOR 3
#define ES_FORMAT_MINOR 0

#define ES_FILE_HEADER_LEN 16
#define ES_FILE_FOOTER_LEN 16

/* Start a file in b: write the header for `magic` (exactly 8 bytes). */
void esi_file_begin(es_status *rc, esi_buf *b, const char magic[8], uint32_t flags);
/* Append the footer (payload length and crc32). */
void esi_file_finish(es_status *rc, esi_buf *b);

/* Check the frame of a file image: magic, version, length, end magic, and the
 * crc32 too when verify_crc. On success *payload spans the payload.
 * `name` is used in messages ("seg_000001.dict: bad magic; ..."). */
es_status esi_file_open(const uint8_t *data, size_t len, const char magic[8],
                        const char *name, bool verify_crc, esi_rd *payload,
                        uint32_t *flags, esi_err *e);

/* crc32 of a byte range (zlib). */
uint32_t esi_crc32(uint32_t crc, const void *p, size_t n);

#endif /* ES_FILEFORMAT_H */
