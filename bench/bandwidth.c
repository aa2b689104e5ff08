/* bandwidth.c (bench): the machine's read bandwidth, measured by streaming a buffer larger than the LLC.
 *
 * Plain C on purpose: the loop sums 64-bit words in eight independent lanes. GCC's SLP pass
 * turns them into four SSE2 accumulators at -O2; Clang keeps eight scalar chains. Either way the
 * core issues loads far faster than DRAM delivers them, so no ISA-specific build is needed to
 * reach the memory limit. In cache the probe would be ISA-bound, which is why the buffer must
 * dwarf the LLC.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "numa.h"

#define LANES 8
#define CHUNK 4096 /* bytes a thread's slice is rounded to: whole pages */

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Independent lanes, so that no load waits on the add before it. */
static uint64_t sum_words(const uint64_t *p, size_t nblocks)
{
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (size_t b = 0; b < nblocks; b++, p += LANES) {
        a0 += p[0]; a1 += p[1]; a2 += p[2]; a3 += p[3];
        a4 += p[4]; a5 += p[5]; a6 += p[6]; a7 += p[7];
    }
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}

struct slice_job {
    unsigned char *buf;
    size_t chunks;
    uint64_t *sums; /* one per thread, a cache line apart */
};

static void touch_slice(fsk_team *t, void *arg)
{
    struct slice_job *j = arg;
    size_t c0, c1;
    fsk_team_rows(t, j->chunks, 1, &c0, &c1);
    /* written in parallel, so that on a NUMA machine the pages spread over the threads' nodes */
    memset(j->buf + c0 * CHUNK, 0x5a, (c1 - c0) * CHUNK);
}

static void read_slice(fsk_team *t, void *arg)
{
    struct slice_job *j = arg;
    size_t c0, c1;
    fsk_team_rows(t, j->chunks, 1, &c0, &c1);
    const uint64_t *p = (const uint64_t *)(const void *)(j->buf + c0 * CHUNK);
    j->sums[(size_t)t->id * 8] = sum_words(p, (c1 - c0) * (CHUNK / (LANES * sizeof(uint64_t))));
}

unsigned char *bench_bw_buffer(fsk_pool *pool, size_t bytes, int huge, size_t *mapped)
{
    size_t chunks = (bytes + CHUNK - 1) / CHUNK;
    unsigned char *buf = fsk_arena_map(chunks * CHUNK, huge, mapped); /* page-aligned */
    if (!buf)
        return NULL;
    struct slice_job j = {buf, chunks, NULL};
    fsk_pool_run(pool, touch_slice, &j);
    return buf;
}

double bench_read_bw(fsk_pool *pool, const unsigned char *buf, size_t bytes, int passes)
{
    size_t chunks = (bytes + CHUNK - 1) / CHUNK;
    int n = fsk_pool_threads(pool);
    uint64_t *sums = calloc((size_t)n * 8, sizeof *sums);
    if (!sums)
        return 0.0;
    struct slice_job j = {(unsigned char *)buf, chunks, sums};
    double best = 0.0;
    volatile uint64_t sink = 0;
    for (int p = 0; p < passes; p++) {
        double t0 = bench_now();
        fsk_pool_run(pool, read_slice, &j);
        double dt = bench_now() - t0;
        for (int i = 0; i < n; i++)
            sink += sums[(size_t)i * 8];
        double gbs = dt > 0 ? (double)(chunks * CHUNK) / dt * 1e-9 : 0.0;
        if (gbs > best)
            best = gbs;
    }
    (void)sink;
    free(sums);
    return best;
}
