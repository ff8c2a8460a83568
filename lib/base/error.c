/*
 * error.c: status texts and the message plumbing behind es_strerror(),
 * es_error and the per-handle last-error messages.
 */
#include "base.h"

#include <stdio.h>

const char *es_strerror(es_status code)
{
    switch (code) {
    case ES_OK:        return "success";
    case ES_DONE:      return "iteration finished";
    case ES_ERROR:     return "error";
    case ES_ENOMEM:    return "out of memory";
    case ES_EINVAL:    return "invalid argument";
    case ES_EIO:       return "input/output error";
    case ES_ECORRUPT:  return "index is corrupt";
    case ES_EFORMAT:   return "unsupported index format version";
    case ES_ELOCKED:   return "index is locked by another writer";
    case ES_ENOTFOUND: return "not found";
    case ES_EEXISTS:   return "already exists";
    case ES_ESYNTAX:   return "query syntax error";
    case ES_ELIMIT:    return "limit exceeded";
    }
    return "unknown status";
}

es_status esi_err_set(esi_err *e, es_status code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void esi_err_clear(esi_err *e)
{
    if (e) {
        e->code = ES_OK;
        e->msg[0] = '\0';
    }
}

void esi_err_export(const esi_err *e, es_error *out)
{
    if (!out || !e)
        return;
    out->code = e->code;
    out->position = 0;
    snprintf(out->message, sizeof out->message, "%s",
             e->msg[0] ? e->msg : es_strerror(e->code));
}
