/*
 * normalize.h: the key normalizer of the analysis layer (internal to
 * lib/analysis). Streams UTF-8 text through
 *   decode (U+FFFD per maximal invalid subpart)
 *   -> NFKC + case folding (ICU nfkc_cf)
 *   -> Traditional -> Simplified (one code point to one code point)
 * and yields, for every OUTPUT code point, its class and the byte range
 * [start, end) of the ORIGINAL text it came from. A code point that
 * normalizes to several (U+FB01 -> f, i) gives each of them the source's
 * range; a normalization segment that ICU rewrites as a whole (a base letter
 * with combining marks) gives each output the whole segment's range.
 *
 * The per-code-point tables (BMP mapping, class, T->S) are process-wide,
 * built once on first use and immutable afterwards; see esi_norm_init.
 */
#ifndef ES_NORMALIZE_H
#define ES_NORMALIZE_H

#include "../base/base.h"

#include <unicode/ubrk.h>

/* Character classes after normalization (docs/ANALYSIS.md, "Units"). */
enum {
    ESI_CLS_SEP = 0,    /* separator: occupies no position */
    ESI_CLS_CJK = 1,    /* Han, kana, hangul (and U+3007, U+30FC): one unit */
    ESI_CLS_DIGIT = 2,  /* decimal digit (general category Nd) */
    ESI_CLS_WORD = 3    /* other letter, mark or number (Latin tokens) */
};

/* One normalized code point with its source range in the original text. */
typedef struct esi_nchar {
    uint32_t cp;     /* normalized, simplified code point */
    uint32_t cls;    /* ESI_CLS_* */
    size_t start;    /* original byte range [start, end) */
    size_t end;
} esi_nchar;

/* Longest run of code points normalized together as one segment; longer
 * runs of combining marks are cut (deterministically, for keys and queries
 * alike). */
#define ESI_NORM_MAX_SEG 32
/* esi_norm_fill needs at least this much room in its output array. */
#define ESI_NORM_RESERVE 1024

/* Streaming state over one text. Plain data; no cleanup needed. */
typedef struct esi_norm {
    const uint8_t *s;      /* the text */
    size_t len;            /* its length */
    size_t pos;            /* next undecoded byte */
    bool have_la;          /* a decoded look-ahead code point is pending */
    uint32_t la_cp;        /* its value */
    size_t la_start;       /* its byte range */
    size_t la_end;
} esi_norm;

/* Build the process-wide tables (normalization, T->S, classes) and the
 * template break iterators if not yet built. Thread-safe; cheap after the
 * first success. A failed build (ENOMEM) is retried by the next call; an ICU
 * failure (missing data) is reported every time. */
es_status esi_norm_init(esi_err *e);

/* Start streaming over text[0..len). esi_norm_init must have succeeded. */
void esi_norm_start(esi_norm *n, const char *text, size_t len);

/* Append normalized code points to out[*count..cap), stopping when fewer
 * than ESI_NORM_RESERVE slots are left or the text ends; *count comes back
 * unchanged only when the text is exhausted. Returns ES_OK or ES_ERROR
 * (ICU failure). */
es_status esi_norm_fill(esi_norm *n, esi_nchar *out, size_t cap,
                        size_t *count, esi_err *e);

/* True when the text is exhausted (nothing more to fill). */
static inline bool esi_norm_done(const esi_norm *n)
{
    return !n->have_la && n->pos >= n->len;
}

/* Class of a normalized code point (ESI_CLS_*). */
uint32_t esi_norm_class(uint32_t cp);

/* The Traditional -> Simplified key folding of one code point (identity
 * for everything without a one-to-one mapping). */
uint32_t esi_norm_simplify(uint32_t cp);

/* The process-wide template break iterators (valid after esi_norm_init);
 * clone them with ubrk_clone, never use them directly. */
const UBreakIterator *esi_norm_word_template(void);
const UBreakIterator *esi_norm_sentence_template(void);

/* Statistics of the one-time build, for the benchmark and docs. */
typedef struct esi_norm_stats {
    double build_ms;          /* wall time of the whole build */
    double ts_ms;             /* of which the T->S derivation */
    size_t ts_mappings;       /* one-to-one T->S mappings accepted */
    size_t ts_rejected;       /* candidates with a non 1->1 result */
    size_t ts_chained;        /* mappings whose target maps again (composed) */
    size_t nfkc_changed_bmp;  /* BMP code points that nfkc_cf changes */
} esi_norm_stats;
void esi_norm_get_stats(esi_norm_stats *out);

#endif /* ES_NORMALIZE_H */
