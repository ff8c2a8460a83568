/*
 * check_base.c: suite "base": buffers and varints, bounds-checked readers,
 * UTF-8 decoding policy, the file frame (header, footer, crc32), the I/O
 * layer and its fault injection, and allocation failure.
 */
#include "base/base.h"
#include "base/fileformat.h"
#include "base/io.h"
#include "base/pool.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

START_TEST(test_base_varint_roundtrip)
{
    uint64_t seed = tu_seed(), st = seed;
    esi_buf b = { 0 };
    es_status rc = ES_OK;
    uint64_t vals[2000];
    for (int i = 0; i < 2000; i++) {
        uint64_t v = tu_rand(&st);
        v >>= (unsigned)(tu_rand(&st) % 64);
        if (i < 4)
            v = (uint64_t[]){ 0, 127, 128, UINT64_MAX }[i];
        vals[i] = v;
        esi_buf_put_varint(&rc, &b, v);
    }
    ck_assert_int_eq(rc, ES_OK);
    esi_rd r = esi_rd_make(b.data, b.len);
    for (int i = 0; i < 2000; i++) {
        uint64_t v;
        ck_assert(esi_rd_varint(&r, &v));
        ck_assert_uint_eq(v, vals[i]);
    }
    ck_assert_uint_eq(esi_rd_left(&r), 0);
    uint64_t v;
    ck_assert(!esi_rd_varint(&r, &v));
    esi_buf_free(&b);
}
END_TEST

START_TEST(test_base_reader_rejects_overrun)
{
    uint8_t bad[11];
    memset(bad, 0xff, sizeof bad);   /* never-ending varint */
    esi_rd r = esi_rd_make(bad, sizeof bad);
    uint64_t v;
    ck_assert(!esi_rd_varint(&r, &v));
    r = esi_rd_make(bad, 3);
    uint32_t u;
    ck_assert(!esi_rd_u32(&r, &u));
    uint8_t lenpfx[2] = { 5, 'x' };  /* says 5 bytes, has 1 */
    r = esi_rd_make(lenpfx, 2);
    const uint8_t *p;
    size_t n;
    ck_assert(!esi_rd_bytes(&r, &p, &n));
}
END_TEST

START_TEST(test_base_sticky_rc)
{
    esi_buf b = { 0 };
    es_status rc = ES_ENOMEM;
    esi_buf_put_u32(&rc, &b, 7);
    ck_assert_int_eq(rc, ES_ENOMEM);
    ck_assert_uint_eq(b.len, 0);
    esi_buf_free(&b);
}
END_TEST

/* Decode all of s and return the code points in out; returns the count. */
static size_t decode_all(const char *s, size_t n, uint32_t *out)
{
    size_t i = 0, k = 0;
    while (i < n)
        out[k++] = esi_utf8_next((const uint8_t *)s, n, &i);
    return k;
}

START_TEST(test_base_utf8_invalid_policy)
{
    uint32_t cp[16];
    /* valid 3-byte Han + ASCII */
    ck_assert_uint_eq(decode_all("\xe6\x95\x99" "a", 4, cp), 2);
    ck_assert_uint_eq(cp[0], 0x6559);
    /* truncated 3-byte sequence at the end: one U+FFFD, no overread */
    ck_assert_uint_eq(decode_all("\xe6\x95", 2, cp), 1);
    ck_assert_uint_eq(cp[0], 0xfffd);
    /* lone continuation bytes: one U+FFFD each */
    ck_assert_uint_eq(decode_all("\x80\x80", 2, cp), 2);
    /* overlong and surrogate encodings are invalid */
    ck_assert_uint_eq(decode_all("\xc0\xaf", 2, cp), 2);
    ck_assert_uint_eq(decode_all("\xed\xa0\x80", 3, cp), 3);
    /* maximal subpart: E6 95 then 'a' -> FFFD, 'a' */
    ck_assert_uint_eq(decode_all("\xe6\x95" "a", 3, cp), 2);
    ck_assert_uint_eq(cp[1], 'a');
    ck_assert(esi_utf8_valid((const uint8_t *)"\xef\xbf\xbd", 3));
    ck_assert(!esi_utf8_valid((const uint8_t *)"\xff", 1));
    uint8_t enc[4];
    for (uint32_t c = 0; c < 0x110000; c += 97) {
        if (c >= 0xd800 && c < 0xe000)
            continue;
        size_t n = esi_utf8_put(enc, c), i = 0;
        ck_assert_uint_eq(esi_utf8_next(enc, n, &i), c);
        ck_assert_uint_eq(i, n);
    }
}
END_TEST

