/*
 * sentences.c: sentence boundaries for snippets (esi_sentences, contract in
 * analyzer.h). ICU's sentence iterator (locale zh) runs over the ORIGINAL
 * text converted to UTF-16, window by window, and its boundaries are mapped
 * back to byte offsets of the original. A boundary whose surroundings are
 * CJK char, whitespace containing a line break, CJK char (a PDF line wrap
 * inside a sentence) is dropped.
 *
 * Windows: at most ESI_AN_SENT_WIN UTF-16 units starting at the start of the
 * pending sentence. A boundary is trusted only if it lies more than
 * SENT_MARGIN units before the end of a window that is not the last one
 * (ICU looks ahead, and so does the line-wrap test); the next window starts
 * at the last emitted boundary. A sentence longer than a window is cut
 * where the trusted part of the window ends. Memory is therefore bounded
 * whatever the text length; the sentences tile the text exactly (trailing
 * whitespace belongs to the sentence before it).
 */
#include "analyzer_int.h"

#include <unicode/uchar.h>
#include <unicode/utf16.h>

#define SENT_MARGIN 1024

/* True for the code points that end a line (or a page). */
static bool is_newline(UChar32 cp)
{
    return cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
           cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

/* True if the ICU boundary b of u[0..n) is a line wrap between two CJK
 * characters, which must not end a sentence. */
static bool line_wrap(const UChar *u, int32_t n, int32_t b)
{
    int nl = 0;
    int32_t j = b;
    UChar32 cp = 0;
    bool found = false;
    while (j > 0) {
        U16_PREV(u, 0, j, cp);
        if (!u_isUWhiteSpace(cp)) {
            found = true;
            break;
        }
        nl += is_newline(cp);
    }
    if (!found || esi_norm_class((uint32_t)cp) != ESI_CLS_CJK)
        return false;
    j = b;
    found = false;
    while (j < n) {
        U16_NEXT(u, j, n, cp);
        if (!u_isUWhiteSpace(cp)) {
            found = true;
            break;
        }
        nl += is_newline(cp);
    }
    return found && nl > 0 && esi_norm_class((uint32_t)cp) == ESI_CLS_CJK;
}

es_status esi_sentences(esi_analyzer *a, const char *text, size_t len,
                        int (*cb)(size_t start, size_t end, void *payload),
                        void *payload, esi_err *e)
{
    if (!a || !cb || (!text && len))
        return esi_err_set(e, ES_EINVAL, "esi_sentences: NULL analyzer, callback or text");
    if (!a->s16) {
        a->s16 = esi_malloc((ESI_AN_SENT_WIN + 2) * sizeof *a->s16);
        a->soff = esi_malloc((ESI_AN_SENT_WIN + 3) * sizeof *a->soff);
        if (!a->s16 || !a->soff) {
            esi_free(a->s16);
            esi_free(a->soff);
            a->s16 = NULL;
            a->soff = NULL;
            return esi_err_set(e, ES_ENOMEM, "out of memory for sentence breaking");
        }
    }
    const uint8_t *s = (const uint8_t *)text;
    UChar *u = a->s16;
    uint32_t *off = a->soff;
    size_t ws = 0;
    es_status rc = ES_OK;
    while (ws < len) {
        int32_t n = 0;
        size_t i = ws;
        while (i < len && n < ESI_AN_SENT_WIN) {
            size_t cs = i;
            uint32_t cp = esi_utf8_next(s, len, &i);
            off[n] = (uint32_t)(cs - ws);
            if (cp < 0x10000) {
                u[n++] = (UChar)cp;
            } else {
                u[n++] = (UChar)(0xd7c0 + (cp >> 10));
                off[n] = (uint32_t)(cs - ws);
                u[n++] = (UChar)(0xdc00 | (cp & 0x3ff));
            }
        }
        off[n] = (uint32_t)(i - ws);
        bool final = i >= len;
        int32_t limit = final ? n : n - SENT_MARGIN;
        UErrorCode st = U_ZERO_ERROR;
        ubrk_setText(a->sbrk, u, n, &st);
        if (U_FAILURE(st)) {
            rc = esi_err_set(e, ES_ERROR, "ICU sentence break failed: %s",
                             u_errorName(st));
            break;
        }
        int32_t sstart = 0;
        bool stop = false;
        for (int32_t b = ubrk_following(a->sbrk, 0); b != UBRK_DONE && b <= limit;
             b = ubrk_next(a->sbrk)) {
            if (b >= n)
                break;
            if (line_wrap(u, n, b))
                continue;
            if (cb(ws + off[sstart], ws + off[b], payload)) {
                stop = true;
                break;
            }
            sstart = b;
        }
        if (stop)
            break;
        if (final) {
            if (sstart < n)
                cb(ws + off[sstart], len, payload);
            break;
        }
        if (sstart == 0) {
            /* One sentence longer than the window: cut it. */
            int32_t cut = limit;
            if (cut > 0 && U16_IS_TRAIL(u[cut]))
                cut--;
            if (cb(ws, ws + off[cut], payload))
                break;
            sstart = cut;
        }
        ws += off[sstart];
    }
    UErrorCode st2 = U_ZERO_ERROR;
    ubrk_setText(a->sbrk, NULL, 0, &st2);
    return rc;
}
