/*
 * doc.c: es_doc, a document being prepared for es_writer_add(): an id, a
 * body text and named fields, all copied in. Fields are kept sorted by name
 * so the writer can hand them to storage as they are.
 */
#include "doc.h"

#include <stdlib.h>

es_status es_doc_new(es_doc **out, const char *id, size_t id_len, es_error *err)
{
    esi_err e = { 0 };
    es_status rc;
    if (!out) {
        rc = esi_err_set(&e, ES_EINVAL, "es_doc_new: out is NULL");
        goto fail;
    }
    *out = NULL;
    if (!id || id_len == 0 || id_len > ES_MAX_ID_LEN || memchr(id, 0, id_len)) {
        rc = esi_err_set(&e, ES_EINVAL,
                         "document id must be 1..%d bytes without NUL (got %zu)",
                         ES_MAX_ID_LEN, id ? id_len : 0);
        goto fail;
    }
    es_doc *d = esi_calloc(1, sizeof *d);
    if (d)
        d->id = esi_strndup(id, id_len);
    if (!d || !d->id) {
        esi_free(d);
        rc = esi_err_set(&e, ES_ENOMEM, "out of memory creating a document");
        goto fail;
    }
    d->id_len = id_len;
    *out = d;
    return ES_OK;
fail:
    esi_err_export(&e, err);
    return rc;
}

es_status es_doc_set_text(es_doc *doc, const char *text, size_t len)
{
    if (!doc || (!text && len))
        return ES_EINVAL;
    if (len > ES_MAX_DOC_LEN)
        return ES_ELIMIT;
    char *t = esi_strndup(text ? text : "", len);
    if (!t)
        return ES_ENOMEM;
    esi_free(doc->text);
    doc->text = t;
    doc->text_len = len;
    return ES_OK;
}

/* True if name is 1..64 bytes of [a-z0-9_]. */
static bool valid_field_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

es_status es_doc_set_field(es_doc *doc, const char *name, const char *value,
                           size_t len)
{
    if (!doc || !valid_field_name(name) || (!value && len))
        return ES_EINVAL;
    if (len > ES_MAX_FIELD_LEN)
        return ES_ELIMIT;
    size_t i = 0;
    int cmp = 1;
    while (i < doc->nfields && (cmp = strcmp(doc->fields[i].name, name)) < 0)
        i++;
    char *v = esi_strndup(value ? value : "", len);
    if (!v)
        return ES_ENOMEM;
    if (i < doc->nfields && cmp == 0) {          /* replace */
        esi_free((char *)doc->fields[i].value);
        doc->fields[i].value = v;
        doc->fields[i].value_len = len;
        return ES_OK;
    }
    if (doc->nfields >= ES_MAX_FIELDS) {
        esi_free(v);
        return ES_ELIMIT;
    }
    char *nm = esi_strndup(name, strlen(name));
    if (!nm) {
        esi_free(v);
        return ES_ENOMEM;
    }
    memmove(&doc->fields[i + 1], &doc->fields[i],
            (doc->nfields - i) * sizeof doc->fields[0]);
    doc->fields[i] = (esi_field){ nm, strlen(nm), v, len };
    doc->nfields++;
    return ES_OK;
}

const esi_field *esi_doc_field(const es_doc *doc, const char *name)
{
    for (size_t i = 0; i < doc->nfields; i++)
        if (strcmp(doc->fields[i].name, name) == 0)
            return &doc->fields[i];
    return NULL;
}

void es_doc_free(es_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->nfields; i++) {
        esi_free((char *)doc->fields[i].name);
        esi_free((char *)doc->fields[i].value);
    }
    esi_free(doc->text);
    esi_free(doc->id);
    esi_free(doc);
}
