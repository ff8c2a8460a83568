/*
 * query.h: the search layer's query tree, shared by the parser
 * (query_parse.c: syntax), the lowering pass (query_lower.c: analysis of
 * the leaf text into index terms), the executor (exec.c, score.c) and the
 * snippet builder (snippet.c). The syntax is specified in docs/QUERY.md.
 *
 * A query is built in two steps:
 *   1. esi_query_syntax() turns the text into a tree of AND / OR / NOT nodes
 *      over TEXT leaves (a bare word or a quoted phrase, maybe with a field
 *      and a trailing '*') and DATE leaves. No analyzer is needed.
 *   2. esi_query_lower() analyzes every TEXT leaf with the index analyzer and
 *      replaces it by PHRASE / PREFIX leaves (index keys with offsets), AND
 *      nodes for bare runs (each ICU word required, the whole run attached as
 *      a phrase bonus) and NONE for text without a searchable character, then
 *      simplifies the tree and checks that NOT only narrows a search.
 * After step 2 the query is immutable and may be shared between threads.
 *
 * Nodes live in one array and link children by index (first kid, next
 * sibling), so freeing a query is a handful of esi_free calls and a query of
 * 10 000 nested parentheses costs no recursion beyond the depth limit.
 */
#ifndef ES_QUERY_H
#define ES_QUERY_H

#include "../base/base.h"
#include "../analysis/analyzer.h"
#include "termkey.h"

#define ESI_QUERY_MAX_TERMS 1024   /* leaves and index keys, each */
#define ESI_QUERY_MAX_DEPTH 64     /* parentheses and NOT nesting */

typedef enum esi_qop {
    ESI_QOP_AND = 1,   /* all positive kids; NOT kids exclude */
    ESI_QOP_OR,        /* any kid */
    ESI_QOP_NOT,       /* one kid; only meaningful as a kid of AND */
    ESI_QOP_TEXT,      /* syntax leaf: text to analyze */
    ESI_QOP_DATE,      /* docs whose date column is in [date_lo, date_hi] */
    ESI_QOP_PHRASE,    /* lowered: index keys at fixed offsets (one key = a term) */
    ESI_QOP_PREFIX,    /* lowered: any Latin/number term starting with a key */
    ESI_QOP_NONE       /* lowered: nothing searchable; removed by simplify */
} esi_qop;

typedef struct esi_qnode {
    esi_qop op;
    int32_t kid;            /* first child, -1 if none */
    int32_t next;           /* next sibling, -1 if none */
    size_t pos;             /* byte offset of the node in the query text */
    /* TEXT */
    size_t text_start;      /* the leaf's text (without quotes, field, '*') */
    size_t text_len;
    size_t field_start;     /* field name in the query text; field_len 0 = body */
    size_t field_len;
    bool quoted;            /* "exact phrase" */
    bool prefix;            /* trailing '*' */
    /* DATE */
    uint32_t date_lo, date_hi;
    /* PHRASE, PREFIX: index into the phrase table; AND: bonus phrase or -1 */
    int32_t phrase;
} esi_qnode;

/* One index key of a phrase: bytes in the query's key buffer and the
 * position offset (from the phrase's first unit) it must occur at. */
typedef struct esi_qkey {
    uint32_t off, len;
    uint32_t at;
} esi_qkey;

/* A lowered phrase: what to look up and intersect (keys), and what it is in
 * units for highlighting (body phrases only). */
typedef struct esi_qphrase {
    uint32_t first_key, nkeys;     /* in q->keys: index keys with offsets */
    uint32_t first_unit, nunits;   /* in q->units: unit keys, at = 0,1,2,... */
    uint32_t span;                 /* units covered */
    bool body;                     /* a body phrase (not a field) */
    bool prefix;                   /* PREFIX: the single key is a prefix */
    bool bonus;                    /* only scored (the whole of a bare run) */
    int32_t title_twin;            /* same keys in the title field, or -1 */
} esi_qphrase;

struct es_query {
    char *text;                /* copy of the query text (NUL-terminated) */
    size_t len;
    esi_qnode *nodes;
    size_t nnodes, cap;
    int32_t root;
    esi_qphrase *phrases;
    size_t nphrases, phcap;
    esi_qkey *keys;            /* index keys, field-prefixed */
    size_t nkeys, kcap;
    esi_qkey *units;           /* unit keys of body phrases (no field prefix) */
    size_t nunits, ucap;
    esi_buf bytes;             /* key bytes of keys and units */
    size_t nleaves;            /* TEXT/DATE leaves seen by the parser */
};

/* Parse the syntax of text into a new query (step 1). On ES_ESYNTAX and
 * ES_ELIMIT, e->msg gives the reason and *errpos the byte offset. */
es_status esi_query_syntax(es_query **out, const char *text, size_t len,
                           size_t *errpos, esi_err *e);

/* Lower q's TEXT leaves with analyzer a (step 2). Errors as above. */
es_status esi_query_lower(es_query *q, esi_analyzer *a, size_t *errpos,
                          esi_err *e);

/* Append a node to q (fields zeroed, links -1); its index, or -1 on ENOMEM. */
int32_t esi_query_new_node(es_query *q, esi_qop op, size_t pos);
/* Record a query error at byte pos: *errpos (if not NULL) gets pos, e gets
 * "query: <message> (at byte pos)". Returns code. Shared by the parser and
 * the lowering pass. */
es_status esi_query_fail(esi_err *e, size_t *errpos, es_status code,
                         size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Free a query (either step). NULL is fine. */
void esi_query_free(es_query *q);

/* A canonical one-line rendering of the tree, for tests and debugging:
 *   AND(a b) OR(a b) NOT(a) a "a b" title:a edu* date:20240101..20250630
 *   lowered: [教育@0 育强@2] (keys@offsets), pre[edu], +[whole run] bonus
 * Appends to out. */
void esi_query_dump(es_status *rc, const es_query *q, esi_buf *out);

/* Key bytes of k. */
static inline const uint8_t *esi_qkey_bytes(const es_query *q, const esi_qkey *k)
{
    return q->bytes.data + k->off;
}

#endif /* ES_QUERY_H */
