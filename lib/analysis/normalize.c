/*
 * normalize.c: the key normalizer: UTF-8 decoding, NFKC + case folding,
 * Traditional -> Simplified folding and classification, with exact source
 * byte ranges for every output code point (contract in normalize.h, rules in
 * docs/ANALYSIS.md).
 *
 * Speed comes from process-wide tables built once from ICU's own data:
 *  - g_map: for every BMP code point, whether NFKC_CF has a normalization
 *    boundary before it, and its full mapping (NFKC_CF, then T->S) with the
 *    class of each output code point. Text whose next code point has a
 *    boundary before it is normalized by one table look-up per code point.
 *    Only a segment (a starter followed by code points without a boundary
 *    before them, e.g. combining marks or hangul jamo) goes through
 *    unorm2_normalize, which is exact because NFKC never interacts across a
 *    boundary.
 *  - g_ts / g_ts_sup: the one-to-one Traditional -> Simplified mappings,
 *    derived from ICU's "Traditional-Simplified" transliterator: every CJK
 *    code point of its source set (the code points it may change at all,
 *    utrans_getSourceSet) is transliterated on its own, and only results
 *    that are a single, different CJK code point are kept (one to one).
 *    Chains (x -> y -> z) are composed so that folding is idempotent. The
 *    transliterator is built from its rules (open_ts_rules), not by ID.
 * Supplementary code points outside the tables are normalized by ICU one at
 * a time (rare in Chinese text).
 *
 * The tables never change after the build, so readers need no lock; the
 * build itself runs under a mutex with an atomic "built" flag (double-checked
 * locking) rather than pthread_once so that a build that ran out of memory
 * can be retried. Nothing here allocates per call.
 */
#include "normalize.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <time.h>

#include <unicode/uchar.h>
#include <unicode/udata.h>
#include <unicode/unorm2.h>
#include <unicode/ures.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/uset.h>
#include <unicode/utrans.h>

/* g_map entry layout. Single output: bits 0-20 code point, 21-22 class.
 * Pooled output (0 or 2+ code points): bits 0-19 pool offset, 20-27 count.
 * Bit 30: pooled. Bit 31: NFKC_CF boundary before this code point. */
#define M_BB 0x80000000u
#define M_POOLED 0x40000000u
#define M_CP(e) ((e) & 0x1fffffu)
#define M_CLS(e) (((e) >> 21) & 3u)
#define M_OFF(e) ((e) & 0xfffffu)
#define M_CNT(e) (((e) >> 20) & 0xffu)
#define PACK(cp, cls) ((uint32_t)(cp) | ((uint32_t)(cls) << 21))

#define POOL_MAX 32768
#define TS_SUP_MAX 8192

static uint32_t g_map[0x10000];
static uint32_t g_pool[POOL_MAX];   /* PACK()ed outputs of pooled entries */
static size_t g_pool_len;
static uint8_t g_cls[0x10000];      /* class of each BMP code point */
static uint32_t g_ts[0x10000];      /* T->S of BMP code points; 0 = none */
static uint32_t g_ts_sup[TS_SUP_MAX][2];   /* supplementary (from, to), sorted */
static size_t g_ts_sup_len;
static const UNormalizer2 *g_n2;
static UBreakIterator *g_word_tpl;
static UBreakIterator *g_sent_tpl;
static esi_norm_stats g_stats;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_state;          /* 0 not built, 1 built, <0 failed for good */
static char g_fail_msg[512];        /* message of a permanent failure */

/* Milliseconds of the monotonic clock. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The class of code point cp, from ICU's properties (no tables needed). */
static uint32_t class_compute(uint32_t cp)
{
    if (cp == 0x3007 || cp == 0x30fc)   /* 〇 and the kana length mark */
        return ESI_CLS_CJK;
    int8_t t = u_charType((UChar32)cp);
    switch (t) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
    case U_LETTER_NUMBER: {
        UErrorCode st = U_ZERO_ERROR;
        UScriptCode sc = uscript_getScript((UChar32)cp, &st);
        if (U_SUCCESS(st) && (sc == USCRIPT_HAN || sc == USCRIPT_HIRAGANA ||
                              sc == USCRIPT_KATAKANA || sc == USCRIPT_HANGUL))
            return ESI_CLS_CJK;
        return ESI_CLS_WORD;
    }
    case U_DECIMAL_DIGIT_NUMBER:
        return ESI_CLS_DIGIT;
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
    case U_COMBINING_SPACING_MARK:
    case U_OTHER_NUMBER:
        return ESI_CLS_WORD;
    default:
        return ESI_CLS_SEP;
    }
}

