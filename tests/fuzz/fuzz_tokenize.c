/*
 * This fuzz target feeds arbitrary bytes to es_tokenize() (index tokens and
 * ICU words) to ensure the analyzer never crashes or reads out of bounds, and
 * that every token it reports is sane: a byte range inside the input that
 * starts and ends on character boundaries as the library's UTF-8 policy
 * decodes them (an invalid byte is a character of its own), a non-empty term, and
 * positions that never go backwards.
 */
#include "fuzz.h"

#include "base/base.h"

#include <edusearch.h>
#include <string.h>

typedef struct ctx {
    const uint8_t *data;
    size_t size;
    uint8_t *boundary;       /* boundary[i]: a character starts at byte i */
    uint32_t last_unit_pos;
} ctx;

/* True if byte i starts a character as esi_utf8_next decodes the input. */
static int starts_char(const ctx *c, size_t i)
{
    return i == c->size || c->boundary[i];
}

static int check_token(const es_token *t, void *p)
{
    ctx *c = p;
    FUZZ_ASSERT(t->start < t->end && t->end <= c->size);
    FUZZ_ASSERT(starts_char(c, t->start));
    FUZZ_ASSERT(starts_char(c, t->end));
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
    ctx c = { data, size, calloc(size + 1, 1), 0 };
    FUZZ_ASSERT(c.boundary != NULL);
    for (size_t i = 0; i < size;) {
        c.boundary[i] = 1;
        esi_utf8_next(data, size, &i);
    }
    es_error err;
    es_status rc = es_tokenize((const char *)data, size,
                               ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS,
                               check_token, &c, &err);
    FUZZ_ASSERT(rc == ES_OK || rc == ES_ENOMEM);
    free(c.boundary);
    return 0;
}
