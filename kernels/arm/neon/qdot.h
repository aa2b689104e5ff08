/* qdot.h (neon): int8 dot-product helpers of the quantized kernels, and their baseline and dotprod paths (exposed for tests). */
#ifndef FSK_NEON_QDOT_H
#define FSK_NEON_QDOT_H

#include "cpu.h"
#include "isa.h"
#include "quant.h"

/* SDOT is optional (Armv8.2 on), so its code lives in functions built for it and is chosen per
 * call from the CPU bits. GCC's arm_neon.h declares vdotq_s32 for armv8.2-a+dotprod and will
 * only inline it into a function that has at least that; every core with SDOT is Armv8.2. */
#if defined(__clang__)
#define FSK_NEON_DOTPROD __attribute__((target("dotprod")))
#else
#define FSK_NEON_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif

/* The matvec bodies are templates over the format and the dot product; forcing the inlining
 * turns the function-pointer arguments into direct, inlined code in each instance. */
#define FSK_NEON_INLINE static inline __attribute__((always_inline))
/* Loops over the blocks and rows of one step must be unrolled for their vectors (partial sums,
 * activation quants) to stay in registers; GCC leaves short vector loops rolled by itself. */
#define FSK_NEON_UNROLL _Pragma("GCC unroll 8")

/* fsk_cpu_get computes the bits once; this is a load and a test per kernel call. */
static inline int fsk_neon_has_dotprod(void)
{
    return fsk_cpu_has(fsk_cpu_get(), FSK_CPU_DOTPROD);
}

/* Four int32 lanes whose sum is the dot product of the 32 quants w0|w1 and a0|a1.
 * Activations lie in [-127, 127] (every q8 quantizer clamps there) and weights in [-128, 127],
 * so a lane of two products fits int16: 2 * 128 * 127 = 32512. */
typedef int32x4_t (*fsk_neon_dot32_fn)(int8x16_t w0, int8x16_t w1, int8x16_t a0, int8x16_t a1);
/* The same over 16 quants (Q6_K's groups). */
typedef int32x4_t (*fsk_neon_dot16_fn)(int8x16_t w, int8x16_t a);

FSK_NEON_INLINE int32x4_t fsk_neon_dot32_base(int8x16_t w0, int8x16_t w1, int8x16_t a0,
                                              int8x16_t a1)
{
    int16x8_t lo = vmlal_s8(vmull_s8(vget_low_s8(w0), vget_low_s8(a0)), vget_low_s8(w1),
                            vget_low_s8(a1));
    int16x8_t hi = vmlal_high_s8(vmull_high_s8(w0, a0), w1, a1);
    return vpadalq_s16(vpaddlq_s16(lo), hi);
}

FSK_NEON_INLINE FSK_NEON_DOTPROD int32x4_t fsk_neon_dot32_sdot(int8x16_t w0, int8x16_t w1,
                                                               int8x16_t a0, int8x16_t a1)
{
    return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, a0), w1, a1);
}

FSK_NEON_INLINE int32x4_t fsk_neon_dot16_base(int8x16_t w, int8x16_t a)
{
    return vpaddlq_s16(vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(a)), w, a));
}

FSK_NEON_INLINE FSK_NEON_DOTPROD int32x4_t fsk_neon_dot16_sdot(int8x16_t w, int8x16_t a)
{
    return vdotq_s32(vdupq_n_s32(0), w, a);
}

/* Lane k of the result is the sum of the lanes of the k-th argument. */
FSK_NEON_INLINE int32x4_t fsk_neon_hsum4_s32(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d)
{
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

/* Half <-> float with the hardware converts: round to nearest even, as fsk_f32_to_f16. */
FSK_NEON_INLINE fsk_half fsk_neon_to_half(float f)
{
    return vget_lane_u16(vreinterpret_u16_f16(vcvt_f16_f32(vdupq_n_f32(f))), 0);
}

FSK_NEON_INLINE float fsk_neon_from_half(fsk_half h)
{
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

/* The activation quantizers' arithmetic, exactly ref's: amax = the fmaxf of |x| (FMAXNM ignores
 * quiet NaNs as fmaxf does), then q = x * (1 / d) rounded half away from zero (FCVTAS is
 * roundf; NaN gives 0 in both) and clamped to [-127, 127]. n is a multiple of 4. */
FSK_NEON_INLINE float fsk_neon_amax(const float *x, size_t n)
{
    float32x4_t m = vdupq_n_f32(0.0f);
    for (size_t i = 0; i < n; i += 4)
        m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + i)));
    return vmaxnmvq_f32(m);
}

FSK_NEON_INLINE int8x16_t fsk_neon_quant16(const float *x, float id)
{
    int32x4_t v[4];
    for (int k = 0; k < 4; k++)
        v[k] = vcvtaq_s32_f32(vmulq_n_f32(vld1q_f32(x + 4 * k), id));
    const int16x8_t lo = vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1]));
    const int16x8_t hi = vcombine_s16(vqmovn_s32(v[2]), vqmovn_s32(v[3]));
    /* the narrowing saturates to [-128, 127]; the formats stop at -127 */
    return vmaxq_s8(vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)), vdupq_n_s8(-127));
}

/* Each quantized matvec has both paths; fsk_<op>__neon picks one per call. */
#define FSK_NEON_MATVEC_PATHS(op)                                                                  \
    void fsk_##op##__neon_base(float *y, const void *w, size_t row_stride, const void *x,          \
                               size_t ncols, size_t r0, size_t r1);                                \
    void fsk_##op##__neon_dotprod(float *y, const void *w, size_t row_stride, const void *x,       \
                                  size_t ncols, size_t r0, size_t r1);
FSK_NEON_MATVEC_PATHS(matvec_q4_0)
FSK_NEON_MATVEC_PATHS(matvec_q4_1)
FSK_NEON_MATVEC_PATHS(matvec_q5_0)
FSK_NEON_MATVEC_PATHS(matvec_q5_1)
FSK_NEON_MATVEC_PATHS(matvec_q8_0)
FSK_NEON_MATVEC_PATHS(matvec_q4_k)
FSK_NEON_MATVEC_PATHS(matvec_q5_k)
FSK_NEON_MATVEC_PATHS(matvec_q6_k)
#undef FSK_NEON_MATVEC_PATHS

/* The wrapper every quantized matvec op exports. */
/* The same for a prefill matmul: the path its matvec's wrapper picks, so that the two give the same
 * values (both paths give the same exact integer sums anyway). */
#define FSK_NEON_MATMUL_DISPATCH(op)                                                               \
    void fsk_##op##__neon(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,   \
                          size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)        \
    {                                                                                              \
        if (fsk_neon_has_dotprod())                                                                \
            fsk_##op##__neon_dotprod(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);     \
        else                                                                                       \
            fsk_##op##__neon_base(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);        \
    }

#define FSK_NEON_MATVEC_DISPATCH(op)                                                               \
    void fsk_##op##__neon(float *y, const void *w, size_t row_stride, const void *x, size_t ncols, \
                          size_t r0, size_t r1)                                                    \
    {                                                                                              \
        if (fsk_neon_has_dotprod())                                                                \
            fsk_##op##__neon_dotprod(y, w, row_stride, x, ncols, r0, r1);                          \
        else                                                                                       \
            fsk_##op##__neon_base(y, w, row_stride, x, ncols, r0, r1);                             \
    }

#endif
