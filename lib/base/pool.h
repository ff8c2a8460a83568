/*
 * pool.h: a small pool of worker threads that a caller lends work to. A
 * job goes to an idle worker or to none: esi_pool_start never queues, so a
 * caller whose work finds every worker busy does it on its own thread (a
 * split search then runs whole, as it would without a pool). Threads start
 * on the first job they are given and stop in esi_pool_free.
 */
#ifndef ES_POOL_H
#define ES_POOL_H

#include "base.h"

typedef struct esi_pool esi_pool;
typedef struct esi_pool_worker esi_pool_worker;

/* A pool of at most n workers (none started yet); NULL on ENOMEM. */
esi_pool *esi_pool_new(unsigned n);
/* How many workers p has (those whose mutex could be made). */
unsigned esi_pool_size(const esi_pool *p);
/* Stop and join every worker. No job may still be running. NULL is allowed. */
void esi_pool_free(esi_pool *p);
/* Hand fn(arg) to an idle worker, starting its thread if need be: the
 * worker, to wait for with esi_pool_wait, or NULL when every worker is busy
 * (or a thread cannot be started): then fn was not called. With
 * awake_only, only to a worker still polling after its last job (one that
 * runs fn at once; waking a sleeping one costs tens of microseconds), NULL
 * if none is. Thread-safe. */
esi_pool_worker *esi_pool_start(esi_pool *p, void (*fn)(void *), void *arg,
                                bool awake_only);
/* Wait until w's job has returned, then give w back to the pool. Only the
 * thread that started the job may wait for it. */
void esi_pool_wait(esi_pool *p, esi_pool_worker *w);
/* Take w's job back if w has not begun it: true, and fn was never called
 * and w is back in the pool (do not wait for it); false if fn has begun,
 * and then esi_pool_wait is still owed. Only the starting thread may call
 * it. A caller that finished the work itself uses it not to wait for a
 * worker still waking up. */
bool esi_pool_cancel(esi_pool *p, esi_pool_worker *w);

#endif