START_TEST(test_base_file_frame_detects_every_flip)
{
    esi_buf b = { 0 };
    es_status rc = ES_OK;
    esi_file_begin(&rc, &b, "ESTEST\0\0", 3);
    esi_buf_put(&rc, &b, "payload bytes", 13);
    esi_file_finish(&rc, &b);
    ck_assert_int_eq(rc, ES_OK);
    esi_rd pl;
    uint32_t flags;
    esi_err e;
    ck_assert_int_eq(esi_file_open(b.data, b.len, "ESTEST\0\0", "t", true, &pl,
                                   &flags, &e), ES_OK);
    ck_assert_uint_eq(esi_rd_left(&pl), 13);
    ck_assert_uint_eq(flags, 3);
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x40;
        es_status r = esi_file_open(b.data, b.len, "ESTEST\0\0", "t", true,
                                    &pl, &flags, &e);
        ck_assert_msg(r == ES_ECORRUPT || r == ES_EFORMAT, "flip at %zu", i);
        ck_assert_ptr_nonnull(strstr(e.msg, "t:"));
        b.data[i] ^= 0x40;
    }
    for (size_t n = 0; n < b.len; n++)   /* every truncation */
        ck_assert_int_ne(esi_file_open(b.data, n, "ESTEST\0\0", "t", true, &pl,
                                       &flags, &e), ES_OK);
    esi_buf_free(&b);
}
END_TEST

START_TEST(test_base_file_future_major)
{
    esi_buf b = { 0 };
    es_status rc = ES_OK;
    esi_file_begin(&rc, &b, "ESTEST\0\0", 0);
    esi_file_finish(&rc, &b);
    b.data[8] = 99;   /* major 99 */
    esi_rd pl;
    esi_err e;
    ck_assert_int_eq(esi_file_open(b.data, b.len, "ESTEST\0\0", "x.dict", false,
                                   &pl, NULL, &e), ES_EFORMAT);
    ck_assert_ptr_nonnull(strstr(e.msg, "format 99"));
    esi_buf_free(&b);
}
END_TEST

START_TEST(test_base_io_atomic_write_and_faults)
{
    char *dir = tu_tmpdir();
    esi_err e;
    ck_assert_int_eq(esi_io_write_atomic(dir, "F", "old", 3, true, &e), ES_OK);
    /* every mutating step of an atomic replace fails in turn: the old
     * content survives each time and no temporary file is left behind */
    for (size_t n = 1;; n++) {
        esi_io_fail_at(n, ENOSPC);
        es_status rc = esi_io_write_atomic(dir, "F", "new!", 4, true, &e);
        size_t ran = esi_io_fail_at(0, 0);
        char *path = esi_path_join(dir, "F");
        esi_buf b = { 0 };
        ck_assert_int_eq(esi_io_read_file(path, &b, NULL, &e), ES_OK);
        if (rc == ES_OK) {
            ck_assert_uint_eq(b.len, 4);
            esi_buf_free(&b);
            esi_free(path);
            ck_assert_uint_ge(n, ran);
            break;
        }
        ck_assert_int_eq(rc, ES_EIO);
        ck_assert_ptr_nonnull(strstr(e.msg, "No space"));
        /* the rename may have happened before a failing directory fsync */
        ck_assert(b.len == 3 || b.len == 4);
        esi_buf_free(&b);
        esi_free(path);
        esi_io_write_atomic(dir, "F", "old", 3, true, &e);
    }
    tu_rmrf(dir);
    free(dir);
}
END_TEST

