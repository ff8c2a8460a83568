/*
 * query_parse.c: step 1 of query building, the syntax (docs/QUERY.md). A
 * hand-written lexer over the UTF-8 bytes and a recursive-descent parser
 *
 *     query := or EOF        or := and ("OR" and)*
 *     and   := unary+        unary := ("NOT" | "-") unary | "(" or ")" | leaf
 *
 * produce the node array of struct es_query with TEXT and DATE leaves. Text
 * is not analyzed here (query_lower.c does that), so this file needs no ICU.
 * Every error is ES_ESYNTAX (or ES_ELIMIT for the term and depth limits)
 * with the byte offset of the problem and a reason. Recursion is bounded by
 * ESI_QUERY_MAX_DEPTH before it happens, so hostile nesting fails fast.
 * Punctuation pasted from documents is lenient: “curly” 「corner」 quotes
 * delimit phrases when paired and are separators when not; full-width
 * brackets such as 〔〕（） are left to the analyzer, which drops them.
 */
#include "query.h"

#include <stdio.h>

enum { T_EOF, T_LPAREN, T_RPAREN, T_OR, T_NOT, T_LEAF };

typedef struct tok {
    int kind;
    size_t pos;                     /* byte offset of the token */
    esi_qop op;                     /* T_LEAF: TEXT or DATE */
    size_t text_start, text_len;
    size_t field_start, field_len;
    bool quoted, prefix;
    uint32_t lo, hi;
} tok;

typedef struct parser {
    es_query *q;
    const uint8_t *s;
    size_t len, i;                  /* text and lexer cursor */
    tok peek;
    bool have_peek;
    esi_err *e;
    size_t *errpos;
} parser;

/* Record an error of the parser at byte pos through p's esi_err and
 * error position; returns code. */
#define fail(p, ...) esi_query_fail((p)->e, (p)->errpos, __VA_ARGS__)

es_status esi_query_fail(esi_err *e, size_t *errpos, es_status code,
                         size_t pos, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (errpos)
        *errpos = pos;
    return esi_err_set(e, code, "query: %s (at byte %zu)", msg, pos);
}

/* True for ASCII and Unicode white space (U+3000 ideographic space too). */
static bool is_space(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200b) || c == 0x2028 ||
           c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 ||
           c == 0xfeff;
}

/* The closing quote that pairs with opener c, 0 if c opens nothing. The
 * straight quotes " and ＂ close each other. */
static uint32_t closer_of(uint32_t c)
{
    switch (c) {
    case '"': case 0xff02: return '"';
    case 0x201c: return 0x201d;   /* “ ” */
    case 0x300c: return 0x300d;   /* 「 」 */
    case 0x300e: return 0x300f;   /* 『 』 */
    case 0xfe41: return 0xfe42;   /* ﹁ ﹂ */
    default: return 0;
    }
}

/* True for closing quotes, which are separators when met on their own. */
static bool is_stray_closer(uint32_t c)
{
    return c == 0x201d || c == 0x300d || c == 0x300f || c == 0xfe42;
}

/* True if closer of opener `open` is c (straight quotes pair loosely, and a
 * “ may be closed by a straight quote typed on a Latin keyboard). */
static bool closes(uint32_t open, uint32_t c)
{
    uint32_t want = closer_of(open);
    if (want == '"')
        return c == '"' || c == 0xff02;
    return c == want || (open == 0x201c && c == '"');
}

/* Decode the code point at offset i, setting *next past it. */
static uint32_t cp_at(const parser *p, size_t i, size_t *next)
{
    size_t j = i;
    uint32_t c = esi_utf8_next(p->s, p->len, &j);
    *next = j;
    return c;
}

