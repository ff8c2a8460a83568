# lib/search: query parsing, execution, ranking and snippets (see query.h,
# search.h).
ES_SOURCES += \
	lib/search/termkey.h \
	lib/search/query.h \
	lib/search/query_parse.c \
	lib/search/query_lower.c \
	lib/search/search.h \
	lib/search/exec.c \
	lib/search/prefix.c \
	lib/search/score.c \
	lib/search/snippet.c \
	lib/search/explain.c
ES_LIBS += -lm

check_PROGRAMS += tests/check_query tests/check_search
tests_check_query_SOURCES = tests/check_query.c $(TESTUTIL)
tests_check_query_LDADD = $(TEST_LDADD)
tests_check_query_CFLAGS = $(TEST_CFLAGS)
tests_check_search_SOURCES = tests/check_search.c $(TESTUTIL)
tests_check_search_LDADD = $(TEST_LDADD)
tests_check_search_CFLAGS = $(TEST_CFLAGS)
