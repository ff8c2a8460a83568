#!/bin/sh
# run-all.sh: build edusearch and run the whole test suite, the way CI does:
#   1. install the build dependencies if missing (Debian 12, as root),
#   2. build with -Werror and run `make check` (Check's summary lines shown),
#   3. build again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      run the suite again,
#   4. the thread tests (searching, block cache, writer workers) under ThreadSanitizer,
#   5. `make distcheck` (tarball builds, tests pass, installs, and a program
#      compiled with `pkg-config --cflags --libs edusearch` runs).
# Usage: sh tests/run-all.sh        (from the top of the source tree)
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

pkgs="build-essential autoconf automake libtool pkg-config libicu-dev zlib1g-dev check"
missing=""
for p in $pkgs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "== installing:$missing"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "missing packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
        exit 2
    fi
fi

export ES_CORPUS_DIR="${ES_CORPUS_DIR:-$top/../shared/corpus}"
[ -d "$ES_CORPUS_DIR" ] || echo "note: $ES_CORPUS_DIR not found; corpus tests will SKIP"

echo "== autoreconf"
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi

# Print Check's summary lines and the logs of anything that failed.
summarize() {
    grep -h '^[0-9]*%: Checks' "$1"/tests/*.log || true
    grep -h '^# \(TOTAL\|PASS\|SKIP\|XFAIL\|FAIL\|XPASS\|ERROR\):' "$1"/test-suite.log || true
}
show_failures() {
    for t in "$1"/tests/*.trs "$1"/tests/*/*.trs; do
        [ -f "$t" ] || continue
        if grep -q ':test-result: \(FAIL\|ERROR\)' "$t"; then
            echo "---- ${t%.trs}.log"; tail -n 60 "${t%.trs}.log"
        fi
    done
}

run_suite() {   # name, configure flags...
    name=$1; shift
    dir="$top/_ci/$name"
    rm -rf "$dir"; mkdir -p "$dir"
    echo "== [$name] configure $*"
    (cd "$dir" && "$top/configure" -q "$@")
    echo "== [$name] make"
    (cd "$dir" && make -j"$jobs" >/dev/null)
    echo "== [$name] make check"
    if ! (cd "$dir" && make -j"$jobs" check >/dev/null 2>&1); then
        summarize "$dir"; show_failures "$dir"
        echo "== [$name] FAILED"; exit 1
    fi
    summarize "$dir"
}

run_suite werror --enable-werror
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite sanitizers --enable-werror --enable-sanitizers --disable-shared

echo "== [tsan] the thread tests under ThreadSanitizer"
tsan="$top/_ci/tsan"
rm -rf "$tsan"; mkdir -p "$tsan"
# suite:case pairs: 8 threads searching one index (with and without the
# shared block cache; their searches split over the index's worker), the
# cache itself, the writer's analysis workers, es_query_parse's shared pool
# of analyzers, the worker pool, searches split over 1 to 4 threads
# (also over damaged postings, where the threads stop at the first error),
# and snapshots reopened after commits while others search (sharing the
# cache and the workers).
tsan_cases="check_search:threads_agree check_api:cache_threads check_storage:cache_threads
check_api:threads_deterministic check_api:threads_order check_api:threads_free_busy
check_query:parse_threads check_base:pool_lends_idle_workers check_base:pool_cancel_or_wait check_base:pool_polls_then_sleeps
check_base:pool_awake_only
check_api:search_threads_agree check_api:reopen_threads
check_search:split_damaged_postings check_search:split_segments_deletions"
(cd "$tsan" && "$top/configure" -q --enable-werror --disable-shared \
    CFLAGS="-g -O1 -fsanitize=thread" LDFLAGS="-fsanitize=thread" &&
 make -j"$jobs" tests/check_search tests/check_api tests/check_storage \
     tests/check_query tests/check_base >/dev/null &&
 for sc in $tsan_cases; do
     suite=${sc%%:*}; case_=${sc#*:}
     echo "-- $suite $case_"
     ES_SAMPLES_DIR="$top/data/samples" TSAN_OPTIONS=halt_on_error=1 \
     CK_RUN_CASE=$case_ CK_FORK=no ./tests/$suite || exit 1
 done) || {
    echo "== [tsan] FAILED"; exit 1; }

echo "== make distcheck"
(cd "$top/_ci/werror" && make -j"$jobs" distcheck >distcheck.log 2>&1) || {
    tail -n 80 "$top/_ci/werror/distcheck.log"; echo "== distcheck FAILED"; exit 1; }
grep -E 'installcheck:|archives ready|^=+$' "$top/_ci/werror/distcheck.log" | head -5
echo "== all passed"
