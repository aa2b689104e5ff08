/* pool.c: the thread team behind every decode step, built on OpenMP and bound to cores with hwloc.
 *
 * A step is one parallel region; ops inside it are separated by barriers rather than a new fork
 * each. libgomp's barrier spins for a while and then sleeps on a futex, and it shortens the spin
 * when threads outnumber cores, so oversubscription degrades gently instead of collapsing.
 */
#include "config.h"

#include <hwloc.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numa.h"
#include "pool.h"

struct fsk_pool {
    int n_threads;
    int bind;
    struct fsk_numa_plan *plan; /* its topology, and the core of each thread */
    atomic_int bind_failed;
    char bind_note[320];
    atomic_ulong barriers;
};

static void set_error(fsk_error *err, fsk_status st, const char *msg)
{
    if (!err)
        return;
    err->status = st;
    snprintf(err->message, sizeof err->message, "%s", msg);
}

static int count_cores(hwloc_topology_t topo)
{
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    if (n <= 0)
        n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    return n > 0 ? n : 1;
}

int fsk_physical_cores(void)
{
    hwloc_topology_t topo;
    if (fsk_numa_topology_load(&topo, NULL, NULL) != FSK_OK)
        return 1;
    int n = count_cores(topo);
    hwloc_topology_destroy(topo);
    return n;
}

fsk_status fsk_pool_create(fsk_pool **out, int n_threads, int bind, fsk_error *err)
{
    return fsk_pool_create_numa(out, n_threads, bind, FSK_NUMA_OFF, -1, NULL, err);
}

fsk_status fsk_pool_create_numa(fsk_pool **out, int n_threads, int bind, fsk_numa_mode mode,
                                int isolate_os_index, const void *topo, fsk_error *err)
{
    if (!out) {
        set_error(err, FSK_ERR_INVALID_ARG, "fsk_pool_create: out is NULL");
        return FSK_ERR_INVALID_ARG;
    }
    *out = NULL;
    if (n_threads < 0 || n_threads > 1024) {
        char msg[96];
        snprintf(msg, sizeof msg, "thread count %d is out of range (0 for automatic, 1..1024)",
                 n_threads);
        set_error(err, FSK_ERR_INVALID_ARG, msg);
        return FSK_ERR_INVALID_ARG;
    }
    fsk_pool *p = calloc(1, sizeof *p);
    if (!p) {
        set_error(err, FSK_ERR_NOMEM, "out of memory creating the thread pool");
        return FSK_ERR_NOMEM;
    }
    hwloc_topology_t t = NULL;
    fsk_status st;
    if (topo) /* a copy of a loaded topology: no second read of the machine */
        st = hwloc_topology_dup(&t, (hwloc_topology_t)topo) == 0 ? FSK_OK : FSK_ERR_NOMEM;
    else
        st = fsk_numa_topology_load(&t, NULL, err);
    if (st == FSK_OK)
        st = fsk_numa_plan_create(&p->plan, t, mode, n_threads, isolate_os_index, err);
    else if (topo)
        set_error(err, st, "out of memory copying the machine topology");
    if (st != FSK_OK) {
        free(p);
        return st;
    }
    /* thread i on one core of its node (off: core i mod cores); the whole core, so the OS may pick
     * either hyperthread */
    p->n_threads = p->plan->n_threads;
    p->bind = bind;
    if (bind && p->plan->note[0]) { /* a topology that is not this machine: nothing to bind to */
        snprintf(p->bind_note, sizeof p->bind_note, "%s", p->plan->note);
        atomic_store(&p->bind_failed, 1);
    }
    *out = p;
    return FSK_OK;
}

void fsk_pool_free(fsk_pool *p)
{
    if (!p)
        return;
    fsk_numa_plan_free(p->plan);
    free(p);
}

struct fsk_numa_plan *fsk_pool_plan(const fsk_pool *p)
{
    return p->plan;
}

int fsk_pool_threads(const fsk_pool *p)
{
    return p->n_threads;
}

const char *fsk_pool_bind_note(const fsk_pool *p)
{
    return atomic_load(&p->bind_failed) ? p->bind_note : NULL;
}

static void bind_self(fsk_pool *p, int id)
{
    hwloc_const_cpuset_t cs = p->plan->thread_cpuset[id];
    if (!p->bind || !cs || atomic_load_explicit(&p->bind_failed, memory_order_relaxed))
        return;
    if (hwloc_set_cpubind(p->plan->topo, cs, HWLOC_CPUBIND_THREAD) != 0) {
        int expected = 0;
        if (atomic_compare_exchange_strong(&p->bind_failed, &expected, 1))
            snprintf(p->bind_note, sizeof p->bind_note,
                     "thread binding was refused by the OS; threads run unbound");
    }
}

void fsk_pool_run(fsk_pool *p, fsk_team_fn fn, void *arg)
{
    if (p->n_threads == 1) {
        fsk_team t = {p, 0, 1};
        bind_self(p, 0);
        fn(&t, arg);
        return;
    }
#pragma omp parallel num_threads(p->n_threads)
    {
        fsk_team t = {p, omp_get_thread_num(), omp_get_num_threads()};
        bind_self(p, t.id);
        fn(&t, arg);
    }
}

void fsk_team_barrier(fsk_team *t)
{
    if (t->n == 1) {
        atomic_fetch_add_explicit(&t->pool->barriers, 1, memory_order_relaxed);
        return;
    }
    if (t->id == 0)
        atomic_fetch_add_explicit(&t->pool->barriers, 1, memory_order_relaxed);
#pragma omp barrier
}

void fsk_team_rows(const fsk_team *t, size_t n, size_t align, size_t *r0, size_t *r1)
{
    if (align == 0)
        align = 1;
    size_t units = (n + align - 1) / align;
    size_t per = units / (size_t)t->n, extra = units % (size_t)t->n;
    size_t id = (size_t)t->id;
    size_t u0 = id * per + (id < extra ? id : extra);
    size_t u1 = u0 + per + (id < extra ? 1 : 0);
    size_t a = u0 * align, b = u1 * align;
    *r0 = a < n ? a : n;
    *r1 = b < n ? b : n;
}

int fsk_team_rows_whole(const fsk_team *t, size_t n, size_t align, size_t block)
{
    if (block == 0 || n % block != 0)
        return 0;
    fsk_team each = *t;
    for (int i = 0; i < t->n; i++) {
        size_t r0, r1;
        each.id = i;
        fsk_team_rows(&each, n, align, &r0, &r1);
        if (r0 % block != 0 || r1 % block != 0)
            return 0;
    }
    return 1;
}

void fsk_team_for(fsk_team *t, size_t n, size_t align, fsk_rows_fn fn, void *arg)
{
    size_t r0, r1;
    fsk_team_rows(t, n, align, &r0, &r1);
    if (r0 < r1)
        fn(arg, r0, r1);
    fsk_team_barrier(t);
}

struct for_args {
    size_t n, align;
    fsk_rows_fn fn;
    void *arg;
};

static void for_body(fsk_team *t, void *arg)
{
    struct for_args *a = arg;
    size_t r0, r1;
    fsk_team_rows(t, a->n, a->align, &r0, &r1);
    if (r0 < r1)
        a->fn(a->arg, r0, r1);
}

void fsk_pool_for(fsk_pool *p, size_t n, size_t align, fsk_rows_fn fn, void *arg)
{
    struct for_args a = {n, align, fn, arg};
    fsk_pool_run(p, for_body, &a);
}

unsigned long fsk_pool_barriers(const fsk_pool *p)
{
    return atomic_load(&((fsk_pool *)p)->barriers);
}
