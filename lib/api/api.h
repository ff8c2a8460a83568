/*
 * api.h: the definitions behind the public handles that more than one glue
 * file needs. lib/api is the top layer of the library: it implements the
 * es_* functions of include/edusearch.h on top of analysis, storage and
 * search. Nothing below lib/api includes this file.
 */
#ifndef ES_API_INTERNAL_H
#define ES_API_INTERNAL_H

#include "../base/base.h"
#include "../storage/storage.h"

/* es_index: an opened snapshot. Immutable after es_index_open, so any number
 * of threads may search it; per-search state lives in es_results. */
struct es_index {
    esi_snapshot *snap;   /* segments + deletions of one commit */
    char *dir;            /* the index directory */
};

#endif
