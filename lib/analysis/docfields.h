/*
 * docfields.h: the official-document field extractor's whole contract.
 * Recognizes, in the plain text of one document, the fields people search
 * Chinese official documents by (GB/T 9704 layout: 发文机关, 文号, 签发人,
 * 标题, 主送机关, 成文日期, 公开属性 ...) and, for laws and regulations in
 * the shared corpus's Markdown layout, their title, type, adopting body and
 * latest adoption/amendment date. The rules are specified in docs/FIELDS.md.
 *
 * Only confident values are returned: a field that cannot be recognized
 * with confidence is absent, never a guess. The extractor looks only at the
 * head and tail of long texts (where these fields live), so its time is
 * bounded and linear in those windows; any bytes are accepted (invalid
 * UTF-8, NUL). It does not depend on the tokenizer.
 */
#ifndef ES_ANALYSIS_DOCFIELDS_H
#define ES_ANALYSIS_DOCFIELDS_H

#include "base/base.h"

/* How many fields one document can yield (there are ten names). */
#define ESI_DOCFIELDS_MAX 16

/* One extracted field; value is a malloc'ed (esi_malloc) NUL-terminated
 * UTF-8 string; name is static text (one of the names below). */
typedef struct esi_docfield {
    const char *name;   /* "agency", "docno", ... (static) */
    char *value;        /* owned; valid UTF-8, NUL-terminated */
    size_t value_len;   /* its length in bytes */
} esi_docfield;

typedef struct esi_docfields {
    esi_docfield f[ESI_DOCFIELDS_MAX];
    size_t n;           /* fields used, in the fixed name order below */
} esi_docfields;

/*
 * Recognize official-document fields in plain text (GB/T 9704 layout,
 * PDF-extracted text with hard line breaks and stray spaces). Only confident
 * values are returned; a field that cannot be recognized with confidence is
 * absent (never a wrong guess). Names, in output order: agency, docno,
 * signer, title, type, addressee, proposal, date (ISO YYYY-MM-DD),
 * disclosure, result.
 * out is overwritten (not freed first); on ES_OK the caller frees it with
 * esi_docfields_free(); on failure out is left empty (n = 0).
 * Returns ES_OK, ES_EINVAL (out NULL, or text NULL with len > 0), ES_ENOMEM.
 * Thread safety: reentrant; touches no shared state.
 */
es_status esi_docfields_extract(const char *text, size_t len, esi_docfields *out, esi_err *e);

/* Free the values of f and set f->n to 0; f may be NULL. */
void esi_docfields_free(esi_docfields *f);

/* The value of field `name` in f, or NULL when absent. */
const char *esi_docfields_get(const esi_docfields *f, const char *name);

#endif /* ES_ANALYSIS_DOCFIELDS_H */
