/*
 * version.c: es_version() and es_version_number(), the linked library's
 * version, which callers compare with the header's ES_VERSION_* macros.
 */
#include "base.h"

const char *es_version(void)
{
    return ES_VERSION_STRING;
}

unsigned es_version_number(void)
{
    return ES_VERSION_NUMBER;
}
