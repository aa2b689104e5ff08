/* pool.h: a context's thread team: one parallel region per decode step, barriers between ops. */
#ifndef FSK_POOL_H
#define FSK_POOL_H

#include <stddef.h>

#include "ffnskip.h"

typedef struct fsk_pool fsk_pool;
struct fsk_numa_plan;

/* What each thread of a running team sees. */
typedef struct fsk_team {
    fsk_pool *pool;
    int id; /* 0 .. n-1 */
    int n;  /* threads in this team */
} fsk_team;

typedef void (*fsk_team_fn)(fsk_team *team, void *arg);
typedef void (*fsk_rows_fn)(void *arg, size_t r0, size_t r1);

/* Creates a pool of n_threads (0: one per physical core the process may use). bind != 0 pins
 * thread i to core i with hwloc; a binding the OS refuses is reported once in
 * fsk_pool_bind_note() and otherwise ignored. */
fsk_status fsk_pool_create(fsk_pool **out, int n_threads, int bind, fsk_error *err);
/* The same under a NUMA plan (numa.h): mode AUTO distributes on a machine of several nodes;
 * threads are numbered node by node and bound to their node's cores. topo, when not NULL, is
 * duplicated instead of reading the machine again; isolate_os_index as fsk_numa_plan_create. */
fsk_status fsk_pool_create_numa(fsk_pool **out, int n_threads, int bind, fsk_numa_mode mode,
                                int isolate_os_index, const void *topo, fsk_error *err);
/* The pool's plan (never NULL). */
struct fsk_numa_plan *fsk_pool_plan(const fsk_pool *pool);
void fsk_pool_free(fsk_pool *pool);
int fsk_pool_threads(const fsk_pool *pool);
/* Physical cores available to this process (at least 1). */
int fsk_physical_cores(void);
/* NULL, or a note about bindings the machine could not honour. */
const char *fsk_pool_bind_note(const fsk_pool *pool);

/* Runs fn on every thread of the team, once; returns when all have returned. */
void fsk_pool_run(fsk_pool *pool, fsk_team_fn fn, void *arg);
/* Waits until every thread of the team arrives (spins briefly, then sleeps). */
void fsk_team_barrier(fsk_team *team);
/* This thread's share of n rows: a contiguous range, sizes differing by at most one, rows
 * rounded to multiples of `align` so that threads never split a block. Under a NUMA plan this is
 * also the node split: threads are numbered node by node, so a node's threads own one contiguous
 * slice, the one placed in its memory (numa.h); the split is the same in every mode. */
void fsk_team_rows(const fsk_team *team, size_t n, size_t align, size_t *r0, size_t *r1);
/* 1 when every thread's share of n rows under `align` starts and ends on a multiple of `block`
 * (n included): each thread then holds whole blocks of a row-split vector, and can put its own
 * part of the vector in a block format (ffn phases: silu(gate) * up quantized where it is made).
 * The same answer in every thread. */
int fsk_team_rows_whole(const fsk_team *team, size_t n, size_t align, size_t block);
/* Inside a team: runs fn over this thread's share of n rows, then a barrier. */
void fsk_team_for(fsk_team *team, size_t n, size_t align, fsk_rows_fn fn, void *arg);
/* Outside a team: one region that splits n rows over all threads. */
void fsk_pool_for(fsk_pool *pool, size_t n, size_t align, fsk_rows_fn fn, void *arg);
/* Barriers passed since the pool was made (counted once per barrier, not per thread). */
unsigned long fsk_pool_barriers(const fsk_pool *pool);

#endif
