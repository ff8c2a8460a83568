/*
 * analyzer.h: the analysis layer's whole contract. Turns UTF-8 text into
 * the tokens the index stores and the query parser looks up; also sentence
 * boundaries for snippets and the N(x) key text of the phrase guarantee.
 * The rules are specified in docs/ANALYSIS.md. Analysis never calls storage.
 *
 * Pipeline, per code point of the ORIGINAL text:
 *   1. UTF-8 decode (invalid -> U+FFFD per maximal subpart, esi_utf8_next).
 *   2. NFKC + case folding (ICU nfkc_cf), keeping for every output code
 *      point the byte range of the original text it came from.
 *   3. Traditional -> Simplified folding by a per-code-point table derived
 *      once (per process, pthread_once) from ICU's Traditional-Simplified
 *      transliterator. Applied to keys only, never to stored text.
 *   4. Classification: CJK (Han, kana, hangul) -> one unit each;
 *      letters/digits -> Latin or number tokens (one unit each);
 *      everything else (spaces, line breaks, punctuation, U+FFFD, NUL) is a
 *      separator that occupies no position.
 *
 * Positions: each unit (one CJK char, or one Latin/number token) takes the
 * next position, starting at 0. Index tokens, in order of position:
 *   ES_TOKEN_HAN    every CJK char, span 1;
 *   ES_TOKEN_BIGRAM every two CJK units at positions p, p+1 (adjacent units
 *                   that are both CJK; separators between them do not
 *                   matter, so a PDF line break inside a word is no boundary
 *                   and N(x) substring semantics hold), span 2, position p;
 *   ES_TOKEN_LATIN / ES_TOKEN_NUMBER, span 1.
 * Word tokens (ES_TOKENIZE_WORDS): ICU's word break iterator (locale zh)
 * over each run of adjacent CJK units (joined without separators); one
 * ES_TOKEN_WORD per word with its first unit's position and its span.
 *
 * Tokens report byte ranges of the ORIGINAL text, always on UTF-8
 * character boundaries.
 */
#ifndef ES_ANALYZER_H
#define ES_ANALYZER_H

#include "../base/base.h"

#include <stdatomic.h>

/* Per-thread analysis state (cloned ICU iterators, scratch buffers). Cheap
 * to create after the first one in a process; not shareable between threads. */
typedef struct esi_analyzer esi_analyzer;

es_status esi_analyzer_new(esi_analyzer **out, esi_err *e);
void esi_analyzer_free(esi_analyzer *a);

/* Analyze text and call cb for each token (see above), in position order
 * (for one position: HAN before BIGRAM; WORD tokens after the unit tokens of
 * their first position). flags: ES_TOKENIZE_INDEX and/or ES_TOKENIZE_WORDS;
 * 0 means INDEX. WORDS alone gives WORD plus the LATIN and NUMBER tokens
 * (they are words too); both flags give every token once.
 * If cb returns non-zero, analysis stops and ES_OK is returned.
 * Allocates nothing; errors: ES_EINVAL (NULL a/cb, NULL text with len > 0),
 * ES_ERROR (ICU failure), ES_ELIMIT (more than 2^32-1 units). */
es_status esi_analyze(esi_analyzer *a, const char *text, size_t len,
                      unsigned flags, es_token_cb cb, void *payload,
                      esi_err *e);
/* An esi_analyze flag of the library's own (es_tokenize refuses it): with
 * ES_TOKENIZE_INDEX, no BIGRAM tokens (snippets match units only). */
#define ESI_ANALYZE_NO_BIGRAMS 0x100u

/* N(x): the normalized text with everything that is not a letter or digit
 * removed (CJK chars, letters, digits, after NFKC+casefold+T->S), appended to
 * out as UTF-8. The reference for the phrase guarantee and its tests. */
es_status esi_normalize_key(esi_analyzer *a, const char *text, size_t len,
                            esi_buf *out, esi_err *e);

/* Sentence boundaries (ICU sentence break, locale zh) of the ORIGINAL text,
 * with a newline between two CJK characters not counted as a break (PDF line
 * wraps). Calls cb(start, end, payload) per sentence in order; stops when it
 * returns non-zero. */
es_status esi_sentences(esi_analyzer *a, const char *text, size_t len,
                        int (*cb)(size_t start, size_t end, void *payload),
                        void *payload, esi_err *e);

/* True if cp is a CJK unit (Han ideograph, kana, hangul syllable). */
bool esi_is_cjk(uint32_t cp);

/* How code point cp normalizes ON ITS OWN (what esi_normalize_key makes of
 * it alone), for scanning raw text without analyzing it (fold.c):
 * ESI_FOLD_RISKY if that may differ in context (NFKC_CF has no boundary
 * before cp, so it may combine with what precedes; it folds to several code
 * points; cp is supplementary; or the computation failed), else
 * ESI_FOLD_SEP if it folds to nothing (a separator), else the code point it
 * folds to (ESI_FOLD_CP) with ESI_FOLD_CJK set when that is a CJK unit.
 * ESI_FOLD_DONE is always set. Thread-safe (a's scratch is not used by
 * the cached path; pass the calling thread's own analyzer). */
#define ESI_FOLD_DONE 0x80000000u
#define ESI_FOLD_SEP 0x40000000u
#define ESI_FOLD_RISKY 0x20000000u
#define ESI_FOLD_CJK 0x10000000u
#define ESI_FOLD_CP(f) ((f) & 0x1fffffu)

extern _Atomic uint32_t esi_fold_cache[0x10000];  /* 0: not computed yet */
uint32_t esi_fold_compute(esi_analyzer *a, uint32_t cp);

static inline uint32_t esi_fold_alone(esi_analyzer *a, uint32_t cp)
{
    if (cp < 0x10000) {
        uint32_t f = atomic_load_explicit(&esi_fold_cache[cp], memory_order_relaxed);
        if (f)
            return f;
    }
    return esi_fold_compute(a, cp);
}

#endif /* ES_ANALYZER_H */
