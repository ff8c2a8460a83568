# tests: Check suites (one program per module, linked against libescore, the
# ES_TESTING build of the library), CLI scripts and the pkg-config consumer.
# Module suites are added by each lib/<layer>/local.mk.
TEST_LDADD = lib/libescore.la $(CHECK_LIBS) $(ES_LIBS)
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -DES_TESTING
TESTUTIL = tests/testutil.c tests/testutil.h

AM_TESTS_ENVIRONMENT = \
	ES_CORPUS_DIR=$${ES_CORPUS_DIR:-'$(abs_top_srcdir)/../shared/corpus'}; export ES_CORPUS_DIR; \
	ES_SAMPLES_DIR='$(abs_top_srcdir)/data/samples'; export ES_SAMPLES_DIR; \
	EDUSEARCH='$(abs_top_builddir)/tools/edusearch'; export EDUSEARCH; \
	ES_TOP_SRCDIR='$(abs_top_srcdir)'; export ES_TOP_SRCDIR; \
	ES_TOP_BUILDDIR='$(abs_top_builddir)'; export ES_TOP_BUILDDIR;

check_PROGRAMS += tests/check_base tests/check_api tests/check_crash tests/check_soak \
	tests/check_header
tests_check_base_SOURCES = tests/check_base.c $(TESTUTIL)
tests_check_base_LDADD = $(TEST_LDADD)
tests_check_base_CFLAGS = $(TEST_CFLAGS)
tests_check_api_SOURCES = tests/check_api.c $(TESTUTIL)
tests_check_api_LDADD = $(TEST_LDADD)
tests_check_api_CFLAGS = $(TEST_CFLAGS)
tests_check_crash_SOURCES = tests/check_crash.c $(TESTUTIL)
tests_check_crash_LDADD = $(TEST_LDADD)
tests_check_crash_CFLAGS = $(TEST_CFLAGS)
tests_check_soak_SOURCES = tests/check_soak.c $(TESTUTIL)
tests_check_soak_LDADD = $(TEST_LDADD)
tests_check_soak_CFLAGS = $(TEST_CFLAGS)
# The public header compiles on its own under strict C11 and links.
tests_check_header_SOURCES = tests/check_header.c
tests_check_header_LDADD = lib/libedusearch.la $(CHECK_LIBS)
tests_check_header_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)

CLI_TESTS = tests/cli/exports.sh tests/cli/cli_basic.sh tests/cli/cli_errors.sh
TESTS += $(check_PROGRAMS) $(CLI_TESTS)
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
EXTRA_DIST += $(CLI_TESTS) tests/cli/lib.sh tests/consumer/consumer.c \
	tests/run-all.sh tests/limits.sh

# Installed-library check: build a program outside the tree with pkg-config
# against the installed prefix and run it (make distcheck runs installcheck).
installcheck-local:
	@set -e; tmp=`mktemp -d`; \
	pc='$(DESTDIR)$(libdir)/pkgconfig'; \
	$(CC) -std=c11 -Wall -Wextra -Wpedantic -Werror -o $$tmp/consumer \
	  $(srcdir)/tests/consumer/consumer.c \
	  `PKG_CONFIG_PATH=$$pc $(PKG_CONFIG) --cflags --libs edusearch`; \
	LD_LIBRARY_PATH='$(DESTDIR)$(libdir)' $$tmp/consumer $$tmp/ix; \
	rm -rf $$tmp; echo "installcheck: pkg-config consumer OK"