/* Streaming writer: pieces arrive in order; every mutating step (create,
 * each append, fsync) fails in turn with the error reported, and abort
 * removes the partial file. */
START_TEST(test_base_io_streaming_writer_and_faults)
{
    char *dir = tu_tmpdir();
    char *path = esi_path_join(dir, "S");
    esi_err e;
    static const char *const pieces[] = { "alpha", "", "beta", "gamma!" };
    for (size_t n = 1;; n++) {
        esi_io_fail_at(n, ENOSPC);
        esi_wfile *f = NULL;
        es_status rc = esi_io_wopen(&f, path, &e);
        for (size_t i = 0; rc == ES_OK && i < 4; i++)
            rc = esi_io_wappend(f, pieces[i], strlen(pieces[i]), &e);
        if (rc == ES_OK) {
            ck_assert_uint_eq(esi_io_wsize(f), 15);
            rc = esi_io_wclose(f, true, &e);
        } else {
            esi_io_wabort(f);
        }
        size_t ran = esi_io_fail_at(0, 0);
        uint64_t size;
        if (rc == ES_OK) {
            esi_buf b = { 0 };
            ck_assert_int_eq(esi_io_read_file(path, &b, NULL, &e), ES_OK);
            ck_assert_uint_eq(b.len, 15);
            ck_assert(memcmp(b.data, "alphabetagamma!", 15) == 0);
            esi_buf_free(&b);
            ck_assert_uint_ge(n, ran);
            ck_assert_uint_eq(n, 6);   /* 5 calls: create, 3 non-empty appends, fsync */
            break;
        }
        ck_assert_int_eq(rc, ES_EIO);
        ck_assert_ptr_nonnull(strstr(e.msg, "No space"));
        ck_assert_ptr_nonnull(strstr(e.msg, "/S"));
        if (n < 5)   /* failed before fsync: aborted, nothing left */
            ck_assert_int_eq(esi_io_file_size(path, &size, &e), ES_ENOTFOUND);
        esi_io_unlink(path, &e);
    }
    esi_free(path);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_base_io_lock_excludes_second_writer)
{
    char *dir = tu_tmpdir();
    esi_err e;
    int fd1 = -1, fd2 = -1;
    ck_assert_int_eq(esi_io_lock(dir, &fd1, &e), ES_OK);
    ck_assert_int_eq(esi_io_lock(dir, &fd2, &e), ES_ELOCKED);
    ck_assert_ptr_nonnull(strstr(e.msg, "another writer"));
    esi_io_unlock(fd1);
    ck_assert_int_eq(esi_io_lock(dir, &fd2, &e), ES_OK);
    esi_io_unlock(fd2);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_base_alloc_failure_is_enomem)
{
    esi_buf b = { 0 };
    es_status rc = ES_OK;
    esi_alloc_fail_at(1);
    esi_buf_put(&rc, &b, "x", 1);
    esi_alloc_fail_at(0);
    ck_assert_int_eq(rc, ES_ENOMEM);
    ck_assert_ptr_null(b.data);
}
END_TEST

/* An arena gives aligned, distinct, zeroed (when asked) blocks of any size,
 * each still holding what was written to it after many later allocations
 * (the first chunk outgrown, and one block larger than a chunk); a reset
 * keeps one chunk, and the blocks after it reuse its memory; a failed chunk
 * allocation is NULL and leaves the arena usable. Against a reference:
 * every block filled with its own byte pattern and checked at the end. */
