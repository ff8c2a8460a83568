#!/bin/sh
# exports.sh: the shared library exports only the es_* public API.
so="$ES_TOP_BUILDDIR/lib/.libs/libedusearch.so"
if [ ! -f "$so" ]; then
    echo "SKIP: $so not built (static-only build)"; exit 77
fi
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^es_' | grep -v '^_' )
if [ -n "$bad" ]; then
    echo "FAIL: non-API symbols exported:"; echo "$bad"; exit 1
fi
n=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -c '^es_')
echo "PASS: $n es_* symbols exported, nothing else"
