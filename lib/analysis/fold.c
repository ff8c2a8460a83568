/*
 * fold.c: how each code point normalizes ON ITS OWN, for callers that scan
 * raw text without analyzing it (snippet.c finds candidate regions this
 * way). The value is the key normalizer's output (esi_normalize_key: NFKC_CF,
 * T->S, separators dropped) for the code point alone, plus a "risky" flag
 * when that alone-value may differ in context. Contract in analyzer.h.
 *
 * BMP values are cached process-wide in esi_fold_cache, filled lazily by
 * whichever thread first asks: an entry is a pure function of its code
 * point, so every thread that computes it stores the same value and relaxed
 * atomic loads and stores suffice. This is the library's only lazily filled
 * table besides the ones built once under pthread_once (normalize.c).
 */
#include "analyzer_int.h"

#include <unicode/unorm2.h>

_Atomic uint32_t esi_fold_cache[0x10000];

uint32_t esi_fold_compute(esi_analyzer *a, uint32_t cp)
{
    if (cp >= 0x10000 || !a)
        return ESI_FOLD_DONE | ESI_FOLD_RISKY;    /* supplementary: never cached */
    uint8_t u8[4];
    size_t l = esi_utf8_put(u8, cp);
    esi_buf out = { 0 };
    esi_err e = { 0 };
    /* A failure (ENOMEM) answers "risky", which only makes callers analyze
     * more text; it is not cached, so a later call tries again. */
    if (esi_normalize_key(a, (const char *)u8, l, &out, &e) != ES_OK) {
        esi_buf_free(&out);
        return ESI_FOLD_DONE | ESI_FOLD_RISKY;
    }
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2 *n2 = unorm2_getNFKCCasefoldInstance(&st);
    size_t i = 0, n = 0;
    uint32_t last = 0;
    while (i < out.len) {
        last = esi_utf8_next(out.data, out.len, &i);
        n++;
    }
    esi_buf_free(&out);
    if (U_FAILURE(st))
        return ESI_FOLD_DONE | ESI_FOLD_RISKY;
    uint32_t f = ESI_FOLD_DONE;
    if (!unorm2_hasBoundaryBefore(n2, (UChar32)cp) || n > 1)
        f |= ESI_FOLD_RISKY;       /* may combine with what precedes it */
    else if (n == 0)
        f |= ESI_FOLD_SEP;
    else
        f |= last | (esi_is_cjk(last) ? ESI_FOLD_CJK : 0);
    atomic_store_explicit(&esi_fold_cache[cp], f, memory_order_relaxed);
    return f;
}
