/* numa.c: NUMA topology, the plan of threads per node, and weights and KV heads placed on their nodes.
 *
 * A batch-1 decode step reads every weight once, so its speed is memory bandwidth. On a machine
 * of several nodes a thread reading another node's memory gets a fraction of it. The plan numbers
 * threads node by node, in proportion to each node's cores; the team split of forward.c then
 * hands each node a contiguous slice of every matrix's rows (the union of its threads' shares),
 * and placement copies that slice into the node's memory. Copying beats binding the file mapping
 * in place: page-cache pages are shared with every process mapping the file and sit on whichever
 * node first read them; mbind can only ask to move the ones this process maps alone.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu.h"
#include "kv.h"
#include "llama.h"
#include "numa.h"
#include "pool.h"

static const char *const mode_names[FSK_NUMA_MODE_COUNT] = {"auto", "off", "distribute", "isolate"};

FSK_API const char *fsk_numa_mode_name(fsk_numa_mode mode)
{
    return (unsigned)mode < FSK_NUMA_MODE_COUNT ? mode_names[mode] : "?";
}

FSK_API fsk_status fsk_numa_mode_parse(const char *name, fsk_numa_mode *out)
{
    for (int i = 0; name && out && i < FSK_NUMA_MODE_COUNT; i++)
        if (!strcmp(name, mode_names[i])) {
            *out = (fsk_numa_mode)i;
            return FSK_OK;
        }
    return FSK_ERR_INVALID_ARG;
}

static fsk_status fail(fsk_error *err, fsk_status st, const char *msg)
{
    if (err) {
        err->status = st;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return st;
}

void fsk_numa_note(struct fsk_numa_plan *plan, const char *fmt, ...)
{
    if (plan->note[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(plan->note, sizeof plan->note, fmt, ap);
    va_end(ap);
}

fsk_status fsk_numa_topology_load(hwloc_topology_t *out, const char *synthetic, fsk_error *err)
{
    hwloc_topology_t t;
    if (hwloc_topology_init(&t) != 0)
        return fail(err, FSK_ERR_IO, "hwloc could not read the machine topology");
    hwloc_topology_set_cache_types_filter(t, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_topology_set_icache_types_filter(t, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_NONE);
    if ((synthetic && hwloc_topology_set_synthetic(t, synthetic) != 0) || hwloc_topology_load(t) != 0) {
        hwloc_topology_destroy(t);
        return fail(err, synthetic ? FSK_ERR_INVALID_ARG : FSK_ERR_IO,
                    synthetic ? "hwloc refused the synthetic topology description"
                              : "hwloc could not read the machine topology");
    }
    *out = t;
    return FSK_OK;
}

/* Cores (or PUs where the topology has no cores) inside cs. */
static int cores_in(hwloc_topology_t t, hwloc_const_cpuset_t cs, hwloc_obj_type_t *type)
{
    *type = HWLOC_OBJ_CORE;
    int n = hwloc_get_nbobjs_inside_cpuset_by_type(t, cs, HWLOC_OBJ_CORE);
    if (n <= 0) {
        *type = HWLOC_OBJ_PU;
        n = hwloc_get_nbobjs_inside_cpuset_by_type(t, cs, HWLOC_OBJ_PU);
    }
    return n;
}

static int add_node(struct fsk_numa_plan *p, hwloc_const_cpuset_t cs, hwloc_const_nodeset_t ns, unsigned os,
                    unsigned long long mem)
{
    hwloc_obj_type_t type;
    int cores = cores_in(p->topo, cs, &type);
    if (cores <= 0)
        return 0;
    struct fsk_numa_node *nd = &p->nodes[p->n_nodes];
    nd->os_index = os;
    nd->cores = cores;
    nd->memory = mem;
    nd->cpuset = hwloc_bitmap_dup(cs);
    nd->nodeset = hwloc_bitmap_dup(ns);
    if (!nd->cpuset || !nd->nodeset) {
        hwloc_bitmap_free(nd->cpuset);
        hwloc_bitmap_free(nd->nodeset);
        return -1;
    }
    p->n_nodes++;
    return 1;
}

/* Nodes with cores, in OS order. Nodes sharing cores (high-bandwidth memory beside DRAM) count
 * once, as the first of them. */
