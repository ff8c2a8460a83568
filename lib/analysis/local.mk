# lib/analysis: see lib/analysis/*.h for the contract.
ES_SOURCES += \
	lib/analysis/analyzer.h \
	lib/analysis/analyzer_int.h \
	lib/analysis/normalize.h \
	lib/analysis/normalize.c \
	lib/analysis/analyzer.c \
	lib/analysis/fold.c \
	lib/analysis/sentences.c \
	lib/analysis/tokenize_api.c

check_PROGRAMS += tests/check_analyzer
tests_check_analyzer_SOURCES = tests/check_analyzer.c $(TESTUTIL)
tests_check_analyzer_LDADD = $(TEST_LDADD)
tests_check_analyzer_CFLAGS = $(TEST_CFLAGS)
