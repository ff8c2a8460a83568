/*
 * pool.c: the worker threads of pool.h. Each worker has its own mutex and
 * two condition variables (a job arrives, a job is done); the pool's mutex
 * only guards which workers are lent out.
 *
 * Both sides poll briefly before they sleep: a worker that has finished a
 * job watches for its next one, and a caller waiting for a worker's end
 * watches for it, each for up to ESI_POOL_SPIN_NS, then blocks on its
 * condition variable. On a VM, a thread put to sleep takes tens of
 * microseconds to run again, as long as a median split search's whole
 * share of work (see ESI_POOL_SPIN_NS).
 */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* How long a worker polls for its next job, and a caller for a worker's
 * end, before sleeping. Measured on the benchmark (two vCPUs; the 480
 * queries, one process, passes of each setting in turn, per-query medians
 * of five): against no polling, 100 us on both sides took the searches
 * estimated to visit 64-256 documents from x1.10-1.14 of their one-thread
 * time to x0.94-0.99, and the larger ones from x0.67-0.91 to x0.64-0.84;
 * 25 or 50 us did half as well, 200 us no better; the worker's polling
 * alone, little. What it costs: a worker lent to a search spins up to
 * 100 us of one core after it, and a caller up to 100 us before it
 * sleeps. */
#define ESI_POOL_SPIN_NS 100000u

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Poll flag until it is set or ESI_POOL_SPIN_NS have passed (the callers
 * test the flag again under their mutex). The clock is read every 64
 * polls only. */
static void spin_for(atomic_bool *flag)
{
    uint64_t t0 = now_ns();
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(flag, memory_order_acquire))
            return;
        cpu_relax();
        if ((i & 63) == 0 && now_ns() - t0 > ESI_POOL_SPIN_NS)
            return;
    }
}

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
    atomic_bool posted;        /* fn is set: what a polling worker watches */
    atomic_bool polling;       /* since its last job; false once it sleeps */
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
        if (!w->fn && !w->quit) {
            pthread_mutex_unlock(&w->mu);
            spin_for(&w->posted);
            pthread_mutex_lock(&w->mu);
        }
        if (!w->fn && !w->quit)
            atomic_store_explicit(&w->polling, false, memory_order_relaxed);
        while (!w->fn && !w->quit)
            pthread_cond_wait(&w->job_cv, &w->mu);
        if (!w->fn)
            break;
        void (*fn)(void *) = w->fn;
        void *arg = w->arg;
        w->fn = NULL;
        atomic_store_explicit(&w->posted, false, memory_order_relaxed);
        pthread_mutex_unlock(&w->mu);
        fn(arg);
        /* set before done: a caller that sees done and starts its next
         * search at once finds this worker awake */
        atomic_store_explicit(&w->polling, true, memory_order_relaxed);
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
            atomic_store_explicit(&w->posted, true, memory_order_release);
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

esi_pool_worker *esi_pool_start(esi_pool *p, void (*fn)(void *), void *arg,
                                bool awake_only)
{
    esi_pool_worker *w = NULL;
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->n && !w; i++)
        if (!p->w[i].busy &&
            (!awake_only || atomic_load_explicit(&p->w[i].polling, memory_order_relaxed)))
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
    atomic_store_explicit(&w->posted, true, memory_order_release);
    pthread_cond_signal(&w->job_cv);
    pthread_mutex_unlock(&w->mu);
    return w;
}

bool esi_pool_cancel(esi_pool *p, esi_pool_worker *w)
{
    pthread_mutex_lock(&w->mu);
    bool pending = w->fn != NULL;  /* the worker clears fn when it begins */
    w->fn = NULL;
    atomic_store_explicit(&w->posted, false, memory_order_relaxed);
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
    spin_for(&w->done);
    pthread_mutex_lock(&w->mu);
    while (!atomic_load_explicit(&w->done, memory_order_acquire))
        pthread_cond_wait(&w->done_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_lock(&p->mu);
    w->busy = false;
    pthread_mutex_unlock(&p->mu);
}
