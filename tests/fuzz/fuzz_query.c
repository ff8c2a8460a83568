/*
 * This fuzz target parses arbitrary bytes as a query to ensure the parser
 * never crashes, recurses without bound or reads out of bounds, and that a
 * rejected query reports a known status with a position inside the text and
 * a message.
 */
#include "fuzz.h"

#include <edusearch.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_query *q = NULL;
    es_error err;
    memset(&err, 0, sizeof err);
    es_status rc = es_query_parse(&q, (const char *)data, size, &err);
    if (rc == ES_OK) {
        FUZZ_ASSERT(q != NULL);
    } else {
        FUZZ_ASSERT(q == NULL);
        FUZZ_ASSERT(rc == ES_ESYNTAX || rc == ES_ELIMIT || rc == ES_ENOMEM);
        FUZZ_ASSERT(err.position <= size);
        FUZZ_ASSERT(err.message[0] != '\0');
        FUZZ_ASSERT(memchr(err.message, 0, sizeof err.message) != NULL);
    }
    es_query_free(q);
    return 0;
}
