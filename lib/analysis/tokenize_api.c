/*
 * tokenize_api.c: the public es_tokenize() (include/edusearch.h) on top of
 * esi_analyze. Each call creates its own analyzer (cheap once the
 * process-wide tables exist), so the function is reentrant.
 */
#include "analyzer.h"

es_status es_tokenize(const char *text, size_t len, unsigned flags,
                      es_token_cb cb, void *payload, es_error *err)
{
    esi_err e;
    esi_err_clear(&e);
    esi_analyzer *a = NULL;
    es_status rc;
    if (!cb || (!text && len)) {
        rc = esi_err_set(&e, ES_EINVAL, "es_tokenize: NULL %s",
                         cb ? "text with a non-zero length" : "callback");
        goto done;
    }
    if (flags & ~(ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS)) {
        rc = esi_err_set(&e, ES_EINVAL, "es_tokenize: unknown flags 0x%x; use "
                         "ES_TOKENIZE_INDEX and/or ES_TOKENIZE_WORDS",
                         flags & ~(ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS));
        goto done;
    }
    rc = esi_analyzer_new(&a, &e);
    if (rc < 0)
        goto done;
    rc = esi_analyze(a, text, len, flags, cb, payload, &e);
done:
    esi_analyzer_free(a);
    if (rc < 0)
        esi_err_export(&e, err);
    return rc;
}
