/* matvec_float.c (neon): matrix-vector products over a row range for F32 and F16 weights. */
#include <math.h>

#include "f16.h"
#include "isa.h"

void fsk_matvec_f32__neon(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    for (size_t r = r0; r < r1; r++) {
        const float *row = (const float *)((const char *)w + r * row_stride);
        y[r] = fsk_dot_f32__neon(row, x, ncols);
    }
}

/* Eight halves widened to two float vectors; FCVTL is in the aarch64 baseline. */
static inline void load_f16x8(const uint16_t *p, float32x4_t *lo, float32x4_t *hi)
{
    float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(p));
    *lo = vcvt_f32_f16(vget_low_f16(h));
    *hi = vcvt_high_f32_f16(h);
}

static float dot_f16_f32(const uint16_t *row, const float *x, size_t n)
{
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        float32x4_t w0, w1, w2, w3;
        load_f16x8(row + c, &w0, &w1);
        load_f16x8(row + c + 8, &w2, &w3);
        s0 = vfmaq_f32(s0, w0, vld1q_f32(x + c));
        s1 = vfmaq_f32(s1, w1, vld1q_f32(x + c + 4));
        s2 = vfmaq_f32(s2, w2, vld1q_f32(x + c + 8));
        s3 = vfmaq_f32(s3, w3, vld1q_f32(x + c + 12));
    }
    for (; c + 4 <= n; c += 4) {
        float32x4_t wv = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(row + c)));
        s0 = vfmaq_f32(s0, wv, vld1q_f32(x + c));
    }
    float s = fsk_neon_sum4(s0, s1, s2, s3);
    for (; c < n; c++)
        s = fmaf(fsk_f16_to_f32(row[c]), x[c], s);
    return s;
}

void fsk_matvec_f16__neon(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *row = (const uint16_t *)((const char *)w + r * row_stride);
        y[r] = dot_f16_f32(row, x, ncols);
    }
}
