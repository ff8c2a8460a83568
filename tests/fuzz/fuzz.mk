# tests/fuzz: libFuzzer targets. `make check` replays each target's corpus
# (tests/fuzz/corpus/<target>/: seeds and every crash ever found) through
# standalone_main.c; `make fuzz FUZZ_SECONDS=600` builds them with clang's
# libFuzzer + ASan + UBSan and fuzzes each for that long.
FUZZ_TARGETS = tokenize query jsonl index
FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/standalone_main.c
FUZZ_LDADD = lib/libescore.la $(ES_LIBS)
check_PROGRAMS += tests/fuzz/replay_tokenize tests/fuzz/replay_query \
	tests/fuzz/replay_jsonl tests/fuzz/replay_index
tests_fuzz_replay_tokenize_SOURCES = tests/fuzz/fuzz_tokenize.c $(FUZZ_COMMON)
tests_fuzz_replay_tokenize_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"tokenize"'
tests_fuzz_replay_tokenize_LDADD = $(FUZZ_LDADD)
tests_fuzz_replay_query_SOURCES = tests/fuzz/fuzz_query.c $(FUZZ_COMMON)
tests_fuzz_replay_query_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"query"'
tests_fuzz_replay_query_LDADD = $(FUZZ_LDADD)
tests_fuzz_replay_jsonl_SOURCES = tests/fuzz/fuzz_jsonl.c tools/json.c $(FUZZ_COMMON)
tests_fuzz_replay_jsonl_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"jsonl"'
tests_fuzz_replay_jsonl_LDADD = $(FUZZ_LDADD)
tests_fuzz_replay_index_SOURCES = tests/fuzz/fuzz_index.c $(FUZZ_COMMON)
tests_fuzz_replay_index_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"index"'
tests_fuzz_replay_index_LDADD = $(FUZZ_LDADD)
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/run-fuzzers.sh

FUZZ_SECONDS = 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(SHELL) $(srcdir)/tests/fuzz/run-fuzzers.sh \
	  '$(abs_top_srcdir)' '$(abs_top_builddir)/fuzz' \
	  '$(filter %.c,$(ES_SOURCES))' '$(ICU_CFLAGS) $(ZLIB_CFLAGS)' '$(ES_LIBS)' \
	  $(FUZZ_TARGETS)
.PHONY: fuzz
