/*
 * termkey.h: how index term keys are spelled, shared by the writer glue
 * (lib/api) that stores terms and the search layer that looks them up.
 *
 *   body term:   the analyzer's term bytes           e.g. "教育", "2025"
 *   field term:  "<field>" 0x1F "<term bytes>"       e.g. "title\x1f教育"
 *
 * 0x1F never occurs in analyzer output (control characters are separators),
 * so the two spaces cannot collide.
 */
#ifndef ES_TERMKEY_H
#define ES_TERMKEY_H

#include "../base/base.h"

#define ESI_FIELD_SEP 0x1f

/* Append the key of `term` in field `field` (NULL or "" = body) to b. */
static inline void esi_termkey(es_status *rc, esi_buf *b, const char *field,
                               const char *term, size_t term_len)
{
    if (field && *field) {
        esi_buf_put(rc, b, field, strlen(field));
        esi_buf_put_u8(rc, b, ESI_FIELD_SEP);
    }
    esi_buf_put(rc, b, term, term_len);
}

#endif
