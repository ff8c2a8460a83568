# tools: the edusearch command.
bin_PROGRAMS = tools/edusearch
tools_edusearch_SOURCES = tools/edusearch.c
tools_edusearch_LDADD = lib/libedusearch.la
