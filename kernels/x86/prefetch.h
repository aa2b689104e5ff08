/* prefetch.h (x86): software prefetch for matvecs that read a few short rows side by side.
 *
 * A pass of a matvec reads its rows (four, a few hundred bytes to a few KiB each) side by side:
 * short streams that the hardware prefetchers follow badly. So each step of a pass also fetches,
 * in address order, its share of the rows two passes ahead. On a 2-core EPYC (Zen 3), single
 * thread, memory bound: Q8_0 went from about 3.7 to 7-9 GB/s, Q4_1 from 5.5 to 6.5-7.5, F16
 * (576-column rows) from about 9 to 13.5-15 GB/s. Where two passes exceed FSK_PF_MAX bytes the
 * fetch runs one pass ahead (F16 rows of 1536 columns, 12 KiB a pass: the hardware alone gave
 * 12.6-13.1 GB/s at 1 thread, one pass ahead 16.7-17.9); only passes over FSK_PF_MAX go without.
 * Prefetching changes no result. */
#ifndef FSK_X86_PREFETCH_H
#define FSK_X86_PREFETCH_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define FSK_PF_MAX 16384

#include "cpu.h"

/* Whether the fetch-ahead of a single row stream (F16 and BF16 weight rows, decode attention's
 * keys on AVX2) runs: measured to pay on an Intel Xeon, and on Zen 4 level to slower for F16
 * weights, so only where the CPU says Intel (FSK_CPU_SWPF; FSK_CPU_OFF=swpf turns it off). */
static inline int fsk_swpf(void)
{
    return fsk_cpu_has(fsk_cpu_get(), FSK_CPU_SWPF);
}

struct fsk_pf_plan {
    size_t dist;  /* bytes from a pass's first row to the rows fetched; 0: no fetching */
    size_t chunk; /* bytes fetched per step, whole lines */
};

/* The plan for passes of `rows` rows of row_stride bytes, each pass taking `steps` steps. */
static inline struct fsk_pf_plan fsk_pf_plan_make(size_t rows, size_t row_stride, size_t steps)
{
    struct fsk_pf_plan p = {0, 0};
    const size_t pass = rows * row_stride;
    if (steps == 0 || pass > FSK_PF_MAX)
        return p;
    p.dist = 2 * pass <= FSK_PF_MAX ? 2 * pass : pass; /* wide rows: one pass ahead is far enough */
    p.chunk = ((pass + steps - 1) / steps + 63) / 64 * 64;
    return p;
}

/* A macro, not a function: GCC finds a wrapper around the prefetch builtin free of side effects
 * and deletes its calls before inlining it. (So is FSK_PF_BYTES below.) */
#define FSK_PF_STEP(first_row, plan, step)                                                    \
    do {                                                                                       \
        /* an integer sum: the rows ahead may lie past the end of the matrix */               \
        const uintptr_t pf_at_ = (uintptr_t)(first_row) + (plan).dist + (step) * (plan).chunk; \
        for (size_t pf_o_ = 0; pf_o_ < (plan).chunk; pf_o_ += 64)                              \
            _mm_prefetch((const char *)(pf_at_ + pf_o_), _MM_HINT_T0);                         \
    } while (0)


/* The len bytes at p + ahead, a line at a time: what a single stream (eight-row records, one F16
 * or BF16 weight row after another, a block of attention keys) will read that far on. An integer
 * sum: past the end of the weights a prefetch is harmless. */
#define FSK_PF_BYTES_HINT(p, ahead, len, hint)                                                 \
    do {                                                                                       \
        const uintptr_t pf_b_ = (uintptr_t)(p) + (ahead);                                      \
        for (size_t pf_o_ = 0; pf_o_ < (len); pf_o_ += 64)                                     \
            _mm_prefetch((const char *)(pf_b_ + pf_o_), hint);                                 \
    } while (0)
#define FSK_PF_BYTES(p, ahead, len) FSK_PF_BYTES_HINT(p, ahead, len, _MM_HINT_T0)

/* FSK_PF_BYTES into L2 (prefetcht1): the eight-row records' matvecs (avx2/quant.c), which fetch
 * as far ahead as fsk_pf_reach() says (backends/cpu.h). Fetched into L1 (prefetcht0) instead,
 * the records' streams fell further short of the read probe, most at 2 threads: the figures are
 * in avx2/quant.c. */
#define FSK_PF_BYTES_L2(p, ahead, len) FSK_PF_BYTES_HINT(p, ahead, len, _MM_HINT_T1)

/* How far ahead an F16 or BF16 row stream is fetched (into L1): on the Intel Xeon of 2026-12-04,
 * 2 KiB ahead beat both the hardware prefetchers alone and 4 KiB ahead for F16 rows
 * (avx512/matvec_float.c); into L2 instead, decoding the F16 file at 1 thread lost 2-6 tok/s
 * of 53 (2026-12-05). */
#define FSK_PF_AHEAD 2048

#endif
