/*
 * buf.c: growable byte buffers with sticky-rc appends, little-endian and
 * varint encoders, and the bounds-checked (p, end) readers that decode them.
 * Every on-disk structure is written and read through these functions.
 */
#include "base.h"

void esi_buf_reserve(es_status *rc, esi_buf *b, size_t extra)
{
    if (*rc != ES_OK)
        return;
    size_t need;
    if (__builtin_add_overflow(b->len, extra, &need) || need > SIZE_MAX / 2) {
        *rc = ES_ELIMIT;
        return;
    }
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    uint8_t *p = esi_realloc(b->data, cap);
    if (!p) {
        *rc = ES_ENOMEM;
        return;
    }
    b->data = p;
    b->cap = cap;
}

void esi_buf_put(es_status *rc, esi_buf *b, const void *p, size_t n)
{
    esi_buf_reserve(rc, b, n);
    if (*rc != ES_OK || n == 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void esi_buf_put_u8(es_status *rc, esi_buf *b, uint8_t v)
{
    esi_buf_put(rc, b, &v, 1);
}

void esi_buf_put_u16(es_status *rc, esi_buf *b, uint16_t v)
{
    uint8_t t[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    esi_buf_put(rc, b, t, 2);
}

void esi_buf_put_u32(es_status *rc, esi_buf *b, uint32_t v)
{
    uint8_t t[4];
    esi_le32_write(t, v);
    esi_buf_put(rc, b, t, 4);
}

void esi_buf_put_u64(es_status *rc, esi_buf *b, uint64_t v)
{
    uint8_t t[8];
    esi_le64_write(t, v);
    esi_buf_put(rc, b, t, 8);
}

void esi_buf_put_varint(es_status *rc, esi_buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    esi_buf_put(rc, b, t, n);
}

void esi_buf_put_bytes(es_status *rc, esi_buf *b, const void *p, size_t n)
{
    esi_buf_put_varint(rc, b, n);
    esi_buf_put(rc, b, p, n);
}

void esi_buf_terminate(es_status *rc, esi_buf *b)
{
    esi_buf_reserve(rc, b, 1);
    if (*rc == ES_OK)
        b->data[b->len] = 0;
}

void esi_buf_reset(esi_buf *b)
{
    b->len = 0;
}

void esi_buf_free(esi_buf *b)
{
    esi_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

size_t esi_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void esi_le32_write(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void esi_le64_write(uint8_t *p, uint64_t v)
{
    esi_le32_write(p, (uint32_t)v);
    esi_le32_write(p + 4, (uint32_t)(v >> 32));
}

uint16_t esi_le16_read(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

uint32_t esi_le32_read(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

uint64_t esi_le64_read(const uint8_t *p)
{
    return (uint64_t)esi_le32_read(p) | ((uint64_t)esi_le32_read(p + 4) << 32);
}

bool esi_rd_take(esi_rd *r, size_t n, const uint8_t **out)
{
    if (esi_rd_left(r) < n)
        return false;
    *out = r->p;
    r->p += n;
    return true;
}

bool esi_rd_u8(esi_rd *r, uint8_t *out)
{
    if (r->p >= r->end)
        return false;
    *out = *r->p++;
    return true;
}

bool esi_rd_u16(esi_rd *r, uint16_t *out)
{
    const uint8_t *p;
    if (!esi_rd_take(r, 2, &p))
        return false;
    *out = esi_le16_read(p);
    return true;
}

bool esi_rd_u32(esi_rd *r, uint32_t *out)
{
    const uint8_t *p;
    if (!esi_rd_take(r, 4, &p))
        return false;
    *out = esi_le32_read(p);
    return true;
}

bool esi_rd_u64(esi_rd *r, uint64_t *out)
{
    const uint8_t *p;
    if (!esi_rd_take(r, 8, &p))
        return false;
    *out = esi_le64_read(p);
    return true;
}

bool esi_rd_varint_long(esi_rd *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            return false;
        uint8_t c = *r->p++;
        if (shift == 63 && c > 1)
            return false;               /* would overflow 64 bits */
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

bool esi_rd_varint32(esi_rd *r, uint32_t *out)
{
    uint64_t v;
    if (!esi_rd_varint(r, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool esi_rd_bytes(esi_rd *r, const uint8_t **out, size_t *n)
{
    uint64_t len;
    if (!esi_rd_varint(r, &len) || len > esi_rd_left(r))
        return false;
    *n = (size_t)len;
    return esi_rd_take(r, (size_t)len, out);
}