static fsk_status collect_nodes(struct fsk_numa_plan *p)
{
    int nn = hwloc_get_nbobjs_by_type(p->topo, HWLOC_OBJ_NUMANODE);
    p->nodes = calloc((size_t)(nn > 0 ? nn : 1), sizeof *p->nodes);
    hwloc_bitmap_t covered = hwloc_bitmap_alloc(), cs = hwloc_bitmap_alloc();
    fsk_status st = p->nodes && covered && cs ? FSK_OK : FSK_ERR_NOMEM;
    for (int i = 0; st == FSK_OK && i < nn; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(p->topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
        hwloc_bitmap_andnot(cs, o->cpuset, covered);
        if (hwloc_bitmap_iszero(cs))
            continue;
        if (add_node(p, cs, o->nodeset, o->os_index, (unsigned long long)o->attr->numanode.local_memory) < 0)
            st = FSK_ERR_NOMEM;
        hwloc_bitmap_or(covered, covered, cs);
    }
    p->machine_nodes = p->n_nodes;
    hwloc_obj_t root = hwloc_get_root_obj(p->topo);
    if (st == FSK_OK && p->n_nodes == 0 && add_node(p, root->cpuset, root->nodeset, UINT_MAX, 0) < 0)
        st = FSK_ERR_NOMEM;
    if (st == FSK_OK && p->n_nodes == 0)
        st = FSK_ERR_IO;
    hwloc_bitmap_free(covered);
    hwloc_bitmap_free(cs);
    return st;
}

static void drop_node(struct fsk_numa_node *nd)
{
    hwloc_bitmap_free(nd->cpuset);
    hwloc_bitmap_free(nd->nodeset);
}

/* Keeps only node `keep` (an index). */
static void keep_one(struct fsk_numa_plan *p, int keep)
{
    for (int i = 0; i < p->n_nodes; i++)
        if (i != keep)
            drop_node(&p->nodes[i]);
    p->nodes[0] = p->nodes[keep];
    p->n_nodes = 1;
}

/* The whole machine as one node: the plan of OFF, which binds thread i to core i mod cores. */
static fsk_status whole_machine(struct fsk_numa_plan *p)
{
    for (int i = 0; i < p->n_nodes; i++)
        drop_node(&p->nodes[i]);
    p->n_nodes = 0;
    hwloc_obj_t root = hwloc_get_root_obj(p->topo);
    unsigned long long mem = root->total_memory;
    return add_node(p, root->cpuset, root->nodeset, UINT_MAX, mem) == 1 ? FSK_OK : FSK_ERR_NOMEM;
}

/* ISOLATE's node: the one asked for, else the first the process's binding touches, else the first. */
static int isolate_index(struct fsk_numa_plan *p, int os_index)
{
    for (int i = 0; os_index >= 0 && i < p->n_nodes; i++)
        if (p->nodes[i].os_index == (unsigned)os_index)
            return i;
    hwloc_bitmap_t bound = hwloc_bitmap_alloc();
    int pick = 0;
    if (bound && p->this_system && hwloc_get_cpubind(p->topo, bound, HWLOC_CPUBIND_PROCESS) == 0)
        for (int i = p->n_nodes - 1; i >= 0; i--)
            if (hwloc_bitmap_intersects(bound, p->nodes[i].cpuset))
                pick = i;
    hwloc_bitmap_free(bound);
    return pick;
}

/* Threads per node in proportion to cores, by largest remainder (ties to the lower node). */
static void share_threads(struct fsk_numa_plan *p)
{
    long long total = 0, rem[64] = {0};
    for (int k = 0; k < p->n_nodes; k++)
        total += p->nodes[k].cores;
    int assigned = 0;
    for (int k = 0; k < p->n_nodes; k++) {
        long long q = (long long)p->n_threads * p->nodes[k].cores;
        p->nodes[k].threads = (int)(q / total);
        if (k < 64)
            rem[k] = q % total;
        assigned += p->nodes[k].threads;
    }
    while (assigned < p->n_threads) {
        int best = 0;
        for (int k = 1; k < p->n_nodes && k < 64; k++)
            if (rem[k] > rem[best])
                best = k;
        p->nodes[best].threads++;
        rem[best] = -1;
        assigned++;
    }
    for (int k = 0, first = 0; k < p->n_nodes; k++) {
        p->nodes[k].first_thread = first;
        first += p->nodes[k].threads;
    }
}

/* Thread i's node and the core it is bound to: the node's cores in order, wrapping around. */
static fsk_status assign_threads(struct fsk_numa_plan *p)
{
    p->thread_node = calloc((size_t)p->n_threads, sizeof *p->thread_node);
    p->thread_cpuset = calloc((size_t)p->n_threads, sizeof *p->thread_cpuset);
    if (!p->thread_node || !p->thread_cpuset)
        return FSK_ERR_NOMEM;
    for (int k = 0; k < p->n_nodes; k++) {
        const struct fsk_numa_node *nd = &p->nodes[k];
        hwloc_obj_type_t type;
        cores_in(p->topo, nd->cpuset, &type);
        for (int j = 0; j < nd->threads; j++) {
            int i = nd->first_thread + j;
            p->thread_node[i] = k;
            hwloc_obj_t o = hwloc_get_obj_inside_cpuset_by_type(p->topo, nd->cpuset, type,
                                                                (unsigned)(j % nd->cores));
            if (o && !(p->thread_cpuset[i] = hwloc_bitmap_dup(o->cpuset)))
                return FSK_ERR_NOMEM;
        }
    }
    return FSK_OK;
}

static fsk_status plan_nodes(struct fsk_numa_plan *p, fsk_numa_mode mode, int isolate_os_index)
{
    fsk_status st = collect_nodes(p);
    if (st != FSK_OK)
        return st;
    if (mode == FSK_NUMA_AUTO)
        mode = p->machine_nodes > 1 ? FSK_NUMA_DISTRIBUTE : FSK_NUMA_OFF;
    p->mode = mode;
    if (mode == FSK_NUMA_OFF)
        return whole_machine(p);
    if (mode == FSK_NUMA_ISOLATE)
        keep_one(p, isolate_index(p, isolate_os_index));
    if (p->n_nodes > 64) /* share_threads' remainders; no machine is near this */
        return whole_machine(p);
    return FSK_OK;
}

fsk_status fsk_numa_plan_create(struct fsk_numa_plan **out, hwloc_topology_t topo, fsk_numa_mode mode,
                                int n_threads, int isolate_os_index, fsk_error *err)
{
    *out = NULL;
    if ((unsigned)mode >= FSK_NUMA_MODE_COUNT || n_threads < 0 || n_threads > 1024) {
        hwloc_topology_destroy(topo);
        return fail(err, FSK_ERR_INVALID_ARG,
                    (unsigned)mode >= FSK_NUMA_MODE_COUNT ? "unknown NUMA mode"
                                                          : "thread count is out of range (0 for automatic, 1..1024)");
    }
    struct fsk_numa_plan *p = calloc(1, sizeof *p);
    if (!p) {
        hwloc_topology_destroy(topo);
        return fail(err, FSK_ERR_NOMEM, "out of memory planning threads");
    }
    p->topo = topo;
    p->this_system = hwloc_topology_is_thissystem(topo);
    fsk_status st = plan_nodes(p, mode, isolate_os_index);
    if (st == FSK_OK) {
        int cores = 0;
        for (int k = 0; k < p->n_nodes; k++)
            cores += p->nodes[k].cores;
        p->n_threads = n_threads ? n_threads : cores;
        share_threads(p);
        st = assign_threads(p);
    }
    if (st != FSK_OK) {
        fsk_numa_plan_free(p);
        return fail(err, st, st == FSK_ERR_NOMEM ? "out of memory planning threads"
                                                 : "hwloc found no core to run on");
    }
    if (!p->this_system)
        fsk_numa_note(p, "the topology is not this machine's (HWLOC_SYNTHETIC or HWLOC_XMLFILE): "
                         "threads and memory are planned but not bound");
    *out = p;
    return FSK_OK;
}

void fsk_numa_plan_free(struct fsk_numa_plan *p)
{
    if (!p)
        return;
    for (int k = 0; p->nodes && k < p->n_nodes; k++)
        drop_node(&p->nodes[k]);
    for (int i = 0; p->thread_cpuset && i < p->n_threads; i++)
        hwloc_bitmap_free(p->thread_cpuset[i]);
    free(p->nodes);
    free(p->thread_node);
    free(p->thread_cpuset);
    hwloc_topology_destroy(p->topo);
    free(p);
}

void fsk_numa_rows(const struct fsk_numa_plan *p, size_t n, size_t align, int thread, size_t *r0, size_t *r1)
{
    fsk_team t = {NULL, thread, p->n_threads};
    fsk_team_rows(&t, n, align, r0, r1);
}

void fsk_numa_node_rows(const struct fsk_numa_plan *p, int node, size_t n, size_t align, size_t *r0, size_t *r1)
{
    const struct fsk_numa_node *nd = &p->nodes[node];
    size_t a, b, c, d;
    if (nd->first_thread >= p->n_threads) {
        *r0 = *r1 = n;
        return;
    }
    fsk_numa_rows(p, n, align, nd->first_thread, &a, &b);
    if (nd->threads == 0) {
        *r0 = *r1 = a;
        return;
    }
    fsk_numa_rows(p, n, align, nd->first_thread + nd->threads - 1, &c, &d);
    *r0 = a;
    *r1 = d;
}

/* ------------------------------------------------------------------ placement */

/* A weight split by rows in forward.c: rows [start, start + w->rows) of a range of n rows split
 * with `align` (Q, K and V are one range). Keep these in step with forward.c's fsk_team_rows calls;
 * a mismatch only costs locality, never correctness. */
struct split_weight {
    struct fsk_weight *w;
    size_t n, align, start;
};

static size_t list_weights(struct fsk_model *m, struct split_weight *out)
{
    size_t c = 0;
#define ADD(W, N, A, S) do { if (out) out[c] = (struct split_weight){(W), (N), (A), (S)}; c++; } while (0)
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        struct fsk_layer *L = &m->layers[l];
        size_t qkv = L->wq.rows + L->wk.rows + L->wv.rows;
        ADD(&L->wq, qkv, 16, 0);
        ADD(&L->wk, qkv, 16, L->wq.rows);
        ADD(&L->wv, qkv, 16, L->wq.rows + L->wk.rows);
        ADD(&L->wo, L->wo.rows, 16, 0);
        ADD(&L->gate, L->gate.rows, 16, 0);
        ADD(&L->up, L->up.rows, 16, 0);
        ADD(&L->down, L->down.rows, 16, 0);
    }
    ADD(&m->output, m->output.rows, 64, 0);
#undef ADD
    return c;
}