uint32_t esi_norm_class(uint32_t cp)
{
    if (cp < 0x10000 && atomic_load_explicit(&g_state, memory_order_acquire) == 1)
        return g_cls[cp];
    return class_compute(cp);
}

/* T->S of a supplementary code point by binary search; cp if none. */
static uint32_t ts_sup(uint32_t cp)
{
    size_t lo = 0, hi = g_ts_sup_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g_ts_sup[mid][0] == cp)
            return g_ts_sup[mid][1];
        if (g_ts_sup[mid][0] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return cp;
}

/* T->S of any code point, using the tables as they stand. */
static uint32_t ts_of(uint32_t cp)
{
    if (cp < 0x10000)
        return g_ts[cp] ? g_ts[cp] : cp;
    return ts_sup(cp);
}

uint32_t esi_norm_simplify(uint32_t cp)
{
    if (atomic_load_explicit(&g_state, memory_order_acquire) != 1)
        return cp;
    return ts_of(cp);
}

/* Class of an output code point once the tables are built. */
static inline uint32_t cls_of(uint32_t cp)
{
    return cp < 0x10000 ? g_cls[cp] : class_compute(cp);
}

/* Append cp to a UTF-16 buffer at *k (room checked by the caller). */
static inline void put16(UChar *u, int32_t *k, uint32_t cp)
{
    if (cp < 0x10000) {
        u[(*k)++] = (UChar)cp;
    } else {
        u[(*k)++] = (UChar)(0xd7c0 + (cp >> 10));
        u[(*k)++] = (UChar)(0xdc00 | (cp & 0x3ff));
    }
}

/* Read the code point at u[*k] (k < n), advancing *k. */
static inline uint32_t get16(const UChar *u, int32_t n, int32_t *k)
{
    uint32_t c = u[(*k)++];
    if (c >= 0xd800 && c < 0xdc00 && *k < n && u[*k] >= 0xdc00 && u[*k] < 0xe000)
        c = 0x10000 + ((c - 0xd800) << 10) + (u[(*k)++] - 0xdc00u);
    return c;
}

/* ---- the one-time build ------------------------------------------------- */


/* Record the mapping from -> to (both single code points). Returns false if
 * the supplementary table is full. */
static bool ts_record(uint32_t from, uint32_t to)
{
    if (from == to)
        return true;
    if (from < 0x10000) {
        g_ts[from] = to;
        return true;
    }
    if (g_ts_sup_len == TS_SUP_MAX)
        return false;
    g_ts_sup[g_ts_sup_len][0] = from;
    g_ts_sup[g_ts_sup_len][1] = to;
    g_ts_sup_len++;
    return true;
}

/* Transliterate one code point alone; returns its single-code-point result,
 * or 0 if the result is not exactly one code point. */
static uint32_t ts_one(UTransliterator *t, uint32_t cp, UErrorCode *st)
{
    UChar u[32];
    int32_t k = 0, limit;
    put16(u, &k, cp);
    limit = k;
    utrans_transUChars(t, u, &k, 32, 0, &limit, st);
    if (U_FAILURE(*st))
        return 0;
    int32_t j = 0;
    uint32_t r = get16(u, k, &j);
    return j == k ? r : 0;
}

/* Where folding cp repeatedly ends: the first fixed point of the chain
 * cp -> T(cp) -> ..., or, if the chain runs into a cycle (ICU has
 * 苎 -> 苧 -> 苎), the smallest code point of the cycle. Counts chains. */
static uint32_t resolve_chain(uint32_t cp)
{
    uint32_t path[16];
    int n = 0;
    uint32_t x = cp;
    while (n < 16) {
        for (int i = 0; i < n; i++)
            if (path[i] == x) {          /* cycle path[i..n) */
                uint32_t m = x;
                for (int j = i; j < n; j++)
                    m = path[j] < m ? path[j] : m;
                g_stats.ts_chained++;
                return m;
            }
        path[n++] = x;
        uint32_t y = ts_of(x);
        if (y == x) {
            if (n > 2)
                g_stats.ts_chained++;
            return x;
        }
        x = y;
    }
    return x;
}