/* True if s[0..n) is a field name: [a-z_][a-z0-9_]{0,63}. */
static bool is_field_name(const uint8_t *s, size_t n)
{
    if (n == 0 || n > 64 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_'))
            return false;
    return true;
}

/* Parse one ISO date; with `high`, missing month/day become 99 so that the
 * value is the end of the year or month. False if s is not a date. */
static bool one_date(const uint8_t *s, size_t n, bool high, uint32_t *out)
{
    uint32_t v;
    if (!esi_date_parse((const char *)s, n, &v))
        return false;
    if (high) {
        if (v % 10000 / 100 == 0)
            v += 9900;
        if (v % 100 == 0)
            v += 99;
    }
    *out = v;
    return true;
}

/* Parse the value of date: (A, A..B, ..B, A..) into t->lo, t->hi. */
static es_status lex_date(parser *p, tok *t, size_t start, size_t end)
{
    const uint8_t *s = p->s + start;
    size_t n = end - start, dots = n;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == '.' && s[i + 1] == '.') {
            dots = i;
            break;
        }
    bool ok;
    if (dots == n) {
        ok = one_date(s, n, false, &t->lo) && one_date(s, n, true, &t->hi);
    } else {
        t->lo = 1;
        t->hi = UINT32_MAX;
        ok = dots + 2 < n || dots > 0;
        if (ok && dots > 0)
            ok = one_date(s, dots, false, &t->lo);
        if (ok && dots + 2 < n)
            ok = one_date(s + dots + 2, n - dots - 2, true, &t->hi);
    }
    if (!ok)
        return fail(p, ES_ESYNTAX, start,
                    "date:%.*s is not a date or range; write date:2024, "
                    "date:2024-03, date:2024-01-01..2025-06-30 or date:2024..2025",
                    (int)(n > 40 ? 40 : n), (const char *)s);
    if (t->lo > t->hi)
        return fail(p, ES_ESYNTAX, start,
                    "date range %.*s ends before it starts", (int)(n > 40 ? 40 : n),
                    (const char *)s);
    t->op = ESI_QOP_DATE;
    return ES_OK;
}

/* Lex a quoted phrase whose opener starts at i (already decoded as `open`,
 * ending at j). Sets t->text_*; *found is false for an unpaired curly quote
 * (which the caller then skips as a separator). */
static es_status lex_quoted(parser *p, tok *t, size_t i, size_t j, uint32_t open,
                            bool *found)
{
    size_t k = j;
    *found = false;
    while (k < p->len) {
        size_t nx;
        uint32_t c = cp_at(p, k, &nx);
        if (closes(open, c)) {
            t->kind = T_LEAF;
            t->op = ESI_QOP_TEXT;
            t->quoted = true;
            t->text_start = j;
            t->text_len = k - j;
            p->i = nx;
            *found = true;
            return ES_OK;
        }
        k = nx;
    }
    if (closer_of(open) == '"')
        return fail(p, ES_ESYNTAX, i, "unclosed quote opened at %zu; add the "
                    "closing \" or remove the opening one", i);
    return ES_OK;
}

/* Read the next token into *t. */
static es_status lex(parser *p, tok *t)
{
    memset(t, 0, sizeof *t);
    for (;;) {
        size_t i = p->i, j;
        if (i >= p->len) {
            t->kind = T_EOF;
            t->pos = p->len;
            return ES_OK;
        }
        uint32_t c = cp_at(p, i, &j);
        t->pos = i;
        if (is_space(c) || is_stray_closer(c)) {
            p->i = j;
            continue;
        }
        if (c == '(' || c == ')') {
            t->kind = c == '(' ? T_LPAREN : T_RPAREN;
            p->i = j;
            return ES_OK;
        }
        if (closer_of(c)) {
            bool found;
            es_status rc = lex_quoted(p, t, i, j, c, &found);
            if (rc != ES_OK || found)
                return rc;
            p->i = j;               /* unpaired curly quote: a separator */
            continue;
        }
        if (c == '-') {
            size_t k;
            uint32_t d = j < p->len ? cp_at(p, j, &k) : ' ';
            p->i = j;
            if (is_space(d) || d == ')' || is_stray_closer(d))
                continue;           /* a lone dash is punctuation */
            t->kind = T_NOT;
            return ES_OK;
        }
        /* A word: up to space, parenthesis or quote. */
        size_t k = i;
        while (k < p->len) {
            size_t nx;
            uint32_t d = cp_at(p, k, &nx);
            if (is_space(d) || d == '(' || d == ')' || closer_of(d) ||
                is_stray_closer(d))
                break;
            k = nx;
        }
        p->i = k;
        const uint8_t *w = p->s + i;
        size_t n = k - i;
        if (n == 2 && !memcmp(w, "OR", 2)) {
            t->kind = T_OR;
            return ES_OK;
        }
        if (n == 3 && !memcmp(w, "NOT", 3)) {
            t->kind = T_NOT;
            return ES_OK;
        }
        if (n == 3 && !memcmp(w, "AND", 3))
            continue;               /* explicit AND is the default anyway */
        t->kind = T_LEAF;
        t->op = ESI_QOP_TEXT;
        t->text_start = i;
        t->text_len = n;
        const uint8_t *colon = memchr(w, ':', n);
        if (colon && is_field_name(w, (size_t)(colon - w))) {
            size_t fl = (size_t)(colon - w), rest = i + fl + 1;
            t->field_start = i;
            t->field_len = fl;
            if (fl == 4 && !memcmp(w, "date", 4)) {
                if (rest == k)
                    return fail(p, ES_ESYNTAX, i, "date: needs a date or range "
                                "right after the colon, e.g. date:2024");
                return lex_date(p, t, rest, k);
            }
            if (rest == k) {
                size_t nx;
                uint32_t d = k < p->len ? cp_at(p, k, &nx) : 0;
                if (d && closer_of(d)) {
                    bool found;
                    es_status rc = lex_quoted(p, t, k, nx, d, &found);
                    if (rc != ES_OK)
                        return rc;
                    if (found)
                        return ES_OK;
                }
                return fail(p, ES_ESYNTAX, i, "field %.*s: needs a term right "
                            "after the colon, e.g. %.*s:教育 or %.*s:\"双减\"",
                            (int)fl, (const char *)w, (int)fl, (const char *)w,
                            (int)fl, (const char *)w);
            }
            t->text_start = rest;
            t->text_len = k - rest;
        }
        if (t->text_len > 1 && p->s[t->text_start + t->text_len - 1] == '*') {
            t->prefix = true;
            t->text_len--;
        }
        return ES_OK;
    }
}

