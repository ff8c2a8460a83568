/*
 * io.c: file-system calls for the whole library (see io.h): mapping files
 * for reading, writing and fsyncing new files, atomic renames, directory
 * listing and the writer lock. Nothing else in lib/ calls open(2) or write(2).
 */
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef ES_TESTING
static _Atomic size_t io_count;      /* atomic: tests do I/O from threads */
static _Atomic size_t io_fail_n;
static _Atomic int io_fail_errno;

size_t esi_io_fail_at(size_t n, int err)
{
    size_t ran = io_count;
    io_count = 0;
    io_fail_n = n;
    io_fail_errno = err;
    return ran;
}

/* True (with errno set) if this mutating call is one to fail. */
static bool inject(void)
{
    io_count++;
    if (io_fail_n && io_count >= io_fail_n) {
        errno = io_fail_errno;
        return true;
    }
    return false;
}
#else
static inline bool inject(void) { return false; }
#endif

/* Fill e with "what path: strerror" and return ES_EIO (or ES_ENOTFOUND). */
static es_status io_fail(esi_err *e, const char *what, const char *path, int err)
{
    es_status code = (err == ENOENT) ? ES_ENOTFOUND : ES_EIO;
    return esi_err_set(e, code, "%s %s: %s", what, path, strerror(err));
}

