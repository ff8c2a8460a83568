/*
 * utf8.c: the UTF-8 decoder and encoder used wherever the library walks text.
 * Invalid input follows one documented policy (docs/ANALYSIS.md): each
 * maximal invalid subsequence becomes one U+FFFD, as Unicode recommends and
 * ICU does, and the decoder never reads past the end of its input.
 */
#include "base.h"

uint32_t esi_utf8_next(const uint8_t *s, size_t n, size_t *i)
{
    size_t k = *i;
    uint8_t c = s[k];
    if (c < 0x80) {
        *i = k + 1;
        return c;
    }
    unsigned need;
    uint32_t cp;
    uint8_t lo = 0x80, hi = 0xbf;   /* range of the first continuation byte */
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1; cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2; cp = c & 0x0f;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;   /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3; cp = c & 0x07;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;   /* nothing above U+10FFFF */
    } else {
        *i = k + 1;
        return 0xfffd;
    }
    k++;
    for (unsigned j = 0; j < need; j++, k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *i = k;                  /* the maximal subpart ends here */
            return 0xfffd;
        }
        cp = (cp << 6) | (s[k] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }
    *i = k;
    return cp;
}

size_t esi_utf8_put(uint8_t *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

bool esi_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        uint32_t cp = esi_utf8_next(s, n, &i);
        /* A real U+FFFD is three bytes EF BF BD; a substituted one is not. */
        if (cp == 0xfffd && !(i - start == 3 && s[start] == 0xef))
            return false;
    }
    return true;
}
