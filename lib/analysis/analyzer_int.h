/*
 * analyzer_int.h: the layout of esi_analyzer, shared by the files of
 * lib/analysis only (analyzer.c, sentences.c). Everything a call needs is
 * allocated when the analyzer is created (sentence buffers on first use), so
 * that esi_analyze itself never allocates.
 */
#ifndef ES_ANALYZER_INT_H
#define ES_ANALYZER_INT_H

#include "analyzer.h"
#include "normalize.h"

#include <unicode/ubrk.h>

/* Normalized code points per esi_norm_fill batch. */
#define ESI_AN_CHUNK 8192
/* CJK units buffered before the run is cut for word breaking. */
#define ESI_AN_RUN_MAX 4096
/* Longest Latin/number token, in code points; longer runs are cut. */
#define ESI_AN_LAT_MAX 256
/* Sentence windows, in UTF-16 units. */
#define ESI_AN_SENT_WIN 65536

/* One CJK unit of the current run. */
typedef struct esi_unit {
    uint32_t cp;          /* normalized, simplified code point */
    uint32_t sep_before;  /* a separator came between it and the unit before */
    size_t start;         /* original byte range */
    size_t end;
} esi_unit;

/* One ICU word over the run: units [u0, u1). */
typedef struct esi_word {
    uint32_t u0;
    uint32_t u1;
} esi_word;

struct esi_analyzer {
    UBreakIterator *wbrk;   /* clone of the word template (zh) */
    UBreakIterator *sbrk;   /* clone of the sentence template (zh) */
    esi_nchar *chunk;       /* ESI_AN_CHUNK normalized code points */
    esi_unit *run;          /* ESI_AN_RUN_MAX CJK units */
    esi_nchar *lat;         /* ESI_AN_LAT_MAX chars of a Latin/number run */
    uint32_t *grp;          /* group starts in lat (split by . or ,) */
    uint32_t *grpsep;       /* separator before each group ('.' or ',') */
    UChar *u16;             /* run as UTF-16 for the word iterator */
    int32_t *u16map;        /* UTF-16 index -> unit index (+1 sentinel) */
    esi_word *words;        /* words of the run */
    uint8_t *term;          /* token text scratch */
    UChar *s16;             /* sentence window (lazy) */
    uint32_t *soff;         /* byte offset of each unit of s16 (lazy) */
};

#endif /* ES_ANALYZER_INT_H */
