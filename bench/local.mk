# bench: benchmarks (see docs/PERFORMANCE.md).
#
# bench_analyzer (analysis throughput) is built by `make` but never run by
# `make check`; it links libescore for the internal analysis API.
#
# BENCH_COMMON: what the drivers share (bench/benchutil.h: clocks,
# percentiles, the bench/run main loop; tools/json.c reads JSON Lines).
BENCH_COMMON = bench/benchutil.c bench/benchutil.h tools/json.c tools/json.h
# BENCH_GZ: the gzip'ed corpus reader of the drivers that link zlib.
BENCH_GZ = bench/benchgz.c bench/benchgz.h
noinst_PROGRAMS += bench/bench_analyzer
bench_bench_analyzer_SOURCES = bench/bench_analyzer.c $(BENCH_COMMON) $(BENCH_GZ)
bench_bench_analyzer_LDADD = lib/libescore.la $(ES_LIBS)

# bench/run, the side-by-side benchmark against SQLite FTS5 and Xapian: the
# edusearch and reference drivers are EXTRA_PROGRAMS, built only when
# bench/run asks for them by name, never by `make`, `make check` or CI. The
# FTS5 and Xapian drivers need libraries configure does not look for, so
# bench/run compiles them itself with pkg-config; they are only distributed.
EXTRA_PROGRAMS = bench/bench_edusearch bench/bench_reference bench/bench_search \
	bench/bench_dict
bench_bench_edusearch_SOURCES = bench/bench_edusearch.c $(BENCH_COMMON)
bench_bench_edusearch_LDADD = lib/libedusearch.la
bench_bench_reference_SOURCES = bench/bench_reference.c $(BENCH_COMMON)
bench_bench_reference_LDADD = lib/libescore.la $(ES_LIBS)
bench_bench_reference_CPPFLAGS = $(AM_CPPFLAGS) -DES_TESTING
# bench_search: search latency and pruning on the shared corpus (reads
# internal esi_* counters, so it links libescore).
bench_bench_search_SOURCES = bench/bench_search.c $(BENCH_COMMON) $(BENCH_GZ)
bench_bench_search_LDADD = lib/libescore.la $(ES_LIBS) -lm
# bench_dict: the fixed cost of a query (parse, dictionary lookups of
# every key of the bench queries, a dictionary walk); internal API.
bench_bench_dict_SOURCES = bench/bench_dict.c $(BENCH_COMMON)
bench_bench_dict_LDADD = lib/libescore.la $(ES_LIBS)
CLEANFILES += $(EXTRA_PROGRAMS)
EXTRA_DIST += bench/run bench/bench_fts5.c bench/bench_pair.c bench/bench_xapian.cc \
	bench/queries.txt bench/make_queries.py bench/common_pairs.py bench/results/latest.md \
	bench/results/latest-counts.tsv
