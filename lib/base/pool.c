/*
 * pool.c: the worker threads of pool.h. Each worker has its own mutex and
 * two condition variables (a job arrives, a job is done); the pool's mutex
 * only guards which workers are lent out. Neither side spins: on the
 * benchmark, spinning a worker for its next job or the caller for the
 * worker's end made no difference that the timings could show.
 */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>

struct esi_pool_worker {
    pthread_t th;
    bool started;              /* th runs (pool mu) */
    bool busy;                 /* lent out (pool mu) */
    bool ready;                /* mu and the condition variables exist */
    pthread_mutex_t mu;
    pthread_cond_t job_cv, done_cv;
    void (*fn)(void *);        /* mu: the job to run; NULL when none */
    void *arg;
    bool quit;                 /* mu */
    atomic_bool done;          /* the job has returned */
};

struct esi_pool {
    pthread_mutex_t mu;
    unsigned n;
    esi_pool_worker *w;
};

static void *worker_main(void *p)
{
    esi_pool_worker *w = p;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->fn && !w->quit)
            pthread_cond_wait(&w->job_cv, &w->mu);
        if (!w->fn)
            break;
        void (*fn)(void *) = w->fn;
        void *arg = w->arg;
        w->fn = NULL;
        pthread_mutex_unlock(&w->mu);
        fn(arg);
        atomic_store_explicit(&w->done, true, memory_order_release);
        pthread_mutex_lock(&w->mu);
        pthread_cond_signal(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

esi_pool *esi_pool_new(unsigned n)
{
    esi_pool *p = esi_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        esi_free(p);
        return NULL;
    }
    p->w = esi_calloc(n ? n : 1, sizeof *p->w);
    if (!p->w) {
        esi_pool_free(p);
        return NULL;
    }
    for (unsigned i = 0; i < n; i++) {
        esi_pool_worker *w = &p->w[i];
        if (pthread_mutex_init(&w->mu, NULL) != 0)
            break;
        if (pthread_cond_init(&w->job_cv, NULL) != 0) {
            pthread_mutex_destroy(&w->mu);
            break;
        }
        if (pthread_cond_init(&w->done_cv, NULL) != 0) {
            pthread_cond_destroy(&w->job_cv);
            pthread_mutex_destroy(&w->mu);
            break;
        }
        w->ready = true;
        p->n++;
    }
    return p;                      /* with fewer workers if some failed */
}

unsigned esi_pool_size(const esi_pool *p)
{
    return p->n;
}

void esi_pool_free(esi_pool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; p->w && i < p->n; i++) {
        esi_pool_worker *w = &p->w[i];
        if (w->started) {
            pthread_mutex_lock(&w->mu);
            w->quit = true;
            pthread_cond_signal(&w->job_cv);
            pthread_mutex_unlock(&w->mu);
            pthread_join(w->th, NULL);
        }
        if (w->ready) {
            pthread_cond_destroy(&w->done_cv);
            pthread_cond_destroy(&w->job_cv);
            pthread_mutex_destroy(&w->mu);
        }
    }
    pthread_mutex_destroy(&p->mu);
    esi_free(p->w);
    esi_free(p);
}

esi_pool_worker *esi_pool_start(esi_pool *p, void (*fn)(void *), void *arg)
{
    esi_pool_worker *w = NULL;
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->n && !w; i++)
        if (!p->w[i].busy)
            w = &p->w[i];
    if (w && !w->started) {
        w->started = pthread_create(&w->th, NULL, worker_main, w) == 0;
        if (!w->started)
            w = NULL;
    }
    if (w)
        w->busy = true;
    pthread_mutex_unlock(&p->mu);
    if (!w)
        return NULL;
    atomic_store_explicit(&w->done, false, memory_order_relaxed);
    pthread_mutex_lock(&w->mu);
    w->fn = fn;
    w->arg = arg;
    pthread_cond_signal(&w->job_cv);
    pthread_mutex_unlock(&w->mu);
    return w;
}

bool esi_pool_cancel(esi_pool *p, esi_pool_worker *w)
{
    pthread_mutex_lock(&w->mu);
    bool pending = w->fn != NULL;  /* the worker clears fn when it begins */
    w->fn = NULL;
    pthread_mutex_unlock(&w->mu);
    if (!pending)
        return false;
    pthread_mutex_lock(&p->mu);
    w->busy = false;
    pthread_mutex_unlock(&p->mu);
    return true;
}

void esi_pool_wait(esi_pool *p, esi_pool_worker *w)
{
    pthread_mutex_lock(&w->mu);
    while (!atomic_load_explicit(&w->done, memory_order_acquire))
        pthread_cond_wait(&w->done_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_lock(&p->mu);
    w->busy = false;
    pthread_mutex_unlock(&p->mu);
}
