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

#include "pool.h"

struct fsk_pool {
    int n_threads;
    int bind;
    hwloc_topology_t topo;
    hwloc_cpuset_t *cpusets; /* one per thread when binding */
    atomic_int bind_failed;
    char bind_note[160];
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
    if (hwloc_topology_init(&topo) != 0)
        return 1;
    int n = 1;
    if (hwloc_topology_load(topo) == 0)
        n = count_cores(topo);
    hwloc_topology_destroy(topo);
    return n;
}

fsk_status fsk_pool_create(fsk_pool **out, int n_threads, int bind, fsk_error *err)
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
    if (hwloc_topology_init(&p->topo) != 0 || hwloc_topology_load(p->topo) != 0) {
        if (p->topo)
            hwloc_topology_destroy(p->topo);
        free(p);
        set_error(err, FSK_ERR_IO, "hwloc could not read the machine topology");
        return FSK_ERR_IO;
    }
    int cores = count_cores(p->topo);
    p->n_threads = n_threads ? n_threads : cores;
    p->bind = bind;
    if (bind) {
        p->cpusets = calloc((size_t)p->n_threads, sizeof *p->cpusets);
        if (!p->cpusets) {
            fsk_pool_free(p);
            set_error(err, FSK_ERR_NOMEM, "out of memory creating the thread pool");
            return FSK_ERR_NOMEM;
        }
        /* thread i on core i mod cores; the whole core, so the OS may pick either hyperthread */
        int ncore_objs = hwloc_get_nbobjs_by_type(p->topo, HWLOC_OBJ_CORE);
        hwloc_obj_type_t t = ncore_objs > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
        for (int i = 0; i < p->n_threads; i++) {
            hwloc_obj_t o = hwloc_get_obj_by_type(p->topo, t, (unsigned)(i % cores));
            p->cpusets[i] = o ? hwloc_bitmap_dup(o->cpuset) : NULL;
        }
    }
    *out = p;
    return FSK_OK;
}

void fsk_pool_free(fsk_pool *p)
{
    if (!p)
        return;
    if (p->cpusets) {
        for (int i = 0; i < p->n_threads; i++)
            if (p->cpusets[i])
                hwloc_bitmap_free(p->cpusets[i]);
        free(p->cpusets);
    }
    hwloc_topology_destroy(p->topo);
    free(p);
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
    if (!p->bind || !p->cpusets[id] || atomic_load_explicit(&p->bind_failed, memory_order_relaxed))
        return;
    if (hwloc_set_cpubind(p->topo, p->cpusets[id], HWLOC_CPUBIND_THREAD) != 0) {
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