/* ICU's Traditional-Simplified transliterator built from its rules, found
 * in ICU's transliterator data the way ICU's registry finds them (the ID's
 * entry under RuleBasedTransliteratorIDs, through its aliases, to a rule
 * resource and a direction). Opening it by ID first builds that registry,
 * every transliterator ICU knows: about 140 M instructions, three quarters
 * of a one-query `edusearch` process, for the same transliterator
 * (check_analyzer trad_to_simp_table_matches_icu compares the table with
 * one opened by ID). NULL where ICU's data is laid out otherwise: the
 * caller then opens it by ID. */
static UTransliterator *open_ts_rules(void)
{
    UErrorCode st = U_ZERO_ERROR;
    UResourceBundle *root = ures_openDirect(U_ICUDATA_NAME U_TREE_SEPARATOR_STRING
                                            "translit", "root", &st);
    UResourceBundle *ids = ures_getByKey(root, "RuleBasedTransliteratorIDs", NULL, &st);
    UTransliterator *t = NULL;
    char id[64] = "Traditional-Simplified";
    for (int hop = 0; hop < 4 && U_SUCCESS(st) && !t; hop++) {
        UResourceBundle *e = ures_getByKey(ids, id, NULL, &st);
        UErrorCode ast = U_ZERO_ERROR;
        int32_t n = 0;
        const UChar *alias = ures_getStringByKey(e, "alias", &n, &ast);
        if (U_SUCCESS(st) && U_SUCCESS(ast)) {          /* another ID: follow it */
            if (n <= 0 || n >= (int32_t)sizeof id)
                st = U_INVALID_FORMAT_ERROR;
            else
                u_UCharsToChars(alias, id, n + 1);
        } else if (U_SUCCESS(st)) {
            UResourceBundle *f = ures_getByKey(e, "file", NULL, &st);
            int32_t rl = 0, dl = 0;
            const UChar *rules = ures_getStringByKey(f, "resource", &rl, &st);
            const UChar *dir = ures_getStringByKey(f, "direction", &dl, &st);
            UChar uid[64];
            u_charsToUChars(id, uid, (int32_t)strlen(id) + 1);
            bool reverse = U_SUCCESS(st) && dl == 7 && dir[0] == 'R';  /* "REVERSE" */
            if (U_SUCCESS(st))
                t = utrans_openU(uid, -1, reverse ? UTRANS_REVERSE : UTRANS_FORWARD,
                                 rules, rl, NULL, &st);
            ures_close(f);
        }
        ures_close(e);
    }
    ures_close(ids);
    ures_close(root);
    if (t && U_FAILURE(st)) {
        utrans_close(t);
        t = NULL;
    }
    return t;
}

/* Derive the T->S tables from ICU's transliterator (see the file comment):
 * every single code point of the transliterator's source set (the code
 * points it may change at all) is transliterated on its own. */
