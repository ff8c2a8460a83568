/*
 * fuzz.h: what every fuzz target shares: the libFuzzer entry point and a
 * FUZZ_ASSERT that aborts (the one place abort is right: it is how a fuzzer
 * reports a broken oracle). Targets build two ways: with clang's libFuzzer
 * (make fuzz) or with standalone_main.c, which replays files (make check).
 */
#ifndef ES_FUZZ_H
#define ES_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: oracle failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                       \
            abort();                                                        \
        }                                                                   \
    } while (0)

#endif