size_t fsk_page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

/* Binds rows [a, b) of the copy at dst to node k (before the copy touches them). */
static void bind_rows(struct fsk_numa_plan *p, void *dst, size_t row_bytes, size_t a, size_t b, int k, int flags)
{
    if (!p->this_system || a >= b)
        return;
    size_t ps = fsk_page_size();
    uintptr_t lo = ((uintptr_t)dst + a * row_bytes) & ~(uintptr_t)(ps - 1);
    uintptr_t hi = (uintptr_t)dst + b * row_bytes;
    if (hwloc_set_area_membind(p->topo, (void *)lo, hi - lo, p->nodes[k].nodeset, HWLOC_MEMBIND_BIND,
                               HWLOC_MEMBIND_BYNODESET | flags) != 0)
        fsk_numa_note(p, "memory binding to NUMA node %u was refused (%s); that memory stays where the "
                         "OS put it", p->nodes[k].os_index, strerror(errno));
}

/* Drops this process's pages of a copied tensor from the file mapping, so memory is not held twice
 * (read-only private file pages: a later read, if any, faults them in again unchanged). */
void fsk_drop_file_pages(const void *data, size_t bytes)
{
    size_t ps = fsk_page_size();
    uintptr_t lo = ((uintptr_t)data + ps - 1) & ~(uintptr_t)(ps - 1);
    uintptr_t hi = ((uintptr_t)data + bytes) & ~(uintptr_t)(ps - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

#define HUGE_PAGE ((size_t)2 << 20)

/* Whether the kernel offers huge pages to memory that asks, and takes the advice: the sysfs
 * setting, then a 4 MiB probe arena advised MADV_HUGEPAGE whose smaps must say THPeligible where
 * smaps says it at all (an emulator such as qemu-user accepts the advice and drops it: moving the
 * weights would then buy nothing). Once per process. */
static int huge_pages_offered;
static pthread_once_t huge_once = PTHREAD_ONCE_INIT;

static void huge_probe(void)
{
#ifdef MADV_HUGEPAGE
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return;
    char buf[128];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (!strstr(buf, "[always]") && !strstr(buf, "[madvise]"))
        return;
    size_t mapped;
    void *probe = fsk_arena_map(2 * HUGE_PAGE, 1, &mapped);
    if (!probe)
        return;
    int eligible;
    fsk_huge_bytes(probe, mapped, &eligible);
    munmap(probe, mapped);
    huge_pages_offered = eligible != 0;
#endif
}

int fsk_huge_pages_enabled(void)
{
    const char *e = getenv("FSK_HUGEPAGES");
    if (e && !strcmp(e, "0"))
        return 0;
    pthread_once(&huge_once, huge_probe);
    return huge_pages_offered;
}

void *fsk_arena_map(size_t bytes, int huge, size_t *mapped)
{
    const size_t ps = fsk_page_size();
    bytes = bytes ? (bytes + ps - 1) / ps * ps : ps;
    const size_t pad = huge ? HUGE_PAGE : 0;
    if (bytes > SIZE_MAX - pad)
        return NULL;
    char *p = mmap(NULL, bytes + pad, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (huge) { /* trim to a 2 MiB-aligned start: only aligned 2 MiB spans can be huge pages */
        char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
        if (a > p)
            munmap(p, (size_t)(a - p));
        if (a + bytes < p + bytes + pad)
            munmap(a + bytes, (size_t)(p + bytes + pad - (a + bytes)));
        p = a;
#ifdef MADV_HUGEPAGE
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice: refused, the arena is still usable */
#endif
    }
    *mapped = bytes;
    return p;
}

long long fsk_huge_bytes(const void *addr, size_t len, int *eligible)
{
    *eligible = -1;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    const uintptr_t lo = (uintptr_t)addr, hi = lo + len;
    char line[512];
    int in = 0, seen_flag = 0, all = 1;
    long long kib = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        long long v;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = a < hi && b > lo;
            continue;
        }
        if (!in)
            continue;
        if (sscanf(line, "AnonHugePages: %lld kB", &v) == 1)
            kib += v;
        else if (sscanf(line, "THPeligible: %lld", &v) == 1) {
            seen_flag = 1;
            all &= v == 1;
        }
    }
    fclose(f);
    if (seen_flag)
        *eligible = all;
    return kib * 1024;
}

static void place_weight(struct fsk_numa_plan *p, const struct split_weight *sw, char *dst, int file_mapped)
{
    struct fsk_weight *w = sw->w;
    size_t bytes = (size_t)w->rows * w->row_bytes;
    for (int k = 0; k < p->n_nodes; k++) {
        size_t r0, r1;
        fsk_numa_node_rows(p, k, sw->n, sw->align, &r0, &r1);
        size_t a = r0 > sw->start ? r0 - sw->start : 0, b = r1 > sw->start ? r1 - sw->start : 0;
        if (b > w->rows)
            b = w->rows;
        if (a < b)
            bind_rows(p, dst, w->row_bytes, a, b, k, 0);
    }
    memcpy(dst, w->data, bytes);
    if (file_mapped)
        fsk_drop_file_pages(w->data, bytes);
    w->data = dst;
}

static fsk_status place_weights(struct fsk_model *m, struct fsk_numa_plan *p)
{
    size_t n = list_weights(m, NULL), ps = fsk_page_size(), total = 0;
    struct split_weight *ws = calloc(n, sizeof *ws);
    if (!ws)
        return FSK_ERR_NOMEM;
    list_weights(m, ws);
    for (size_t i = 0; i < n; i++) /* each weight page-aligned: node boundaries share no page across weights */
        total += ((size_t)ws[i].w->rows * ws[i].w->row_bytes + ps - 1) / ps * ps;
    size_t mapped_bytes;
    void *arena = fsk_arena_map(total, fsk_huge_pages_enabled(), &mapped_bytes);
    if (!arena) {
        free(ws);
        fsk_numa_note(p, "no memory to copy the weights to their nodes (%.1f MiB); they are read from "
                         "the file mapping", (double)total / 1048576.0);
        return FSK_OK;
    }
    const void *embd = m->tok_embd.data, *out = m->output.data;
    int mapped = fsk_gguf_is_mapped(m->gguf);
    char *dst = arena;
    for (size_t i = 0; i < n; i++) {
        size_t bytes = (size_t)ws[i].w->rows * ws[i].w->row_bytes;
        place_weight(p, &ws[i], dst, mapped);
        dst += (bytes + ps - 1) / ps * ps;
    }
    if (embd == out) /* tied: the embedding rows are the output head's */
        m->tok_embd.data = m->output.data;
    m->numa_arena = arena;
    m->numa_arena_bytes = mapped_bytes;
    free(ws);
    return FSK_OK;
}

fsk_status fsk_numa_model_setup(struct fsk_model *m, const fsk_model_params *params, fsk_error *err)
{
    fsk_numa_mode mode = params ? params->numa : FSK_NUMA_AUTO;
    int threads = params ? params->n_threads : 0;
    if ((unsigned)mode >= FSK_NUMA_MODE_COUNT)
        return fail(err, FSK_ERR_INVALID_ARG, "unknown NUMA mode in the model parameters");
    if (threads < 0 || threads > 1024)
        return fail(err, FSK_ERR_INVALID_ARG, "model thread count is out of range (0 for automatic, 1..1024)");
    if (mode == FSK_NUMA_OFF) /* nothing to place: no topology to read */
        return FSK_OK;
    hwloc_topology_t topo;
    fsk_status st = fsk_numa_topology_load(&topo, NULL, err);
    if (st == FSK_OK)
        st = fsk_numa_plan_create(&m->numa, topo, mode, threads, -1, err);
    if (st != FSK_OK)
        return st;
    if (m->numa->mode != FSK_NUMA_OFF && m->numa->machine_nodes > 1)
        st = place_weights(m, m->numa);
    return st == FSK_OK ? FSK_OK : fail(err, st, "out of memory placing the weights");
}

void fsk_numa_model_release(struct fsk_model *m)
{
    if (m->numa_arena)
        munmap(m->numa_arena, m->numa_arena_bytes);
    m->numa_arena = NULL;
    fsk_numa_plan_free(m->numa);
    m->numa = NULL;
}

void fsk_numa_place_kv(struct fsk_numa_plan *p, const struct fsk_kv *kv, unsigned n_head)
{
    if (p->n_nodes < 2 || !p->this_system || !kv->k || n_head == 0 || kv->n_head_kv == 0)
        return;
    unsigned group = n_head / kv->n_head_kv;
    for (uint32_t g = 0; g < kv->n_head_kv; g++) {
        size_t h = (size_t)g * group;
        int writer = 0; /* the thread whose heads include h, as attention splits them */
        for (int i = 0; i < p->n_threads; i++) {
            size_t r0, r1;
            fsk_numa_rows(p, n_head, 1, i, &r0, &r1);
            if (h >= r0 && h < r1)
                writer = i;
        }
        int k = p->thread_node[writer];
        size_t bytes = (size_t)kv->n_ctx * kv->head_dim * sizeof(uint16_t);
        size_t kbytes = (size_t)kv->n_ktiles * FSK_KTILE * kv->head_dim * sizeof(uint16_t);
        for (uint32_t l = 0; l < kv->n_layer; l++) {
            bind_rows(p, fsk_kv_ktiles(kv, l, g), kbytes, 0, 1, k, HWLOC_MEMBIND_MIGRATE);
            bind_rows(p, fsk_kv_v(kv, l, g, 0), bytes, 0, 1, k, HWLOC_MEMBIND_MIGRATE);
        }
    }
}

/* ------------------------------------------------------------------ last-level cache */

static pthread_once_t llc_once = PTHREAD_ONCE_INIT;
static size_t llc_total;

static void llc_init(void)
{
    static const hwloc_obj_type_t levels[] = {HWLOC_OBJ_L5CACHE, HWLOC_OBJ_L4CACHE,
                                              HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L2CACHE,
                                              HWLOC_OBJ_L1CACHE};
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return;
    if (hwloc_topology_load(topo) == 0) {
        size_t total = 0;
        for (size_t i = 0; i < sizeof levels / sizeof *levels && total == 0; i++) {
            int n = hwloc_get_nbobjs_by_type(topo, levels[i]);
            for (int j = 0; j < n; j++) {
                hwloc_obj_t obj = hwloc_get_obj_by_type(topo, levels[i], (unsigned)j);
                if (obj && obj->attr)
                    total += (size_t)obj->attr->cache.size;
            }
        }
        llc_total = total;
    }
    hwloc_topology_destroy(topo);
}

size_t fsk_numa_llc_bytes(void)
{
    pthread_once(&llc_once, llc_init);
    return llc_total;
}

size_t fsk_numa_pf_reach(const struct fsk_model *m, int set, const char **why)
{
    const size_t file = fsk_gguf_file_size(m->gguf), llc = fsk_numa_llc_bytes();
    return set ? fsk_pf_reach_choose(file, llc, why) : fsk_pf_reach_rule(file, llc, why);
}

/* ------------------------------------------------------------------ description */

struct text {
    char *buf;
    size_t len, need;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->need < t->len ? t->len - t->need : 0;
    int n = vsnprintf(room ? t->buf + t->need : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->need += (size_t)n;
}

static void put_node(struct text *t, const struct fsk_numa_node *nd)
{
    char *cpus = NULL;
    hwloc_bitmap_list_asprintf(&cpus, nd->cpuset);
    if (nd->os_index == UINT_MAX)
        put(t, "  all cores: %d, cpus %s", nd->cores, cpus ? cpus : "?");
    else
        put(t, "  node %u: %d cores, cpus %s", nd->os_index, nd->cores, cpus ? cpus : "?");
    if (nd->memory)
        put(t, ", %.1f GiB", (double)nd->memory / 1073741824.0);
    put(t, "\n");
    free(cpus);
}

static void put_rows(struct text *t, const struct fsk_numa_plan *p, const char *what, size_t n, size_t align)
{
    put(t, "  rows of %s (%zu):", what, n);
    for (int k = 0; k < p->n_nodes; k++) {
        size_t r0, r1;
        fsk_numa_node_rows(p, k, n, align, &r0, &r1);
        unsigned os = p->nodes[k].os_index;
        if (os == UINT_MAX)
            put(t, " all %zu-%zu", r0, r1 ? r1 - 1 : 0);
        else if (r0 < r1)
            put(t, " node %u %zu-%zu", os, r0, r1 - 1);
        else
            put(t, " node %u none", os);
    }
    put(t, "\n");
}

size_t fsk_numa_plan_describe(const struct fsk_numa_plan *p, const struct fsk_model *m, char *buf, size_t len)
{
    struct text t = {buf, len, 0};
    if (buf && len)
        buf[0] = '\0';
    put(&t, "NUMA topology: %d node%s with cores%s\n", p->machine_nodes, p->machine_nodes == 1 ? "" : "s",
        p->this_system ? "" : " (synthetic or XML: not this machine)");
    put(&t, "NUMA plan: %s, %d thread%s\n", fsk_numa_mode_name(p->mode), p->n_threads,
        p->n_threads == 1 ? "" : "s");
    for (int k = 0; k < p->n_nodes; k++) {
        put_node(&t, &p->nodes[k]);
        const struct fsk_numa_node *nd = &p->nodes[k];
        if (nd->threads)
            put(&t, "    threads %d-%d\n", nd->first_thread, nd->first_thread + nd->threads - 1);
        else
            put(&t, "    no threads\n");
    }
    if (m) {
        put_rows(&t, p, "blk.0.ffn_up", m->hp.n_layer ? (size_t)m->layers[0].up.rows : 0, 16);
        put_rows(&t, p, "output", (size_t)m->output.rows, 64);
        if (m->numa_arena)
            put(&t, "  weights: copied into their nodes' memory (%.1f MiB)\n",
                (double)m->numa_arena_bytes / 1048576.0);
        else if (m->huge_arena)
            put(&t, "  weights: NUMA off or one node, nothing to place (moved to huge pages at load)\n");
        else
            put(&t, "  weights: NUMA off or one node, nothing to place\n");
    }
    if (p->note[0])
        put(&t, "  note: %s\n", p->note);
    return t.need;
}

FSK_API size_t fsk_numa_describe(const fsk_model *m, fsk_numa_mode mode, int n_threads, char *buf, size_t len)
{
    if (buf && len)
        buf[0] = '\0';
    if (m && m->numa)
        return fsk_numa_plan_describe(m->numa, m, buf, len);
    hwloc_topology_t topo;
    struct fsk_numa_plan *p;
    if (fsk_numa_topology_load(&topo, NULL, NULL) != FSK_OK ||
        fsk_numa_plan_create(&p, topo, m ? FSK_NUMA_OFF : mode, n_threads, -1, NULL) != FSK_OK)
        return 0;
    size_t need = fsk_numa_plan_describe(p, m, buf, len);
    fsk_numa_plan_free(p);
    return need;
}
