/*
 * This fuzz target feeds arbitrary bytes to es_tokenize() (index tokens and
 * ICU words) to ensure the analyzer never crashes or reads out of bounds, and
 * that every token it reports is sane: a byte range inside the input that
 * starts and ends on UTF-8 character boundaries, a non-empty term, and
 * positions that never go backwards.
 */
#include "fuzz.h"

#include <edusearch.h>
#include <string.h>

typedef struct ctx {
    const uint8_t *data;
    size_t size;
    uint32_t last_unit_pos;
} ctx;

/* A byte that begins a character (not a UTF-8 continuation byte). */
static int starts_char(const uint8_t *d, size_t size, size_t i)
{
    return i == size || (d[i] & 0xc0) != 0x80;
}

static int check_token(const es_token *t, void *p)
{
    ctx *c = p;
    FUZZ_ASSERT(t->start < t->end && t->end <= c->size);
    FUZZ_ASSERT(starts_char(c->data, c->size, t->start));
    FUZZ_ASSERT(starts_char(c->data, c->size, t->end));
    FUZZ_ASSERT(t->term_len > 0 && t->term != NULL);
    FUZZ_ASSERT(memchr(t->term, 0x1f, t->term_len) == NULL);
    FUZZ_ASSERT(t->span >= 1);
    if (t->kind != ES_TOKEN_WORD) {
        FUZZ_ASSERT(t->position >= c->last_unit_pos);
        c->last_unit_pos = t->position;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ctx c = { data, size, 0 };
    es_error err;
    es_status rc = es_tokenize((const char *)data, size,
                               ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS,
                               check_token, &c, &err);
    FUZZ_ASSERT(rc == ES_OK || rc == ES_ENOMEM);
    return 0;
}
