/*
 * docfields.c: the official-document field extractor (docs/FIELDS.md).
 * It owns the whole path from raw bytes to the ten field values: cutting the
 * text to a head window and a tail window, normalizing each line of them
 * (UTF-8 decode with U+FFFD for invalid bytes, whitespace dropped except
 * between two ASCII letters/digits, full-width ASCII folded, Markdown
 * markers stripped), and the per-field rules. Two layouts are known:
 *  - letters (GB/T 9704: 红头 "……文件", 文号, 签发人, 标题, 主送, body,
 *    成文日期, 印发 block), the layout of the project's sample replies;
 *  - laws in the corpus's Markdown ("# title", dated adoption lines,
 *    "<!-- INFO END -->"), recognized by that marker in the head window.
 * Every rule is a strict pattern; when a pattern does not match, the field
 * is absent. The extractor never touches the tokenizer; the writer calls it
 * once per document. Time is linear in the two windows, so bounded.
 */
#include "analysis/docfields.h"

#include <stdlib.h>
#include <string.h>

#define HEAD_MAX 16384    /* bytes of the head window */
#define TAIL_MAX 8192     /* bytes of the tail window */
#define LETTER_LINES 40   /* non-empty head lines searched for letter fields */
#define VALUE_MAX 400     /* longest value accepted, in bytes */

enum { F_AGENCY, F_DOCNO, F_SIGNER, F_TITLE, F_TYPE, F_ADDRESSEE, F_PROPOSAL,
       F_DATE, F_DISCLOSURE, F_RESULT, F_COUNT };

static const char *const field_names[F_COUNT] = {
    "agency", "docno", "signer", "title", "type", "addressee", "proposal",
    "date", "disclosure", "result"
};

/* One normalized line: a byte range of the window's text buffer. */
typedef struct line {
    size_t off;     /* start in lines.text */
    size_t len;     /* bytes */
    int hlevel;     /* number of leading '#' in the raw line (Markdown) */
    size_t raw_off; /* the raw line in lines.raw, without its break */
    size_t raw_len;
} line;

typedef struct lines {
    esi_buf text;   /* all normalized lines, back to back */
    const uint8_t *raw; /* the window they came from (borrowed) */
    line *v;        /* non-empty lines, in order */
    size_t n, cap;
} lines;

/* A found value: a byte range into some normalized text, or an owned copy. */
typedef struct found {
    char *s;        /* esi_malloc'ed value, NULL when absent */
    size_t len;
} found;

typedef struct ctx {
    es_status rc;
    found f[F_COUNT];
} ctx;

/* ---- small text helpers --------------------------------------------- */

/* True if s[0..n) starts with the literal lit. */
static bool has_prefix(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(s, lit, k) == 0;
}

/* True if s[0..n) ends with the literal lit. */
static bool has_suffix(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(s + n - k, lit, k) == 0;
}

/* The first occurrence of lit in s[0..n), or NULL. */
static const char *find(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (k == 0 || n < k)
        return NULL;
    for (size_t i = 0; i + k <= n; i++)
        if (s[i] == lit[0] && memcmp(s + i, lit, k) == 0)
            return s + i;
    return NULL;
}

/* Decode the code point at s[*i] of valid normalized text. */
static uint32_t next_cp(const char *s, size_t n, size_t *i)
{
    return esi_utf8_next((const uint8_t *)s, n, i);
}

/* True for a CJK ideograph (the basic block, extension A, compatibility
 * ideographs and the supplementary planes) or 〇. */
static bool is_han(uint32_t c)
{
    return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x20000 && c <= 0x3ffff) ||
           c == 0x3007;
}

/* Number of code points in s[0..n) if every one is Han, else 0. */
static size_t all_han(const char *s, size_t n)
{
    size_t i = 0, k = 0;
    while (i < n) {
        if (!is_han(next_cp(s, n, &i)))
            return 0;
        k++;
    }
    return k;
}

/* Remember a value for field `which` (first rule to find it wins). The
 * value must be non-empty, not too long and free of U+FFFD (which marks
 * invalid input: not a confident value). */
static void put(ctx *c, int which, const char *s, size_t n)
{
    if (c->rc != ES_OK || c->f[which].s || n == 0 || n > VALUE_MAX)
        return;
    if (find(s, n, "\xef\xbf\xbd"))
        return;
    char *v = esi_strndup(s, n);
    if (!v) {
        c->rc = ES_ENOMEM;
        return;
    }
    c->f[which].s = v;
    c->f[which].len = n;
}

/* ---- normalization ---------------------------------------------------- */

/* True for code points that end a line: LF, CR, NUL, VT, FF, NEL, LS, PS. */
static bool is_break(uint32_t c)
{
    return c == '\n' || c == '\r' || c == 0 || c == 0x0b || c == 0x0c ||
           c == 0x85 || c == 0x2028 || c == 0x2029;
}

/* True for whitespace dropped inside a line (PDF extraction scatters it). */
static bool is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0xa0 || c == 0x3000 || c == 0xfeff ||
           (c >= 0x2000 && c <= 0x200b) || c == 0x202f || c == 0x205f;
}

