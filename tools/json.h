/*
 * json.h: the little JSON the edusearch command needs: reading one JSONL
 * line into its top-level string fields, and writing escaped JSON strings.
 * Uses no library internals (the CLI sees only include/edusearch.h).
 */
#ifndef ES_TOOLS_JSON_H
#define ES_TOOLS_JSON_H

#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct jl_field {
    char *name;        /* decoded key, NUL-terminated */
    char *value;       /* decoded string value (numbers/bools as written) */
    size_t value_len;
} jl_field;

typedef struct jl_object {
    jl_field *fields;
    size_t n, cap;
} jl_object;

/* Parse one JSON object from s[0..len). Top-level string, number and boolean
 * members are kept (numbers and booleans as their text); null, arrays and
 * nested objects are skipped. Returns 0, or -1 with a reason and the byte
 * column (1-based) in err. */
int jl_parse(const char *s, size_t len, jl_object *out, char *err, size_t errlen);
/* The member called name, or NULL. */
const jl_field *jl_get(const jl_object *o, const char *name);
void jl_free(jl_object *o);

/* Write s as a JSON string literal (with quotes) to f. Invalid UTF-8 bytes
 * are written as U+FFFD: false if there were any (the literal is not s). */
bool json_put_string(FILE *f, const char *s, size_t len);

#endif
