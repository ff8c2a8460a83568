/*
 * pospairs.c: the CJK character pairs the writer indexes with positions.
 *
 * Every two CJK characters side by side are indexed as a pair; most pairs
 * only narrow the documents (presence and count) and phrases are verified
 * on the positions of single characters. Where a phrase's characters are
 * very common (第, 二, 十, 条 of "第二十九条"), every candidate document
 * holds hundreds of their positions, and verifying it reads them all. A
 * pair with positions stands for both its characters (exec.c,
 * position_keys) at a fraction of their positions: 第二 occurs 44,659 times
 * in the benchmark corpus against 91,562 for 二.
 *
 * The pairs below were chosen by bench/common_pairs.py from the shared
 * corpus of Chinese laws and regulations (main.jsonl.gz, also the
 * benchmark's corpus): pairs that occur at most half as often as the rarer
 * of their characters, the 48 commonest. Their positions cost 1.65 MB of
 * the benchmark index (3% of it). A writer may be given its own list
 * (es_writer_options.position_pairs). Which pairs have positions is the
 * writer's choice, recorded per term in each segment (FORMAT.md §4): an
 * index whose segments were written with other lists is searched the same
 * way, and a merge of segments that disagree keeps a pair without positions.
 */
#include "api.h"

/* The default list (es_writer_options.position_pairs NULL). */
static const char *const common_pairs[] = {
    "行政", "有关", "民政", "第二", "第十", "建设", "管部", "二十",
    "第三", "人员", "员会", "定的", "机关", "三十", "行为", "设施",
    "法规", "本条", "第四", "生产", "民法", "法院", "大会", "的应",
    "以下", "一条", "第一", "二条", "会议", "表大", "三条", "门应",
    "实施", "民代", "的由", "四条", "四十", "十一", "五条", "第五",
    "十二", "六条", "务院", "国务", "十五", "以及", "十三", "处理",
};

/* A pair's bytes (1..8: two CJK characters of at most 4 bytes) as one
 * integer, zero-padded. Distinct pairs differ: analyzer output holds no
 * NUL byte, so no pair is another's prefix padded with zeros; and none is
 * 0, the empty slot. */
static uint64_t pack(const char *b, size_t len)
{
    uint64_t v = 0;
    memcpy(&v, b, len);
    return v;
}

static size_t slot_of(const esi_pairset *s, uint64_t v)
{
    return (size_t)((v * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & s->mask;
}

static void insert(esi_pairset *s, uint64_t v)
{
    size_t i = slot_of(s, v);
    while (s->slot[i] && s->slot[i] != v)
        i = (i + 1) & s->mask;
    s->slot[i] = v;
}

/* Token callback of build: the pair's bytes, and how many tokens. */
typedef struct one_pair {
    size_t han, pairs, other;
    uint64_t v;              /* the pair, packed (the term is the
                                analyzer's scratch, valid in the call) */
} one_pair;

static int on_token(const es_token *t, void *p)
{
    one_pair *o = p;
    if (t->kind == ES_TOKEN_BIGRAM) {
        o->pairs++;
        o->v = t->term_len >= 1 && t->term_len <= 8 ? pack(t->term, t->term_len) : 0;
    } else if (t->kind == ES_TOKEN_HAN) {
        o->han++;
    } else {
        o->other++;
    }
    return 0;
}

es_status esi_pairset_build(esi_pairset *s, esi_analyzer *an, const char *const *pairs,
                            size_t n, esi_err *e)
{
    const char *what = pairs ? "es_writer_options.position_pairs" : "the built-in pair list";
    if (!pairs && n)
        return esi_err_set(e, ES_EINVAL, "es_writer_options: nposition_pairs is %zu but "
                           "position_pairs is NULL", n);
    if (!pairs) {
        pairs = common_pairs;
        n = sizeof common_pairs / sizeof common_pairs[0];
    }
    size_t cap = 16;
    while (cap < 2 * n) {
        if (cap > SIZE_MAX / 4 / sizeof *s->slot)
            return esi_err_set(e, ES_ELIMIT, "%s: too many pairs (%zu)", what, n);
        cap *= 2;
    }
    s->slot = esi_calloc(cap, sizeof *s->slot);
    if (!s->slot)
        return esi_err_set(e, ES_ENOMEM, "out of memory for %s", what);
    s->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        one_pair o = { 0, 0, 0, 0 };
        es_status rc = pairs[i] ? esi_analyze(an, pairs[i], strlen(pairs[i]),
                                              ES_TOKENIZE_INDEX, on_token, &o, e)
                                : ES_EINVAL;
        if (rc == ES_OK && (o.han != 2 || o.pairs != 1 || o.other || !o.v))
            rc = ES_EINVAL;
        if (rc != ES_OK) {
            esi_pairset_free(s);
            if (rc == ES_EINVAL)
                return esi_err_set(e, ES_EINVAL, "%s[%zu]%s%s%s is not two CJK characters "
                                   "side by side", what, i, pairs[i] ? " (\"" : "",
                                   pairs[i] ? pairs[i] : " (NULL)", pairs[i] ? "\")" : "");
            return rc;
        }
        insert(s, o.v);
    }
    return ES_OK;
}

bool esi_pairset_has(const esi_pairset *s, const char *term, size_t len)
{
    if (len < 1 || len > 8)
        return false;
    uint64_t v = pack(term, len);
    for (size_t i = slot_of(s, v); s->slot[i]; i = (i + 1) & s->mask)
        if (s->slot[i] == v)
            return true;
    return false;
}

void esi_pairset_free(esi_pairset *s)
{
    esi_free(s->slot);
    s->slot = NULL;
    s->mask = 0;
}