static es_status build_ts(esi_err *e)
{
    es_status rc = ES_OK;
    UErrorCode st = U_ZERO_ERROR;
    UChar id[32];
    UTransliterator *t = NULL;
    USet *set = NULL;
    u_charsToUChars("Traditional-Simplified", id, 23);
    t = open_ts_rules();
    if (!t)
        t = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, NULL, &st);
    if (U_FAILURE(st)) {
        t = NULL;
        rc = esi_err_set(e, ES_ERROR, "ICU transliterator Traditional-Simplified "
                         "unavailable (%s); install the full ICU data (libicu)",
                         u_errorName(st));
        goto done;
    }
    set = uset_openEmpty();
    if (!set) {
        rc = esi_err_set(e, ES_ENOMEM, "out of memory building the T->S table");
        goto done;
    }
    utrans_getSourceSet(t, false, set, &st);
    int32_t items = uset_getItemCount(set);
    for (int32_t i = 0; U_SUCCESS(st) && i < items; i++) {
        UChar32 lo, hi;
        UChar str[16];
        int32_t sl = uset_getItem(set, i, &lo, &hi, str, 16, &st);
        if (U_FAILURE(st) || sl != 0)   /* a string item: not one code point */
            continue;
        for (UChar32 cp = lo; cp <= hi && U_SUCCESS(st); cp++) {
            if (class_compute((uint32_t)cp) != ESI_CLS_CJK)
                continue;
            uint32_t to = ts_one(t, (uint32_t)cp, &st);
            if (U_FAILURE(st))
                break;
            if (to == 0 || class_compute(to) != ESI_CLS_CJK) {
                g_stats.ts_rejected++;
                continue;
            }
            if (to == (uint32_t)cp)
                continue;
            if (!ts_record((uint32_t)cp, to)) {
                rc = esi_err_set(e, ES_ERROR, "T->S table: more than %d "
                                 "supplementary mappings", TS_SUP_MAX);
                goto done;
            }
            g_stats.ts_mappings++;
        }
    }
    if (U_FAILURE(st)) {
        rc = esi_err_set(e, ES_ERROR, "ICU Traditional-Simplified failed (%s)",
                         u_errorName(st));
        goto done;
    }
    /* The source set is in code point order, so g_ts_sup is sorted. Compose
     * chains so that folding twice equals folding once. */
    for (uint32_t cp = 0; cp < 0x10000; cp++)
        if (g_ts[cp])
            g_ts[cp] = resolve_chain(cp);
    for (size_t i = 0; i < g_ts_sup_len; i++)
        g_ts_sup[i][1] = resolve_chain(g_ts_sup[i][0]);
done:
    if (set)
        uset_close(set);
    if (t)
        utrans_close(t);
    return rc;
}

/* Normalize one code point alone with ICU into out (room 32); returns the
 * output count or -1 on an ICU failure. */
static int32_t nfkc_one(uint32_t cp, uint32_t *out)
{
    UChar src[2], dst[64];
    int32_t k = 0;
    UErrorCode st = U_ZERO_ERROR;
    put16(src, &k, cp);
    int32_t n = unorm2_normalize(g_n2, src, k, dst, 64, &st);
    if (U_FAILURE(st))
        return -1;
    int32_t j = 0, m = 0;
    while (j < n && m < 32)
        out[m++] = get16(dst, n, &j);
    return m;
}

/* Build g_cls and g_map for the BMP. */
static es_status build_map(esi_err *e)
{
    for (uint32_t cp = 0; cp < 0x10000; cp++)
        g_cls[cp] = (uint8_t)class_compute(cp);
    g_pool_len = 0;
    for (uint32_t cp = 0; cp < 0x10000; cp++) {
        uint32_t bb = 0;
        if (cp >= 0xd800 && cp < 0xe000) {   /* never decoded */
            g_map[cp] = M_BB | PACK(0xfffd, ESI_CLS_SEP);
            continue;
        }
        if (unorm2_isInert(g_n2, (UChar32)cp)) {   /* unchanged, boundaries */
            uint32_t o = ts_of(cp);
            g_map[cp] = M_BB | PACK(o, cls_of(o));
            continue;
        }
        if (unorm2_hasBoundaryBefore(g_n2, (UChar32)cp))
            bb = M_BB;
        uint32_t outs[32];
        int32_t m = nfkc_one(cp, outs);
        if (m < 0)
            return esi_err_set(e, ES_ERROR, "ICU nfkc_cf failed on U+%04X", cp);
        if (!(m == 1 && outs[0] == cp))
            g_stats.nfkc_changed_bmp++;
        if (m == 1) {
            uint32_t o = ts_of(outs[0]);
            g_map[cp] = bb | PACK(o, cls_of(o));
            continue;
        }
        if (g_pool_len + (size_t)m > POOL_MAX)
            return esi_err_set(e, ES_ERROR, "nfkc_cf table: pool overflow");
        g_map[cp] = bb | M_POOLED | (uint32_t)g_pool_len | ((uint32_t)m << 20);
        for (int32_t i = 0; i < m; i++) {
            uint32_t o = ts_of(outs[i]);
            g_pool[g_pool_len++] = PACK(o, cls_of(o));
        }
    }
    return ES_OK;
}

