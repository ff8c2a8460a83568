# lib/storage: see lib/storage/storage.h for the contract and
# lib/storage/storage_int.h for the files' private interfaces.
ES_SOURCES += \
	lib/storage/storage.h \
	lib/storage/storage_int.h \
	lib/storage/postings.c \
	lib/storage/termdict.c \
	lib/storage/term_iter.c \
	lib/storage/docstore.c \
	lib/storage/blockcache.c \
	lib/storage/segment.c \
	lib/storage/manifest.c \
	lib/storage/merge.c \
	lib/storage/ixw.c

check_PROGRAMS += tests/check_storage
tests_check_storage_SOURCES = tests/check_storage.c $(TESTUTIL)
tests_check_storage_LDADD = $(TEST_LDADD)
tests_check_storage_CFLAGS = $(TEST_CFLAGS)

# Index size and build throughput on the shared corpus (not run by make check).
noinst_PROGRAMS += bench/bench_storage
bench_bench_storage_SOURCES = bench/bench_storage.c $(TESTUTIL) $(BENCH_COMMON)
bench_bench_storage_LDADD = $(TEST_LDADD)
bench_bench_storage_CFLAGS = $(TEST_CFLAGS)
bench_bench_storage_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
