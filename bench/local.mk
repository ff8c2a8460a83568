# bench: benchmarks, built by `make` but never run by `make check`.
# bench_analyzer links libescore for the internal analysis API.
noinst_PROGRAMS += bench/bench_analyzer
bench_bench_analyzer_SOURCES = bench/bench_analyzer.c
bench_bench_analyzer_LDADD = lib/libescore.la $(ES_LIBS)