START_TEST(test_base_arena_blocks_hold)
{
    esi_arena a = { 0 };
    enum { N = 600 };
    unsigned char *blk[N];
    size_t len[N];
    uint64_t seed = 12345;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            len[i] = i == N / 2 ? (size_t)4 << 20 : (size_t)(seed >> 33) % 3000;
            bool zero = i % 2 == 0;
            blk[i] = esi_arena_alloc(&a, len[i], zero);
            ck_assert_ptr_nonnull(blk[i]);
            ck_assert_uint_eq((uintptr_t)blk[i] % _Alignof(max_align_t), 0);
            size_t bad = 0;
            for (size_t k = 0; zero && k < len[i]; k++)
                bad += blk[i][k] != 0;
            ck_assert_uint_eq(bad, 0);
            memset(blk[i], i & 0xff, len[i]);
        }
        for (int i = 0; i < N; i++) {
            size_t bad = 0;
            for (size_t k = 0; k < len[i]; k++)
                bad += blk[i][k] != (unsigned char)(i & 0xff);
            ck_assert_uint_eq(bad, 0);
        }
        unsigned char *last = blk[N - 1];
        esi_arena_reset(&a);
        /* one chunk kept: the next block starts at its beginning, which
         * is where the newest blocks were */
        unsigned char *again = esi_arena_alloc(&a, 16, false);
        ck_assert_ptr_nonnull(again);
        ck_assert_uint_le((uintptr_t)again, (uintptr_t)last);
        esi_arena_reset(&a);
    }
    size_t *z = esi_arena_calloc(&a, 100, sizeof *z);
    ck_assert_ptr_nonnull(z);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(z[i], 0);
    ck_assert_ptr_null(esi_arena_calloc(&a, SIZE_MAX / 2, 4));   /* overflows */
    ck_assert_ptr_null(esi_arena_alloc(&a, SIZE_MAX - 8, false));
    esi_arena_free(&a);
    /* out of memory for the first chunk, then fine */
    esi_alloc_fail_at(1);
    ck_assert_ptr_null(esi_arena_alloc(&a, 8, true));
    esi_alloc_fail_at(0);
    ck_assert_ptr_nonnull(esi_arena_alloc(&a, 8, true));
    esi_arena_free(&a);
    ck_assert_ptr_null(a.head);
}
END_TEST

/* An arena trimmed to be kept between owners (esi_arena_trim): after
 * blocks that took several chunks it holds one, and the same blocks again
 * fit it (no new chunk) and hold what is written to them; one chunk
 * within the limit stays as it is; above the limit everything is released
 * and the arena is empty and usable; when the chunk that would gather the
 * others cannot be had, the newest stays. */
START_TEST(test_base_arena_trim)
{
    esi_arena a = { 0 };
    unsigned char *blk[300];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 300; i++) {    /* 300 KB: three chunks the first time */
            ck_assert_ptr_nonnull(blk[i] = esi_arena_alloc(&a, 1000, round == 0));
            memset(blk[i], i & 0xff, 1000);
        }
        for (int i = 0; i < 300; i++)
            ck_assert_uint_eq(blk[i][i % 1000], (unsigned char)(i & 0xff));
        const void *head = a.head;
        esi_arena_trim(&a, (size_t)64 << 20);
        ck_assert_ptr_nonnull(a.head);
        ck_assert_uint_eq(a.used, 0);
        if (round > 0)
            ck_assert_ptr_eq(a.head, head);   /* fitted one chunk: kept as is */
    }
    esi_arena_trim(&a, 1024);              /* now too large to keep */
    ck_assert_ptr_null(a.head);
    ck_assert_uint_eq(a.used, 0);
    ck_assert_ptr_nonnull(esi_arena_alloc(&a, 8, true));
    esi_arena_trim(&a, (size_t)64 << 20);
    ck_assert_ptr_nonnull(a.head);
    /* several chunks whose sum passes the limit: none kept */
    for (int i = 0; i < 300; i++)
        ck_assert_ptr_nonnull(esi_arena_alloc(&a, 1000, false));
    esi_arena_trim(&a, (size_t)100 << 10);
    ck_assert_ptr_null(a.head);
    for (int i = 0; i < 300; i++)
        ck_assert_ptr_nonnull(blk[i] = esi_arena_alloc(&a, 1000, false));
    esi_alloc_fail_at(1);
    esi_arena_trim(&a, (size_t)64 << 20);
    esi_alloc_fail_at(0);
    ck_assert_ptr_nonnull(a.head);
    unsigned char *again = esi_arena_alloc(&a, 16, false);   /* in the newest */
    ck_assert_uint_le((uintptr_t)again, (uintptr_t)blk[299]);
    esi_arena_free(&a);
}
END_TEST

