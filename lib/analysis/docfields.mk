# lib/analysis/docfields: the official-document field extractor
# (docfields.h is the contract, the rules) and its suite.
ES_SOURCES += lib/analysis/docfields.h lib/analysis/docfields.c

check_PROGRAMS += tests/check_docfields
tests_check_docfields_SOURCES = tests/check_docfields.c $(TESTUTIL)
tests_check_docfields_LDADD = $(TEST_LDADD)
tests_check_docfields_CFLAGS = $(TEST_CFLAGS)
EXTRA_DIST += tests/data/docfields/labels.tsv
