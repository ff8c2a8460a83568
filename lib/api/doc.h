/*
 * doc.h: the layout of es_doc, shared by doc.c (which builds it) and
 * writer.c (which analyzes and stores it).
 */
#ifndef ES_DOC_H
#define ES_DOC_H

#include "../storage/storage.h"

/* Largest field value, in bytes. */
#define ES_MAX_FIELD_LEN ((size_t)1 << 20)

struct es_doc {
    char *id;
    size_t id_len;
    char *text;                       /* NULL = empty body */
    size_t text_len;
    esi_field fields[ES_MAX_FIELDS];  /* sorted by name; strings owned */
    size_t nfields;
};

/* The field called name, or NULL. */
const esi_field *esi_doc_field(const es_doc *doc, const char *name);

#endif