/* Open the zh break iterator of type into *tpl (the template every analyzer
 * clones) unless it is open already; what names it in the message. */
static es_status open_break_template(UBreakIterator **tpl, UBreakIteratorType type,
                                     const char *what, esi_err *e)
{
    if (*tpl)
        return ES_OK;
    UErrorCode st = U_ZERO_ERROR;
    *tpl = ubrk_open(type, "zh", NULL, 0, &st);
    if (U_FAILURE(st)) {
        *tpl = NULL;
        return esi_err_set(e, st == U_MEMORY_ALLOCATION_ERROR ? ES_ENOMEM : ES_ERROR,
                           "ICU %s break iterator (zh) unavailable (%s)", what,
                           u_errorName(st));
    }
    return ES_OK;
}

/* Everything esi_norm_init builds, in order; called under g_lock. */
static es_status build_all(esi_err *e)
{
    UErrorCode st = U_ZERO_ERROR;
    double t0 = now_ms();
    memset(&g_stats, 0, sizeof g_stats);
    memset(g_ts, 0, sizeof g_ts);
    g_ts_sup_len = 0;
    g_n2 = unorm2_getNFKCCasefoldInstance(&st);
    if (U_FAILURE(st))
        return esi_err_set(e, ES_ERROR, "ICU nfkc_cf data unavailable (%s); "
                           "install the ICU data (libicu)", u_errorName(st));
    double t1 = now_ms();
    es_status rc = build_ts(e);
    if (rc < 0)
        return rc;
    g_stats.ts_ms = now_ms() - t1;
    rc = build_map(e);
    if (rc < 0)
        return rc;
    if ((rc = open_break_template(&g_word_tpl, UBRK_WORD, "word", e)) < 0 ||
        (rc = open_break_template(&g_sent_tpl, UBRK_SENTENCE, "sentence", e)) < 0)
        return rc;
    g_stats.build_ms = now_ms() - t0;
    return ES_OK;
}

