#!/bin/sh
# run-fuzzers.sh: build every fuzz target with clang's libFuzzer, ASan and
# UBSan, then fuzz each for $FUZZ_SECONDS (default 60) starting from its
# committed corpus. New inputs go to OUT/corpus/<target>; crashes to
# OUT/crash-<target>-*: copy those into tests/fuzz/corpus/<target>/ as
# regression inputs once fixed. Called by `make fuzz`.
# Usage: run-fuzzers.sh SRCDIR OUT "LIB_SOURCES" "CFLAGS" "LIBS" TARGET...
set -eu
src=$1 out=$2 sources=$3 cflags=$4 libs=$5
shift 5
secs=${FUZZ_SECONDS:-60}
CLANG=${CLANG:-clang}
mkdir -p "$out"
flags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$src/include -I$src/lib"
for t in "$@"; do
    extra=""
    [ "$t" = jsonl ] && extra="$src/tools/json.c"
    libsrc=""
    for s in $sources; do libsrc="$libsrc $src/$s"; done
    echo "== building fuzz_$t"
    # shellcheck disable=SC2086
    $CLANG $flags $cflags -o "$out/fuzz_$t" "$src/tests/fuzz/fuzz_$t.c" $extra $libsrc $libs -lpthread
    mkdir -p "$out/corpus/$t"
    echo "== fuzzing $t for ${secs}s"
    (cd "$out" && ./"fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$out/crash-$t-" "corpus/$t" "$src/tests/fuzz/corpus/$t") \
        > "$out/fuzz_$t.log" 2>&1 || { tail -n 40 "$out/fuzz_$t.log"; echo "== $t: FAILED"; exit 1; }
    grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$out/fuzz_$t.log" | tail -n 2
done
echo "== fuzzing finished without findings"
