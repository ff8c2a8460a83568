# bench: benchmarks, built by `make` but never run by `make check`.
# bench_analyzer links libescore for the internal analysis API.
noinst_PROGRAMS += bench/bench_analyzer
bench_bench_analyzer_SOURCES = bench/bench_analyzer.c
bench_bench_analyzer_LDADD = lib/libescore.la $(ES_LIBS)
# bench_search: search latency and pruning on the shared corpus (links the
# static libedusearch, whose internal esi_* symbols it also reads).
noinst_PROGRAMS += bench/bench_search
bench_bench_search_SOURCES = bench/bench_search.c tools/json.c tools/json.h
bench_bench_search_LDADD = lib/libedusearch.la $(ES_LIBS) -lm
bench_bench_search_LDFLAGS = -static