static bool is_ascii_alnum(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Append one line record for text[start..len) unless it is empty or a
 * Markdown rule (only '-', '=', '_'). */
static void end_line(es_status *rc, lines *L, size_t start, int hlevel, size_t raw_off,
                     size_t raw_end)
{
    if (*rc != ES_OK)
        return;
    size_t len = L->text.len - start;
    bool rule = len > 0;
    for (size_t i = start; i < L->text.len && rule; i++)
        rule = L->text.data[i] == '-' || L->text.data[i] == '=' || L->text.data[i] == '_';
    if (len == 0 || rule) {
        L->text.len = start;
        return;
    }
    if (L->n == L->cap) {
        size_t ncap = L->cap ? L->cap * 2 : 64, bytes;
        if (!esi_mul_ok(ncap, sizeof(line), &bytes)) {
            *rc = ES_ELIMIT;
            return;
        }
        line *nv = esi_realloc(L->v, bytes);
        if (!nv) {
            *rc = ES_ENOMEM;
            return;
        }
        L->v = nv;
        L->cap = ncap;
    }
    L->v[L->n].off = start;
    L->v[L->n].len = len;
    L->v[L->n].hlevel = hlevel;
    L->v[L->n].raw_off = raw_off;
    L->v[L->n].raw_len = raw_end - raw_off;
    L->n++;
}

/* Split s[0..n) into normalized non-empty lines (see the file comment). */
static void split_lines(es_status *rc, const uint8_t *s, size_t n, lines *L)
{
    size_t i = 0, start = 0, raw_start = 0;
    int hlevel = 0;
    L->raw = s;
    bool at_start = true, pending_space = false;
    uint32_t prev = 0;
    esi_buf_reserve(rc, &L->text, n + 8);
    if (*rc != ES_OK)
        return;
    while (i < n && *rc == ES_OK) {
        size_t at = i;
        uint32_t c = esi_utf8_next(s, n, &i);
        if (is_break(c)) {
            end_line(rc, L, start, hlevel, raw_start, at);
            raw_start = i;
            start = L->text.len;
            hlevel = 0;
            at_start = true;
            pending_space = false;
            prev = 0;
            continue;
        }
        if (is_space(c)) {
            pending_space = true;
            continue;
        }
        if (at_start && (c == '#' || c == '>')) {
            if (c == '#')
                hlevel++;
            continue;
        }
        if (c == '*')
            continue;               /* Markdown emphasis */
        if (c >= 0xff01 && c <= 0xff5e && c != 0xff08 && c != 0xff09 &&
            c != 0xff1a && c != 0xff0c && c != 0xff1b && c != 0xff1f &&
            c != 0xff01)
            c -= 0xfee0;            /* full-width ASCII -> ASCII */
        if (c == ':')
            c = 0xff1a;             /* one colon: U+FF1A */
        if (c < 0x20 || c == 0x7f)
            c = 0xfffd;             /* stray control: not confident text */
        if (pending_space && is_ascii_alnum(prev) && is_ascii_alnum(c))
            esi_buf_put_u8(rc, &L->text, ' ');
        pending_space = false;
        at_start = false;
        uint8_t enc[4];
        size_t k = esi_utf8_put(enc, c);
        esi_buf_put(rc, &L->text, enc, k);
        prev = c;
    }
    end_line(rc, L, start, hlevel, raw_start, n);
}

static void lines_free(lines *L)
{
    esi_buf_free(&L->text);
    esi_free(L->v);
    L->v = NULL;
    L->n = L->cap = 0;
}

/* The text of line k. */
static const char *ltext(const lines *L, size_t k)
{
    return (const char *)L->text.data + L->v[k].off;
}

/* ---- numbers and dates ------------------------------------------------ */

/* The value of a Chinese digit (〇○零O0 and 一..九), or -1. */
static int cn_digit(uint32_t c)
{
    switch (c) {
    case 0x3007: case 0x25cb: case 0x96f6: case 'O': case 0x039f: return 0;
    case 0x4e00: return 1;
    case 0x4e8c: return 2;
    case 0x4e09: return 3;
    case 0x56db: return 4;
    case 0x4e94: return 5;
    case 0x516d: return 6;
    case 0x4e03: return 7;
    case 0x516b: return 8;
    case 0x4e5d: return 9;
    default: return -1;
    }
}

/* Parse a number 1..99 at s[*i]: 1-2 ASCII digits or a Chinese numeral
 * (五, 十, 十二, 二十, 二十六). Returns the value or -1 (then *i is kept). */
static int parse_small(const char *s, size_t n, size_t *i)
{
    size_t k = *i;
    if (k < n && s[k] >= '0' && s[k] <= '9') {
        int v = s[k++] - '0';
        if (k < n && s[k] >= '0' && s[k] <= '9')
            v = v * 10 + (s[k++] - '0');
        *i = k;
        return v;
    }
    int tens = -1, ones = -1, first = -1;
    bool seen_ten = false;
    for (int step = 0; step < 3 && k < n; step++) {
        size_t j = k;
        uint32_t c = next_cp(s, n, &j);
        if (c == 0x5341 && !seen_ten) {          /* 十 */
            seen_ten = true;
            tens = first < 0 ? 1 : first;
            first = -1;
            k = j;
            continue;
        }
        int d = cn_digit(c);
        if (d < 1 || first >= 0 || (seen_ten && ones >= 0))
            break;
        if (seen_ten)
            ones = d;
        else
            first = d;
        k = j;
        if (seen_ten)
            break;
    }
    int v;
    if (seen_ten)
        v = tens * 10 + (ones > 0 ? ones : 0);
    else if (first > 0)
        v = first;
    else
        return -1;
    *i = k;
    return v;
}

/* Parse a four-digit year (ASCII or Chinese digits) at s[*i]; -1 if none. */
static int parse_year(const char *s, size_t n, size_t *i)
{
    size_t k = *i;
    int v = 0;
    for (int d = 0; d < 4; d++) {
        if (k >= n)
            return -1;
        int x;
        if (s[k] >= '0' && s[k] <= '9') {
            x = s[k] - '0';
            k++;
        } else {
            size_t j = k;
            x = cn_digit(next_cp(s, n, &j));
            if (x < 0)
                return -1;
            k = j;
        }
        v = v * 10 + x;
    }
    if (k < n && s[k] >= '0' && s[k] <= '9')
        return -1;                           /* five digits: not a year */
    *i = k;
    return v;
}

/* Days in month m of year y. */
static int month_days(int y, int m)
{
    static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* Parse "Y年M月D日" (Arabic or Chinese numerals) at s[0..n); returns the
 * bytes consumed and *ymd = yyyymmdd, or 0 when there is no valid date. */
static size_t parse_date(const char *s, size_t n, uint32_t *ymd)
{
    size_t i = 0;
    int y = parse_year(s, n, &i);
    if (y < 1900 || y > 2100 || !has_prefix(s + i, n - i, "年"))
        return 0;
    i += 3;
    int m = parse_small(s, n, &i);
    if (m < 1 || m > 12 || !has_prefix(s + i, n - i, "月"))
        return 0;
    i += 3;
    int d = parse_small(s, n, &i);
    if (d < 1 || d > month_days(y, m) || !has_prefix(s + i, n - i, "日"))
        return 0;
    i += 3;
    *ymd = (uint32_t)(y * 10000 + m * 100 + d);
    return i;
}

/* Store yyyymmdd as the ISO date field. */
static void put_date(ctx *c, uint32_t ymd)
{
    char b[16];
    unsigned y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
    b[0] = (char)('0' + y / 1000);
    b[1] = (char)('0' + y / 100 % 10);
    b[2] = (char)('0' + y / 10 % 10);
    b[3] = (char)('0' + y % 10);
    b[4] = '-';
    b[5] = (char)('0' + m / 10);
    b[6] = (char)('0' + m % 10);
    b[7] = '-';
    b[8] = (char)('0' + d / 10);
    b[9] = (char)('0' + d % 10);
    put(c, F_DATE, b, 10);
}

/* ---- vocabularies ----------------------------------------------------- */

/* True if name (normalized) looks like an issuing body: 2..40 Han chars
 * ending in a word that names an organ (局, 委员会, 国务院, 政府 ...). A
 * joint name "A、B" is accepted when each part is. */
static bool is_agency(const char *s, size_t n)
{
    static const char *const ends[] = {
        "局", "厅", "部", "署", "委员会", "委", "政府", "办公室", "院",
        "人民代表大会", "银行", "小组", "中心", "协会", "联合会", "总会",
        "学校", "大学", "学院", "司", "处", "办"
    };
    const char *sep = find(s, n, "、");
    if (sep)
        return is_agency(s, (size_t)(sep - s)) &&
               is_agency(sep + 3, n - (size_t)(sep - s) - 3);
    size_t k = all_han(s, n);
    if (k < 2 || k > 40)
        return false;
    if (find(s, n, "关于") || find(s, n, "会议"))
        return false;
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        if (has_suffix(s, n, ends[i]) && n > strlen(ends[i]))
            return true;
    return false;
}

/* Length of s without trailing parenthesized groups: "（试行）", "(一)". */
static size_t strip_parens(const char *s, size_t n)
{
    for (;;) {
        size_t open = 0;
        bool found_open = false;
        if (has_suffix(s, n, "）")) {
            for (size_t i = n; i >= 3; i--)
                if (has_prefix(s + i - 3, n - i + 3, "（")) {
                    open = i - 3;
                    found_open = true;
                    break;
                }
        } else if (n > 0 && s[n - 1] == ')') {
            for (size_t i = n; i >= 1; i--)
                if (s[i - 1] == '(') {
                    open = i - 1;
                    found_open = true;
                    break;
                }
        }
        if (!found_open || open == 0)
            return n;
        n = open;
    }
}

/* The document type named by the end of a title, or NULL. Longest words
 * first so that 办法 is not read as 法. */
static const char *title_type(const char *s, size_t n)
{
    static const char *const types[][2] = {
        { "修正案", "修正案" }, { "办法", "办法" }, { "细则", "细则" },
        { "规则", "规则" }, { "规定", "规定" }, { "条例", "条例" },
        { "决定", "决定" }, { "决议", "决议" }, { "解释", "解释" },
        { "批复", "批复" }, { "通知", "通知" }, { "通报", "通报" },
        { "意见", "意见" }, { "答复", "答复" }, { "复函", "复函" },
        { "方案", "方案" }, { "报告", "报告" }, { "请示", "请示" },
        { "公告", "公告" }, { "通告", "通告" }, { "公报", "公报" },
        { "纪要", "纪要" }, { "安排", "安排" }, { "守则", "守则" },
        { "章程", "章程" }, { "准则", "准则" }, { "规范", "规范" },
        { "规划", "规划" }, { "纲要", "纲要" }, { "要点", "要点" },
        { "法典", "法" }, { "宪法", "法" }
    };
    n = strip_parens(s, n);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (has_suffix(s, n, types[i][0]) && n > strlen(types[i][0]))
            return types[i][1];
    if (has_suffix(s, n, "的函"))
        return "函";
    if (has_suffix(s, n, "法") && n >= 9) {
        static const char *const notlaw[] = { "司法", "方法", "做法", "说法",
                                              "看法", "想法", "执法", "违法",
                                              "合法", "非法", "依法", "守法" };
        for (size_t i = 0; i < sizeof notlaw / sizeof notlaw[0]; i++)
            if (has_suffix(s, n, notlaw[i]))
                return NULL;
        return "法";
    }
    return NULL;
}

/* ---- letter rules ----------------------------------------------------- */

/* 签发人：NAME[、NAME] anywhere in the line: names of 2..4 Han chars. */
static void rule_signer(ctx *c, const char *s, size_t n)
{
    const char *p = find(s, n, "签发人：");
    if (!p)
        return;
    p += strlen("签发人：");
    size_t rest = n - (size_t)(p - s), i = 0, k = 0, run = 0;
    bool ok = true;
    while (i < rest) {
        size_t j = i;
        uint32_t cp = next_cp(p, rest, &j);
        if (is_han(cp) && cp != 0x3007) {
            run++;
        } else if (cp == 0x3001 && run > 0) {   /* 、 */
            if (run < 2 || run > 4)
                ok = false;
            run = 0;
        } else {
            break;
        }
        i = j;
        k = i;
    }
    if (run < 2 || run > 4)
        ok = false;
    if (ok && k == rest)
        put(c, F_SIGNER, p, k);
}

/* Step *i past the code point there if it is one of the six brackets of
 * set; false (and *i unchanged) if not. */
static bool take_bracket(const char *s, size_t n, size_t *i, const uint32_t set[6])
{
    if (*i >= n)
        return false;
    size_t j = *i;
    uint32_t cp = next_cp(s, n, &j);
    for (size_t k = 0; k < 6; k++)
        if (cp == set[k]) {
            *i = j;
            return true;
        }
    return false;
}

/* Step *i past the ASCII digits there; returns how many. */
static size_t skip_digits(const char *s, size_t n, size_t *i)
{
    size_t from = *i;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9')
        (*i)++;
    return *i - from;
}

/* A docno at the start of the line: Han prefix, bracketed 4-digit year,
 * number, 号; the line holds nothing else except a 签发人 part. Brackets
 * are normalized to 〔〕. */
static void rule_docno(ctx *c, const char *s, size_t n)
{
    size_t i = 0, han = 0;
    while (i < n) {
        size_t j = i;
        uint32_t cp = next_cp(s, n, &j);
        if (!is_han(cp))
            break;
        han++;
        i = j;
    }
    if (han < 1 || han > 15)
        return;
    static const uint32_t opens[] = { 0x3014, 0xff3b, '[', 0xff08, '(', 0x3010 };
    static const uint32_t closes[] = { 0x3015, 0xff3d, ']', 0xff09, ')', 0x3011 };
    size_t pre = i;
    if (!take_bracket(s, n, &i, opens))
        return;
    size_t ys = i;
    if (skip_digits(s, n, &i) != 4)
        return;
    size_t ye = i;
    if (!take_bracket(s, n, &i, closes))
        return;
    size_t ns = i;
    size_t nd = skip_digits(s, n, &i);
    if (nd == 0 || nd > 5 || !has_prefix(s + i, n - i, "号"))
        return;
    size_t ne = i;
    i += 3;
    if (i != n && !has_prefix(s + i, n - i, "签发人"))
        return;
    char b[128];
    size_t k = 0;
    if (pre + 6 + (ye - ys) + (ne - ns) + 3 >= sizeof b)
        return;
    memcpy(b, s, pre);
    k = pre;
    memcpy(b + k, "〔", 3);
    k += 3;
    memcpy(b + k, s + ys, ye - ys);
    k += ye - ys;
    memcpy(b + k, "〕", 3);
    k += 3;
    memcpy(b + k, s + ns, ne - ns);
    k += ne - ns;
    memcpy(b + k, "号", 3);
    k += 3;
    put(c, F_DOCNO, b, k);
}

/* 办理结果：X (X a letter, optionally followed by 类). */
static void rule_result(ctx *c, const char *s, size_t n)
{
    if (!has_prefix(s, n, "办理结果："))
        return;
    size_t i = strlen("办理结果：");
    if (i >= n)
        return;
    char x = s[i];
    if (x >= 'a' && x <= 'z')
        x = (char)(x - 32);
    if (x < 'A' || x > 'Z')
        return;
    if (i + 1 != n && !(i + 1 + 3 == n && has_suffix(s, n, "类")))
        return;
    put(c, F_RESULT, &x, 1);
}

/* 公开属性 lines: a bare 主动公开/依申请公开/不予公开/不公开/免予公开, the
 * same after 公开方式：/公开属性：/公开类型：, or 是否同意对外公开：是/否
 * (normalized to 公开/不公开). */
static void rule_disclosure(ctx *c, const char *s, size_t n)
{
    static const char *const vals[] = { "主动公开", "依申请公开", "不予公开",
                                        "不公开", "免予公开" };
    static const char *const labels[] = { "公开方式：", "公开属性：", "公开类型：",
                                          "信息公开选项：", "信息公开属性：" };
    const char *v = s;
    size_t vn = n;
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (has_prefix(s, n, labels[i])) {
            v = s + strlen(labels[i]);
            vn = n - strlen(labels[i]);
        }
    if (vn >= 3 && has_suffix(v, vn, "）") && has_prefix(v, vn, "（")) {
        v += 3;
        vn -= 6;
        if (has_prefix(v, vn, "此件")) {         /* （此件主动公开） */
            v += 6;
            vn -= 6;
        }
    }
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        if (vn == strlen(vals[i]) && memcmp(v, vals[i], vn) == 0) {
            put(c, F_DISCLOSURE, v, vn);
            return;
        }
    if (has_prefix(s, n, "是否同意对外公开：") || has_prefix(s, n, "是否公开：")) {
        const char *p = find(s, n, "：") + 3;
        size_t pn = n - (size_t)(p - s);
        if (pn == 3 && has_prefix(p, pn, "是"))
            put(c, F_DISCLOSURE, "公开", strlen("公开"));
        else if (pn == 3 && has_prefix(p, pn, "否"))
            put(c, F_DISCLOSURE, "不公开", strlen("不公开"));
    }
}

/* True if t (a candidate title) is shaped like one: it names a subject with
 * 关于 or starts with 对, ends in a document type, and is no sentence. */
static bool title_shaped(const char *t, size_t n)
{
    if (n < 12 || n > VALUE_MAX)
        return false;
    if (!find(t, n, "关于") && !has_prefix(t, n, "对"))
        return false;
    if (find(t, n, "。") || find(t, n, "；") || find(t, n, "：") || find(t, n, "，"))
        return false;
    return title_type(t, n) != NULL;
}

/* The proposal named in a reply's title: after 关于对/对/关于, up to and
 * including 第N号提案/建议/议案; must name a session (会议, 人大, 政协). */
static void rule_proposal(ctx *c, const char *t, size_t n)
{
    static const char *const kinds[] = { "号提案", "号建议", "号议案" };
    const char *end = NULL;
    for (size_t k = 0; k < 3 && !end; k++) {
        const char *p = find(t, n, kinds[k]);
        if (p)
            end = p + strlen(kinds[k]);
    }
    if (!end)
        return;
    const char *num = end - 9;               /* before 号提案 */
    const char *d = num;
    while (d > t && d[-1] >= '0' && d[-1] <= '9')
        d--;
    if (d == num || d - t < 3 || memcmp(d - 3, "第", 3) != 0)
        return;
    const char *start = NULL;
    const char *p = find(t, n, "关于对");
    if (p && p < d)
        start = p + strlen("关于对");
    else if (has_prefix(t, n, "对"))
        start = t + 3;
    else if ((p = find(t, n, "关于")) != NULL && p < d)
        start = p + strlen("关于");
    if (!start)
        return;
    size_t len = (size_t)(end - start);
    if (!find(start, len, "会议") && !find(start, len, "人大") && !find(start, len, "政协"))
        return;
    if (find(start, len, "、") || find(start, len, "和"))
        return;                              /* several proposals: no one value */
    put(c, F_PROPOSAL, start, len);
}

/* Letter layout: 红头, agency line, docno, signer, title (possibly split
 * over up to three lines), addressee, result, disclosure; the issuing date
 * from the tail. */
static void letter_fields(ctx *c, const lines *H, const lines *T)
{
    size_t lim = H->n < LETTER_LINES ? H->n : LETTER_LINES;
    size_t title_at = (size_t)-1, title_end = 0;
    char tb[VALUE_MAX + 1];
    size_t tn = 0;
    for (size_t k = 0; k < lim; k++) {
        const char *s = ltext(H, k);
        size_t n = H->v[k].len;
        rule_signer(c, s, n);
        rule_docno(c, s, n);
        rule_result(c, s, n);
        rule_disclosure(c, s, n);
        if (has_suffix(s, n, "文件") && is_agency(s, n - strlen("文件")))
            put(c, F_AGENCY, s, n - strlen("文件"));
        if (find(s, n, "。"))
            break;                           /* the body has begun */
        if (title_at != (size_t)-1)
            continue;
        if (!find(s, n, "关于") && !has_prefix(s, n, "对"))
            continue;
        tn = 0;
        for (size_t j = k; j < lim && j < k + 3; j++) {
            size_t ln = H->v[j].len;
            if (tn + ln > VALUE_MAX)
                break;
            memcpy(tb + tn, ltext(H, j), ln);
            tn += ln;
            if (title_shaped(tb, tn)) {
                title_at = k;
                title_end = j;
                break;
            }
        }
    }
    if (title_at != (size_t)-1) {
        put(c, F_TITLE, tb, tn);
        const char *ty = title_type(tb, tn);
        put(c, F_TYPE, ty, strlen(ty));
        rule_proposal(c, tb, tn);
        /* an agency line alone before the title (信阳市教育体育局) */
        for (size_t k = 0; k < title_at; k++)
            if (is_agency(ltext(H, k), H->v[k].len)) {
                put(c, F_AGENCY, ltext(H, k), H->v[k].len);
                break;
            }
        /* the title's own agency: 濮阳市教育局关于…… */
        const char *p = find(tb, tn, "关于");
        if (p && p > tb && is_agency(tb, (size_t)(p - tb)))
            put(c, F_AGENCY, tb, (size_t)(p - tb));
        if (title_end + 1 < H->n) {
            const char *s = ltext(H, title_end + 1);
            size_t n = H->v[title_end + 1].len;
            if (has_suffix(s, n, "：") && n > 3 && n <= 90 + 3 && !find(s, n, "。") &&
                !find(s, n - 3, "：") && !has_prefix(s, n, "签发人") &&
                !has_prefix(s, n, "办理结果")) {
                size_t j = 0;
                if (is_han(next_cp(s, n, &j)))
                    put(c, F_ADDRESSEE, s, n - 3);
            }
        }
    }
    /* the tail: 公开属性 and 成文日期 (last bare date line; else 印发 date) */
    uint32_t bare = 0, printed = 0;
    for (size_t k = 0; k < T->n; k++) {
        const char *s = ltext(T, k);
        size_t n = T->v[k].len;
        rule_disclosure(c, s, n);
        uint32_t ymd;
        size_t used = parse_date(s, n, &ymd);
        if (used && used == n)
            bare = ymd;
        else if (used && used + strlen("印发") == n && has_suffix(s, n, "印发"))
            printed = ymd;
    }
    if (bare)
        put_date(c, bare);
    else if (printed)
        put_date(c, printed);
}

/* ---- law rules -------------------------------------------------------- */

/* Copy s[0..n) into out without the text inside 《》 (titles of other
 * documents, whose dates and verbs are not this document's). */
static size_t strip_quoted(const char *s, size_t n, char *out)
{
    size_t i = 0, k = 0;
    int depth = 0;
    while (i < n) {
        if (has_prefix(s + i, n - i, "《")) {
            depth++;
            i += 3;
            continue;
        }
        if (depth > 0 && has_prefix(s + i, n - i, "》")) {
            depth--;
            i += 3;
            continue;
        }
        if (depth == 0)
            out[k++] = s[i];
        i++;
    }
    return k;
}

/* True if seg names an event that dates the text (通过, 修正, 修订, 公布,
 * 发布, 批准, 颁布, 制定); a bare 施行 does not. *adopt says whether the
 * event makes the text (通过, 公布, 发布, 颁布, 制定; with revise, also
 * 修订, the fallback for headers that list only a complete revision). */
static bool seg_event(const char *s, size_t n, bool revise, bool *adopt)
{
    static const char *const adopt_v[] = { "通过", "公布", "发布", "颁布", "制定" };
    static const char *const other_v[] = { "修正", "修订", "批准" };
    *adopt = revise && find(s, n, "修订");
    for (size_t i = 0; i < 5; i++)
        if (find(s, n, adopt_v[i]))
            *adopt = true;
    if (*adopt)
        return true;
    for (size_t i = 0; i < 3; i++)
        if (find(s, n, other_v[i]))
            return true;
    return false;
}

/* Remove every 第<numeral>届 from s[0..n) in place; returns the new length. */
static size_t drop_sessions(char *s, size_t n)
{
    size_t i = 0, k = 0;
    while (i < n) {
        if (has_prefix(s + i, n - i, "第")) {
            size_t j = i + 3;
            while (j < n) {
                size_t q = j;
                uint32_t cp = next_cp(s, n, &q);
                if (!(cp >= '0' && cp <= '9') && cn_digit(cp) < 0 && cp != 0x5341 &&
                    cp != 0x767e)
                    break;
                j = q;
            }
            if (j > i + 3 && has_prefix(s + j, n - j, "届")) {
                i = j + 3;
                continue;
            }
        }
        s[k++] = s[i++];
    }
    return k;
}

/* The adopting body named by a header segment ("上海市第十三届人民代表大会
 * 常务委员会第三十次会议通过" -> 上海市人民代表大会常务委员会), written to
 * out (room VALUE_MAX); 0 when the body is not recognized. */
static size_t seg_body(const char *s, size_t n, char *out)
{
    static const char *const cuts[] = { "审判委员会", "检察委员会", "公告", "令第",
                                        "常务会议", "通过", "公布", "发布", "颁布",
                                        "制定", "批准", "修正", "修订", "会议" };
    if (n > VALUE_MAX)
        return 0;
    memcpy(out, s, n);
    while (n >= 3 && (has_prefix(out, n, "经") || has_prefix(out, n, "、") ||
                      has_prefix(out, n, "，"))) {
        memmove(out, out + 3, n - 3);
        n -= 3;
    }
    n = drop_sessions(out, n);
    const char *abbr = find(out, n, "人大常委会");
    if (abbr && n + 18 <= VALUE_MAX) {          /* 人大常委会 -> full name */
        size_t at = (size_t)(abbr - out), tail = n - at - 15;
        memmove(out + at + 33, out + at + 15, tail);
        memcpy(out + at, "人民代表大会常务委员会", 33);
        n += 18;
    }
    size_t cut = n;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const char *p = find(out, n, cuts[i]);
        if (p && (size_t)(p - out) < cut)
            cut = (size_t)(p - out);
    }
    /* 第N次(常务)会议: cut at its 第 */
    const char *p = find(out, cut, "第");
    if (p)
        cut = (size_t)(p - out);
    n = cut;
    /* drop the 中华人民共和国 that starts a part (…国务院令, …人事部) */
    size_t k = 0, i = 0;
    while (i < n) {
        if (has_prefix(out + i, n - i, "中华人民共和国") && n - i > 21 + 6 &&
            (i == 0 || (i >= 3 && memcmp(out + i - 3, "、", 3) == 0))) {
            i += 21;
            continue;
        }
        out[k++] = out[i++];
    }
    n = k;
    return is_agency(out, n) ? n : 0;
}

/* Append a segment body of bn bytes to the joint bodies joint[0, *jn),
 * after a 、 if there are some already, if it is not empty and the whole
 * fits in VALUE_MAX; false (joint unchanged) if not. */
static bool join_body(char *joint, size_t *jn, const char *body, size_t bn)
{
    if (!bn || *jn + bn + 3 > VALUE_MAX)
        return false;
    if (*jn) {
        memcpy(joint + *jn, "、", 3);
        *jn += 3;
    }
    memcpy(joint + *jn, body, bn);
    *jn += bn;
    return true;
}

/* Process one header entry (a dated line plus its continuation lines):
 * split it into [date][text up to the next date] segments; every event
 * segment's date may be the latest; the first adopting segment names the
 * agency. A verb-less segment ending in 、 (最高人民法院审判委员会…会议、
 * <date>最高人民检察院…通过) shares the next segment's verb: joint bodies. */
static void law_entry(ctx *c, const char *s, size_t n, bool revise, uint32_t *latest,
                      bool *have_agency)
{
    char tmp[2048], body[VALUE_MAX + 1], joint[VALUE_MAX + 1];
    n = strip_quoted(s, n, tmp);
    size_t i = 0, jn = 0, seg_start = 0;
    uint32_t ymd = 0, joint_ymd = 0;
    bool in_seg = false, joined = false;
    while (i <= n) {
        uint32_t d = 0;
        size_t used = i < n ? parse_date(tmp + i, n - i, &d) : 0;
        if (i < n && !used) {
            if (!in_seg)
                return;                  /* an entry starts with its date */
            i++;
            continue;
        }
        if (in_seg) {
            bool adopt;
            size_t sl = i - seg_start;
            const char *seg = tmp + seg_start;
            if (seg_event(seg, sl, revise, &adopt)) {
                if (ymd > *latest)
                    *latest = ymd;
                if (joined && joint_ymd > *latest)
                    *latest = joint_ymd;
                if (adopt && !*have_agency) {
                    if (join_body(joint, &jn, body, seg_body(seg, sl, body))) {
                        *have_agency = true;
                        put(c, F_AGENCY, joint, jn);
                    } else if (joined) {
                        *have_agency = true;   /* joint but unreadable: absent */
                    }
                }
                jn = 0;
                joined = false;
                joint_ymd = 0;
            } else if (has_suffix(seg, sl, "、")) {
                if (ymd > joint_ymd)
                    joint_ymd = ymd;
                join_body(joint, &jn, body, seg_body(seg, sl - 3, body));
                joined = true;
            } else {
                jn = 0;
                joined = false;
                joint_ymd = 0;
            }
        }
        if (i == n)
            break;
        ymd = d;
        i += used;
        seg_start = i;
        in_seg = true;
    }
}

static void law_pass(ctx *c, const lines *H, size_t marker, bool revise, uint32_t *latest,
                     bool *have_agency);

/* A Markdown title as written (the source is no PDF, so its spaces are
 * meant: "最高人民法院 最高人民检察院关于……"): the raw heading line without
 * its '#' marks, trimmed, whitespace runs collapsed to one space. Invalid
 * UTF-8 or control characters: no title. */
static void raw_title(ctx *c, const lines *H, size_t k)
{
    const uint8_t *r = H->raw + H->v[k].raw_off;
    size_t n = H->v[k].raw_len, i = 0, o = 0;
    char b[VALUE_MAX];
    if (!esi_utf8_valid(r, n))
        return;
    while (i < n && (r[i] == '#' || r[i] == ' ' || r[i] == '\t'))
        i++;
    bool space = false;
    while (i < n) {
        size_t j = i;
        uint32_t cp = esi_utf8_next(r, n, &j);
        if (is_space(cp)) {
            space = o > 0;
        } else {
            if (cp < 0x20 || cp == 0x7f || o + (j - i) + 1 > sizeof b)
                return;
            if (space)
                b[o++] = ' ';
            space = false;
            memcpy(b + o, r + i, j - i);
            o += j - i;
        }
        i = j;
    }
    put(c, F_TITLE, b, o);
}

/* Law layout: "# title" and the dated lines before <!-- INFO END -->.
 * title and type from the first level-1 heading; each dated line with the
 * undated lines after it (a quoted title broken over lines) is one entry;
 * date = the latest date of an event segment; agency = the body of the
 * first adopting segment. */
static void law_fields(ctx *c, const lines *H, size_t marker)
{
    uint32_t latest = 0;
    bool have_agency = false;
    law_pass(c, H, marker, false, &latest, &have_agency);
    if (!have_agency)
        law_pass(c, H, marker, true, &latest, &have_agency);
    /* no dated body: the title's own (最高人民法院、最高人民检察院关于……) */
    const found *t = &c->f[F_TITLE];
    const char *p = t->s ? find(t->s, t->len, "关于") : NULL;
    if (!have_agency && p && p > t->s && is_agency(t->s, (size_t)(p - t->s)))
        put(c, F_AGENCY, t->s, (size_t)(p - t->s));
    /* a notice printed in the header: signature line, then a bare date */
    for (size_t k = 1; !latest && k < marker; k++) {
        uint32_t ymd;
        const char *s = ltext(H, k);
        size_t n = H->v[k].len;
        if (parse_date(s, n, &ymd) != n)
            continue;
        latest = ymd;
        const char *a = ltext(H, k - 1);
        size_t an = H->v[k - 1].len;
        if (has_prefix(a, an, "中华人民共和国") && an > 21 + 6) {
            a += 21;
            an -= 21;
        }
        if (!have_agency && is_agency(a, an)) {
            have_agency = true;
            put(c, F_AGENCY, a, an);
        }
    }
    if (latest)
        put_date(c, latest);
    /* the addressee of a 批复 or 通知 printed after the header */
    if (marker + 1 < H->n) {
        const char *s = ltext(H, marker + 1);
        size_t n = H->v[marker + 1].len;
        size_t j = 0;
        if (has_suffix(s, n, "：") && n > 3 && n <= 90 + 3 && !find(s, n, "。") &&
            !find(s, n - 3, "：") && !has_prefix(s, n, "第") && !find(s, n, "会议") &&
            !has_suffix(s, n, "决定：") && !has_suffix(s, n, "如下：") && is_han(next_cp(s, n, &j)))
            put(c, F_ADDRESSEE, s, n - 3);
    }
}

/* One pass over the header lines before the marker: title, docno, and the
 * dated entries (see law_entry). */
static void law_pass(ctx *c, const lines *H, size_t marker, bool revise, uint32_t *latest,
                     bool *have_agency)
{
    uint32_t ymd;
    char entry[2048];
    size_t en = 0;
    bool open = false;
    for (size_t k = 0; k <= marker; k++) {
        const char *s = k < marker ? ltext(H, k) : NULL;
        size_t n = k < marker ? H->v[k].len : 0;
        if (k < marker && H->v[k].hlevel == 1 && !c->f[F_TITLE].s) {
            raw_title(c, H, k);
            const char *ty = title_type(s, n);
            if (ty)
                put(c, F_TYPE, ty, strlen(ty));
            continue;
        }
        if (k < marker)
            rule_docno(c, s, n);
        bool dated = k < marker && parse_date(s, n, &ymd) > 0;
        if (k == marker || dated) {
            if (open)
                law_entry(c, entry, en, revise, latest, have_agency);
            open = false;
            en = 0;
            if (k == marker)
                break;
        }
        if (dated)
            open = true;
        if (open && en + n <= sizeof entry) {
            memcpy(entry + en, s, n);
            en += n;
        }
    }
}

/* ---- driver ----------------------------------------------------------- */

/* Back up from byte i to the start of a UTF-8 sequence (at most 3 bytes). */
static size_t cp_start(const uint8_t *s, size_t n, size_t i)
{
    for (int k = 0; k < 3 && i > 0 && i < n && (s[i] & 0xc0) == 0x80; k++)
        i--;
    return i;
}

es_status esi_docfields_extract(const char *text, size_t len, esi_docfields *out, esi_err *e)
{
    if (!out)
        return esi_err_set(e, ES_EINVAL, "docfields: no output struct given");
    out->n = 0;
    if (!text && len > 0)
        return esi_err_set(e, ES_EINVAL, "docfields: text is NULL but len is %zu", len);
    ctx c;
    memset(&c, 0, sizeof c);
    lines H = { 0 }, T = { 0 };
    const uint8_t *s = (const uint8_t *)text;
    size_t hn = len, ts = len;
    if (len > HEAD_MAX + TAIL_MAX) {
        hn = cp_start(s, len, HEAD_MAX);
        ts = cp_start(s, len, len - TAIL_MAX);
    }
    split_lines(&c.rc, s, hn, &H);
    if (ts < len)
        split_lines(&c.rc, s + ts, len - ts, &T);
    if (c.rc != ES_OK)
        goto done;
    size_t marker = H.n;
    for (size_t k = 0; k < H.n; k++)
        if (has_prefix(ltext(&H, k), H.v[k].len, "<!--") &&
            find(ltext(&H, k), H.v[k].len, "INFO END")) {
            marker = k;
            break;
        }
    if (marker < H.n)
        law_fields(&c, &H, marker);
    else
        letter_fields(&c, &H, ts < len ? &T : &H);
done:
    lines_free(&H);
    lines_free(&T);
    if (c.rc != ES_OK) {
        for (int i = 0; i < F_COUNT; i++)
            esi_free(c.f[i].s);
        return esi_err_set(e, c.rc, "docfields: out of memory while extracting fields");
    }
    for (int i = 0; i < F_COUNT; i++)
        if (c.f[i].s) {
            out->f[out->n].name = field_names[i];
            out->f[out->n].value = c.f[i].s;
            out->f[out->n].value_len = c.f[i].len;
            out->n++;
        }
    return ES_OK;
}

void esi_docfields_free(esi_docfields *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n && i < ESI_DOCFIELDS_MAX; i++) {
        esi_free(f->f[i].value);
        f->f[i].value = NULL;
    }
    f->n = 0;
}

const char *esi_docfields_get(const esi_docfields *f, const char *name)
{
    if (!f || !name)
        return NULL;
    for (size_t i = 0; i < f->n && i < ESI_DOCFIELDS_MAX; i++)
        if (strcmp(f->f[i].name, name) == 0)
            return f->f[i].value;
    return NULL;
}
