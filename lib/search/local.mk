# lib/search: query parsing, execution, ranking and snippets (see query.h,
# search.h).
ES_SOURCES += \
	lib/search/termkey.h \
	lib/search/query.h \
	lib/search/query_parse.c

check_PROGRAMS += tests/check_query
tests_check_query_SOURCES = tests/check_query.c $(TESTUTIL)
tests_check_query_LDADD = $(TEST_LDADD)
tests_check_query_CFLAGS = $(TEST_CFLAGS)
