/*
 * io.h: the only layer that makes file-system calls. Storage writes and
 * commits go through here so that tests (built with ES_TESTING) can make any
 * write, fsync, rename or open fail with a chosen errno and check that the
 * index still opens at its last commit.
 *
 * Every function returns ES_OK or ES_EIO/ES_ENOTFOUND with a message naming
 * the path and the system error.
 */
#ifndef ES_IO_H
#define ES_IO_H

#include "base.h"

/* Identity of a file: device, inode, size and change times. A commit never
 * rewrites a file in place, so a file name whose identity is unchanged
 * still holds the same bytes; one that was removed and written again (an
 * index built anew in the same directory) has another inode or times. */
typedef struct esi_file_id {
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
} esi_file_id;

/* A read-only memory mapping of a whole file. */
typedef struct esi_map {
    const uint8_t *data;  /* NULL for an empty file */
    size_t len;
    esi_file_id id;       /* the mapped file's identity when mapped */
} esi_map;

es_status esi_io_map(const char *path, esi_map *out, esi_err *e);
void esi_io_unmap(esi_map *m);

/* Read a whole file into b (appending); with id (may be NULL) the identity
 * of the file read, taken from the same open file. */
es_status esi_io_read_file(const char *path, esi_buf *b, esi_file_id *id, esi_err *e);
/* The identity of path. ES_ENOTFOUND if it does not exist. */
es_status esi_io_file_id(const char *path, esi_file_id *out, esi_err *e);
/* True if a and b are the same file unchanged. */
bool esi_file_id_same(const esi_file_id *a, const esi_file_id *b);

/* Create (or truncate) path, write data, fsync it when sync, close. */
es_status esi_io_write_file(const char *path, const void *data, size_t len,
                            bool sync, esi_err *e);
/* Atomically replace `path`: write `path.tmp`, fsync, rename, fsync dir. */
es_status esi_io_write_atomic(const char *dir, const char *name,
                              const void *data, size_t len, bool sync,
                              esi_err *e);
/* A file being written piece by piece (segment files too big to build in
 * memory). Create (or truncate) with esi_io_wopen, append, then
 * esi_io_wclose (fsync when sync, close) or esi_io_wabort (close and
 * remove it). Each create, append and fsync is one mutating call for
 * esi_io_fail_at. After an error the file is still open: abort it. */
typedef struct esi_wfile esi_wfile;
es_status esi_io_wopen(esi_wfile **out, const char *path, esi_err *e);
es_status esi_io_wappend(esi_wfile *f, const void *data, size_t len,
                         esi_err *e);
/* Bytes appended so far. */
uint64_t esi_io_wsize(const esi_wfile *f);
/* fsync (when sync) and close; frees f whatever the outcome. */
es_status esi_io_wclose(esi_wfile *f, bool sync, esi_err *e);
/* Close without syncing and unlink the file; frees f. NULL is fine. */
void esi_io_wabort(esi_wfile *f);
es_status esi_io_rename(const char *from, const char *to, esi_err *e);
es_status esi_io_fsync_dir(const char *dir, esi_err *e);
/* Remove a file; a missing file is not an error. */
es_status esi_io_unlink(const char *path, esi_err *e);
/* Create a directory and its parents; existing ones are fine. */
es_status esi_io_mkdirs(const char *path, esi_err *e);
/* ES_OK if path is a directory, ES_ENOTFOUND if it does not exist. */
es_status esi_io_is_dir(const char *path, esi_err *e);
/* File size, or ES_ENOTFOUND. */
es_status esi_io_file_size(const char *path, uint64_t *out, esi_err *e);

/* Call fn for every entry name in dir (not . and ..); stops when fn
 * returns non-zero. */
es_status esi_io_list_dir(const char *dir, int (*fn)(const char *name, void *p),
                          void *p, esi_err *e);

/* Take the exclusive, non-blocking advisory lock on dir/LOCK (flock, so a
 * second writer in the same or another process gets ES_ELOCKED). *fd
 * receives the descriptor to pass to esi_io_unlock. */
es_status esi_io_lock(const char *dir, int *fd, esi_err *e);
void esi_io_unlock(int fd);

/* Join dir and name into a new string (esi_free it); NULL on ENOMEM. */
char *esi_path_join(const char *dir, const char *name);

#ifdef ES_TESTING
/* Make the Nth mutating I/O call (write, fsync, rename, create, unlink;
 * counted from 1 after this call) fail with errno err; n = 0 disables.
 * Returns how many mutating calls ran since the previous call. */
size_t esi_io_fail_at(size_t n, int err);
#endif

#endif /* ES_IO_H */
