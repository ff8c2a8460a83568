# lib/api: the public es_* glue over analysis, storage and search.
ES_SOURCES += \
	lib/api/api.h \
	lib/api/doc.h \
	lib/api/doc.c \
	lib/api/writer.c \
	lib/api/pospairs.c \
	lib/api/index.c \
	lib/api/facet.c \
	lib/api/search_api.c
