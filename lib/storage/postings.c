/*
 * postings.c: the .post codec (docs/FORMAT.md §4). A term's postings are
 * blocks of up to 128 docs; each block starts with a small header (last
 * docno, doc count when the block is short and not the last, byte lengths of
 * its doc/freq section and of its positions section, max tf), so a cursor
 * can jump over a block by reading its header varints, and can read docs
 * and freqs without touching positions. A full block codes its doc deltas
 * and its freqs as two packed runs; a short block codes them as varints
 * (freq == 1 folded into the doc delta's low bit). Positions, delta-coded
 * per doc, form one stream per block cut into packed runs of 128 values,
 * preceded by a run table (the byte offset of every run after the first)
 * when there is more than one run.
 * A packed run is patched frame-of-reference: one width for all values,
 * the few larger ones as exceptions, or plain varints when that is smaller.
 * Terms stored without positions (all their occurrences were ESI_POS_NONE)
 * have no positions sections and no pos_bytes field in their block headers.
 *
 * A term in more than ESI_POST_SKIP_DF docs ends with a skip table (each
 * block's last docno, docs before it and offset), so advance() to a far
 * doc binary-searches it instead of reading every header on the way.
 *
 * The cursor never allocates per posting: one block of docs and freqs is
 * decoded into arrays inside the cursor, and a doc's positions into one
 * growing array. Positions are found through the run table (value j of the
 * block's stream is in run j / 128) and unpacked in windows of the run
 * that holds them: 32 values first, the rest of the run if asked again,
 * so a phrase check that stops at its first confirmed start unpacks little
 * and nothing before the doc's first value. For speed the decoders load 8 bytes
 * at a time (bit fields by one unpacker per width, varints by their stop
 * bits): a cursor lets them load up to the end of the mapped payload, and
 * near it they fall back to a padded copy or byte by byte.
 * Every value is taken from the term's byte range (a load reaching past it
 * stays inside the payload and is masked away) and every docno is checked
 * against the segment's doc count, so damaged data gives ES_ECORRUPT (sticky
 * in the cursor) and never an out-of-bounds read, here or in callers that
 * index per-doc arrays by docno.
 */
#include "storage_int.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__) && defined(__SSE2__)
#include <immintrin.h>
#define ESI_AVX2 1      /* AVX2 paths (unpack, sums), used where the CPU has it */
#endif
#include <stdatomic.h>

/* ---- packed runs -----------------------------------------------------------
 * Header byte: 0..32 = width w, no exceptions; 0x40 | w (w < 32) = width w
 * with exceptions; 0xff = n varints. */
#define RUN_EXC 0x40
#define RUN_VARINT 0xff

/* Bits needed for v (0 for 0). */
static inline unsigned bits_of(uint32_t v)
{
#if defined(__GNUC__)
    return v ? 32u - (unsigned)__builtin_clz(v) : 0u;
#else
    unsigned b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b;
#endif
}

/* Count of values per bit length, and the varint bytes they take. */
static size_t histogram(const uint32_t *v, uint32_t n, uint32_t cnt[33])
{
    memset(cnt, 0, 33 * sizeof *cnt);
    size_t vbytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        unsigned b = bits_of(v[i]);
        cnt[b]++;
        vbytes += b ? (b + 6) / 7 : 1;
    }
    return vbytes;
}

/* Bytes of a run of width w (header included) given the histogram, whose
 * largest nonzero bit length is maxb; *nexc gets the number of exceptions. */
static size_t run_cost(const uint32_t cnt[33], uint32_t n, unsigned w,
                       unsigned maxb, uint32_t *nexc)
{
    size_t c = 1 + ((size_t)n * w + 7) / 8;
    uint32_t ne = 0;
    for (unsigned b = w + 1; b <= maxb; b++) {
        if (cnt[b]) {
            ne += cnt[b];
            c += (size_t)cnt[b] * (1 + (b - w + 6) / 7);
        }
    }
    *nexc = ne;
    return ne ? c + 1 : c;
}

/* The encoder gives up a little size for decoding speed. Reading an
 * exception costs about 20 instructions and a varint about 10, against 1.5
 * for a packed field (AVX2): so the width of a run is chosen as if each of
 * its exceptions took EXC_PENALTY bytes more, and varints are written only
 * when they are at least VARINT_MARGIN(n) bytes (two bits a value) smaller
 * than the packed run. Measured on the benchmark index (stop 17): 1.0%
 * larger, 5% fewer instructions per search, p99 11% lower; varint runs had
 * been 17% of the values searches decoded. */
#define EXC_PENALTY 1
#define VARINT_MARGIN(n) ((size_t)(n) / 4)

/* The width for v[0..n) with exceptions allowed that takes the fewest
 * bytes, each exception counted pen bytes more; *cost its real bytes. */
static unsigned best_width(const uint32_t cnt[33], uint32_t n, size_t pen,
                           size_t *cost)
{
    unsigned maxb = 32;
    while (maxb > 0 && cnt[maxb] == 0)
        maxb--;
    uint32_t ne;
    unsigned bw = maxb;
    size_t best = run_cost(cnt, n, maxb, maxb, &ne), score = best;
    for (unsigned w = 0; w < maxb; w++) {
        size_t c = run_cost(cnt, n, w, maxb, &ne);
        if (c + ne * pen < score) {
            best = c;
            score = c + ne * pen;
            bw = w;
        }
    }
    *cost = best;
    return bw;
}

/* Whether v[0..n) is written as varints: vbytes of them against a packed
 * run of cost bytes (a tie, as for the shortest runs, goes to varints). */
static bool as_varints(size_t vbytes, size_t cost, uint32_t n)
{
    return 1 + vbytes + VARINT_MARGIN(n) <= cost;
}

size_t esi_run_size(const uint32_t *v, uint32_t n, esi_run_mode mode)
{
    uint32_t cnt[33], ne;
    size_t vbytes = histogram(v, n, cnt), cost;
    unsigned maxb = 32;
    while (maxb > 0 && cnt[maxb] == 0)
        maxb--;
    switch (mode) {
    case ESI_RUN_VARINT:
        return vbytes;
    case ESI_RUN_FOR:
        return run_cost(cnt, n, maxb, maxb, &ne);
    case ESI_RUN_PFOR:
        best_width(cnt, n, 0, &cost);
        return cost;
    case ESI_RUN_AUTO:
    default:
        best_width(cnt, n, EXC_PENALTY, &cost);
        return as_varints(vbytes, cost, n) ? 1 + vbytes : cost;
    }
}

/* Append the low w bits of v[0..n), least significant bit first. */
static void put_bits(es_status *rc, esi_buf *b, const uint32_t *v, uint32_t n,
                     unsigned w)
{
    size_t bytes = ((size_t)n * w + 7) / 8;
    esi_buf_reserve(rc, b, bytes);
    if (*rc != ES_OK || bytes == 0)
        return;
    uint8_t *o = b->data + b->len;
    uint64_t mask = ((uint64_t)1 << w) - 1, acc = 0;
    unsigned have = 0;
    for (uint32_t i = 0; i < n; i++) {
        acc |= ((uint64_t)v[i] & mask) << have;
        have += w;
        while (have >= 8) {
            *o++ = (uint8_t)acc;
            acc >>= 8;
            have -= 8;
        }
    }
    if (have)
        *o++ = (uint8_t)acc;
    b->len += bytes;
}

void esi_run_put(es_status *rc, esi_buf *b, const uint32_t *v, uint32_t n)
{
    if (*rc != ES_OK)
        return;
    uint32_t cnt[33], ne;
    size_t vbytes = histogram(v, n, cnt), cost;
    unsigned w = best_width(cnt, n, EXC_PENALTY, &cost);
    if (as_varints(vbytes, cost, n)) {
        esi_buf_put_u8(rc, b, RUN_VARINT);
        for (uint32_t i = 0; i < n; i++)
            esi_buf_put_varint(rc, b, v[i]);
        return;
    }
    run_cost(cnt, n, w, 32, &ne);
    esi_buf_put_u8(rc, b, (uint8_t)(ne ? (RUN_EXC | w) : w));
    put_bits(rc, b, v, n, w);
    if (ne == 0)
        return;
    esi_buf_put_u8(rc, b, (uint8_t)ne);
    for (uint32_t i = 0; i < n; i++) {
        if (bits_of(v[i]) > w) {
            esi_buf_put_u8(rc, b, (uint8_t)i);
            esi_buf_put_varint(rc, b, v[i] >> w);
        }
    }
}

