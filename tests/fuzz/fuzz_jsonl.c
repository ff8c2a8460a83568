/*
 * This fuzz target feeds arbitrary bytes to the command's JSONL line reader
 * (tools/json.c) to ensure it never crashes or overreads, that every
 * rejected line gets a reason with a column inside the line, and that every
 * accepted string value re-encodes (json_put_string) into JSON that parses
 * back to the same bytes.
 */
#include "fuzz.h"
#include "../../tools/json.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jl_object o;
    char err[160] = "";
    if (jl_parse((const char *)data, size, &o, err, sizeof err) != 0) {
        FUZZ_ASSERT(strncmp(err, "column ", 7) == 0);
        FUZZ_ASSERT(strtoul(err + 7, NULL, 10) <= size + 1);
        return 0;
    }
    for (size_t i = 0; i < o.n; i++) {
        char *buf = NULL;
        size_t blen = 0;
        FILE *f = open_memstream(&buf, &blen);
        fputs("{\"k\":", f);
        json_put_string(f, o.fields[i].value, o.fields[i].value_len);
        fputs("}", f);
        fclose(f);
        jl_object back;
        FUZZ_ASSERT(jl_parse(buf, blen, &back, err, sizeof err) == 0);
        FUZZ_ASSERT(back.n == 1);
        /* values are raw bytes: equal unless they held invalid UTF-8,
         * which the writer replaces with U+FFFD */
        if (back.fields[0].value_len == o.fields[i].value_len)
            FUZZ_ASSERT(memcmp(back.fields[0].value, o.fields[i].value,
                               o.fields[i].value_len) == 0 ||
                        memmem(buf, blen, "\\ufffd", 6) != NULL);
        jl_free(&back);
        free(buf);
    }
    jl_free(&o);
    return 0;
}