es_status esi_norm_init(esi_err *e)
{
    int s = atomic_load_explicit(&g_state, memory_order_acquire);
    if (s == 1)
        return ES_OK;
    es_status rc = ES_OK;
    pthread_mutex_lock(&g_lock);
    s = atomic_load_explicit(&g_state, memory_order_relaxed);
    if (s == 0) {
        esi_err local;
        esi_err_clear(&local);
        rc = build_all(&local);
        if (rc == ES_OK) {
            atomic_store_explicit(&g_state, 1, memory_order_release);
        } else {
            if (rc != ES_ENOMEM) {
                snprintf(g_fail_msg, sizeof g_fail_msg, "%s", local.msg);
                atomic_store_explicit(&g_state, (int)rc, memory_order_relaxed);
            }
            esi_err_set(e, rc, "%s", local.msg);
        }
    } else if (s < 0) {
        rc = esi_err_set(e, (es_status)s, "%s", g_fail_msg);
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

const UBreakIterator *esi_norm_word_template(void) { return g_word_tpl; }
const UBreakIterator *esi_norm_sentence_template(void) { return g_sent_tpl; }

void esi_norm_get_stats(esi_norm_stats *out)
{
    pthread_mutex_lock(&g_lock);
    *out = g_stats;
    pthread_mutex_unlock(&g_lock);
}

/* ---- streaming ---------------------------------------------------------- */

void esi_norm_start(esi_norm *n, const char *text, size_t len)
{
    n->s = (const uint8_t *)text;
    n->len = text ? len : 0;
    n->pos = 0;
    n->have_la = false;
    n->la_cp = 0;
    n->la_start = n->la_end = 0;
}

/* True if NFKC_CF has a boundary before cp. */
static inline bool bb_of(uint32_t cp)
{
    if (cp < 0x10000)
        return (g_map[cp] & M_BB) != 0;
    return unorm2_hasBoundaryBefore(g_n2, (UChar32)cp) != 0;
}

/* Decode the code point at n->pos (which is < len), advancing. */
static inline uint32_t decode(esi_norm *n)
{
    uint8_t c = n->s[n->pos];
    if (c < 0x80) {
        n->pos++;
        return c;
    }
    return esi_utf8_next(n->s, n->len, &n->pos);
}

/* Emit the normalization of the lone code point cp (range [cs, ce)) at
 * out[k]; returns the new count, or SIZE_MAX on an ICU failure. */
static inline size_t emit_single(esi_nchar *out, size_t k, uint32_t cp,
                                 size_t cs, size_t ce)
{
    if (cp < 0x10000) {
        uint32_t m = g_map[cp];
        if (!(m & M_POOLED)) {
            out[k].cp = M_CP(m);
            out[k].cls = M_CLS(m);
            out[k].start = cs;
            out[k].end = ce;
            return k + 1;
        }
        const uint32_t *p = g_pool + M_OFF(m);
        for (uint32_t i = 0, c = M_CNT(m); i < c; i++, k++) {
            out[k].cp = M_CP(p[i]);
            out[k].cls = M_CLS(p[i]);
            out[k].start = cs;
            out[k].end = ce;
        }
        return k;
    }
    uint32_t outs[32];
    int32_t m = nfkc_one(cp, outs);
    if (m < 0)
        return SIZE_MAX;
    for (int32_t i = 0; i < m; i++, k++) {
        uint32_t o = ts_of(outs[i]);
        out[k].cp = o;
        out[k].cls = cls_of(o);
        out[k].start = cs;
        out[k].end = ce;
    }
    return k;
}

/* Read the next code point into the look-ahead slot, if any is left. */
static inline void read_ahead(esi_norm *n)
{
    if (n->pos >= n->len) {
        n->have_la = false;
        return;
    }
    n->la_start = n->pos;
    n->la_cp = decode(n);
    n->la_end = n->pos;
    n->have_la = true;
}

es_status esi_norm_fill(esi_norm *n, esi_nchar *out, size_t cap,
                        size_t *count, esi_err *e)
{
    size_t k = *count;
    while (k + ESI_NORM_RESERVE <= cap) {
        uint32_t cp;
        size_t cs, ce;
        if (n->have_la) {
            cp = n->la_cp;
            cs = n->la_start;
            ce = n->la_end;
        } else {
            if (n->pos >= n->len)
                break;
            cs = n->pos;
            cp = decode(n);
            ce = n->pos;
        }
        read_ahead(n);
        if (!n->have_la || bb_of(n->la_cp)) {
            k = emit_single(out, k, cp, cs, ce);
            if (k == SIZE_MAX)
                return esi_err_set(e, ES_ERROR, "ICU nfkc_cf failed at byte %zu", cs);
            continue;
        }
        /* A segment: cp followed by code points without a boundary before. */
        uint32_t seg[ESI_NORM_MAX_SEG];
        size_t segs[ESI_NORM_MAX_SEG], sege[ESI_NORM_MAX_SEG];
        int m = 0;
        seg[m] = cp; segs[m] = cs; sege[m] = ce; m++;
        while (n->have_la && m < ESI_NORM_MAX_SEG && !bb_of(n->la_cp)) {
            seg[m] = n->la_cp; segs[m] = n->la_start; sege[m] = n->la_end; m++;
            read_ahead(n);
        }
        UChar src[2 * ESI_NORM_MAX_SEG], dst[2048];
        int32_t sl = 0;
        for (int i = 0; i < m; i++)
            put16(src, &sl, seg[i]);
        UErrorCode st = U_ZERO_ERROR;
        int32_t dl = unorm2_normalize(g_n2, src, sl, dst, 2048, &st);
        if (U_FAILURE(st))
            return esi_err_set(e, ES_ERROR, "ICU nfkc_cf failed at byte %zu (%s)",
                               cs, u_errorName(st));
        if (dl == sl && memcmp(src, dst, (size_t)sl * sizeof(UChar)) == 0) {
            for (int i = 0; i < m; i++, k++) {
                uint32_t o = ts_of(seg[i]);
                out[k].cp = o;
                out[k].cls = cls_of(o);
                out[k].start = segs[i];
                out[k].end = sege[i];
            }
            continue;
        }
        int32_t j = 0;
        while (j < dl) {
            uint32_t o = ts_of(get16(dst, dl, &j));
            out[k].cp = o;
            out[k].cls = cls_of(o);
            out[k].start = segs[0];
            out[k].end = sege[m - 1];
            k++;
        }
    }
    *count = k;
    return ES_OK;
}
