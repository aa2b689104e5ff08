/* tdot_chain.h (x86): tdot_f16's scores one chain each, for keys too wide for a variant's buffer
 * of widened tiles; the AVX2 and AVX-512 files share it (both build with F16C and FMA). */
#ifndef FSK_X86_TDOT_CHAIN_H
#define FSK_X86_TDOT_CHAIN_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

static inline void fsk_tdot_chains(float *y, size_t ldy, const uint16_t *kt, const float *q, size_t q_stride,
                                   size_t ncols, size_t nq, size_t p0, size_t p1)
{
    for (size_t p = p0; p < p1; p++) {
        const uint16_t *at = kt + p / FSK_KTILE * FSK_KTILE * ncols + p % FSK_KTILE;
        for (size_t t = 0; t < nq; t++) {
            float s = 0.0f;
            for (size_t d = 0; d < ncols; d++)
                s = __builtin_fmaf(q[t * q_stride + d], _cvtsh_ss(at[d * FSK_KTILE]), s);
            y[t * ldy + p] = s;
        }
    }
}

#endif