/* Look at the next token without consuming it. */
static es_status peek(parser *p, tok **out)
{
    if (!p->have_peek) {
        es_status rc = lex(p, &p->peek);
        if (rc != ES_OK)
            return rc;
        p->have_peek = true;
    }
    *out = &p->peek;
    return ES_OK;
}

/* Append a node; returns its index, or -1 when memory is short. */
static int32_t new_node(es_query *q, esi_qop op, size_t pos)
{
    if (q->nnodes == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 32, bytes;
        if (cap > INT32_MAX || !esi_mul_ok(cap, sizeof *q->nodes, &bytes))
            return -1;
        esi_qnode *n = esi_realloc(q->nodes, bytes);
        if (!n)
            return -1;
        q->nodes = n;
        q->cap = cap;
    }
    esi_qnode *n = &q->nodes[q->nnodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->kid = n->next = n->phrase = -1;
    n->pos = pos;
    return (int32_t)q->nnodes++;
}

int32_t esi_query_new_node(es_query *q, esi_qop op, size_t pos)
{
    return new_node(q, op, pos);
}

/* Make a node of op over the kid list starting at first (linked by next). */
static es_status wrap(parser *p, esi_qop op, size_t pos, int32_t first,
                      int32_t *out)
{
    int32_t n = new_node(p->q, op, pos);
    if (n < 0)
        return esi_err_set(p->e, ES_ENOMEM, "out of memory parsing a query");
    p->q->nodes[n].kid = first;
    *out = n;
    return ES_OK;
}

static es_status parse_or(parser *p, unsigned depth, int32_t *out);

/* unary := ("NOT" | "-") unary | "(" or ")" | leaf */
static es_status parse_unary(parser *p, unsigned depth, int32_t *out)
{
    tok *t;
    es_status rc = peek(p, &t);
    if (rc != ES_OK)
        return rc;
    size_t pos = t->pos;
    if (t->kind == T_NOT || t->kind == T_LPAREN) {
        int kind = t->kind;
        p->have_peek = false;
        if (depth + 1 > ESI_QUERY_MAX_DEPTH)
            return fail(p, ES_ELIMIT, pos, "more than %d levels of nesting "
                        "(parentheses and NOT)", ESI_QUERY_MAX_DEPTH);
        if (kind == T_NOT) {
            if ((rc = peek(p, &t)) != ES_OK)
                return rc;
            if (t->kind == T_EOF || t->kind == T_RPAREN || t->kind == T_OR)
                return fail(p, ES_ESYNTAX, pos, "NOT (or -) needs a term after it");
            int32_t k;
            if ((rc = parse_unary(p, depth + 1, &k)) != ES_OK)
                return rc;
            return wrap(p, ESI_QOP_NOT, pos, k, out);
        }
        int32_t g;
        if ((rc = parse_or(p, depth + 1, &g)) != ES_OK)
            return rc;
        if ((rc = peek(p, &t)) != ES_OK)
            return rc;
        if (t->kind != T_RPAREN)
            return fail(p, ES_ESYNTAX, pos, "'(' opened at %zu is never closed; "
                        "add ')'", pos);
        p->have_peek = false;
        if (g < 0)
            return fail(p, ES_ESYNTAX, pos, "empty parentheses at %zu", pos);
        *out = g;
        return ES_OK;
    }
    /* parse_and only calls here for a leaf. */
    if (++p->q->nleaves > ESI_QUERY_MAX_TERMS)
        return fail(p, ES_ELIMIT, pos, "more than %d terms in one query",
                    ESI_QUERY_MAX_TERMS);
    int32_t n = new_node(p->q, t->op, pos);
    if (n < 0)
        return esi_err_set(p->e, ES_ENOMEM, "out of memory parsing a query");
    esi_qnode *nd = &p->q->nodes[n];
    nd->text_start = t->text_start;
    nd->text_len = t->text_len;
    nd->field_start = t->field_start;
    nd->field_len = t->field_len;
    nd->quoted = t->quoted;
    nd->prefix = t->prefix;
    nd->date_lo = t->lo;
    nd->date_hi = t->hi;
    p->have_peek = false;
    *out = n;
    return ES_OK;
}

/* and := unary+ ; *out is -1 when no operand is there. */
static es_status parse_and(parser *p, unsigned depth, int32_t *out)
{
    int32_t first = -1, last = -1;
    size_t count = 0, pos = 0;
    for (;;) {
        tok *t;
        es_status rc = peek(p, &t);
        if (rc != ES_OK)
            return rc;
        if (t->kind == T_EOF || t->kind == T_RPAREN || t->kind == T_OR)
            break;
        if (count == 0)
            pos = t->pos;
        int32_t u;
        if ((rc = parse_unary(p, depth, &u)) != ES_OK)
            return rc;
        if (last >= 0)
            p->q->nodes[last].next = u;
        else
            first = u;
        last = u;
        count++;
    }
    if (count <= 1) {
        *out = first;
        return ES_OK;
    }
    return wrap(p, ESI_QOP_AND, pos, first, out);
}

/* or := and ("OR" and)* */
static es_status parse_or(parser *p, unsigned depth, int32_t *out)
{
    int32_t first;
    es_status rc = parse_and(p, depth, &first);
    if (rc != ES_OK)
        return rc;
    tok *t;
    if ((rc = peek(p, &t)) != ES_OK)
        return rc;
    if (t->kind != T_OR) {
        *out = first;
        return ES_OK;
    }
    if (first < 0)
        return fail(p, ES_ESYNTAX, t->pos, "OR needs a term on both sides");
    size_t orpos = t->pos;
    int32_t last = first;
    while (t->kind == T_OR) {
        size_t here = t->pos;
        p->have_peek = false;
        int32_t r;
        if ((rc = parse_and(p, depth, &r)) != ES_OK)
            return rc;
        if (r < 0)
            return fail(p, ES_ESYNTAX, here, "OR needs a term on both sides");
        p->q->nodes[last].next = r;
        last = r;
        if ((rc = peek(p, &t)) != ES_OK)
            return rc;
    }
    return wrap(p, ESI_QOP_OR, orpos, first, out);
}

es_status esi_query_syntax(es_query **out, const char *text, size_t len,
                           size_t *errpos, esi_err *e)
{
    es_status rc;
    *out = NULL;
    if (errpos)
        *errpos = 0;
    if (!text && len)
        return esi_err_set(e, ES_EINVAL, "es_query_parse: text is NULL");
    es_query *q = esi_calloc(1, sizeof *q);
    if (!q || !(q->text = esi_strndup(len ? text : "", len))) {
        esi_free(q);
        return esi_err_set(e, ES_ENOMEM, "out of memory parsing a query");
    }
    q->len = len;
    q->root = -1;
    parser p = { q, (const uint8_t *)q->text, len, 0, { 0 }, false, e, errpos };
    rc = parse_or(&p, 0, &q->root);
    if (rc == ES_OK) {
        tok *t;
        rc = peek(&p, &t);
        if (rc == ES_OK && t->kind == T_RPAREN)
            rc = fail(&p, ES_ESYNTAX, t->pos, "')' without '('");
    }
    if (rc == ES_OK && q->root < 0)
        rc = fail(&p, ES_ESYNTAX, 0, "the query has no searchable term; type a "
                  "word, a number or a Chinese character");
    if (rc != ES_OK) {
        esi_query_free(q);
        return rc;
    }
    *out = q;
    return ES_OK;
}

void esi_query_free(es_query *q)
{
    if (!q)
        return;
    esi_free(q->text);
    esi_free(q->nodes);
    esi_free(q->phrases);
    esi_free(q->keys);
    esi_free(q->units);
    esi_buf_free(&q->bytes);
    esi_free(q);
}

/* Print the keys of phrase ph as [k@at ...]. */
static void dump_phrase(es_status *rc, const es_query *q, int32_t ph, esi_buf *b)
{
    const esi_qphrase *f = &q->phrases[ph];
    esi_buf_put(rc, b, f->prefix ? "pre[" : "[", f->prefix ? 4 : 1);
    for (uint32_t i = 0; i < f->nkeys; i++) {
        const esi_qkey *k = &q->keys[f->first_key + i];
        char at[16];
        if (i)
            esi_buf_put_u8(rc, b, ' ');
        for (uint32_t j = 0; j < k->len; j++) {
            uint8_t c = esi_qkey_bytes(q, k)[j];
            esi_buf_put_u8(rc, b, c == ESI_FIELD_SEP ? ':' : c);
        }
        if (!f->prefix) {
            int n = snprintf(at, sizeof at, "@%u", k->at);
            esi_buf_put(rc, b, at, (size_t)n);
        }
    }
    esi_buf_put_u8(rc, b, ']');
}

/* Render node n and its subtree. */
static void dump_node(es_status *rc, const es_query *q, int32_t n, esi_buf *b)
{
    const esi_qnode *nd = &q->nodes[n];
    static const char *names[] = { "", "AND(", "OR(", "NOT(" };
    char tmp[64];
    switch (nd->op) {
    case ESI_QOP_AND: case ESI_QOP_OR: case ESI_QOP_NOT:
        esi_buf_put(rc, b, names[nd->op], strlen(names[nd->op]));
        for (int32_t k = nd->kid; k >= 0; k = q->nodes[k].next) {
            if (k != nd->kid)
                esi_buf_put_u8(rc, b, ' ');
            dump_node(rc, q, k, b);
        }
        if (nd->op == ESI_QOP_AND && nd->phrase >= 0) {
            esi_buf_put(rc, b, " +", 2);
            dump_phrase(rc, q, nd->phrase, b);
        }
        esi_buf_put_u8(rc, b, ')');
        break;
    case ESI_QOP_TEXT:
        if (nd->field_len) {
            esi_buf_put(rc, b, q->text + nd->field_start, nd->field_len);
            esi_buf_put_u8(rc, b, ':');
        }
        if (nd->quoted)
            esi_buf_put_u8(rc, b, '"');
        esi_buf_put(rc, b, q->text + nd->text_start, nd->text_len);
        if (nd->quoted)
            esi_buf_put_u8(rc, b, '"');
        if (nd->prefix)
            esi_buf_put_u8(rc, b, '*');
        break;
    case ESI_QOP_DATE: {
        int m = snprintf(tmp, sizeof tmp, "date:%u..%u", nd->date_lo, nd->date_hi);
        esi_buf_put(rc, b, tmp, (size_t)m);
        break;
    }
    case ESI_QOP_PHRASE: case ESI_QOP_PREFIX:
        dump_phrase(rc, q, nd->phrase, b);
        break;
    case ESI_QOP_NONE:
        esi_buf_put(rc, b, "NONE", 4);
        break;
    }
}

void esi_query_dump(es_status *rc, const es_query *q, esi_buf *out)
{
    if (q && q->root >= 0)
        dump_node(rc, q, q->root, out);
    esi_buf_terminate(rc, out);
}
