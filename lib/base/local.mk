# lib/base: allocation, errors, buffers, UTF-8, file I/O, file framing,
# a pool of worker threads.
ES_SOURCES += \
	lib/base/base.h \
	lib/base/alloc.c \
	lib/base/error.c \
	lib/base/buf.c \
	lib/base/utf8.c \
	lib/base/io.h \
	lib/base/io.c \
	lib/base/fileformat.h \
	lib/base/fileformat.c \
	lib/base/version.c \
	lib/base/date.c \
	lib/base/pool.h \
	lib/base/pool.c