/* Little-endian 64-bit load of 8 readable bytes. */
static inline uint64_t load64(const uint8_t *q)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x;
    memcpy(&x, q, 8);
    return x;
#else
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | q[i];
    return x;
#endif
}

/* Little-endian load of the 8 bytes at q, or (zero-filled) of those
 * before lim when fewer are readable. */
static inline uint64_t load64_lim(const uint8_t *q, const uint8_t *lim)
{
    if (lim - q >= 8)
        return load64(q);
    uint64_t x = 0;
    for (ptrdiff_t i = lim - q - 1; i >= 0; i--)
        x = x << 8 | q[i];
    return x;
}

/* Index of the lowest set bit of x != 0. */
static inline unsigned ctz64(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* The one varint decoder of this file: a varint of at most `bits` bits
 * (32, or 33 for a 32-bit value and a flag bit; at most 5 bytes) at *pp,
 * which must end by end (*pp <= end); bytes up to lim (>= end) may be
 * loaded, never used. With 8 bytes loadable it takes one word and finds
 * the end by the stop bits, without a branch on the length; otherwise it
 * goes byte by byte. False on overrun or a value too large. */
static inline bool get_vb(const uint8_t **pp, const uint8_t *end,
                          const uint8_t *lim, unsigned bits, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {        /* one byte: most exception highs */
        *out = *p;
        *pp = p + 1;
        return true;
    }
    if (lim - p >= 8) {
        uint64_t x = load64(p);
        uint64_t stop = ~x & UINT64_C(0x8080808080808080);
        if (!stop)
            return false;
        unsigned len = (ctz64(stop) >> 3) + 1;
        x &= stop ^ (stop - 1);        /* its bytes, the last one included */
        uint64_t v = (x & 0x7f) | (x >> 1 & 0x3f80) | (x >> 2 & 0x1fc000) |
                     (x >> 3 & 0xfe00000) | (x >> 4 & UINT64_C(0x7f0000000));
        if (len > 5 || len > (size_t)(end - p) || v >> bits)
            return false;
        *out = v;
        *pp = p + len;
        return true;
    }
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (p >= end)
            return false;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (v >> bits)
                return false;
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

/* A varint of at most 32 bits (get_vb). */
static inline bool get_v32(const uint8_t **pp, const uint8_t *end,
                           const uint8_t *lim, uint32_t *out)
{
    uint64_t v;
    if (!get_vb(pp, end, lim, 32, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

/* A varint of at most 33 bits (a 32-bit value and a flag bit). */
static inline bool get_v33(const uint8_t **pp, const uint8_t *end,
                           const uint8_t *lim, uint64_t *out)
{
    return get_vb(pp, end, lim, 33, out);
}

/* Unpackers of n fields of a fixed width W (1..32), one per width so every
 * shift and offset is a constant: 8 fields (W bytes) per step, then the
 * rest. Field i is read by an 8-byte load at byte i*W/8, so up to 7 bytes
 * after the ceil(n*W/8) packed ones are read (and masked away): callers
 * provide them (get_bits). */
#define UNP1(K) out[K] = (uint32_t)((load64(p + (K) * W / 8) >> ((K) * W % 8)) & mask)
#define UNPACK(W_)                                                            \
    static void unpack_##W_(const uint8_t *p, uint32_t n, uint32_t *out)      \
    {                                                                         \
        enum { W = W_ };                                                      \
        const uint64_t mask = ((uint64_t)1 << W) - 1;                         \
        const uint32_t *stop = out + n;                                       \
        /* a moving out pointer: an index i + K costs an add per store */     \
        for (; out + 8 <= stop; out += 8, p += W) {                           \
            UNP1(0); UNP1(1); UNP1(2); UNP1(3);                               \
            UNP1(4); UNP1(5); UNP1(6); UNP1(7);                               \
        }                                                                     \
        for (uint32_t k = 0; out < stop; out++, k++)                          \
            *out = (uint32_t)((load64(p + k * W / 8) >> (k * W % 8)) & mask); \
    }
UNPACK(1)  UNPACK(2)  UNPACK(3)  UNPACK(4)  UNPACK(5)  UNPACK(6)  UNPACK(7)
UNPACK(8)  UNPACK(9)  UNPACK(10) UNPACK(11) UNPACK(12) UNPACK(13) UNPACK(14)
UNPACK(15) UNPACK(16) UNPACK(17) UNPACK(18) UNPACK(19) UNPACK(20) UNPACK(21)
UNPACK(22) UNPACK(23) UNPACK(24) UNPACK(25) UNPACK(26) UNPACK(27) UNPACK(28)
UNPACK(29) UNPACK(30) UNPACK(31) UNPACK(32)
#undef UNPACK
#undef UNP1

typedef void (*unpack_fn)(const uint8_t *p, uint32_t n, uint32_t *out);
static const unpack_fn unpackers[33] = {
    NULL,       unpack_1,  unpack_2,  unpack_3,  unpack_4,  unpack_5,
    unpack_6,   unpack_7,  unpack_8,  unpack_9,  unpack_10, unpack_11,
    unpack_12,  unpack_13, unpack_14, unpack_15, unpack_16, unpack_17,
    unpack_18,  unpack_19, unpack_20, unpack_21, unpack_22, unpack_23,
    unpack_24,  unpack_25, unpack_26, unpack_27, unpack_28, unpack_29,
    unpack_30,  unpack_31, unpack_32,
};

/* Tests turn the AVX2 unpacker off to check the plain ones on a CPU
 * that has it (esi_post_use_avx2). */
static atomic_bool avx2_off;

void esi_post_use_avx2(bool on)
{
    atomic_store_explicit(&avx2_off, !on, memory_order_relaxed);
}

#if ESI_AVX2
/* Whether this CPU has AVX2 and the tests have not turned it off. */
static inline bool use_avx2(void)
{
    return __builtin_cpu_supports("avx2") &&
           !atomic_load_explicit(&avx2_off, memory_order_relaxed);
}

/* unpack_W for any w <= 16 with AVX2: the first 4 fields of a group of 8
 * lie in the 8 bytes at its start, the last 4 in the 8 bytes from byte
 * 4w/8 (up to 8 bits, in the first 8 too); variable 64-bit shifts put
 * each in the low half of a lane, and a blend and a permute line the
 * eight up. About 1.5 instructions a field instead of 4 (doc gaps and
 * freqs are mostly 1-7 bits, positions 8-12). Loads reach no further
 * than the plain unpackers' (7 bytes past the fields). The last fields,
 * fewer than 8, are the plain unpacker's. */
__attribute__((target("avx2"), always_inline))
static inline void unpack_avx2_groups(const uint8_t *p, uint32_t n, uint32_t *out,
                                      unsigned w, bool two)
{
    const unsigned at = two ? 4 * w / 8 : 0, s = 4 * w - 8 * at;
    const __m256i lo = _mm256_setr_epi64x(0, w, 2 * w, 3 * w);
    const __m256i hi = _mm256_setr_epi64x(s, s + w, s + 2 * w, s + 3 * w);
    const __m256i mask = _mm256_set1_epi64x((long long)(((uint64_t)1 << w) - 1));
    const __m256i order = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const uint32_t *stop = out + n;
    for (; out + 8 <= stop; out += 8, p += w) {
        __m256i v = _mm256_set1_epi64x((long long)load64(p));
        __m256i u = two ? _mm256_set1_epi64x((long long)load64(p + at)) : v;
        __m256i a = _mm256_and_si256(_mm256_srlv_epi64(v, lo), mask);
        __m256i b = _mm256_and_si256(_mm256_srlv_epi64(u, hi), mask);
        __m256i ab = _mm256_blend_epi32(a, _mm256_slli_epi64(b, 32), 0xaa);
        _mm256_storeu_si256((__m256i *)(void *)out, _mm256_permutevar8x32_epi32(ab, order));
    }
    if (out < stop)
        unpackers[w](p, (uint32_t)(stop - out), out);
}

__attribute__((target("avx2")))
static void unpack_small_avx2(const uint8_t *p, uint32_t n, uint32_t *out, unsigned w)
{
    if (w <= 8)
        unpack_avx2_groups(p, n, out, w, false);
    else
        unpack_avx2_groups(p, n, out, w, true);
}
#endif

/* n fields of w bits (1..32) from p, with up to 7 readable bytes after
 * them: the AVX2 unpacker for widths up to 16 where the CPU has it. */
static inline void unpack(const uint8_t *p, uint32_t n, unsigned w, uint32_t *out)
{
#if ESI_AVX2
    if (w <= 16 && n >= 8 && use_avx2()) {
        unpack_small_avx2(p, n, out, w);
        return;
    }
#endif
    unpackers[w](p, n, out);
}

/* Unpack n fields of w bits (1..32) from the `bytes` = ceil(n*w/8) bytes
 * at p. Straight from p when 8 more bytes are readable before lim (the
 * unpacker's loads reach up to 7 past the fields); otherwise from a
 * zero-padded copy, so nothing at or past lim is ever read. */
static inline void get_bits(const uint8_t *p, const uint8_t *lim, size_t bytes,
                            uint32_t n, unsigned w, uint32_t *out)
{
    if ((size_t)(lim - p) >= bytes + 8) {
        unpack(p, n, w, out);
        return;
    }
    uint8_t tmp[128 * 4 + 8];
    memcpy(tmp, p, bytes);
    memset(tmp + bytes, 0, 8);
    unpack(tmp, n, w, out);
}

/* Set bits of a mask holding only bytes' top bits (0x80 per byte): one
 * multiply sums the bytes (without -mpopcnt, __builtin_popcountll is a
 * call into libgcc). */
static inline unsigned count_top_bits(uint64_t m)
{
    return (unsigned)(((m >> 7) * UINT64_C(0x0101010101010101)) >> 56);
}

/* Index of the highest set bit of x != 0. */
static inline unsigned msb64(uint64_t x)
{
#if defined(__GNUC__)
    return 63u - (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    while (x >>= 1)
        n++;
    return n;
#endif
}

/* Step over n varints at *pp (< end) with get_v32's checks (at most 5
 * bytes, the fifth below 0x10) without building their values: 8 bytes at
 * a time while the n-th varint ends beyond them and no 4 continuation
 * bytes follow each other (so no varint there reaches 5 bytes); byte by
 * byte, with the exact checks, otherwise. Bytes up to lim may be loaded. */
static bool skip_varints(const uint8_t **pp, const uint8_t *end,
                         const uint8_t *lim, uint32_t n)
{
    const uint8_t *p = *pp;
    unsigned cont = 0;   /* continuation bytes of the varint in progress */
    const uint64_t hi = UINT64_C(0x8080808080808080);
    while (n > 8 && lim - p >= 8 && end - p >= 8) {
        uint64_t x = load64(p), stop = ~x & hi, cm = x & hi;
        if (!stop || (cm & cm >> 8 & cm >> 16 & cm >> 24) ||
            cont + (ctz64(stop) >> 3) >= 4)
            break;
        unsigned c = count_top_bits(stop);
        if (c >= n)
            break;
        n -= c;
        cont = 7 - (msb64(stop) >> 3);
        p += 8;
    }
    while (n > 0) {
        if (p >= end)
            return false;
        uint8_t b = *p++;
        if (b & 0x80) {
            if (++cont == 5)
                return false;
        } else {
            if (cont == 4 && b >= 0x10)
                return false;
            cont = 0;
            n--;
        }
    }
    *pp = p;
    return true;
}

/* One entry of a patched run's exception list at *pp, which must end by
 * end (bytes up to lim may be loaded): its index (above *prev, below n)
 * into *idx and *prev, its high part (not 0, fitting 32 bits above the low
 * w) into *hi; false if malformed. */
static inline bool get_exception(const uint8_t **pp, const uint8_t *end,
                                 const uint8_t *lim, uint32_t n, unsigned w,
                                 int *prev, uint32_t *idx, uint32_t *hi)
{
    const uint8_t *p = *pp;
    if (p >= end || (int)*p <= *prev || *p >= n)
        return false;
    uint32_t i = *p++;
    if (!get_v32(&p, end, lim, hi) || *hi == 0 || *hi > (UINT32_MAX >> w))
        return false;
    *prev = (int)i;
    *idx = i;
    *pp = p;
    return true;
}

/* The entry count that opens an exception list (1..n); false if bad. */
static inline bool get_exception_count(const uint8_t **pp, const uint8_t *end,
                                       uint32_t n, uint32_t *count)
{
    if (*pp >= end || **pp == 0 || **pp > n)
        return false;
    *count = *(*pp)++;
    return true;
}

/* esi_run_get with lim >= end: bytes in [end, lim) are readable (the rest
 * of the mapped payload) and may be loaded, never used. */
static inline bool run_get(const uint8_t **pp, const uint8_t *end,
                           const uint8_t *lim, uint32_t n, uint32_t *out)
{
    const uint8_t *p = *pp;
    if (p >= end || n == 0 || n > 128)
        return false;
    uint8_t h = *p++;
    if (h == RUN_VARINT) {
        if (!out) {
            if (!skip_varints(&p, end, lim, n))
                return false;
        } else {
            for (uint32_t i = 0; i < n; i++)
                if (!get_v32(&p, end, lim, &out[i]))
                    return false;
        }
        *pp = p;
        return true;
    }
    unsigned w = h & ~(unsigned)RUN_EXC;
    bool exc = (h & RUN_EXC) != 0;
    if (w > 32 || (exc && w == 32))
        return false;
    size_t bytes = ((size_t)n * w + 7) / 8;
    if ((size_t)(end - p) < bytes)
        return false;
    if (out && w == 0)
        memset(out, 0, n * sizeof *out);
    else if (out)
        get_bits(p, lim, bytes, n, w, out);
    p += bytes;
    uint32_t ne = 0;
    if (exc && !get_exception_count(&p, end, n, &ne))
        return false;
    for (int prev = -1; ne > 0; ne--) {
        uint32_t i, hi;
        if (!get_exception(&p, end, lim, n, w, &prev, &i, &hi))
            return false;
        if (out)
            out[i] |= hi << w;
    }
    *pp = p;
    return true;
}

bool esi_run_get(const uint8_t **pp, const uint8_t *end, uint32_t n,
                 uint32_t *out)
{
    return run_get(pp, end, end, n, out);
}

bool esi_run_get_lim(const uint8_t **pp, const uint8_t *end,
                     const uint8_t *lim, uint32_t n, uint32_t *out)
{
    return lim >= end && run_get(pp, end, lim, n, out);
}

es_status esi_post_check_header(const uint8_t *file, size_t len,
                                const char *name, esi_err *e)
{
    uint32_t flags = len >= ES_FILE_HEADER_LEN ? esi_le32_read(file + 12) : 0;
    if (flags & ESI_POST_FLAG_RUNS)
        return ES_OK;
    return esi_err_set(e, ES_EFORMAT,
                       "%s: postings in an older format (flags %08x, this "
                       "libedusearch needs packed runs, flag %08x); rebuild "
                       "the index", name, flags, ESI_POST_FLAG_RUNS);
}

/* ---- encoder ------------------------------------------------------------ */

void esi_postenc_begin(esi_postenc *pe, esi_sink *out, bool positions)
{
    pe->out = out;
    esi_buf_reset(&pe->docsec);
    esi_buf_reset(&pe->possec);
    pe->n = 0;
    pe->base = 0;
    pe->prev = 0;
    pe->blk_max_tf = 0;
    pe->copied = false;
    pe->run_n = 0;
    pe->nroff = 0;
    pe->nsk = 0;
    memset(&pe->ti, 0, sizeof pe->ti);
    pe->ti.post_off = esi_sink_off(out);
    pe->ti.positions = positions;
}

/* Append the pending run of position deltas to the block's positions
 * section, noting where it starts for the run table (FORMAT.md §4). */
static void put_pos_run(es_status *rc, esi_postenc *pe)
{
    if (*rc != ES_OK)
        return;
    if (pe->possec.len > 0) {
        if (pe->possec.len > UINT32_MAX) {
            *rc = ES_ELIMIT;
            return;
        }
        if (!esi_grow((void **)&pe->roff, &pe->roff_cap, pe->nroff + 1,
                      sizeof *pe->roff)) {
            *rc = ES_ENOMEM;
            return;
        }
        pe->roff[pe->nroff++] = (uint32_t)pe->possec.len;
    }
    esi_run_put(rc, &pe->possec, pe->run, pe->run_n);
    pe->run_n = 0;
}

/* Write the pending block (header, docs, positions) to the output; a term
 * without positions has no pos_bytes field and no positions section. A
 * short block that is not the term's last states its doc count. */
static void flush_block(es_status *rc, esi_postenc *pe, bool last_of_term)
{
    if (pe->n == 0 || *rc != ES_OK)
        return;
    uint32_t n = pe->n;
    if (pe->ti.positions && pe->run_n > 0)
        put_pos_run(rc, pe);
    /* doc deltas and freqs - 1 as two packed runs, or folded varints,
     * whichever is smaller */
    esi_buf *d = &pe->docsec;
    uint32_t dv[ESI_POST_BLOCK], fv[ESI_POST_BLOCK];
    size_t folded = 0;
    for (uint32_t i = 0; i < n; i++) {
        dv[i] = i == 0 ? pe->docs[0] - pe->base : pe->docs[i] - pe->docs[i - 1] - 1;
        fv[i] = pe->freqs[i] - 1;
        folded += esi_varint_len(((uint64_t)dv[i] << 1) | (fv[i] == 0)) +
                  (fv[i] ? esi_varint_len(pe->freqs[i]) : 0);
    }
    bool packed = n > 2 && esi_run_size(dv, n, ESI_RUN_AUTO) +
                           esi_run_size(fv, n, ESI_RUN_AUTO) < folded;
    if (packed) {
        esi_run_put(rc, d, dv, n);
        esi_run_put(rc, d, fv, n);
    } else {
        for (uint32_t i = 0; i < n; i++) {
            esi_buf_put_varint(rc, d, ((uint64_t)dv[i] << 1) | (fv[i] == 0));
            if (fv[i])
                esi_buf_put_varint(rc, d, pe->freqs[i]);
        }
    }
    bool explicit_n = n < ESI_POST_BLOCK && !last_of_term;
    esi_buf *o = &pe->out->b;
    uint64_t at = esi_sink_off(pe->out) - pe->ti.post_off;
    size_t need = pe->nsk + 1;
    bool room = esi_grow((void **)&pe->sk_last, &pe->sk_cap[0], need, sizeof *pe->sk_last) &&
                esi_grow((void **)&pe->sk_cum, &pe->sk_cap[1], need, sizeof *pe->sk_cum) &&
                esi_grow((void **)&pe->sk_off, &pe->sk_cap[2], need, sizeof *pe->sk_off);
    if (!room || at > UINT32_MAX) {
        *rc = room ? ES_ELIMIT : ES_ENOMEM;
        return;
    }
    pe->sk_last[pe->nsk] = pe->prev;
    pe->sk_cum[pe->nsk] = pe->ti.df - n;
    pe->sk_off[pe->nsk++] = (uint32_t)at;
    esi_buf_put_varint(rc, o, ((uint64_t)(pe->prev - pe->base) << 1) | explicit_n);
    if (explicit_n)
        esi_buf_put_varint(rc, o, n);
    /* the run table: width, then the offsets of runs 1.. from the first
     * (a copied section has its own) */
    unsigned tw = pe->nroff > 0 && !pe->copied ? bits_of(pe->roff[pe->nroff - 1]) : 0;
    size_t tab = tw ? 1 + ((size_t)pe->nroff * tw + 7) / 8 : 0;
    if (pe->possec.len + tab > UINT32_MAX) {
        *rc = ES_ELIMIT;
        return;
    }
    esi_buf_put_varint(rc, o, ((uint64_t)d->len << 1) | packed);
    if (pe->ti.positions)
        esi_buf_put_varint(rc, o, tab + pe->possec.len);
    esi_buf_put_varint(rc, o, pe->blk_max_tf);
    esi_buf_put(rc, o, d->data, d->len);
    if (tw) {
        esi_buf_put_u8(rc, o, (uint8_t)tw);
        put_bits(rc, o, pe->roff, (uint32_t)pe->nroff, tw);
    }
    if (pe->ti.positions)
        esi_buf_put(rc, o, pe->possec.data, pe->possec.len);
    esi_buf_reset(&pe->docsec);
    esi_buf_reset(&pe->possec);
    pe->nroff = 0;
    pe->base = pe->prev + 1;
    pe->n = 0;
    pe->blk_max_tf = 0;
    pe->copied = false;
}

/* Account one doc of the pending block; false (ES_EINVAL) if out of order. */
static bool take_doc(es_status *rc, esi_postenc *pe, uint32_t docno, uint32_t n)
{
    if (n == 0 || (pe->ti.df > 0 && docno <= pe->prev) || docno < pe->base ||
        docno == UINT32_MAX) {
        *rc = ES_EINVAL;
        return false;
    }
    pe->docs[pe->n] = docno;
    pe->freqs[pe->n] = n;
    pe->prev = docno;
    pe->n++;
    pe->ti.df++;
    pe->ti.cf += n;
    if (n > pe->blk_max_tf)
        pe->blk_max_tf = n;
    if (n > pe->ti.max_tf)
        pe->ti.max_tf = n;
    return true;
}

void esi_postenc_add(es_status *rc, esi_postenc *pe, uint32_t docno,
                     const uint32_t *pos, uint32_t n)
{
    if (*rc != ES_OK)
        return;
    if (pe->copied)
        flush_block(rc, pe, false);
    uint32_t last = 0;
    for (uint32_t i = 0; pe->ti.positions && i < n; i++) {
        if (pos[i] < last || pos[i] == ESI_POS_NONE) {
            *rc = ES_EINVAL;
            return;
        }
        last = pos[i];
    }
    if (!take_doc(rc, pe, docno, n))
        return;
    last = 0;
    for (uint32_t i = 0; pe->ti.positions && i < n; i++) {
        pe->run[pe->run_n++] = pos[i] - last;
        last = pos[i];
        if (pe->run_n == ESI_POST_BLOCK)
            put_pos_run(rc, pe);
    }
    if (pe->n == ESI_POST_BLOCK)
        flush_block(rc, pe, false);
}

void esi_postenc_copy_block(es_status *rc, esi_postenc *pe,
                            const uint32_t *docs, const uint32_t *freqs,
                            uint32_t n, const uint8_t *pos, size_t pos_len)
{
    if (*rc != ES_OK)
        return;
    if (n == 0 || n > ESI_POST_BLOCK) {
        *rc = ES_EINVAL;
        return;
    }
    flush_block(rc, pe, false);
    for (uint32_t i = 0; i < n && *rc == ES_OK; i++)
        take_doc(rc, pe, docs[i], freqs[i]);
    if (pe->ti.positions)
        esi_buf_put(rc, &pe->possec, pos, pos_len);
    pe->copied = true;
    if (pe->n == ESI_POST_BLOCK)
        flush_block(rc, pe, false);
}

/* Append the term's skip table (FORMAT.md §4): its block count, then the
 * blocks' last docnos, the docs before each and their offsets in the
 * term, each as a width byte and packed fields; then its length. */
static void put_skip_table(es_status *rc, esi_postenc *pe)
{
    esi_buf *o = &pe->out->b;
    size_t start = o->len;
    const uint32_t *col[3] = { pe->sk_last, pe->sk_cum, pe->sk_off };
    esi_buf_put_varint(rc, o, pe->nsk);
    for (int k = 0; k < 3; k++) {
        unsigned w = bits_of(col[k][pe->nsk - 1]);   /* each column grows */
        esi_buf_put_u8(rc, o, (uint8_t)w);
        put_bits(rc, o, col[k], (uint32_t)pe->nsk, w);
    }
    if (*rc == ES_OK && o->len - start > UINT32_MAX)
        *rc = ES_ELIMIT;
    esi_buf_put_u32(rc, o, (uint32_t)(o->len - start));
}

void esi_postenc_finish(es_status *rc, esi_postenc *pe, esi_term_info *out)
{
    flush_block(rc, pe, true);
    if (*rc == ES_OK && pe->ti.df > ESI_POST_SKIP_DF)
        put_skip_table(rc, pe);
    pe->ti.post_len = esi_sink_off(pe->out) - pe->ti.post_off;
    *out = pe->ti;
    esi_sink_drain(rc, pe->out);
}

void esi_postenc_free(esi_postenc *pe)
{
    esi_buf_free(&pe->docsec);
    esi_buf_free(&pe->possec);
    esi_free(pe->roff);
    pe->roff = NULL;
    pe->roff_cap = pe->nroff = 0;
    esi_free(pe->sk_last);
    esi_free(pe->sk_cum);
    esi_free(pe->sk_off);
    pe->sk_last = pe->sk_cum = pe->sk_off = NULL;
    pe->sk_cap[0] = pe->sk_cap[1] = pe->sk_cap[2] = pe->nsk = 0;
}

/* ---- cursor ------------------------------------------------------------- */

/* Mark the cursor corrupt (sticky) and return ES_ECORRUPT. */
static es_status corrupt(esi_postings *c)
{
    c->err = ES_ECORRUPT;
    c->doc = UINT32_MAX;
    return ES_ECORRUPT;
}

/* Field i (w <= 32 bits) of the packed array at p; bytes up to lim may
 * be loaded. */
static inline uint32_t get_field(const uint8_t *p, const uint8_t *lim,
                                 uint64_t i, unsigned w)
{
    uint64_t bit = i * w;
    return (uint32_t)(load64_lim(p + bit / 8, lim) >> (bit % 8) &
                      (((uint64_t)1 << w) - 1));
}

/* Column k (0 last docno, 1 docs before, 2 offset) of skip entry b. */
static inline uint32_t skip_at(const esi_postings *c, int k, uint32_t b)
{
    return get_field(c->sk_col[k], c->seg->post_p + c->seg->post_len, b,
                     c->sk_w[k]);
}

/* The skip table at the end of the term's bytes (c->rd): its length is
 * the last 4 bytes; the blocks end where it starts. False if it does not
 * fit or its columns do not fill it exactly. Entries are checked against
 * the blocks as the cursor reads their headers (read_header). */
static bool read_skip_table(esi_postings *c)
{
    size_t len = esi_rd_left(&c->rd);
    if (len < 4)
        return false;
    uint32_t tl = esi_le32_read(c->rd.end - 4);
    if (tl < 1 || tl > len - 4)
        return false;
    const uint8_t *p = c->rd.end - 4 - tl, *end = c->rd.end - 4;
    const uint8_t *lim = c->seg->post_p + c->seg->post_len;
    uint32_t nb;
    if (!get_v32(&p, end, lim, &nb) || nb == 0 || nb > c->df)
        return false;
    for (int k = 0; k < 3; k++) {
        if (p >= end || *p > 32)
            return false;
        c->sk_w[k] = *p++;
        size_t bytes = ((size_t)nb * c->sk_w[k] + 7) / 8;
        if ((size_t)(end - p) < bytes)
            return false;
        c->sk_col[k] = p;
        p += bytes;
    }
    if (p != end)
        return false;
    c->sk_n = nb;
    c->rd.end -= 4 + (size_t)tl;
    return true;
}

void esi_postings_prefetch(const esi_segment *s, const esi_term_info *ti)
{
    if (ti->post_off > s->post_len || ti->post_len > s->post_len - ti->post_off)
        return;
    const uint8_t *p = s->post_p + ti->post_off;
    size_t n = (size_t)ti->post_len;
    for (size_t at = 0; at < n && at < 4 * 64; at += 64)   /* the first block's header and docs */
        __builtin_prefetch(p + at);
    if (ti->df > ESI_POST_SKIP_DF && n >= 4)   /* a skip table's length word */
        __builtin_prefetch(p + n - 4);
}

es_status esi_postings_open(esi_postings *c, const esi_segment *s,
                            const esi_term_info *ti, esi_err *e)
{
    memset(c, 0, offsetof(esi_postings, block_docs));
    c->block_n = c->block_i = c->block_last = c->next_base = 0;
    c->has_pos = false;
    c->pos_sec = c->pos_runs = c->pos_end = c->tab_p = NULL;
    c->tab_w = 0;
    c->pos_total = c->pos_nruns = c->pos_s = 0;
    c->pos_i = 0;
    c->run_r = UINT64_MAX;
    c->run_n = c->run_lo = c->run_hi = c->run_next = c->exc_left = 0;
    c->run_fields = c->run_p = c->run_end = NULL;
    c->run_w = 0;
    c->exc_prev = -1;
    c->positions_decoded = c->positions_started = false;
    c->pos_j = c->pos_at = 0;
    c->pos = NULL;
    c->pos_n = c->pos_cap = 0;
    c->err = ES_OK;
    c->seg = s;
    c->doc = UINT32_MAX;
    if (ti->post_off > s->post_len || ti->post_len > s->post_len - ti->post_off ||
        ti->df == 0 || ti->df > s->ndocs) {
        c->err = ES_ECORRUPT;
        return esi_err_set(e, ES_ECORRUPT,
                           "%s.post: postings range out of bounds (damaged "
                           "dictionary?); run 'edusearch check'", s->name);
    }
    c->rd = esi_rd_make(s->post_p + ti->post_off, (size_t)ti->post_len);
    c->blocks = c->rd.p;
    c->sk_n = c->sk_b = 0;
    c->sk_jumped = c->sk_check = false;
    c->df = ti->df;
    c->docs_left = ti->df;
    c->has_pos = ti->positions;
    if (ti->df > ESI_POST_SKIP_DF && !read_skip_table(c)) {
        c->err = ES_ECORRUPT;
        return esi_err_set(e, ES_ECORRUPT, "%s.post: damaged skip table; run "
                           "'edusearch check'", s->name);
    }
    return ES_OK;
}

/* The header of the next block: its last docno, doc count, section
 * lengths; false if malformed. */
static bool read_header(esi_postings *c, uint32_t *last, uint32_t *n,
                        uint32_t *dlen, uint32_t *plen, bool *packed)
{
    const uint8_t *lim = c->seg->post_p + c->seg->post_len;
    const uint8_t *at = c->rd.p;
    uint64_t dl, db;
    uint32_t mt;
    *plen = 0;
    *n = c->docs_left < ESI_POST_BLOCK ? c->docs_left : ESI_POST_BLOCK;
    if (!get_v33(&c->rd.p, c->rd.end, lim, &dl))
        return false;
    if ((dl & 1) && (!get_v32(&c->rd.p, c->rd.end, lim, n) || *n == 0 ||
                     *n >= ESI_POST_BLOCK || *n > c->docs_left))
        return false;
    if (!get_v33(&c->rd.p, c->rd.end, lim, &db) ||
        (c->has_pos && !get_v32(&c->rd.p, c->rd.end, lim, plen)) ||
        !get_v32(&c->rd.p, c->rd.end, lim, &mt) || mt == 0)
        return false;
    dl >>= 1;
    *packed = db & 1;
    *dlen = (uint32_t)(db >> 1);
    if ((uint64_t)c->next_base + dl >= c->seg->ndocs)
        return false;
    *last = c->next_base + (uint32_t)dl;
    size_t left = esi_rd_left(&c->rd);
    if (c->sk_n) {   /* the skip entry of this block must say the same */
        uint32_t b = c->sk_b++;
        bool look = c->sk_check || c->sk_jumped;
        c->sk_jumped = false;
        if (b >= c->sk_n || (look && (skip_at(c, 0, b) != *last ||
                                      skip_at(c, 1, b) != c->df - c->docs_left ||
                                      skip_at(c, 2, b) != (uint64_t)(at - c->blocks))))
            return false;
    }
    return *dlen <= left && *plen <= left - *dlen;
}

/* The positions section of the block just entered (pos_sec, pos_end,
 * pos_total set): its run count, and where its run table and first run
 * are. False if the table does not fit the section. */
static bool read_run_table(esi_postings *c)
{
    c->pos_nruns = (c->pos_total + ESI_POST_BLOCK - 1) / ESI_POST_BLOCK;
    c->tab_w = 0;
    c->tab_p = NULL;
    c->pos_runs = c->pos_sec;
    if (c->pos_nruns <= 1)
        return c->pos_nruns == 1;
    size_t plen = (size_t)(c->pos_end - c->pos_sec);
    if (plen < 2 || c->pos_sec[0] == 0 || c->pos_sec[0] > 32)
        return false;
    c->tab_w = c->pos_sec[0];
    uint64_t bytes = ((c->pos_nruns - 1) * c->tab_w + 7) / 8;
    if (bytes >= plen)
        return false;
    c->tab_p = c->pos_sec + 1;
    c->pos_runs = c->tab_p + bytes;
    return true;
}

/* Whether every lane of big (the OR of the values seen) is below 2^24. */
#if defined(__SSE2__)
/* The sum of the four lanes of x (mod 2^32). */
static inline uint32_t lanes_sum(__m128i x)
{
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
    return (uint32_t)_mm_cvtsi128_si32(x);
}

static inline bool lanes_small(__m128i big)
{
    big = _mm_or_si128(big, _mm_shuffle_epi32(big, 0x4e));
    big = _mm_or_si128(big, _mm_shuffle_epi32(big, 0xb1));
    return (uint32_t)_mm_cvtsi128_si32(big) >> 24 == 0;
}
#endif

#if ESI_AVX2
/* prefix_sums' lanes with AVX2, eight at a time: each half sums within
 * itself, the low half's last is added to the high half, then the sum so
 * far; the groups of 8 done (the values from there on untouched), and in
 * *small whether every value was below 2^24. */
__attribute__((target("avx2")))
static uint32_t prefix_sums_avx2(uint32_t *v, uint32_t n, uint32_t a0, bool *small)
{
    const __m256i one = _mm256_set1_epi32(1), last = _mm256_set1_epi32(7);
    __m256i run = _mm256_set1_epi32((int)a0), big = _mm256_setzero_si256();
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(v + i));
        big = _mm256_or_si256(big, x);
        x = _mm256_add_epi32(x, one);
        x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
        x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
        x = _mm256_add_epi32(x, _mm256_permute2x128_si256(_mm256_shuffle_epi32(x, 0xff),
                                                          x, 0x08));
        run = _mm256_add_epi32(run, x);
        _mm256_storeu_si256((__m256i *)(void *)(v + i), run);
        run = _mm256_permutevar8x32_epi32(run, last);
    }
    __m128i b = _mm_or_si128(_mm256_castsi256_si128(big), _mm256_extracti128_si256(big, 1));
    *small = lanes_small(b);
    return i;
}
#endif

/* prefix_sums' lanes with SSE2, four at a time (as prefix_sums_avx2);
 * none without SSE2. */
static uint32_t prefix_sums_sse2(uint32_t *v, uint32_t n, uint32_t a0, bool *small)
{
    uint32_t i = 0;
#if defined(__SSE2__)
    const __m128i one = _mm_set1_epi32(1);
    __m128i run = _mm_set1_epi32((int)a0), big = _mm_setzero_si128();
    for (; i + 4 <= n; i += 4) {
        __m128i x = _mm_loadu_si128((const __m128i *)(v + i));
        big = _mm_or_si128(big, x);
        x = _mm_add_epi32(x, one);
        x = _mm_add_epi32(x, _mm_slli_si128(x, 4));
        x = _mm_add_epi32(x, _mm_slli_si128(x, 8));
        run = _mm_add_epi32(run, x);
        _mm_storeu_si128((__m128i *)(v + i), run);
        run = _mm_shuffle_epi32(run, 0xff);
    }
    *small = lanes_small(big);
#else
    (void)v; (void)n; (void)a0;
    *small = true;
#endif
    return i;
}

/* v[i] = *acc + (v[0] + 1) + ... + (v[i] + 1) for i < n <= 128, in place,
 * truncated to 32 bits; *acc then the last sum, exact in 64 bits. Eight
 * lanes at a time with AVX2 where the CPU has it, else four with SSE2
 * (every x86-64), on the guess that every value is below 2^24: the sum of
 * such a prefix fits 32 bits, so the 64-bit sum is recovered from the last
 * lane. A list that breaks the guess (only a damaged or enormous one) gets
 * its values back (the differences of the sums) and is summed one value
 * at a time. (Positions keep a plain loop: their windows are mostly 16
 * values or fewer, where the lanes' setup costs more than they save:
 * +0.6% to +1.4% instructions on the benchmark queries, measured.) */
static void prefix_sums(uint32_t *v, uint32_t n, uint64_t *acc)
{
    uint64_t a = *acc;
    const uint32_t a0 = (uint32_t)a;
    bool small;
#if ESI_AVX2
    uint32_t i = use_avx2() ? prefix_sums_avx2(v, n, a0, &small)
                            : prefix_sums_sse2(v, n, a0, &small);
#else
    uint32_t i = prefix_sums_sse2(v, n, a0, &small);
#endif
    if (i > 0 && small) {
        a += (uint32_t)(v[i - 1] - a0);
    } else if (i > 0) {        /* the guess failed: the stored values back */
        for (uint32_t j = i; j-- > 0;)
            v[j] -= (j ? v[j - 1] : a0) + 1;
        i = 0;
    }
    for (; i < n; i++) {
        a += (uint64_t)v[i] + 1;
        v[i] = (uint32_t)a;
    }
    *acc = a;
}

#if ESI_AVX2
/* freq_sums' lanes with AVX2, eight at a time: the groups of 8 done, *t
 * their sum, *small whether every stored value was below 2^24. */
__attribute__((target("avx2")))
static uint32_t freq_sums_avx2(uint32_t *freqs, uint32_t n, uint64_t *t, bool *small)
{
    const __m256i one = _mm256_set1_epi32(1);
    __m256i sum = _mm256_setzero_si256(), big = sum;
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i f = _mm256_loadu_si256((const __m256i *)(const void *)(freqs + i));
        big = _mm256_or_si256(big, f);
        f = _mm256_add_epi32(f, one);
        _mm256_storeu_si256((__m256i *)(void *)(freqs + i), f);
        sum = _mm256_add_epi32(sum, f);
    }
    *t = lanes_sum(_mm_add_epi32(_mm256_castsi256_si128(sum),
                                 _mm256_extracti128_si256(sum, 1)));
    *small = lanes_small(_mm_or_si128(_mm256_castsi256_si128(big),
                                      _mm256_extracti128_si256(big, 1)));
    return i;
}
#endif

/* freq_sums' lanes with SSE2, four at a time (as freq_sums_avx2); none
 * without SSE2. */
static uint32_t freq_sums_sse2(uint32_t *freqs, uint32_t n, uint64_t *t, bool *small)
{
    uint32_t i = 0;
    *t = 0;
#if defined(__SSE2__)
    const __m128i one = _mm_set1_epi32(1);
    __m128i sum = _mm_setzero_si128(), big = sum;
    for (; i + 4 <= n; i += 4) {
        __m128i f = _mm_loadu_si128((const __m128i *)(freqs + i));
        big = _mm_or_si128(big, f);
        f = _mm_add_epi32(f, one);
        _mm_storeu_si128((__m128i *)(freqs + i), f);
        sum = _mm_add_epi32(sum, f);
    }
    *t = lanes_sum(sum);
    *small = lanes_small(big);
#else
    (void)freqs; (void)n;
    *small = true;
#endif
    return i;
}

/* freqs[i] = stored + 1 for i < n <= 128, *total their sum (64 bits);
 * false if one wraps (a stored 2^32 - 1). In lanes (AVX2's eight or
 * SSE2's four) on the guess that the freqs are below 2^24 (then 128 of
 * them cannot wrap a lane's total; else the stored values are restored
 * and summed one at a time, without branches). */
static bool freq_sums(uint32_t *freqs, uint32_t n, uint64_t *total)
{
    uint64_t t;
    uint32_t wrapped = 0;
    bool small;
#if ESI_AVX2
    uint32_t i = use_avx2() ? freq_sums_avx2(freqs, n, &t, &small)
                            : freq_sums_sse2(freqs, n, &t, &small);
#else
    uint32_t i = freq_sums_sse2(freqs, n, &t, &small);
#endif
    if (!small) {              /* the guess failed: the stored values back */
        for (uint32_t j = 0; j < i; j++)
            freqs[j] -= 1;
        i = 0;
        t = 0;
    }
    for (; i < n; i++) {
        uint32_t f = freqs[i] + 1;
        freqs[i] = f;
        wrapped |= f == 0;
        t += f;
    }
    *total = t;
    return !wrapped;
}

bool esi_post_sum_runs(uint32_t *docs, uint32_t *freqs, uint32_t n, uint64_t *doc,
                       uint64_t *total)
{
    uint64_t d = *doc - 1;     /* every doc but the first adds 1 to its delta */
    prefix_sums(docs, n, &d);
    *doc = d;
    return freq_sums(freqs, n, total);
}

/* docs[i] = base + i for i < n <= 128: the docs of a dense block. */
static void fill_docs(uint32_t *docs, uint32_t n, uint32_t base)
{
    uint32_t i = 0;
#if defined(__SSE2__)
    const __m128i four = _mm_set1_epi32(4);
    __m128i x = _mm_add_epi32(_mm_set1_epi32((int)base), _mm_setr_epi32(0, 1, 2, 3));
    for (; i + 4 <= n; i += 4) {
        _mm_storeu_si128((__m128i *)(docs + i), x);
        x = _mm_add_epi32(x, four);
    }
#endif
    for (; i < n; i++)
        docs[i] = base + i;
}

/* Decode the doc/freq section of the block whose header was just read. */
static es_status decode_block(esi_postings *c, uint32_t last, uint32_t n,
                              uint32_t dlen, uint32_t plen, bool packed)
{
    const uint8_t *p = c->rd.p, *end = p + dlen;
    const uint8_t *lim = c->seg->post_p + c->seg->post_len;
    uint64_t doc = c->next_base, total = 0;
    if (packed && p < end && *p == 0 && doc + n - 1 == last) {
        /* a doc run of width 0 (every delta 0) from the block's base: the
         * docs base..last, one after another (the commonest characters'
         * blocks), filled without summing */
        p++;
        fill_docs(c->block_docs, n, (uint32_t)doc);
        doc = last;
        if (!run_get(&p, end, lim, n, c->block_freqs) ||
            !freq_sums(c->block_freqs, n, &total))
            return corrupt(c);
    } else if (packed) {
        if (!run_get(&p, end, lim, n, c->block_docs) ||
            !run_get(&p, end, lim, n, c->block_freqs))
            return corrupt(c);
        if (!esi_post_sum_runs(c->block_docs, c->block_freqs, n, &doc, &total))
            return corrupt(c);
    } else {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v, f = 1;
            if (!get_v32(&p, end, lim, &v))
                return corrupt(c);
            doc += (uint64_t)(v >> 1) + (i > 0);
            if (doc > last ||
                (!(v & 1) && (!get_v32(&p, end, lim, &f) || f < 2)))
                return corrupt(c);
            c->block_docs[i] = (uint32_t)doc;
            c->block_freqs[i] = f;
            total += f;
        }
    }
    if (p != end || doc != last)
        return corrupt(c);
    c->pos_sec = end;
    c->pos_end = end + plen;
    c->pos_total = c->has_pos ? total : 0;
    c->pos_s = 0;
    c->pos_i = 0;
    c->run_r = UINT64_MAX;
    if (c->has_pos ? !read_run_table(c) : plen != 0)
        return corrupt(c);
    for (uint32_t i = n; i < ESI_POST_BLOCK; i++)   /* see esi_postings_advance */
        c->block_docs[i] = UINT32_MAX;
    c->rd.p = end + plen;
    c->block_n = n;
    c->block_i = 0;
    c->block_last = last;
    c->next_base = last + 1;
    c->docs_left -= n;
    return ES_OK;
}


/* Enter the first block from the reader's place on whose last doc is >=
 * target, stepping over the blocks before it by their headers alone (not
 * decoded); ES_DONE, the cursor ended, when there is none. */
static inline es_status enter_block(esi_postings *c, uint32_t target)
{
    for (;;) {
        if (c->docs_left == 0) {
            c->doc = UINT32_MAX;
            c->block_n = c->block_i = 0;
            return ES_DONE;
        }
        uint32_t last, n, dlen, plen;
        bool packed;
        if (!read_header(c, &last, &n, &dlen, &plen, &packed))
            return corrupt(c);
        if (last >= target)
            return decode_block(c, last, n, dlen, plen, packed);
        c->rd.p += (size_t)dlen + plen;
        c->docs_left -= n;
        c->next_base = last + 1;
    }
}

/* Enter the next block; ES_DONE when there is none. */
static es_status next_block(esi_postings *c)
{
    es_status rc = enter_block(c, 0);
    return rc != ES_OK ? rc : esi_postings_set_doc_(c, 0);
}

es_status esi_postings_next(esi_postings *c)
{
    if (c->err != ES_OK)
        return c->err;
    if (c->block_n > 0 && c->block_i + 1 < c->block_n)
        return esi_postings_set_doc_(c, c->block_i + 1);
    return next_block(c);
}

/* Through the skip table, move to the header of the first block whose
 * last doc is >= target (sk_b < sk_n and block sk_b ends before target);
 * past the last block when there is none. The header read then checks
 * the entry. False if the entry points outside the blocks. */
static bool skip_to(esi_postings *c, uint32_t target)
{
    uint32_t lo = c->sk_b + 1, hi = c->sk_n;   /* answer in [lo, hi] */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (skip_at(c, 0, mid) < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t before = skip_at(c, 0, lo - 1);
    if (lo == c->sk_n) {   /* no doc >= target: nothing left */
        c->docs_left = 0;
        c->sk_b = lo;
        return true;
    }
    uint32_t cum = skip_at(c, 1, lo), off = skip_at(c, 2, lo);
    if (cum >= c->df || off >= (size_t)(c->rd.end - c->blocks) ||
        before >= c->seg->ndocs)
        return false;
    c->rd.p = c->blocks + off;
    c->docs_left = c->df - cum;
    c->next_base = before + 1;
    c->sk_b = lo;
    c->sk_jumped = true;
    return true;
}

_Static_assert(sizeof ((esi_postings *)0)->block_docs == ESI_POST_BLOCK * sizeof(uint32_t),
               "a cursor's block holds ESI_POST_BLOCK docs");

es_status esi_postings_advance(esi_postings *c, uint32_t target)
{
    if (c->err != ES_OK)
        return c->err;
    if (c->doc != UINT32_MAX && c->doc >= target)
        return ES_OK;
    uint32_t next = c->block_i + 1;   /* the next doc: a scan's usual step */
    if (next < c->block_n && c->block_docs[next] >= target)
        return esi_postings_set_doc_(c, next);
    if (c->block_n == 0 || target > c->block_last) {
        if (c->sk_n && c->sk_b < c->sk_n && skip_at(c, 0, c->sk_b) < target &&
            !skip_to(c, target))
            return corrupt(c);
        es_status rc = enter_block(c, target);
        if (rc != ES_OK)
            return rc;
    }
    /* over the whole block, padded (decode_block): a constant length, so
     * the steps unroll; the docs before the cursor's are below target */
    uint32_t i = esi_first_at_least(c->block_docs, ESI_POST_BLOCK, target);
    if (i >= c->block_n || c->block_docs[i] < target)   /* unreachable unless
                                                           data lies about last */
        return corrupt(c);
    return esi_postings_set_doc_(c, i);
}

/* Byte range [*start, *end) of run r of the current block, from the run
 * table; false if the table points outside the section or backwards. */
static bool run_bounds(const esi_postings *c, uint64_t r, const uint8_t **start,
                       const uint8_t **end)
{
    const uint8_t *lim = c->seg->post_p + c->seg->post_len;
    size_t span = (size_t)(c->pos_end - c->pos_runs);
    uint64_t a = r > 0 ? get_field(c->tab_p, lim, r - 1, c->tab_w) : 0;
    uint64_t b = r + 1 < c->pos_nruns ? get_field(c->tab_p, lim, r, c->tab_w) : span;
    if (a >= b || b > span)
        return false;
    *start = c->pos_runs + a;
    *end = c->pos_runs + b;
    return true;
}

/* Make run r of the current block the cursor's run: read its header (a
 * run of bit fields must hold them within its byte range); values are
 * decoded later, in windows (run_window). False if malformed. */
static bool load_run(esi_postings *c, uint64_t r)
{
    const uint8_t *p, *end;
    c->run_r = UINT64_MAX;
    if (r >= c->pos_nruns || !run_bounds(c, r, &p, &end))
        return false;
    uint64_t left = c->pos_total - r * ESI_POST_BLOCK;
    uint32_t n = left < ESI_POST_BLOCK ? (uint32_t)left : ESI_POST_BLOCK;
    uint8_t h = *p++;
    c->run_lo = c->run_hi = c->run_next = c->exc_left = 0;
    c->exc_prev = -1;
    c->run_fields = NULL;
    c->run_w = 0;
    if (h != RUN_VARINT) {
        unsigned w = h & ~(unsigned)RUN_EXC;
        bool exc = (h & RUN_EXC) != 0;
        size_t bytes = ((size_t)n * w + 7) / 8;
        if (w > 32 || (exc && w == 32) || (size_t)(end - p) < bytes)
            return false;
        c->run_fields = p;
        c->run_w = w;
        p += bytes;
        if (exc ? !get_exception_count(&p, end, n, &c->exc_left) : p != end)
            return false;
    }
    c->run_p = p;
    c->run_end = end;
    c->run_r = r;
    c->run_n = n;
    return true;
}

/* Decode the current run at least through value off + m - 1 (off >=
 * run_lo): values from run_hi on, or from off when that is further (the
 * window then restarts there: earlier values are never read again), by
 * groups of 8 (so bit fields are unpacked from a byte boundary) and at
 * least 16 at a time; a second window in the same run takes the rest of
 * it (small windows only pay where a run is touched once: on the docs of
 * common characters scanned densely they cost more calls than they save). Exception entries and varints are read only as far
 * as the window; the run's last window checks that the run ends exactly
 * at its end. False if malformed. */
static bool run_window(esi_postings *c, uint32_t off, uint32_t m)
{
    uint32_t a = c->run_hi, b = off + m;
    if (b <= a)
        return true;
    if ((off & ~7u) > a)
        c->run_lo = a = off & ~7u;
    b = (b + 7) & ~7u;
    if (b < a + 16)
        b = a + 16;
    if (c->run_hi > 0)   /* asked again: the run is dense in wanted values */
        b = c->run_n;
    if (b > c->run_n)
        b = c->run_n;
    const uint8_t *lim = c->seg->post_p + c->seg->post_len;
    unsigned w = c->run_w;
    if (!c->run_fields) {                        /* varints */
        if (a > c->run_next &&
            !skip_varints(&c->run_p, c->run_end, lim, a - c->run_next))
            return false;
        for (uint32_t i = a; i < b; i++)
            if (!get_v32(&c->run_p, c->run_end, lim, &c->run[i]))
                return false;
        c->run_next = b;
    } else {
        if (w == 0)
            memset(c->run + a, 0, (size_t)(b - a) * sizeof *c->run);
        else
            get_bits(c->run_fields + (size_t)a * w / 8, lim,
                     ((size_t)(b - a) * w + 7) / 8, b - a, w, c->run + a);
        /* exception entries by index: those below the window only read */
        while (c->exc_left > 0 && c->run_p < c->run_end && *c->run_p < b) {
            uint32_t i, hi;
            if (!get_exception(&c->run_p, c->run_end, lim, c->run_n, w,
                               &c->exc_prev, &i, &hi))
                return false;
            c->exc_left--;
            if (i >= a)
                c->run[i] |= hi << w;
        }
    }
    c->run_hi = b;
    return b < c->run_n || (c->exc_left == 0 && c->run_p == c->run_end);
}

/* Make room for f positions in c->pos. */
static es_status pos_room(esi_postings *c, uint32_t f)
{
    if (f <= c->pos_cap)
        return ES_OK;
    uint32_t cap = c->pos_cap ? c->pos_cap : 64;
    while (cap < f)
        cap = cap > UINT32_MAX / 2 ? f : cap * 2;
    size_t bytes;
    if (!esi_mul_ok(cap, sizeof(uint32_t), &bytes))
        return ES_ENOMEM;
    uint32_t *np = esi_realloc(c->pos, bytes);
    if (!np)
        return ES_ENOMEM;
    c->pos = np;
    c->pos_cap = cap;
    return ES_OK;
}

es_status esi_postings_positions_upto(esi_postings *c, uint32_t want,
                                      const uint32_t **pos, uint32_t *n)
{
    if (c->err != ES_OK)
        return c->err;
    if (c->doc == UINT32_MAX)
        return corrupt(c);
    uint32_t f = c->freq;
    if (!c->has_pos || c->positions_decoded) {
        *pos = c->pos;
        *n = c->has_pos ? f : 0;
        return ES_OK;
    }
    if (!c->positions_started) {
        if (c->pos_i > c->block_i)
            return corrupt(c);
        while (c->pos_i < c->block_i)
            c->pos_s += c->block_freqs[c->pos_i++];
        if (c->pos_s + f > c->pos_total)
            return corrupt(c);
        es_status rc = pos_room(c, f);
        if (rc != ES_OK)
            return rc;
        c->pos_j = c->pos_s;
        c->pos_at = 0;
        c->pos_n = 0;
        c->positions_started = true;
    }
    /* a window at a time: 32 values, then as many as are decoded already,
     * so a check that stops early unpacks little */
    while (c->pos_n < f && (c->pos_n == 0 || c->pos[c->pos_n - 1] < want)) {
        uint64_t j = c->pos_j, r = j / ESI_POST_BLOCK;
        uint32_t off = (uint32_t)(j % ESI_POST_BLOCK);
        if ((r != c->run_r || off < c->run_lo) && !load_run(c, r))
            return corrupt(c);
        uint32_t m = c->run_n - off, left = f - c->pos_n;
        if (m > left)
            m = left;
        if (want != UINT32_MAX) {
            uint32_t g = c->pos_n > 32 ? c->pos_n : 32;
            if (m > g)
                m = g;
        }
        if (!run_window(c, off, m))
            return corrupt(c);
        const uint32_t *src = c->run + off;
        uint32_t *o = c->pos + c->pos_n;
        uint64_t at = c->pos_at;
        uint32_t t = 0;
        for (; t + 4 <= m; t += 4) {   /* unrolled: the loop's own steps cost as much as the sums */
            at += src[t];
            o[t] = (uint32_t)at;
            at += src[t + 1];
            o[t + 1] = (uint32_t)at;
            at += src[t + 2];
            o[t + 2] = (uint32_t)at;
            at += src[t + 3];
            o[t + 3] = (uint32_t)at;
        }
        for (; t < m; t++) {
            at += src[t];
            o[t] = (uint32_t)at;
        }
        if (at > UINT32_MAX)
            return corrupt(c);
        c->pos_at = at;
        c->pos_n += m;
        c->pos_j = j + m;
    }
    c->positions_decoded = c->pos_n == f;
    *pos = c->pos;
    *n = c->pos_n;
    return ES_OK;
}

es_status esi_postings_positions(esi_postings *c, const uint32_t **pos,
                                 uint32_t *n)
{
    return esi_postings_positions_upto(c, UINT32_MAX, pos, n);
}

es_status esi_postings_take_block(esi_postings *c, const uint8_t **pos,
                                  size_t *pos_len)
{
    if (c->err != ES_OK)
        return c->err;
    if (c->doc == UINT32_MAX || c->block_i != 0 || c->positions_started)
        return ES_EINVAL;
    for (uint64_t r = 0; c->has_pos && r < c->pos_nruns; r++)
        if (!load_run(c, r) || !run_window(c, 0, c->run_n))
            return corrupt(c);
    *pos = c->pos_sec;
    *pos_len = (size_t)(c->pos_end - c->pos_sec);
    c->pos_i = c->block_n;
    return esi_postings_set_doc_(c, c->block_n - 1);
}

void esi_postings_close(esi_postings *c)
{
    esi_free(c->pos);
    c->pos = NULL;
    c->pos_cap = 0;
    c->pos_n = 0;
}
