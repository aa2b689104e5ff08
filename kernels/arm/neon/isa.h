/* isa.h (neon): guard and shared helpers for the aarch64 Advanced SIMD kernels. */
#ifndef FSK_NEON_ISA_H
#define FSK_NEON_ISA_H

/* These files must only ever be compiled for aarch64 with Advanced SIMD; anything else is a
 * build-system mistake that would otherwise surface as a SIGILL or a silent scalar fallback. */
#if !defined(__aarch64__) || !defined(__ARM_NEON)
#error "kernels/arm/neon needs an aarch64 target with Advanced SIMD (__aarch64__ and __ARM_NEON)"
#endif

#include <arm_neon.h>
#include <stddef.h>

#include "kernels.h"

/* Lanes of one float32x4_t. */
#define FSK_NEON_LANES 4

/* Reduces four partial-sum vectors to one float; pairing them first keeps the tree balanced. */
static inline float fsk_neon_sum4(float32x4_t a, float32x4_t b, float32x4_t c, float32x4_t d)
{
    return vaddvq_f32(vaddq_f32(vaddq_f32(a, b), vaddq_f32(c, d)));
}

/* Eight bf16 widened to two float vectors: a bf16 is the top half of a float, so widening by 16
 * bits is the exact conversion. */
static inline void fsk_neon_bf16x8(const uint16_t *p, float32x4_t *lo, float32x4_t *hi)
{
    const uint16x8_t v = vld1q_u16(p);
    *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(v), 16));
    *hi = vreinterpretq_f32_u32(vshll_high_n_u16(v, 16));
}

/* Adds the four lanes of v to a double-precision running sum held in two lanes. */
static inline float64x2_t fsk_neon_acc_f64(float64x2_t acc, float32x4_t v)
{
    acc = vaddq_f64(acc, vcvt_f64_f32(vget_low_f32(v)));
    return vaddq_f64(acc, vcvt_high_f64_f32(v));
}

#endif
