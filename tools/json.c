/*
 * json.c: a strict, small JSON reader for JSONL input lines and a string
 * escaper for --json output (see json.h). Errors name the column so the
 * user can fix the line: "docs.jsonl:12: column 40: unterminated string".
 */
#include "json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s, *end, *start;
    char *err;
    size_t errlen;
    int depth;
} parser;

/* Record an error at the current position; returns -1. */
static int fail(parser *p, const char *why)
{
    snprintf(p->err, p->errlen, "column %zu: %s", (size_t)(p->s - p->start) + 1, why);
    return -1;
}

static void skip_ws(parser *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' ||
                             *p->s == '\n'))
        p->s++;
}

/* Append the UTF-8 of cp to out at *n. */
static void put_cp(char *out, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* Read 4 hex digits. */
static int hex4(parser *p, uint32_t *out)
{
    if (p->end - p->s < 4)
        return fail(p, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *p->s++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return fail(p, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

/* Parse a string at p->s (which is at '"'); if out is not NULL store a
 * malloc'ed decoded copy. The decoded form is never longer than the source. */
static int parse_string(parser *p, char **out, size_t *outlen)
{
    p->s++;
    const char *q = p->s;
    char *buf = out ? malloc((size_t)(p->end - q) + 1) : NULL;
    size_t n = 0;
    char scratch[8];
    if (out && !buf)
        return fail(p, "out of memory");
    for (;;) {
        if (p->s >= p->end) {
            free(buf);
            return fail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)*p->s;
        if (c == '"') {
            p->s++;
            break;
        }
        if (c < 0x20) {
            free(buf);
            return fail(p, "control character in string (escape it)");
        }
        if (c != '\\') {
            if (buf)
                buf[n] = (char)c;
            n += buf ? 1 : 0;
            p->s++;
            continue;
        }
        p->s++;
        if (p->s >= p->end) {
            free(buf);
            return fail(p, "unterminated escape");
        }
        char e = *p->s++;
        char lit = 0;
        switch (e) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (hex4(p, &cp) != 0) {
                free(buf);
                return -1;
            }
            if (cp >= 0xd800 && cp < 0xdc00 && p->end - p->s >= 6 &&
                p->s[0] == '\\' && p->s[1] == 'u') {
                const char *save = p->s;
                uint32_t lo;
                p->s += 2;
                if (hex4(p, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                else {
                    p->s = save;
                    cp = 0xfffd;
                }
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;   /* lone surrogate */
            }
            size_t k = 0;
            put_cp(scratch, &k, cp);
            if (buf)
                memcpy(buf + n, scratch, k);
            n += buf ? k : 0;
            continue;
        }
        default:
            free(buf);
            return fail(p, "unknown escape in string");
        }
        if (buf)
            buf[n] = lit;
        n += buf ? 1 : 0;
    }
    if (out) {
        buf[n] = '\0';
        *out = buf;
        *outlen = n;
    }
    return 0;
}

static int parse_value(parser *p, char **text, size_t *len);

/* Skip an array or object (nested values are parsed and discarded). */
static int skip_container(parser *p)
{
    char open = *p->s, close = open == '[' ? ']' : '}';
    if (++p->depth > 64)
        return fail(p, "nesting deeper than 64");
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        p->depth--;
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (open == '{') {
            if (p->s >= p->end || *p->s != '"')
                return fail(p, "expected a member name");
            if (parse_string(p, NULL, NULL) != 0)
                return -1;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':')
                return fail(p, "expected ':'");
            p->s++;
        }
        if (parse_value(p, NULL, NULL) != 0)
            return -1;
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == close) {
            p->s++;
            p->depth--;
            return 0;
        }
        return fail(p, open == '[' ? "expected ',' or ']'" : "expected ',' or '}'");
    }
}

/* Parse any value; for strings, numbers and booleans, *text gets a copy. */
static int parse_value(parser *p, char **text, size_t *len)
{
    skip_ws(p);
    if (p->s >= p->end)
        return fail(p, "expected a value");
    char c = *p->s;
    if (c == '"')
        return parse_string(p, text, len);
    if (c == '{' || c == '[')
        return skip_container(p);
    const char *lits[] = { "true", "false", "null" };
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if ((size_t)(p->end - p->s) >= n && memcmp(p->s, lits[i], n) == 0) {
            if (text && i < 2) {
                *text = strdup(lits[i]);
                if (!*text)
                    return fail(p, "out of memory");
                *len = n;
            }
            p->s += n;
            return 0;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        const char *q = p->s;
        if (*p->s == '-')
            p->s++;
        /* *p->s != 0: strchr would match the string's own terminator */
        while (p->s < p->end && *p->s && strchr("0123456789.eE+-", *p->s))
            p->s++;
        if (text) {
            *len = (size_t)(p->s - q);
            *text = malloc(*len + 1);
            if (!*text)
                return fail(p, "out of memory");
            memcpy(*text, q, *len);
            (*text)[*len] = '\0';
        }
        return 0;
    }
    return fail(p, "unexpected character (not a JSON value)");
}

int jl_parse(const char *s, size_t len, jl_object *out, char *err, size_t errlen)
{
    parser p = { s, s + len, s, err, errlen, 0 };
    out->fields = NULL;
    out->n = out->cap = 0;
    skip_ws(&p);
    if (p.s >= p.end || *p.s != '{')
        return fail(&p, "a line must be a JSON object {...}");
    p.s++;
    skip_ws(&p);
    if (p.s < p.end && *p.s == '}') {
        p.s++;
        goto tail;
    }
    for (;;) {
        skip_ws(&p);
        if (p.s >= p.end || *p.s != '"')
            goto bad_name;
        char *name = NULL, *val = NULL;
        size_t nlen, vlen = 0;
        if (parse_string(&p, &name, &nlen) != 0)
            goto fail;
        skip_ws(&p);
        if (p.s >= p.end || *p.s != ':') {
            free(name);
            fail(&p, "expected ':' after member name");
            goto fail;
        }
        p.s++;
        if (parse_value(&p, &val, &vlen) != 0) {
            free(name);
            goto fail;
        }
        if (val) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 8;
                out->fields = realloc(out->fields, out->cap * sizeof *out->fields);
            }
            out->fields[out->n++] = (jl_field){ name, val, vlen };
        } else {
            free(name);
        }
        skip_ws(&p);
        if (p.s < p.end && *p.s == ',') {
            p.s++;
            continue;
        }
        if (p.s < p.end && *p.s == '}') {
            p.s++;
            break;
        }
        fail(&p, "expected ',' or '}'");
        goto fail;
    }
tail:
    skip_ws(&p);
    if (p.s != p.end) {
        fail(&p, "text after the closing '}'");
        goto fail;
    }
    return 0;
bad_name:
    fail(&p, "expected a member name in double quotes");
fail:
    jl_free(out);
    return -1;
}

const jl_field *jl_get(const jl_object *o, const char *name)
{
    for (size_t i = o->n; i-- > 0;)   /* the last duplicate wins */
        if (strcmp(o->fields[i].name, name) == 0)
            return &o->fields[i];
    return NULL;
}

void jl_free(jl_object *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->fields[i].name);
        free(o->fields[i].value);
    }
    free(o->fields);
    o->fields = NULL;
    o->n = o->cap = 0;
}

/* Length of a valid UTF-8 sequence at s (< n bytes left), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (need == 0 || need > n || c > 0xf4)
        return 0;
    for (size_t i = 1; i < need; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
        (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return need;
}

bool json_put_string(FILE *f, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    bool exact = true;
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(u + i, len - i);
            if (k) {
                fwrite(u + i, 1, k, f);
                i += k;
            } else {
                fputs("\\ufffd", f);
                exact = false;
                i++;
            }
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
        i++;
    }
    fputc('"', f);
    return exact;
}