/* esi_first_at_least gives the first index whose value is >= x (n when
 * none), against a linear scan: random ascending arrays with repeats, of
 * 0 to 300 values, x below, among, between and above them. */
START_TEST(test_base_first_at_least)
{
    uint64_t s = 77;
    uint32_t v[300];
    for (int it = 0; it < 2000; it++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t n = (uint32_t)(s >> 33) % 301, at = 0;
        for (uint32_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            at += (uint32_t)(s >> 60) % 3;     /* steps of 0, 1 or 2 */
            v[i] = at;
        }
        for (uint64_t x = 0; x <= (uint64_t)at + 2; x++) {
            uint32_t want = 0;
            while (want < n && v[want] < x)
                want++;
            ck_assert_uint_eq(esi_first_at_least(v, n, x), want);
        }
    }
    ck_assert_uint_eq(esi_first_at_least(v, 0, 5), 0);
    ck_assert_uint_eq(esi_first_at_least(v, 1, (uint64_t)UINT32_MAX + 1), 1);
}
END_TEST

/* A pool job that holds its worker until released, then counts itself. */
typedef struct pool_job {
    atomic_int *release, *ran;
} pool_job;

static void pool_hold(void *p)
{
    pool_job *j = p;
    while (!atomic_load(j->release))
        ;
    atomic_fetch_add(j->ran, 1);
}

/* A pool lends each worker to one job at a time, never queues (a start
 * with every worker busy is refused and runs nothing), gives workers back
 * after esi_pool_wait, and stops its threads in esi_pool_free. */
START_TEST(test_base_pool_lends_idle_workers)
{
    esi_pool *none = esi_pool_new(0);
    ck_assert_ptr_nonnull(none);
    ck_assert_uint_eq(esi_pool_size(none), 0);
    atomic_int release = 0, ran = 0;
    pool_job j = { &release, &ran };
    ck_assert_ptr_null(esi_pool_start(none, pool_hold, &j, false));
    esi_pool_free(none);
    esi_pool *p = esi_pool_new(2);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(esi_pool_size(p), 2);
    for (int round = 0; round < 3; round++) {
        atomic_store(&release, 0);
        esi_pool_worker *a = esi_pool_start(p, pool_hold, &j, false);
        esi_pool_worker *b = esi_pool_start(p, pool_hold, &j, false);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_ptr_ne(a, b);
        ck_assert_ptr_null(esi_pool_start(p, pool_hold, &j, false));   /* both busy */
        atomic_store(&release, 1);
        esi_pool_wait(p, a);
        esi_pool_wait(p, b);
        ck_assert_int_eq(atomic_load(&ran), 2 * (round + 1));
    }
    esi_pool_free(p);
    esi_pool_free(NULL);
}
END_TEST

static void pool_count(void *p)
{
    atomic_fetch_add((atomic_int *)p, 1);
}

/* esi_pool_cancel takes back a job its worker has not begun (it then
 * never runs) or says it has begun (then it runs to its end once): over
 * many start-cancel pairs, the jobs that ran are exactly those not taken
 * back, and a worker taken back from is lent again. */
