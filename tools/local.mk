# tools: the edusearch command (uses only the public header).
bin_PROGRAMS = tools/edusearch
tools_edusearch_SOURCES = tools/edusearch.c tools/cli.h tools/json.c \
	tools/json.h tools/cmd_index.c tools/cmd_search.c tools/cmd_manage.c
tools_edusearch_LDADD = lib/libedusearch.la