char *esi_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = esi_malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static void file_id_of(const struct stat *st, esi_file_id *out)
{
    out->dev = (uint64_t)st->st_dev;
    out->ino = (uint64_t)st->st_ino;
    out->size = (uint64_t)st->st_size;
    out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    out->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

es_status esi_io_map(const char *path, esi_map *out, esi_err *e)
{
    out->data = NULL;
    out->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_fail(e, "cannot open", path, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return io_fail(e, "cannot stat", path, err);
    }
    file_id_of(&st, &out->id);
    if (st.st_size > 0) {
        if ((uint64_t)st.st_size > SIZE_MAX) {
            close(fd);
            return esi_err_set(e, ES_ELIMIT, "%s: file too large to map", path);
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            int err = errno;
            close(fd);
            return io_fail(e, "cannot map", path, err);
        }
        out->data = p;
        out->len = (size_t)st.st_size;
    }
    close(fd);
    return ES_OK;
}

void esi_io_unmap(esi_map *m)
{
    if (m->data)
        munmap((void *)m->data, m->len);
    m->data = NULL;
    m->len = 0;
}

es_status esi_io_file_id(const char *path, esi_file_id *out, esi_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return io_fail(e, "cannot stat", path, errno);
    file_id_of(&st, out);
    return ES_OK;
}

bool esi_file_id_same(const esi_file_id *a, const esi_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

es_status esi_io_read_file(const char *path, esi_buf *b, esi_file_id *id, esi_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_fail(e, "cannot open", path, errno);
    es_status rc = ES_OK;
    if (id) {
        struct stat st;
        if (fstat(fd, &st) != 0) {
            int err = errno;
            close(fd);
            return io_fail(e, "cannot stat", path, err);
        }
        file_id_of(&st, id);
    }
    for (;;) {
        esi_buf_reserve(&rc, b, 65536);
        if (rc != ES_OK) {
            close(fd);
            return esi_err_set(e, rc, "reading %s: %s", path, es_strerror(rc));
        }
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            close(fd);
            return io_fail(e, "cannot read", path, err);
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    close(fd);
    return ES_OK;
}

/* write(2) all of data, retrying on EINTR and short writes. */
static int write_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        if (inject())
            return -1;
        size_t chunk = len > (1u << 30) ? (1u << 30) : len;
        ssize_t n = write(fd, data, chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

es_status esi_io_write_file(const char *path, const void *data, size_t len,
                            bool sync, esi_err *e)
{
    if (inject())
        return io_fail(e, "cannot create", path, errno);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return io_fail(e, "cannot create", path, errno);
    if (write_all(fd, data, len) != 0) {
        int err = errno;
        close(fd);
        return io_fail(e, "cannot write", path, err);
    }
    if (sync && (inject() || fsync(fd) != 0)) {
        int err = errno;
        close(fd);
        return io_fail(e, "cannot fsync", path, err);
    }
    if (close(fd) != 0)
        return io_fail(e, "cannot close", path, errno);
    return ES_OK;
}

struct esi_wfile {
    int fd;
    uint64_t size;
    char path[];
};

es_status esi_io_wopen(esi_wfile **out, const char *path, esi_err *e)
{
    *out = NULL;
    size_t n = strlen(path);
    esi_wfile *f = esi_malloc(sizeof *f + n + 1);
    if (!f)
        return esi_err_set(e, ES_ENOMEM, "out of memory creating %s", path);
    memcpy(f->path, path, n + 1);
    f->size = 0;
    if (inject()) {
        int err = errno;
        esi_free(f);
        return io_fail(e, "cannot create", path, err);
    }
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        int err = errno;
        esi_free(f);
        return io_fail(e, "cannot create", path, err);
    }
    *out = f;
    return ES_OK;
}

es_status esi_io_wappend(esi_wfile *f, const void *data, size_t len, esi_err *e)
{
    if (len == 0)
        return ES_OK;
    if (write_all(f->fd, data, len) != 0)
        return io_fail(e, "cannot write", f->path, errno);
    f->size += len;
    return ES_OK;
}

uint64_t esi_io_wsize(const esi_wfile *f) { return f->size; }

es_status esi_io_wclose(esi_wfile *f, bool sync, esi_err *e)
{
    es_status rc = ES_OK;
    if (sync && (inject() || fsync(f->fd) != 0))
        rc = io_fail(e, "cannot fsync", f->path, errno);
    if (close(f->fd) != 0 && rc == ES_OK)
        rc = io_fail(e, "cannot close", f->path, errno);
    esi_free(f);
    return rc;
}

void esi_io_wabort(esi_wfile *f)
{
    if (!f)
        return;
    close(f->fd);
    unlink(f->path);
    esi_free(f);
}

es_status esi_io_rename(const char *from, const char *to, esi_err *e)
{
    if (inject() || rename(from, to) != 0)
        return esi_err_set(e, ES_EIO, "cannot rename %s to %s: %s", from, to,
                           strerror(errno));
    return ES_OK;
}

es_status esi_io_fsync_dir(const char *dir, esi_err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_fail(e, "cannot open directory", dir, errno);
    if (inject() || fsync(fd) != 0) {
        int err = errno;
        close(fd);
        return io_fail(e, "cannot fsync directory", dir, err);
    }
    close(fd);
    return ES_OK;
}

es_status esi_io_write_atomic(const char *dir, const char *name,
                              const void *data, size_t len, bool sync,
                              esi_err *e)
{
    es_status rc = ES_ENOMEM;
    char *final = esi_path_join(dir, name);
    size_t n = final ? strlen(final) : 0;
    char *tmp = final ? esi_malloc(n + 5) : NULL;
    if (!tmp) {
        esi_err_set(e, rc, "out of memory writing %s", name);
        goto done;
    }
    memcpy(tmp, final, n);
    memcpy(tmp + n, ".tmp", 5);
    rc = esi_io_write_file(tmp, data, len, sync, e);
    if (rc == ES_OK)
        rc = esi_io_rename(tmp, final, e);
    if (rc == ES_OK && sync)
        rc = esi_io_fsync_dir(dir, e);
    if (rc != ES_OK)
        unlink(tmp);
done:
    esi_free(tmp);
    esi_free(final);
    return rc;
}

es_status esi_io_unlink(const char *path, esi_err *e)
{
    if (inject() || (unlink(path) != 0 && errno != ENOENT))
        return io_fail(e, "cannot remove", path, errno);
    return ES_OK;
}

es_status esi_io_is_dir(const char *path, esi_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return io_fail(e, "cannot access", path, errno);
    if (!S_ISDIR(st.st_mode))
        return esi_err_set(e, ES_EINVAL, "%s is not a directory", path);
    return ES_OK;
}

es_status esi_io_file_size(const char *path, uint64_t *out, esi_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return io_fail(e, "cannot access", path, errno);
    *out = (uint64_t)st.st_size;
    return ES_OK;
}

es_status esi_io_mkdirs(const char *path, esi_err *e)
{
    size_t n = strlen(path);
    char *p = esi_strndup(path, n);
    if (!p)
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int err = errno;
            es_status rc = io_fail(e, "cannot create directory", p, err);
            esi_free(p);
            return rc;
        }
        p[i] = c;
    }
    esi_free(p);
    return esi_io_is_dir(path, e);
}

es_status esi_io_list_dir(const char *dir, int (*fn)(const char *name, void *p),
                          void *p, esi_err *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return io_fail(e, "cannot list directory", dir, errno);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fn(de->d_name, p) != 0)
            break;
    }
    closedir(d);
    return ES_OK;
}

es_status esi_io_lock(const char *dir, int *fd, esi_err *e)
{
    char *path = esi_path_join(dir, "LOCK");
    if (!path)
        return esi_err_set(e, ES_ENOMEM, "out of memory");
    es_status rc = ES_OK;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) {
        rc = io_fail(e, "cannot open lock file", path, errno);
    } else if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        close(f);
        if (err == EWOULDBLOCK)
            rc = esi_err_set(e, ES_ELOCKED,
                             "%s is held by another writer; wait for it to "
                             "finish (only one writer at a time)", path);
        else
            rc = io_fail(e, "cannot lock", path, err);
    } else {
        *fd = f;
    }
    esi_free(path);
    return rc;
}

void esi_io_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}
