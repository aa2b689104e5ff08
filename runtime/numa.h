/* numa.h: the machine's NUMA nodes and the plan that places threads, weight rows and KV heads on them. */
#ifndef FSK_NUMA_H
#define FSK_NUMA_H

#include <hwloc.h>
#include <stddef.h>

#include "ffnskip.h"

struct fsk_model;
struct fsk_kv;

/* A node that threads can run on (memory-only nodes are left out). */
struct fsk_numa_node {
    unsigned os_index;     /* the OS's node number; UINT_MAX when the topology has no NUMA node */
    int cores;             /* cores of this node the process may use (at least 1) */
    unsigned long long memory; /* local memory in bytes, 0 when unknown */
    hwloc_cpuset_t cpuset;
    hwloc_nodeset_t nodeset;
    int threads, first_thread; /* threads first_thread .. first_thread + threads - 1 run here */
};

/* Where n_threads threads run and, through them, which rows each node reads.
 *
 * Threads are numbered node by node, and the number on each node is in proportion to its cores.
 * A thread's rows are then exactly the plain team split (fsk_team_rows), and a node's slice is
 * the union of its threads' shares: contiguous, in proportion to its threads, the same in every
 * mode. So the mode changes where threads run and where weights live, never which thread
 * computes which row: logits are bitwise equal whatever the mode. */
struct fsk_numa_plan {
    hwloc_topology_t topo;   /* owned */
    fsk_numa_mode mode;      /* resolved: OFF, DISTRIBUTE or ISOLATE */
    int this_system;         /* 0 for a synthetic or XML topology: nothing is bound */
    int machine_nodes;       /* nodes with cores in the topology */
    int n_nodes;             /* nodes in the plan (1 when off or isolated) */
    struct fsk_numa_node *nodes;
    int n_threads;
    int *thread_node;        /* [n_threads] index into nodes */
    hwloc_cpuset_t *thread_cpuset; /* [n_threads] the core each thread is bound to */
    char note[256];          /* what could not be honoured, said once; "" when all was */
};

/* Loads the machine's topology (hwloc honours HWLOC_SYNTHETIC and HWLOC_XMLFILE), or the
 * synthetic description when not NULL. Caches and I/O devices are not read: only what a plan
 * needs, which makes loading several times faster. */
fsk_status fsk_numa_topology_load(hwloc_topology_t *out, const char *synthetic, fsk_error *err);
/* Makes a plan over topo, which it takes over (destroyed on failure too). mode AUTO is
 * DISTRIBUTE on a machine of several nodes, else OFF. n_threads 0: one per core in the plan's
 * nodes. isolate_os_index picks the node of ISOLATE (-1: the first node the process's CPU
 * binding touches, node 0 when unbound). */
fsk_status fsk_numa_plan_create(struct fsk_numa_plan **out, hwloc_topology_t topo, fsk_numa_mode mode,
                                int n_threads, int isolate_os_index, fsk_error *err);
void fsk_numa_plan_free(struct fsk_numa_plan *plan);

/* Thread `thread`'s rows of n: the team split (rows rounded to multiples of align). */
void fsk_numa_rows(const struct fsk_numa_plan *plan, size_t n, size_t align, int thread, size_t *r0,
                   size_t *r1);
/* Node `node`'s slice of n rows (empty for a node without threads). */
void fsk_numa_node_rows(const struct fsk_numa_plan *plan, int node, size_t n, size_t align, size_t *r0,
                        size_t *r1);
/* Records the first thing the machine could not honour; later ones are dropped. */
void fsk_numa_note(struct fsk_numa_plan *plan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The system's page size (4096 where it cannot be read). */
size_t fsk_page_size(void);
/* Drops this process's pages of bytes at data from a private read-only file mapping (whole pages
 * inside the range only): for weights copied elsewhere. A later read faults them in unchanged. */
void fsk_drop_file_pages(const void *data, size_t bytes);
/* 1 when weight arenas are to be given transparent huge pages: the kernel offers them to memory
 * advised MADV_HUGEPAGE (/sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise",
 * and a probe arena so advised is THP-eligible where /proc/self/smaps says) and FSK_HUGEPAGES is
 * not 0. Streaming weights through 2 MiB pages instead of 4 KiB ones spares
 * a TLB walk per 4 KiB and lets the hardware prefetchers run on past 4 KiB boundaries. */
int fsk_huge_pages_enabled(void);
/* A private anonymous read-write arena of bytes (rounded up to pages), aligned to 2 MiB and advised
 * MADV_HUGEPAGE when huge; NULL when there is no memory. munmap(arena, *mapped) releases it. */
void *fsk_arena_map(size_t bytes, int huge, size_t *mapped);
/* Bytes of [addr, addr + len) that /proc/self/smaps shows in huge pages (AnonHugePages), and in
 * *eligible whether the kernel marks all of it THP-eligible (1), some not (0), or cannot say
 * (-1, also the result's meaning when -1 is returned: no smaps to read). */
long long fsk_huge_bytes(const void *addr, size_t len, int *eligible);

/* The model's plan (from its params, after everything else loaded) and, when it spans several
 * nodes or isolates one of several, every row-split weight copied out of the file so that each
 * node's rows live in its memory. Refused bindings are noted in the plan, never fatal. */
fsk_status fsk_numa_model_setup(struct fsk_model *m, const fsk_model_params *params, fsk_error *err);
void fsk_numa_model_release(struct fsk_model *m);
/* Total bytes of the machine's last level of cache (every instance), from hwloc, read once; 0
 * when hwloc cannot say. */
size_t fsk_numa_llc_bytes(void);
/* The records' fetch reach for m's weights (the file's size stands for them) against that cache
 * (backends/cpu.h): set for the process when `set` (a context for m), only computed otherwise
 * (ffnskip info), so that both say the same. */
size_t fsk_numa_pf_reach(const struct fsk_model *m, int set, const char **why);
/* Binds each KV head's cache to the node of the thread that writes it (its group's first query
 * head, split like attention splits heads). */
void fsk_numa_place_kv(struct fsk_numa_plan *plan, const struct fsk_kv *kv, unsigned n_head);
/* The topology and the plan as text, with the rows per node of two sample matrices when m is
 * given; returns the length needed like snprintf. */
size_t fsk_numa_plan_describe(const struct fsk_numa_plan *plan, const struct fsk_model *m, char *buf,
                              size_t len);

#endif