START_TEST(test_base_pool_cancel_or_wait)
{
    esi_pool *p = esi_pool_new(1);
    ck_assert_ptr_nonnull(p);
    atomic_int ran = 0;
    int kept = 0, back = 0;
    for (int i = 0; i < 2000; i++) {
        esi_pool_worker *w = esi_pool_start(p, pool_count, &ran, false);
        ck_assert_ptr_nonnull(w);
        if (i % 3 == 2)
            for (volatile int spin = 0; spin < 20000; spin++)
                ;                      /* give the worker time to begin */
        if (esi_pool_cancel(p, w)) {
            back++;
        } else {
            esi_pool_wait(p, w);
            kept++;
            ck_assert_int_eq(atomic_load(&ran), kept);  /* it ran to its end */
        }
    }
    esi_pool_free(p);                  /* joins: nothing taken back runs late */
    ck_assert_int_eq(atomic_load(&ran), kept);
    printf("pool: %d jobs taken back before they began, %d waited for\n", back, kept);
    ck_assert_int_gt(kept, 0);
}
END_TEST

/* A worker polls for its next job for a moment after each one, then
 * sleeps: jobs handed over at once (it is polling) and after a pause
 * longer than the poll (it sleeps) both run, once each, and the pool
 * stops at once with a worker still polling. */
START_TEST(test_base_pool_polls_then_sleeps)
{
    esi_pool *p = esi_pool_new(1);
    ck_assert_ptr_nonnull(p);
    atomic_int ran = 0;
    const struct timespec pause = { 0, 2000000 };   /* 2 ms: past the poll */
    for (int i = 0; i < 40; i++) {
        if (i % 2)
            nanosleep(&pause, NULL);
        esi_pool_worker *w = esi_pool_start(p, pool_count, &ran, false);
        ck_assert_ptr_nonnull(w);
        esi_pool_wait(p, w);
        ck_assert_int_eq(atomic_load(&ran), i + 1);
    }
    esi_pool_free(p);                  /* its worker is polling right now */
}
END_TEST

/* A start for awake workers only never wakes a sleeping one: a new pool
 * (no thread started) lends none; right after a job, while its worker
 * polls, it may lend it, and a job so lent runs once like any other. */
START_TEST(test_base_pool_awake_only)
{
    esi_pool *p = esi_pool_new(1);
    ck_assert_ptr_nonnull(p);
    atomic_int ran = 0;
    ck_assert_ptr_null(esi_pool_start(p, pool_count, &ran, true));
    int jobs = 0, awake = 0;
    for (int i = 0; i < 200; i++) {
        esi_pool_worker *w = esi_pool_start(p, pool_count, &ran, i % 2 == 1);
        if (!w) {
            ck_assert_int_eq(i % 2, 1);        /* only awake_only may find none */
            continue;
        }
        awake += i % 2;
        esi_pool_wait(p, w);
        ck_assert_int_eq(atomic_load(&ran), ++jobs);
    }
    esi_pool_free(p);
    printf("pool: %d of 100 awake-only starts found the worker polling\n", awake);
}
END_TEST

static Suite *base_suite(void)
{
    const tu_case cases[] = {
        { "varint_roundtrip", test_base_varint_roundtrip },
        { "reader_overrun", test_base_reader_rejects_overrun },
        { "sticky_rc", test_base_sticky_rc },
        { "utf8_invalid_policy", test_base_utf8_invalid_policy },
        { "file_frame_flips", test_base_file_frame_detects_every_flip },
        { "file_future_major", test_base_file_future_major },
        { "io_atomic_faults", test_base_io_atomic_write_and_faults },
        { "io_streaming_writer", test_base_io_streaming_writer_and_faults },
        { "io_lock", test_base_io_lock_excludes_second_writer },
        { "alloc_failure", test_base_alloc_failure_is_enomem },
        { "arena_blocks_hold", test_base_arena_blocks_hold },
        { "arena_trim", test_base_arena_trim },
        { "first_at_least", test_base_first_at_least },
        { "pool_lends_idle_workers", test_base_pool_lends_idle_workers },
        { "pool_cancel_or_wait", test_base_pool_cancel_or_wait },
        { "pool_polls_then_sleeps", test_base_pool_polls_then_sleeps },
        { "pool_awake_only", test_base_pool_awake_only },
    };
    Suite *s = suite_create("base");
    tu_add_cases(s, cases, TU_NCASES(cases), NULL, NULL, 0);
    return s;
}

int main(void)
{
    return tu_run(base_suite());
}
